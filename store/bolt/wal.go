package bolt

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/btree"
	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/journal"
)

// The write-ahead log (the default; WithoutWriteAheadLog turns it off).
//
// A bbolt commit writes every page its transaction changed wherever the
// freelist puts them, then syncs the file twice; a grant that stores a few
// small records in different parts of the tree costs several scattered
// pages. With the log, a batch of Updates (see groupCommit) becomes
// durable with one sequential append and one fdatasync instead:
//
//   - The batch's functions run against an overlay: their own writes, then
//     the batch's earlier writes, then the writes that are durable in the
//     log but not yet in bbolt (the memtable), then a bbolt read
//     transaction. Each function's writes are one log record.
//   - Once the records are on disk, the batch's writes join the memtable
//     and its callers return, and the writer publishes a copy-on-write
//     clone of the memtable (view). Readers see a write only from then on:
//     a View is the published clone and a bbolt read transaction begun
//     after it, taken again in the rare case that a checkpoint froze the
//     memtable in between. No reader takes a lock of the log's.
//   - A checkpoint freezes the memtable (a new, empty one takes its
//     place; readers and writers see the new one above the frozen one),
//     writes the frozen writes into bbolt in one transaction (synced as
//     every bbolt commit is) in key order, together with the sequence
//     number of the last record they hold (the marker, in the meta
//     bucket), then drops the frozen memtable whole. It runs in the
//     background every checkpointRecords records or checkpointAge, at
//     Backup and at Close, and in the writer's path when checkpoints fall
//     behind (checkpointBehind: back-pressure). Neither readers nor the
//     writer wait for it: it takes the memtable's lock twice, to freeze
//     and to drop, each time for a few pointer moves.
//   - Open replays the records after the marker: nothing acknowledged is
//     lost, and nothing is applied twice. It refuses a log that starts
//     after the marker (an older copy of the file put in its place) and
//     a log of another store (every record starts with the store's log
//     id).
//
// A batch too large for the log (over directBytes), or one with bulk
// writes (kv.WithBulk: the audit journal's writer, imports, which no
// request waits for and which the log would write twice), is written
// straight into bbolt, after a checkpoint, so that no older record can be
// replayed over it.
const (
	checkpointRecords = 4096
	checkpointAge     = time.Second
	checkpointBytes   = 16 << 20
	checkpointBehind  = 16384
	directBytes       = journal.MaxRecord
)

// walMarker is the meta bucket's key of the last log record applied, and
// walID the key of the store's log id: random bytes chosen when the file
// first gets a log, which start every record of its log, so that the
// log of another store put beside the file is refused, not replayed into
// it.
var (
	walMarker = []byte("wal-applied")
	walID     = []byte("wal-id")
)

// walBase is the base path of the log's segment files beside the store
// file path (path + ".wal.journal-" and a number).
func walBase(path string) string { return path + ".wal" }

// LogFiles returns the write-ahead log's files beside the store file at
// path: none once a store is closed. Files left by a process that did not
// close its store hold acknowledged writes; Open writes them into the
// file.
func LogFiles(path string) ([]string, error) { return journal.Segments(walBase(path)) }

// memEntry is a write of the overlay: a value, or a deletion (del) that
// hides bbolt's value.
type memEntry struct {
	key, val []byte
	del      bool
}

func memLess(a, b memEntry) bool { return bytes.Compare(a.key, b.key) < 0 }

func newMem() *btree.BTreeG[memEntry] { return btree.NewG(8, memLess) }

