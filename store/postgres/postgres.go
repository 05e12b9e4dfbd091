// Package postgres is the identity.Store for deployments that run several
// instances of the host program on one database: an ordered, transactional
// key-value table in PostgreSQL, reached through a pgx connection pool.
//
// Every Gatehouse record, unique index, sorted set, counter and expiry
// entry lives in one table, gatehouse_kv (k bytea primary key, v bytea).
// bytea sorts byte by byte like bbolt, so scans, cursors and pages behave
// exactly as on the other backends.
//
// Update runs its function in a SERIALIZABLE transaction and runs it again
// when PostgreSQL reports a serialization failure or a deadlock (SQLSTATE
// 40001, 40P01), with jittered exponential backoff, a bounded number of
// times. Serializable isolation is what keeps unique emails, single-use
// tokens, refresh-token rotation and counters exact across instances: no
// process-local lock is involved. A transaction that lost two conflicts
// runs again in a retry lane (a session advisory lock taken before BEGIN),
// so retried transactions queue instead of aborting each other over a hot
// key. Point reads and writes of a read-write transaction avoid the
// B-tree's page-wide predicate locks where they can (a hash index, plain
// INSERT and UPDATE for keys the transaction has seen), so that writers of
// neighbouring keys do not abort each other. A transaction may also ask
// for a named lane before its first read (Lane: writers of several
// instances that would abort each other queue instead), run at snapshot
// isolation (AppendOnly: writers that only insert fresh keys and update
// keys of their own, such as the audit log's batches, which SERIALIZABLE's
// page-wide read locks made abort each other without a common key), read
// several keys in one round trip (Prefetch) and skip the read of keys it
// knows to be new (Fresh); Gatehouse reaches these through internal/kv.
// View runs in a REPEATABLE READ, READ ONLY transaction: a consistent
// snapshot that never conflicts with writers.
//
// Statements are pipelined: BEGIN, writes (Put, Delete) and the next read
// or the COMMIT travel to the server in one round trip, so a write-only
// transaction costs one round trip and reads see every earlier write of
// their transaction.
//
// The schema is created and upgraded by embedded, versioned migrations
// that run on Open (see Migrate and WithoutMigrations). A database
// migrated by a newer Gatehouse is refused with an error wrapping
// identity.ErrSchemaTooNew.
//
// A lost connection or a restarting server surfaces as an error wrapping
// ErrUnavailable (and identity.ErrBusy) that the caller may retry; a
// transaction that fails before its COMMIT is sent is rolled back by the
// server and retried by Update. When the connection is lost while the
// COMMIT is in flight, the error also wraps ErrCommitUnknown.
package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse-id/gatehouse/identity"
)

// Defaults of the retry policy.
const (
	// DefaultMaxAttempts bounds how many times Update runs fn when it keeps
	// losing serialization conflicts.
	DefaultMaxAttempts = 100
	// DefaultConnRetries is how many times Update retries a transaction
	// that failed on a lost connection before its COMMIT was sent.
	DefaultConnRetries = 3
	// DefaultMinBackoff and DefaultMaxBackoff bound the jittered wait
	// between attempts; it doubles with each failed attempt.
	DefaultMinBackoff = time.Millisecond
	DefaultMaxBackoff = 100 * time.Millisecond
)

// chunkSize is how many rows Scan fetches per query.
const chunkSize = 256

// maxPending is how many writes wait to be sent before a flush.
const maxPending = 256

// Option configures Open, New and Migrate.
type Option func(*options)

type options struct {
	schema      string
	maxConns    int32
	minConns    int32
	configure   func(*pgxpool.Config)
	noMigrate   bool
	maxAttempts int
	connRetries int
	minBackoff  time.Duration
	maxBackoff  time.Duration
}

// WithSchema keeps Gatehouse's tables in the named PostgreSQL schema,
// which the migrations create if needed. Without it the tables go in the
// first schema of the connection's search_path (usually public).
func WithSchema(name string) Option { return func(o *options) { o.schema = name } }

// WithMaxConns sets the pool's maximum number of connections, overriding
// the URL's pool_max_conns (pgx's default is the larger of 4 and the number
// of CPUs).
func WithMaxConns(n int32) Option { return func(o *options) { o.maxConns = n } }

// WithMinConns sets how many idle connections the pool keeps open,
// overriding the URL's pool_min_conns.
func WithMinConns(n int32) Option { return func(o *options) { o.minConns = n } }

// WithPoolConfig lets the host adjust the parsed pool configuration
// (timeouts, TLS, tracing, connection hooks) before the pool is created.
func WithPoolConfig(fn func(*pgxpool.Config)) Option { return func(o *options) { o.configure = fn } }

// WithoutMigrations makes Open check the schema version instead of
// migrating: it fails with ErrNotMigrated on an older schema. Use it when
// migrations run as a separate step (Migrate, or gatehouse-migrate).
func WithoutMigrations() Option { return func(o *options) { o.noMigrate = true } }

