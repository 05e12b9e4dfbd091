package postgres_test

import (
	"context"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/postgres"
	"github.com/gatehouse-id/gatehouse/store/storetest"
)

func TestConformance(t *testing.T) {
	need(t)
	storetest.Run(t, func(t *testing.T) identity.Store { return openFresh(t) })
}

func TestOpenStore(t *testing.T) {
	c := need(t)
	s, err := postgres.OpenStore(context.Background(), c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(context.Background(), func(tx identity.Tx) error { return tx.Put([]byte("k"), []byte("v")) }); err != nil {
		t.Error(err)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
	s, err = postgres.OpenStore(context.Background(), "postgres://127.0.0.1:1/x?connect_timeout=1")
	if err == nil || s != nil {
		t.Errorf("OpenStore on a closed port = %v, %v; want a nil store and an error", s, err)
	}
}

// TestConformanceExecModes runs the suite in the statement modes that
// connection poolers need (PgBouncer in transaction mode cannot keep
// prepared statements): the pipelining must not depend on them.
func TestConformanceExecModes(t *testing.T) {
	c := need(t)
	if testing.Short() {
		t.Skip("short")
	}
	for _, mode := range []string{"exec", "simple_protocol"} {
		t.Run(mode, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) identity.Store {
				s, err := postgres.Open(context.Background(), c.URL("postgres")+"&default_query_exec_mode="+mode,
					postgres.WithSchema(freshSchema()))
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				return s
			})
		})
	}
}
