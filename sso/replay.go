package sso

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
)

// StoreReplayCache is the production saml.ReplayCache: consumed assertion
// ids are records in the identity store, so every server instance that uses
// the same store shares them. Each entry is scheduled for deletion at the
// assertion's expiry (identity.Service.SweepExpired reclaims it). Claim is atomic
// because it reads and writes in one serializable transaction.
type StoreReplayCache struct {
	store identity.Store
	clock func() time.Time
}

// NewStoreReplayCache returns a replay cache kept in store; clock is used to
// keep entries at least a little while when an assertion claims an expiry
// in the past (nil: time.Now).
func NewStoreReplayCache(store identity.Store, clock func() time.Time) *StoreReplayCache {
	if clock == nil {
		clock = time.Now
	}
	return &StoreReplayCache{store: store, clock: clock}
}

// minReplayKeep keeps an entry for at least this long past now, covering
// the clock skew the verifier allows.
const minReplayKeep = 5 * time.Minute

// Claim implements saml.ReplayCache.
func (c *StoreReplayCache) Claim(ctx context.Context, connectionID, assertionID string, until time.Time) (bool, error) {
	claimed := false
	err := c.store.Update(ctx, func(tx identity.Tx) (err error) {
		claimed, err = c.claimIn(tx, connectionID, assertionID, until)
		return err
	})
	if err != nil {
		return false, err
	}
	return claimed, nil
}

// claimIn is Claim inside the transaction tx of the cache's store: the ACS
// claims in the transaction that provisions the user, so that the sign-in
// and the claim commit together.
func (c *StoreReplayCache) claimIn(tx identity.Tx, connectionID, assertionID string, until time.Time) (bool, error) {
	key := identity.HashSecret(connectionID + "\x00" + assertionID)
	if floor := c.clock().Add(minReplayKeep); until.Before(floor) {
		until = floor
	}
	ok, err := replayEntries.Exists(tx, key)
	if err != nil || ok {
		return false, err
	}
	return true, putExpiring(tx, replayEntries, key, replayEntry{Until: until}, until)
}