// WithMaxAttempts bounds how many times Update runs fn when PostgreSQL
// reports serialization failures (default DefaultMaxAttempts).
func WithMaxAttempts(n int) Option { return func(o *options) { o.maxAttempts = n } }

// WithConnRetries sets how many times Update retries after a lost
// connection (default DefaultConnRetries; 0 disables).
func WithConnRetries(n int) Option { return func(o *options) { o.connRetries = n } }

// WithBackoff sets the bounds of the jittered wait between attempts.
func WithBackoff(minWait, maxWait time.Duration) Option {
	return func(o *options) { o.minBackoff, o.maxBackoff = minWait, maxWait }
}

func buildOptions(opts []Option) options {
	o := options{
		maxAttempts: DefaultMaxAttempts, connRetries: DefaultConnRetries,
		minBackoff: DefaultMinBackoff, maxBackoff: DefaultMaxBackoff,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.maxAttempts < 1 {
		o.maxAttempts = 1
	}
	if o.connRetries < 0 {
		o.connRetries = 0
	}
	if o.minBackoff <= 0 {
		o.minBackoff = DefaultMinBackoff
	}
	if o.maxBackoff < o.minBackoff {
		o.maxBackoff = o.minBackoff
	}
	return o
}

func poolConfig(url string, o options) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors redact the password.
		return nil, fmt.Errorf("postgres: parse connection URL: %w", err)
	}
	if o.maxConns > 0 {
		cfg.MaxConns = o.maxConns
	}
	if o.minConns > 0 {
		cfg.MinConns = o.minConns
	}
	if cfg.MinConns > cfg.MaxConns {
		cfg.MinConns = cfg.MaxConns
	}
	if o.configure != nil {
		o.configure(cfg)
	}
	return cfg, nil
}

// Store is a PostgreSQL-backed identity.Store. It is safe for concurrent
// use by many goroutines, and many Stores (in many processes) may share
// one database.
type Store struct {
	pool    *pgxpool.Pool
	ownPool bool
	o       options
	closed  atomic.Bool

	updates, conflicts, reconnects, views, roundTrips atomic.Int64

	// ending counts the read-only transactions whose COMMIT is still on
	// its way after View returned (see View); Close waits for them.
	// endMu orders View's decision to commit in the background (read
	// lock) before Close's wait (write lock).
	ending sync.WaitGroup
	endMu  sync.RWMutex

	sqlGet, sqlPut string
	table          string // quoted, schema-qualified kv table
	laneKey        int64  // advisory lock of the retry lane

	// Point statements of read-write transactions (see Put and Get).
	sqlGetPoint, sqlInsert, sqlUpdatePoint, sqlDeletePoint string
}

var _ identity.Store = (*Store)(nil)

// Open connects to the database that url names (a postgres:// URL or a
// key=value connection string; pool settings such as pool_max_conns are
// read from it), runs the migrations unless WithoutMigrations is given,
// and returns the store. Close it when done.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o := buildOptions(opts)
	cfg, err := poolConfig(url, o)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, classify(fmt.Errorf("postgres: connect: %w", err))
	}
	s, err := newStore(ctx, pool, o)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.ownPool = true
	return s, nil
}

// OpenStore is Open with the signature of store.Opener, for
// store.Open("postgres://...") and store.WithOpener. It returns a nil
// interface (not a nil *Store) on error.
func OpenStore(ctx context.Context, url string) (identity.Store, error) {
	s, err := Open(ctx, url)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// New returns a store on a pool the host already has. Close does not
// close the pool. Options that configure a pool are ignored.
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return newStore(ctx, pool, buildOptions(opts))
}

func newStore(ctx context.Context, pool *pgxpool.Pool, o options) (*Store, error) {
	if o.noMigrate {
		if err := checkVersion(ctx, pool, o.schema); err != nil {
			return nil, err
		}
	} else if _, err := migrate(ctx, pool, o.schema); err != nil {
		return nil, err
	}
	table := pgx.Identifier{"gatehouse_kv"}
	if o.schema != "" {
		table = pgx.Identifier{o.schema, "gatehouse_kv"}
	}
	s := &Store{pool: pool, o: o, table: table.Sanitize(), laneKey: laneKey(o.schema, "retry")}
	s.sqlGet = "SELECT v FROM " + s.table + " WHERE k = $1"
	// The point index (migration 0002) matches only this condition.
	s.sqlGetPoint = "SELECT v FROM " + s.table + " WHERE (k || ''::bytea) = $1"
	s.sqlInsert = "INSERT INTO " + s.table + " (k, v) VALUES ($1, $2)"
	s.sqlUpdatePoint = "UPDATE " + s.table + " SET v = $2 WHERE (k || ''::bytea) = $1"
	s.sqlDeletePoint = "DELETE FROM " + s.table + " WHERE (k || ''::bytea) = $1"
	s.sqlPut = "INSERT INTO " + s.table + " (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v"
	return s, nil
}

