package identity

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// DefaultRecordCacheSize bounds each cache of decoded applications and
// organizations.
const DefaultRecordCacheSize = 4096

// recordCaches are the decode caches a Service and the Services derived
// from it share.
type recordCaches struct {
	apps *kv.DecodeCache[Application]
	orgs *kv.DecodeCache[Organization]
}

func newRecordCaches() *recordCaches {
	return &recordCaches{apps: kv.NewDecodeCache[Application](DefaultRecordCacheSize),
		orgs: kv.NewDecodeCache[Organization](DefaultRecordCacheSize)}
}

// cloneApp copies a so that the copy shares no mutable memory with it.
func cloneApp(a *Application) *Application {
	c := *a
	c.ServedOrgs = slices.Clone(a.ServedOrgs)
	c.AllowedRedirectURLs = slices.Clone(a.AllowedRedirectURLs)
	c.AllowedOriginsCORS = slices.Clone(a.AllowedOriginsCORS)
	c.AllowedWebOrigins = slices.Clone(a.AllowedWebOrigins)
	c.AllowedLogoutURLs = slices.Clone(a.AllowedLogoutURLs)
	c.AllowedScopes = slices.Clone(a.AllowedScopes)
	c.Metadata = maps.Clone(a.Metadata)
	return &c
}

// app reads the application with id (shared: do not change it).
func (t *ReadTxn) app(id string) (*Application, error) {
	return apps(t.s.env).GetCached(t.tx, t.s.cache.apps, id)
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
	o, err := t.s.orgs().GetCached(t.tx, t.s.cache.orgs, id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !t.s.Manages(o.Domain) {
		return false, nil
	}
	if t.s.account != "" && o.Domain == t.s.account {
		// The account's organization (the console's members) is served
		// only by its own applications, which only an owner may change.
		return o.ID == app.OrgID, nil
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
