// Package storetest is the conformance suite that every identity.Store
// backend runs, and the benchmarks that compare them. A backend's test file
// needs a few lines:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) identity.Store { return memory.New() })
//	}
//
//	func BenchmarkStore(b *testing.B) {
//		storetest.Bench(b, func(b *testing.B) identity.Store { return memory.New() })
//	}
//
// The open function returns a fresh, empty store; the suite closes it.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// Run runs the whole conformance suite against the stores that open returns,
// one fresh store per subtest.
func Run(t *testing.T, open func(t *testing.T) identity.Store) {
	t.Helper()
	fresh := func(t *testing.T) identity.Store {
		t.Helper()
		s := open(t)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s identity.Store)
	}{
		{"GetPutDelete", testGetPutDelete},
		{"EmptyValue", testEmptyValue},
		{"PutCopiesBuffers", testPutCopiesBuffers},
		{"ReadYourWrites", testReadYourWrites},
		{"ScanOrder", testScanOrder},
		{"ScanAfter", testScanAfter},
		{"ScanSkipLimitKeysOnly", testScanSkipLimitKeysOnly},
		{"ScanStop", testScanStop},
		{"ScanHighBytes", testScanHighBytes},
		{"WriteDuringScan", testWriteDuringScan},
		{"ScanModel", testScanModel},
		{"Atomicity", testAtomicity},
		{"ConcurrentFailures", testConcurrentFailures},
		{"SnapshotIsolation", testSnapshotIsolation},
		{"UniqueRace", testUniqueRace},
		{"SetConcurrentAdd", testSetConcurrentAdd},
		{"SetPages", testSetPages},
		{"CounterConcurrent", testCounterConcurrent},
		{"RecordsRoundTrip", testRecordsRoundTrip},
		{"SweepExpired", testSweepExpired},
		{"ContextCanceled", testContextCanceled},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, fresh(t)) })
	}
	runEntities(t, fresh)
}