// laneKey is the advisory lock of the named lane in a schema.
func laneKey(schema, name string) int64 {
	h := fnv.New64a()
	if name == "retry" {
		h.Write([]byte("gatehouse-retry-lane:" + schema)) // the key before named lanes existed
	} else {
		h.Write([]byte("gatehouse-lane:" + schema + "\x00" + name))
	}
	return int64(h.Sum64())
}

// Stats are counters of a store's Update activity since Open.
type Stats struct {
	// Updates is how many Update calls returned.
	Updates int64
	// Conflicts is how many attempts lost a serialization conflict or a
	// deadlock and ran again (or gave up).
	Conflicts int64
	// Reconnects is how many attempts were retried after a lost
	// connection.
	Reconnects int64
	// Views is how many View calls returned.
	Views int64
	// RoundTrips is how many batches of statements View and Update sent
	// and waited for (a transaction's BEGIN, writes and next read or
	// COMMIT travel in one).
	RoundTrips int64
}

// Stats returns the store's counters. A high Conflicts/Updates ratio
// means transactions contend on the same keys (or on the same index
// pages; see the README's tuning notes).
func (s *Store) Stats() Stats {
	return Stats{Updates: s.updates.Load(), Conflicts: s.conflicts.Load(), Reconnects: s.reconnects.Load(),
		Views: s.views.Load(), RoundTrips: s.roundTrips.Load()}
}

// Pool returns the store's connection pool, for health checks and
// statistics.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the pool (when Open created it), waiting for connections in
// use to be released. View and Update fail with ErrClosed afterwards.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return ErrClosed
	}
	// A View that saw the store open has counted itself in ending once
	// this lock is ours (an empty critical section: a barrier); the others
	// commit before they return.
	s.endMu.Lock()
	s.endMu.Unlock()
	s.ending.Wait()
	if s.ownPool {
		s.pool.Close()
	}
	return nil
}

const (
	beginRead   = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
	beginWrite  = "BEGIN ISOLATION LEVEL SERIALIZABLE"
	beginAppend = "BEGIN ISOLATION LEVEL REPEATABLE READ"
)

// View runs fn in a REPEATABLE READ, READ ONLY transaction: a consistent
// snapshot, never blocked by writers and never retried. Errors from a lost
// connection wrap ErrUnavailable.
//
// View returns as soon as fn has returned, without waiting for the
// transaction's COMMIT, which ends it on the server meanwhile (the
// connection goes back to the pool afterwards). Every read of fn has been
// answered from the one snapshot by then, and a read-only REPEATABLE READ
// transaction has nothing left to check or write at its COMMIT, so
// nothing that View returns could depend on it: the caller saves the
// round trip's wait.
func (s *Store) View(ctx context.Context, fn func(tx identity.ReadTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return ErrClosed
	}
	defer s.views.Add(1)
	t := s.newTx(ctx, false)
	err := fn(t)
	if err == nil {
		err = t.err
	}
	if err != nil || t.conn == nil {
		t.release()
		return err
	}
	// The COMMIT's round trip is counted now, when View is done with
	// it, so that Stats does not move after View returned.
	s.roundTrips.Add(1)
	t.counted = true
	s.endMu.RLock()
	background := !s.closed.Load()
	if background {
		s.ending.Add(1)
	}
	s.endMu.RUnlock()
	if !background { // the store is closing: commit before returning
		_ = t.commit()
		t.release()
		return nil
	}
	go func() {
		defer s.ending.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		t.ctx = ctx
		_ = t.commit() // on failure release rolls back or drops the connection
		t.release()
	}()
	return nil
}

