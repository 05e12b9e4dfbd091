package gatehouse

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// Bootstrap is what a deployment's first start set up and must not set up
// again: the id of the master credential it generated or installed, and
// the hash of the Crafter monitoring token (identity.HashSecret). It is
// one record in the store, read with Bootstrap and written with
// SetBootstrap; a host that prints generated secrets once keeps here
// that it did.
type Bootstrap struct {
	// MasterID is the id of the bootstrap master credential ("" when none
	// was made).
	MasterID string `json:"master_id"`
	// MonitoringTokenHash is identity.HashSecret of the token that
	// Crafter's /api/1/monitoring endpoints accept ("" when none: they
	// refuse every call), unless Options.MonitoringAuth decides instead.
	MonitoringTokenHash string `json:"monitoring_token_hash"`
}

var bootstrapRecords = kv.Records[Bootstrap]{Kind: "bootstrap"}

// Bootstrap returns the bootstrap record, or its zero value when none was
// written.
func (g *Gatehouse) Bootstrap(ctx context.Context) (Bootstrap, error) {
	var b Bootstrap
	err := g.opts.Store.View(ctx, func(tx identity.ReadTx) (err error) {
		b, err = bootstrapRecords.Get(tx, "state")
		return err
	})
	if errors.Is(err, identity.ErrNotFound) {
		return Bootstrap{}, nil
	}
	if err != nil {
		return Bootstrap{}, fmt.Errorf("gatehouse: read bootstrap state: %w", err)
	}
	return b, nil
}

// SetBootstrap writes the bootstrap record.
func (g *Gatehouse) SetBootstrap(ctx context.Context, b Bootstrap) error {
	if err := g.opts.Store.Update(ctx, func(tx identity.Tx) error { return bootstrapRecords.Put(tx, "state", b) }); err != nil {
		return fmt.Errorf("gatehouse: write bootstrap state: %w", err)
	}
	return nil
}

// monitoringTokenOK checks a presented monitoring token against the
// bootstrap record's hash, in constant time.
func (g *Gatehouse) monitoringTokenOK(ctx context.Context, token string) bool {
	b, err := g.Bootstrap(ctx)
	if err != nil || token == "" || b.MonitoringTokenHash == "" {
		return false
	}
	return identity.SecretMatches(token, b.MonitoringTokenHash)
}
