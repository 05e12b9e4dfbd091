package storetest

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// FixtureSize is the number of set members (and users) in the deep-page
// benchmark fixtures.
const FixtureSize = 100_000

// Bench runs the engine-level and user-level benchmarks against the stores
// that open returns. Stores are opened with the b passed to Bench, so that
// fixtures live for the whole run and are built once; open must not fail
// the benchmark lazily (it is called from sub-benchmarks too).
func Bench(b *testing.B, open func(b *testing.B) identity.Store) {
	b.Helper()
	var stores []identity.Store
	b.Cleanup(func() {
		for _, s := range stores {
			_ = s.Close()
		}
	})
	// fresh opens a store that lives until Bench returns.
	fresh := func() identity.Store {
		s := open(b)
		stores = append(stores, s)
		return s
	}
	setFixture := lazy(func() (identity.Store, error) {
		s := fresh()
		return s, buildSetFixture(s)
	})
	userFixture := lazy(func() (*users, error) { return buildUsers(fresh(), FixtureSize) })
	b.Run("Engine", func(b *testing.B) { benchEngine(b, fresh, setFixture) })
	b.Run("User", func(b *testing.B) { benchUsers(b, fresh, userFixture) })
}

// lazy returns a function that builds a fixture the first time a benchmark
// needs it and returns the same one afterwards.
func lazy[T any](build func() (T, error)) func(b *testing.B) T {
	var once sync.Once
	var v T
	var err error
	return func(b *testing.B) T {
		b.Helper()
		once.Do(func() {
			b.StopTimer()
			v, err = build()
			b.StartTimer()
		})
		if err != nil {
			b.Fatalf("build fixture: %v", err)
		}
		return v
	}
}

var benchSet = kv.Set{Env: string(identity.Production), Parts: []string{"bench"}}

func member(i int) string { return fmt.Sprintf("m%09d", i) }

func getKey(i int) []byte { return []byte(fmt.Sprintf("g/%09d", i)) }

// buildSetFixture adds FixtureSize members to benchSet, and FixtureSize
// raw keys with 200-byte values, in batches.
func buildSetFixture(s identity.Store) error {
	const batch = 5000
	value := benchValue()
	for start := 0; start < FixtureSize; start += batch {
		if err := s.Update(context.Background(), func(tx identity.Tx) error {
			for i := start; i < start+batch && i < FixtureSize; i++ {
				if err := benchSet.Add(tx, member(i), nil); err != nil {
					return err
				}
				if err := tx.Put(getKey(i), value); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

func benchEngine(b *testing.B, fresh func() identity.Store, fixture func(b *testing.B) identity.Store) {
	ctx := context.Background()
	value := benchValue()
	b.Run("Get", func(b *testing.B) {
		s := fixture(b)
		keys := make([][]byte, 1024)
		for i := range keys {
			keys[i] = getKey(i * 97)
		}
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			if err := s.View(ctx, func(tx identity.ReadTx) error {
				_, err := tx.Get(keys[i%len(keys)])
				return err
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Put", func(b *testing.B) {
		s := fresh()
		key := []byte("put/00000000")
		for i := 0; b.Loop(); i++ {
			copy(key[4:], fmt.Sprintf("%08d", i%100_000))
			if err := s.Update(ctx, func(tx identity.Tx) error { return tx.Put(key, value) }); err != nil {
				b.Fatal(err)
			}
		}
	})
	page := func(name string, skip int, want string) {
		b.Run(name, func(b *testing.B) {
			s := fixture(b)
			for b.Loop() {
				var got []string
				if err := s.View(ctx, func(tx identity.ReadTx) error {
					var err error
					got, err = benchSet.Page(tx, true, skip, 8)
					return err
				}); err != nil {
					b.Fatal(err)
				}
				if len(got) != 8 || got[0] != want {
					b.Fatalf("page at %d = %v, want 8 members from %s", skip, got, want)
				}
			}
		})
	}
	page("PageFirst", 0, member(FixtureSize-1))
	page("PageDeep", FixtureSize-8, member(7))
	b.Run("PageCursor", func(b *testing.B) {
		s := fixture(b)
		after := member(FixtureSize / 2)
		for b.Loop() {
			var got []string
			if err := s.View(ctx, func(tx identity.ReadTx) error {
				var err error
				got, err = benchSet.After(tx, after, true, 8)
				return err
			}); err != nil {
				b.Fatal(err)
			}
			if len(got) != 8 || got[0] != member(FixtureSize/2-1) {
				b.Fatalf("cursor page = %v", got)
			}
		}
	})
	b.Run("ConcurrentUpdate64", func(b *testing.B) {
		s := fresh()
		var seq atomic.Int64
		parallelism(b, 64)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n := seq.Add(1)
				key := []byte(fmt.Sprintf("cu/%012d", n))
				if err := s.Update(ctx, func(tx identity.Tx) error {
					if err := tx.Put(key, value); err != nil {
						return err
					}
					return benchSet.Add(tx, key2member(n), nil)
				}); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
	})
}

func benchValue() []byte {
	v := make([]byte, 200)
	for i := range v {
		v[i] = byte('a' + i%26)
	}
	return v
}

func key2member(n int64) string { return fmt.Sprintf("c%012d", n) }

// parallelism makes RunParallel use about n goroutines.
func parallelism(b *testing.B, n int) {
	p := n / max(1, runtime.GOMAXPROCS(0))
	b.SetParallelism(max(1, p))
}
