package identity

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// DefaultRecordCacheSize bounds each cache of decoded applications and
// organizations.
const DefaultRecordCacheSize = 4096

// decodeCache keeps recently decoded records, each with the exact stored
// bytes it was decoded from. A read still fetches the record in its own
// transaction; only when the bytes are identical to the cached ones is the
// decoded value reused. So a change made anywhere (another instance on the
// same database included), a rotated client secret or a deleted
// application, is seen by the very next read: the cache only saves
// decoding. Values it returns are shared: callers copy before changing
// or handing them out. Bounded; an arbitrary entry goes when it is full.
type decodeCache[T any] struct {
	mu  sync.RWMutex
	max int
	m   map[string]decoded[T]
}

type decoded[T any] struct {
	raw []byte
	v   *T
}

func newDecodeCache[T any](max int) *decodeCache[T] {
	return &decodeCache[T]{max: max, m: make(map[string]decoded[T])}
}

// read returns the record of recs with id as tx reads it, decoded or
// reused from the cache (shared: do not change it).
func readCached[T any](tx ReadTx, c *decodeCache[T], recs kv.Records[T], id string) (*T, error) {
	if kv.CheckParts(id) != nil {
		return nil, fmt.Errorf("%s %w", recs.Kind, ErrNotFound)
	}
	key := recs.Key(id)
	raw, err := tx.Get(key)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%s %w", recs.Kind, ErrNotFound)
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
	if err := recs.Decode(raw, v); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", recs.Kind, id, err)
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

// recordCaches are the decode caches a Service and the Services derived
// from it share.
type recordCaches struct {
	apps *decodeCache[Application]
	orgs *decodeCache[Organization]
}

func newRecordCaches() *recordCaches {
	return &recordCaches{apps: newDecodeCache[Application](DefaultRecordCacheSize),
		orgs: newDecodeCache[Organization](DefaultRecordCacheSize)}
}

// cloneApp copies a so that the copy shares no mutable memory with it.
func cloneApp(a *Application) *Application {
	c := *a
	c.ServedOrgs = slices.Clone(a.ServedOrgs)
	c.AllowedRedirectURLs = slices.Clone(a.AllowedRedirectURLs)
	c.AllowedOriginsCORS = slices.Clone(a.AllowedOriginsCORS)
	c.AllowedWebOrigins = slices.Clone(a.AllowedWebOrigins)
	c.AllowedLogoutURLs = slices.Clone(a.AllowedLogoutURLs)
	c.Metadata = maps.Clone(a.Metadata)
	return &c
}

// app reads the application with id (shared: do not change it).
func (t *ReadTxn) app(id string) (*Application, error) {
	return readCached(t.tx, t.s.cache.apps, apps(t.s.env), id)
}

// servedBy reports whether app serves the organization with domain (the
// rule of ApplicationServes), in the transaction.
func (t *ReadTxn) servedBy(app *Application, domain string) (bool, error) {
	if app == nil || domain == "" {
		return false, nil
	}
	if app.OrganizationScope != "" && app.OrganizationScope != domain {
		return false, nil
	}
	if app.ServedOrgs != nil && !slices.Contains(app.ServedOrgs, domain) {
		return false, nil
	}
	if t.s.inScope(domain) != nil {
		return false, nil
	}
	id, err := orgDomains.Lookup(t.tx, "", domain)
	if err != nil {
		return false, nil
	}
	o, err := readCached(t.tx, t.s.cache.orgs, t.s.orgs(), id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !t.s.Manages(o.Domain) {
		return false, nil
	}
	return o.ID == app.OrgID || o.ManagedBy == "" || o.ManagedBy == t.s.account, nil
}

// AuthenticateClient finds the application with clientID as the issuer of
// the organization with domain sees it (see ApplicationFor; with no
// domain, by its client id alone, as ApplicationByClientID), and checks
// the secret it presents, in one read transaction: a confidential client
// (regular_web, machine) must present its current secret, compared in
// constant time with the stored hash; a public client must present none.
// An unknown client, or one that does not serve the organization, is
// ErrNotFound; a wrong, missing or unexpected secret is
// ErrUnauthenticated. A rotated secret (RotateApplicationSecret) or a deleted
// application is refused from the moment the change commits, on every
// instance: each call reads the stored application (only its decoding is
// cached).
func (s *Service) AuthenticateClient(ctx context.Context, clientID, secret, domain string) (*Application, error) {
	var out *Application
	err := s.View(ctx, func(tx *ReadTxn) error {
		a, err := tx.appByClientID(clientID)
		if err != nil {
			return err
		}
		if domain != "" {
			ok, err := tx.servedBy(a, domain)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("application %q: %w", clientID, ErrNotFound)
			}
		}
		if a.ClientSecretHash != "" || !a.Public() {
			if secret == "" || a.ClientSecretHash == "" || !SecretMatches(secret, a.ClientSecretHash) {
				return fmt.Errorf("client %q: bad credentials: %w", clientID, ErrUnauthenticated)
			}
		} else if secret != "" {
			return fmt.Errorf("client %q: a public client presents no secret: %w", clientID, ErrUnauthenticated)
		}
		out = cloneApp(a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
