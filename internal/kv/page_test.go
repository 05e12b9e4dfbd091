package kv

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
)

// walkTx is an in-memory ReadTx over sorted keys that counts every key a
// scan walks, skipped keys included, as an ordered engine does.
type walkTx struct {
	keys   [][]byte
	walked int
}

func (w *walkTx) Get(key []byte) ([]byte, error) {
	if _, ok := slices.BinarySearchFunc(w.keys, key, bytes.Compare); ok {
		return []byte{}, nil
	}
	return nil, ErrNotFound
}

func (w *walkTx) Scan(prefix []byte, opts ScanOptions, fn func(k, v []byte) error) error {
	var in [][]byte
	for _, k := range w.keys {
		if bytes.HasPrefix(k, prefix) {
			in = append(in, k)
		}
	}
	if opts.Reverse {
		slices.Reverse(in)
	}
	skip, visited := opts.Skip, 0
	for _, k := range in {
		w.walked++
		if skip > 0 {
			skip--
			continue
		}
		if err := fn(k, nil); err != nil {
			if err == ErrStopScan {
				return nil
			}
			return err
		}
		if visited++; opts.Limit > 0 && visited >= opts.Limit {
			return nil
		}
	}
	return nil
}

// TestNewestFirstLastPageDoesNotWalkTheSet guards the rule that lists are
// paginated without loading the whole collection: the first and the last
// page of a 10,000-member set walk about one page of keys, a middle page
// at most half the set, and each returns the right members, newest
// first.
func TestNewestFirstLastPageDoesNotWalkTheSet(t *testing.T) {
	const n, per = 10_000, 100
	s := Set{Env: "production", Parts: []string{"users", "o1"}}
	tx := &walkTx{}
	for i := range n {
		tx.keys = append(tx.keys, s.member(fmt.Sprintf("%06d", i)))
	}
	for _, tc := range []struct {
		name      string
		skip      int
		first     int // member number of the page's first (newest) item
		items     int
		maxWalked int
	}{
		{"first page", 0, n - 1, per, per},
		{"last page", n - per, per - 1, per, per},
		{"short last page", n - 37, 36, 37, 37},
		{"middle page", n / 2, n/2 - 1, per, n/2 + per},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx.walked = 0
			ids, err := s.NewestFirst(tx, n, tc.skip, per)
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != tc.items || ids[0] != fmt.Sprintf("%06d", tc.first) ||
				ids[len(ids)-1] != fmt.Sprintf("%06d", tc.first-tc.items+1) {
				t.Fatalf("got %d ids %v..%v, want %d from %06d down", len(ids), ids[0], ids[len(ids)-1], tc.items, tc.first)
			}
			if tx.walked > tc.maxWalked {
				t.Errorf("walked %d keys, want at most %d", tx.walked, tc.maxWalked)
			}
		})
	}
}