// put writes key/value pairs (alternating) in one transaction.
func put(t *testing.T, s identity.Store, kv ...string) {
	t.Helper()
	if err := s.Update(context.Background(), func(tx identity.Tx) error {
		for i := 0; i+1 < len(kv); i += 2 {
			if err := tx.Put([]byte(kv[i]), []byte(kv[i+1])); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// get reads key in a View; ok is false when the key is missing.
func get(t *testing.T, s identity.Store, key string) (string, bool) {
	t.Helper()
	var val string
	var found bool
	if err := s.View(context.Background(), func(tx identity.ReadTx) error {
		v, err := tx.Get([]byte(key))
		if errors.Is(err, identity.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		val, found = string(v), true
		return nil
	}); err != nil {
		t.Fatalf("View: %v", err)
	}
	return val, found
}

// scanKeys returns the keys (and values joined as "k=v" unless KeysOnly)
// that a scan visits.
func scanKeys(t *testing.T, s identity.Store, prefix string, opts identity.ScanOptions) []string {
	t.Helper()
	var out []string
	if err := s.View(context.Background(), func(tx identity.ReadTx) error {
		return tx.Scan([]byte(prefix), opts, func(k, v []byte) error {
			if opts.KeysOnly {
				out = append(out, string(k))
			} else {
				out = append(out, string(k)+"="+string(v))
			}
			return nil
		})
	}); err != nil {
		t.Fatalf("Scan(%q, %+v): %v", prefix, opts, err)
	}
	return out
}

func testGetPutDelete(t *testing.T, s identity.Store) {
	ctx := context.Background()
	if _, ok := get(t, s, "a"); ok {
		t.Fatal("fresh store has key a")
	}
	err := s.View(ctx, func(tx identity.ReadTx) error {
		_, err := tx.Get([]byte("missing"))
		return err
	})
	if !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("Get(missing) = %v, want ErrNotFound", err)
	}
	put(t, s, "a", "1", "b", "2")
	if v, ok := get(t, s, "a"); !ok || v != "1" {
		t.Fatalf("Get(a) = %q, %v; want 1", v, ok)
	}
	put(t, s, "a", "one")
	if v, _ := get(t, s, "a"); v != "one" {
		t.Fatalf("Get(a) after overwrite = %q, want one", v)
	}
	if err := s.Update(ctx, func(tx identity.Tx) error {
		if err := tx.Delete([]byte("a")); err != nil {
			return err
		}
		return tx.Delete([]byte("never-existed"))
	}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, ok := get(t, s, "a"); ok {
		t.Fatal("a survives Delete")
	}
	if v, ok := get(t, s, "b"); !ok || v != "2" {
		t.Fatalf("Get(b) = %q, %v after deleting a", v, ok)
	}
	err = s.Update(ctx, func(tx identity.Tx) error { return tx.Put(nil, []byte("x")) })
	if err == nil {
		t.Fatal("Put with an empty key succeeded")
	}
}

func testEmptyValue(t *testing.T, s identity.Store) {
	ctx := context.Background()
	if err := s.Update(ctx, func(tx identity.Tx) error {
		if err := tx.Put([]byte("nil"), nil); err != nil {
			return err
		}
		return tx.Put([]byte("empty"), []byte{})
	}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"nil", "empty"} {
		if v, ok := get(t, s, k); !ok || v != "" {
			t.Errorf("Get(%s) = %q, found=%v; want an existing empty value", k, v, ok)
		}
	}
	if got := scanKeys(t, s, "", identity.ScanOptions{}); !reflect.DeepEqual(got, []string{"empty=", "nil="}) {
		t.Errorf("Scan = %q", got)
	}
}

func testPutCopiesBuffers(t *testing.T, s identity.Store) {
	buf := []byte("key1")
	val := []byte("value1")
	if err := s.Update(context.Background(), func(tx identity.Tx) error {
		if err := tx.Put(buf, val); err != nil {
			return err
		}
		copy(buf, "key2")
		copy(val, "value2")
		return tx.Put(buf, val)
	}); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXX")
	copy(val, "XXXXXX")
	if got := scanKeys(t, s, "key", identity.ScanOptions{}); !reflect.DeepEqual(got, []string{"key1=value1", "key2=value2"}) {
		t.Fatalf("store kept the caller's buffers: %q", got)
	}
}

func testReadYourWrites(t *testing.T, s identity.Store) {
	put(t, s, "p/a", "1", "p/c", "3")
	err := s.Update(context.Background(), func(tx identity.Tx) error {
		if err := tx.Put([]byte("p/b"), []byte("2")); err != nil {
			return err
		}
		if err := tx.Delete([]byte("p/c")); err != nil {
			return err
		}
		if v, err := tx.Get([]byte("p/b")); err != nil || string(v) != "2" {
			return fmt.Errorf("Get(p/b) in the writing tx = %q, %v", v, err)
		}
		if _, err := tx.Get([]byte("p/c")); !errors.Is(err, identity.ErrNotFound) {
			return fmt.Errorf("Get(p/c) after Delete in the same tx = %v", err)
		}
		var keys []string
		if err := tx.Scan([]byte("p/"), identity.ScanOptions{}, func(k, _ []byte) error {
			keys = append(keys, string(k))
			return nil
		}); err != nil {
			return err
		}
		if !reflect.DeepEqual(keys, []string{"p/a", "p/b"}) {
			return fmt.Errorf("Scan in the writing tx = %q", keys)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// scanFixture stores keys around prefix "p/" so scans must respect both
// prefix boundaries.
func scanFixture(t *testing.T, s identity.Store) {
	put(t, s,
		"o", "before",
		"p", "bare-prefix-without-slash",
		"p/", "empty-suffix",
		"p/a", "1", "p/b", "2", "p/c", "3", "p/d", "4", "p/e", "5",
		"p0", "after",
		"q", "after",
	)
}

func testScanOrder(t *testing.T, s identity.Store) {
	scanFixture(t, s)
	tests := []struct {
		name   string
		prefix string
		opts   identity.ScanOptions
		want   []string
	}{
		{"forward", "p/", identity.ScanOptions{}, []string{"p/=empty-suffix", "p/a=1", "p/b=2", "p/c=3", "p/d=4", "p/e=5"}},
		{"reverse", "p/", identity.ScanOptions{Reverse: true}, []string{"p/e=5", "p/d=4", "p/c=3", "p/b=2", "p/a=1", "p/=empty-suffix"}},
		{"exact key prefix", "p/c", identity.ScanOptions{}, []string{"p/c=3"}},
		{"no match", "p/z", identity.ScanOptions{}, nil},
		{"no match reverse", "p/z", identity.ScanOptions{Reverse: true}, nil},
		{"empty prefix", "", identity.ScanOptions{KeysOnly: true}, []string{"o", "p", "p/", "p/a", "p/b", "p/c", "p/d", "p/e", "p0", "q"}},
		{"empty prefix reverse", "", identity.ScanOptions{KeysOnly: true, Reverse: true}, []string{"q", "p0", "p/e", "p/d", "p/c", "p/b", "p/a", "p/", "p", "o"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := scanKeys(t, s, tc.prefix, tc.opts); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func testScanAfter(t *testing.T, s identity.Store) {
	scanFixture(t, s)
	tests := []struct {
		name string
		opts identity.ScanOptions
		want []string
	}{
		{"forward after existing", identity.ScanOptions{After: []byte("p/b"), KeysOnly: true}, []string{"p/c", "p/d", "p/e"}},
		{"forward after missing", identity.ScanOptions{After: []byte("p/bb"), KeysOnly: true}, []string{"p/c", "p/d", "p/e"}},
		{"forward after last", identity.ScanOptions{After: []byte("p/e"), KeysOnly: true}, nil},
		{"forward after prefix itself", identity.ScanOptions{After: []byte("p/"), KeysOnly: true}, []string{"p/a", "p/b", "p/c", "p/d", "p/e"}},
		{"reverse after existing", identity.ScanOptions{After: []byte("p/d"), Reverse: true, KeysOnly: true}, []string{"p/c", "p/b", "p/a", "p/"}},
		{"reverse after missing", identity.ScanOptions{After: []byte("p/cc"), Reverse: true, KeysOnly: true}, []string{"p/c", "p/b", "p/a", "p/"}},
		{"reverse after past end", identity.ScanOptions{After: []byte("p/zz"), Reverse: true, KeysOnly: true}, []string{"p/e", "p/d", "p/c", "p/b", "p/a", "p/"}},
		{"reverse after first", identity.ScanOptions{After: []byte("p/"), Reverse: true, KeysOnly: true}, nil},
		{"forward after with limit", identity.ScanOptions{After: []byte("p/a"), Limit: 2, KeysOnly: true}, []string{"p/b", "p/c"}},
		{"reverse after with skip and limit", identity.ScanOptions{After: []byte("p/e"), Reverse: true, Skip: 1, Limit: 2, KeysOnly: true}, []string{"p/c", "p/b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := scanKeys(t, s, "p/", tc.opts); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
	// Walking a cursor page by page visits every key once, both ways.
	for _, reverse := range []bool{false, true} {
		var all []string
		var after []byte
		for page := 0; page < 10; page++ {
			got := scanKeys(t, s, "p/", identity.ScanOptions{After: after, Reverse: reverse, Limit: 2, KeysOnly: true})
			if len(got) == 0 {
				break
			}
			all = append(all, got...)
			after = []byte(got[len(got)-1])
		}
		want := []string{"p/", "p/a", "p/b", "p/c", "p/d", "p/e"}
		if reverse {
			want = []string{"p/e", "p/d", "p/c", "p/b", "p/a", "p/"}
		}
		if !reflect.DeepEqual(all, want) {
			t.Errorf("cursor walk reverse=%v = %q, want %q", reverse, all, want)
		}
	}
	err := s.View(context.Background(), func(tx identity.ReadTx) error {
		return tx.Scan([]byte("p/"), identity.ScanOptions{After: []byte("q")}, func(_, _ []byte) error { return nil })
	})
	if !errors.Is(err, identity.ErrInvalid) {
		t.Errorf("Scan with a cursor outside the prefix = %v, want ErrInvalid", err)
	}
}

func testScanSkipLimitKeysOnly(t *testing.T, s identity.Store) {
	scanFixture(t, s)
	tests := []struct {
		name string
		opts identity.ScanOptions
		want []string
	}{
		{"limit", identity.ScanOptions{Limit: 2}, []string{"p/=empty-suffix", "p/a=1"}},
		{"skip", identity.ScanOptions{Skip: 4}, []string{"p/d=4", "p/e=5"}},
		{"skip and limit", identity.ScanOptions{Skip: 2, Limit: 2}, []string{"p/b=2", "p/c=3"}},
		{"skip past end", identity.ScanOptions{Skip: 6}, nil},
		{"reverse skip and limit", identity.ScanOptions{Reverse: true, Skip: 1, Limit: 3}, []string{"p/d=4", "p/c=3", "p/b=2"}},
		{"limit larger than set", identity.ScanOptions{Limit: 100}, []string{"p/=empty-suffix", "p/a=1", "p/b=2", "p/c=3", "p/d=4", "p/e=5"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := scanKeys(t, s, "p/", tc.opts); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
	t.Run("keys only", func(t *testing.T) {
		err := s.View(context.Background(), func(tx identity.ReadTx) error {
			n := 0
			err := tx.Scan([]byte("p/"), identity.ScanOptions{KeysOnly: true, Skip: 1}, func(k, v []byte) error {
				n++
				if len(v) != 0 {
					return fmt.Errorf("KeysOnly scan passed value %q for %q", v, k)
				}
				return nil
			})
			if err == nil && n != 5 {
				err = fmt.Errorf("KeysOnly scan visited %d keys, want 5", n)
			}
			return err
		})
		if err != nil {
			t.Error(err)
		}
	})
}

func testScanStop(t *testing.T, s identity.Store) {
	scanFixture(t, s)
	for _, reverse := range []bool{false, true} {
		var got []string
		err := s.View(context.Background(), func(tx identity.ReadTx) error {
			return tx.Scan([]byte("p/"), identity.ScanOptions{Reverse: reverse}, func(k, _ []byte) error {
				got = append(got, string(k))
				if len(got) == 2 {
					return fmt.Errorf("wrapped: %w", identity.ErrStopScan)
				}
				return nil
			})
		})
		if err != nil {
			t.Errorf("ErrStopScan leaked out of Scan: %v", err)
		}
		if len(got) != 2 {
			t.Errorf("scan went on after ErrStopScan: %q", got)
		}
	}
	boom := errors.New("boom")
	err := s.View(context.Background(), func(tx identity.ReadTx) error {
		return tx.Scan([]byte("p/"), identity.ScanOptions{}, func(_, _ []byte) error { return boom })
	})
	if err != boom {
		t.Errorf("Scan callback error came back as %v, want it unchanged", err)
	}
}

func testScanHighBytes(t *testing.T, s identity.Store) {
	put(t, s, "\xff", "a", "\xff\xff", "b", "\xff\xff\x00", "c", "\xff\xff\xff", "d", "\xfe\xff", "e")
	tests := []struct {
		prefix  string
		reverse bool
		want    []string
	}{
		{"\xff\xff", false, []string{"\xff\xff", "\xff\xff\x00", "\xff\xff\xff"}},
		{"\xff\xff", true, []string{"\xff\xff\xff", "\xff\xff\x00", "\xff\xff"}},
		{"\xfe", true, []string{"\xfe\xff"}},
		{"\xff", true, []string{"\xff\xff\xff", "\xff\xff\x00", "\xff\xff", "\xff"}},
	}
	for _, tc := range tests {
		got := scanKeys(t, s, tc.prefix, identity.ScanOptions{Reverse: tc.reverse, KeysOnly: true})
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Scan(%q, reverse=%v) = %q, want %q", tc.prefix, tc.reverse, got, tc.want)
		}
	}
}

func testWriteDuringScan(t *testing.T, s identity.Store) {
	var kv []string
	for i := 0; i < 300; i++ {
		kv = append(kv, fmt.Sprintf("w/%04d", i), "v")
	}
	put(t, s, kv...)
	for _, reverse := range []bool{false, true} {
		n := 0
		err := s.Update(context.Background(), func(tx identity.Tx) error {
			n = 0
			return tx.Scan([]byte("w/"), identity.ScanOptions{Reverse: reverse}, func(k, _ []byte) error {
				n++
				if err := tx.Delete(k); err != nil {
					return err
				}
				return tx.Put(append([]byte("moved/"), k...), []byte("v"))
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != 300 {
			t.Errorf("reverse=%v: deleting while scanning visited %d keys, want 300", reverse, n)
		}
		if left := scanKeys(t, s, "w/", identity.ScanOptions{KeysOnly: true}); len(left) != 0 {
			t.Errorf("reverse=%v: %d keys left after deleting all during a scan", reverse, len(left))
		}
		if moved := scanKeys(t, s, "moved/", identity.ScanOptions{KeysOnly: true}); len(moved) != 300 {
			t.Errorf("reverse=%v: %d keys written during the scan, want 300", reverse, len(moved))
		}
		// Move them back for the other direction.
		err = s.Update(context.Background(), func(tx identity.Tx) error {
			return tx.Scan([]byte("moved/"), identity.ScanOptions{}, func(k, _ []byte) error {
				if err := tx.Delete(k); err != nil {
					return err
				}
				return tx.Put(bytes.TrimPrefix(k, []byte("moved/")), []byte("v"))
			})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

type failErr struct{ msg string }

func (e *failErr) Error() string { return e.msg }

func testAtomicity(t *testing.T, s identity.Store) {
	put(t, s, "keep", "old", "gone", "still-here")
	sentinel := &failErr{"rule violated"}
	err := s.Update(context.Background(), func(tx identity.Tx) error {
		for i := 0; i < 100; i++ {
			if err := tx.Put([]byte(fmt.Sprintf("new/%03d", i)), []byte("x")); err != nil {
				return err
			}
		}
		if err := tx.Put([]byte("keep"), []byte("new")); err != nil {
			return err
		}
		if err := tx.Delete([]byte("gone")); err != nil {
			return err
		}
		return fmt.Errorf("create user: %w", sentinel)
	})
	var fe *failErr
	if !errors.As(err, &fe) || fe != sentinel || err.Error() != "create user: rule violated" {
		t.Fatalf("Update returned %v, want fn's error unchanged", err)
	}
	if v, _ := get(t, s, "keep"); v != "old" {
		t.Errorf("failed Update changed keep to %q", v)
	}
	if _, ok := get(t, s, "gone"); !ok {
		t.Error("failed Update deleted a key")
	}
	if got := scanKeys(t, s, "new/", identity.ScanOptions{KeysOnly: true}); len(got) != 0 {
		t.Errorf("failed Update left %d keys", len(got))
	}
	// A failing unique claim rolls back the record written before it.
	u := kv.Unique{Env: string(identity.Sandbox), Name: "email"}
	recs := kv.Records[map[string]string]{Env: string(identity.Sandbox), Kind: "user"}
	if err := s.Update(context.Background(), func(tx identity.Tx) error {
		return u.Claim(tx, "org", "a@example.com", "u1")
	}); err != nil {
		t.Fatal(err)
	}
	err = s.Update(context.Background(), func(tx identity.Tx) error {
		if err := recs.Put(tx, "u2", map[string]string{"email": "a@example.com"}); err != nil {
			return err
		}
		return u.Claim(tx, "org", "a@example.com", "u2")
	})
	if !errors.Is(err, identity.ErrConflict) {
		t.Fatalf("second claim = %v, want ErrConflict", err)
	}
	if err := s.View(context.Background(), func(tx identity.ReadTx) error {
		ok, err := recs.Exists(tx, "u2")
		if err == nil && ok {
			err = errors.New("record of the failed create exists")
		}
		return err
	}); err != nil {
		t.Error(err)
	}
}

// testConcurrentFailures mixes failing and succeeding writers, so that a
// backend that groups concurrent transactions must split the failures out
// and still return each caller its own error.
func testConcurrentFailures(t *testing.T, s identity.Store) {
	errs := make([]error, 64)
	mine := make([]*failErr, 64)
	for i := range mine {
		mine[i] = &failErr{fmt.Sprintf("writer %d refuses", i)}
	}
	for round := 0; round < 3; round++ {
		parallel(64, func(i int) {
			errs[i] = s.Update(context.Background(), func(tx identity.Tx) error {
				if err := tx.Put([]byte(fmt.Sprintf("cf/%02d", i)), []byte("x")); err != nil {
					return err
				}
				if i%3 == 0 {
					return mine[i]
				}
				return nil
			})
		})
		for i, err := range errs {
			if i%3 == 0 && err != error(mine[i]) {
				t.Fatalf("writer %d got %v, want its own error unchanged", i, err)
			}
			if i%3 != 0 && err != nil {
				t.Fatalf("writer %d got %v", i, err)
			}
		}
	}
	got := scanKeys(t, s, "cf/", identity.ScanOptions{KeysOnly: true})
	if len(got) != 42 {
		t.Fatalf("%d keys written, want the 42 of the succeeding writers", len(got))
	}
	for _, k := range got {
		var i int
		if _, err := fmt.Sscanf(k, "cf/%d", &i); err != nil || i%3 == 0 {
			t.Errorf("key %s written by a failing writer", k)
		}
	}
}

func testSnapshotIsolation(t *testing.T, s identity.Store) {
	ctx := context.Background()
	put(t, s, "iso/a", "0", "iso/b", "0")
	committed := make(chan error, 1)
	var gotA, gotB string
	var scanned []string
	err := s.View(ctx, func(tx identity.ReadTx) error {
		a, err := tx.Get([]byte("iso/a"))
		if err != nil {
			return err
		}
		gotA = string(a)
		go func() {
			committed <- s.Update(ctx, func(tx identity.Tx) error {
				if err := tx.Put([]byte("iso/a"), []byte("1")); err != nil {
					return err
				}
				if err := tx.Put([]byte("iso/b"), []byte("1")); err != nil {
					return err
				}
				return tx.Put([]byte("iso/c"), []byte("1"))
			})
		}()
		// Give the writer the chance to commit while this view is open. A
		// backend whose writer must wait for readers is still correct; the
		// assertions below hold either way.
		select {
		case err := <-committed:
			committed <- err
		case <-time.After(500 * time.Millisecond):
		}
		b, err := tx.Get([]byte("iso/b"))
		if err != nil {
			return err
		}
		gotB = string(b)
		return tx.Scan([]byte("iso/"), identity.ScanOptions{}, func(k, v []byte) error {
			scanned = append(scanned, string(k)+"="+string(v))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
	if gotA != "0" || gotB != "0" || !reflect.DeepEqual(scanned, []string{"iso/a=0", "iso/b=0"}) {
		t.Errorf("view saw a concurrent commit: a=%s b=%s scan=%q", gotA, gotB, scanned)
	}
	if v, _ := get(t, s, "iso/b"); v != "1" {
		t.Errorf("after the view, b = %q, want 1", v)
	}

	// Under a stream of writers keeping a == b, no reader sees them differ.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 2; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			v := []byte(fmt.Sprint(i))
			_ = s.Update(ctx, func(tx identity.Tx) error {
				if err := tx.Put([]byte("iso/a"), v); err != nil {
					return err
				}
				return tx.Put([]byte("iso/b"), v)
			})
		}
	}()
	for i := 0; i < 200; i++ {
		err := s.View(ctx, func(tx identity.ReadTx) error {
			a, err := tx.Get([]byte("iso/a"))
			if err != nil {
				return err
			}
			a = append([]byte(nil), a...)
			b, err := tx.Get([]byte("iso/b"))
			if err != nil {
				return err
			}
			if !bytes.Equal(a, b) {
				return fmt.Errorf("torn read: a=%s b=%s", a, b)
			}
			return nil
		})
		if err != nil {
			t.Error(err)
			break
		}
	}
	close(stop)
	wg.Wait()
}

// parallel runs fn(i) for i in [0, n) on n goroutines started together.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

func testUniqueRace(t *testing.T, s identity.Store) {
	u := kv.Unique{Env: string(identity.Production), Name: "email"}
	errs := make([]error, 64)
	parallel(64, func(i int) {
		errs[i] = s.Update(context.Background(), func(tx identity.Tx) error {
			return u.Claim(tx, "org-1", "ada@example.com", fmt.Sprintf("user-%02d", i))
		})
	})
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("both user-%02d and user-%02d claimed the same email", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, identity.ErrConflict):
			t.Errorf("loser %d got %v, want ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("nobody won the claim")
	}
	if err := s.View(context.Background(), func(tx identity.ReadTx) error {
		id, err := u.Lookup(tx, "org-1", "ada@example.com")
		if err == nil && id != fmt.Sprintf("user-%02d", winner) {
			err = fmt.Errorf("Lookup = %s, want user-%02d", id, winner)
		}
		return err
	}); err != nil {
		t.Error(err)
	}
}

func testSetConcurrentAdd(t *testing.T, s identity.Store) {
	set := kv.Set{Env: string(identity.Sandbox), Parts: []string{"org-users", "org-1"}}
	// 64 goroutines add 4 members each; every member is added twice overall.
	errs := make([]error, 64)
	parallel(64, func(i int) {
		for j := 0; j < 4 && errs[i] == nil; j++ {
			m := fmt.Sprintf("m%03d", (i*4+j)%128)
			errs[i] = s.Update(context.Background(), func(tx identity.Tx) error {
				return set.Add(tx, m, []byte(m))
			})
		}
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// And 32 goroutines remove members m000..m031 concurrently, twice each.
	parallel(32, func(i int) {
		for range 2 {
			errs[i] = s.Update(context.Background(), func(tx identity.Tx) error {
				return set.Remove(tx, fmt.Sprintf("m%03d", i))
			})
		}
	})
	for _, err := range errs[:32] {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.View(context.Background(), func(tx identity.ReadTx) error {
		n, err := set.Count(tx)
		if err != nil {
			return err
		}
		all, err := set.Page(tx, false, 0, 0)
		if err != nil {
			return err
		}
		if n != 96 || len(all) != 96 || all[0] != "m032" || all[95] != "m127" {
			return fmt.Errorf("count %d, members %d (%v...), want 96 from m032 to m127", n, len(all), all[:min(3, len(all))])
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}

func testSetPages(t *testing.T, s identity.Store) {
	ctx := context.Background()
	set := kv.Set{Env: string(identity.Production), Parts: []string{"list"}}
	other := kv.Set{Env: string(identity.Sandbox), Parts: []string{"list"}}
	if err := s.Update(ctx, func(tx identity.Tx) error {
		for i := 0; i < 25; i++ {
			if err := set.Add(tx, fmt.Sprintf("%03d", i), nil); err != nil {
				return err
			}
		}
		return other.Add(tx, "sandbox-only", nil)
	}); err != nil {
		t.Fatal(err)
	}
	err := s.View(ctx, func(tx identity.ReadTx) error {
		if n, err := set.Count(tx); err != nil || n != 25 {
			return fmt.Errorf("Count = %d, %v; want 25", n, err)
		}
		if n, err := other.Count(tx); err != nil || n != 1 {
			return fmt.Errorf("other environment Count = %d, %v; want 1", n, err)
		}
		last, err := set.Page(tx, true, 20, 10)
		if err != nil {
			return err
		}
		if want := []string{"004", "003", "002", "001", "000"}; !reflect.DeepEqual(last, want) {
			return fmt.Errorf("last page newest first = %q, want %q", last, want)
		}
		first, err := set.Page(tx, true, 0, 3)
		if err != nil {
			return err
		}
		if want := []string{"024", "023", "022"}; !reflect.DeepEqual(first, want) {
			return fmt.Errorf("first page newest first = %q, want %q", first, want)
		}
		next, err := set.After(tx, "022", true, 3)
		if err != nil {
			return err
		}
		if want := []string{"021", "020", "019"}; !reflect.DeepEqual(next, want) {
			return fmt.Errorf("After(022) = %q, want %q", next, want)
		}
		has, err := set.Has(tx, "sandbox-only")
		if err == nil && has {
			err = errors.New("production set sees a sandbox member")
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}
}

func testCounterConcurrent(t *testing.T, s identity.Store) {
	c := kv.Counter{Env: string(identity.Production), Name: "events"}
	got := make([][]int64, 64)
	errs := make([]error, 64)
	parallel(64, func(i int) {
		for j := 0; j < 10; j++ {
			var n int64
			err := s.Update(context.Background(), func(tx identity.Tx) error {
				var err error
				n, err = c.Next(tx)
				return err
			})
			if err != nil {
				errs[i] = err
				return
			}
			got[i] = append(got[i], n)
		}
	})
	var all []int64
	for i := range got {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		all = append(all, got[i]...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	for i, n := range all {
		if n != int64(i+1) {
			t.Fatalf("counter values are not 1..640 without gaps or repeats: position %d holds %d", i, n)
		}
	}
	if err := s.View(context.Background(), func(tx identity.ReadTx) error {
		v, err := c.Value(tx)
		if err == nil && v != 640 {
			err = fmt.Errorf("Value = %d, want 640", v)
		}
		return err
	}); err != nil {
		t.Error(err)
	}
}

type record struct {
	ID       string            `json:"id"`
	Email    string            `json:"email"`
	Roles    []string          `json:"roles"`
	Attrs    map[string]any    `json:"attrs"`
	Created  time.Time         `json:"created"`
	Nested   *record           `json:"nested,omitempty"`
	Metadata map[string]string `json:"metadata"`
}

func testRecordsRoundTrip(t *testing.T, s identity.Store) {
	ctx := context.Background()
	prod := kv.Records[record]{Env: string(identity.Production), Kind: "user"}
	sand := kv.Records[record]{Env: string(identity.Sandbox), Kind: "user"}
	created := time.Date(2026, 11, 26, 12, 0, 0, 123456789, time.UTC)
	want := record{
		ID: "u1", Email: "ada@example.com", Roles: []string{"admin", "dev"},
		Attrs:    map[string]any{"n": json.Number("3.0"), "s": "é\"<>", "b": true, "l": []any{"x"}}, // numbers come back as written (internal/kv codec)
		Created:  created,
		Nested:   &record{ID: "inner", Created: created},
		Metadata: map[string]string{"k": "v"},
	}
	if err := s.Update(ctx, func(tx identity.Tx) error {
		if err := prod.Put(tx, "u1", want); err != nil {
			return err
		}
		if err := prod.Put(tx, "u0", record{ID: "u0"}); err != nil {
			return err
		}
		return sand.Put(tx, "u1", record{ID: "u1", Email: "sandbox@example.com"})
	}); err != nil {
		t.Fatal(err)
	}
	err := s.View(ctx, func(tx identity.ReadTx) error {
		got, err := prod.Get(tx, "u1")
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("round trip:\n got  %+v\n want %+v", got, want)
		}
		sb, err := sand.Get(tx, "u1")
		if err != nil {
			return err
		}
		if sb.Email != "sandbox@example.com" {
			return fmt.Errorf("sandbox record = %+v", sb)
		}
		if _, err := prod.Get(tx, "nope"); !errors.Is(err, identity.ErrNotFound) {
			return fmt.Errorf("Get(nope) = %v, want ErrNotFound", err)
		}
		if _, err := prod.Get(tx, "bad\x00id"); !errors.Is(err, identity.ErrNotFound) {
			return fmt.Errorf("Get(NUL id) = %v, want ErrNotFound", err)
		}
		var ids []string
		if err := prod.Scan(tx, func(id string, _ record) error {
			ids = append(ids, id)
			return nil
		}); err != nil {
			return err
		}
		if !reflect.DeepEqual(ids, []string{"u0", "u1"}) {
			return fmt.Errorf("Scan ids = %q", ids)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx identity.Tx) error { return prod.Delete(tx, "u1") }); err != nil {
		t.Fatal(err)
	}
	if err := s.View(ctx, func(tx identity.ReadTx) error {
		ok, err := prod.Exists(tx, "u1")
		if err == nil && ok {
			err = errors.New("deleted record exists")
		}
		if ok, _ := sand.Exists(tx, "u1"); !ok {
			err = errors.Join(err, errors.New("deleting the production record removed the sandbox one"))
		}
		return err
	}); err != nil {
		t.Error(err)
	}
}

func testSweepExpired(t *testing.T, s identity.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tickets := kv.Records[string]{Env: string(identity.Production), Kind: "ticket"}
	idx := kv.Unique{Env: string(identity.Production), Name: "ticket-hash"}
	if err := s.Update(ctx, func(tx identity.Tx) error {
		for i := 0; i < 7; i++ {
			id := fmt.Sprintf("t%d", i)
			if err := tickets.Put(tx, id, "data"); err != nil {
				return err
			}
			if err := idx.Claim(tx, "", "hash-"+id, id); err != nil {
				return err
			}
			at := t0.Add(time.Duration(i) * time.Hour)
			if err := kv.ScheduleExpiry(tx, at, tickets.Key(id), []byte("u\x00production\x00ticket-hash\x00\x00hash-"+id)); err != nil {
				return err
			}
		}
		// t6 is renewed: its expiry entry is cancelled.
		return kv.CancelExpiry(tx, t0.Add(6*time.Hour), tickets.Key("t6"))
	}); err != nil {
		t.Fatal(err)
	}
	// Expiry is inclusive: t0..t4 expire at or before t0+4h. A batch of 2
	// makes the sweep take several transactions.
	n, err := kv.SweepExpired(ctx, identity.KVStoreOf(kv.Inside(), s), t0.Add(4*time.Hour), 2)
	if err != nil || n != 5 {
		t.Fatalf("SweepExpired = %d, %v; want 5", n, err)
	}
	err = s.View(ctx, func(tx identity.ReadTx) error {
		for i := 0; i < 7; i++ {
			id := fmt.Sprintf("t%d", i)
			ok, err := tickets.Exists(tx, id)
			if err != nil {
				return err
			}
			_, lerr := idx.Lookup(tx, "", "hash-"+id)
			if want := i >= 5; ok != want || (lerr == nil) != want {
				return fmt.Errorf("%s exists=%v index err=%v, want exists=%v", id, ok, lerr, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if n, err := kv.SweepExpired(ctx, identity.KVStoreOf(kv.Inside(), s), t0.Add(4*time.Hour), 2); err != nil || n != 0 {
		t.Errorf("second sweep = %d, %v; want 0", n, err)
	}
	if n, err := kv.SweepExpired(ctx, identity.KVStoreOf(kv.Inside(), s), t0.Add(100*time.Hour), 0); err != nil || n != 1 {
		t.Errorf("late sweep = %d, %v; want 1 (t5; t6 was cancelled)", n, err)
	}
	if _, ok := get(t, s, string(tickets.Key("t6"))); !ok {
		t.Error("the sweep removed a record whose expiry was cancelled")
	}
}

func testContextCanceled(t *testing.T, s identity.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	if err := s.View(ctx, func(identity.ReadTx) error { called = true; return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("View with a canceled context = %v", err)
	}
	if err := s.Update(ctx, func(tx identity.Tx) error {
		called = true
		return tx.Put([]byte("k"), []byte("v"))
	}); !errors.Is(err, context.Canceled) {
		t.Errorf("Update with a canceled context = %v", err)
	}
	if called {
		t.Error("fn ran under a canceled context")
	}
	if _, ok := get(t, s, "k"); ok {
		t.Error("a canceled Update wrote")
	}
	if _, err := kv.SweepExpired(ctx, identity.KVStoreOf(kv.Inside(), s), time.Now(), 10); !errors.Is(err, context.Canceled) {
		t.Errorf("SweepExpired with a canceled context = %v", err)
	}
}

func testClose(t *testing.T, s identity.Store) {
	put(t, s, "k", "v")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := context.Background()
	if err := s.View(ctx, func(identity.ReadTx) error { return nil }); err == nil {
		t.Error("View after Close succeeded")
	}
	if err := s.Update(ctx, func(identity.Tx) error { return nil }); err == nil {
		t.Error("Update after Close succeeded")
	}
}
