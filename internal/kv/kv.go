package kv

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Key layout. Every key starts with a one-byte namespace and a separator,
// then 0x00-separated parts; the first part after the namespace is the
// environment's part (EnvPart: "sandbox", "production", or "-" for
// account-wide records).
//
//	r/env/kind/id            a record (JSON, or a Records' Codec)
//	u/env/index/scope/value  a unique index entry; value is the owner's id
//	                         (compact for a UUID, see ids.go)
//	s/env/set...\x01member  a sorted-set member (value may carry data)
//	c/env/set...\x01h       one shard of the maintained count of a sorted set
//	c/env/set...             the count kept before the shards (still added in)
//	n/env/name               a named counter (the event sequence)
//	x/expiry-ns/key          an expiry entry; value lists the keys to delete
//
// Every kind, index, set and counter name, whichever package uses it, is
// listed once with its owner in identity/kinds.go; a test holds the code to
// that list, so two packages never share a name.
//
// Backends keep their own metadata (the schema version) outside this
// layout.
//
// Parts must not contain 0x00; the helpers below check it.
const (
	// NSRecord is the namespace of records.
	NSRecord = 'r'
	// NSUnique is the namespace of unique index entries.
	NSUnique = 'u'
	// NSSet is the namespace of sorted-set members.
	NSSet = 's'
	// NSCount is the namespace of the sets' maintained counts.
	NSCount = 'c'
	// NSExpiry is the namespace of the expiry index.
	NSExpiry = 'x'
	// NSCounter is the namespace of named counters.
	NSCounter = 'n'
	// Sep separates the parts of a key.
	Sep = 0x00
	// MemberSep ends a set's name; members follow.
	MemberSep = 0x01
	// GlobalEnv is the environment part of account-wide keys.
	GlobalEnv = "-"
)

// EnvPart is the one convention for the environment in a key: the
// environment's name ("sandbox", "production"), or GlobalEnv ("-") for the
// account-wide space (env ""). Every key this package builds starts with it.
func EnvPart(env string) string {
	if env == "" {
		return GlobalEnv
	}
	return env
}

// Key builds a key in namespace ns from parts, separated by 0x00. The types
// of this package build keys for you.
func Key(ns byte, parts ...string) []byte {
	n := 2
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, ns, Sep)
	for i, p := range parts {
		if i > 0 {
			b = append(b, Sep)
		}
		b = append(b, p...)
	}
	return b
}

// PartError refuses a key part that contains a separator byte. It matches
// ErrInvalid with errors.Is.
type PartError struct{}

// Error says what is wrong.
func (PartError) Error() string { return "invalid: key must not contain control bytes 0x00 or 0x01" }

// Is makes errors.Is(err, ErrInvalid) true.
func (PartError) Is(target error) bool { return target == ErrInvalid }

// CheckParts returns a PartError when a part contains 0x00 or 0x01, which
// would let it pose as another key.
func CheckParts(parts ...string) error {
	for _, p := range parts {
		if strings.IndexByte(p, Sep) >= 0 || strings.IndexByte(p, MemberSep) >= 0 {
			return PartError{}
		}
	}
	return nil
}

// Records is a typed view of one kind of record in one environment (or the
// account-wide space when Env is empty). Values are stored as the JSON
// that encoding/json writes (see codec.go for how they are read back).
type Records[T any] struct {
	// Env is the environment's name ("sandbox", "production"), or "" for
	// the account-wide space.
	Env  string
	Kind string
	// V2 decodes with the encoding/json/v2 defaults (see codec.go): only
	// for record types whose every field a test round-trips against
	// encoding/json.
	V2 bool
	// Codec, when set, encodes and decodes the records instead of JSON
	// (a compact encoding for the largest kinds, see codec.go); its
	// Decode must also read the JSON that earlier builds stored.
	Codec Codec[T]
}

func (r Records[T]) env() string { return EnvPart(r.Env) }

