package query

import "strings"

// Hint is an equality constraint that every matching document satisfies:
// some value reached by Path (the field itself or, for an array, one of its
// elements) equals one of Values. Values are scalars (string, int64,
// float64 or bool) with distinct Keys; nil, arrays and objects never appear
// in a hint.
type Hint struct {
	Path   string
	Values []any
}

// IndexHints returns the equality constraints of the query's top-level
// conjunction (implicit, or nested $and) that an index can serve: {f: v},
// {f: {$eq: v}}, {f: {$in: [...]}} and each value of {f: {$all: [...]}},
// for scalar values only. A store may look up candidates with any one hint
// (via the Key of each value) and must still run Match on every candidate.
// A query with no usable constraint returns nil.
func (q *Query) IndexHints() []Hint {
	if q == nil {
		return nil
	}
	var out []Hint
	collectHints(q.root, &out)
	return out
}

func collectHints(n andNode, out *[]Hint) {
	for _, c := range n {
		switch t := c.(type) {
		case andNode:
			collectHints(t, out)
		case *fieldNode:
			predHints(t.path, t.p, out)
		}
	}
}

func predHints(path string, p pred, out *[]Hint) {
	switch t := p.(type) {
	case allPred:
		for _, q := range t {
			predHints(path, q, out)
		}
	case anyPred:
		switch c := t.c.(type) {
		case *eqCheck:
			if _, ok := Key(c.v); ok {
				*out = append(*out, Hint{Path: path, Values: []any{c.v}})
			}
		case *inCheck:
			if len(c.res) > 0 {
				return
			}
			if vals, ok := distinctScalars(c.vals); ok {
				*out = append(*out, Hint{Path: path, Values: vals})
			}
		}
	}
}

// distinctScalars returns vals without duplicates, or false if one of them
// is not a scalar.
func distinctScalars(vals []any) ([]any, bool) {
	seen := make(map[string]struct{}, len(vals))
	out := make([]any, 0, len(vals))
	for _, v := range vals {
		k, ok := Key(v)
		if !ok {
			return nil, false
		}
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		out = append(out, v)
	}
	return out, true
}

// EqualityOn returns the values that path must equal according to the
// top-level hints: the intersection of the values of every hint on path.
// ok is false when no hint constrains path. An empty result with ok true
// means no document can match.
func (q *Query) EqualityOn(path string) (values []any, ok bool) {
	for _, h := range q.IndexHints() {
		if h.Path != path {
			continue
		}
		if !ok {
			values, ok = append([]any(nil), h.Values...), true
			continue
		}
		keep := make(map[string]struct{}, len(h.Values))
		for _, v := range h.Values {
			k, _ := Key(v)
			keep[k] = struct{}{}
		}
		filtered := values[:0]
		for _, v := range values {
			k, _ := Key(v)
			if _, in := keep[k]; in {
				filtered = append(filtered, v)
			}
		}
		values = filtered
	}
	return values, ok
}

// IndexKeys returns the distinct Keys of the scalar values that path
// reaches in doc, with the same traversal as Match: the value itself, or
// the elements of an array, through nested objects and arrays of objects.
// A store that indexes path under these keys finds every document a Hint on
// path can match.
func IndexKeys(doc map[string]any, path string) []string {
	c := &keyCollector{seen: map[string]struct{}{}}
	walk(doc, strings.Split(path, "."), c)
	return c.keys
}

type keyCollector struct {
	seen map[string]struct{}
	keys []string
}

func (c *keyCollector) check(val any, missing, _ bool) bool {
	if missing {
		return false
	}
	if k, ok := Key(val); ok {
		if _, dup := c.seen[k]; !dup {
			c.seen[k] = struct{}{}
			c.keys = append(c.keys, k)
		}
	}
	return false
}
