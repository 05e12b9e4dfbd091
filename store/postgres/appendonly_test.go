package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/postgres"
)

// appender is the optional method of the store's transactions that
// internal/kv's AppendOnly calls.
type appender interface{ AppendOnly() bool }

// concurrently runs fn(0) and fn(1) in Updates of a and b whose first
// attempts both pass their reads before either goes on to write and
// commit (a retry runs alone), and returns the Updates' errors.
func concurrently(ctx context.Context, a, b *postgres.Store, appendOnly bool, fn func(i int, tx identity.Tx) error) [2]error {
	var errs [2]error
	var read sync.WaitGroup
	read.Add(2)
	var wg sync.WaitGroup
	for i, s := range []*postgres.Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			errs[i] = s.Update(ctx, func(tx identity.Tx) error {
				if appendOnly && !tx.(appender).AppendOnly() {
					return errors.New("AppendOnly did not take effect")
				}
				err := fn(i, tx)
				if first {
					first = false
					read.Done()
					read.Wait()
				}
				return err
			})
		}()
	}
	wg.Wait()
	return errs
}

// TestAppendOnly guards the snapshot isolation of append-only
// transactions (the audit log's batches): two of them that insert
// neighbouring fresh keys and update a key of their own both commit,
// however their reads and writes interleave, without a retry; two that
// read and update the same key (present, or absent and inserted) do
// conflict, and the retry leaves the exact sum; and the price, which the
// callers must not pay: a write that depends on a key the transaction
// only read (two transactions each reading the key the other writes)
// commits unseen, where SERIALIZABLE aborts one. AppendOnly works only
// before the first round trip of a read-write transaction.
func TestAppendOnly(t *testing.T) {
	c := need(t)
	ctx := context.Background()
	schema := freshSchema()
	open := func() *postgres.Store {
		s, err := postgres.Open(ctx, c.URL("postgres"), postgres.WithSchema(schema), postgres.WithMaxConns(4))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	a, b := open(), open()
	conflicts := func() int64 { return a.Stats().Conflicts + b.Stats().Conflicts }

	// Neighbouring appends, each with its own count.
	for round := range 3 {
		before := conflicts()
		errs := concurrently(ctx, a, b, true, func(i int, tx identity.Tx) error {
			own := []byte(fmt.Sprintf("c/count-%d", i))
			n := 0
			if v, err := tx.Get(own); err == nil {
				n, _ = strconv.Atoi(string(v))
			} else if !errors.Is(err, identity.ErrNotFound) {
				return err
			}
			for j := range 20 {
				if err := tx.Put([]byte(fmt.Sprintf("e/%03d-%02d-%d", round, j, i)), []byte("event")); err != nil {
					return err
				}
			}
			return tx.Put(own, []byte(strconv.Itoa(n+20)))
		})
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("round %d: %v, %v", round, errs[0], errs[1])
		}
		if n := conflicts() - before; n != 0 {
			t.Errorf("round %d: %d retries of append-only writers that share no key, want none", round, n)
		}
	}
	if err := a.View(ctx, func(tx identity.ReadTx) error {
		events := 0
		if err := tx.Scan([]byte("e/"), identity.ScanOptions{KeysOnly: true}, func(_, _ []byte) error {
			events++
			return nil
		}); err != nil {
			return err
		}
		for i := range 2 {
			v, err := tx.Get([]byte(fmt.Sprintf("c/count-%d", i)))
			if err != nil || string(v) != "60" {
				return fmt.Errorf("count %d = %q, %v; want 60", i, v, err)
			}
		}
		if events != 120 {
			return fmt.Errorf("%d events, want 120", events)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}

	// One shared key, present and absent: one writer retries, the sum is exact.
	if err := a.Update(ctx, func(tx identity.Tx) error { return tx.Put([]byte("c/shared"), []byte("0")) }); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"c/shared", "c/absent"} {
		before := conflicts()
		errs := concurrently(ctx, a, b, true, func(_ int, tx identity.Tx) error {
			n := 0
			if v, err := tx.Get([]byte(key)); err == nil {
				n, _ = strconv.Atoi(string(v))
			} else if !errors.Is(err, identity.ErrNotFound) {
				return err
			}
			return tx.Put([]byte(key), []byte(strconv.Itoa(n+1)))
		})
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("%s: %v, %v", key, errs[0], errs[1])
		}
		if conflicts() == before {
			t.Errorf("%s: two writers of one key committed without a retry", key)
		}
		if err := a.View(ctx, func(tx identity.ReadTx) error {
			v, err := tx.Get([]byte(key))
			if err != nil || string(v) != "2" {
				return fmt.Errorf("%s = %q, %v after two increments, want 2", key, v, err)
			}
			return nil
		}); err != nil {
			t.Error(err)
		}
	}

	// Write skew: each reads the key the other inserts.
	skew := func(appendOnly bool, prefix string) (committed int) {
		errs := concurrently(ctx, a, b, appendOnly, func(i int, tx identity.Tx) error {
			if _, err := tx.Get([]byte(fmt.Sprintf("%s-%d", prefix, 1-i))); !errors.Is(err, identity.ErrNotFound) {
				return fmt.Errorf("%w: the other's key is there: a retry", errSkewLost)
			}
			return tx.Put([]byte(fmt.Sprintf("%s-%d", prefix, i)), []byte("x"))
		})
		for _, err := range errs {
			switch {
			case err == nil:
				committed++
			case !errors.Is(err, errSkewLost):
				t.Fatalf("write skew (append-only %v): %v", appendOnly, err)
			}
		}
		return committed
	}
	if n := skew(false, "w/serializable"); n != 1 {
		t.Errorf("SERIALIZABLE: %d of two write-skewed transactions committed, want 1", n)
	}
	if n := skew(true, "w/append"); n != 2 {
		t.Errorf("append-only: %d of two write-skewed transactions committed, want 2 (snapshot isolation)", n)
	}

	// Only before the first round trip, only in read-write transactions.
	if err := a.Update(ctx, func(tx identity.Tx) error {
		if _, err := tx.Get([]byte("c/shared")); err != nil {
			return err
		}
		if tx.(appender).AppendOnly() {
			return errors.New("AppendOnly after a read took effect")
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	if err := a.View(ctx, func(tx identity.ReadTx) error {
		if ap, ok := tx.(appender); ok && ap.AppendOnly() {
			return errors.New("AppendOnly in a read-only transaction took effect")
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}

// errSkewLost is how a write-skewed transaction that saw the other's key
// (on its retry) gives up.
var errSkewLost = errors.New("skew lost")

// TestFresh guards Fresh: a key declared fresh is absent to Get without a
// round trip and is inserted by Put; one that exists after all fails the
// attempt with a unique violation, which Update runs again (here without
// the declaration, as a caller that draws a new id would); keys the
// transaction has read or written keep their value.
func TestFresh(t *testing.T) {
	s := openFresh(t)
	defer s.Close()
	ctx := context.Background()
	type fresher interface{ Fresh(keys ...[]byte) }
	if err := s.Update(ctx, func(tx identity.Tx) error { return tx.Put([]byte("old"), []byte("1")) }); err != nil {
		t.Fatal(err)
	}
	trips := s.Stats().RoundTrips
	if err := s.Update(ctx, func(tx identity.Tx) error {
		tx.(fresher).Fresh([]byte("new"))
		if _, err := tx.Get([]byte("new")); !errors.Is(err, identity.ErrNotFound) {
			return fmt.Errorf("Get of a fresh key: %v, want not found", err)
		}
		if err := tx.Put([]byte("mine"), []byte("m")); err != nil {
			return err
		}
		tx.(fresher).Fresh([]byte("mine"))
		if v, err := tx.Get([]byte("mine")); err != nil || string(v) != "m" {
			return fmt.Errorf("Get of a written key declared fresh: %q, %v", v, err)
		}
		return tx.Put([]byte("new"), []byte("n"))
	}); err != nil {
		t.Fatal(err)
	}
	if n := s.Stats().RoundTrips - trips; n != 1 {
		t.Errorf("%d round trips, want 1 (the writes and the COMMIT)", n)
	}
	conflicts := s.Stats().Conflicts
	attempts := 0
	if err := s.Update(ctx, func(tx identity.Tx) error {
		if attempts++; attempts == 1 {
			tx.(fresher).Fresh([]byte("old"))
		}
		if _, err := tx.Get([]byte("old")); err == nil {
			return tx.Put([]byte("old"), []byte("2"))
		} else if !errors.Is(err, identity.ErrNotFound) {
			return err
		}
		return tx.Put([]byte("old"), []byte("fresh"))
	}); err != nil {
		t.Fatal(err)
	}
	if attempts != 2 || s.Stats().Conflicts-conflicts != 1 {
		t.Errorf("%d attempts, %d retries; want the insert of an existing key retried once", attempts, s.Stats().Conflicts-conflicts)
	}
	if err := s.View(ctx, func(tx identity.ReadTx) error {
		for k, want := range map[string]string{"old": "2", "new": "n", "mine": "m"} {
			if v, err := tx.Get([]byte(k)); err != nil || string(v) != want {
				return fmt.Errorf("%s = %q, %v; want %q", k, v, err, want)
			}
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}
