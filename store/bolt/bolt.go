// Package bolt is the default, durable identity.Store: one bbolt file that a
// single process opens at a time.
//
// All data lives in one bucket; a second bucket holds the schema version of
// the file, so that a newer Gatehouse can migrate an older file and an older
// Gatehouse refuses a newer one instead of misreading it.
//
// Concurrent Updates are coalesced into shared commits (group commit), so
// many writers share one sync: a writer that finds no commit running
// commits at once; writers arriving during a commit share the next one,
// which starts as soon as it ends (no timer). An Update's fn may run more
// than once and must not have side effects outside its transaction.
//
// A commit is an append to a write-ahead log beside the file (one
// sequential write and one fdatasync), not a bbolt transaction: reads
// see the log's writes through an in-memory table laid over a bbolt
// snapshot, and checkpoints write them into the file in the background,
// in key order, many commits per bbolt transaction. After a crash, Open
// replays what the file lacks. wal.go has the protocol;
// WithoutWriteAheadLog commits each batch as a bbolt transaction instead.
// Store.CommitStats counts what the batches carried and what the commits
// and checkpoints cost (pages written, time syncing), for monitoring and
// benchmarks.
package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/journal"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// SchemaVersion is the version of the file layout this build writes and
// reads. Files of an older version are migrated on Open; files of a newer
// version are refused with an error wrapping identity.ErrSchemaTooNew.
//
// Version 2 stores users and the owners of unique index entries in compact
// forms (identity's usercodec.go, internal/kv's ids.go) besides the JSON
// and text that version 1 holds; this build reads both, so the step from
// 1 only records the version, and a build that knows only version 1
// refuses the file instead of misreading its new entries.
const SchemaVersion = 2

// LogInUse is added to the schema version the file stores while the
// file has a write-ahead log that may hold writes it lacks (from Open to
// a clean Close): a build that does not know the log (before it existed)
// then refuses the file, as one from a newer Gatehouse, instead of
// missing those writes. This build reads the version without it.
const LogInUse uint64 = 1 << 32

// DefaultTimeout is how long Open waits for another process to release the
// file before failing with identity.ErrStoreLocked.
const DefaultTimeout = time.Second

// ErrClosed is returned by View and Update after Close.
var ErrClosed = errors.New("bolt store is closed")

var (
	dataBucket = []byte("data")
	metaBucket = []byte("meta")
	schemaKey  = []byte("schema")
)

// Option configures Open.
type Option func(*options)

type options struct {
	timeout    time.Duration
	noSync     bool
	batchDelay time.Duration
	mode       os.FileMode
	fill       float64
	noFreelist bool
	noJournal  bool
	noWAL      bool
	logger     *slog.Logger
	mmap       int // bytes; negative: the default (mmapSize)
}

// WithTimeout sets how long Open waits for the file lock (default
// DefaultTimeout). A context deadline that comes sooner wins.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithNoSync skips fsync on commit. A crash may then lose or corrupt data:
// use it only for tests and throwaway stores.
func WithNoSync() Option { return func(o *options) { o.noSync = true } }

// WithBatchDelay makes concurrent Updates wait up to d to be coalesced
// into one transaction (bbolt's Batch) instead of the default group
// commit, which never waits on a timer. Longer delays group more writes
// per fsync at the cost of latency.
func WithBatchDelay(d time.Duration) Option { return func(o *options) { o.batchDelay = d } }

// WithFillPercent sets how full bbolt fills the pages it splits when a
// transaction commits (between 0.1 and 1; default DefaultFillPercent).
// Gatehouse's keys mostly grow at the end of their ranges (time-ordered
// ids, the audit log, bulk imports), where pages fuller than bbolt's own
// default of one half make a smaller file; random inserts into a full
// page split it sooner.
func WithFillPercent(f float64) Option { return func(o *options) { o.fill = f } }

