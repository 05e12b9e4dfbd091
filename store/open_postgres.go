package store

import (
	"context"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/postgres"
)

// openPostgres opens a postgres:// or postgresql:// URL with the PostgreSQL
// backend (store/postgres): pool settings come from the URL's parameters
// (pool_max_conns, ...), and migrations run on open.
func openPostgres(ctx context.Context, url string, _ *options) (identity.Store, error) {
	return postgres.OpenStore(ctx, url)
}