// wal is a store's write-ahead log and memtable.
type wal struct {
	log *journal.Log
	// id is the store's log id (walID): a log record that does not start
	// with it was written by another store and is never applied.
	id []byte

	// appending is held from a batch's append to its writes joining the
	// memtable. A checkpoint takes it before it commits: the memtable
	// then holds the writes of every record it writes into bbolt, and
	// never shadows them with older values.
	appending sync.Mutex

	// mu guards the memtable: changes, freezes and publications.
	mu  sync.Mutex
	mem *btree.BTreeG[memEntry]
	// frozen is the memtable a checkpoint is writing into bbolt (nil
	// outside one): below mem, and never changed once frozen.
	frozen *btree.BTreeG[memEntry]
	// view is what readers see of the memtable, published after each
	// change; gen counts the freezes.
	view atomic.Pointer[memView]
	gen  atomic.Uint64
	// merged is the last record whose writes joined the memtable.
	merged uint64
	bytes  int // size of the pending records
	armed  bool

	// failCheckpoint, when set (by tests), fails each checkpoint's
	// transaction with its error before it writes anything.
	failCheckpoint atomic.Pointer[func() error]
	// beforeFreeze, when set (by tests), runs when a checkpoint has its
	// records and has not yet frozen the memtable.
	beforeFreeze atomic.Pointer[func()]
}

// memView is a published state of the memtable: clones of its layers
// that are never changed, newest first, the empty ones left out, and the
// freeze count when it was published.
type memView struct {
	layers []*btree.BTreeG[memEntry]
	gen    uint64
}

// publish makes the memtable's current state the readers' view. The
// caller holds w.mu.
func (w *wal) publish() {
	v := &memView{gen: w.gen.Load()}
	if w.mem.Len() > 0 {
		v.layers = append(v.layers, w.mem.Clone())
	}
	if w.frozen != nil && w.frozen.Len() > 0 {
		v.layers = append(v.layers, w.frozen)
	}
	w.view.Store(v)
}

// openWAL opens the log beside path, replays what bbolt lacks, and sets
// the checkpoint.
func (s *Store) openWAL(ctx context.Context) error {
	id, err := s.openLogID()
	if err != nil {
		return err
	}
	log, marker, err := s.openLog(ctx)
	if err != nil {
		return err
	}
	if n, _ := log.Pending(); n > 0 {
		if first := log.First(); first > marker+1 {
			_ = log.Close(ctx)
			return fmt.Errorf("open store %s: the write-ahead log beside it starts at record %d, but the file holds records up to %d only: "+
				"the log belongs to a later state of the file (was an older copy of the file put in its place?); "+
				"move the log files (%s.journal-*) away to open the file as it is: %w",
				s.path, first, marker, walBase(s.path), errLogLeft)
		}
	}
	log.Advance(marker)
	s.wal = &wal{log: log, id: id, mem: newMem()}
	s.wal.publish()
	log.SetApplier(s.checkpoint)
	if err := log.Apply(ctx); err != nil {
		_ = log.Close(ctx)
		return fmt.Errorf("open store %s: replay the write-ahead log: %w", s.path, err)
	}
	return nil
}

// dropAppliedLog removes the write-ahead log's files beside a store
// opened without the log, when the file holds every record they do; it
// refuses to go on when they hold writes the file lacks.
func (s *Store) dropAppliedLog(ctx context.Context) error {
	files, err := LogFiles(s.path)
	if err != nil || len(files) == 0 {
		return err
	}
	log, marker, err := s.openLog(ctx)
	if err != nil {
		return err
	}
	log.SetApplier(func(_ context.Context, recs []journal.Record) error {
		if recs[len(recs)-1].Seq > marker {
			return fmt.Errorf("open store %s: the write-ahead log beside it holds writes not yet in the file (%v); "+
				"open it once without WithoutWriteAheadLog, WithNoSync or WithBatchDelay, which writes them: %w",
				s.path, files, errLogLeft)
		}
		return nil
	})
	if err := log.Apply(ctx); err != nil {
		_ = log.Close(ctx)
		return err
	}
	return log.Close(ctx) // everything applied: removes the files
}

// openLog opens the write-ahead log's files and returns the log with the
// last record the file holds (its marker; zero when none).
func (s *Store) openLog(ctx context.Context) (*journal.Log, uint64, error) {
	log, err := journal.Open(walBase(s.path))
	if err != nil {
		return nil, 0, fmt.Errorf("open store %s: write-ahead log: %w", s.path, err)
	}
	var marker uint64
	err = s.db.View(func(tx *bbolt.Tx) error {
		if raw := tx.Bucket(metaBucket).Get(walMarker); len(raw) == 8 {
			marker = binary.BigEndian.Uint64(raw)
		}
		return nil
	})
	if err != nil {
		_ = log.Close(ctx)
		return nil, 0, err
	}
	return log, marker, nil
}