// WithoutFreelistSync stops writing bbolt's list of free pages at each
// commit: commits write a little less, but every Open rebuilds the list
// by reading every page of the file (minutes for a file of gigabytes
// that is not in the page cache). By default the list is written, and
// Open reads only it.
func WithoutFreelistSync() Option { return func(o *options) { o.noFreelist = true } }

// WithoutAuditJournal writes every audit event that identity's LogEvent
// hands over in a bbolt transaction of its own, as the transactions of
// other writes are, instead of appending it to the audit journal first
// (see Store.AuditJournal).
func WithoutAuditJournal() Option { return func(o *options) { o.noJournal = true } }

// WithoutWriteAheadLog commits each batch of Updates as a bbolt
// transaction of its own (pages written where bbolt's freelist puts them,
// then two syncs) instead of appending it to the write-ahead log (see
// LogFiles and bench/README.md, "Session 8"). WithNoSync and
// WithBatchDelay imply it.
func WithoutWriteAheadLog() Option { return func(o *options) { o.noWAL = true } }

// WithLogger sets where the store logs what no caller hears of: a
// background checkpoint of the write-ahead log that fails (its records
// stay in the log and the next checkpoint tries again; writes are
// refused once checkpoints have fallen far behind), at most once every
// ten seconds while it keeps failing. The default is slog.Default().
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithMmapSize sets how many bytes of address space the store maps for
// its file when it opens (bbolt's InitialMmapSize): room to grow without
// remapping. bbolt remaps a file that outgrows its mapping, and a remap
// waits for every open read transaction (a Backup, a long listing) while
// every read that starts meanwhile waits behind it: with the room mapped
// up front, a long read stalls neither writes nor other reads. The
// mapping is address space, not memory: pages are read in as they are
// touched. 0 keeps bbolt's own policy (a mapping that doubles from 32 KiB
// as the file grows). The default (a negative n) is the larger of 1 GiB
// and twice the file's size on 64-bit systems, and 0 on 32-bit ones and
// on Windows (where bbolt grows the file itself to the mapping's size).
func WithMmapSize(n int) Option { return func(o *options) { o.mmap = n } }

// mmapSize is the mapping Open asks bbolt for: n when set (n ≥ 0),
// otherwise the default WithMmapSize describes for a file of size bytes.
func mmapSize(n int, size int64, goos string, intSize int) int {
	if n >= 0 {
		return n
	}
	if intSize < 64 || goos == "windows" {
		return 0
	}
	return int(max(1<<30, 2*size))
}

// DefaultFillPercent is WithFillPercent's default.
const DefaultFillPercent = 0.9

// WithFileMode sets the permissions of a newly created file (default 0600).
func WithFileMode(m os.FileMode) Option { return func(o *options) { o.mode = m } }

// Store is a bbolt-backed identity.Store. It is safe for concurrent use.
type Store struct {
	db       *bbolt.DB
	fill     float64
	path     string
	inflight atomic.Int64
	closed   atomic.Bool
	// timerBatch: WithBatchDelay was given (bbolt's Batch); otherwise gc.
	timerBatch bool
	gc         groupCommit
	// updates and runNanos count the Update functions run and their time
	// (CommitStats).
	updates  atomic.Int64
	runNanos atomic.Int64
	// journal is the audit journal, opened by the first AuditJournal
	// (none with WithoutAuditJournal or WithNoSync).
	journalOnce sync.Once
	journal     atomic.Pointer[journal.Log]
	journalErr  error
	noJournal   bool
	// wal is the write-ahead log (nil with WithoutWriteAheadLog), and
	// checkpoints counts the bbolt transactions that wrote its records.
	wal         *wal
	checkpoints atomic.Int64
	// log receives the failures of background checkpoints (WithLogger);
	// lastReport is when one was last logged.
	log        *slog.Logger
	reportMu   sync.Mutex
	lastReport time.Time
}

