package identity_test

import (
	"context"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// zeroOf obtains the zero value of a door's parameter without naming its
// type, as code outside the module could through type inference.
func zeroOf[A, R any](func(A) R) A {
	var a A
	return a
}

// TestStorageDoorsRefuseAZeroAccess: code outside the module cannot name
// kv.Access, but generic inference hands it a zero one; every door refuses
// it, while the Access of Gatehouse's own packages opens them.
func TestStorageDoorsRefuseAZeroAccess(t *testing.T) {
	svc, _ := newService(t)
	ctx := context.Background()
	zero := zeroOf(svc.KVStore)
	doors := map[string]func(a kv.Access){
		"Service.KVStore": func(a kv.Access) { _ = svc.KVStore(a) },
		"Service.Backend": func(a kv.Access) { _ = svc.Backend(a) },
		"KVStoreOf":       func(a kv.Access) { _ = identity.KVStoreOf(a, svc.Backend(kv.Inside())) },
		"OrgUsers":        func(a kv.Access) { _ = identity.OrgUsers(a, identity.Production, "o") },
		"OrgApps":         func(a kv.Access) { _ = identity.OrgApps(a, identity.Production, "o") },
		"RoleUsers":       func(a kv.Access) { _ = identity.RoleUsers(a, identity.Production, "o", "r") },
		"AttributeUsers":  func(a kv.Access) { _, _ = identity.AttributeUsers(a, identity.Production, "o", "n", "v") },
		"UserKey":         func(a kv.Access) { _ = identity.UserKey(a, identity.Production, "u") },
		"ReadTxn.KV": func(a kv.Access) {
			_ = svc.View(ctx, func(tx *identity.ReadTxn) error { _ = tx.KV(a); return nil })
		},
		"Txn.KVTx": func(a kv.Access) {
			_ = svc.Update(ctx, func(tx *identity.Txn) error { _ = tx.KVTx(a); return nil })
		},
	}
	for name, door := range doors {
		t.Run(name, func(t *testing.T) {
			door(kv.Inside())
			defer func() {
				if recover() == nil {
					t.Errorf("%s opened for a zero kv.Access", name)
				}
			}()
			door(zero)
		})
	}
}
