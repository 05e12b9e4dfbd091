package tokens

import (
	"crypto/sha256"
	"sync"
	"time"
	"unsafe"
)

// cacheShards spreads the cache over independent locks.
const cacheShards = 16

// tokenCache remembers verified tokens until they expire. It is keyed by
// the SHA-256 of the token, holds at most size entries (so its memory is
// bounded by size times the largest accepted token's claims), and drops
// expired entries first when a shard is full.
type tokenCache struct {
	shards [cacheShards]cacheShard
	per    int
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[[32]byte]cacheEntry
}

type cacheEntry struct {
	claims *Claims
	exp    time.Time
}

func newTokenCache(size int) *tokenCache {
	per := size / cacheShards
	if per < 1 {
		per = 1
	}
	c := &tokenCache{per: per}
	for i := range c.shards {
		c.shards[i].m = make(map[[32]byte]cacheEntry)
	}
	return c
}

// cacheKey hashes the token without copying it (sha256 only reads).
func cacheKey(token string) [32]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
}

// get returns the claims of a token verified before and not yet expired at now.
func (c *tokenCache) get(k [32]byte, now time.Time) (*Claims, bool) {
	sh := &c.shards[k[0]%cacheShards]
	sh.mu.RLock()
	e, ok := sh.m[k]
	sh.mu.RUnlock()
	if !ok || !now.Before(e.exp) {
		return nil, false
	}
	return e.claims, true
}

// put remembers claims until exp, making room if the shard is full: expired
// entries go first, then arbitrary ones.
func (c *tokenCache) put(k [32]byte, claims *Claims, exp, now time.Time) {
	if !now.Before(exp) {
		return
	}
	sh := &c.shards[k[0]%cacheShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[k]; !ok && len(sh.m) >= c.per {
		for key, e := range sh.m {
			if !now.Before(e.exp) {
				delete(sh.m, key)
			}
		}
		// Still full of live tokens: drop an eighth at random (map order),
		// so the next puts do not sweep again.
		for key := range sh.m {
			if len(sh.m) < c.per-c.per/8 {
				break
			}
			delete(sh.m, key)
		}
	}
	sh.m[k] = cacheEntry{claims: claims, exp: exp}
}

// len counts the entries (tests).
func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		c.shards[i].mu.RLock()
		n += len(c.shards[i].m)
		c.shards[i].mu.RUnlock()
	}
	return n
}
