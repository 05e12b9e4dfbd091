package provider

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// TestIndexGrantPrunesAtBoundedCost: adding a grant checks only a few
// members, yet members whose record is gone do not pile up, and live ones
// are never removed.
func TestIndexGrantPrunesAtBoundedCost(t *testing.T) {
	st := identity.KVStoreOf(kv.Inside(), memory.New())
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	id := func() string { return fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64()) }
	env, user := identity.Production, "u1"
	set := userGrants(env, user)
	update := func(fn func(tx kv.Tx) error) {
		t.Helper()
		if err := st.Update(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	// 200 members whose records are gone (ended sessions, swept codes).
	update(func(tx kv.Tx) error {
		for range 200 {
			if err := set.Add(tx, "c:"+id(), nil); err != nil {
				return err
			}
		}
		return nil
	})
	// 200 sign-ins, each adding a live family.
	live := map[string]bool{}
	for range 200 {
		f := id()
		live["f:"+f] = true
		update(func(tx kv.Tx) error {
			if err := families.Put(tx, f, familyRecord{UserID: user}); err != nil {
				return err
			}
			return indexGrant(tx, env, user, "f:"+f)
		})
	}
	var members []string
	if err := st.View(ctx, func(tx kv.ReadTx) error {
		return set.Each(tx, false, func(m string, _ []byte) error { members = append(members, m); return nil })
	}); err != nil {
		t.Fatal(err)
	}
	stale := 0
	found := 0
	for _, m := range members {
		if live[m] {
			found++
		} else {
			stale++
		}
	}
	if found != len(live) {
		t.Fatalf("%d of %d live grants indexed", found, len(live))
	}
	if stale > 100 {
		t.Fatalf("%d of 200 stale members left after 200 additions, want at most 100", stale)
	}
	t.Logf("stale members left: %d of 200", stale)
}
