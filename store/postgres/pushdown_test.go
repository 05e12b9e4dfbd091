package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/store/postgres"
)

// tracer records the round trips (batches) a store makes and the
// statements in them.
type tracer struct {
	mu      sync.Mutex
	batches int
	stmts   []traced
}

type traced struct {
	sql  string
	args []any
}

func (tr *tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (tr *tracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (tr *tracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	tr.mu.Lock()
	tr.batches++
	tr.mu.Unlock()
	return ctx
}

func (tr *tracer) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	tr.mu.Lock()
	tr.stmts = append(tr.stmts, traced{sql: d.SQL, args: d.Args})
	tr.mu.Unlock()
}

func (tr *tracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (tr *tracer) reset() {
	tr.mu.Lock()
	tr.batches, tr.stmts = 0, nil
	tr.mu.Unlock()
}

// selects returns the SELECT statements recorded since the last reset.
func (tr *tracer) selects() []traced {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []traced
	for _, s := range tr.stmts {
		if strings.HasPrefix(s.sql, "SELECT k") {
			out = append(out, s)
		}
	}
	return out
}

func TestRoundTripsAndPushdown(t *testing.T) {
	tr := &tracer{}
	s := openFresh(t, postgres.WithPoolConfig(func(c *pgxpool.Config) { c.ConnConfig.Tracer = tr }))
	defer s.Close()
	ctx := context.Background()

	tr.reset()
	if err := s.Update(ctx, func(tx identity.Tx) error {
		for i := 0; i < 600; i++ {
			if err := tx.Put([]byte(fmt.Sprintf("p/%04d", i)), []byte("v")); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// 600 writes are sent 256 at a time; BEGIN rides with the first batch
	// and COMMIT with the last.
	if tr.batches != 3 {
		t.Errorf("a write-only transaction of 600 Puts took %d round trips, want 3", tr.batches)
	}

	tr.reset()
	if err := s.View(ctx, func(identity.ReadTx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if tr.batches != 0 {
		t.Errorf("an empty View made %d round trips, want 0", tr.batches)
	}

	tr.reset()
	if err := s.Update(ctx, func(tx identity.Tx) error { return tx.Put([]byte("one"), []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	if tr.batches != 1 {
		t.Errorf("a one-Put Update made %d round trips, want 1 (BEGIN, INSERT, COMMIT pipelined)", tr.batches)
	}

	tr.reset()
	if err := s.Update(ctx, func(tx identity.Tx) error {
		c := kv.Counter{Name: "n"}
		for i := 0; i < 5; i++ {
			if _, err := c.Next(tx); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if tr.batches != 2 {
		t.Errorf("five increments of one counter made %d round trips, want 2 (one read, then the commit)", tr.batches)
	}

	tests := []struct {
		name    string
		opts    identity.ScanOptions
		visited int
		queries int
		first   []any // LIMIT, OFFSET of the first query
	}{
		{"skip and limit", identity.ScanOptions{Skip: 100, Limit: 10}, 10, 1, []any{10, 100}},
		{"reverse deep page", identity.ScanOptions{Reverse: true, Skip: 590, Limit: 20, KeysOnly: true}, 10, 1, []any{20, 590}},
		{"full scan in chunks", identity.ScanOptions{KeysOnly: true}, 600, 3, []any{256, 0}},
		{"cursor", identity.ScanOptions{After: []byte("p/0500"), Limit: 5}, 5, 1, []any{5, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr.reset()
			n := 0
			if err := s.View(ctx, func(tx identity.ReadTx) error {
				return tx.Scan([]byte("p/"), tc.opts, func(_, _ []byte) error { n++; return nil })
			}); err != nil {
				t.Fatal(err)
			}
			q := tr.selects()
			if n != tc.visited || len(q) != tc.queries {
				t.Fatalf("visited %d keys with %d queries, want %d with %d", n, len(q), tc.visited, tc.queries)
			}
			if got := q[0].args[:2]; fmt.Sprint(got) != fmt.Sprint(tc.first) {
				t.Errorf("first query's LIMIT, OFFSET = %v, want %v (%s)", got, tc.first, q[0].sql)
			}
			if !strings.Contains(q[0].sql, "WHERE") {
				t.Errorf("the prefix range is not in the query: %s", q[0].sql)
			}
			if tc.opts.KeysOnly && strings.Contains(q[0].sql, ", v") {
				t.Errorf("a KeysOnly scan fetched values: %s", q[0].sql)
			}
		})
	}
}
