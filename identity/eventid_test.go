package identity

import "testing"

// TestEventIDsStartAtARandomOffset: within a process ids strictly
// increase (across milliseconds and within one); each millisecond starts
// at an offset below 2^13, so two instances sharing a store do not both
// start at ms<<14; and ids stay below 2^53.
func TestEventIDsStartAtARandomOffset(t *testing.T) {
	const ms = int64(220_000_000_000) // about 2026 in milliseconds since 2020
	starts := map[int64]bool{}
	for i := 0; i < 64; i++ {
		var g eventIDs
		first := g.next(ms)
		if first < ms<<14 || first >= ms<<14+1<<13 {
			t.Fatalf("first id %d outside [%d, %d)", first, ms<<14, ms<<14+1<<13)
		}
		starts[first] = true
		prev := first
		for _, m := range []int64{ms, ms, ms - 1, ms + 1, ms + 1} {
			id := g.next(m)
			if id <= prev {
				t.Fatalf("id %d after %d does not increase", id, prev)
			}
			prev = id
		}
		if prev >= 1<<53 {
			t.Fatalf("id %d not below 2^53", prev)
		}
	}
	// 64 generators starting at the same base would give one start.
	if len(starts) < 32 {
		t.Errorf("only %d distinct starts out of 64 generators", len(starts))
	}
}

// TestEventIDsCarryTheDiscriminator: every id of a generator ends in its
// discriminator (so two instances that drew different ones never make the
// same id, whatever their clocks), also when a burst spills into the next
// millisecond; after redraw the ids end in another discriminator and
// still increase; the batches' count shard is the discriminator.
func TestEventIDsCarryTheDiscriminator(t *testing.T) {
	const ms = int64(220_000_000_000)
	const mask = 1<<eventDiscBits - 1
	discs := map[int64]bool{}
	for range 64 {
		discs[newEventIDs().disc] = true
	}
	if len(discs) < 16 {
		t.Errorf("64 generators drew %d distinct discriminators, want them random", len(discs))
	}
	a, b := &eventIDs{disc: 5}, &eventIDs{disc: 6}
	seen := map[int64]bool{}
	for _, g := range []*eventIDs{a, b} {
		prev := int64(0)
		for i := range 300 { // more than one millisecond holds: the burst spills over
			id := g.next(ms)
			if id&mask != g.disc || id <= prev || seen[id] {
				t.Fatalf("id %d (#%d, disc %d): low bits %d, previous %d, seen before %v", id, i, g.disc, id&mask, prev, seen[id])
			}
			seen[id], prev = true, id
		}
		if prev>>14 == ms {
			t.Errorf("300 ids stayed in one millisecond: the test does not cover the spill")
		}
	}
	before, last := a.disc, a.next(ms)
	a.redraw()
	if a.disc == before || a.disc < 0 || a.disc > mask || a.shard() != int(a.disc) {
		t.Fatalf("redraw: disc %d -> %d, shard %d", before, a.disc, a.shard())
	}
	if id := a.next(ms); id <= last || id&mask != a.disc {
		t.Errorf("after redraw: id %d after %d, low bits %d, want > and %d", id, last, id&mask, a.disc)
	}
}