// Update runs fn in a SERIALIZABLE transaction and commits it. It runs fn
// again, after a jittered backoff, when the transaction loses a
// serialization conflict or a deadlock (up to WithMaxAttempts times; then
// the error wraps ErrTooManyRetries and identity.ErrBusy), and when the
// connection is lost before the COMMIT was sent (WithConnRetries times). If
// fn returns an error, nothing is written and that error is returned
// unchanged.
func (s *Store) Update(ctx context.Context, fn func(tx identity.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	defer s.updates.Add(1)
	connFailures, conflicts := 0, 0
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := s.backoff(ctx, attempt); err != nil {
				return err
			}
		}
		if s.closed.Load() {
			return ErrClosed
		}
		t := s.newTx(ctx, true)
		// A transaction that lost a conflict twice runs again in the
		// retry lane: such transactions queue on one advisory lock
		// instead of aborting each other over a hot key (a set count, a
		// sequence). The first retry runs beside the others: most
		// conflicts are chance meetings that a retry after a backoff
		// wins, and the lane is one queue for every instance on the
		// database, which would otherwise hold up all of them. The lane
		// only spares work; serializable isolation is still what keeps
		// the invariants.
		t.lane, t.laneKey = conflicts > 1, s.laneKey
		fnErr := fn(t)
		if fnErr == nil && t.err == nil {
			_ = t.commit()
		}
		t.release()
		dbErr := t.err
		switch {
		case dbErr == nil:
			return fnErr
		case retryable(dbErr):
			s.conflicts.Add(1)
			conflicts++
			if attempt+1 >= s.o.maxAttempts {
				return &busyError{err: dbErr}
			}
			continue
		case unavailable(dbErr) && !errors.Is(dbErr, ErrCommitUnknown) && ctx.Err() == nil:
			if connFailures < s.o.connRetries && !s.closed.Load() {
				connFailures++
				s.reconnects.Add(1)
				continue
			}
		}
		if fnErr != nil {
			return fnErr
		}
		return dbErr
	}
}

