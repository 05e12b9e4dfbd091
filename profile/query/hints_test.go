package query

import (
	"reflect"
	"slices"
	"testing"
)

func TestIndexHints(t *testing.T) {
	tests := []struct {
		src  string
		want []Hint
	}{
		{`{}`, nil},
		{`{username: 'a'}`, []Hint{{"username", []any{"a"}}}},
		{`{username: {$eq: 'a'}}`, []Hint{{"username", []any{"a"}}}},
		{`{roles: {$in: ['A', 'B', 'A']}}`, []Hint{{"roles", []any{"A", "B"}}}},
		{`{roles: {$all: ['A', 'B']}}`, []Hint{{"roles", []any{"A"}}, {"roles", []any{"B"}}}},
		{`{email: 'e', attributes.x: 1, verified: true}`,
			[]Hint{{"email", []any{"e"}}, {"attributes.x", []any{int64(1)}}, {"verified", []any{true}}}},
		{`{$and: [{email: 'e'}, {$and: [{username: 'u'}]}]}`,
			[]Hint{{"email", []any{"e"}}, {"username", []any{"u"}}}},
		{`{createdOn: {$gt: 1, $eq: 5}}`, []Hint{{"createdOn", []any{int64(5)}}}},
		// Not usable: nulls, arrays, objects, negations, disjunctions, nested.
		{`{a: null}`, nil},
		{`{a: {$in: ['x', null]}}`, nil},
		{`{a: ['x']}`, nil},
		{`{a: {b: 1}}`, nil},
		{`{a: {$ne: 'x'}}`, nil},
		{`{a: {$nin: ['x']}}`, nil},
		{`{a: {$not: {$eq: 'x'}}}`, nil},
		{`{$or: [{a: 'x'}]}`, nil},
		{`{$nor: [{a: 'x'}]}`, nil},
		{`{a: {$elemMatch: {b: 'x'}}}`, nil},
		{`{a: {$regex: 'x'}}`, nil},
	}
	for _, tt := range tests {
		q, err := Parse(tt.src)
		if err != nil {
			t.Fatalf("Parse(%s): %v", tt.src, err)
		}
		if got := q.IndexHints(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("IndexHints(%s) = %#v, want %#v", tt.src, got, tt.want)
		}
	}
}

func TestEqualityOn(t *testing.T) {
	tests := []struct {
		src  string
		path string
		want []any
		ok   bool
	}{
		{`{email: 'e'}`, "email", []any{"e"}, true},
		{`{email: 'e'}`, "username", nil, false},
		{`{a: {$in: [1, 2, 3]}, $and: [{a: {$in: [2.0, 3, 4]}}]}`, "a", []any{int64(2), int64(3)}, true},
		{`{a: 'x', $and: [{a: 'y'}]}`, "a", []any{}, true},
	}
	for _, tt := range tests {
		q, err := Parse(tt.src)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := q.EqualityOn(tt.path)
		if ok != tt.ok || (tt.ok && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("EqualityOn(%s, %s) = %#v, %v; want %#v, %v", tt.src, tt.path, got, ok, tt.want, tt.ok)
		}
	}
}

func TestKey(t *testing.T) {
	same := [][]any{
		{int64(1), 1.0, 1, uint8(1), float32(1), jsonNumber("1"), jsonNumber("1.0")},
		{0.0, -0.0, int64(0)},
		{"a"},
		{true},
		{1.5, float32(1.5), jsonNumber("1.5")},
	}
	seen := map[string]int{}
	for i, group := range same {
		k0, ok := Key(group[0])
		if !ok {
			t.Fatalf("Key(%#v) not ok", group[0])
		}
		for _, v := range group[1:] {
			if k, _ := Key(v); k != k0 {
				t.Errorf("Key(%#v) = %q, Key(%#v) = %q", v, k, group[0], k0)
			}
		}
		if j, dup := seen[k0]; dup {
			t.Errorf("groups %d and %d share key %q", j, i, k0)
		}
		seen[k0] = i
	}
	if k1, _ := Key("1"); k1 == seen0(t, int64(1)) {
		t.Error("string and number share a key")
	}
	if a, b := seen0(t, int64(1<<53+1)), seen0(t, float64(1<<53)); a == b {
		t.Error("2^53+1 and 2^53 share a key")
	}
	for _, v := range []any{nil, []any{}, map[string]any{}, struct{}{}} {
		if _, ok := Key(v); ok {
			t.Errorf("Key(%#v) ok", v)
		}
	}
}

func seen0(t *testing.T, v any) string {
	t.Helper()
	k, ok := Key(v)
	if !ok {
		t.Fatalf("Key(%#v) not ok", v)
	}
	return k
}

// TestIndexKeysAgreeWithHints checks that looking up a hint's values among
// IndexKeys finds every document Match accepts.
func TestIndexKeysAgreeWithHints(t *testing.T) {
	docs := []map[string]any{
		sampleProfile(),
		{"roles": []any{"A"}, "attributes": map[string]any{"x": []any{map[string]any{"y": 2.0}}}},
		{"roles": "A", "attributes": map[string]any{"x": map[string]any{"y": int64(2)}}},
		{"roles": []any{[]any{"A"}}},
	}
	queries := []string{
		`{roles: 'A'}`, `{roles: {$in: ['A', 'SOCIAL_USER']}}`, `{attributes.x.y: 2}`,
		`{attributes.addresses.city: 'Lyon'}`, `{attributes.subscriptions.targets: 'news'}`,
		`{attributes.addresses.kind: {$all: ['home']}}`, `{createdOn: 1495733716728}`,
	}
	for _, src := range queries {
		q, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		hints := q.IndexHints()
		if len(hints) == 0 {
			t.Fatalf("%s: no hints", src)
		}
		for i, d := range docs {
			if !q.Match(d) {
				continue
			}
			for _, h := range hints {
				keys := IndexKeys(d, h.Path)
				found := false
				for _, v := range h.Values {
					k, _ := Key(v)
					found = found || slices.Contains(keys, k)
				}
				if !found {
					t.Errorf("%s: doc %d matches but hint %v not found in keys %q", src, i, h, keys)
				}
			}
		}
	}
}
