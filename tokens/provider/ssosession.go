package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// SSOLogoutRequest asks enterprise SSO to log a user out of the identity
// provider whose sign-in opened the browser session that just ended.
type SSOLogoutRequest struct {
	Env       identity.Environment
	OrgDomain string
	UserID    string
	// IdPID is the SSO connection (idp_id) that signed the user in.
	IdPID string
	// NameID and SessionIndex are the IdP's names for the user and the
	// IdP session (what Authenticated carried).
	NameID       string
	SessionIndex string
	// ReturnTo is where the browser goes once the IdP has answered: the
	// application's allowed logout URL (with its state), or "" for a
	// signed-out page.
	ReturnTo string
	// Locale is "en" or "fr".
	Locale string
}

// SSOLogout is enterprise SSO's single logout, offered to the provider:
// when a browser session opened by an SSO sign-in ends, the provider asks
// for the URL that logs the user out of the identity provider (a SAML
// LogoutRequest) and sends the browser there instead of ReturnTo. ok=false
// means the IdP has no single logout endpoint: the provider goes on to
// ReturnTo itself. The SSO package implements it (ssooidc.Logout).
type SSOLogout interface {
	StartLogout(ctx context.Context, req SSOLogoutRequest) (redirectURL string, ok bool, err error)
}

// SSOLogoutFunc adapts a function to SSOLogout.
type SSOLogoutFunc func(ctx context.Context, req SSOLogoutRequest) (string, bool, error)

// StartLogout calls f.
func (f SSOLogoutFunc) StartLogout(ctx context.Context, req SSOLogoutRequest) (string, bool, error) {
	return f(ctx, req)
}

// ssoSessions indexes the browser sessions (by the SHA-256 of their
// cookie) that an SSO connection opened for a user, so that a logout
// request from the IdP ends them all.
func ssoSessions(env identity.Environment, idpID, userID string) kv.Set {
	return kv.Set{Env: string(env), Parts: []string{"oidc-sso-sessions", idpID, userID}}
}

// putSession stores a browser session; one opened by an SSO sign-in is
// also indexed by user and connection. Members whose session is gone
// (expired, ended) are pruned at the same time, so the index stays as
// small as the user's live sessions.
func putSession(tx identity.Tx, hash string, s sessionRecord) error {
	if err := put(tx, sessions, hash, s, s.ExpiresAt); err != nil {
		return err
	}
	if err := indexGrant(tx, s.Env, s.UserID, "s:"+hash); err != nil {
		return err
	}
	if s.SCI == "" {
		return nil
	}
	set := ssoSessions(s.Env, s.SCI, s.UserID)
	var gone []string
	err := set.Each(tx, false, func(member string, _ []byte) error {
		ok, err := sessions.Exists(tx, member)
		if err == nil && !ok {
			gone = append(gone, member)
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, m := range gone {
		if err := set.Remove(tx, m); err != nil {
			return err
		}
	}
	return set.Add(tx, hash, nil)
}

// EndSSOSessions ends every browser session that SSO connection idpID
// opened for user userID in env: the identity provider sent a logout
// request (SAML single logout). Tokens already issued stay valid until they
// expire or are revoked; the next authorization request needs a new
// sign-in. It implements sso.SessionEnder (through ssooidc.Bridge).
func (p *Provider) EndSSOSessions(ctx context.Context, env identity.Environment, userID, idpID string) error {
	if userID == "" || idpID == "" {
		return fmt.Errorf("provider: EndSSOSessions needs a user and a connection: %w", identity.ErrInvalid)
	}
	set := ssoSessions(env, idpID, userID)
	ended, orgDomain := 0, ""
	err := p.ids.Update(ctx, func(tx *identity.Txn) error {
		raw := tx.KVTx(kv.Inside())
		ended, orgDomain = 0, ""
		var members []string
		if err := set.Each(raw, false, func(member string, _ []byte) error {
			members = append(members, member)
			return nil
		}); err != nil {
			return err
		}
		for _, m := range members {
			s, err := sessions.Get(raw, m)
			if errors.Is(err, identity.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if s.Env != env || s.UserID != userID || s.SCI != idpID {
				continue
			}
			if err := sessions.Delete(raw, m); err != nil {
				return err
			}
			ended++
			orgDomain = s.OrgDomain
		}
		return set.Clear(raw)
	})
	if err != nil {
		return fmt.Errorf("provider: end SSO sessions: %w", err)
	}
	if ended > 0 {
		p.audit(ctx, env, orgDomain, &identity.Event{Code: identity.EventLogout, ResourceOwnerID: userID,
			SAMLIdPID: idpID, Data: map[string]any{"initiator": "identity_provider", "sessions": ended}})
	}
	return nil
}