// backoff waits a random time up to min(maxBackoff, minBackoff<<attempt).
func (s *Store) backoff(ctx context.Context, attempt int) error {
	ceiling := s.o.maxBackoff
	if attempt < 30 {
		if d := s.o.minBackoff << uint(attempt); d > 0 && d < ceiling {
			ceiling = d
		}
	}
	wait := rand.N(ceiling) + 1
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// stmt is a statement waiting to be sent.
type stmt struct {
	sql  string
	args []any
}

// tx is both the read-only and the read-write transaction. Statements are
// queued and sent in one pipeline with the next read or the COMMIT. The
// connection is acquired at the first round trip, so a transaction that
// touches nothing costs nothing.
type tx struct {
	s        *Store
	ctx      context.Context
	conn     *pgxpool.Conn
	writable bool
	pending  []stmt
	sent     bool  // BEGIN went to the server
	err      error // first database error; the transaction is dead after it
	inCommit bool
	lane     bool  // take a lane before BEGIN, in the first round trip
	laneKey  int64 // the lane's advisory lock
	laneHeld bool  // the connection holds the lane's session lock
	counted  bool  // the next round trip is already counted in Stats

	scans int      // scans running (callbacks may write)
	log   [][]byte // keys written while a scan runs

	// known holds the keys this transaction has read or written, with
	// their value in it (ok false: absent). The snapshot does not move and
	// no one else writes into it, so a second Get needs no round trip.
	known map[string]entry
}

type entry struct {
	v  []byte
	ok bool
}

func (t *tx) remember(k, v []byte, ok bool) {
	if t.known == nil {
		t.known = make(map[string]entry)
	}
	t.known[string(k)] = entry{v: v, ok: ok}
}

func (s *Store) newTx(ctx context.Context, writable bool) *tx {
	t := &tx{s: s, ctx: ctx, writable: writable}
	begin := beginRead
	if writable {
		begin = beginWrite
	}
	t.pending = append(t.pending, stmt{sql: begin})
	return t
}

// roundTrip sends the pending statements and then the finals, if any,
// in one batch. When read is set the finals are queries, and read
// consumes the rows of the i-th; otherwise they are executed.
func (t *tx) roundTrip(finals []stmt, read func(i int, rows pgx.Rows) error) error {
	if t.err != nil {
		return t.err
	}
	if len(finals) == 0 && (len(t.pending) == 0 || (!t.sent && len(t.pending) == 1)) {
		return nil
	}
	if err := t.acquire(); err != nil {
		return err
	}
	if t.counted {
		t.counted = false
	} else {
		t.s.roundTrips.Add(1)
	}
	if t.lane && !t.sent {
		return t.laneRoundTrip(finals, read)
	}
	b := &pgx.Batch{}
	for _, p := range t.pending {
		b.Queue(p.sql, p.args...)
	}
	for _, f := range finals {
		b.Queue(f.sql, f.args...)
	}
	n := len(t.pending)
	t.pending = t.pending[:0]
	t.sent = true
	br := t.conn.SendBatch(t.ctx, b)
	var err error
	for i := 0; i < n && err == nil; i++ {
		_, err = br.Exec()
	}
	for i := 0; i < len(finals) && err == nil; i++ {
		if read == nil {
			_, err = br.Exec()
			continue
		}
		var rows pgx.Rows
		rows, err = br.Query()
		if err == nil {
			err = read(i, rows)
			rows.Close()
			if rerr := rows.Err(); err == nil {
				err = rerr
			}
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return t.fail(err, true)
	}
	return nil
}

// acquire takes the transaction's connection from the pool unless it has
// it already.
func (t *tx) acquire() error {
	if t.conn != nil {
		return nil
	}
	conn, err := t.s.pool.Acquire(t.ctx)
	if err != nil {
		if t.s.closed.Load() {
			err = fmt.Errorf("%w: %w", ErrClosed, err)
		}
		return t.fail(fmt.Errorf("postgres: acquire connection: %w", err), false)
	}
	t.conn = conn
	return nil
}

// laneRoundTrip is the first round trip of a transaction in a lane: the
// lane's session lock, a Sync, then BEGIN, the pending statements and the
// finals, sent together in one pipeline. The server takes the lock in a
// statement of its own (its implicit transaction ends at the Sync) and
// only then runs BEGIN and the first read, which takes the snapshot: the
// snapshot is taken once the lane is ours, as if the lock had been a
// round trip of its own, without the wait for this process to send BEGIN
// while the lane is held.
func (t *tx) laneRoundTrip(finals []stmt, read func(i int, rows pgx.Rows) error) error {
	all := append(t.pending, finals...)
	n := len(t.pending)
	t.pending = t.pending[:0]
	type encoded struct {
		vals    [][]byte
		oids    []uint32
		formats []int16
	}
	enc := make([]encoded, len(all))
	for i, st := range all {
		var err error
		if enc[i].vals, enc[i].oids, enc[i].formats, err = encodeArgs(st.args); err != nil {
			return t.fail(err, false)
		}
	}
	t.sent = true
	pc := t.conn.Conn().PgConn()
	p := pc.StartPipeline(t.ctx)
	p.SendQueryParams("SELECT pg_advisory_lock($1)", [][]byte{strconv.AppendInt(nil, t.laneKey, 10)},
		[]uint32{pgtype.Int8OID}, []int16{pgtype.TextFormatCode}, nil)
	p.SendPipelineSync()
	for i, st := range all {
		p.SendQueryParams(st.sql, enc[i].vals, enc[i].oids, enc[i].formats, []int16{pgtype.BinaryFormatCode})
	}
	p.SendPipelineSync()
	err := p.Flush()
	// Results: the lock, its Sync, each statement, the last Sync.
	next := func() (any, error) {
		if err != nil {
			return nil, err
		}
		return p.GetResults()
	}
	var res any
	if res, err = next(); err == nil {
		if rr, ok := res.(*pgconn.ResultReader); ok {
			_, err = rr.Close()
		} else {
			err = fmt.Errorf("postgres: lane lock: unexpected result %T", res)
		}
		if err == nil {
			t.laneHeld = true
		}
	}
	if err == nil {
		if res, err = next(); err == nil {
			if _, ok := res.(*pgconn.PipelineSync); !ok {
				err = fmt.Errorf("postgres: lane lock: unexpected result %T", res)
			}
		}
	}
	for i := 0; i < len(all) && err == nil; i++ {
		if res, err = next(); err != nil {
			break
		}
		rr, ok := res.(*pgconn.ResultReader)
		if !ok {
			err = fmt.Errorf("postgres: unexpected result %T", res)
			break
		}
		if i < n || read == nil {
			_, err = rr.Close()
			continue
		}
		rows := pgx.RowsFromResultReader(t.conn.Conn().TypeMap(), rr)
		err = read(i-n, rows)
		rows.Close()
		if rerr := rows.Err(); err == nil {
			err = rerr
		}
	}
	if err == nil {
		if res, err = next(); err == nil {
			if _, ok := res.(*pgconn.PipelineSync); !ok {
				err = fmt.Errorf("postgres: unexpected result %T", res)
			}
		}
	}
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if !t.laneHeld && !pc.IsClosed() {
			// The lock may or may not be held: drop the session.
			_ = pc.Close(context.WithoutCancel(t.ctx))
		}
		return t.fail(err, true)
	}
	return nil
}

// encodeArgs encodes the arguments of the statements this package sends
// for a pipeline: byte strings (keys and values) as bytea in binary, and
// integers (limits and offsets) as int8 in text.
func encodeArgs(args []any) (vals [][]byte, oids []uint32, formats []int16, err error) {
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			vals, oids, formats = append(vals, v), append(oids, pgtype.ByteaOID), append(formats, pgtype.BinaryFormatCode)
		case int:
			vals = append(vals, strconv.AppendInt(nil, int64(v), 10))
			oids, formats = append(oids, pgtype.Int8OID), append(formats, pgtype.TextFormatCode)
		case int64:
			vals = append(vals, strconv.AppendInt(nil, v, 10))
			oids, formats = append(oids, pgtype.Int8OID), append(formats, pgtype.TextFormatCode)
		case nil:
			vals, oids, formats = append(vals, nil), append(oids, 0), append(formats, pgtype.TextFormatCode)
		default:
			return nil, nil, nil, fmt.Errorf("postgres: cannot encode a %T for a pipeline", a)
		}
	}
	return vals, oids, formats, nil
}

