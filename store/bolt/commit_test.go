package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/bolt"
)

// TestGroupCommit: many concurrent Updates, some failing and one
// panicking, share transactions; each failing one gets its own error and
// leaves nothing, the panic reaches only its own caller, and every other
// write is committed (and still there after the file is reopened).
func TestGroupCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.db")
	st := openT(t, path)
	ctx := context.Background()
	const n = 400
	errBad := errors.New("bad write")
	errs := make([]error, n)
	panicked := make([]any, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panicked[i] = recover() }()
			errs[i] = st.Update(ctx, func(tx identity.Tx) error {
				if err := tx.Put([]byte(fmt.Sprintf("k/%04d", i)), []byte("v")); err != nil {
					return err
				}
				switch {
				case i == 77:
					panic("boom")
				case i%10 == 3:
					return fmt.Errorf("write %d: %w", i, errBad)
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i := range n {
		switch {
		case i == 77:
			if panicked[i] != "boom" {
				t.Errorf("the panic of write 77 reached its caller as %v", panicked[i])
			}
		case panicked[i] != nil:
			t.Errorf("write %d got another caller's panic: %v", i, panicked[i])
		case i%10 == 3 && !errors.Is(errs[i], errBad):
			t.Errorf("write %d: %v, want its own error", i, errs[i])
		case i%10 != 3 && errs[i] != nil:
			t.Errorf("write %d failed with its batch: %v", i, errs[i])
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := bolt.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.View(ctx, func(tx identity.ReadTx) error {
		for i := range n {
			_, err := tx.Get([]byte(fmt.Sprintf("k/%04d", i)))
			want := i != 77 && i%10 != 3
			if got := err == nil; got != want {
				t.Errorf("key %d stored: %v, want %v (%v)", i, got, want, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCommitStats: the counts of one Update are exact (one commit, one
// function, time spent running, no page written: it is in the
// write-ahead log), and of one Checkpoint (at least one data page and the
// meta page written, time spent writing); concurrent Updates held behind a running commit
// share later commits, and each function is counted once.
func TestCommitStats(t *testing.T) {
	st := openT(t, filepath.Join(t.TempDir(), "s.db"))
	ctx := context.Background()
	put := func(k string) func(identity.Tx) error {
		return func(tx identity.Tx) error { return tx.Put([]byte(k), []byte("v")) }
	}
	before := st.CommitStats()
	if err := st.Update(ctx, put("one")); err != nil {
		t.Fatal(err)
	}
	d := st.CommitStats().Sub(before)
	if d.Commits != 1 || d.Updates != 1 || d.RunTime <= 0 || d.Checkpoints != 0 || d.Pages != 0 {
		t.Fatalf("one update: %+v", d)
	}
	before = st.CommitStats()
	if err := st.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if d := st.CommitStats().Sub(before); d.Checkpoints != 1 || d.Pages < 2 || d.WriteTime <= 0 || d.Commits != 0 {
		t.Fatalf("checkpoint: %+v", d)
	}

	const n = 16
	before = st.CommitStats()
	var wg sync.WaitGroup
	release := holdWriter(t, st, &wg)
	for i := range n - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := st.Update(ctx, put(fmt.Sprint("k", i))); err != nil {
				t.Error(err)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond) // lets them queue; a slower start only splits the batch
	release()
	wg.Wait()
	d = st.CommitStats().Sub(before)
	if d.Updates != n || d.Commits < 2 || d.Commits >= n {
		t.Fatalf("%d concurrent updates: %+v, want %d functions in 2 to %d commits", n, d, n, n-1)
	}
}

// holdWriter starts an Update (counted in wg) that writes "first" once
// release is called and returns when it runs: Updates made meanwhile
// queue behind it and commit together after it.
func holdWriter(t *testing.T, st *bolt.Store, wg *sync.WaitGroup) (release func()) {
	t.Helper()
	hold, held := make(chan struct{}), make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := st.Update(context.Background(), func(tx identity.Tx) error {
			close(held)
			<-hold // the others queue meanwhile
			return tx.Put([]byte("first"), []byte("v"))
		}); err != nil {
			t.Error(err)
		}
	}()
	<-held
	return func() { close(hold) }
}