// openLogID returns the store's log id, choosing it (crypto/rand) when
// the file has none yet, and marks the file's schema version LogInUse;
// it writes only what is missing.
func (s *Store) openLogID() ([]byte, error) {
	var id []byte
	marked := false
	err := s.db.View(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(metaBucket)
		if raw := meta.Get(walID); len(raw) == logIDSize {
			id = bytes.Clone(raw)
		}
		raw := meta.Get(schemaKey)
		marked = len(raw) == 8 && binary.BigEndian.Uint64(raw)&LogInUse != 0
		return nil
	})
	if err != nil || (id != nil && marked) {
		return id, err
	}
	if id == nil {
		id = make([]byte, logIDSize)
		if _, err := rand.Read(id); err != nil {
			return nil, fmt.Errorf("open store %s: choose the write-ahead log's id: %w", s.path, err)
		}
	}
	err = s.db.Update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket(metaBucket).Put(walID, id); err != nil {
			return err
		}
		return writeVersion(tx, SchemaVersion|LogInUse)
	})
	if err != nil {
		return nil, fmt.Errorf("open store %s: record the write-ahead log's id: %w", s.path, err)
	}
	return id, nil
}

// markLog sets (inUse) or clears LogInUse in the file's schema version,
// when it is not so already.
func (s *Store) markLog(inUse bool) error {
	want := uint64(SchemaVersion)
	if inUse {
		want |= LogInUse
	}
	var have uint64
	if err := s.db.View(func(tx *bbolt.Tx) error {
		if raw := tx.Bucket(metaBucket).Get(schemaKey); len(raw) == 8 {
			have = binary.BigEndian.Uint64(raw)
		}
		return nil
	}); err != nil || have == want {
		return err
	}
	if err := s.db.Update(func(tx *bbolt.Tx) error { return writeVersion(tx, want) }); err != nil {
		return fmt.Errorf("store %s: record the schema version: %w", s.path, err)
	}
	return nil
}

