package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/postgres"
)

// prefetcher and laner are the optional methods of the store's
// transactions that internal/kv's Prefetch and Lane call.
type prefetcher interface{ Prefetch(keys ...[]byte) error }
type laner interface{ Lane(name string) bool }

// TestPrefetch guards Prefetch: the keys it reads (present, absent,
// repeated, already written by the transaction) cost one round trip
// together, the Gets that follow cost none and return what a Get would
// (own writes included), in read-write and read-only transactions.
func TestPrefetch(t *testing.T) {
	s := openFresh(t)
	defer s.Close()
	ctx := context.Background()
	if err := s.Update(ctx, func(tx identity.Tx) error {
		for _, k := range []string{"a", "b", "empty"} {
			v := []byte("v-" + k)
			if k == "empty" {
				v = []byte{}
			}
			if err := tx.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "v-a", "b": "v-b", "empty": "", "own": "v-own"}
	check := func(tx identity.ReadTx, writable bool) error {
		if writable {
			if err := tx.(identity.Tx).Put([]byte("own"), []byte("v-own")); err != nil {
				return err
			}
		}
		before := s.Stats().RoundTrips
		p, ok := tx.(prefetcher)
		if !ok {
			return errors.New("the transaction has no Prefetch")
		}
		if err := p.Prefetch([]byte("a"), []byte("b"), []byte("a"), []byte("missing"), []byte("empty"), []byte("own")); err != nil {
			return err
		}
		if n := s.Stats().RoundTrips - before; n != 1 {
			return fmt.Errorf("Prefetch of 4 unseen keys took %d round trips, want 1", n)
		}
		for _, k := range []string{"a", "b", "missing", "empty", "own"} {
			v, err := tx.Get([]byte(k))
			w, present := want[k]
			if !writable && k == "own" {
				present = false
			}
			switch {
			case !present && !errors.Is(err, identity.ErrNotFound):
				return fmt.Errorf("Get(%s) = %q, %v; want not found", k, v, err)
			case present && (err != nil || !bytes.Equal(v, []byte(w)) || v == nil):
				return fmt.Errorf("Get(%s) = %q (nil %v), %v; want %q", k, v, v == nil, err, w)
			}
		}
		if n := s.Stats().RoundTrips - before; n != 1 {
			return fmt.Errorf("Gets after Prefetch took %d more round trips, want 0", n-1)
		}
		return nil
	}
	if err := s.View(ctx, func(tx identity.ReadTx) error { return check(tx, false) }); err != nil {
		t.Errorf("View: %v", err)
	}
	if err := s.Update(ctx, func(tx identity.Tx) error { return check(tx, true) }); err != nil {
		t.Errorf("Update: %v", err)
	}
}

// TestLaneQueuesInstances guards Lane across instances: a transaction in
// a lane waits for the lane's holder on another store (another instance)
// to commit before it takes its snapshot, so it sees the holder's write
// and neither is aborted; the lane is free again after a commit and after
// a failed transaction, and another lane's name does not wait.
func TestLaneQueuesInstances(t *testing.T) {
	c := need(t)
	ctx := context.Background()
	schema := freshSchema()
	a, err := postgres.Open(ctx, c.URL("postgres"), postgres.WithSchema(schema), postgres.WithMaxConns(4))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := postgres.Open(ctx, c.URL("postgres"), postgres.WithSchema(schema), postgres.WithMaxConns(4))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	lane := func(tx identity.Tx, name string) error {
		l, ok := tx.(laner)
		if !ok {
			return errors.New("the transaction has no Lane")
		}
		if !l.Lane(name) {
			return fmt.Errorf("Lane(%q) did not take effect", name)
		}
		return nil
	}

	held := make(chan struct{})
	release := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	var errA error
	go func() {
		defer wg.Done()
		first := true
		errA = a.Update(ctx, func(tx identity.Tx) error {
			if err := lane(tx, "log"); err != nil {
				return err
			}
			if _, err := tx.Get([]byte("count")); !errors.Is(err, identity.ErrNotFound) {
				return fmt.Errorf("holder read count: %v", err)
			}
			if first {
				first = false
				close(held)
				<-release
			}
			return tx.Put([]byte("count"), []byte("1"))
		})
	}()
	<-held

	// Another lane does not wait for this one.
	done := make(chan error, 1)
	go func() {
		done <- b.Update(ctx, func(tx identity.Tx) error {
			if err := lane(tx, "other"); err != nil {
				return err
			}
			return tx.Put([]byte("other"), []byte("x"))
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a transaction in another lane waited for the holder")
	}

	// The same lane waits until the holder committed, then sees its write.
	var got []byte
	waited := make(chan error, 1)
	go func() {
		waited <- b.Update(ctx, func(tx identity.Tx) error {
			if err := lane(tx, "log"); err != nil {
				return err
			}
			v, err := tx.Get([]byte("count"))
			if err != nil {
				return fmt.Errorf("second read count: %w", err)
			}
			got = v
			return tx.Put([]byte("count"), []byte("2"))
		})
	}()
	select {
	case err := <-waited:
		t.Fatalf("the second transaction in the lane ran while the first held it (err %v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	wg.Wait()
	if errA != nil {
		t.Fatal(errA)
	}
	if err := <-waited; err != nil {
		t.Fatal(err)
	}
	if string(got) != "1" {
		t.Errorf("the second transaction read count %q, want the holder's 1", got)
	}
	if st := a.Stats().Conflicts + b.Stats().Conflicts; st != 0 {
		t.Errorf("%d serialization retries, want none", st)
	}

	// A failed transaction leaves the lane free.
	boom := errors.New("boom")
	if err := a.Update(ctx, func(tx identity.Tx) error {
		if err := lane(tx, "log"); err != nil {
			return err
		}
		if _, err := tx.Get([]byte("count")); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("failed transaction: %v", err)
	}
	free := make(chan error, 1)
	go func() {
		free <- b.Update(ctx, func(tx identity.Tx) error {
			if err := lane(tx, "log"); err != nil {
				return err
			}
			_, err := tx.Get([]byte("count")) // the lock is taken with the first read
			return err
		})
	}()
	select {
	case err := <-free:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the lane stayed held after a failed transaction")
	}

	// Lane works only before the transaction's first round trip.
	if err := a.Update(ctx, func(tx identity.Tx) error {
		if _, err := tx.Get([]byte("count")); err != nil {
			return err
		}
		if tx.(laner).Lane("log") {
			return errors.New("Lane after a read took effect")
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	if err := a.View(ctx, func(tx identity.ReadTx) error {
		if l, ok := tx.(laner); ok && l.Lane("log") {
			return errors.New("Lane in a read-only transaction took effect")
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}

// TestLaneFirstRoundTrip guards the lane's pipeline: the lock, BEGIN, the
// pending writes and the first reads travel in one round trip, and what
// they read is what the same reads return outside a lane: values and
// absent keys (Prefetch, Get), a scan with a limit and an offset (integer
// arguments), the transaction's own pending write.
func TestLaneFirstRoundTrip(t *testing.T) {
	c := need(t)
	ctx := context.Background()
	s, err := postgres.Open(ctx, c.URL("postgres"), postgres.WithSchema(freshSchema()), postgres.WithMaxConns(2))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Update(ctx, func(tx identity.Tx) error {
		for _, k := range []string{"p/a", "p/b", "p/c", "p/d"} {
			if err := tx.Put([]byte(k), []byte("v-"+k)); err != nil {
				return err
			}
		}
		return tx.Put([]byte("bin"), []byte{0, 1, 0xff, '\\', 'x'})
	}); err != nil {
		t.Fatal(err)
	}
	for _, first := range []string{"prefetch", "scan"} {
		t.Run(first, func(t *testing.T) {
			before := s.Stats().RoundTrips
			err := s.Update(ctx, func(tx identity.Tx) error {
				if !tx.(laner).Lane("first-" + first) {
					return errors.New("Lane did not take effect")
				}
				if err := tx.Put([]byte("own"), []byte("mine")); err != nil {
					return err
				}
				if first == "scan" {
					var keys []string
					err := tx.Scan([]byte("p/"), identity.ScanOptions{Skip: 1, Limit: 2}, func(k, v []byte) error {
						if string(v) != "v-"+string(k) {
							return fmt.Errorf("scan %s = %q", k, v)
						}
						keys = append(keys, string(k))
						return nil
					})
					if err != nil {
						return err
					}
					if strings.Join(keys, ",") != "p/b,p/c" {
						return fmt.Errorf("scan skip 1 limit 2 = %v, want p/b,p/c", keys)
					}
				} else if err := tx.(interface{ Prefetch(...[]byte) error }).Prefetch([]byte("bin"), []byte("p/a"), []byte("absent")); err != nil {
					return err
				}
				if n := s.Stats().RoundTrips - before; n != 1 {
					return fmt.Errorf("lane, BEGIN, a write and the first read took %d round trips, want 1", n)
				}
				if v, err := tx.Get([]byte("bin")); err != nil || string(v) != "\x00\x01\xff\\x" {
					return fmt.Errorf("Get(bin) = %q, %v", v, err)
				}
				if v, err := tx.Get([]byte("own")); err != nil || string(v) != "mine" {
					return fmt.Errorf("Get(own) = %q, %v", v, err)
				}
				if _, err := tx.Get([]byte("absent")); !errors.Is(err, identity.ErrNotFound) {
					return fmt.Errorf("Get(absent) = %v, want not found", err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			if err := s.View(ctx, func(tx identity.ReadTx) error {
				var err error
				got, err = tx.Get([]byte("own"))
				return err
			}); err != nil || string(got) != "mine" {
				t.Errorf("after commit own = %q, %v", got, err)
			}
		})
	}
}
