// Command gatehouse-migrate copies a Gatehouse bbolt store into
// PostgreSQL, for a host that moves from one process to several:
//
//	gatehouse-migrate -from /var/lib/gatehouse/gatehouse.db -to 'postgres://gatehouse@db/gatehouse'
//
// It opens the bbolt file read-only (so the Gatehouse process that uses it
// must be stopped: the copy is a snapshot, and later writes would be lost),
// creates or upgrades the PostgreSQL schema, copies every key and value in
// batches of -batch keys, and verifies that both sides hold the same
// number of keys with the same SHA-256 digest over keys and values in
// order. It refuses a target that already holds data.
//
// With -migrate-only it only creates or upgrades the PostgreSQL schema
// (for deployments that run migrations as a separate step).
package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/journal"
	"github.com/gatehouse-id/gatehouse/store/bolt"
	"github.com/gatehouse-id/gatehouse/store/postgres"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return // -h: the usage was printed
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse-migrate:", err)
		os.Exit(1)
	}
}

// The bbolt layout of store/bolt: one bucket of data, one of metadata
// holding the schema version as a big-endian uint64.
var (
	dataBucket = []byte("data")
	metaBucket = []byte("meta")
	schemaKey  = []byte("schema")
)

// errNotEmpty is returned when the target already holds Gatehouse data.
var errNotEmpty = errors.New("the PostgreSQL target already holds Gatehouse data")

type config struct {
	from, to, schema string
	batch            int
	migrateOnly      bool
	lockWait         time.Duration
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gatehouse-migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.StringVar(&c.from, "from", "", "the bbolt store to copy: a path, or bolt:PATH")
	fs.StringVar(&c.to, "to", "", "the PostgreSQL URL (postgres://user@host/db); $GATEHOUSE_STORE when empty")
	fs.StringVar(&c.schema, "schema", "", "the PostgreSQL schema for Gatehouse's tables (default: the search_path's first)")
	fs.IntVar(&c.batch, "batch", 2000, "keys per PostgreSQL transaction")
	fs.BoolVar(&c.migrateOnly, "migrate-only", false, "only create or upgrade the PostgreSQL schema")
	fs.DurationVar(&c.lockWait, "lock-wait", 2*time.Second, "how long to wait for the bbolt file lock")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gatehouse-migrate -from PATH -to postgres://... [-schema NAME] [-batch N]")
		fmt.Fprintln(stderr, "       gatehouse-migrate -migrate-only -to postgres://... [-schema NAME]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.to == "" {
		c.to = os.Getenv("GATEHOUSE_STORE")
	}
	if !strings.HasPrefix(c.to, "postgres://") && !strings.HasPrefix(c.to, "postgresql://") {
		fs.Usage()
		return errors.New("-to must be a postgres:// URL")
	}
	if c.batch <= 0 {
		return errors.New("-batch must be positive")
	}
	opts := []postgres.Option{postgres.WithSchema(c.schema)}
	if c.migrateOnly {
		from, err := postgres.Migrate(ctx, c.to, opts...)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "schema at version %d (was %d)\n", postgres.SchemaVersion, from)
		return nil
	}
	if c.from == "" {
		fs.Usage()
		return errors.New("-from is required")
	}
	return migrateStore(ctx, c, opts, stdout)
}

// replayJournal writes into the source file the writes its write-ahead
// log holds and the audit events its audit journal holds, when the
// Gatehouse process that used it stopped without closing it (a clean stop
// leaves neither), so that the copy has them.
func replayJournal(ctx context.Context, path string, lockWait time.Duration, stdout io.Writer) error {
	segs, err := journal.Segments(path)
	if err != nil {
		return err
	}
	logs, err := bolt.LogFiles(path)
	if err != nil {
		return err
	}
	if len(segs)+len(logs) == 0 {
		return nil
	}
	// Open replays the write-ahead log; Close writes it into the file.
	st, err := bolt.Open(ctx, path, bolt.WithTimeout(lockWait))
	if errors.Is(err, identity.ErrStoreLocked) {
		return fmt.Errorf("source %s is in use: stop the Gatehouse process that holds it, then run the copy", path)
	}
	if err != nil {
		return fmt.Errorf("source %s: %w", path, err)
	}
	n := 0
	if len(segs) > 0 {
		n, err = identity.ReplayAuditJournal(ctx, st)
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("source %s: write its logs (%s) into it: %w", path, strings.Join(append(logs, segs...), ", "), err)
	}
	if len(logs) > 0 {
		fmt.Fprintf(stdout, "wrote the source's write-ahead log into it (its process had not closed it)\n")
	}
	if len(segs) > 0 {
		fmt.Fprintf(stdout, "wrote the %d audit events of the source's journal into it (its process had not closed it)\n", n)
	}
	return nil
}