// Key returns the store key of the record with id.
func (r Records[T]) Key(id string) []byte { return Key(NSRecord, r.env(), r.Kind, id) }

// Get reads the record with id; a missing one is an error wrapping ErrNotFound.
func (r Records[T]) Get(tx ReadTx, id string) (T, error) {
	var v T
	if err := CheckParts(id); err != nil {
		return v, fmt.Errorf("%s %w", r.Kind, ErrNotFound)
	}
	raw, err := tx.Get(r.Key(id))
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return v, fmt.Errorf("%s %w", r.Kind, ErrNotFound)
		}
		return v, err
	}
	if err := r.decode(raw, &v); err != nil {
		return v, fmt.Errorf("decode %s %s: %w", r.Kind, id, err)
	}
	return v, nil
}

// Exists reports whether a record with id exists.
func (r Records[T]) Exists(tx ReadTx, id string) (bool, error) {
	_, err := tx.Get(r.Key(id))
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Put writes the record with id, replacing any previous value.
func (r Records[T]) Put(tx Tx, id string, v T) error {
	if err := CheckParts(id); err != nil {
		return err
	}
	var raw []byte
	var err error
	if r.Codec != nil {
		raw, err = r.Codec.Encode(v)
	} else {
		raw, err = Encode(v)
	}
	if err != nil {
		return fmt.Errorf("encode %s: %w", r.Kind, err)
	}
	return tx.Put(r.Key(id), raw)
}

// Delete removes the record with id (silently if absent).
func (r Records[T]) Delete(tx Tx, id string) error { return tx.Delete(r.Key(id)) }

// Scan visits every record of the kind in key (id) order. Return ErrStopScan
// to stop. Meant for sweeps and migrations; lists use sorted sets.
func (r Records[T]) Scan(tx ReadTx, fn func(id string, v T) error) error {
	prefix := append(Key(NSRecord, r.env(), r.Kind), Sep)
	return tx.Scan(prefix, ScanOptions{}, func(k, raw []byte) error {
		var v T
		if err := r.decode(raw, &v); err != nil {
			return fmt.Errorf("decode %s: %w", r.Kind, err)
		}
		return fn(string(k[len(prefix):]), v)
	})
}

// Unique is a unique index: value -> owner id, within a scope (for example
// emails within an organization).
type Unique struct {
	// Env is the environment's name, or "" for the account-wide space.
	Env  string
	Name string
}

func (u Unique) key(scope, value string) []byte {
	return Key(NSUnique, EnvPart(u.Env), u.Name, scope, value)
}

// Claim makes value in scope belong to id. It fails with an error wrapping
// ErrConflict when another id holds it; claiming one's own value again is a
// no-op.
func (u Unique) Claim(tx Tx, scope, value, id string) error {
	if err := CheckParts(scope, value, id); err != nil {
		return err
	}
	k := u.key(scope, value)
	old, err := tx.Get(k)
	switch {
	case err == nil:
		if DecodeID(old) == id {
			return nil
		}
		return fmt.Errorf("%s %q is taken: %w", u.Name, value, ErrConflict)
	case !errors.Is(err, ErrNotFound):
		return err
	}
	return tx.Put(k, AppendID(nil, id))
}

// Lookup returns the id that holds value in scope, or ErrNotFound.
func (u Unique) Lookup(tx ReadTx, scope, value string) (string, error) {
	if CheckParts(scope, value) != nil {
		return "", fmt.Errorf("%s %w", u.Name, ErrNotFound)
	}
	v, err := tx.Get(u.key(scope, value))
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return "", fmt.Errorf("%s %w", u.Name, ErrNotFound)
		}
		return "", err
	}
	return DecodeID(v), nil
}

// LookupKey returns the key that Lookup of value in scope reads, for
// Prefetch; nil when Lookup reads nothing (a part that no key may hold).
func (u Unique) LookupKey(scope, value string) []byte {
	if CheckParts(scope, value) != nil {
		return nil
	}
	return u.key(scope, value)
}