// checkpoint is the log's applier: it freezes the memtable, writes the
// frozen writes (and, at Open, the writes of the records the memtable
// does not hold) into bbolt with the marker, then drops the frozen
// memtable.
//
// The frozen memtable holds every write of the records after the last
// checkpoint up to merged, which is at least the last of recs (the batch
// that appended it has joined the memtable: appending). Records appended
// after the journal listed recs may be in it too: the marker is then
// merged, past the last of recs, and the next checkpoint skips them.
func (s *Store) checkpoint(_ context.Context, recs []journal.Record) error {
	last := recs[len(recs)-1].Seq
	size := 0
	for _, r := range recs {
		size += len(r.Data)
	}
	w := s.wal
	if hook := w.beforeFreeze.Load(); hook != nil {
		(*hook)()
	}
	w.appending.Lock()
	w.mu.Lock()
	frozen, top := w.mem, w.merged
	w.frozen, w.mem = frozen, newMem()
	w.gen.Add(1) // before the commit: a reader that begins after it sees it (snapshot)
	w.publish()
	w.mu.Unlock()
	w.appending.Unlock()
	marker := max(last, top)
	writes := frozen
	err := s.db.Update(func(tx *bbolt.Tx) error {
		if fail := w.failCheckpoint.Load(); fail != nil {
			if err := (*fail)(); err != nil {
				return err
			}
		}
		b, meta := tx.Bucket(dataBucket), tx.Bucket(metaBucket)
		b.FillPercent = s.fill
		var have uint64
		if raw := meta.Get(walMarker); len(raw) == 8 {
			have = binary.BigEndian.Uint64(raw)
		}
		if last > top {
			// Records no batch merged (at Open: the log to replay): their
			// writes go over the frozen ones, the last of each key
			// winning. (A new tree, not a clone: Clone writes to the tree
			// it clones, which readers may be reading.)
			writes = newMem()
			frozen.Ascend(func(e memEntry) bool {
				writes.ReplaceOrInsert(e)
				return true
			})
			for _, r := range recs {
				if !bytes.HasPrefix(r.Data, w.id) {
					return fmt.Errorf("log record %d: %w", r.Seq, errForeignRecord)
				}
				if r.Seq <= max(have, top) {
					continue
				}
				if err := decodeWrites(r.Data, w.id, func(k, v []byte, del bool) error {
					writes.ReplaceOrInsert(memEntry{key: k, val: v, del: del}) // r.Data outlives the transaction
					return nil
				}); err != nil {
					return fmt.Errorf("log record %d: %w", r.Seq, err)
				}
			}
		}
		if marker <= have && writes.Len() == 0 {
			return errNothingToCheckpoint
		}
		// In key order: each Put then finds its page where the previous
		// one left bbolt's cursor path, in nodes already in memory.
		var err error
		writes.Ascend(func(e memEntry) bool {
			if e.del {
				err = b.Delete(e.key)
			} else {
				err = b.Put(e.key, e.val)
			}
			return err == nil
		})
		if err != nil {
			return err
		}
		var m [8]byte
		binary.BigEndian.PutUint64(m[:], max(marker, have))
		return meta.Put(walMarker, m[:])
	})
	if errors.Is(err, errNothingToCheckpoint) {
		err = nil // recs were written by an earlier checkpoint, past its list
	} else {
		s.checkpoints.Add(1)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.frozen = nil
	defer w.publish()
	if err != nil {
		// The frozen writes are not in bbolt: back into the memtable,
		// under the newer writes made since the freeze.
		frozen.Ascend(func(e memEntry) bool {
			if _, ok := w.mem.Get(e); !ok {
				w.mem.ReplaceOrInsert(e)
			}
			return true
		})
		return fmt.Errorf("checkpoint the write-ahead log: %w", err)
	}
	w.bytes = max(0, w.bytes-size)
	return nil
}

// errNothingToCheckpoint ends a checkpoint's transaction that would
// write nothing.
var errNothingToCheckpoint = errors.New("nothing to checkpoint")

// snapshot is a consistent view: a bbolt read transaction and the
// memtable's layers as they were when it began, newest first (none when
// the memtable is empty).
type snapshot struct {
	btx *bbolt.Tx
	mem []*btree.BTreeG[memEntry]
}

// snapshot takes the published view of the memtable, then begins a bbolt
// read transaction. A checkpoint that froze the memtable after the view
// was published may have committed writes newer than the view's into
// bbolt before the transaction began: then it takes both again. A
// checkpoint that froze before brings nothing the view lacks (its frozen
// memtable is a layer of the view).
func (s *Store) snapshot() (snapshot, error) {
	w := s.wal
	for {
		v := w.view.Load()
		btx, err := s.db.Begin(false)
		if err != nil {
			return snapshot{}, err
		}
		if w.gen.Load() == v.gen {
			return snapshot{btx: btx, mem: v.layers}, nil
		}
		_ = btx.Rollback()
	}
}

// execLog commits a batch through the write-ahead log (see the top of
// this file).
func (s *Store) execLog(batch []*commitCall) {
	w := s.wal
	if n, _ := w.log.Pending(); n >= 4*checkpointBehind {
		// Checkpoints keep failing: refuse writes rather than grow the
		// memtable without bound.
		if err := w.log.Apply(context.Background()); err != nil {
			for _, c := range batch {
				c.err = fmt.Errorf("write-ahead log: %d records wait for a checkpoint: %w", n, err)
			}
			return
		}
	}
	for _, c := range batch {
		if c.bulk {
			s.execBulk(batch)
			return
		}
	}
	snap, err := s.snapshot()
	if err != nil {
		for _, c := range batch {
			c.err = err
		}
		return
	}
	group := newMem()
	var recs [][]byte
	var ok []*commitCall
	size := 0
	for _, c := range batch {
		tx := &overlayTx{overlayRead: overlayRead{base: readTx{b: snap.btx.Bucket(dataBucket)}}, local: newMem()}
		tx.layers = append([]*btree.BTreeG[memEntry]{tx.local, group}, snap.mem...)
		if c.err = safeCall(c.fn, tx); c.err != nil {
			continue
		}
		ok = append(ok, c)
		if tx.local.Len() == 0 {
			continue
		}
		rec := encodeWrites(w.id, tx.local)
		size += len(rec)
		recs = append(recs, rec)
		tx.local.Ascend(func(e memEntry) bool {
			group.ReplaceOrInsert(e)
			return true
		})
	}
	_ = snap.btx.Rollback()
	if len(recs) == 0 {
		return // every call failed or only read: nothing to make durable
	}
	fail := func(err error) {
		for _, c := range ok {
			c.err = err
		}
	}
	if size > directBytes {
		fail(s.writeDirect(group))
		return
	}
	w.appending.Lock()
	last, err := w.log.Append(recs)
	s.gc.commits.Add(1)
	if err != nil {
		w.appending.Unlock()
		if errors.Is(err, journal.ErrClosed) {
			err = ErrClosed
		} else {
			err = fmt.Errorf("write-ahead log: %w", err)
		}
		fail(err)
		return
	}
	w.mu.Lock()
	group.Ascend(func(e memEntry) bool {
		w.mem.ReplaceOrInsert(e)
		return true
	})
	w.merged = last
	w.publish()
	w.appending.Unlock()
	w.bytes += size
	pending, _ := w.log.Pending()
	behind := pending >= checkpointBehind || w.bytes >= 4*checkpointBytes
	due := pending >= checkpointRecords || w.bytes >= checkpointBytes
	arm := !due && !w.armed
	if arm {
		w.armed = true
	}
	w.mu.Unlock()
	// A checkpoint that fails leaves its records pending for the next
	// one; writes are refused once 4×checkpointBehind records wait (the
	// top of execLog), with the checkpoint's error.
	switch {
	case behind:
		// Back-pressure: the next batch waits for this checkpoint.
		if err := w.log.Apply(context.Background()); err != nil {
			s.reportCheckpoint(err)
		}
	case due:
		w.log.ApplyAsync(s.reportCheckpoint)
	case arm:
		time.AfterFunc(checkpointAge, func() {
			w.mu.Lock()
			w.armed = false
			w.mu.Unlock()
			w.log.ApplyAsync(s.reportCheckpoint)
		})
	}
}

// execBulk commits a batch with bulk writes as a bbolt transaction of its
// own (execBolt), after a checkpoint of everything pending: no record
// older than it is left to replay over it, and no memtable entry is left
// to hide it.
func (s *Store) execBulk(batch []*commitCall) {
	if err := s.wal.log.Apply(context.Background()); err != nil {
		for _, c := range batch {
			c.err = fmt.Errorf("write-ahead log: %w", err)
		}
		return
	}
	s.execBolt(batch)
}

// writeDirect writes a batch too large for the log straight into bbolt in
// one transaction, after a checkpoint of everything pending (as
// execBulk).
func (s *Store) writeDirect(group *btree.BTreeG[memEntry]) error {
	if err := s.wal.log.Apply(context.Background()); err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	s.gc.commits.Add(1)
	return s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(dataBucket)
		b.FillPercent = s.fill
		var err error
		group.Ascend(func(e memEntry) bool {
			if e.del {
				err = b.Delete(e.key)
			} else {
				err = b.Put(e.key, e.val)
			}
			return err == nil
		})
		return err
	})
}