func migrateStore(ctx context.Context, c config, opts []postgres.Option, stdout io.Writer) error {
	path := strings.TrimPrefix(strings.TrimPrefix(c.from, "bolt:"), "//")
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	if err := replayJournal(ctx, path, c.lockWait, stdout); err != nil {
		return err
	}
	src, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: c.lockWait})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return fmt.Errorf("source %s is in use: stop the Gatehouse process that holds it, then run the copy", path)
	}
	if err != nil {
		return fmt.Errorf("source %s: %w", path, err)
	}
	defer src.Close()

	dst, err := postgres.Open(ctx, c.to, opts...)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	defer dst.Close()
	if n, _, err := digest(ctx, dst, 1); err != nil {
		return fmt.Errorf("target: %w", err)
	} else if n > 0 {
		return fmt.Errorf("%w; copy into an empty database or another -schema", errNotEmpty)
	}

	started := time.Now()
	var copied int64
	srcSum := sha256.New()
	err = src.View(func(btx *bbolt.Tx) error {
		if err := checkSource(btx, path); err != nil {
			return err
		}
		b := btx.Bucket(dataBucket)
		var keys, vals [][]byte
		flush := func() error {
			if len(keys) == 0 {
				return nil
			}
			if err := dst.Update(ctx, func(tx identity.Tx) error {
				for i := range keys {
					if err := tx.Put(keys[i], vals[i]); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return fmt.Errorf("copy after %d keys: %w", copied, err)
			}
			copied += int64(len(keys))
			keys, vals = keys[:0], vals[:0]
			return nil
		}
		cur := b.Cursor()
		for k, v := cur.First(); k != nil; k, v = cur.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			addDigest(srcSum, k, v)
			// Puts copy their arguments, and bbolt's memory stays valid
			// for the whole read transaction.
			keys, vals = append(keys, k), append(vals, v)
			if len(keys) >= c.batch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return flush()
	})
	if err != nil {
		return err
	}
	n, dstSum, err := digest(ctx, dst, 0)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	want := fmt.Sprintf("%x", srcSum.Sum(nil))
	if n != copied || dstSum != want {
		return fmt.Errorf("verify: the source has %d keys (sha256 %s), the target %d (sha256 %s)", copied, want, n, dstSum)
	}
	fmt.Fprintf(stdout, "copied %d keys in %s; verified: same count, sha256 %s\n", n, time.Since(started).Round(time.Millisecond), want)
	return nil
}

// checkSource refuses a file that store/bolt did not write, or wrote with
// another key layout.
func checkSource(btx *bbolt.Tx, path string) error {
	meta := btx.Bucket(metaBucket)
	if meta == nil || btx.Bucket(dataBucket) == nil {
		return fmt.Errorf("source %s is not a Gatehouse store", path)
	}
	raw := meta.Get(schemaKey)
	if len(raw) != 8 {
		return fmt.Errorf("source %s has a corrupt schema version", path)
	}
	// LogInUse without log files: the process stopped after its log was
	// written into the file, before it cleared the mark.
	if v := binary.BigEndian.Uint64(raw) &^ bolt.LogInUse; v != bolt.SchemaVersion {
		return fmt.Errorf("source %s is at bolt schema %d, this build copies schema %d: open it once with this build's Gatehouse (which migrates it), or use the matching gatehouse-migrate",
			path, v, bolt.SchemaVersion)
	}
	return nil
}

// addDigest feeds a key and value into h, length-prefixed so that no two
// different sequences hash alike.
func addDigest(h hash.Hash, k, v []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(k)))
	h.Write(n[:])
	h.Write(k)
	binary.BigEndian.PutUint64(n[:], uint64(len(v)))
	h.Write(n[:])
	h.Write(v)
}

// digest counts the keys of s (stopping after limit when limit > 0) and
// hashes them with their values in key order.
func digest(ctx context.Context, s identity.Store, limit int) (int64, string, error) {
	var n int64
	h := sha256.New()
	err := s.View(ctx, func(tx identity.ReadTx) error {
		n = 0
		h.Reset()
		return tx.Scan(nil, identity.ScanOptions{Limit: limit}, func(k, v []byte) error {
			n++
			addDigest(h, k, v)
			return nil
		})
	})
	return n, fmt.Sprintf("%x", h.Sum(nil)), err
}