// Scan visits, in value order, the entries of scope whose value starts
// with prefix and comes strictly after the value after (a cursor; "" starts
// at the first), at most limit of them (zero: no limit), calling fn with
// each value and its owner's id. Its cost is that of the entries visited,
// whatever the index's size. Return ErrStopScan to stop.
func (u Unique) Scan(tx ReadTx, scope, prefix, after string, limit int, fn func(value, id string) error) error {
	if CheckParts(scope) != nil || strings.IndexByte(prefix, Sep) >= 0 || strings.IndexByte(after, Sep) >= 0 {
		return nil
	}
	base := append(Key(NSUnique, EnvPart(u.Env), u.Name, scope), Sep)
	p := append(append([]byte(nil), base...), prefix...)
	opts := ScanOptions{Limit: limit}
	if after != "" && strings.HasPrefix(after, prefix) {
		opts.After = append(append([]byte(nil), base...), after...)
	}
	err := tx.Scan(p, opts, func(k, v []byte) error {
		return fn(string(k[len(base):]), DecodeID(v))
	})
	if errors.Is(err, ErrStopScan) {
		return nil
	}
	return err
}

// Release frees value in scope if id holds it.
func (u Unique) Release(tx Tx, scope, value, id string) error {
	k := u.key(scope, value)
	old, err := tx.Get(k)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if DecodeID(old) != id {
		return nil
	}
	return tx.Delete(k)
}

// Set is a sorted set of members (ordered by their bytes) with a maintained
// count, used for lists ("users of an organization, newest first") and
// non-unique indexes ("profiles with role R"). Members of time-ordered ids
// (UUID v7) list in creation order.
type Set struct {
	// Env is the environment's name, or "" for the account-wide space.
	Env string
	// Parts name the set, e.g. {"org-users", orgID}.
	Parts []string
	// Uncounted sets keep no count: Add and Remove write the member
	// alone, and Count refuses them. For sets that are only scanned and
	// probed (one user's grants), so that an Add, on the path of every
	// token grant, does not write a page of the count space besides the
	// member's. Count keys that a store kept before are ignored, and
	// removed by Clear.
	Uncounted bool
}

// errUncounted answers Count on an Uncounted set.
var errUncounted = errors.New("kv: the set keeps no count")

// key builds the set's key in namespace ns, with room for extra more
// bytes, in one allocation.
func (s Set) key(ns byte, extra int) []byte {
	env := EnvPart(s.Env)
	n := 2 + len(env) + extra
	for _, p := range s.Parts {
		n += 1 + len(p)
	}
	b := make([]byte, 0, n)
	b = append(b, ns, Sep)
	b = append(b, env...)
	for _, p := range s.Parts {
		b = append(b, Sep)
		b = append(b, p...)
	}
	return b
}

// prefix ends the set's name with MemberSep, so a set whose parts extend
// another set's parts ({"events", org, "code", c} and {"events", org}) never
// shows up in the shorter one's scans.
func (s Set) prefix() []byte   { return append(s.key(NSSet, 1), MemberSep) }
func (s Set) countKey() []byte { return s.key(NSCount, 0) }

// CountShards is how many keys a set's maintained count is spread over.
// A member's shard follows from its bytes, so writers that add or remove
// different members usually update different keys: on a store that
// serializes conflicting transactions (PostgreSQL), adding to one set
// (the audit log of an organization, its users) does not make every
// writer wait for every other.
const CountShards = 64

// shardNames are the last bytes of the shard keys: printable, in order.
const shardNames = "0123456789@ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"

// countShard is the count key of member's shard: the count key, MemberSep
// (which no part contains, so a set's shards never mix with another
// set's), and one byte.
func (s Set) countShard(member string) []byte {
	h := uint32(2166136261) // FNV-1a
	for i := 0; i < len(member); i++ {
		h = (h ^ uint32(member[i])) * 16777619
	}
	return s.shardKey(shardNames[h%CountShards])
}

