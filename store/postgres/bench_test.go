package postgres_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/store/bolt"
	"github.com/gatehouse-id/gatehouse/store/postgres"
	"github.com/gatehouse-id/gatehouse/store/storetest"
)

func openBolt(b *testing.B) identity.Store {
	s, err := bolt.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkStore runs the foundation's engine and user benchmarks against
// bolt (the baseline) and PostgreSQL in the same run, so that the figures
// read as ratios: compare BenchmarkStore/postgres/X with
// BenchmarkStore/bolt/X.
func BenchmarkStore(b *testing.B) {
	b.Run("bolt", func(b *testing.B) { storetest.Bench(b, openBolt) })
	b.Run("postgres", func(b *testing.B) {
		need(b)
		storetest.Bench(b, func(b *testing.B) identity.Store {
			return openFresh(b, postgres.WithMaxConns(16))
		})
	})
}

// BenchmarkInstances measures concurrent write throughput with 64 writers
// spread over one or two instances (stores with their own pools on the
// same database), beside bolt's single instance. "Distinct" writers touch
// disjoint keys; "Shared" writers also add to one sorted set, whose
// maintained count every transaction updates (the worst case: every pair
// of transactions conflicts, and PostgreSQL serializes them by retries).
func BenchmarkInstances(b *testing.B) {
	value := make([]byte, 200)
	set := kv.Set{Env: string(identity.Production), Parts: []string{"bench-shared"}}
	workloads := []struct {
		name string
		fn   func(tx identity.Tx, n int64) error
	}{
		{"Distinct", func(tx identity.Tx, n int64) error {
			return tx.Put([]byte(fmt.Sprintf("d/%012d", n)), value)
		}},
		{"Shared", func(tx identity.Tx, n int64) error {
			if err := tx.Put([]byte(fmt.Sprintf("s/%012d", n)), value); err != nil {
				return err
			}
			return set.Add(tx, fmt.Sprintf("%012d", n), nil)
		}},
	}
	run := func(b *testing.B, stores []identity.Store, fn func(tx identity.Tx, n int64) error) {
		var seq atomic.Int64
		b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			s := stores[int(seq.Load())%len(stores)]
			for pb.Next() {
				n := seq.Add(1)
				if len(stores) > 1 {
					s = stores[n%int64(len(stores))]
				}
				if err := s.Update(context.Background(), func(tx identity.Tx) error { return fn(tx, n) }); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
	}
	for _, w := range workloads {
		b.Run(w.name+"/bolt", func(b *testing.B) {
			s := openBolt(b)
			defer s.Close()
			run(b, []identity.Store{s}, w.fn)
		})
		for _, n := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/postgres-%dx", w.name, n), func(b *testing.B) {
				c := need(b)
				schema := freshSchema()
				var stores []identity.Store
				for range n {
					s, err := postgres.Open(context.Background(), c.URL("postgres"), postgres.WithSchema(schema), postgres.WithMaxConns(16))
					if err != nil {
						b.Fatal(err)
					}
					defer s.Close()
					stores = append(stores, s)
				}
				run(b, stores, w.fn)
				var u, conflicts int64
				for _, s := range stores {
					st := s.(*postgres.Store).Stats()
					u, conflicts = u+st.Updates, conflicts+st.Conflicts
				}
				b.ReportMetric(float64(conflicts)/float64(max(u, 1)), "retries/update")
			})
		}
	}
}

// BenchmarkView measures read-only transactions one after another (a
// pool of 2 connections): one point read, and four dependent ones (the
// shape of a client authentication). Each costs its reads' round trips
// (BEGIN rides with the first) and a COMMIT, which View does not wait
// for: the next View takes the other connection meanwhile.
func BenchmarkView(b *testing.B) {
	need(b)
	s := openFresh(b, postgres.WithMaxConns(2))
	ctx := context.Background()
	keys := [][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d")}
	if err := s.Update(ctx, func(tx identity.Tx) error {
		for _, k := range keys {
			if err := tx.Put(k, []byte("value")); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1, 4} {
		b.Run(fmt.Sprintf("reads=%d", n), func(b *testing.B) {
			for b.Loop() {
				if err := s.View(ctx, func(tx identity.ReadTx) error {
					for _, k := range keys[:n] {
						if _, err := tx.Get(k); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
