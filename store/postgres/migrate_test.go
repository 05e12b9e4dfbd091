package postgres_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/postgres"
)

type pgxpoolConfig = pgxpool.Config

func exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), need(t).URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestMigrations(t *testing.T) {
	c := need(t)
	ctx := context.Background()
	url := c.URL("postgres")

	t.Run("separate step", func(t *testing.T) {
		schema := freshSchema()
		if _, err := postgres.Open(ctx, url, postgres.WithSchema(schema), postgres.WithoutMigrations()); !errors.Is(err, postgres.ErrNotMigrated) {
			t.Fatalf("Open without migrations on an empty database = %v, want ErrNotMigrated", err)
		}
		from, err := postgres.Migrate(ctx, url, postgres.WithSchema(schema))
		if err != nil || from != 0 {
			t.Fatalf("Migrate = %d, %v; want from 0", from, err)
		}
		from, err = postgres.Migrate(ctx, url, postgres.WithSchema(schema))
		if err != nil || from != postgres.SchemaVersion {
			t.Fatalf("second Migrate = %d, %v; want from %d (nothing to do)", from, err, postgres.SchemaVersion)
		}
		s, err := postgres.Open(ctx, url, postgres.WithSchema(schema), postgres.WithoutMigrations())
		if err != nil {
			t.Fatalf("Open after Migrate: %v", err)
		}
		_ = s.Close()
	})

	t.Run("newer schema refused", func(t *testing.T) {
		schema := freshSchema()
		s, err := postgres.Open(ctx, url, postgres.WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Close()
		exec(t, "INSERT INTO "+pgx.Identifier{schema, "gatehouse_schema_version"}.Sanitize()+" (version, name) VALUES ($1, 'from the future')",
			postgres.SchemaVersion+1)
		for name, opts := range map[string][]postgres.Option{
			"migrating":     {postgres.WithSchema(schema)},
			"not migrating": {postgres.WithSchema(schema), postgres.WithoutMigrations()},
		} {
			if _, err := postgres.Open(ctx, url, opts...); !errors.Is(err, identity.ErrSchemaTooNew) {
				t.Errorf("Open (%s) on a newer schema = %v, want ErrSchemaTooNew", name, err)
			}
		}
		if _, err := postgres.Migrate(ctx, url, postgres.WithSchema(schema)); !errors.Is(err, identity.ErrSchemaTooNew) {
			t.Errorf("Migrate on a newer schema = %v, want ErrSchemaTooNew", err)
		}
	})

	t.Run("instances starting together", func(t *testing.T) {
		schema := freshSchema()
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := postgres.Open(ctx, url, postgres.WithSchema(schema))
				if err == nil {
					err = s.Close()
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("instance %d: %v", i, err)
			}
		}
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{schema, "gatehouse_schema_version"}.Sanitize()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != postgres.SchemaVersion {
			t.Errorf("%d migration rows after concurrent opens, want %d (each step once)", n, postgres.SchemaVersion)
		}
	})

	t.Run("bad url", func(t *testing.T) {
		if _, err := postgres.Open(ctx, "postgres://gatehouse:secret@127.0.0.1:1/x?sslmode=disable&connect_timeout=1"); err == nil {
			t.Fatal("Open on a closed port succeeded")
		} else if !errors.Is(err, postgres.ErrUnavailable) {
			t.Errorf("Open on a closed port = %v, want ErrUnavailable", err)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("error leaks the password: %v", err)
		}
		if _, err := postgres.Open(ctx, "postgres://%zz"); err == nil {
			t.Error("Open on a malformed URL succeeded")
		}
	})
}
