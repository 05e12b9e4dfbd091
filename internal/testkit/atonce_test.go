package testkit

import (
	"sync/atomic"
	"testing"
)

// TestAtOnce: every index runs exactly once, and AtOnce returns only
// after all of them have.
func TestAtOnce(t *testing.T) {
	const n = 16
	var ran [n]atomic.Int32
	var done atomic.Int32
	AtOnce(n, func(i int) {
		ran[i].Add(1)
		done.Add(1)
	})
	if got := done.Load(); got != n {
		t.Fatalf("%d calls, want %d", got, n)
	}
	for i := range ran {
		if c := ran[i].Load(); c != 1 {
			t.Errorf("index %d ran %d times", i, c)
		}
	}
}
