package bolt_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/internal/testkit"
	"github.com/gatehouse-id/gatehouse/store/bolt"
	"github.com/gatehouse-id/gatehouse/store/memory"
	"github.com/gatehouse-id/gatehouse/store/storetest"
	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// The store's contract holds without the write-ahead log too (every
// batch its own bbolt transaction).
func TestConformanceWithoutWriteAheadLog(t *testing.T) {
	storetest.Run(t, func(t *testing.T) identity.Store {
		s, err := bolt.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), bolt.WithoutWriteAheadLog())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// dump returns every key and value of st, scanned in order.
func dump(t *testing.T, st identity.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := st.View(context.Background(), func(tx identity.ReadTx) error {
		return tx.Scan(nil, identity.ScanOptions{}, func(k, v []byte) error {
			out[string(k)] = string(v)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLogReadsMatchMemory runs the same random writes and reads against
// the store and against store/memory, with checkpoints at random points
// (so that reads merge the memtable, bbolt, the batch's and the
// function's own writes), and expects every Get and Scan (forward and
// reverse, with After, Skip, Limit and KeysOnly) to answer the same.
func TestLogReadsMatchMemory(t *testing.T) {
	ctx := context.Background()
	st := openT(t, filepath.Join(t.TempDir(), "s.db"))
	defer st.Close()
	ref := memory.New()
	defer ref.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	key := func(rng *rand.Rand) []byte {
		const alphabet = "ab\xff"
		k := make([]byte, 1+rng.IntN(3))
		for i := range k {
			k[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return k
	}
	// reads runs random reads in tx and returns what they saw.
	reads := func(rng *rand.Rand, tx identity.ReadTx) (string, error) {
		var b strings.Builder
		for range 4 {
			k := key(rng)
			v, err := tx.Get(k)
			fmt.Fprintf(&b, "get %q %q %v;", k, v, errors.Is(err, identity.ErrNotFound))
			prefix := key(rng)[:rng.IntN(2)]
			opts := identity.ScanOptions{Reverse: rng.IntN(2) == 0, Skip: rng.IntN(3) * rng.IntN(2),
				Limit: rng.IntN(4), KeysOnly: rng.IntN(4) == 0}
			if rng.IntN(3) == 0 {
				opts.After = append(append([]byte(nil), prefix...), key(rng)...)
			}
			fmt.Fprintf(&b, "scan %q %+v:", prefix, opts)
			if err := tx.Scan(prefix, opts, func(k, v []byte) error {
				fmt.Fprintf(&b, " %q=%q", k, v)
				return nil
			}); err != nil {
				return "", err
			}
			b.WriteString(";")
		}
		return b.String(), nil
	}
	for round := range 400 {
		seed := rng.Uint64()
		var seen [2]string
		for i, s := range []identity.Store{st, ref} {
			r := rand.New(rand.NewPCG(seed, 0))
			fail := r.IntN(8) == 0
			err := s.Update(ctx, func(tx identity.Tx) error {
				var b strings.Builder
				for range 1 + r.IntN(6) {
					k := []byte{"ab\xff"[r.IntN(3)], "ab\xff"[r.IntN(3)]}[:1+r.IntN(2)]
					if r.IntN(3) == 0 {
						if err := tx.Delete(k); err != nil {
							return err
						}
					} else if err := tx.Put(k, fmt.Appendf(nil, "v%d", r.IntN(100))); err != nil {
						return err
					}
				}
				// A scan that deletes or rewrites the key it visits.
				if err := tx.Scan([]byte("a"), identity.ScanOptions{}, func(k, v []byte) error {
					fmt.Fprintf(&b, " %q=%q", k, v)
					if r.IntN(4) == 0 {
						return tx.Delete(k)
					}
					return tx.Put(k, append(v[:len(v):len(v)], '+'))
				}); err != nil {
					return err
				}
				seen[i] = b.String()
				if fail {
					return errors.New("rolled back")
				}
				return nil
			})
			if fail != (err != nil) {
				t.Fatalf("round %d: update: %v", round, err)
			}
		}
		if seen[0] != seen[1] {
			t.Fatalf("round %d: a write transaction's scan saw\n%s\nwant\n%s", round, seen[0], seen[1])
		}
		if rng.IntN(10) == 0 {
			if err := st.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
		}
		seed = rng.Uint64()
		for i, s := range []identity.Store{st, ref} {
			err := s.View(ctx, func(tx identity.ReadTx) error {
				var err error
				seen[i], err = reads(rand.New(rand.NewPCG(seed, 1)), tx)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if seen[0] != seen[1] {
			t.Fatalf("round %d: reads saw\n%s\nwant\n%s", round, seen[0], seen[1])
		}
	}
	got, want := dump(t, st), dump(t, ref)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("contents %v, want %v", got, want)
	}
}

// Every View is a consistent snapshot while writers move money between
// accounts and checkpoints write the log into bbolt: the balances, read
// by Get and by Scan, always add up.
func TestLogSnapshotsAreConsistent(t *testing.T) {
	ctx := context.Background()
	st := openT(t, filepath.Join(t.TempDir(), "s.db"))
	defer st.Close()
	const accounts, each = 10, 100
	acct := func(i int) []byte { return fmt.Appendf(nil, "acct/%02d", i) }
	bal := func(v []byte) int { return int(binary.BigEndian.Uint64(v)) }
	enc := func(n int) []byte { return binary.BigEndian.AppendUint64(nil, uint64(n)) }
	if err := st.Update(ctx, func(tx identity.Tx) error {
		for i := range accounts {
			if err := tx.Put(acct(i), enc(each)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 9))
			for range 300 {
				from, to := r.IntN(accounts), r.IntN(accounts)
				if err := st.Update(ctx, func(tx identity.Tx) error {
					a, err := tx.Get(acct(from))
					if err != nil {
						return err
					}
					if err := tx.Put(acct(from), enc(bal(a)-1)); err != nil {
						return err
					}
					b, err := tx.Get(acct(to))
					if err != nil {
						return err
					}
					return tx.Put(acct(to), enc(bal(b)+1))
				}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	var readers sync.WaitGroup
	// until runs f in a goroutine of its own until stop closes or f
	// returns false.
	until := func(f func() bool) {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if !f() {
					return
				}
			}
		}()
	}
	for r := range 3 {
		round := r
		until(func() bool {
			round++
			var byScan, byGet, n int
			if err := st.View(ctx, func(tx identity.ReadTx) error {
				if err := tx.Scan([]byte("acct/"), identity.ScanOptions{Reverse: round%2 == 0}, func(_, v []byte) error {
					byScan += bal(v)
					n++
					return nil
				}); err != nil {
					return err
				}
				for i := range accounts {
					v, err := tx.Get(acct(i))
					if err != nil {
						return err
					}
					byGet += bal(v)
				}
				return nil
			}); err != nil {
				t.Error(err)
				return false
			}
			if byScan != accounts*each || byGet != accounts*each || n != accounts {
				t.Errorf("a snapshot saw %d accounts holding %d (scan) and %d (get), want %d", n, byScan, byGet,
					accounts*each)
				return false
			}
			return true
		})
	}
	until(func() bool {
		if err := st.Checkpoint(ctx); err != nil {
			t.Error(err)
			return false
		}
		return true
	})
	wg.Wait()
	close(stop)
	readers.Wait()
}

// copyLogged copies the store file and its write-ahead log's files while
// the store is open: what a machine that stopped at that moment leaves on
// its disk.
func copyLogged(t *testing.T, path string) string {
	t.Helper()
	files, err := bolt.LogFiles(path)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "copy.db")
	for _, f := range append([]string{path}, files...) {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+f[len(path):], raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func getT(t *testing.T, st identity.Store, key string) (string, bool) {
	t.Helper()
	var out []byte
	err := st.View(context.Background(), func(tx identity.ReadTx) error {
		v, err := tx.Get([]byte(key))
		out = bytes.Clone(v)
		return err
	})
	if errors.Is(err, identity.ErrNotFound) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), true
}

func putT(t *testing.T, st identity.Store, key, val string) {
	t.Helper()
	if err := st.Update(context.Background(), func(tx identity.Tx) error {
		return tx.Put([]byte(key), []byte(val))
	}); err != nil {
		t.Fatal(err)
	}
}

// A store copied while open (a crash) holds every acknowledged write
// once opened: the log is replayed into the file, and its files are gone
// after Close. Opening the copy without the log is refused rather than
// silently missing the writes.
func TestLogCrashCopy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	st := openT(t, path)
	defer st.Close()
	putT(t, st, "kept", "in the file")
	if err := st.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	putT(t, st, "logged", "in the log only")
	putT(t, st, "kept", "rewritten in the log")
	if err := st.Update(context.Background(), func(tx identity.Tx) error { return tx.Delete([]byte("gone")) }); err != nil {
		t.Fatal(err)
	}
	cp := copyLogged(t, path)
	if _, err := bolt.Open(context.Background(), cp, bolt.WithoutWriteAheadLog()); err == nil ||
		!strings.Contains(err.Error(), "write-ahead log") {
		t.Fatalf("open without the log: %v, want a refusal", err)
	}
	r := openT(t, cp)
	for k, want := range map[string]string{"kept": "rewritten in the log", "logged": "in the log only"} {
		if got, ok := getT(t, r, k); !ok || got != want {
			t.Fatalf("%s = %q %t, want %q", k, got, ok, want)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if files, _ := bolt.LogFiles(cp); len(files) != 0 {
		t.Fatalf("log files after Close: %v", files)
	}
	r = openT(t, cp, bolt.WithoutWriteAheadLog())
	defer r.Close()
	if got, _ := getT(t, r, "logged"); got != "in the log only" {
		t.Fatalf("after Close, the file alone holds %q", got)
	}
}

// A batch too large for the log is written straight into the file, and
// an older logged write of the same key is not replayed over it after a
// crash (the checkpoint marker).
func TestLogLargeBatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	st := openT(t, path)
	defer st.Close()
	putT(t, st, "k", "small")
	big := strings.Repeat("x", 2<<20)
	before := st.CommitStats()
	putT(t, st, "k", big)
	if d := st.CommitStats().Sub(before); d.Pages == 0 {
		t.Fatalf("a 2 MiB write wrote no page into the file: %+v", d)
	}
	putT(t, st, "after", "logged")
	r := openT(t, copyLogged(t, path))
	defer r.Close()
	if got, _ := getT(t, r, "k"); got != big {
		t.Fatalf("k holds %d bytes after the crash, want the large write's %d", len(got), len(big))
	}
	if got, _ := getT(t, r, "after"); got != "logged" {
		t.Fatalf("after = %q", got)
	}
}

// A function that fails in a batch leaves nothing; the others of its
// batch commit.
func TestLogFailedFunctionInBatch(t *testing.T) {
	ctx := context.Background()
	st := openT(t, filepath.Join(t.TempDir(), "s.db"))
	defer st.Close()
	var wg sync.WaitGroup
	release := holdWriter(t, st, &wg)
	errBoom := errors.New("boom")
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := st.Update(ctx, func(tx identity.Tx) error {
				if err := tx.Put(fmt.Appendf(nil, "k%d", i), []byte("v")); err != nil {
					return err
				}
				if i%2 == 1 {
					return errBoom
				}
				return nil
			})
			if (i%2 == 1) != errors.Is(err, errBoom) {
				t.Errorf("update %d: %v", i, err)
			}
		}()
	}
	release()
	wg.Wait()
	for i := range 6 {
		if _, ok := getT(t, st, fmt.Sprintf("k%d", i)); ok != (i%2 == 0) {
			t.Fatalf("k%d stored: %t", i, ok)
		}
	}
}

// A store closed refuses reads and writes with ErrClosed.
func TestLogClosed(t *testing.T) {
	st := openT(t, filepath.Join(t.TempDir(), "s.db"))
	putT(t, st, "k", "v")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Update(context.Background(), func(tx identity.Tx) error { return tx.Put([]byte("k"), nil) }); !errors.Is(err, bolt.ErrClosed) {
		t.Fatalf("Update after Close: %v", err)
	}
	if err := st.View(context.Background(), func(identity.ReadTx) error { return nil }); !errors.Is(err, bolt.ErrClosed) {
		t.Fatalf("View after Close: %v", err)
	}
}

// A process killed (SIGKILL) while 8 goroutines write loses none of the
// writes it acknowledged: the next Open replays them from the log.
func TestLogKilledProcess(t *testing.T) {
	if path := os.Getenv("GATEHOUSE_TEST_WAL_CHILD"); path != "" {
		st := openT(t, path)
		ackWriters(func(k string) error {
			return st.Update(context.Background(), func(tx identity.Tx) error {
				return tx.Put([]byte(k), []byte("v-"+k))
			})
		})
		return
	}
	path := filepath.Join(t.TempDir(), "s.db")
	acked := killedChild(t, "TestLogKilledProcess", 3000, "GATEHOUSE_TEST_WAL_CHILD="+path)
	st := openT(t, path)
	defer st.Close()
	got := dump(t, st)
	for k := range acked {
		if got[k] != "v-"+k {
			t.Fatalf("acknowledged write %s holds %q after the restart", k, got[k])
		}
	}
	t.Logf("%d writes acknowledged before the kill, %d in the store after the restart", len(acked), len(got))
}

// A file put back in place of a later state of itself (an older copy
// restored over a store whose process was killed) is refused while the
// log beside it continues that later state, not the copy: replaying it
// would skip the writes in between.
func TestLogOfALaterStateIsRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	st := openT(t, path)
	defer st.Close()
	putT(t, st, "a", "1")
	if err := st.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	older, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Over a segment's worth of records, then a checkpoint: the full
	// segment is removed, and the log now starts after the older copy's
	// last record.
	chunk := strings.Repeat("x", 900<<10)
	for i := range 6 {
		putT(t, st, fmt.Sprintf("big%d", i), chunk)
	}
	if err := st.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	putT(t, st, "b", "2")
	cp := copyLogged(t, path)
	if err := os.WriteFile(cp, older, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := bolt.Open(ctx, cp); err == nil || !strings.Contains(err.Error(), "belongs to a later state") {
		t.Fatalf("open an older file beside a later log: %v, want a refusal", err)
	}
	// The file itself beside the same log opens, with every write.
	putT(t, st, "c", "3")
	cp2 := copyLogged(t, path)
	r := openT(t, cp2)
	defer r.Close()
	if got, _ := getT(t, r, "c"); got != "3" {
		t.Fatalf("c = %q", got)
	}
}

// Bulk writes (kv.WithBulk: the audit journal's writer, imports) go
// straight into the file, with what the log held before them, and
// survive a crash.
func TestLogBulkWrites(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	st := openT(t, path)
	defer st.Close()
	putT(t, st, "k", "logged")
	before := st.CommitStats()
	if err := st.Update(kv.WithBulk(ctx), func(tx identity.Tx) error {
		return tx.Put([]byte("bulk"), []byte("direct"))
	}); err != nil {
		t.Fatal(err)
	}
	if d := st.CommitStats().Sub(before); d.Pages == 0 || d.Checkpoints != 1 {
		t.Fatalf("a bulk write: %+v, want pages written and the log checkpointed first", d)
	}
	if files, _ := bolt.LogFiles(path); len(files) != 1 {
		t.Fatalf("log files %v", files)
	}
	r := openT(t, copyLogged(t, path), bolt.WithoutWriteAheadLog())
	defer r.Close()
	for k, want := range map[string]string{"k": "logged", "bulk": "direct"} {
		if got, _ := getT(t, r, k); got != want {
			t.Fatalf("the file alone holds %s = %q, want %q", k, got, want)
		}
	}
}

// The log of another store, put beside a file, is refused rather than
// replayed into it: every record carries its store's log id.
func TestLogOfAnotherStoreIsRefused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	sb := openT(t, b)
	putT(t, sb, "mine", "b")
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	sa := openT(t, a)
	defer sa.Close()
	putT(t, sa, "theirs", "a") // in a's log only
	files, err := bolt.LogFiles(a)
	if err != nil || len(files) == 0 {
		t.Fatalf("a's log files: %v, %v", files, err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(b+f[len(a):], raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bolt.Open(ctx, b); err == nil || !strings.Contains(err.Error(), "another store") {
		t.Fatalf("open beside another store's log: %v, want a refusal", err)
	}
}

// While a store is open, its file's schema version carries LogInUse, so
// a build from before the log refuses a file whose log may hold writes
// (as one from a newer Gatehouse) instead of missing them; a clean Close,
// or an Open without the log that finds it fully applied, clears it.
func TestLogMarksTheSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	st := openT(t, path)
	putT(t, st, "k", "v")
	cp := copyLogged(t, path)
	if v := schemaOf(t, cp); v != bolt.SchemaVersion|bolt.LogInUse || v <= bolt.SchemaVersion {
		t.Fatalf("the file of an open store has schema %#x, want %#x (above %d, which older builds refuse)", v,
			bolt.SchemaVersion|bolt.LogInUse, bolt.SchemaVersion)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if v := schemaOf(t, path); v != bolt.SchemaVersion {
		t.Fatalf("after Close: schema %#x, want %d", v, bolt.SchemaVersion)
	}
	r := openT(t, cp) // this build reads the mark, and replays
	if got, _ := getT(t, r, "k"); got != "v" {
		t.Fatalf("k = %q", got)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if v := schemaOf(t, cp); v != bolt.SchemaVersion {
		t.Fatalf("the copy after Close: schema %#x", v)
	}
}

// A checkpoint that fails leaves every write readable, under the writes
// made while it ran, and the next checkpoint writes them all.
func TestLogFailedCheckpoint(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	st := openT(t, path)
	for i := range 50 {
		putT(t, st, fmt.Sprintf("k%02d", i), "v1")
	}
	errDisk := errors.New("disk full")
	bolt.FailCheckpoints(st, func() error {
		// A write that lands in the memtable while the checkpoint runs.
		putT(t, st, "k01", "during")
		return errDisk
	})
	if err := st.Checkpoint(ctx); !errors.Is(err, errDisk) {
		t.Fatalf("Checkpoint = %v, want %v", err, errDisk)
	}
	bolt.FailCheckpoints(st, nil)
	putT(t, st, "k02", "after")
	putT(t, st, "k50", "after")
	want := map[string]string{}
	for i := range 50 {
		want[fmt.Sprintf("k%02d", i)] = "v1"
	}
	want["k01"], want["k02"], want["k50"] = "during", "after", "after"
	check := func(st identity.Store, when string) {
		t.Helper()
		if got := dump(t, st); !maps.Equal(got, want) {
			t.Fatalf("%s: the store holds %v, want %v", when, got, want)
		}
		for k, v := range want {
			if got, ok := getT(t, st, k); !ok || got != v {
				t.Fatalf("%s: Get(%s) = %q, %t, want %q", when, k, got, ok, v)
			}
		}
	}
	check(st, "after the failed checkpoint")
	if err := st.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	check(st, "after the next checkpoint")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openT(t, path, bolt.WithoutWriteAheadLog())
	defer st.Close()
	check(st, "reopened without the log")
}

// Keys and values bbolt would refuse are refused by Put, with or without
// the log, and nothing of their transaction is stored.
func TestLogRefusesWhatTheFileWould(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []bolt.Option
	}{{"log", nil}, {"without log", []bolt.Option{bolt.WithoutWriteAheadLog()}}} {
		t.Run(tc.name, func(t *testing.T) {
			st := openT(t, filepath.Join(t.TempDir(), "s.db"), tc.opts...)
			defer st.Close()
			err := st.Update(context.Background(), func(tx identity.Tx) error {
				if err := tx.Put([]byte("a"), []byte("v")); err != nil {
					return err
				}
				return tx.Put(bytes.Repeat([]byte("k"), bbolt.MaxKeySize+1), []byte("v"))
			})
			if !errors.Is(err, bolterrors.ErrKeyTooLarge) {
				t.Fatalf("Update = %v, want %v", err, bolterrors.ErrKeyTooLarge)
			}
			if _, ok := getT(t, st, "a"); ok {
				t.Fatal("the failed transaction's other write is stored")
			}
			if err := st.Checkpoint(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A background checkpoint that fails, which no caller hears of, is
// logged (WithLogger), and the writes stay readable.
func TestLogReportsFailedCheckpoints(t *testing.T) {
	var out testkit.Buffer
	st := openT(t, filepath.Join(t.TempDir(), "s.db"), bolt.WithLogger(slog.New(slog.NewTextHandler(&out, nil))))
	bolt.FailCheckpoints(st, func() error { return errors.New("disk full") })
	putT(t, st, "k", "v") // arms the background checkpoint (checkpointAge)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "disk full"); {
		if time.Now().After(deadline) {
			t.Fatalf("no failed checkpoint logged; the log holds %q", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "level=ERROR") || !strings.Contains(out.String(), "write-ahead log") {
		t.Fatalf("log = %q", out.String())
	}
	if v, ok := getT(t, st, "k"); !ok || v != "v" {
		t.Fatalf("k = %q, %t after the failed checkpoint", v, ok)
	}
	bolt.FailCheckpoints(st, nil)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "level=ERROR"); n != 1 {
		t.Fatalf("%d failures logged, want 1 (at most one per ten seconds): %q", n, out.String())
	}
}

// A store closed while a background checkpoint is due logs nothing when
// that checkpoint finds the log closed: Close wrote everything.
func TestLogClosedWithACheckpointDue(t *testing.T) {
	var out testkit.Buffer
	st := openT(t, filepath.Join(t.TempDir(), "s.db"), bolt.WithLogger(slog.New(slog.NewTextHandler(&out, nil))))
	putT(t, st, "k", "v") // arms the background checkpoint (checkpointAge)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // past checkpointAge
	if out.String() != "" {
		t.Fatalf("logged after Close: %q", out.String())
	}
}

// A write logged after a checkpoint has its records but before it freezes
// the memtable goes into the file with them: the marker then passes the
// records the checkpoint was given, the next checkpoint finds nothing left
// to write, and a crash in between replays nothing twice.
func TestLogCheckpointPastItsRecords(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	st := openT(t, path)
	defer st.Close()
	putT(t, st, "a", "1")
	var once sync.Once
	bolt.BeforeFreeze(st, func() { once.Do(func() { putT(t, st, "b", "2") }) })
	before := st.CommitStats()
	if err := st.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	bolt.BeforeFreeze(st, nil)
	if got := st.CommitStats().Sub(before).Checkpoints; got != 1 {
		t.Fatalf("%d checkpoints, want 1", got)
	}
	// The file alone holds both writes, while the log still lists b.
	cp := copyLogged(t, path)
	raw, err := os.ReadFile(cp)
	if err != nil {
		t.Fatal(err)
	}
	only := filepath.Join(t.TempDir(), "only.db")
	if err := os.WriteFile(only, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	f := openT(t, only, bolt.WithoutWriteAheadLog())
	if got := dump(t, f); !maps.Equal(got, map[string]string{"a": "1", "b": "2"}) {
		t.Fatalf("the file holds %v", got)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// A crash now: the copy's log lists b again, at or below the marker.
	r := openT(t, cp)
	if got := dump(t, r); !maps.Equal(got, map[string]string{"a": "1", "b": "2"}) {
		t.Fatalf("after the replay: %v", got)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	// The next checkpoint finds b written already: no bbolt transaction.
	before = st.CommitStats()
	if err := st.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if got := st.CommitStats().Sub(before).Checkpoints; got != 0 {
		t.Fatalf("%d checkpoints for records already written, want 0", got)
	}
	if n, err := bolt.LogFiles(path); err != nil || len(n) == 0 {
		t.Fatalf("log files of the running store: %v, %v", n, err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if n, _ := bolt.LogFiles(path); len(n) != 0 {
		t.Fatalf("log files left after Close: %v", n)
	}
}