// reportCheckpoint logs a checkpoint's failure that no caller receives,
// at most once per journal.ReportEvery.
func (s *Store) reportCheckpoint(err error) {
	if errors.Is(err, journal.ErrClosed) {
		return // a checkpoint due after Close, which wrote everything
	}
	s.reportMu.Lock()
	due := time.Since(s.lastReport) >= journal.ReportEvery
	if due {
		s.lastReport = time.Now()
	}
	s.reportMu.Unlock()
	if due {
		s.log.Error("bolt store: a checkpoint of the write-ahead log failed; its writes stay in the log and are retried",
			"path", s.path, "err", err)
	}
}

// CommitStats counts a store's write transactions since Open: how the
// group commit batched the Update calls, and what the commits cost. Take
// it before and after an interval and Sub the two to measure the interval.
type CommitStats struct {
	// Commits is the number of batch commits run to their end, committed
	// or failed: appends to the write-ahead log (one write and one
	// fdatasync each), and bbolt transactions for the batches that go
	// straight into the file (bulk or large ones, and every batch without
	// the log: pages written, then two fdatasyncs, unless WithNoSync; a
	// batch run again without a function that failed is a second one).
	// With WithBatchDelay, the commits of bbolt's own batches are not
	// counted.
	Commits int64
	// Updates is the number of Update functions run, a function run again
	// after another of its batch failed included: Updates/Commits is the
	// mean batch.
	Updates int64
	// RunTime is the time the Update functions ran, inside their write
	// transactions: the serial part of a commit before its writes, during
	// which other writers wait.
	RunTime time.Duration
	// Pages is the number of page writes (the meta page's included),
	// WriteTime the time spent writing them and syncing the file, and
	// SpillTime the time spent turning changed nodes into pages: bbolt's
	// own counts.
	Pages     int64
	WriteTime time.Duration
	SpillTime time.Duration
	// Checkpoints is the number of bbolt transactions that wrote the
	// write-ahead log's records into the file (each one a durable commit:
	// its pages, time and spill are in Pages, WriteTime and SpillTime).
	Checkpoints int64
}

// Sub returns the counts of the interval from earlier to c.
func (c CommitStats) Sub(earlier CommitStats) CommitStats {
	return CommitStats{Commits: c.Commits - earlier.Commits, Updates: c.Updates - earlier.Updates,
		RunTime: c.RunTime - earlier.RunTime, Pages: c.Pages - earlier.Pages,
		WriteTime: c.WriteTime - earlier.WriteTime, SpillTime: c.SpillTime - earlier.SpillTime,
		Checkpoints: c.Checkpoints - earlier.Checkpoints}
}

// CommitStats returns the store's write counts since Open.
func (s *Store) CommitStats() CommitStats {
	tx := s.db.Stats().TxStats
	return CommitStats{Commits: s.gc.commits.Load(), Updates: s.updates.Load(),
		RunTime: time.Duration(s.runNanos.Load()), Pages: tx.GetWrite(), WriteTime: tx.GetWriteTime(),
		SpillTime: tx.GetSpillTime(), Checkpoints: s.checkpoints.Load()}
}

var _ identity.Store = (*Store)(nil)