// fail records the transaction's first database error, classified.
func (t *tx) fail(err error, sent bool) error {
	if errors.Is(err, ErrClosed) {
		t.err = err
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if cerr := t.ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w: %w", cerr, err)
		}
		t.err = err
		return err
	}
	if unavailable(err) {
		// The outcome of a COMMIT is unknown once its batch may have
		// reached the server; pgconn knows when nothing was written.
		t.err = &unavailableError{err: err, unknown: t.inCommit && sent && !pgconn.SafeToRetry(err)}
		return t.err
	}
	t.err = err
	return err
}

func (t *tx) commit() error {
	if t.err != nil {
		return t.err
	}
	if !t.sent && len(t.pending) <= 1 {
		return nil // nothing happened
	}
	t.inCommit = true
	defer func() { t.inCommit = false }()
	if !t.laneHeld {
		return t.roundTrip([]stmt{{sql: "COMMIT"}}, nil)
	}
	// The lane is released in the COMMIT's round trip; when the COMMIT
	// fails, the unlock is skipped and release sends it.
	var unlocked bool
	err := t.roundTrip([]stmt{{sql: "COMMIT"}, {sql: "SELECT pg_advisory_unlock($1)", args: []any{t.laneKey}}},
		func(i int, rows pgx.Rows) error {
			for rows.Next() {
				if i == 1 {
					if err := rows.Scan(&unlocked); err != nil {
						return err
					}
				}
			}
			return nil
		})
	if err == nil && unlocked {
		t.laneHeld = false
	}
	return err
}

// release rolls back an unfinished transaction and returns the connection
// to the pool; a connection in an unknown state is closed instead.
func (t *tx) release() {
	if t.conn == nil {
		return
	}
	conn := t.conn
	t.conn = nil
	pg := conn.Conn().PgConn()
	if !pg.IsClosed() && pg.TxStatus() != 'I' {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), 5*time.Second)
		if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
			_ = pg.Close(ctx)
		}
		cancel()
	}
	if t.laneHeld && !pg.IsClosed() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), 5*time.Second)
		var ok bool
		if err := conn.QueryRow(ctx, "SELECT pg_advisory_unlock($1)", t.laneKey).Scan(&ok); err != nil || !ok {
			_ = pg.Close(ctx) // a session lock must never outlive the transaction
		}
		cancel()
	}
	conn.Release()
}

func (t *tx) queue(sql string, args ...any) error {
	if t.err != nil {
		return t.err
	}
	t.pending = append(t.pending, stmt{sql: sql, args: args})
	if len(t.pending) >= maxPending {
		return t.roundTrip(nil, nil)
	}
	return nil
}

