// Package memory is an in-memory identity.Store for tests, examples and
// short-lived processes. It keeps keys in a copy-on-write B-tree: readers see
// an immutable snapshot without taking locks, and writers are serialized and
// publish a new snapshot only when their transaction succeeds.
package memory

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/google/btree"

	"github.com/gatehouse-id/gatehouse/identity"
)

// ErrClosed is returned by View and Update after Close.
var ErrClosed = errors.New("memory store is closed")

// degree is the B-tree node degree: wide nodes keep copy-on-write cheap
// (few nodes per path) and iteration cache friendly.
const degree = 32

type item struct {
	key, value []byte
}

func less(a, b item) bool { return bytes.Compare(a.key, b.key) < 0 }

// Store is an in-memory identity.Store. The zero value is not usable; call New.
// It is safe for concurrent use.
type Store struct {
	mu     sync.Mutex // serializes writers
	snap   atomic.Pointer[btree.BTreeG[item]]
	closed atomic.Bool
}

var _ identity.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	s := &Store{}
	s.snap.Store(btree.NewG(degree, less))
	return s
}

// View runs fn on the latest committed snapshot. Concurrent writers never
// change what fn sees.
func (s *Store) View(ctx context.Context, fn func(tx identity.ReadTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return ErrClosed
	}
	return fn(&readTx{tree: s.snap.Load()})
}

// Update runs fn on a private copy of the latest snapshot and publishes the
// copy only if fn returns nil. Writers run one at a time.
func (s *Store) Update(ctx context.Context, fn func(tx identity.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	tx := &writeTx{readTx{tree: s.snap.Load().Clone()}}
	if err := fn(tx); err != nil {
		return err
	}
	s.snap.Store(tx.tree)
	return nil
}

// Volatile reports true: the data lives only as long as the process
// (identity.VolatileStore), so the identity core does not warn about an
// ephemeral key-encryption key on it.
func (s *Store) Volatile() bool { return true }

// Close releases the data; later calls to View and Update fail with ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Swap(true) {
		return ErrClosed
	}
	s.snap.Store(btree.NewG(degree, less))
	return nil
}

type readTx struct {
	tree *btree.BTreeG[item]
}

func (tx *readTx) Get(key []byte) ([]byte, error) {
	it, ok := tx.tree.Get(item{key: key})
	if !ok {
		// The bare sentinel: misses are common (every unique claim and set
		// insert probes first) and callers add their own context.
		return nil, identity.ErrNotFound
	}
	return it.value[:len(it.value):len(it.value)], nil
}

func (tx *readTx) Scan(prefix []byte, opts identity.ScanOptions, fn func(key, value []byte) error) error {
	return scan(tx.tree, prefix, opts, fn)
}

// scan walks tree; it is shared by read and write transactions (a write
// transaction scans a clone so that fn may write).
func scan(tree *btree.BTreeG[item], prefix []byte, opts identity.ScanOptions, fn func(key, value []byte) error) error {
	if opts.After != nil && !bytes.HasPrefix(opts.After, prefix) {
		return identity.Invalid("after", "cursor must start with the scanned prefix")
	}
	skip, limit, seen := opts.Skip, opts.Limit, 0
	var err error
	visit := func(it item) bool {
		if !bytes.HasPrefix(it.key, prefix) {
			return false
		}
		if opts.After != nil && bytes.Equal(it.key, opts.After) {
			return true
		}
		if skip > 0 {
			skip--
			return true
		}
		v := it.value[:len(it.value):len(it.value)]
		if opts.KeysOnly {
			v = nil
		}
		if err = fn(it.key[:len(it.key):len(it.key)], v); err != nil {
			return false
		}
		seen++
		return limit <= 0 || seen < limit
	}
	switch {
	case !opts.Reverse && opts.After != nil:
		tree.AscendGreaterOrEqual(item{key: opts.After}, visit)
	case !opts.Reverse:
		tree.AscendGreaterOrEqual(item{key: prefix}, visit)
	case opts.After != nil:
		tree.DescendLessOrEqual(item{key: opts.After}, visit)
	default:
		if end := identity.PrefixEnd(prefix); end != nil {
			tree.DescendLessOrEqual(item{key: end}, func(it item) bool {
				if bytes.Equal(it.key, end) {
					return true
				}
				return visit(it)
			})
		} else {
			tree.Descend(visit)
		}
	}
	if errors.Is(err, identity.ErrStopScan) {
		return nil
	}
	return err
}

type writeTx struct {
	readTx
}

func (tx *writeTx) Scan(prefix []byte, opts identity.ScanOptions, fn func(key, value []byte) error) error {
	// Scan a lazy clone so that fn may Put or Delete while the scan runs;
	// it sees the keys as they were when the scan started.
	return scan(tx.tree.Clone(), prefix, opts, fn)
}

func (tx *writeTx) Put(key, value []byte) error {
	if len(key) == 0 {
		return identity.Invalid("key", "is required")
	}
	kv := make([]byte, len(key)+len(value))
	copy(kv, key)
	copy(kv[len(key):], value)
	tx.tree.ReplaceOrInsert(item{key: kv[:len(key):len(key)], value: kv[len(key):]})
	return nil
}

func (tx *writeTx) Delete(key []byte) error {
	tx.tree.Delete(item{key: key})
	return nil
}
