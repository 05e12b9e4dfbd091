package tokens

import (
	"crypto/sha256"
	"sync"
	"time"
	"unsafe"
)

// cacheShards spreads a cache over independent locks.
const cacheShards = 16

// tokenCache remembers verified tokens until they expire. It holds at most
// size entries, and for string keys at most maxBytes of key bytes, so its
// memory is bounded; expired entries are dropped first when a shard is full
// and are never returned.
//
// The API-key verifier keys it by the SHA-256 of the token (32 bytes per
// entry); host verifiers key it by the token itself, which a Go map hashes
// several times faster than SHA-256 (a cached hit then costs a few hundred
// nanoseconds), and bound the bytes it keeps.
type tokenCache[K comparable] struct {
	shards   [cacheShards]cacheShard[K]
	per      int
	perBytes int
	shardOf  func(K) int
	sizeOf   func(K) int
}

type cacheShard[K comparable] struct {
	mu    sync.RWMutex
	m     map[K]cacheEntry
	bytes int
}

type cacheEntry struct {
	claims *Claims
	exp    time.Time
}

func newCache[K comparable](size, maxBytes int, shardOf, sizeOf func(K) int) *tokenCache[K] {
	per := size / cacheShards
	if per < 1 {
		per = 1
	}
	c := &tokenCache[K]{per: per, perBytes: maxBytes / cacheShards, shardOf: shardOf, sizeOf: sizeOf}
	for i := range c.shards {
		c.shards[i].m = make(map[K]cacheEntry)
	}
	return c
}

// newHashCache is keyed by SHA-256 digests.
func newHashCache(size int) *tokenCache[[32]byte] {
	return newCache(size, size*32, func(k [32]byte) int { return int(k[0]) % cacheShards },
		func([32]byte) int { return 32 })
}

// newStringCache is keyed by the token itself, with at most maxBytes of keys.
func newStringCache(size, maxBytes int) *tokenCache[string] {
	return newCache(size, maxBytes, func(k string) int {
		if k == "" {
			return 0
		}
		return int(k[len(k)-1]) % cacheShards // signature bytes: evenly spread
	}, func(k string) int { return len(k) })
}

// cacheKey hashes the token without copying it (sha256 only reads).
func cacheKey(token string) [32]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
}

// get returns the claims of a token verified before and not yet expired at now.
func (c *tokenCache[K]) get(k K, now time.Time) (*Claims, bool) {
	sh := &c.shards[c.shardOf(k)]
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
func (c *tokenCache[K]) put(k K, claims *Claims, exp, now time.Time) {
	size := c.sizeOf(k)
	if !now.Before(exp) || size > c.perBytes {
		return
	}
	sh := &c.shards[c.shardOf(k)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[k]; ok {
		return
	}
	if len(sh.m) >= c.per || sh.bytes+size > c.perBytes {
		for key, e := range sh.m {
			if !now.Before(e.exp) {
				sh.bytes -= c.sizeOf(key)
				delete(sh.m, key)
			}
		}
		// Still full of live tokens: drop an eighth at random (map order),
		// so the next puts do not sweep again.
		for key := range sh.m {
			if len(sh.m) < c.per-c.per/8 && sh.bytes+size <= c.perBytes-c.perBytes/8 {
				break
			}
			sh.bytes -= c.sizeOf(key)
			delete(sh.m, key)
		}
	}
	sh.m[k] = cacheEntry{claims: claims, exp: exp}
	sh.bytes += size
}

// len counts the entries (tests).
func (c *tokenCache[K]) len() int {
	n := 0
	for i := range c.shards {
		c.shards[i].mu.RLock()
		n += len(c.shards[i].m)
		c.shards[i].mu.RUnlock()
	}
	return n
}