// Get returns the value at key, reading this transaction's own writes.
func (t *tx) Get(key []byte) ([]byte, error) {
	if t.err != nil {
		return nil, t.err
	}
	if e, hit := t.known[string(key)]; hit {
		if !e.ok {
			return nil, identity.ErrNotFound
		}
		return e.v[:len(e.v):len(e.v)], nil
	}
	var v []byte
	found := false
	q := t.s.sqlGet
	if t.writable {
		// A B-tree read would lock its whole leaf page for SERIALIZABLE's
		// conflict checks; the hash index locks one bucket.
		q = t.s.sqlGetPoint
	}
	err := t.roundTrip([]stmt{{sql: q, args: []any{key}}}, func(_ int, rows pgx.Rows) error {
		for rows.Next() {
			if err := rows.Scan(&v); err != nil {
				return err
			}
			found = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !found {
		t.remember(key, nil, false)
		return nil, identity.ErrNotFound // bare, as the other backends: misses are a hot path
	}
	if v == nil {
		v = []byte{}
	}
	t.remember(key, v, true)
	return v[:len(v):len(v)], nil
}

// Prefetch reads the keys this transaction has not read or written yet,
// in one round trip with the pending writes, so that the Gets that
// follow are answered without one each. It reads what Get would, with the
// same locks; a key it finds absent is remembered as absent.
func (t *tx) Prefetch(keys ...[]byte) error {
	if t.err != nil {
		return t.err
	}
	q := t.s.sqlGet
	if t.writable {
		q = t.s.sqlGetPoint // see Get
	}
	var finals []stmt
	var want [][]byte
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		if _, hit := t.known[string(k)]; hit || len(k) == 0 || seen[string(k)] {
			continue
		}
		seen[string(k)] = true
		k = bytes.Clone(k)
		want = append(want, k)
		finals = append(finals, stmt{sql: q, args: []any{k}})
	}
	for len(finals) > 0 {
		n := min(len(finals), maxPending)
		vals := make([][]byte, n)
		found := make([]bool, n)
		err := t.roundTrip(finals[:n], func(i int, rows pgx.Rows) error {
			for rows.Next() {
				if err := rows.Scan(&vals[i]); err != nil {
					return err
				}
				found[i] = true
			}
			return nil
		})
		if err != nil {
			return err
		}
		for i, k := range want[:n] {
			v := vals[i]
			if found[i] && v == nil {
				v = []byte{}
			}
			t.remember(k, v, found[i])
		}
		finals, want = finals[n:], want[n:]
	}
	return nil
}

// Lane queues this transaction behind every transaction, of any instance
// on the database, that is in the lane of the same name: its first round
// trip takes a session advisory lock before BEGIN (see laneRoundTrip),
// and the COMMIT's round trip releases it. Writers that would abort each
// other from several instances at once then follow each other instead of
// running again after serialization failures (the audit log's batches
// did, before they ran append-only: see AppendOnly). It works only before the transaction's first round trip (its
// first read) and reports whether it took effect (a failure to take the
// lock is the transaction's error, at its first round trip). A lane only spares work: serializable
// isolation still keeps every invariant.
func (t *tx) Lane(name string) bool {
	if !t.writable || t.sent || t.conn != nil || t.err != nil {
		return false
	}
	t.lane, t.laneKey = true, laneKey(t.s.o.schema, name)
	return true
}

// AppendOnly runs this transaction at snapshot isolation (REPEATABLE
// READ) instead of SERIALIZABLE. It is for the writers that only insert
// keys no other transaction writes (fresh ids) and read, then update,
// keys of their own (the audit log's batches, each in the count shards
// of its instance): SERIALIZABLE's read locks cover an index page or a
// hash bucket, not a key, so two such writers of several instances abort
// each other although they never touch a common key, while under
// snapshot isolation two transactions conflict only when both write one
// key (the second writer fails with a serialization failure, or a unique
// violation for an insert, and Update runs it again). What it reads and
// does not write may have changed by its COMMIT, unseen: a transaction
// whose writes depend on such a read (a unique check, a balance) must not
// use it. It works only before the transaction's first round trip and
// reports whether it took effect.
func (t *tx) AppendOnly() bool {
	if !t.writable || t.sent || t.conn != nil || t.err != nil || len(t.pending) == 0 {
		return false
	}
	t.pending[0] = stmt{sql: beginAppend} // BEGIN, not sent yet
	return true
}

// Fresh records keys as absent without reading them (see kv.Fresh): a Get
// of one answers identity.ErrNotFound with no round trip, and a Put of one
// is a plain INSERT, which fails with a unique violation (retried by
// Update) if the key exists after all. Nothing is read, so nothing is
// locked for SERIALIZABLE's checks either. Keys the transaction has read
// or written are left as they are.
func (t *tx) Fresh(keys ...[]byte) {
	if !t.writable || t.err != nil {
		return
	}
	for _, k := range keys {
		if _, hit := t.known[string(k)]; !hit && len(k) > 0 {
			t.remember(bytes.Clone(k), nil, false)
		}
	}
}

// Put queues an upsert of key; it reaches the server with the next read or
// the COMMIT.
func (t *tx) Put(key, value []byte) error {
	if !t.writable {
		return errors.New("postgres: Put in a read-only transaction")
	}
	if len(key) == 0 {
		return identity.Invalid("key", "is required")
	}
	k := bytes.Clone(key)
	v := append(make([]byte, 0, len(value)), value...)
	t.logWrite(k)
	// A key this transaction has already read or written needs no
	// upsert, whose conflict check reads (and, under SERIALIZABLE,
	// predicate-locks) the primary key's whole leaf page: the neighbours
	// of a hot key would then conflict with each other. A key known
	// absent is inserted (a concurrent insert of it fails with a unique
	// violation, retried like a serialization failure); a key known
	// present is updated through the point index, which locks one bucket.
	q := t.s.sqlPut
	if e, hit := t.known[string(k)]; hit && e.ok {
		q = t.s.sqlUpdatePoint
	} else if hit {
		q = t.s.sqlInsert
	}
	t.remember(k, v, true)
	return t.queue(q, k, v)
}

// Delete queues a delete of key.
func (t *tx) Delete(key []byte) error {
	if !t.writable {
		return errors.New("postgres: Delete in a read-only transaction")
	}
	if len(key) == 0 {
		return nil
	}
	k := bytes.Clone(key)
	e, hit := t.known[string(k)]
	if hit && !e.ok {
		return nil // known absent: nothing to delete
	}
	t.logWrite(k)
	t.remember(k, nil, false)
	return t.queue(t.s.sqlDeletePoint, k)
}

func (t *tx) logWrite(k []byte) {
	if t.scans > 0 {
		t.log = append(t.log, k)
	}
}

// scanSQL builds the query of one chunk. lower and upper say which bounds
// the query has: 0 none, 1 inclusive (>=), 2 strict (> or <).
func (s *Store) scanSQL(keysOnly, reverse bool, lower, upper int) string {
	var b strings.Builder
	b.WriteString("SELECT k")
	if !keysOnly {
		b.WriteString(", v")
	}
	b.WriteString(" FROM ")
	b.WriteString(s.table)
	var conds []string
	switch lower {
	case 1:
		conds = append(conds, "k >= $3")
	case 2:
		conds = append(conds, "k > $3")
	}
	if upper != 0 {
		conds = append(conds, "k < $4")
	}
	if len(conds) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(conds, " AND "))
	}
	b.WriteString(" ORDER BY k")
	if reverse {
		b.WriteString(" DESC")
	}
	b.WriteString(" LIMIT $1 OFFSET $2")
	return b.String()
}

