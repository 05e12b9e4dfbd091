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

// Route returns the URL that starts the SAML sign-in for a request, or
// ok=false when no active, configured connection applies: the connection
// named by IdPID, else one of the organization that owns the email's domain
// (its allowed_email_domains).
func (s *Service) Route(ctx context.Context, req RouteRequest) (string, bool, error) {
	id, err := s.Identity(req.Env)
	if err != nil {
		return "", false, nil
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
			if usable(c) {
				chosen = &c
			}
			return nil
		}
		domain := identity.EmailDomain(strings.TrimSpace(req.Email))
		if domain == "" {
			return nil
		}
		org, err := tx.OrgForEmailDomain(domain)
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
		return "", false, err
	}
	u := s.LoginURL(chosen.ID)
	if req.RequestID != "" {
		u += "?" + url.Values{"request_id": {req.RequestID}}.Encode()
	}
	return u, true, nil
}
