package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse-id/gatehouse/identity"
)

// SchemaVersion is the newest schema version this build creates and reads.
// A database of an older version is migrated (on Open, or by Migrate); one
// of a newer version is refused with an error wrapping
// identity.ErrSchemaTooNew.
const SchemaVersion = 3

//go:embed migrations/*.sql
var migrationFiles embed.FS

// versionTable records the applied migrations, one row each.
const versionTable = "gatehouse_schema_version"

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the embedded files NNNN_name.sql and checks that
// they number 1..SchemaVersion without gaps.
func loadMigrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, path := range names {
		base := strings.TrimPrefix(path, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("postgres: migration file %s is not named NNNN_name.sql", base)
		}
		body, err := migrationFiles.ReadFile(path)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: base, sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("postgres: migrations are not numbered 1..n: %s at position %d", m.name, i+1)
		}
	}
	if len(out) != SchemaVersion {
		return nil, fmt.Errorf("postgres: %d migrations embedded, SchemaVersion is %d", len(out), SchemaVersion)
	}
	return out, nil
}

// Migrate brings the database that url names up to SchemaVersion, creating
// the tables on an empty database. Open does the same unless
// WithoutMigrations is given; Migrate is for deployments that run schema
// changes as a separate step (with a more privileged role, for example).
// It returns the version found before migrating. Concurrent migrators
// (several instances starting at once) wait for each other on an advisory
// lock, so each step runs once.
func Migrate(ctx context.Context, url string, opts ...Option) (from int, err error) {
	o := buildOptions(opts)
	cfg, err := poolConfig(url, o)
	if err != nil {
		return 0, err
	}
	cfg.MinConns = 0
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return 0, classify(fmt.Errorf("postgres: connect: %w", err))
	}
	defer pool.Close()
	return migrate(ctx, pool, o.schema)
}

// migrate runs the missing migrations in one transaction under an advisory
// lock keyed by the schema name.
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string) (int, error) {
	steps, err := loadMigrations()
	if err != nil {
		return 0, err
	}
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return 0, classify(fmt.Errorf("postgres: migrate: %w", err))
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", "gatehouse-migrate:"+schema); err != nil {
		return 0, classify(fmt.Errorf("postgres: migrate: lock: %w", err))
	}
	if schema != "" {
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists); err != nil {
			return 0, classify(fmt.Errorf("postgres: migrate: %w", err))
		}
		if !exists {
			if _, err := tx.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
				return 0, classify(fmt.Errorf("postgres: migrate: create schema %s: %w", schema, err))
			}
		}
		if _, err := tx.Exec(ctx, "SET LOCAL search_path TO "+pgx.Identifier{schema}.Sanitize()); err != nil {
			return 0, classify(fmt.Errorf("postgres: migrate: %w", err))
		}
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+versionTable+` (
		version integer PRIMARY KEY,
		name text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return 0, classify(fmt.Errorf("postgres: migrate: create %s: %w", versionTable, err))
	}
	var from int
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM "+versionTable).Scan(&from); err != nil {
		return 0, classify(fmt.Errorf("postgres: migrate: read version: %w", err))
	}
	if from > SchemaVersion {
		return from, tooNew(schema, from)
	}
	for _, m := range steps[from:] {
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return from, classify(fmt.Errorf("postgres: migrate: apply %s: %w", m.name, err))
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+versionTable+" (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
			return from, classify(fmt.Errorf("postgres: migrate: record %s: %w", m.name, err))
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return from, classify(fmt.Errorf("postgres: migrate: commit: %w", err))
	}
	return from, nil
}

// currentVersion reads the schema version without changing anything; an
// uninitialized database has version 0.
func currentVersion(ctx context.Context, pool *pgxpool.Pool, schema string) (int, error) {
	table := versionTable
	if schema != "" {
		table = pgx.Identifier{schema, versionTable}.Sanitize()
	}
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&exists); err != nil {
		return 0, classify(fmt.Errorf("postgres: read schema version: %w", err))
	}
	if !exists {
		return 0, nil
	}
	var v int
	if err := pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM "+table).Scan(&v); err != nil {
		return 0, classify(fmt.Errorf("postgres: read schema version: %w", err))
	}
	return v, nil
}

func tooNew(schema string, v int) error {
	where := "the database"
	if schema != "" {
		where = "schema " + schema
	}
	return fmt.Errorf("postgres: %s was migrated by a newer Gatehouse (schema %d); this build supports %d: run a newer Gatehouse: %w",
		where, v, SchemaVersion, identity.ErrSchemaTooNew)
}

// checkVersion is what Open does under WithoutMigrations.
func checkVersion(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	v, err := currentVersion(ctx, pool, schema)
	switch {
	case err != nil:
		return err
	case v > SchemaVersion:
		return tooNew(schema, v)
	case v < SchemaVersion:
		return fmt.Errorf("postgres: the database is at schema %d, this build needs %d: run the migrations (postgres.Migrate or open without WithoutMigrations): %w",
			v, SchemaVersion, ErrNotMigrated)
	}
	return nil
}

// ErrNotMigrated is wrapped by Open's error under WithoutMigrations when
// the database's schema is older than SchemaVersion.
var ErrNotMigrated = errors.New("postgres schema is not migrated")
