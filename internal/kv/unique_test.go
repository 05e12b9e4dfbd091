package kv

import (
	"bytes"
	"errors"
	"sort"
	"testing"
)

// mapTx is a sorted in-memory transaction for the tests of this package
// (forward scans with After and Limit).
type mapTx map[string][]byte

func (m mapTx) Get(k []byte) ([]byte, error) {
	v, ok := m[string(k)]
	if !ok {
		return nil, ErrNotFound
	}
	return v, nil
}

func (m mapTx) Put(k, v []byte) error { m[string(k)] = v; return nil }
func (m mapTx) Delete(k []byte) error { delete(m, string(k)); return nil }

func (m mapTx) Scan(prefix []byte, o ScanOptions, fn func(k, v []byte) error) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		if bytes.HasPrefix([]byte(k), prefix) && (o.After == nil || k > string(o.After)) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for i, k := range keys {
		if o.Limit > 0 && i >= o.Limit {
			break
		}
		if err := fn([]byte(k), m[k]); errors.Is(err, ErrStopScan) {
			return nil
		} else if err != nil {
			return err
		}
	}
	return nil
}

// TestUniqueScan: a prefix scan of a unique index visits, in value order,
// the values of one scope that start with the prefix, after the cursor.
func TestUniqueScan(t *testing.T) {
	tx := mapTx{}
	u := Unique{Env: "production", Name: "user-email"}
	for _, c := range []struct{ scope, value, id string }{
		{"o1", "ann@a.test", "1"}, {"o1", "anna@a.test", "2"}, {"o1", "bob@a.test", "3"},
		{"o2", "ann@b.test", "4"}, {"o1", "an", "5"},
	} {
		if err := u.Claim(tx, c.scope, c.value, c.id); err != nil {
			t.Fatal(err)
		}
	}
	scan := func(scope, prefix, after string, limit int) []string {
		var out []string
		if err := u.Scan(tx, scope, prefix, after, limit, func(v, id string) error {
			out = append(out, v+"="+id)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, c := range []struct {
		scope, prefix, after string
		limit                int
		want                 []string
	}{
		{"o1", "ann", "", 0, []string{"ann@a.test=1", "anna@a.test=2"}},
		{"o1", "an", "", 2, []string{"an=5", "ann@a.test=1"}},
		{"o1", "an", "ann@a.test", 0, []string{"anna@a.test=2"}},
		{"o1", "", "", 0, []string{"an=5", "ann@a.test=1", "anna@a.test=2", "bob@a.test=3"}},
		{"o2", "ann", "", 0, []string{"ann@b.test=4"}},
		{"o1", "zz", "", 0, nil},
		{"o1", "a\x00", "", 0, nil},
		{"o1", "ann", "bob@a.test", 0, []string{"ann@a.test=1", "anna@a.test=2"}}, // a cursor outside the prefix is ignored
	} {
		if got := scan(c.scope, c.prefix, c.after, c.limit); !equal(got, c.want) {
			t.Errorf("Scan(%q, %q, %q, %d) = %v, want %v", c.scope, c.prefix, c.after, c.limit, got, c.want)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
