package query

import (
	"slices"
	"strings"
)

// SortKey returns the value by which doc sorts on path, as MongoDB computes
// it: a missing field sorts as null; when the path reaches several values
// (arrays), an ascending sort uses the smallest of them and a descending
// sort the largest; an empty array counts as null.
func SortKey(doc map[string]any, path string, asc bool) any {
	c := &sortCollector{asc: asc}
	walk(doc, strings.Split(path, "."), c)
	return c.key
}

type sortCollector struct {
	asc bool
	set bool
	key any
}

func (c *sortCollector) check(val any, missing, expanded bool) bool {
	if !missing && !expanded {
		if arr, ok := arrayOf(val); ok && len(arr) > 0 {
			// The elements are reported next and stand for the array.
			return false
		}
	}
	if missing {
		val = nil
	} else if arr, ok := arrayOf(val); ok && len(arr) == 0 && !expanded {
		val = nil
	}
	if !c.set {
		c.key, c.set = val, true
		return false
	}
	r := Compare(val, c.key)
	if (c.asc && r < 0) || (!c.asc && r > 0) {
		c.key = val
	}
	return false
}

// Sort sorts docs in place by path as MongoDB's {path: 1} (asc) or
// {path: -1} sort does, with null and missing values first when
// ascending and last when descending. Ties keep their input order.
func Sort(docs []map[string]any, path string, asc bool) {
	SortFunc(docs, func(d map[string]any) map[string]any { return d }, path, asc)
}

// SortFunc sorts items in place like Sort, taking each item's document from
// doc, which is called once per item.
func SortFunc[T any](items []T, doc func(T) map[string]any, path string, asc bool) {
	type keyed struct {
		key  any
		item T
	}
	ks := make([]keyed, len(items))
	for i, it := range items {
		ks[i] = keyed{key: SortKey(doc(it), path, asc), item: it}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int {
		if asc {
			return Compare(a.key, b.key)
		}
		return Compare(b.key, a.key)
	})
	for i := range ks {
		items[i] = ks[i].item
	}
}
