package identity

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// userCache keeps recently decoded users, each with the exact stored bytes
// it was decoded from. A read still fetches the record in its own
// transaction; only when the bytes are identical to the cached ones is the
// decoded user reused (as a deep copy), so the cache can never return
// anything but what the transaction read. It only saves decoding, the
// largest cost of a user read. Bounded in entries; an arbitrary entry is
// evicted when full.
type userCache struct {
	mu  sync.Mutex
	max int
	m   map[string]cachedUser
}

type cachedUser struct {
	raw []byte
	u   *User
}

func newUserCache(max int) *userCache {
	if max <= 0 {
		return nil
	}
	return &userCache{max: max, m: make(map[string]cachedUser, min(max, 1024))}
}

// decode returns the user stored as raw under key, reusing a cached decode
// of the very same bytes.
func (c *userCache) decode(key string, raw []byte) (*User, error) {
	if c != nil {
		c.mu.Lock()
		e, ok := c.m[key]
		c.mu.Unlock()
		if ok && bytes.Equal(e.raw, raw) {
			return cloneUserDeep(e.u), nil
		}
	}
	u, err := DecodeUser(raw)
	if err != nil {
		return nil, err
	}
	if c != nil {
		e := cachedUser{raw: bytes.Clone(raw), u: cloneUserDeep(u)}
		c.mu.Lock()
		if _, ok := c.m[key]; !ok && len(c.m) >= c.max {
			for k := range c.m {
				delete(c.m, k)
				break
			}
		}
		c.m[key] = e
		c.mu.Unlock()
	}
	return u, nil
}

// readUser reads and decodes the user with id in env through the cache.
func (t *ReadTxn) readUser(env Environment, id string) (*User, error) {
	if kv.CheckParts(id) != nil {
		return nil, fmt.Errorf("user %w", ErrNotFound)
	}
	key := users(env).Key(id)
	raw, err := t.tx.Get(key)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("user %w", ErrNotFound)
		}
		return nil, err
	}
	u, err := t.s.users.decode(string(key), raw)
	if err != nil {
		return nil, fmt.Errorf("decode user %s: %w", id, err)
	}
	return u, nil
}

// cloneUserDeep copies u and every nested attribute value, so cached and
// returned users share no mutable memory.
func cloneUserDeep(u *User) *User {
	c := cloneUser(u)
	for k, v := range c.Attributes {
		c.Attributes[k] = deepCopyJSON(v)
	}
	if u.LastFailedLogin != nil {
		t := *u.LastFailedLogin
		c.LastFailedLogin = &t
	}
	if u.LockedUntil != nil {
		t := *u.LockedUntil
		c.LockedUntil = &t
	}
	if u.PasswordChangedAt != nil {
		t := *u.PasswordChangedAt
		c.PasswordChangedAt = &t
	}
	return c
}

// deepCopyJSON copies a decoded JSON value (maps, slices, scalars).
func deepCopyJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopyJSON(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopyJSON(e)
		}
		return s
	case []string:
		return append([]string(nil), x...)
	}
	return v
}