// encodeWrites encodes a function's writes as one log record: the
// store's log id, then for each key in order, 0 (a value) or 1 (a
// deletion), the key's length and the key, and for a value its length
// and bytes (lengths as uvarints).
func encodeWrites(id []byte, t *btree.BTreeG[memEntry]) []byte {
	n := len(id)
	t.Ascend(func(e memEntry) bool {
		n += 1 + 2*binary.MaxVarintLen32 + len(e.key) + len(e.val)
		return true
	})
	out := make([]byte, 0, n)
	out = append(out, id...)
	t.Ascend(func(e memEntry) bool {
		if e.del {
			out = append(out, 1)
			out = binary.AppendUvarint(out, uint64(len(e.key)))
			out = append(out, e.key...)
			return true
		}
		out = append(out, 0)
		out = binary.AppendUvarint(out, uint64(len(e.key)))
		out = append(out, e.key...)
		out = binary.AppendUvarint(out, uint64(len(e.val)))
		out = append(out, e.val...)
		return true
	})
	return out
}

var errBadRecord = errors.New("malformed write-ahead log record")

// errForeignRecord is the error of a record another store wrote.
var errForeignRecord = errors.New("the record belongs to the write-ahead log of another store (move the log files beside this one away)")

// logIDSize is the size of a store's log id (walID), which starts every
// record of its log.
const logIDSize = 16

