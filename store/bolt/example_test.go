package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/bolt"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "gatehouse-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "gatehouse.db")

	s, err := bolt.Open(ctx, path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	_ = s.Update(ctx, func(tx identity.Tx) error { return tx.Put([]byte("greeting"), []byte("hello")) })

	// A second Open of the same file fails once the lock timeout passes.
	_, err = bolt.Open(ctx, path, bolt.WithTimeout(50*time.Millisecond))
	fmt.Println(errors.Is(err, identity.ErrStoreLocked))
	// Output: true
}

// ExampleWithFillPercent opens a file for a bulk load whose keys arrive in
// order (an import of users in creation order), filling split pages
// completely, and a small, write-heavy file that skips writing the free
// list at each commit.
func ExampleWithFillPercent() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "gatehouse-example")
	defer os.RemoveAll(dir)

	bulk, err := bolt.Open(ctx, filepath.Join(dir, "bulk.db"), bolt.WithFillPercent(1.0))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer bulk.Close()
	small, err := bolt.Open(ctx, filepath.Join(dir, "small.db"), bolt.WithoutFreelistSync())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer small.Close()
	fmt.Println(bolt.DefaultFillPercent)
	// Output: 0.9
}

// ExampleStore_CommitStats measures an interval of writes: how many
// Update calls each durable commit carried (an append to the write-ahead
// log), and what writing them into the file cost (Checkpoint).
func ExampleStore_CommitStats() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "gatehouse-example")
	defer os.RemoveAll(dir)
	s, err := bolt.Open(ctx, filepath.Join(dir, "gatehouse.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	before := s.CommitStats()
	for _, k := range []string{"a", "b", "c"} {
		_ = s.Update(ctx, func(tx identity.Tx) error { return tx.Put([]byte(k), []byte("v")) })
	}
	if err := s.Checkpoint(ctx); err != nil {
		fmt.Println(err)
		return
	}
	d := s.CommitStats().Sub(before)
	fmt.Printf("%d updates in %d commits, %d checkpoint; pages and sync time counted: %t\n", d.Updates, d.Commits,
		d.Checkpoints, d.Pages >= 2 && d.WriteTime > 0)
	// Output: 3 updates in 3 commits, 1 checkpoint; pages and sync time counted: true
}

// ExampleWithoutAuditJournal shows the audit journal's files: while a
// service logs events on the store they sit beside its file, and a clean
// Close writes them into the store and removes the files. A store opened
// WithoutAuditJournal writes each group of events in a transaction of its
// own and has no such files.
func ExampleWithoutAuditJournal() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "gatehouse-example")
	defer os.RemoveAll(dir)
	journalFiles := func() int {
		names, _ := filepath.Glob(filepath.Join(dir, "*.db.journal-*"))
		return len(names)
	}
	for _, opts := range [][]bolt.Option{nil, {bolt.WithoutAuditJournal()}} {
		s, err := bolt.Open(ctx, filepath.Join(dir, fmt.Sprintf("g%d.db", len(opts))), opts...)
		if err != nil {
			fmt.Println(err)
			return
		}
		svc, err := identity.NewService(identity.Options{Store: s, KeyEncryptionKey: make([]byte, 32)})
		if err != nil {
			fmt.Println(err)
			return
		}
		if err := svc.LogEvent(ctx, &identity.Event{Code: identity.EventTokenIssued}); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("journal files while open:", journalFiles())
		if err := s.Close(); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("after Close:", journalFiles())
	}
	// Output:
	// journal files while open: 1
	// after Close: 0
	// journal files while open: 0
	// after Close: 0
}

// ExampleLogFiles shows the write-ahead log's files: while a store is
// open its writes are durable in them, a clean Close writes everything
// into the file and removes them, and a store opened
// WithoutWriteAheadLog commits into the file directly and has none.
func ExampleLogFiles() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "gatehouse-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "gatehouse.db")
	for _, opts := range [][]bolt.Option{nil, {bolt.WithoutWriteAheadLog()}} {
		s, err := bolt.Open(ctx, path, opts...)
		if err != nil {
			fmt.Println(err)
			return
		}
		if err := s.Update(ctx, func(tx identity.Tx) error { return tx.Put([]byte("k"), []byte("v")) }); err != nil {
			fmt.Println(err)
			return
		}
		files, _ := bolt.LogFiles(path)
		fmt.Println("log files while open:", len(files))
		if err := s.Close(); err != nil {
			fmt.Println(err)
			return
		}
		files, _ = bolt.LogFiles(path)
		fmt.Println("after Close:", len(files))
	}
	// Output:
	// log files while open: 1
	// after Close: 0
	// log files while open: 0
	// after Close: 0
}
