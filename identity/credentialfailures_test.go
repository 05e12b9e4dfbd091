package identity

import (
	"testing"
	"time"
)

// TestFailureBudget: the budget writes a burst, then one event per
// refill, and each event written counts the failures left out before it.
func TestFailureBudget(t *testing.T) {
	var b failureBudget
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	step := time.Second / CredentialFailureEventRate
	cases := []struct {
		name           string
		at             time.Time
		n              int // failures at that instant
		wantWritten    int
		wantSuppressed int // carried by the first written event
	}{
		{"a burst", t0, CredentialFailureEventBurst, CredentialFailureEventBurst, 0},
		{"past the burst", t0, 50, 0, 0},
		{"one refill later", t0.Add(step), 3, 1, 50},
		{"a clock that goes back", t0, 2, 0, 0},
		{"long after", t0.Add(time.Hour), CredentialFailureEventBurst + 5, CredentialFailureEventBurst, 4},
	}
	for _, c := range cases {
		written, first := 0, -1
		for range c.n {
			ok, sup := b.take(c.at)
			if ok {
				if first < 0 {
					first = sup
				}
				written++
			}
		}
		if written != c.wantWritten || (written > 0 && first != c.wantSuppressed) {
			t.Errorf("%s: %d written (first carrying %d), want %d (carrying %d)", c.name, written, first, c.wantWritten, c.wantSuppressed)
		}
	}
}
