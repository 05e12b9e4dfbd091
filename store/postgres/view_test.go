package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/postgres"
)

// commitGate holds every batch that is a lone COMMIT until it is opened.
type commitGate struct {
	tracer
	held chan struct{} // receives when a COMMIT is held
	open chan struct{}
}

func (g *commitGate) TraceBatchStart(ctx context.Context, c *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	if q := d.Batch.QueuedQueries; len(q) == 1 && q[0].SQL == "COMMIT" {
		g.held <- struct{}{}
		<-g.open
	}
	return g.tracer.TraceBatchStart(ctx, c, d)
}

// TestViewDoesNotWaitForCommit guards View's early return: with its
// read-only transaction's COMMIT held back, View still returns what fn
// read; the connection (the pool's only one) serves the next transaction
// once the COMMIT has gone through, not in the old transaction; Close
// waits for that COMMIT. A View whose fn fails returns the error and
// releases the connection itself.
func TestViewDoesNotWaitForCommit(t *testing.T) {
	g := &commitGate{held: make(chan struct{}, 1), open: make(chan struct{})}
	s := openFresh(t, postgres.WithMaxConns(1), postgres.WithPoolConfig(func(c *pgxpool.Config) { c.ConnConfig.Tracer = g }))
	ctx := context.Background()
	if err := s.Update(ctx, func(tx identity.Tx) error { return tx.Put([]byte("k"), []byte("v1")) }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := s.View(ctx, func(tx identity.ReadTx) error {
		if _, err := tx.Get([]byte("k")); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("View with a failing fn = %v, want boom", err)
	}
	var got []byte
	done := make(chan error, 1)
	go func() {
		done <- s.View(ctx, func(tx identity.ReadTx) error {
			var err error
			got, err = tx.Get([]byte("k"))
			return err
		})
	}()
	<-g.held // the COMMIT is on its way, and held
	select {
	case err := <-done:
		if err != nil || string(got) != "v1" {
			t.Fatalf("View = %q, %v; want v1", got, err)
		}
	case <-time.After(20 * time.Second):
		close(g.open)
		t.Fatal("View waited for its COMMIT")
	}
	close(g.open)
	// The pool's only connection: usable, and outside the old snapshot.
	if err := s.Update(ctx, func(tx identity.Tx) error { return tx.Put([]byte("k"), []byte("v2")) }); err != nil {
		t.Fatal(err)
	}
	if err := s.View(ctx, func(tx identity.ReadTx) error {
		var err error
		got, err = tx.Get([]byte("k"))
		return err
	}); err != nil || string(got) != "v2" {
		t.Fatalf("View after an Update = %q, %v; want v2", got, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestViewsRacingClose: Views that run while the store closes either
// finish (their COMMIT included: Close waits for it) or fail with
// ErrClosed; none panics or races (run with -race).
func TestViewsRacingClose(t *testing.T) {
	c := need(t)
	ctx := context.Background()
	s, err := postgres.Open(ctx, c.URL("postgres"), postgres.WithSchema(freshSchema()), postgres.WithMaxConns(4))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	started := make(chan struct{}, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				err := s.View(ctx, func(tx identity.ReadTx) error {
					_, err := tx.Get([]byte("k"))
					if errors.Is(err, identity.ErrNotFound) {
						return nil
					}
					return err
				})
				if i == 0 {
					started <- struct{}{}
				}
				if err != nil {
					if !errors.Is(err, postgres.ErrClosed) {
						t.Errorf("View while closing: %v", err)
					}
					return
				}
			}
		}()
	}
	for range 8 {
		<-started
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
}
