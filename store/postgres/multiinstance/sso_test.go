package multiinstance

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/sso"
)

func TestAssertionReplayCacheShared(t *testing.T) {
	clk := newClock()
	insts := pair(t, clk, setup{})
	ctx := context.Background()
	caches := [2]*sso.StoreReplayCache{
		sso.NewStoreReplayCache(insts[0].ids.Backend(kv.Inside()), clk.Now),
		sso.NewStoreReplayCache(insts[1].ids.Backend(kv.Inside()), clk.Now),
	}
	until := clk.Now().Add(5 * time.Minute)
	const assertions, presentations = 10, 8
	tests := []struct {
		name       string
		connection func(i int) string
		wantWins   int
	}{
		// The same response posted to both instances' ACS at once.
		{"one connection", func(int) string { return "acme_BS8RohkywSxjoDnE2SEygL" }, 1},
		// Assertion ids are scoped to their connection: the same id on two
		// connections is two assertions.
		{"two connections", func(i int) string { return fmt.Sprintf("conn_%d", i%2) }, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var wins [assertions]atomic.Int32
			race(assertions*presentations, func(inst, i int) {
				// Racers 2j and 2j+1 present assertion j%assertions on
				// instances 0 and 1; in the second case j/assertions
				// picks the connection, so every (connection, assertion)
				// pair is claimed on both instances.
				j := i / 2
				a := j % assertions
				ok, err := caches[inst].Claim(ctx, tc.connection(j/assertions), fmt.Sprintf("_%s-%d", tc.name, a), until)
				if err != nil {
					t.Errorf("claim %d on instance %d: %v", i, inst, err)
				}
				if ok {
					wins[a].Add(1)
				}
			})
			for i := range wins {
				if n := int(wins[i].Load()); n != tc.wantWins {
					t.Errorf("assertion %d accepted %d times over two instances, want %d", i, n, tc.wantWins)
				}
			}
		})
	}
	// Entries live until the assertion expires, whichever instance sweeps.
	if _, err := kv.SweepExpired(ctx, insts[1].ids.KVStore(kv.Inside()), until.Add(-time.Second), 1000); err != nil {
		t.Fatal(err)
	}
	if ok, err := caches[0].Claim(ctx, "acme_BS8RohkywSxjoDnE2SEygL", "_one connection-0", until); ok || err != nil {
		t.Fatalf("replay accepted after a sweep before the expiry: %v %v", ok, err)
	}
	if _, err := kv.SweepExpired(ctx, insts[1].ids.KVStore(kv.Inside()), until.Add(time.Minute), 1000); err != nil {
		t.Fatal(err)
	}
	if ok, err := caches[0].Claim(ctx, "acme_BS8RohkywSxjoDnE2SEygL", "_one connection-0", until.Add(time.Hour)); !ok || err != nil {
		t.Fatalf("expired entry not swept by the other instance: %v %v", ok, err)
	}
}
