package query

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// class is a value's type class, in MongoDB's sort order.
type class uint8

const (
	classNull class = iota + 1
	classNumber
	classString
	classObject
	classArray
	classBool
	classDate
	classOther
)

// number is a numeric value kept exact for integers.
type number struct {
	isInt bool
	i     int64
	f     float64
}

func classOf(v any) class {
	switch t := v.(type) {
	case nil:
		return classNull
	case string:
		return classString
	case bool:
		return classBool
	case map[string]any:
		return classObject
	case []any, []string, []map[string]any, []int64, []float64, []int:
		return classArray
	case time.Time:
		return classDate
	case json.Number:
		if _, ok := numberOf(t); ok {
			return classNumber
		}
		return classOther
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return classNumber
	default:
		return classOther
	}
}

func numberOf(v any) (number, bool) {
	switch t := v.(type) {
	case int64:
		return number{isInt: true, i: t}, true
	case float64:
		return number{f: t}, true
	case int:
		return number{isInt: true, i: int64(t)}, true
	case int32:
		return number{isInt: true, i: int64(t)}, true
	case int16:
		return number{isInt: true, i: int64(t)}, true
	case int8:
		return number{isInt: true, i: int64(t)}, true
	case uint8:
		return number{isInt: true, i: int64(t)}, true
	case uint16:
		return number{isInt: true, i: int64(t)}, true
	case uint32:
		return number{isInt: true, i: int64(t)}, true
	case uint:
		if uint64(t) <= math.MaxInt64 {
			return number{isInt: true, i: int64(t)}, true
		}
		return number{f: float64(t)}, true
	case uint64:
		if t <= math.MaxInt64 {
			return number{isInt: true, i: int64(t)}, true
		}
		return number{f: float64(t)}, true
	case float32:
		return number{f: float64(t)}, true
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return number{isInt: true, i: i}, true
		}
		if f, err := t.Float64(); err == nil {
			return number{f: f}, true
		}
		return number{}, false
	default:
		return number{}, false
	}
}

// compareNumbers orders numbers exactly, with NaN below every other number.
func compareNumbers(a, b number) int {
	switch {
	case a.isInt && b.isInt:
		return cmpOrdered(a.i, b.i)
	case !a.isInt && !b.isInt:
		return compareFloats(a.f, b.f)
	case a.isInt:
		return -compareFloatInt(b.f, a.i)
	default:
		return compareFloatInt(a.f, b.i)
	}
}

func compareFloats(a, b float64) int {
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an && bn:
		return 0
	case an:
		return -1
	case bn:
		return 1
	}
	return cmpOrdered(a, b)
}

// compareFloatInt compares a float with an int64 without losing precision.
func compareFloatInt(f float64, i int64) int {
	switch {
	case math.IsNaN(f):
		return -1
	case f >= 0x1p63:
		return 1
	case f < -0x1p63:
		return -1
	}
	t := math.Trunc(f)
	if c := cmpOrdered(int64(t), i); c != 0 {
		return c
	}
	return compareFloats(f-t, 0)
}

