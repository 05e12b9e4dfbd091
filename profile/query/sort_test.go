package query

import (
	"math"
	"reflect"
	"testing"
	"time"
)

func TestCompareOrder(t *testing.T) {
	// Strictly increasing under Compare.
	ordered := []any{
		nil,
		math.NaN(),
		math.Inf(-1),
		int64(math.MinInt64),
		-1.5,
		int64(-1),
		0.0,
		0.5,
		int64(1),
		1.0000001,
		int64(1 << 53),
		int64(1<<53 + 1),
		uint64(math.MaxUint64),
		math.Inf(1),
		"",
		"A",
		"a",
		"b",
		map[string]any{},
		map[string]any{"a": int64(1)},
		map[string]any{"a": int64(2)},
		map[string]any{"a": int64(2), "b": nil},
		map[string]any{"b": int64(0)},
		[]any{},
		[]any{int64(1)},
		[]any{int64(1), int64(0)},
		[]string{"x"},
		false,
		true,
		time.Unix(0, 0),
		time.Unix(1, 0),
		struct{}{},
	}
	for i := range ordered {
		for j := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := Compare(ordered[i], ordered[j]); got != want {
				t.Errorf("Compare(%#v, %#v) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
	if Compare(int64(2), 2.0) != 0 || Compare(1.0, int8(1)) != 0 {
		t.Error("numbers of different Go types should compare equal")
	}
}

func TestSort(t *testing.T) {
	mk := func(id string, v any) map[string]any {
		d := map[string]any{"id": id, "attributes": map[string]any{}}
		if v != nil {
			d["attributes"].(map[string]any)["n"] = v
		}
		return d
	}
	docs := func() []map[string]any {
		return []map[string]any{
			mk("missing", nil),
			mk("three", int64(3)),
			mk("str", "x"),
			mk("one", 1.0),
			mk("arr", []any{int64(5), int64(0)}),
			mk("null", nil),
			mk("two", int64(2)),
			mk("emptyarr", []any{}),
		}
	}
	ids := func(ds []map[string]any) []string {
		out := make([]string, len(ds))
		for i, d := range ds {
			out[i] = d["id"].(string)
		}
		return out
	}
	asc := docs()
	Sort(asc, "attributes.n", true)
	if want := []string{"missing", "null", "emptyarr", "arr", "one", "two", "three", "str"}; !reflect.DeepEqual(ids(asc), want) {
		t.Errorf("ascending: %q, want %q", ids(asc), want)
	}
	desc := docs()
	Sort(desc, "attributes.n", false)
	if want := []string{"str", "arr", "three", "two", "one", "missing", "null", "emptyarr"}; !reflect.DeepEqual(ids(desc), want) {
		t.Errorf("descending: %q, want %q", ids(desc), want)
	}
}

func TestSortFunc(t *testing.T) {
	type profile struct {
		name string
		doc  map[string]any
	}
	ps := []profile{
		{"b", map[string]any{"username": "bob"}},
		{"a", map[string]any{"username": "alice"}},
		{"c", map[string]any{"username": "carol"}},
	}
	SortFunc(ps, func(p profile) map[string]any { return p.doc }, "username", true)
	if ps[0].name != "a" || ps[1].name != "b" || ps[2].name != "c" {
		t.Errorf("got %v", ps)
	}
}

func TestSortKey(t *testing.T) {
	doc := sampleProfile()
	tests := []struct {
		path string
		asc  bool
		want any
	}{
		{"username", true, "john.doe"},
		{"roles", true, "PROFILE_ADMIN"},
		{"roles", false, "SOCIAL_USER"},
		{"attributes.addresses.city", true, "Lyon"},
		{"attributes.addresses.city", false, "Paris"},
		{"attributes.addresses.kind", true, nil},
		{"attributes.none", false, nil},
	}
	for _, tt := range tests {
		if got := SortKey(doc, tt.path, tt.asc); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SortKey(%s, %v) = %#v, want %#v", tt.path, tt.asc, got, tt.want)
		}
	}
}