// decodeWrites calls fn for each write of rec, with subslices of rec,
// once rec proves to be a record of the log whose id is id.
func decodeWrites(rec, id []byte, fn func(key, val []byte, del bool) error) error {
	if len(rec) < len(id) {
		return errBadRecord
	}
	if !bytes.Equal(rec[:len(id)], id) {
		return errForeignRecord
	}
	rec = rec[len(id):]
	field := func() ([]byte, error) {
		n, w := binary.Uvarint(rec)
		if w <= 0 || n > uint64(len(rec)-w) {
			return nil, errBadRecord
		}
		f := rec[w : w+int(n) : w+int(n)]
		rec = rec[w+int(n):]
		return f, nil
	}
	for len(rec) > 0 {
		op := rec[0]
		rec = rec[1:]
		if op > 1 {
			return errBadRecord
		}
		k, err := field()
		if err != nil || len(k) == 0 {
			return errBadRecord
		}
		var v []byte
		if op == 0 {
			if v, err = field(); err != nil {
				return err
			}
		}
		if err := fn(k, v, op == 1); err != nil {
			return err
		}
	}
	return nil
}

// overlayRead reads through layers (topmost first) down to bbolt.
type overlayRead struct {
	layers []*btree.BTreeG[memEntry]
	base   readTx
}

func (t *overlayRead) Get(key []byte) ([]byte, error) {
	for _, l := range t.layers {
		if e, ok := l.Get(memEntry{key: key}); ok {
			if e.del {
				return nil, identity.ErrNotFound
			}
			return e.val[:len(e.val):len(e.val)], nil
		}
	}
	return t.base.Get(key)
}

func (t *overlayRead) Scan(prefix []byte, opts identity.ScanOptions, fn func(key, value []byte) error) error {
	return t.scan(prefix, opts, nil, fn)
}

// overlayTx is a function's transaction in execLog: its writes go to
// local, the top layer.
type overlayTx struct {
	overlayRead
	local  *btree.BTreeG[memEntry]
	writes int
}

func (t *overlayTx) Scan(prefix []byte, opts identity.ScanOptions, fn func(key, value []byte) error) error {
	return t.scan(prefix, opts, &t.writes, fn)
}

func (t *overlayTx) Put(key, value []byte) error {
	switch {
	case len(key) == 0:
		return identity.Invalid("key", "is required")
	case len(key) > bbolt.MaxKeySize:
		// What bbolt would answer, here rather than at the checkpoint,
		// which could then never write the record.
		return bolterrors.ErrKeyTooLarge
	case len(value) > bbolt.MaxValueSize:
		return bolterrors.ErrValueTooLarge
	}
	t.writes++
	t.local.ReplaceOrInsert(memEntry{key: bytes.Clone(key), val: append(make([]byte, 0, len(value)), value...)})
	return nil
}

func (t *overlayTx) Delete(key []byte) error {
	if len(key) == 0 {
		return nil
	}
	t.writes++
	t.local.ReplaceOrInsert(memEntry{key: bytes.Clone(key), del: true})
	return nil
}

