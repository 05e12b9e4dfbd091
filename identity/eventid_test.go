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
