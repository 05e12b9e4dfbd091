// Package kv is Gatehouse's typed storage layer: records, unique indexes,
// sorted sets with maintained counts, counters, the expiry index, the record
// codec and blob chunking, all over the ordered transactional key-value
// engine that every backend implements.
//
// The layering:
//
//   - The backend contract is public, in package identity (identity.Store,
//     identity.ReadTx, identity.Tx, identity.ScanOptions, identity.ErrStopScan,
//     identity.PrefixEnd), with store/storetest as its conformance suite, so
//     a third party can write a backend.
//   - Everything above it lives here, under internal/, so only Gatehouse's
//     own packages can name it. Code outside the module calls services and
//     never reads or writes keys.
//
// This package cannot import identity (identity uses it), so it declares
// the few things the contract and the typed layer share: ScanOptions,
// ErrStopScan and the sentinel errors ErrNotFound, ErrConflict and
// ErrInvalid (package identity re-exports each of them as the same value or
// type), and its own ReadTx and Tx interfaces, whose method sets equal
// identity's, so every identity.Tx is a kv.Tx.
//
// Gatehouse's packages reach the raw transaction of an identity.Service
// through methods that take an Access (see Inside), which code outside the
// module cannot obtain.
package kv

import (
	"context"
	"errors"
)

// The sentinel errors the typed layer and the backends share; package
// identity exports the same values (identity.ErrNotFound is ErrNotFound).
var (
	// ErrNotFound: the key or record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique value is taken.
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the input is invalid.
	ErrInvalid = errors.New("invalid")
)

// ErrStopScan, returned by a Scan callback, ends the scan early without
// error. identity.ErrStopScan is this value.
var ErrStopScan = errors.New("stop scan")

// ScanOptions select the part of a prefix that Scan visits.
// identity.ScanOptions is this type.
type ScanOptions struct {
	// Reverse visits keys from the greatest to the smallest.
	Reverse bool
	// After, when set, resumes strictly after this key in the scan
	// direction (a cursor). It must start with the prefix.
	After []byte
	// Skip passes over this many keys before the first visited one,
	// without reading their values (offset pagination).
	Skip int
	// Limit visits at most this many keys; zero means no limit.
	Limit int
	// KeysOnly lets the backend pass nil values to fn.
	KeysOnly bool
}

// ReadTx is a consistent read view of the store; every identity.ReadTx is
// one (see identity.ReadTx for the contract).
type ReadTx interface {
	// Get returns the value stored at key, or an error wrapping ErrNotFound.
	Get(key []byte) ([]byte, error)
	// Scan calls fn for each key that starts with prefix, as opts select.
	Scan(prefix []byte, opts ScanOptions, fn func(key, value []byte) error) error
}

// Tx is a read-write transaction; every identity.Tx is one.
type Tx interface {
	ReadTx
	// Put stores value at key, replacing any previous value.
	Put(key, value []byte) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(key []byte) error
}

// Prefetcher is implemented by the transactions of backends for which a
// read is a network round trip (store/postgres): Prefetch reads several
// keys in one, and the Gets of those keys that follow cost none.
type Prefetcher interface {
	Prefetch(keys ...[]byte) error
}

// Prefetch reads keys ahead in one round trip when tx's backend can (see
// Prefetcher); on the others it does nothing. It changes no result: the
// Gets that follow return what they would have returned.
func Prefetch(tx ReadTx, keys ...[]byte) error {
	if p, ok := tx.(Prefetcher); ok {
		return p.Prefetch(keys...)
	}
	return nil
}

// Laner is implemented by the transactions of backends shared by several
// processes that serialize conflicting transactions by aborting them
// (store/postgres): Lane queues the transaction behind the other
// transactions, of any process, in the lane of that name, before it reads
// anything.
type Laner interface {
	Lane(name string) bool
}

// Lane asks tx's backend to queue tx behind the transactions of every
// process that are in the lane called name (see Laner); it must be called
// before tx's first read. It reports whether it took effect; on backends
// without lanes it does nothing. A lane only spares work that conflicts
// would waste: it never replaces the transaction's own isolation.
func Lane(tx Tx, name string) bool {
	if l, ok := tx.(Laner); ok {
		return l.Lane(name)
	}
	return false
}

// Fresher is implemented by the transactions of backends for which a read
// is a round trip and, under serializable isolation, a read lock
// (store/postgres): Fresh records keys as absent without reading them.
type Fresher interface {
	Fresh(keys ...[]byte)
}

// Fresh tells tx's backend that keys do not exist, so that it need not
// read them: they name records under ids that no other writer makes (an
// audit event's id, which ends in its instance's discriminator). A Get of
// one answers ErrNotFound without a read, and a Put of one inserts it;
// should the key exist after all, the insert fails the transaction, which
// the backend runs again (store/postgres: a unique violation, retried as
// a serialization failure). Keys tx has already read or written are left
// as they are. On the other backends it does nothing: their reads are
// cheap, and the Gets that follow read.
func Fresh(tx Tx, keys ...[]byte) {
	if f, ok := tx.(Fresher); ok {
		f.Fresh(keys...)
	}
}

// Appender is implemented by the transactions of backends shared by
// several processes whose serializable isolation locks what a transaction
// reads at a coarser grain than a key (store/postgres: an index page, a
// hash bucket): AppendOnly runs the transaction at snapshot isolation
// instead, where two transactions conflict only when both write one key.
type Appender interface {
	AppendOnly() bool
}

// AppendOnly asks tx's backend to run tx at snapshot isolation (see
// Appender); it must be called before tx's first read, and reports
// whether it took effect (on the other backends it does nothing: they
// run one writer at a time). It is for a transaction that only inserts
// keys no other transaction may write (fresh ids) and reads and then
// updates keys that others rarely write (a count shard of its own): a key
// that two concurrent transactions write still aborts one of them, so
// counts stay exact, but a key that tx reads without writing it may
// change before tx commits, unseen. No write of tx may depend on such a
// read in a way that matters (a unique check, a limit).
func AppendOnly(tx Tx) bool {
	if a, ok := tx.(Appender); ok {
		return a.AppendOnly()
	}
	return false
}

// Store runs transactions. identity.Service.KVStore adapts the service's
// backend (an identity.Store) to it.
type Store interface {
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(tx ReadTx) error) error
	// Update runs fn in a read-write transaction; it may run fn more than
	// once, so fn must have no side effects outside tx.
	Update(ctx context.Context, fn func(tx Tx) error) error
}

// Access is the token that Gatehouse's own packages pass to the methods of
// package identity that hand out raw transactions (ReadTxn.KV, Txn.KVTx,
// Service.KVStore). Code outside the module cannot import this package, so
// it cannot name Access or call Inside; the zero Access, which generic type
// inference or reflection could still produce, is refused by Check.
type Access struct{ granted bool }

// Inside returns the Access of Gatehouse's own packages.
func Inside() Access { return Access{granted: true} }

// Check panics unless a came from Inside: a zero Access is a misuse of the
// API by code outside the module, never a result of input.
func (a Access) Check() {
	if !a.granted {
		panic("kv: raw storage access is for Gatehouse's own packages")
	}
}
