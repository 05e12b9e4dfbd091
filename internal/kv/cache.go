package kv

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
)

// DecodeCache keeps recently decoded records, each with the exact stored
// bytes it was decoded from. A read through it (Records.GetCached) still
// fetches the record in its own transaction; only when the bytes are
// identical to the cached ones is the decoded value reused. So a change
// made anywhere (another instance on the same database included) is seen
// by the very next read: the cache only saves decoding. Values it returns
// are shared: callers copy before changing or handing them out. Bounded;
// an arbitrary entry goes when it is full. Safe for concurrent use.
type DecodeCache[T any] struct {
	mu  sync.RWMutex
	max int
	m   map[string]decoded[T]
}

type decoded[T any] struct {
	raw []byte
	v   *T
}

// NewDecodeCache returns a cache of at most max decoded records.
func NewDecodeCache[T any](max int) *DecodeCache[T] {
	return &DecodeCache[T]{max: max, m: make(map[string]decoded[T])}
}

// GetCached reads the record with id as tx sees it, decoded or reused
// from c (shared: do not change it). A missing one is an error wrapping
// ErrNotFound, as for Get.
func (r Records[T]) GetCached(tx ReadTx, c *DecodeCache[T], id string) (*T, error) {
	if err := CheckParts(id); err != nil {
		return nil, fmt.Errorf("%s %w", r.Kind, ErrNotFound)
	}
	key := r.Key(id)
	raw, err := tx.Get(key)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%s %w", r.Kind, ErrNotFound)
		}
		return nil, err
	}
	c.mu.RLock()
	e, ok := c.m[string(key)]
	c.mu.RUnlock()
	if ok && bytes.Equal(e.raw, raw) {
		return e.v, nil
	}
	v := new(T)
	if err := r.decode(raw, v); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", r.Kind, id, err)
	}
	c.mu.Lock()
	if _, ok := c.m[string(key)]; !ok && len(c.m) >= c.max {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[string(key)] = decoded[T]{raw: bytes.Clone(raw), v: v}
	c.mu.Unlock()
	return v, nil
}