// Open opens (creating if needed) the store file at path. It fails with an
// error wrapping identity.ErrStoreLocked if another process (or another Open
// in this process) holds the file past the timeout, and with one wrapping
// identity.ErrSchemaTooNew if a newer Gatehouse wrote it.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o := options{timeout: DefaultTimeout, mode: 0o600, fill: DefaultFillPercent, mmap: -1}
	for _, opt := range opts {
		opt(&o)
	}
	if o.timeout <= 0 {
		o.timeout = DefaultTimeout
	}
	o.fill = max(0.1, min(o.fill, 1.0)) // bbolt's bounds
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < o.timeout {
			if left <= 0 {
				return nil, context.DeadlineExceeded
			}
			o.timeout = left
		}
	}
	var size int64
	if fi, err := os.Stat(path); err == nil {
		size = fi.Size()
	}
	db, err := bbolt.Open(path, o.mode, &bbolt.Options{
		Timeout:         o.timeout,
		NoSync:          o.noSync,
		NoFreelistSync:  o.noFreelist,
		FreelistType:    bbolt.FreelistMapType,
		InitialMmapSize: mmapSize(o.mmap, size, runtime.GOOS, strconv.IntSize),
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open store %s: waited %s for the file lock; another Gatehouse process (or another Open in this one) is using it: %w",
			path, o.timeout, identity.ErrStoreLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if o.batchDelay > 0 {
		db.MaxBatchDelay = o.batchDelay
	}
	if err := prepare(db, path); err != nil {
		_ = db.Close()
		return nil, err
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	s := &Store{db: db, path: path, timerBatch: o.batchDelay > 0, gc: groupCommit{maxBatch: 1000}, fill: o.fill,
		noJournal: o.noJournal || o.noSync, log: o.logger}
	if o.noWAL || o.noSync || o.batchDelay > 0 {
		if err := s.dropAppliedLog(ctx); err != nil {
			_ = db.Close()
			return nil, err
		}
		if err := s.markLog(false); err != nil {
			_ = db.Close()
			return nil, err
		}
		return s, nil
	}
	if err := s.openWAL(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// errLogLeft is the cause of Open's refusal to open a store whose
// write-ahead log holds writes without the log.
var errLogLeft = errors.New("write-ahead log left behind")

// prepare checks the schema version, creating the buckets of a fresh file
// and migrating an older one.
func prepare(db *bbolt.DB, path string) error {
	var version uint64
	fresh := false
	if err := db.View(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(metaBucket)
		if meta == nil {
			fresh = true
			return nil
		}
		raw := meta.Get(schemaKey)
		if len(raw) != 8 {
			return fmt.Errorf("open store %s: corrupt schema version %x; this is not a Gatehouse store or it is damaged", path, raw)
		}
		version = binary.BigEndian.Uint64(raw) &^ LogInUse
		return nil
	}); err != nil {
		return err
	}
	if fresh {
		return db.Update(func(tx *bbolt.Tx) error {
			// A bbolt file with other buckets and no meta bucket was not
			// written by Gatehouse: refuse to adopt it.
			foreign := false
			if err := tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
				if !bytes.Equal(name, dataBucket) {
					foreign = true
				}
				return nil
			}); err != nil {
				return err
			}
			if foreign {
				return fmt.Errorf("open store %s: the file is a bbolt database that Gatehouse did not create", path)
			}
			if _, err := tx.CreateBucketIfNotExists(dataBucket); err != nil {
				return fmt.Errorf("open store %s: %w", path, err)
			}
			return writeVersion(tx, SchemaVersion)
		})
	}
	if version > SchemaVersion {
		return fmt.Errorf("open store %s: the file was written by a newer Gatehouse (schema %d); this build supports %d: run a newer Gatehouse or open another file: %w",
			path, version, SchemaVersion, identity.ErrSchemaTooNew)
	}
	if version == 0 {
		return fmt.Errorf("open store %s: corrupt schema version 0", path)
	}
	if version == SchemaVersion {
		return nil
	}
	// Migrate one version at a time, each step in its own transaction.
	for v := version; v < SchemaVersion; v++ {
		step := migration(v)
		if err := db.Update(func(tx *bbolt.Tx) error {
			if err := step(tx); err != nil {
				return err
			}
			return writeVersion(tx, v+1)
		}); err != nil {
			return fmt.Errorf("open store %s: migrate schema %d to %d: %w", path, v, v+1, err)
		}
	}
	return nil
}

// migration returns the step that upgrades a file from schema version from
// to from+1 (prepare writes the new version in the same transaction).
func migration(from uint64) func(tx *bbolt.Tx) error {
	switch from {
	case 1:
		// Version 2 adds compact encodings that this build reads beside
		// the old ones (see SchemaVersion): nothing to rewrite.
		return func(*bbolt.Tx) error { return nil }
	}
	return func(*bbolt.Tx) error {
		return fmt.Errorf("no migration from schema %d", from)
	}
}

func writeVersion(tx *bbolt.Tx, v uint64) error {
	meta, err := tx.CreateBucketIfNotExists(metaBucket)
	if err != nil {
		return err
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return meta.Put(schemaKey, b[:])
}

// Path returns the file the store was opened on.
func (s *Store) Path() string { return s.path }

// View runs fn in a read-only bbolt transaction: a consistent snapshot that
// concurrent writers do not change.
func (s *Store) View(ctx context.Context, fn func(tx identity.ReadTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.wal == nil {
		err := s.db.View(func(btx *bbolt.Tx) error {
			return fn(&readTx{b: btx.Bucket(dataBucket)})
		})
		if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
			return ErrClosed
		}
		return err
	}
	snap, err := s.snapshot()
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	if err != nil {
		return err
	}
	defer func() { _ = snap.btx.Rollback() }()
	base := readTx{b: snap.btx.Bucket(dataBucket)}
	if len(snap.mem) == 0 {
		return fn(&base)
	}
	return fn(&overlayRead{layers: snap.mem, base: base})
}

// Update runs fn in a read-write transaction. A lone writer commits with its
// own transaction; concurrent writers are coalesced into one transaction
// and one fsync (group commit, see the package documentation). If fn
// fails, nothing it wrote is kept and its error is returned unchanged;
// other writers of the same batch are unaffected.
func (s *Store) Update(ctx context.Context, fn func(tx identity.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	run := func(tx identity.Tx) error {
		// The writer's turn may have taken a while to come.
		if err := ctx.Err(); err != nil {
			return err
		}
		t0 := time.Now()
		defer func() {
			s.updates.Add(1)
			s.runNanos.Add(int64(time.Since(t0)))
		}()
		return fn(tx)
	}
	inBolt := func(btx *bbolt.Tx) error {
		b := btx.Bucket(dataBucket)
		b.FillPercent = s.fill
		return run(&writeTx{readTx: readTx{b: b}})
	}
	var err error
	switch {
	case s.wal != nil:
		err = s.gc.update(run, kv.Bulk(ctx), s.execLog)
	case !s.timerBatch:
		err = s.gc.update(run, false, s.execBolt)
	case s.inflight.Add(1) == 1:
		err = s.db.Update(inBolt)
		s.gc.commits.Add(1)
		s.inflight.Add(-1)
	default:
		// Batch reruns a failing fn alone with db.Update, which returns
		// fn's error as is.
		err = s.db.Batch(inBolt)
		s.inflight.Add(-1)
	}
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// execBolt commits a batch in one bbolt transaction. A function that
// fails rolls the transaction back; it is answered with its error and the
// others run again without it (each function may run more than once, as
// the identity.Store contract allows).
func (s *Store) execBolt(batch []*commitCall) {
	for len(batch) > 0 {
		failed := -1
		err := s.db.Update(func(btx *bbolt.Tx) error {
			b := btx.Bucket(dataBucket)
			b.FillPercent = s.fill
			for i, c := range batch {
				if err := safeCall(c.fn, &writeTx{readTx: readTx{b: b}}); err != nil {
					failed, c.err = i, err
					return err
				}
			}
			return nil
		})
		s.gc.commits.Add(1)
		if failed < 0 {
			// Committed, or the commit itself failed: the same outcome
			// for every call of the batch.
			for _, c := range batch {
				c.err = err
			}
			return
		}
		batch = append(batch[:failed:failed], batch[failed+1:]...)
		for _, c := range batch {
			c.err = nil
		}
	}
}

// AuditJournal returns the store's audit journal, opening it on the first
// call: an append-only log in files beside the store's (path +
// ".journal-" and a number), which identity.Service's LogEvent appends
// audit events to, making them durable with one sequential write and one
// fdatasync per group instead of a bbolt commit (which writes its pages
// wherever its freelist put them and syncs the file twice). The service
// then writes them into the store in large transactions, before anyone
// reads the audit log, and after a crash when it is next created on the
// store (bench/README.md, "Session 7"). It returns nil with
// WithoutAuditJournal or WithNoSync.
//
// It is not an extension point: only identity uses it.
func (s *Store) AuditJournal() (*journal.Log, error) {
	if s.noJournal {
		return nil, nil
	}
	s.journalOnce.Do(func() {
		if s.closed.Load() {
			s.journalErr = ErrClosed
			return
		}
		var j *journal.Log
		j, s.journalErr = journal.Open(s.path)
		s.journal.Store(j)
	})
	return s.journal.Load(), s.journalErr
}

// applyJournal writes what the audit journal holds into the store.
func (s *Store) applyJournal(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	j := s.journal.Load()
	if j == nil {
		if segs, _ := journal.Segments(s.path); len(segs) > 0 && !s.noJournal {
			return fmt.Errorf("the audit journal beside %s holds events not yet written into the store: "+
				"create an identity.Service on the store first, or call identity.ReplayAuditJournal, which writes them", s.path)
		}
		return nil
	}
	if err := j.Apply(ctx); err != nil {
		return fmt.Errorf("apply the audit journal: %w", err)
	}
	return nil
}

// Backup writes a consistent copy of the whole file to w while the store
// stays in use (a read transaction: writers are not blocked). The copy opens
// with Open like the original. It returns the number of bytes written.
// The audit events pending in the audit journal and the writes pending in
// the write-ahead log are written into the file first, so the copy holds
// every write acknowledged before the call.
func (s *Store) Backup(ctx context.Context, w io.Writer) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := s.applyJournal(ctx); err != nil {
		return 0, err
	}
	if err := s.Checkpoint(ctx); err != nil {
		return 0, err
	}
	var n int64
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return n, ErrClosed
	}
	return n, err
}

// Checkpoint writes the writes pending in the write-ahead log into the
// file, in one transaction. The store does so by itself (in the
// background, at Backup and at Close); after Checkpoint, the file alone
// holds every write acknowledged before the call. Without the log it does
// nothing.
func (s *Store) Checkpoint(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return ErrClosed
	}
	if s.wal == nil {
		return nil
	}
	if err := s.wal.log.Apply(ctx); err != nil {
		if errors.Is(err, journal.ErrClosed) {
			return ErrClosed
		}
		return fmt.Errorf("checkpoint the write-ahead log: %w", err)
	}
	return nil
}

// Close writes the audit events pending in the audit journal into the
// store, then the write-ahead log's records into the file (then removes
// both logs' files), waits for open transactions to end and closes the
// file.
func (s *Store) Close() error {
	if s.closed.Load() {
		return ErrClosed
	}
	var jerr error
	if j := s.journal.Load(); j != nil {
		if err := j.Close(context.Background()); err != nil && !errors.Is(err, journal.ErrClosed) {
			jerr = fmt.Errorf("close the audit journal (its events stay in its files, written at the next start): %w", err)
		}
	}
	if s.wal != nil {
		if err := s.wal.log.Close(context.Background()); err != nil && !errors.Is(err, journal.ErrClosed) {
			jerr = errors.Join(jerr, fmt.Errorf("close the write-ahead log (its writes stay in its files, written at the next Open): %w", err))
		} else if err == nil {
			jerr = errors.Join(jerr, s.markLog(false))
		}
	}
	if s.closed.Swap(true) {
		return ErrClosed
	}
	return errors.Join(jerr, s.db.Close())
}

type readTx struct {
	b *bbolt.Bucket
	// c serves Get: bbolt's Bucket.Get makes a new cursor, whose stack
	// grows from nothing, at every call; a cursor kept for the
	// transaction reuses its stack (Seek starts again from the root, so
	// writes in between do not matter). Scans use cursors of their own.
	c *bbolt.Cursor
}

func (tx *readTx) Get(key []byte) ([]byte, error) {
	if tx.c == nil {
		tx.c = tx.b.Cursor()
	}
	k, v := tx.c.Seek(key)
	if !bytes.Equal(k, key) {
		v = nil
	}
	if v == nil {
		// The bare sentinel: misses are common (every unique claim and set
		// insert probes first) and callers add their own context.
		return nil, identity.ErrNotFound
	}
	return v[:len(v):len(v)], nil
}

func (tx *readTx) Scan(prefix []byte, opts identity.ScanOptions, fn func(key, value []byte) error) error {
	return scan(tx.b, prefix, opts, nil, fn)
}

type writeTx struct {
	readTx
	writes int // Puts and Deletes so far, so that Scan sees them
}

func (tx *writeTx) Scan(prefix []byte, opts identity.ScanOptions, fn func(key, value []byte) error) error {
	return scan(tx.b, prefix, opts, &tx.writes, fn)
}

func (tx *writeTx) Put(key, value []byte) error {
	if len(key) == 0 {
		return identity.Invalid("key", "is required")
	}
	tx.writes++
	// bbolt keeps value (not key) until commit; callers may reuse it.
	return tx.b.Put(key, append(make([]byte, 0, len(value)), value...))
}

func (tx *writeTx) Delete(key []byte) error {
	if len(key) == 0 {
		return nil
	}
	tx.writes++
	return tx.b.Delete(key)
}

// scan walks the bucket with a cursor. In a write transaction fn may Put
// or Delete (writes counts them): the cursor is then repositioned after the
// key just visited, so the scan goes on in the updated data.
func scan(b *bbolt.Bucket, prefix []byte, opts identity.ScanOptions, writes *int, fn func(key, value []byte) error) error {
	if opts.After != nil && !bytes.HasPrefix(opts.After, prefix) {
		return identity.Invalid("after", "cursor must start with the scanned prefix")
	}
	c := b.Cursor()
	// seek positions c on the first key strictly after bound in the scan
	// direction; a nil bound means the start of the prefix.
	seek := func(bound []byte) ([]byte, []byte) {
		if !opts.Reverse {
			if bound == nil {
				return c.Seek(prefix)
			}
			k, v := c.Seek(bound)
			if k != nil && bytes.Equal(k, bound) {
				return c.Next()
			}
			return k, v
		}
		if bound == nil {
			if bound = identity.PrefixEnd(prefix); bound == nil {
				return c.Last()
			}
		}
		if k, _ := c.Seek(bound); k == nil {
			return c.Last()
		}
		return c.Prev()
	}
	next := c.Next
	if opts.Reverse {
		next = c.Prev
	}
	skip, visited := opts.Skip, 0
	var last []byte
	for k, v := seek(opts.After); k != nil && bytes.HasPrefix(k, prefix); {
		if skip > 0 {
			skip--
			k, v = next()
			continue
		}
		before := 0
		if writes != nil {
			last = append(last[:0], k...)
			before = *writes
		}
		if done, err := visit(fn, k, v, opts, &visited); done {
			return err
		}
		if writes != nil && *writes != before {
			k, v = seek(last)
		} else {
			k, v = next()
		}
	}
	return nil
}

// visit passes a scanned key and its value to fn (no value with
// KeysOnly, an empty one for none) and counts it in visited. It reports
// whether the scan ends there: fn stopped it (ErrStopScan: no error) or
// failed, or opts.Limit is reached.
func visit(fn func(key, value []byte) error, k, v []byte, opts identity.ScanOptions, visited *int) (bool, error) {
	if opts.KeysOnly {
		v = nil
	} else if v == nil {
		v = []byte{}
	}
	if err := fn(k[:len(k):len(k)], v[:len(v):len(v)]); err != nil {
		if errors.Is(err, identity.ErrStopScan) {
			return true, nil
		}
		return true, err
	}
	*visited++
	return opts.Limit > 0 && *visited >= opts.Limit, nil
}
