package kv

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
)

// walkTx is an in-memory ReadTx over sorted keys that counts every key a
// scan walks, skipped keys included, as an ordered engine does.
type walkTx struct {
	keys   [][]byte
	vals   [][]byte // nil, or one value per key
	walked int
}

func (w *walkTx) Get(key []byte) ([]byte, error) {
	if i, ok := slices.BinarySearchFunc(w.keys, key, bytes.Compare); ok {
		if w.vals != nil && w.vals[i] != nil {
			return w.vals[i], nil
		}
		return []byte{}, nil
	}
	return nil, ErrNotFound
}

func (w *walkTx) Scan(prefix []byte, opts ScanOptions, fn func(k, v []byte) error) error {
	var in []int
	for i, k := range w.keys {
		if bytes.HasPrefix(k, prefix) {
			in = append(in, i)
		}
	}
	if opts.Reverse {
		slices.Reverse(in)
	}
	skip, visited := opts.Skip, 0
	for _, i := range in {
		w.walked++
		if skip > 0 {
			skip--
			continue
		}
		var v []byte
		if w.vals != nil {
			v = w.vals[i]
		}
		if err := fn(w.keys[i], v); err != nil {
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

// sortedTx is a minimal in-memory Tx over sorted keys, for count tests.
type sortedTx struct{ walkTx }

func (m *sortedTx) Put(k, v []byte) error {
	i, ok := slices.BinarySearchFunc(m.keys, k, bytes.Compare)
	if !ok {
		m.keys = slices.Insert(m.keys, i, append([]byte(nil), k...))
		m.vals = slices.Insert(m.vals, i, nil)
	}
	m.vals[i] = append([]byte(nil), v...)
	return nil
}

func (m *sortedTx) Delete(k []byte) error {
	if i, ok := slices.BinarySearchFunc(m.keys, k, bytes.Compare); ok {
		m.keys = slices.Delete(m.keys, i, i+1)
		m.vals = slices.Delete(m.vals, i, i+1)
	}
	return nil
}

// TestSetCountShards guards the sharded count: members of a set spread
// their count over several keys (so that writers of one set do not all
// update one key), each shard key stays inside its set's count space (a
// longer set's shards never add into a shorter one's count), a count kept
// by a store written before the shards is still added in, a shard may go
// below zero when such members leave, and Clear removes every shard.
func TestSetCountShards(t *testing.T) {
	tx := &sortedTx{}
	s := Set{Env: "production", Parts: []string{"events", "o1"}}
	longer := Set{Env: "production", Parts: []string{"events", "o1", "code", "X"}}
	// The count a store kept before the shards: 3 members a0, a1, a2.
	for i := range 3 {
		if err := tx.Put(s.member(fmt.Sprintf("a%d", i)), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := writeCount(tx, s.countKey(), 3); err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if err := s.Add(tx, fmt.Sprintf("m%02d", i), nil); err != nil {
			t.Fatal(err)
		}
		if err := longer.Add(tx, fmt.Sprintf("m%02d", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	shards := 0
	for _, k := range tx.keys {
		if bytes.HasPrefix(k, append(s.countKey(), MemberSep)) {
			shards++
			if len(k) != len(s.countKey())+2 {
				t.Errorf("shard key %q is not the count key, 0x01 and one byte", k)
			}
		}
	}
	if shards < 24 {
		t.Errorf("40 members use %d count shards, want them spread (at least 24 of %d)", shards, CountShards)
	}
	for _, m := range []string{"a0", "a1", "a2", "m00"} {
		if err := s.Remove(tx, m); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.Count(tx); err != nil || n != 39 {
		t.Errorf("count = %d, %v; want 39 (3 old + 40 - 4)", n, err)
	}
	if n, err := longer.Count(tx); err != nil || n != 40 {
		t.Errorf("longer set's count = %d, %v; want 40", n, err)
	}
	if err := s.Clear(tx); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Count(tx); err != nil || n != 0 {
		t.Errorf("count after Clear = %d, %v", n, err)
	}
	for _, k := range tx.keys {
		if bytes.HasPrefix(k, s.countKey()) && !bytes.HasPrefix(k, longer.countKey()) {
			t.Errorf("Clear left %q", k)
		}
	}
}

// TestCountBatch: members added with a CountBatch count once it is
// flushed, the same as members added one by one (re-adding a member
// counts nothing), and each shard key is written once per flush.
func TestCountBatch(t *testing.T) {
	tx := &sortedTx{}
	s := Set{Env: "production", Parts: []string{"users", "o1"}}
	for i := range 5 {
		if err := s.Add(tx, fmt.Sprintf("a%d", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	var b CountBatch
	for i := range 200 {
		if err := s.AddBatched(tx, fmt.Sprintf("m%03d", i), nil, &b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddBatched(tx, "a0", []byte("again"), &b); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Count(tx); err != nil || n != 5 {
		t.Errorf("count before Flush = %d, %v; want 5 (the changes are deferred)", n, err)
	}
	puts := &countingTx{sortedTx: tx}
	if err := b.Flush(puts); err != nil {
		t.Fatal(err)
	}
	if puts.puts > CountShards {
		t.Errorf("Flush wrote %d keys for one set, want at most one per shard (%d)", puts.puts, CountShards)
	}
	if n, err := s.Count(tx); err != nil || n != 205 {
		t.Errorf("count after Flush = %d, %v; want 205", n, err)
	}
	if err := b.Flush(tx); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Count(tx); err != nil || n != 205 {
		t.Errorf("count after a second Flush = %d, %v; want 205 (Flush empties the batch)", n, err)
	}
}

// countingTx counts the Puts of a transaction.
type countingTx struct {
	*sortedTx
	puts int
}

func (c *countingTx) Put(k, v []byte) error {
	c.puts++
	return c.sortedTx.Put(k, v)
}

// TestCountBatchInShard: a CountBatch from InShard puts every count
// change of a set into the one shard it names, whatever the members
// (AddKeysBatched names that key for Prefetch), and the set's count still
// adds it to the shards of members added one by one and to the count a
// store kept before the shards; two writers in different shards write no
// common count key.
func TestCountBatchInShard(t *testing.T) {
	tx := &sortedTx{}
	s := Set{Env: "production", Parts: []string{"events", "o1"}}
	if err := tx.Put(s.member("old"), nil); err != nil {
		t.Fatal(err)
	}
	if err := writeCount(tx, s.countKey(), 1); err != nil { // before the shards
		t.Fatal(err)
	}
	for i := range 10 {
		if err := s.Add(tx, fmt.Sprintf("a%02d", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	written := func(shard int, members ...string) map[string]bool {
		t.Helper()
		b := InShard(shard)
		want := s.shardKey(shardNames[shard%CountShards])
		for _, m := range members {
			if got := s.AddKeysBatched(m, b)[1]; !bytes.Equal(got, want) {
				t.Fatalf("AddKeysBatched(%q) names count key %q, want %q", m, got, want)
			}
			if err := s.AddBatched(tx, m, nil, b); err != nil {
				t.Fatal(err)
			}
		}
		puts := &countingTx{sortedTx: tx}
		keys := map[string]bool{}
		rec := &recordingPuts{countingTx: puts, keys: keys}
		if err := b.Flush(rec); err != nil {
			t.Fatal(err)
		}
		return keys
	}
	one := written(7, "b00", "b01", "b02", "b03", "b04", "b05")
	two := written(7+CountShards+1, "c00", "c01", "c02")
	if len(one) != 1 || len(two) != 1 {
		t.Fatalf("a flush in one shard wrote count keys %v and %v, want one each", one, two)
	}
	for k := range one {
		if two[k] {
			t.Errorf("writers in shards 7 and 8 both wrote %q", k)
		}
	}
	if n, err := s.Count(tx); err != nil || n != 1+10+6+3 {
		t.Errorf("count = %d, %v; want 20 (1 before the shards, 10 one by one, 6 and 3 in shards)", n, err)
	}
	if got := InShard(-1).shard; got != CountShards {
		t.Errorf("InShard(-1) uses shard %d, want the last (%d)", got-1, CountShards-1)
	}
}

// recordingPuts records the keys a transaction puts.
type recordingPuts struct {
	*countingTx
	keys map[string]bool
}

func (r *recordingPuts) Put(k, v []byte) error {
	r.keys[string(k)] = true
	return r.countingTx.Put(k, v)
}

// TestUncountedSet: an Uncounted set writes and reads its members like a
// counted one, but Add and Remove write no count key (so an Add writes the
// member's page alone), Count refuses it, AddKeys names the member only,
// and Clear removes the members and any count a store kept before.
func TestUncountedSet(t *testing.T) {
	tx := &sortedTx{}
	counted := Set{Env: "production", Parts: []string{"oidc-user-grants", "u1"}}
	s := counted
	s.Uncounted = true
	// A count the same set kept while it was counted.
	if err := counted.Add(tx, "f:old", nil); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"f:a", "f:b", "s:c"} {
		if err := s.Add(tx, m, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Remove(tx, "f:b"); err != nil {
		t.Fatal(err)
	}
	if n, err := counted.Count(tx); err != nil || n != 1 {
		t.Errorf("the count kept before = %d, %v; want 1 (untouched)", n, err)
	}
	if _, err := s.Count(tx); !errors.Is(err, errUncounted) {
		t.Errorf("Count of an uncounted set: %v", err)
	}
	if got, err := s.Page(tx, false, 0, 10); err != nil || !slices.Equal(got, []string{"f:a", "f:old", "s:c"}) {
		t.Errorf("members = %v, %v", got, err)
	}
	if keys := s.AddKeys("f:z"); len(keys) != 1 || !bytes.Equal(keys[0], s.member("f:z")) {
		t.Errorf("AddKeys = %q, want the member's key only", keys)
	}
	if err := s.Clear(tx); err != nil {
		t.Fatal(err)
	}
	for _, k := range tx.keys {
		if bytes.HasPrefix(k, s.countKey()) || bytes.HasPrefix(k, s.prefix()) {
			t.Errorf("Clear left %q", k)
		}
	}
}
