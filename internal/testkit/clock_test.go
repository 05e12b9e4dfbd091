package testkit

import (
	"sync"
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := NewClock(start)
	if !c.Now().Equal(start) {
		t.Fatalf("Now = %v", c.Now())
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				c.Advance(time.Second)
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	if want := start.Add(800 * time.Second); !c.Now().Equal(want) {
		t.Fatalf("after concurrent advances Now = %v, want %v", c.Now(), want)
	}
	c.Advance(-time.Hour)
	if want := start.Add(800*time.Second - time.Hour); !c.Now().Equal(want) {
		t.Fatalf("after going back Now = %v, want %v", c.Now(), want)
	}
	c.Set(start)
	if !c.Now().Equal(start) {
		t.Fatalf("after Set Now = %v", c.Now())
	}
	var zero Clock
	if !zero.Now().IsZero() {
		t.Fatalf("zero clock reads %v", zero.Now())
	}
}
