package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/legacytest"
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

// TestVersion2Data checks a database whose data the builds of schema
// version 2 wrote (users as JSON, unique index owners as text): it reads
// and writes as before (internal/legacytest), through a new pool each
// time the check reopens it.
func TestVersion2Data(t *testing.T) {
	c := need(t)
	schema := freshSchema()
	open := func(t *testing.T) *postgres.Store {
		s, err := postgres.Open(context.Background(), c.URL("postgres"), postgres.WithSchema(schema))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	legacytest.Run(t, open(t), func(t *testing.T, old identity.Store) identity.Store {
		old.(*postgres.Store).Close()
		// As version 2 left it: the next Open runs the step to 3 again.
		conn, err := pgx.Connect(context.Background(), c.URL("postgres"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DELETE FROM "+pgx.Identifier{schema, "gatehouse_schema_version"}.Sanitize()+" WHERE version > 2"); err != nil {
			t.Fatal(err)
		}
		s := open(t)
		var v int
		if err := conn.QueryRow(context.Background(), "SELECT max(version) FROM "+pgx.Identifier{schema, "gatehouse_schema_version"}.Sanitize()).Scan(&v); err != nil || v != postgres.SchemaVersion {
			t.Fatalf("schema version after Open = %d, %v; want %d", v, err, postgres.SchemaVersion)
		}
		return s
	})
}
