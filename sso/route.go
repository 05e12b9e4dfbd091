package sso

import (
	"context"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// RouteRequest asks which connection should sign a user in (home-realm
// discovery for the hosted login page).
type RouteRequest struct {
	Env identity.Environment
	// OrgDomain, when set, limits the answer to that organization.
	OrgDomain string
	// Email is the address the user typed.
	Email string
	// IdPID is the connection the client asked for, if any.
	IdPID string
	// RequestID is the OIDC provider's pending authorization request; it
	// comes back to Authorizations.Resume after the sign-in.
	RequestID string
}

// Target is the connection a sign-in would use (see Service.Resolve).
type Target struct {
	// IdPID is the connection's id (Cryptr's idp_id).
	IdPID string
	// OrgDomain is the domain of the organization the connection signs
	// users into.
	OrgDomain string
	// URL starts the SAML sign-in (LoginURL, with request_id when the
	// request named one).
	URL string
}

// Route returns the URL that starts the SAML sign-in for a request, or
// ok=false when no active, configured connection applies: the connection
// named by IdPID, else one of the organization that owns the email's domain
// (its allowed_email_domains), else, without an email, one of OrgDomain.
// The most recently updated usable connection of an organization wins.
func (s *Service) Route(ctx context.Context, req RouteRequest) (string, bool, error) {
	t, ok, err := s.Resolve(ctx, req)
	return t.URL, ok, err
}

// Resolve is Route with the chosen connection named: the headless SSO
// challenges of the management API report it (saml_idp_id) and bind the
// challenge to it. Only a connection of req.Env is ever chosen.
func (s *Service) Resolve(ctx context.Context, req RouteRequest) (Target, bool, error) {
	id, err := s.Identity(req.Env)
	if err != nil {
		return Target{}, false, nil
	}
	var chosen *Connection
	err = id.View(ctx, func(tx *identity.ReadTxn) error {
		env := tx.Env()
		usable := func(c Connection) bool {
			return c.Active && c.Metadata != "" && (req.OrgDomain == "" || c.OrgDomain == req.OrgDomain)
		}
		if req.IdPID != "" {
			c, err := connections(env).Get(tx.KV(kv.Inside()), req.IdPID)
			if isNotFound(err) {
				return nil
			}
			if err != nil {
				return err
			}
			if usable(c) && connectionLive(tx, &c) {
				chosen = &c
			}
			return nil
		}
		var org *identity.Organization
		var err error
		switch domain := identity.EmailDomain(strings.TrimSpace(req.Email)); {
		case domain != "":
			org, err = tx.OrgForEmailDomain(domain)
		case strings.TrimSpace(req.Email) == "" && req.OrgDomain != "":
			org, err = tx.Org(req.OrgDomain)
		default:
			return nil
		}
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		var best *Connection
		err = orgConnections(env, org.ID).Each(tx.KV(kv.Inside()), false, func(cid string, _ []byte) error {
			c, err := connections(env).Get(tx.KV(kv.Inside()), cid)
			if err != nil {
				return err
			}
			// The most recently updated usable connection wins.
			if usable(c) && (best == nil || c.UpdatedAt.After(best.UpdatedAt)) {
				best = &c
			}
			return nil
		})
		chosen = best
		return err
	})
	if err != nil || chosen == nil {
		return Target{}, false, err
	}
	u := s.LoginURL(chosen.ID)
	if req.RequestID != "" {
		u += "?" + url.Values{"request_id": {req.RequestID}}.Encode()
	}
	return Target{IdPID: chosen.ID, OrgDomain: chosen.OrgDomain, URL: u}, true, nil
}