// scan merges the layers and bbolt in key order; a layer's entry hides
// the same key below it. Without any layer entry under the prefix (and,
// in a write transaction, until a write) it is bbolt's own scan. writes,
// when not nil, counts the transaction's writes, which fn may make: the
// layers are read again after each visit, so the scan goes on in the
// updated data.
func (t *overlayRead) scan(prefix []byte, opts identity.ScanOptions, writes *int, fn func(key, value []byte) error) error {
	if opts.After != nil && !bytes.HasPrefix(opts.After, prefix) {
		return identity.Invalid("after", "cursor must start with the scanned prefix")
	}
	end := identity.PrefixEnd(prefix)
	var layers []*btree.BTreeG[memEntry]
	for i, l := range t.layers {
		if (i == 0 && writes != nil) || hasRange(l, prefix, end) {
			layers = append(layers, l)
		}
	}
	if len(layers) == 0 {
		return scan(t.base.b, prefix, opts, nil, fn)
	}
	c := t.base.b.Cursor()
	// inPrefix passes a cursor's key and value on while the key is under
	// the prefix, and nils after.
	inPrefix := func(k, v []byte) ([]byte, []byte) {
		if k == nil || !bytes.HasPrefix(k, prefix) {
			return nil, nil
		}
		return k, v
	}
	// before reports whether a comes before b in the scan's direction.
	before := func(a, b []byte) bool {
		if opts.Reverse {
			return bytes.Compare(a, b) > 0
		}
		return bytes.Compare(a, b) < 0
	}
	// baseAfter positions c on bbolt's first key after bound in the
	// scan's direction (nil: from the prefix's start), nil at the end.
	baseAfter := func(bound []byte) ([]byte, []byte) {
		var k, v []byte
		switch {
		case !opts.Reverse && bound == nil:
			k, v = c.Seek(prefix)
		case !opts.Reverse:
			if k, v = c.Seek(bound); k != nil && bytes.Equal(k, bound) {
				k, v = c.Next()
			}
		default:
			b := bound
			if b == nil {
				b = end
			}
			if b == nil {
				k, v = c.Last()
			} else if k, _ = c.Seek(b); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		}
		return inPrefix(k, v)
	}
	baseNext := func() ([]byte, []byte) {
		if opts.Reverse {
			return inPrefix(c.Prev())
		}
		return inPrefix(c.Next())
	}
	// layerAfter returns l's first entry after bound in the scan's
	// direction, under the prefix.
	layerAfter := func(l *btree.BTreeG[memEntry], bound []byte) (memEntry, bool) {
		var found memEntry
		var ok bool
		visit := func(e memEntry) bool {
			if bound != nil && bytes.Equal(e.key, bound) {
				return true
			}
			if bytes.HasPrefix(e.key, prefix) {
				found, ok = e, true
			}
			return false
		}
		switch {
		case !opts.Reverse && bound == nil:
			l.AscendGreaterOrEqual(memEntry{key: prefix}, visit)
		case !opts.Reverse:
			l.AscendGreaterOrEqual(memEntry{key: bound}, visit)
		case bound != nil:
			l.DescendLessOrEqual(memEntry{key: bound}, visit)
		case end != nil:
			l.DescendLessOrEqual(memEntry{key: end}, func(e memEntry) bool {
				if bytes.Equal(e.key, end) {
					return true
				}
				return visit(e)
			})
		default:
			l.Descend(visit)
		}
		return found, ok
	}
	bound := opts.After
	bk, bv := baseAfter(bound)
	skip, visited := opts.Skip, 0
	for {
		var top memEntry
		have := false
		for _, l := range layers {
			if e, ok := layerAfter(l, bound); ok && (!have || before(e.key, top.key)) {
				top, have = e, true
			}
		}
		var k, v []byte
		switch {
		case !have && bk == nil:
			return nil
		case !have || (bk != nil && before(bk, top.key)):
			k, v = bk, bv
			bk, bv = baseNext()
		default:
			if bk != nil && bytes.Equal(bk, top.key) {
				bk, bv = baseNext()
			}
			bound = top.key
			if top.del {
				continue
			}
			k, v = top.key, top.val
		}
		bound = k
		if skip > 0 {
			skip--
			continue
		}
		if done, err := visit(fn, k, v, opts, &visited); done {
			return err
		}
	}
}

// hasRange reports whether l holds a key in [from, end) (end nil: no
// upper bound).
func hasRange(l *btree.BTreeG[memEntry], from, end []byte) bool {
	found := false
	l.AscendGreaterOrEqual(memEntry{key: from}, func(e memEntry) bool {
		found = end == nil || bytes.Compare(e.key, end) < 0
		return false
	})
	return found
}
