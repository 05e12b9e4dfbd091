package query

import (
	"regexp"
	"strconv"
)

// checker tests one value reached by a path. missing is true when the path
// does not exist on that branch (val is then nil); expanded is true when val
// is an element of an array found at the end of the path rather than the
// value at the path itself.
type checker interface {
	check(val any, missing, expanded bool) bool
}

// walk resolves parts on v with MongoDB's array traversal rules and calls
// c for every value reached, stopping at the first that returns true. At
// the end of the path an array is reported itself and then element by
// element. Through an array, a numeric component selects that element, and
// every element that is an object is searched with the same component.
func walk(v any, parts []string, c checker) bool {
	if len(parts) == 0 {
		if c.check(v, false, false) {
			return true
		}
		if arr, ok := arrayOf(v); ok {
			for _, e := range arr {
				if c.check(e, false, true) {
					return true
				}
			}
		}
		return false
	}
	if m, ok := v.(map[string]any); ok {
		child, ok := m[parts[0]]
		if !ok {
			return c.check(nil, true, false)
		}
		return walk(child, parts[1:], c)
	}
	arr, ok := arrayOf(v)
	if !ok {
		return c.check(nil, true, false)
	}
	reported := false
	if idx, ok := arrayIndex(parts[0]); ok && idx < len(arr) {
		reported = true
		if walk(arr[idx], parts[1:], c) {
			return true
		}
	}
	for _, e := range arr {
		if _, isDoc := e.(map[string]any); isDoc {
			reported = true
			if walk(e, parts, c) {
				return true
			}
		}
	}
	if !reported {
		return c.check(nil, true, false)
	}
	return false
}

// arrayIndex parses a path component made only of decimal digits.
func arrayIndex(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// node is a compiled filter document (or one of its parts).
type node interface {
	match(doc map[string]any) bool
}

type andNode []node

func (n andNode) match(doc map[string]any) bool {
	for _, c := range n {
		if !c.match(doc) {
			return false
		}
	}
	return true
}

type orNode []node

func (n orNode) match(doc map[string]any) bool {
	for _, c := range n {
		if c.match(doc) {
			return true
		}
	}
	return false
}

type norNode []node

func (n norNode) match(doc map[string]any) bool {
	for _, c := range n {
		if c.match(doc) {
			return false
		}
	}
	return true
}

// fieldNode applies a predicate to the values at a path.
type fieldNode struct {
	path  string   // full path, for Paths and hints
	parts []string // path relative to the document being matched
	p     pred
}

func (n *fieldNode) match(doc map[string]any) bool { return n.p.eval(doc, n.parts) }

// pred is a compiled operator expression evaluated on the values at a path.
type pred interface {
	eval(v any, parts []string) bool
}

// anyPred holds when some value reached by the path satisfies the checker.
type anyPred struct{ c checker }

func (p anyPred) eval(v any, parts []string) bool { return walk(v, parts, p.c) }

type notPred struct{ p pred }

func (p notPred) eval(v any, parts []string) bool { return !p.p.eval(v, parts) }

type allPred []pred

func (p allPred) eval(v any, parts []string) bool {
	for _, q := range p {
		if !q.eval(v, parts) {
			return false
		}
	}
	return true
}

// falsePred never holds ($all with an empty list).
type falsePred struct{}

func (falsePred) eval(any, []string) bool { return false }

// eqCheck is equality, with a null operand also matching a missing path.
type eqCheck struct{ v any }

func (c *eqCheck) check(val any, missing, _ bool) bool {
	if missing {
		return c.v == nil
	}
	return equal(val, c.v)
}

// inCheck is membership in a list of values.
type inCheck struct {
	vals    []any
	res     []*regexp.Regexp // {$regex: ...} members, matched against strings
	hasNull bool
}

func (c *inCheck) check(val any, missing, _ bool) bool {
	if missing {
		return c.hasNull
	}
	for _, v := range c.vals {
		if equal(val, v) {
			return true
		}
	}
	if s, ok := val.(string); ok {
		for _, re := range c.res {
			if re.MatchString(s) {
				return true
			}
		}
	}
	return false
}

type cmpOp uint8

const (
	opGT cmpOp = iota + 1
	opGTE
	opLT
	opLTE
)

// cmpCheck is an ordering comparison limited to values of the same type
// class as the operand.
type cmpCheck struct {
	op cmpOp
	v  any
	cl class
}

func (c *cmpCheck) check(val any, missing, _ bool) bool {
	if missing {
		return c.v == nil && (c.op == opGTE || c.op == opLTE)
	}
	if classOf(val) != c.cl || c.cl == classOther {
		return false
	}
	r := Compare(val, c.v)
	switch c.op {
	case opGT:
		return r > 0
	case opGTE:
		return r >= 0
	case opLT:
		return r < 0
	default:
		return r <= 0
	}
}

type regexCheck struct{ re *regexp.Regexp }

func (c *regexCheck) check(val any, _, _ bool) bool {
	s, ok := val.(string)
	return ok && c.re.MatchString(s)
}

// existsCheck holds for any value actually present.
type existsCheck struct{}

func (existsCheck) check(_ any, missing, _ bool) bool { return !missing }

type sizeCheck struct{ n int }

func (c *sizeCheck) check(val any, missing, expanded bool) bool {
	if missing || expanded {
		return false
	}
	arr, ok := arrayOf(val)
	return ok && len(arr) == c.n
}

// elemMatchCheck holds for an array with an element that satisfies either
// an operator expression (valuePred) or a filter document (doc).
type elemMatchCheck struct {
	valuePred pred
	doc       node
}

func (c *elemMatchCheck) check(val any, missing, expanded bool) bool {
	if missing || expanded {
		return false
	}
	arr, ok := arrayOf(val)
	if !ok {
		return false
	}
	for _, e := range arr {
		if c.doc != nil {
			if m, ok := e.(map[string]any); ok && c.doc.match(m) {
				return true
			}
			continue
		}
		if c.valuePred.eval(e, nil) {
			return true
		}
	}
	return false
}