func (s Set) shardKey(name byte) []byte {
	return append(append(s.key(NSCount, 2), MemberSep), name)
}
func (s Set) member(m string) []byte {
	return append(append(s.key(NSSet, 1+len(m)), MemberSep), m...)
}

// AddKeys returns the keys that Add and Remove of member read: the
// member's and its count shard's (none for an Uncounted set), for
// Prefetch.
func (s Set) AddKeys(member string) [][]byte {
	return s.AddKeysBatched(member, nil)
}

// AddKeysBatched returns the keys that AddBatched of member with b reads:
// the member's, then its count shard's when b's Flush writes it (none for
// an Uncounted set).
func (s Set) AddKeysBatched(member string, b *CountBatch) [][]byte {
	if s.Uncounted {
		return [][]byte{s.member(member)}
	}
	return [][]byte{s.member(member), b.countKey(s, member)}
}

// Add inserts member with an optional value; adding an existing member only
// replaces its value.
func (s Set) Add(tx Tx, member string, value []byte) error {
	return s.AddBatched(tx, member, value, nil)
}

// CountBatch holds count changes that AddBatched defers, so that a
// transaction adding many members (a bulk import) writes each count shard
// once, at Flush, instead of at every member. Until Flush, Count in the
// same transaction does not see the deferred changes.
type CountBatch struct {
	delta map[string]int
	// shard is 1 + the shard that takes every change (InShard), or 0:
	// the member's.
	shard int
}

// InShard returns a CountBatch that puts every count change into shard n
// (modulo CountShards) of its set, whatever the member. A set's count is
// the sum of its shards, so which shard holds a change does not change
// any count; a writer that adds to the same sets as writers of other
// processes, each in a shard of its own, then never writes a count key
// that they write (on PostgreSQL, where two transactions that write one
// key abort one of them).
func InShard(n int) *CountBatch {
	return &CountBatch{shard: (n%CountShards+CountShards)%CountShards + 1}
}

// countKey is the key of the shard that member's count change goes to.
func (b *CountBatch) countKey(s Set, member string) []byte {
	if b != nil && b.shard > 0 {
		return s.shardKey(shardNames[b.shard-1])
	}
	return s.countShard(member)
}

