package identity

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// The doors to the typed storage layer (internal/kv), for Gatehouse's own
// packages only. Each takes a kv.Access, which only packages of this module
// can obtain (kv.Inside): code outside the module cannot import an internal
// package, so it cannot call these methods and reaches the data through the
// services alone. A test (TestNoPublicStorageDoor, publicapi_test.go) keeps
// every other exported signature free of the store and its transactions.

// KVStore returns the service's store as the typed layer sees it, for
// Gatehouse's own packages (tokens, sso, profile, blob) that keep their own
// records in the same store. Code outside the module cannot call it.
func (s *Service) KVStore(a kv.Access) kv.Store {
	a.Check()
	return kvStore{s.store}
}

// kvStore adapts an identity.Store to kv.Store: the two contracts have the
// same methods, but their callbacks name different transaction types.
type kvStore struct{ st Store }

func (k kvStore) View(ctx context.Context, fn func(kv.ReadTx) error) error {
	return k.st.View(ctx, func(tx ReadTx) error { return fn(tx) })
}

func (k kvStore) Update(ctx context.Context, fn func(kv.Tx) error) error {
	return k.st.Update(ctx, func(tx Tx) error { return fn(tx) })
}

// KV returns the engine transaction, for Gatehouse's own packages that keep
// their own records next to the core's. Code outside the module cannot
// call it.
func (t *ReadTxn) KV(a kv.Access) kv.ReadTx {
	a.Check()
	return t.tx
}

// KVTx returns the writable engine transaction, for Gatehouse's own
// packages. Code outside the module cannot call it.
func (t *Txn) KVTx(a kv.Access) kv.Tx {
	a.Check()
	return t.w
}

// OrgUsers is the sorted set of an organization's user ids (time-ordered),
// for Gatehouse's own packages.
func OrgUsers(a kv.Access, env Environment, orgID string) kv.Set {
	a.Check()
	return orgUsers(env, orgID)
}

// OrgApps is the sorted set of applications created under an organization,
// for Gatehouse's own packages.
func OrgApps(a kv.Access, env Environment, orgID string) kv.Set {
	a.Check()
	return orgApps(env, orgID)
}

// RoleUsers is the index of an organization's users that have role, for
// Gatehouse's own packages.
func RoleUsers(a kv.Access, env Environment, orgID, role string) kv.Set {
	a.Check()
	return roleUsers(env, orgID, role)
}

// AttributeUsers is the index of an organization's users whose indexed
// attribute name has the scalar value (or a list containing it), for
// Gatehouse's own packages; ok is false for a value that is not indexed.
func AttributeUsers(a kv.Access, env Environment, orgID, name string, value any) (set kv.Set, ok bool) {
	a.Check()
	return attributeUsers(env, orgID, name, value)
}

// SweepExpired deletes, in transactions of at most batch entries (500 when
// batch is not positive), every record of the service's store whose expiry
// has passed, and returns how many expiry entries it removed. Readers check
// expiry themselves; the sweep only reclaims space, so a host runs it now
// and then.
func (s *Service) SweepExpired(ctx context.Context, batch int) (int, error) {
	return kv.SweepExpired(ctx, kvStore{s.store}, s.Now(), batch)
}

// Backend returns the service's store as the backend contract, for
// Gatehouse's own packages that run their own transactions on it (sso,
// profile's default blob store). Code outside the module cannot call it: a
// host that opened the store holds it already, and everything else goes
// through the services.
func (s *Service) Backend(a kv.Access) Store {
	a.Check()
	return s.store
}

// KVStoreOf adapts a backend to the typed layer, for Gatehouse's own
// packages and tests (store/storetest). Code outside the module cannot
// call it.
func KVStoreOf(a kv.Access, st Store) kv.Store {
	a.Check()
	return kvStore{st}
}

// checkParts refuses key parts that contain a separator byte, as the
// field error "key" that this package's callers render.
func checkParts(parts ...string) error {
	if kv.CheckParts(parts...) != nil {
		return Invalid("key", "must not contain control bytes 0x00 or 0x01")
	}
	return nil
}
