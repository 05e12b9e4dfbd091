package identity

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// Store is the transactional, ordered key-value engine that every backend
// implements (store/memory, store/bolt, store/postgres); store/storetest is
// its conformance suite. This contract is public so that a third party can
// write a backend. The identity core keeps its records, unique indexes,
// sorted sets, counters and expiry index on top of it, in Gatehouse's
// internal typed layer (internal/kv), so every backend gets every entity,
// every unique constraint and every invariant by implementing these few
// methods, and code outside Gatehouse never reads or writes keys: it calls
// services.
//
// Transactions are serializable: the function passed to Update sees a
// consistent snapshot and its writes commit all together or not at all. A
// backend may run fn more than once (bbolt batches, PostgreSQL retries a
// serialization failure), so fn must have no side effects outside tx.
//
// A backend whose data lives only as long as the process (store/memory)
// also implements VolatileStore, so that the core does not warn about
// what cannot outlive the process anyway.
//
// A wrapper around a Store (metrics, tracing) should implement
// Unwrap() Store returning the store it wraps: NewService looks through
// it for what a backend offers beyond these methods (store/bolt's audit
// journal, see Service.LogEvent).
type Store interface {
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(tx ReadTx) error) error
	// Update runs fn in a read-write transaction. If fn returns an error
	// nothing is written and the error is returned unchanged.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// Close releases the store. Calls after Close fail.
	Close() error
}

// VolatileStore is an optional interface of a Store. A store whose
// Volatile method reports true keeps nothing past the process (store/memory
// does): NewService on it does not warn about a missing
// Options.KeyEncryptionKey, since nothing sealed with the ephemeral key
// could outlive the key. Persistent backends do not implement it.
type VolatileStore interface {
	Store
	// Volatile reports whether the store's data dies with the process.
	Volatile() bool
}

// ReadTx is a consistent read view of the store.
type ReadTx interface {
	// Get returns the value stored at key, or an error wrapping ErrNotFound.
	// The returned slice is valid until the transaction ends; copy it to keep.
	Get(key []byte) ([]byte, error)
	// Scan calls fn for each key that starts with prefix, in byte order (or
	// reverse order), as ScanOptions select. Returning ErrStopScan from fn
	// ends the scan without error. Keys and values are valid only during
	// the call.
	Scan(prefix []byte, opts ScanOptions, fn func(key, value []byte) error) error
}

// Tx is a read-write transaction.
type Tx interface {
	ReadTx
	// Put stores value at key, replacing any previous value.
	Put(key, value []byte) error
	// Delete removes key. Deleting a missing key is not an error.
	Delete(key []byte) error
}

// ScanOptions select the part of a prefix that Scan visits: Reverse visits
// keys from the greatest to the smallest; After, when set, resumes strictly
// after that key in the scan direction (a cursor; it must start with the
// prefix); Skip passes over that many keys before the first visited one
// without reading their values (offset pagination); Limit visits at most
// that many keys (zero: no limit); KeysOnly lets the backend pass nil
// values to fn.
//
// It is declared in Gatehouse's internal typed layer (internal/kv), which
// shares it with this contract; a backend uses it as identity.ScanOptions.
type ScanOptions = kv.ScanOptions

// ErrStopScan, returned by a Scan callback, ends the scan early without error.
var ErrStopScan = kv.ErrStopScan

// PrefixEnd returns the smallest key greater than every key that starts with
// prefix, or nil when there is none (prefix is all 0xff bytes).
func PrefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