// Flush writes the deferred count changes in key order and empties b.
func (b *CountBatch) Flush(tx Tx) error {
	keys := make([]string, 0, len(b.delta))
	for k, d := range b.delta {
		if d != 0 {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := addCount(tx, []byte(k), b.delta[k]); err != nil {
			return err
		}
	}
	clear(b.delta)
	return nil
}

// AddBatched is Add with the count change deferred to b (nil: written at
// once, as Add does).
func (s Set) AddBatched(tx Tx, member string, value []byte, b *CountBatch) error {
	if err := CheckParts(s.Parts...); err != nil {
		return err
	}
	k := s.member(member)
	if _, err := tx.Get(k); err == nil {
		return tx.Put(k, nonNil(value))
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	if err := tx.Put(k, nonNil(value)); err != nil {
		return err
	}
	if s.Uncounted {
		return nil
	}
	if b != nil {
		if b.delta == nil {
			b.delta = map[string]int{}
		}
		b.delta[string(b.countKey(s, member))]++
		return nil
	}
	return addCount(tx, s.countShard(member), 1)
}

// Remove deletes member (silently if absent).
func (s Set) Remove(tx Tx, member string) error {
	k := s.member(member)
	if _, err := tx.Get(k); errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if err := tx.Delete(k); err != nil || s.Uncounted {
		return err
	}
	return addCount(tx, s.countShard(member), -1)
}

// Has reports whether member is in the set.
func (s Set) Has(tx ReadTx, member string) (bool, error) {
	_, err := tx.Get(s.member(member))
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Count returns the maintained number of members: the sum of the count's
// shards and of the unsharded count that stores written before the shards
// keep. A shard may be negative (it lost members that the unsharded count
// holds).
func (s Set) Count(tx ReadTx) (int, error) {
	if s.Uncounted {
		return 0, errUncounted
	}
	k := s.countKey()
	n, err := readCount(tx, k)
	if err != nil {
		return 0, err
	}
	err = tx.Scan(append(k, MemberSep), ScanOptions{}, func(key, v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("corrupt counter %q", key)
		}
		n += int(int64(binary.BigEndian.Uint64(v)))
		return nil
	})
	return n, err
}

// Page returns up to limit members after skipping skip, newest first when
// reverse is set. Skipped members are passed over without reading values.
func (s Set) Page(tx ReadTx, reverse bool, skip, limit int) ([]string, error) {
	return s.collect(tx, ScanOptions{Reverse: reverse, Skip: skip, Limit: limit, KeysOnly: true})
}

// NewestFirst returns up to limit members in reverse order after skipping
// skip, given the set's count. A page in the older half is read from the
// other end of the set, so the last page costs what the first does.
func (s Set) NewestFirst(tx ReadTx, count, skip, limit int) ([]string, error) {
	if skip <= count/2 || limit <= 0 {
		return s.Page(tx, true, skip, limit)
	}
	n := limit
	if rest := count - skip; rest < n {
		n = rest
	}
	if n <= 0 {
		return nil, nil
	}
	ids, err := s.Page(tx, false, count-skip-n, n)
	if err != nil {
		return nil, err
	}
	for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
		ids[i], ids[j] = ids[j], ids[i]
	}
	return ids, nil
}

// After returns up to limit members that follow the cursor member after (in
// the scan direction); an empty cursor starts at the beginning. Its cost does
// not grow with the depth of the cursor.
func (s Set) After(tx ReadTx, after string, reverse bool, limit int) ([]string, error) {
	opts := ScanOptions{Reverse: reverse, Limit: limit, KeysOnly: true}
	if after != "" {
		opts.After = s.member(after)
	}
	return s.collect(tx, opts)
}

func (s Set) collect(tx ReadTx, opts ScanOptions) ([]string, error) {
	p := s.prefix()
	out := make([]string, 0, min(max(opts.Limit, 0), 1024))
	err := tx.Scan(p, opts, func(k, _ []byte) error {
		out = append(out, string(k[len(p):]))
		return nil
	})
	return out, err
}

// Each visits members (and values) in order; return ErrStopScan to stop.
func (s Set) Each(tx ReadTx, reverse bool, fn func(member string, value []byte) error) error {
	p := s.prefix()
	return tx.Scan(p, ScanOptions{Reverse: reverse}, func(k, v []byte) error {
		return fn(string(k[len(p):]), v)
	})
}

// Clear removes every member and resets the count.
func (s Set) Clear(tx Tx) error {
	p := s.prefix()
	var keys [][]byte
	if err := tx.Scan(p, ScanOptions{KeysOnly: true}, func(k, _ []byte) error {
		keys = append(keys, append([]byte(nil), k...))
		return nil
	}); err != nil {
		return err
	}
	ck := s.countKey()
	if err := tx.Scan(append(ck, MemberSep), ScanOptions{KeysOnly: true}, func(k, _ []byte) error {
		keys = append(keys, append([]byte(nil), k...))
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return tx.Delete(ck)
}

// Counter is a named 64-bit counter (for example the event sequence).
type Counter struct {
	// Env is the environment's name, or "" for the account-wide space.
	Env  string
	Name string
}

func (c Counter) key() []byte {
	return Key(NSCounter, EnvPart(c.Env), c.Name)
}

// Next increments the counter and returns its new value.
func (c Counter) Next(tx Tx) (int64, error) {
	n, err := readCount(tx, c.key())
	if err != nil {
		return 0, err
	}
	n++
	return int64(n), writeCount(tx, c.key(), n)
}

// Set sets the counter to n.
func (c Counter) Set(tx Tx, n int64) error { return writeCount(tx, c.key(), int(n)) }

// Value returns the counter's current value.
func (c Counter) Value(tx ReadTx) (int64, error) {
	n, err := readCount(tx, c.key())
	return int64(n), err
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func readCount(tx ReadTx, k []byte) (int, error) {
	v, err := tx.Get(k)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("corrupt counter %q", k)
	}
	return int(binary.BigEndian.Uint64(v)), nil
}

func writeCount(tx Tx, k []byte, n int) error {
	if n <= 0 {
		return tx.Delete(k)
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	return tx.Put(k, b[:])
}

// addCount adds d to the count shard at k, which may go below zero (a
// shard of a set counted before shards existed); a zero shard is deleted.
func addCount(tx Tx, k []byte, d int) error {
	n, err := readCount(tx, k)
	if err != nil {
		return err
	}
	if n += d; n == 0 {
		return tx.Delete(k)
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(int64(n)))
	return tx.Put(k, b[:])
}

func expiryKey(at time.Time, owner []byte) []byte {
	var ts [8]byte
	ns := at.UnixNano()
	if ns < 0 {
		ns = 0 // before 1970: already expired, sorts first
	}
	binary.BigEndian.PutUint64(ts[:], uint64(ns))
	k := make([]byte, 0, 2+8+1+len(owner))
	k = append(k, NSExpiry, Sep)
	k = append(k, ts[:]...)
	k = append(k, Sep)
	return append(k, owner...)
}

// ScheduleExpiry records that owner (a record key) and the extra keys expire
// at at. Call CancelExpiry with the same owner and time before rescheduling.
func ScheduleExpiry(tx Tx, at time.Time, owner []byte, extra ...[]byte) error {
	if at.IsZero() {
		return fmt.Errorf("schedule expiry of %q: zero time: %w", owner, ErrInvalid)
	}
	keys := append([][]byte{owner}, extra...)
	raw, err := json.Marshal(keys)
	if err != nil {
		return err
	}
	return tx.Put(expiryKey(at, owner), raw)
}

// CancelExpiry removes the expiry entry of owner scheduled at at.
func CancelExpiry(tx Tx, at time.Time, owner []byte) error {
	return tx.Delete(expiryKey(at, owner))
}

// SweepExpired deletes, in transactions of at most batch entries (so no
// lock is held long), every scheduled key whose expiry is at or before now.
// It returns how many entries it removed.
//
// Readers must still check expiry themselves (the sweeper runs late); the
// expiry index only reclaims space.
func SweepExpired(ctx context.Context, store Store, now time.Time, batch int) (int, error) {
	if batch <= 0 {
		batch = 500
	}
	total := 0
	limit := expiryKey(now, nil)
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n := 0
		err := store.Update(ctx, func(tx Tx) error {
			n = 0
			var entries [][]byte
			var lists [][]byte
			err := tx.Scan([]byte{NSExpiry, Sep}, ScanOptions{Limit: batch}, func(k, v []byte) error {
				if len(k) < len(limit) || bytes.Compare(k[:len(limit)], limit) > 0 {
					return ErrStopScan
				}
				entries = append(entries, append([]byte(nil), k...))
				lists = append(lists, append([]byte(nil), v...))
				return nil
			})
			if err != nil {
				return err
			}
			for i, k := range entries {
				var keys [][]byte
				if err := json.Unmarshal(lists[i], &keys); err != nil {
					return fmt.Errorf("corrupt expiry entry: %w", err)
				}
				for _, dk := range keys {
					if err := tx.Delete(dk); err != nil {
						return err
					}
				}
				if err := tx.Delete(k); err != nil {
					return err
				}
			}
			n = len(entries)
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < batch {
			return total, nil
		}
	}
}

// Prefix returns the key prefix of the set's members, which identifies the
// set among all others.
func (s Set) Prefix() []byte { return s.prefix() }
