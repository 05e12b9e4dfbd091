package bolt_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/store/bolt"
	"github.com/gatehouse-id/gatehouse/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) identity.Store {
		s, err := bolt.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func openT(t *testing.T, path string, opts ...bolt.Option) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return s
}

func TestDataSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.db")
	ctx := context.Background()
	s := openT(t, path)
	set := kv.Set{Env: string(identity.Production), Parts: []string{"users"}}
	if err := s.Update(ctx, func(tx identity.Tx) error {
		if err := tx.Put([]byte("k"), []byte("v")); err != nil {
			return err
		}
		return set.Add(tx, "u1", nil)
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, path)
	defer s.Close()
	if err := s.View(ctx, func(tx identity.ReadTx) error {
		v, err := tx.Get([]byte("k"))
		if err != nil {
			return err
		}
		if string(v) != "v" {
			return fmt.Errorf("k = %q after reopen", v)
		}
		n, err := set.Count(tx)
		if err == nil && n != 1 {
			err = fmt.Errorf("set count %d after reopen", n)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func TestSecondOpenIsLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.db")
	s := openT(t, path)
	defer s.Close()
	_, err := bolt.Open(context.Background(), path, bolt.WithTimeout(100*time.Millisecond))
	if !errors.Is(err, identity.ErrStoreLocked) {
		t.Fatalf("second Open = %v, want ErrStoreLocked", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
	// A context deadline shorter than the timeout bounds the wait too.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := bolt.Open(ctx, path); !errors.Is(err, identity.ErrStoreLocked) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Open under a short deadline = %v", err)
	}
	// Once closed, the file opens again.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	openT(t, path).Close()
}

// TestSecondProcessIsLocked runs this test binary again as a child that
// holds the store open.
func TestSecondProcessIsLocked(t *testing.T) {
	if path := os.Getenv("GATEHOUSE_TEST_HOLD_STORE"); path != "" {
		s := openT(t, path)
		fmt.Println("holding")
		_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes stdin
		s.Close()
		return
	}
	path := filepath.Join(t.TempDir(), "g.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecondProcessIsLocked$")
	cmd.Env = append(os.Environ(), "GATEHOUSE_TEST_HOLD_STORE="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "holding\n" {
		t.Fatalf("child said %q, %v", line, err)
	}
	_, err = bolt.Open(context.Background(), path, bolt.WithTimeout(100*time.Millisecond))
	if !errors.Is(err, identity.ErrStoreLocked) {
		t.Fatalf("Open while another process holds the file = %v, want ErrStoreLocked", err)
	}
}

func schemaOf(t *testing.T, path string) uint64 {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v uint64
	if err := db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("meta"))
		if b == nil {
			return errors.New("no meta bucket")
		}
		v = binary.BigEndian.Uint64(b.Get([]byte("schema")))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSchemaVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.db")
	openT(t, path).Close()
	if v := schemaOf(t, path); v != bolt.SchemaVersion {
		t.Fatalf("fresh file has schema %d, want %d", v, bolt.SchemaVersion)
	}
	// Pretend a newer Gatehouse wrote the file.
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], bolt.SchemaVersion+1)
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), b[:])
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = bolt.Open(context.Background(), path)
	if !errors.Is(err, identity.ErrSchemaTooNew) {
		t.Fatalf("Open of a newer file = %v, want ErrSchemaTooNew", err)
	}
	for _, want := range []string{path, fmt.Sprintf("newer Gatehouse (schema %d)", bolt.SchemaVersion+1), fmt.Sprintf("supports %d", bolt.SchemaVersion)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if v := schemaOf(t, path); v != bolt.SchemaVersion+1 {
		t.Errorf("refused Open changed the schema to %d", v)
	}
	// The refused Open released the file.
	if _, err := bolt.Open(context.Background(), path, bolt.WithTimeout(50*time.Millisecond)); errors.Is(err, identity.ErrStoreLocked) {
		t.Error("a refused Open kept the file locked")
	}
}

func TestForeignFile(t *testing.T) {
	dir := t.TempDir()
	notBolt := filepath.Join(dir, "text.db")
	if err := os.WriteFile(notBolt, []byte(strings.Repeat("not a database\n", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := bolt.Open(context.Background(), notBolt); err == nil || !strings.Contains(err.Error(), notBolt) {
		t.Errorf("Open of a text file = %v, want an error naming it", err)
	}
	other := filepath.Join(dir, "other.db")
	db, err := bbolt.Open(other, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucket([]byte("someone-else"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := bolt.Open(context.Background(), other); err == nil {
		t.Error("Open adopted a bbolt file that Gatehouse did not create")
	}
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) identity.Store {
		s, err := bolt.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}

// BenchmarkStoreWithoutLog is BenchmarkStore on a store opened
// WithoutWriteAheadLog (each write batch a bbolt commit).
func BenchmarkStoreWithoutLog(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) identity.Store {
		s, err := bolt.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), bolt.WithoutWriteAheadLog())
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}

// BenchmarkBaseline measures bare bbolt on the same machine, so that the
// Store figures can be read as ratios.
func BenchmarkBaseline(b *testing.B) {
	open := func(b *testing.B) *bbolt.DB {
		db, err := bbolt.Open(filepath.Join(b.TempDir(), "raw.db"), 0o600, &bbolt.Options{
			Timeout: time.Second, NoFreelistSync: true, FreelistType: bbolt.FreelistMapType})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		return db
	}
	value := make([]byte, 200)
	bucket := []byte("data")
	b.Run("Get", func(b *testing.B) {
		db := open(b)
		if err := db.Update(func(tx *bbolt.Tx) error {
			bk, err := tx.CreateBucket(bucket)
			if err != nil {
				return err
			}
			for i := 0; i < 100_000; i++ {
				if err := bk.Put([]byte(fmt.Sprintf("k%09d", i)), value); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		key := []byte("k000000000")
		for i := 0; b.Loop(); i++ {
			copy(key[1:], fmt.Sprintf("%09d", (i*97)%100_000))
			if err := db.View(func(tx *bbolt.Tx) error {
				if tx.Bucket(bucket).Get(key) == nil {
					return errors.New("missing")
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Put", func(b *testing.B) {
		db := open(b)
		key := []byte("put/00000000")
		for i := 0; b.Loop(); i++ {
			copy(key[4:], fmt.Sprintf("%08d", i%100_000))
			if err := db.Update(func(tx *bbolt.Tx) error {
				bk, err := tx.CreateBucketIfNotExists(bucket)
				if err != nil {
					return err
				}
				return bk.Put(key, value)
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Batch64", func(b *testing.B) {
		db := open(b)
		db.MaxBatchDelay = 2 * time.Millisecond
		var seq atomic.Int64
		b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				key := []byte(fmt.Sprintf("b/%012d", seq.Add(1)))
				if err := db.Batch(func(tx *bbolt.Tx) error {
					bk, err := tx.CreateBucketIfNotExists(bucket)
					if err != nil {
						return err
					}
					return bk.Put(key, value)
				}); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
	})
}

func TestBackup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openT(t, filepath.Join(dir, "g.db"))
	defer s.Close()
	if err := s.Update(ctx, func(tx identity.Tx) error { return tx.Put([]byte("k"), []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "backup.db"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.Backup(ctx, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil || n == 0 {
		t.Fatalf("Backup = %d, %v", n, err)
	}
	// Writes after the backup are not in it.
	if err := s.Update(ctx, func(tx identity.Tx) error { return tx.Put([]byte("later"), []byte("x")) }); err != nil {
		t.Fatal(err)
	}
	b := openT(t, filepath.Join(dir, "backup.db"))
	defer b.Close()
	if err := b.View(ctx, func(tx identity.ReadTx) error {
		if v, err := tx.Get([]byte("k")); err != nil || string(v) != "v" {
			return fmt.Errorf("k in backup = %q, %v", v, err)
		}
		if _, err := tx.Get([]byte("later")); !errors.Is(err, identity.ErrNotFound) {
			return fmt.Errorf("backup has a later write: %v", err)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	s.Close()
	if _, err := s.Backup(ctx, io.Discard); !errors.Is(err, bolt.ErrClosed) {
		t.Errorf("Backup after Close = %v, want ErrClosed", err)
	}
}

// TestFillPercent guards the page fill of appended keys: 20,000 keys
// written in increasing order (as time-ordered ids and imports are) take
// at least a quarter less room with the default fill than with bbolt's
// own default of one half, and out-of-range values are clamped, not
// refused.
func TestFillPercent(t *testing.T) {
	ctx := context.Background()
	size := func(t *testing.T, opts ...bolt.Option) int64 {
		t.Helper()
		opts = append(opts, bolt.WithNoSync())
		s, err := bolt.Open(ctx, filepath.Join(t.TempDir(), "fill.db"), opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		value := make([]byte, 100)
		for b := range 20 {
			if err := s.Update(ctx, func(tx identity.Tx) error {
				for i := range 1000 {
					if err := tx.Put([]byte(fmt.Sprintf("r/%08d", b*1000+i)), value); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.Backup(ctx, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	half, def := size(t, bolt.WithFillPercent(0.5)), size(t)
	if def*4 > half*3 {
		t.Errorf("default fill: %d bytes, fill 0.5: %d bytes; want at most three quarters", def, half)
	}
	if low, high := size(t, bolt.WithFillPercent(-1)), size(t, bolt.WithFillPercent(7)); low < half || high > def {
		t.Errorf("clamped fills: %d (below 0.1) and %d (above 1) bytes, want >= %d and <= %d", low, high, half, def)
	}
}

// TestFreelistIsWritten guards fast opens of large files: both meta pages
// of a file written with the default options name a free-list page, so
// Open reads it instead of walking every page; WithoutFreelistSync leaves
// none (bbolt's marker, all ones).
func TestFreelistIsWritten(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		opts   []bolt.Option
		synced bool
	}{{"default", nil, true}, {"without", []bolt.Option{bolt.WithoutFreelistSync()}, false}} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f.db")
			s, err := bolt.Open(ctx, path, append(tc.opts, bolt.WithNoSync())...)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if err := s.Update(ctx, func(tx identity.Tx) error { return tx.Put([]byte(fmt.Sprint(i)), []byte("v")) }); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			page := os.Getpagesize()
			for m := range 2 {
				// meta page: 16-byte page header, magic, version, page
				// size, flags (4 bytes each), root bucket (16), freelist.
				off := m*page + 16 + 16 + 16
				free := binary.LittleEndian.Uint64(raw[off : off+8])
				if got := free != ^uint64(0); got != tc.synced {
					t.Errorf("meta %d: freelist page %x, want written %v", m, free, tc.synced)
				}
			}
		})
	}
}

// blockingWriter is a Backup destination that holds the copy (and its
// read transaction) open until release is closed.
type blockingWriter struct {
	started chan struct{}
	once    sync.Once
	release chan struct{}
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.started) })
	<-w.release
	return len(p), nil
}

// A long read (a View, or a Backup to a slow destination) stalls neither
// the writes that grow the file nor the reads that start meanwhile. bbolt
// remaps its file when it outgrows the mapping, and a remap waits for
// every open read transaction while new ones wait behind it: the store
// maps room to grow up front (WithMmapSize), so that a backup of a large
// file does not stop every sign-in.
func TestLongReadStallsNothing(t *testing.T) {
	readers := []struct {
		name string
		hold func(t *testing.T, st *bolt.Store, held chan<- struct{}, release <-chan struct{}) error
	}{
		{"view", func(t *testing.T, st *bolt.Store, held chan<- struct{}, release <-chan struct{}) error {
			return st.View(context.Background(), func(tx identity.ReadTx) error {
				if _, err := tx.Get([]byte("k000")); err != nil {
					return err
				}
				close(held)
				<-release
				return nil
			})
		}},
		{"backup", func(t *testing.T, st *bolt.Store, held chan<- struct{}, release <-chan struct{}) error {
			w := &blockingWriter{started: make(chan struct{}), release: make(chan struct{})}
			go func() {
				<-w.started
				close(held)
				<-release
				close(w.release)
			}()
			_, err := st.Backup(context.Background(), w)
			return err
		}},
	}
	for _, log := range []struct {
		name string
		opts []bolt.Option
	}{{"log", nil}, {"without log", []bolt.Option{bolt.WithoutWriteAheadLog()}}} {
		for _, rd := range readers {
			t.Run(log.name+"/"+rd.name, func(t *testing.T) {
				ctx := context.Background()
				st := openT(t, filepath.Join(t.TempDir(), "s.db"), log.opts...)
				defer st.Close()
				putT(t, st, "k000", "v")
				if err := st.Checkpoint(ctx); err != nil {
					t.Fatal(err)
				}
				held, release := make(chan struct{}), make(chan struct{})
				var once sync.Once
				free := func() { once.Do(func() { close(release) }) }
				defer free()
				readErr := make(chan error, 1)
				go func() { readErr <- rd.hold(t, st, held, release) }()
				<-held
				// 8 MiB of writes, then a checkpoint: the file grows far
				// past the 32 KiB bbolt maps for a new file.
				done := make(chan error, 1)
				go func() {
					val := strings.Repeat("x", 64<<10)
					for i := range 128 {
						err := st.Update(ctx, func(tx identity.Tx) error {
							return tx.Put(fmt.Appendf(nil, "big%03d", i), []byte(val))
						})
						if err != nil {
							done <- err
							return
						}
					}
					if err := st.Checkpoint(ctx); err != nil {
						done <- err
						return
					}
					done <- st.View(ctx, func(tx identity.ReadTx) error {
						_, err := tx.Get([]byte("big127"))
						return err
					})
				}()
				select {
				case err := <-done:
					if err != nil {
						t.Fatal(err)
					}
				case <-time.After(20 * time.Second):
					free()
					t.Fatal("the writes and the read after them waited for the long read to end")
				}
				free()
				if err := <-readErr; err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}