func cmpOrdered[T int64 | float64 | string](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// arrayOf returns v as a []any when it is one of the accepted array types.
func arrayOf(v any) ([]any, bool) {
	switch t := v.(type) {
	case []any:
		return t, true
	case []string:
		return convertSlice(t), true
	case []map[string]any:
		return convertSlice(t), true
	case []int64:
		return convertSlice(t), true
	case []float64:
		return convertSlice(t), true
	case []int:
		return convertSlice(t), true
	}
	return nil, false
}

func convertSlice[T any](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// equal reports MongoDB equality of two values: same type class and equal
// contents, numbers compared numerically, objects regardless of key order.
func equal(a, b any) bool {
	ca, cb := classOf(a), classOf(b)
	if ca != cb {
		return false
	}
	switch ca {
	case classNull:
		return true
	case classNumber:
		na, _ := numberOf(a)
		nb, _ := numberOf(b)
		return compareNumbers(na, nb) == 0
	case classString:
		return a.(string) == b.(string)
	case classBool:
		return a.(bool) == b.(bool)
	case classDate:
		return a.(time.Time).Equal(b.(time.Time))
	case classObject:
		ma, mb := a.(map[string]any), b.(map[string]any)
		if len(ma) != len(mb) {
			return false
		}
		for k, va := range ma {
			vb, ok := mb[k]
			if !ok || !equal(va, vb) {
				return false
			}
		}
		return true
	case classArray:
		sa, _ := arrayOf(a)
		sb, _ := arrayOf(b)
		if len(sa) != len(sb) {
			return false
		}
		for i := range sa {
			if !equal(sa[i], sb[i]) {
				return false
			}
		}
		return true
	default:
		return false
	}
}

// Compare orders two values like MongoDB's sort: first by type class (null
// < numbers < strings < objects < arrays < booleans < dates < values of
// unsupported types), then by value. Numbers compare numerically, strings
// byte-wise, arrays element by element, objects by their keys in sorted
// order and then their values. It returns -1, 0 or +1.
func Compare(a, b any) int {
	ca, cb := classOf(a), classOf(b)
	if ca != cb {
		return cmpOrdered(int64(ca), int64(cb))
	}
	switch ca {
	case classNumber:
		na, _ := numberOf(a)
		nb, _ := numberOf(b)
		return compareNumbers(na, nb)
	case classString:
		return strings.Compare(a.(string), b.(string))
	case classBool:
		ba, bb := a.(bool), b.(bool)
		switch {
		case ba == bb:
			return 0
		case bb:
			return -1
		default:
			return 1
		}
	case classDate:
		return a.(time.Time).Compare(b.(time.Time))
	case classArray:
		sa, _ := arrayOf(a)
		sb, _ := arrayOf(b)
		for i := 0; i < len(sa) && i < len(sb); i++ {
			if c := Compare(sa[i], sb[i]); c != 0 {
				return c
			}
		}
		return cmpOrdered(int64(len(sa)), int64(len(sb)))
	case classObject:
		ma, mb := a.(map[string]any), b.(map[string]any)
		ka, kb := sortedKeys(ma), sortedKeys(mb)
		for i := 0; i < len(ka) && i < len(kb); i++ {
			if c := strings.Compare(ka[i], kb[i]); c != 0 {
				return c
			}
			if c := Compare(ma[ka[i]], mb[kb[i]]); c != 0 {
				return c
			}
		}
		return cmpOrdered(int64(len(ka)), int64(len(kb)))
	default:
		return 0
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Key returns a canonical index key for a scalar value: two scalars that
// are equal for Match (for example int64(1), 1.0 and json.Number("1"))
// have the same key, and different scalars have different keys. It returns
// false for nil, objects, arrays and unsupported types. A store that indexes
// a field should index the Key of the field's value and, for an array, of
// each element; the values of a [Hint] are looked up by their Key.
func Key(v any) (string, bool) {
	switch classOf(v) {
	case classString:
		return "s" + v.(string), true
	case classBool:
		if v.(bool) {
			return "btrue", true
		}
		return "bfalse", true
	case classDate:
		t := v.(time.Time)
		return "d" + strconv.FormatInt(t.Unix(), 10) + "." + strconv.Itoa(t.Nanosecond()), true
	case classNumber:
		n, _ := numberOf(v)
		if n.isInt {
			return "n" + strconv.FormatInt(n.i, 10), true
		}
		if n.f == math.Trunc(n.f) && n.f >= -0x1p63 && n.f < 0x1p63 {
			return "n" + strconv.FormatInt(int64(n.f), 10), true
		}
		return "n" + strconv.FormatFloat(n.f, 'g', -1, 64), true
	default:
		return "", false
	}
}
