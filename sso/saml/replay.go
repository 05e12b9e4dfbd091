package saml

import (
	"context"
	"sync"
	"time"
)

// ReplayCache remembers consumed assertion ids so that each assertion is
// accepted once. The production implementation is store-backed and shared
// by every server instance; it must be atomic (two concurrent Claims of
// the same id: exactly one gets true).
type ReplayCache interface {
	// Claim records assertionID for connectionID until the given time and
	// returns true, or returns false if it is already recorded (replay).
	// Any error refuses the assertion.
	Claim(ctx context.Context, connectionID, assertionID string, until time.Time) (bool, error)
}

// MemoryReplayCache is an in-process ReplayCache for tests and
// single-instance deployments. Expired entries are swept as it is used.
type MemoryReplayCache struct {
	clock     func() time.Time
	mu        sync.Mutex
	seen      map[memoryKey]time.Time
	nextSweep time.Time
}

type memoryKey struct{ connection, assertion string }

// NewMemoryReplayCache returns an empty cache using clock (time.Now if nil).
func NewMemoryReplayCache(clock func() time.Time) *MemoryReplayCache {
	if clock == nil {
		clock = time.Now
	}
	return &MemoryReplayCache{clock: clock, seen: make(map[memoryKey]time.Time)}
}

// Claim implements ReplayCache.
func (c *MemoryReplayCache) Claim(ctx context.Context, connectionID, assertionID string, until time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := c.clock()
	k := memoryKey{connectionID, assertionID}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !now.Before(c.nextSweep) {
		for key, exp := range c.seen {
			if !now.Before(exp) {
				delete(c.seen, key)
			}
		}
		c.nextSweep = now.Add(time.Minute)
	}
	if exp, ok := c.seen[k]; ok && now.Before(exp) {
		return false, nil
	}
	c.seen[k] = until
	return true, nil
}

// Len returns the number of ids currently held (expired ones included
// until the next sweep).
func (c *MemoryReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}
