package query

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// literal converts a value written in a query into the Go value it is
// compared with: map[string]any, []any, string, int64, float64, bool, nil,
// or time.Time. MongoDB extended-JSON wrappers, which Jongo's parser
// converts too, are recognised when they are the only key of an object:
// {$date: <epoch ms | ISO-8601 string | {$numberLong: '<ms>'}>} becomes a
// time.Time, {$oid: '<24 hex digits>'} its lower-case hex string and
// {$numberLong: '<integer>'} an int64.
func literal(a *ast) (any, error) {
	switch a.kind {
	case astObject:
		if w := wrapper(a); w != "" {
			return unwrap(w, a.members[0].val)
		}
		m := make(map[string]any, len(a.members))
		for _, mb := range a.members {
			v, err := literal(mb.val)
			if err != nil {
				return nil, err
			}
			m[mb.key] = v
		}
		return m, nil
	case astArray:
		s := make([]any, len(a.elems))
		for i, e := range a.elems {
			v, err := literal(e)
			if err != nil {
				return nil, err
			}
			s[i] = v
		}
		return s, nil
	default:
		return a.value(), nil
	}
}

// wrapper returns the extended-JSON key of a single-key wrapper object, or
// "".
func wrapper(a *ast) string {
	if a.kind != astObject || len(a.members) != 1 {
		return ""
	}
	switch k := a.members[0].key; k {
	case "$date", "$oid", "$numberLong":
		return k
	}
	return ""
}

func unwrap(kind string, v *ast) (any, error) {
	bad := func(msg string) error { return newError(KindOperator, v.pos, "invalid %s: %s", kind, msg) }
	switch kind {
	case "$oid":
		if v.kind != astString || len(v.s) != 24 || strings.Trim(strings.ToLower(v.s), "0123456789abcdef") != "" {
			return nil, bad("24 hexadecimal digits expected")
		}
		return strings.ToLower(v.s), nil
	case "$numberLong":
		if v.kind != astString {
			return nil, bad("a string expected")
		}
		n, err := strconv.ParseInt(v.s, 10, 64)
		if err != nil {
			return nil, bad("an integer string expected")
		}
		return n, nil
	}
	// $date
	switch v.kind {
	case astInt:
		return time.UnixMilli(v.i).UTC(), nil
	case astFloat:
		if math.Abs(v.f) > 9e15 {
			return nil, bad("out of range")
		}
		ms := math.Trunc(v.f)
		return time.UnixMilli(int64(ms)).Add(time.Duration((v.f - ms) * float64(time.Millisecond))).UTC(), nil
	case astString:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02"} {
			if t, err := time.Parse(layout, v.s); err == nil {
				return t.UTC(), nil
			}
		}
		return nil, bad("ISO-8601 date expected")
	case astObject:
		if wrapper(v) == "$numberLong" {
			n, err := unwrap("$numberLong", v.members[0].val)
			if err != nil {
				return nil, err
			}
			return time.UnixMilli(n.(int64)).UTC(), nil
		}
	}
	return nil, bad("milliseconds or an ISO-8601 string expected")
}
