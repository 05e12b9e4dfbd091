package postgres_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/store/postgres"
	"github.com/gatehouse-id/gatehouse/store/postgres/pgtest"
)

// server is the throwaway cluster that TestMain starts for the whole
// package; nil when PostgreSQL is not installed.
var server *pgtest.Cluster

// schemas numbers the schemas of fresh stores.
var schemas atomic.Int64

func TestMain(m *testing.M) {
	flag.Parse()
	// Benchmarks compare with bolt, which syncs every commit: give the
	// server fsync too, so that both sides are durable. Tests run without.
	benchmarking := flag.Lookup("test.bench").Value.String() != ""
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c, err := pgtest.Start(ctx, pgtest.Options{Fsync: benchmarking})
	cancel()
	switch {
	case errors.Is(err, pgtest.ErrNotInstalled):
		fmt.Fprintf(os.Stderr, "SKIP store/postgres: %v; these tests need it (%s)\n", err, pgtest.InstallHint)
	case err != nil:
		fmt.Fprintf(os.Stderr, "store/postgres: start a throwaway PostgreSQL: %v\n", err)
		os.Exit(1)
	}
	server = c
	code := m.Run()
	if c != nil {
		if err := c.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "store/postgres: stop PostgreSQL: %v\n", err)
		}
	}
	os.Exit(code)
}

// need skips t when no server is installed, saying so.
func need(t testing.TB) *pgtest.Cluster {
	t.Helper()
	if server == nil {
		t.Skipf("PostgreSQL server not installed; run %s to include these tests", pgtest.InstallHint)
	}
	return server
}

// freshSchema names a schema no store has used yet.
func freshSchema() string { return fmt.Sprintf("t%d", schemas.Add(1)) }

// openFresh opens a store on a new, empty schema of the shared cluster.
func openFresh(t testing.TB, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	c := need(t)
	opts = append([]postgres.Option{postgres.WithSchema(freshSchema())}, opts...)
	s, err := postgres.Open(context.Background(), c.URL("postgres"), opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}