// Scan visits the keys under prefix in chunks of chunkSize rows, pushing
// the range, the cursor, Skip and Limit into SQL. A callback may write: the
// scan then goes on in the updated data after the key it just visited.
func (t *tx) Scan(prefix []byte, opts identity.ScanOptions, fn func(key, value []byte) error) error {
	if opts.After != nil && !bytes.HasPrefix(opts.After, prefix) {
		return identity.Invalid("after", "cursor must start with the scanned prefix")
	}
	if t.err != nil {
		return t.err
	}
	lo := bytes.Clone(prefix)
	hi := identity.PrefixEnd(prefix)
	var cursor []byte
	if opts.After != nil {
		cursor = bytes.Clone(opts.After)
	}
	skip, remaining := max(opts.Skip, 0), max(opts.Limit, 0)
	t.scans++
	defer func() {
		if t.scans--; t.scans == 0 {
			t.log = nil
		}
	}()
	for {
		n := chunkSize
		if remaining > 0 && remaining < n {
			n = remaining
		}
		keys, vals, err := t.fetch(lo, hi, cursor, opts, skip, n)
		if err != nil {
			return err
		}
		skip = 0
		refetch := false
		mark := len(t.log)
		for i, k := range keys {
			var v []byte
			if !opts.KeysOnly {
				v = vals[i]
			}
			if err := fn(k, v); err != nil {
				if errors.Is(err, identity.ErrStopScan) {
					return nil
				}
				return err
			}
			if t.err != nil {
				return t.err
			}
			cursor = k
			if remaining > 0 {
				if remaining--; remaining == 0 {
					return nil
				}
			}
			if len(t.log) > mark {
				if t.wroteAhead(t.log[mark:], prefix, k, opts.Reverse) {
					refetch = true
					break
				}
				mark = len(t.log)
			}
		}
		if !refetch && len(keys) < n {
			return nil
		}
	}
}

// wroteAhead reports whether any of the written keys lies under prefix
// beyond cur in the scan direction, where the fetched chunk may be stale.
func (t *tx) wroteAhead(written [][]byte, prefix, cur []byte, reverse bool) bool {
	for _, w := range written {
		if !bytes.HasPrefix(w, prefix) {
			continue
		}
		c := bytes.Compare(w, cur)
		if (!reverse && c > 0) || (reverse && c < 0) {
			return true
		}
	}
	return false
}

// fetch reads one chunk: up to n keys (and values) in [lo, hi) strictly
// after cursor in the scan direction, after skipping skip keys.
func (t *tx) fetch(lo, hi, cursor []byte, opts identity.ScanOptions, skip, n int) (keys, vals [][]byte, err error) {
	var lower, upper int
	var lb, ub []byte
	if !opts.Reverse {
		switch {
		case cursor != nil:
			lower, lb = 2, cursor
		case len(lo) > 0:
			lower, lb = 1, lo
		}
		if hi != nil {
			upper, ub = 2, hi
		}
	} else {
		if len(lo) > 0 {
			lower, lb = 1, lo
		}
		switch {
		case cursor != nil:
			upper, ub = 2, cursor
		case hi != nil:
			upper, ub = 2, hi
		}
	}
	if lower == 0 && upper != 0 {
		// Parameters are numbered: with $4 in use, $3 must be too. The
		// empty key is the smallest, so k >= '' bounds nothing.
		lower, lb = 1, []byte{}
	}
	args := []any{n, skip}
	switch {
	case upper != 0:
		args = append(args, lb, ub)
	case lower != 0:
		args = append(args, lb)
	}
	q := t.s.scanSQL(opts.KeysOnly, opts.Reverse, lower, upper)
	err = t.roundTrip([]stmt{{sql: q, args: args}}, func(_ int, rows pgx.Rows) error {
		for rows.Next() {
			var k, v []byte
			var err error
			if opts.KeysOnly {
				err = rows.Scan(&k)
			} else {
				err = rows.Scan(&k, &v)
				if v == nil {
					v = []byte{}
				}
				v = v[:len(v):len(v)]
			}
			if err != nil {
				return err
			}
			keys = append(keys, k[:len(k):len(k)])
			vals = append(vals, v)
		}
		return nil
	})
	return keys, vals, err
}
