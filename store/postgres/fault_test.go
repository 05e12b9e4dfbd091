package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/store/postgres"
	"github.com/gatehouse-id/gatehouse/store/postgres/pgtest"
)

// TestServerKilledMidLoad kills the server (pg_ctl stop -m immediate: no
// checkpoint, crash recovery on restart) while writers run, restarts it,
// and checks that every acknowledged write survived, that each write
// stayed atomic, and that the outage surfaced as retryable errors.
func TestServerKilledMidLoad(t *testing.T) {
	need(t)
	if testing.Short() {
		t.Skip("starts its own cluster; skipped in -short")
	}
	ctx := context.Background()
	c, err := pgtest.Start(ctx, pgtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	}()
	s, err := postgres.Open(ctx, c.URL("postgres"), postgres.WithBackoff(time.Millisecond, 20*time.Millisecond),
		postgres.WithPoolConfig(func(cfg *pgxpoolConfig) { cfg.ConnConfig.ConnectTimeout = 2 * time.Second }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	seq := kv.Counter{Env: string(identity.Production), Name: "writes"}
	const writers = 4
	var (
		acked      [writers][]string
		total      atomic.Int64
		outage     atomic.Int64 // errors that wrap ErrUnavailable
		unexpected []error
		mu         sync.Mutex
		wg         sync.WaitGroup
	)
	stop := make(chan struct{})
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("ack/%d/%06d", w, i)
				wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				err := s.Update(wctx, func(tx identity.Tx) error {
					if err := tx.Put([]byte(key), []byte(key)); err != nil {
						return err
					}
					_, err := seq.Next(tx)
					return err
				})
				cancel()
				switch {
				case err == nil:
					acked[w] = append(acked[w], key)
					total.Add(1)
				case errors.Is(err, postgres.ErrUnavailable) && errors.Is(err, identity.ErrBusy):
					outage.Add(1)
					time.Sleep(20 * time.Millisecond)
				default:
					mu.Lock()
					unexpected = append(unexpected, err)
					mu.Unlock()
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	waitFor := func(n int64) {
		deadline := time.Now().Add(60 * time.Second)
		for total.Load() < n && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor(300)
	if err := c.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	before := total.Load()
	// Readers see the outage as a retryable error too.
	for i := 0; i < 3; i++ {
		err := s.View(ctx, func(tx identity.ReadTx) error {
			_, err := tx.Get([]byte("ack/0/000000"))
			return err
		})
		if !errors.Is(err, postgres.ErrUnavailable) || !errors.Is(err, identity.ErrBusy) {
			t.Errorf("View while the server is down = %v, want ErrUnavailable and identity.ErrBusy", err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if err := c.Start(ctx); err != nil {
		t.Fatalf("restart: %v\n%s", err, c.Log())
	}
	waitFor(before + 300)
	close(stop)
	wg.Wait()

	if outage.Load() == 0 {
		t.Error("no writer saw an error wrapping ErrUnavailable while the server was down")
	}
	for _, err := range unexpected {
		// A timeout while the server restarts is the only other outcome
		// a writer may see.
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("writer error that is neither ErrUnavailable nor a timeout: %v", err)
		}
	}
	if total.Load() < before+300 {
		t.Fatalf("writers acknowledged %d writes after the restart, want 300: the store did not recover", total.Load()-before)
	}
	err = s.View(ctx, func(tx identity.ReadTx) error {
		for w := range acked {
			for _, k := range acked[w] {
				v, err := tx.Get([]byte(k))
				if err != nil {
					return fmt.Errorf("acknowledged write %s lost after the crash: %w", k, err)
				}
				if string(v) != k {
					return fmt.Errorf("%s = %q after the crash", k, v)
				}
			}
		}
		// Each key and its counter increment commit together: the
		// counter equals the number of keys (writes whose COMMIT outcome
		// was unknown are counted on both sides or neither).
		n := 0
		if err := tx.Scan([]byte("ack/"), identity.ScanOptions{KeysOnly: true}, func(_, _ []byte) error { n++; return nil }); err != nil {
			return err
		}
		v, err := seq.Value(tx)
		if err != nil {
			return err
		}
		if int64(n) != v {
			return fmt.Errorf("%d keys but the counter says %d: a transaction was torn", n, v)
		}
		if int64(n) < total.Load() {
			return fmt.Errorf("%d keys, fewer than the %d acknowledged", n, total.Load())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d writes acknowledged, %d outage errors during the kill", total.Load(), outage.Load())
}
