package store

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/identity"
)

// openPostgres opens a postgres:// or postgresql:// URL. This file is the
// one place the PostgreSQL backend plugs into Open: until it does, such
// URLs fail with ErrUnsupported (a host can still pass WithOpener).
func openPostgres(_ context.Context, url string, _ *options) (identity.Store, error) {
	return nil, fmt.Errorf("store %q: the PostgreSQL backend is not part of this build; use bolt:PATH or memory:, or pass store.WithOpener(\"postgres\", ...): %w",
		redact(url), ErrUnsupported)
}
