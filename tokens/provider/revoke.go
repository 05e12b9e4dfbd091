package provider

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// revokeStandard is RFC 7009 token revocation: 200 whether or not the token
// was known.
func (p *Provider) revokeStandard(w http.ResponseWriter, r *http.Request) { p.revoke(w, r, false) }

// revokeCryptr is Cryptr's revoke URL: an unknown token is 422
// {"error":"Access token doesn't exist"}, success gives revoked_at.
func (p *Provider) revokeCryptr(w http.ResponseWriter, r *http.Request) { p.revoke(w, r, true) }

func (p *Provider) revoke(w http.ResponseWriter, r *http.Request, cryptr bool) {
	ps, err := readBodyParams(w, r)
	if err != nil {
		p.writeOAuthError(w, r, err)
		return
	}
	app, env, err := p.clientForGrant(w, r, ps)
	if err != nil {
		p.writeOAuthError(w, r, err)
		return
	}
	token := ps.get("token")
	if token == "" {
		token = ps.body["refresh_token"]
	}
	if token == "" {
		p.writeOAuthError(w, r, badRequest("token is required"))
		return
	}
	now := p.now()
	found, kind := false, ""
	var orgDomain, userID, sci string
	// token_type_hint may be ignored (RFC 7009 §2.1): a refresh token is a
	// cheap hash lookup, tried first.
	if len(token) <= maxParamLen {
		err = p.ids.Update(r.Context(), func(tx *identity.Txn) error {
			raw := tx.KVTx(kv.Inside())
			rec, _, err := getBySecret(raw, refreshes, token)
			if errors.Is(err, identity.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			if rec.ClientID != app.ClientID || rec.Env != env || !sameOrg(r, rec.OrgDomain) {
				return nil
			}
			found, kind, orgDomain, userID, sci = true, "refresh_token", rec.OrgDomain, rec.UserID, rec.SCI
			return revokeFamily(raw, rec.FamilyID, now, "revoked")
		})
		if err != nil {
			p.writeOAuthError(w, r, err)
			return
		}
	}
	if !found {
		if c, verr := p.verifier.Verify(r.Context(), token); verr == nil && c.ClientID == app.ClientID && sameOrg(r, c.Tenant) &&
			sameEnv(c, env) {
			err = p.ids.Update(r.Context(), func(tx *identity.Txn) error {
				return revokeAccess(tx.KVTx(kv.Inside()), c.ID, app.ClientID, c.ExpiresAt())
			})
			if err != nil {
				p.writeOAuthError(w, r, err)
				return
			}
			found, kind, orgDomain, userID = true, "access_token", c.Tenant, c.Subject
		}
	}
	if found {
		p.audit(r.Context(), env, orgDomain, &identity.Event{Code: identity.EventTokenRevoked, ClientID: app.ClientID,
			ResourceOwnerID: userID, Data: map[string]any{"token_type": kind}})
	}
	if !cryptr {
		writeJSON(w, http.StatusOK, map[string]any{})
		return
	}
	if !found {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": "Access token doesn't exist"})
		return
	}
	out := map[string]any{"revoked_at": now.UTC().Format(time.RFC3339), "token_type": kind}
	if sci != "" {
		// An SSO session's refresh token: Cryptr's SDKs take the browser
		// to slo-after-revoke-token with this code, which ends the
		// provider session (and the IdP's) without a confirmation.
		code, err := p.newSLOCode(r.Context(), sloRecord{Env: env, OrgDomain: orgDomain, ClientID: app.ClientID, UserID: userID})
		if err != nil {
			p.writeOAuthError(w, r, err)
			return
		}
		out["slo_code"], out["refresh_token"] = code, token
	}
	writeJSON(w, http.StatusOK, out)
}

// sameEnv reports whether verified claims belong to env (the environment of
// the request's path tree, or of the authenticated client).
func sameEnv(c *tokens.Claims, env identity.Environment) bool {
	e, err := c.Environment()
	return err == nil && e == env
}

// accessActive reports whether an access token (by jti) is neither revoked
// nor in a revoked family.
func accessActive(tx identity.ReadTx, jti string) (bool, error) {
	ar, err := accessRecs.Get(tx, jti)
	if errors.Is(err, identity.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if ar.Revoked {
		return false, nil
	}
	if ar.FamilyID != "" {
		fam, err := families.Get(tx, ar.FamilyID)
		if err == nil && fam.RevokedAt != nil {
			return false, nil
		}
		if err != nil && !errors.Is(err, identity.ErrNotFound) {
			return false, err
		}
	}
	return true, nil
}

// introspect is RFC 7662 token introspection. The caller must authenticate
// as a client and sees only its own tokens.
func (p *Provider) introspect(w http.ResponseWriter, r *http.Request) {
	ps, err := readBodyParams(w, r)
	if err != nil {
		p.writeOAuthError(w, r, err)
		return
	}
	app, env, err := p.clientForGrant(w, r, ps)
	if err != nil {
		p.writeOAuthError(w, r, err)
		return
	}
	token := ps.get("token")
	if token == "" {
		p.writeOAuthError(w, r, badRequest("token is required"))
		return
	}
	inactive := map[string]any{"active": false}
	now := p.now()
	if len(token) > 16<<10 {
		writeJSON(w, http.StatusOK, inactive)
		return
	}
	// Refresh token?
	var out map[string]any
	var owner struct {
		env                      identity.Environment
		domain, userID, clientID string
	}
	err = p.ids.View(r.Context(), func(tx *identity.ReadTxn) error {
		raw := tx.KV(kv.Inside())
		rec, _, err := getBySecret(raw, refreshes, token)
		if errors.Is(err, identity.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		out = inactive
		if rec.ClientID != app.ClientID || rec.Env != env || !sameOrg(r, rec.OrgDomain) || !now.Before(rec.ExpiresAt) ||
			(rec.UsedAt != nil && now.Sub(*rec.UsedAt) > p.opts.RefreshGrace) {
			return nil
		}
		fam, err := families.Get(raw, rec.FamilyID)
		if err != nil || fam.RevokedAt != nil {
			return nil
		}
		owner.env, owner.domain, owner.userID, owner.clientID = rec.Env, rec.OrgDomain, rec.UserID, rec.ClientID
		out = map[string]any{"active": true, "token_type": "refresh_token", "client_id": rec.ClientID,
			"sub": rec.UserID, "scope": strings.Join(rec.Scopes, " "), "exp": rec.ExpiresAt.Unix(),
			"iss": p.Issuer(rec.Env, rec.OrgDomain)}
		return nil
	})
	if err != nil {
		p.writeOAuthError(w, r, err)
		return
	}
	if out != nil {
		if out["active"] == true {
			ok, err := p.ownerActive(r.Context(), owner.env, owner.domain, owner.userID, owner.clientID)
			if err != nil {
				p.writeOAuthError(w, r, err)
				return
			}
			if !ok {
				out = inactive
			}
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	c, err := p.verifier.Verify(r.Context(), token)
	if err != nil || c.ClientID != app.ClientID || !sameOrg(r, c.Tenant) || !sameEnv(c, env) {
		writeJSON(w, http.StatusOK, inactive)
		return
	}
	active := false
	err = p.ids.View(r.Context(), func(tx *identity.ReadTxn) (err error) {
		active, err = accessActive(tx.KV(kv.Inside()), c.ID)
		return err
	})
	if err != nil {
		p.writeOAuthError(w, r, err)
		return
	}
	if active {
		env, err := c.Environment()
		if err == nil {
			active, err = p.ownerActive(r.Context(), env, c.Tenant, c.Subject, c.ClientID)
		}
		if err != nil {
			p.writeOAuthError(w, r, err)
			return
		}
	}
	if !active {
		writeJSON(w, http.StatusOK, inactive)
		return
	}
	res := map[string]any{"active": true, "token_type": "Bearer", "client_id": c.ClientID, "sub": c.Subject,
		"scope": strings.Join(c.Scopes, " "), "exp": c.Expiry, "iat": c.IssuedAt, "iss": c.Issuer, "jti": c.ID}
	if len(c.Audience) == 1 {
		res["aud"] = c.Audience[0]
	} else if len(c.Audience) > 1 {
		res["aud"] = []string(c.Audience)
	}
	if c.Email != "" {
		res["username"] = c.Email
	}
	writeJSON(w, http.StatusOK, res)
}

// ownerActive reports whether the user a token was issued to still exists
// and is enabled, as userinfo and the refresh grant require, so that
// introspection does not vouch for a disabled or deleted user's tokens.
// Machine tokens (sub = client_id) have no user.
func (p *Provider) ownerActive(ctx context.Context, env identity.Environment, domain, userID, clientID string) (bool, error) {
	if userID == clientID {
		return true, nil
	}
	svc, err := p.envService(env)
	if err != nil {
		return false, err
	}
	u, err := svc.GetUser(ctx, domain, userID)
	if errors.Is(err, identity.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return u.Enabled, nil
}

// userinfo is the OIDC userinfo endpoint (GET and POST, OIDC Core §5.3),
// also Cryptr's /t/{tenant}/userinfo?client_id=.
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	ps, err := readParams(w, r)
	if err != nil {
		p.writeOAuthError(w, r, err)
		return
	}
	token := tokens.BearerToken(r)
	if token == "" && r.Method == http.MethodPost {
		token = ps.body["access_token"]
	}
	unauthorized := oerr(http.StatusUnauthorized, errInvalidToken, "invalid or expired access token")
	if token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": errInvalidRequest, "error_description": "a bearer access token is required"})
		return
	}
	c, err := p.verifier.Verify(r.Context(), token)
	if err != nil || c.Tenant != r.PathValue("domain") || !sameEnv(c, envOf(r)) {
		p.writeOAuthError(w, r, unauthorized)
		return
	}
	if id := r.URL.Query().Get("client_id"); id != "" && id != c.ClientID {
		p.writeOAuthError(w, r, unauthorized)
		return
	}
	app, err := p.appFor(r.Context(), envOf(r), c.ClientID, r.PathValue("domain"))
	if err == nil {
		allowCORS(w, app)
	}
	active := false
	err = p.ids.View(r.Context(), func(tx *identity.ReadTxn) (err error) {
		active, err = accessActive(tx.KV(kv.Inside()), c.ID)
		return err
	})
	if err != nil {
		p.writeOAuthError(w, r, err)
		return
	}
	env, err := c.Environment()
	if !active || err != nil {
		p.writeOAuthError(w, r, unauthorized)
		return
	}
	svc, err := p.envService(env)
	if err != nil {
		p.writeOAuthError(w, r, err)
		return
	}
	u, err := svc.GetUser(r.Context(), c.Tenant, c.Subject)
	if err != nil || !u.Enabled {
		p.writeOAuthError(w, r, unauthorized)
		return
	}
	out := tokens.ProfileClaims(u, c.Scopes)
	if out == nil {
		out = map[string]any{}
	}
	out["sub"] = u.ID
	writeJSON(w, http.StatusOK, out)
}
