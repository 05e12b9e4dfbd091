package kv_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

func TestWindowTake(t *testing.T) {
	st := identity.KVStoreOf(kv.Inside(), memory.New())
	ctx := context.Background()
	w := kv.Window{Kind: "test-rate", Size: time.Minute}
	t0 := time.Date(2026, 12, 3, 12, 0, 10, 0, time.UTC)
	take := func(key string, now time.Time) (bool, time.Time) {
		t.Helper()
		var ok bool
		var end time.Time
		err := st.Update(ctx, func(tx kv.Tx) error {
			var err error
			ok, end, err = w.Take(tx, key, 2, now)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return ok, end
	}
	steps := []struct {
		key  string
		at   time.Time
		want bool
	}{
		{"a", t0, true},
		{"a", t0.Add(10 * time.Second), true},
		{"a", t0.Add(20 * time.Second), false}, // third in the window
		{"b", t0.Add(20 * time.Second), true},  // another key has its own count
		{"a", t0.Add(50 * time.Second), true},  // next window
	}
	for i, s := range steps {
		ok, end := take(s.key, s.at)
		if ok != s.want {
			t.Fatalf("step %d (%s at %s): got %v, want %v", i, s.key, s.at.Format(time.TimeOnly), ok, s.want)
		}
		if wantEnd := s.at.Truncate(time.Minute).Add(time.Minute); !end.Equal(wantEnd) {
			t.Fatalf("step %d: window ends %s, want %s", i, end, wantEnd)
		}
	}
	// Every counter expires with its window.
	n, err := kv.SweepExpired(ctx, st, t0.Add(2*time.Minute), 100)
	if err != nil || n != 3 {
		t.Fatalf("swept %d counters (%v), want 3", n, err)
	}
	if got := kv.RetryAfter(t0, t0.Add(50*time.Second)); got != 51 {
		t.Fatalf("RetryAfter = %d, want 51", got)
	}
}
