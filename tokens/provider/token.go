package provider

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/cryptrhttp"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// Cryptr's refresh timing hints (cryptr-details §1.6).
const (
	refreshLeeway = 60
	refreshRetry  = 5
)

// tokenStandard is the OIDC token endpoint {issuer}/oauth/token.
func (p *Provider) tokenStandard(w http.ResponseWriter, r *http.Request) {
	p.token(w, r, false)
}

// tokenCryptr serves Cryptr's token URLs (era-1 code and refresh, era-2
// /org/{org}/oauth2/token, era-3 /oauth/token): the same grants, with
// Cryptr's answer fields.
func (p *Provider) tokenCryptr(w http.ResponseWriter, r *http.Request) {
	p.token(w, r, true)
}

// grantResult is what a grant produced.
type grantResult struct {
	app     *identity.Application
	access  *tokens.Token
	id      *tokens.Token
	refresh string
	rexp    time.Time
	scopes  []string
	nonce   string
	authzID string
	userID  string
	// headless: a code exchanged with a management token.
	headless bool
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request, cryptr bool) {
	ps, err := readBodyParams(w, r)
	if err != nil {
		p.writeOAuthError(w, r, err)
		return
	}
	var res *grantResult
	gt := ps.get("grant_type")
	if gt == "" && cryptr && ps.get("code") != "" && tokens.BearerToken(r) != "" {
		// Cryptr's Kotlin SDK (validateSsoChallenge) sends a headless code
		// with the management token and no grant_type.
		gt = "authorization_code"
	}
	switch gt {
	case "authorization_code":
		res, err = p.grantCode(w, r, ps, cryptr)
	case "refresh_token":
		res, err = p.grantRefresh(w, r, ps, cryptr)
	case "client_credentials":
		if p.managementGrant(w, r, ps, cryptr) {
			return
		}
		res, err = p.grantClientCredentials(w, r, ps)
	case "":
		err = badRequest("grant_type is required")
	default:
		err = oerr(http.StatusBadRequest, errUnsupportedGrantType, "supported grants: authorization_code, refresh_token, client_credentials")
	}
	if err != nil {
		p.writeOAuthError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p.tokenAnswer(res, ps, cryptr))
}

// standardAnswer is the token answer at the standard URLs (RFC 6749
// §5.1, OIDC Core §3.1.3.3): a struct, members in the order a map wrote
// them, encoded without a map's sorting and boxing.
type standardAnswer struct {
	AccessToken  string `json:"access_token"`
	ExpiresIn    int64  `json:"expires_in"`
	IDToken      string `json:"id_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	TokenType    string `json:"token_type"`
}

// tokenAnswer renders the answer of a grant. A code exchanged with a
// management token (headless) writes scope as a JSON array, the way the
// Kotlin SDK's ChallengeResponse reads it.
func (p *Provider) tokenAnswer(res *grantResult, ps *params, cryptr bool) any {
	if !cryptr && !res.headless {
		a := &standardAnswer{AccessToken: res.access.Value, TokenType: "Bearer", RefreshToken: res.refresh,
			ExpiresIn: max(0, int64(res.access.ExpiresAt.Sub(p.now()).Seconds())), Scope: strings.Join(res.scopes, " ")}
		if res.id != nil {
			a.IDToken = res.id.Value
		}
		return a
	}
	out := map[string]any{
		"access_token": res.access.Value,
		"token_type":   "Bearer",
		"expires_in":   max(0, int64(res.access.ExpiresAt.Sub(p.now()).Seconds())),
	}
	if len(res.scopes) > 0 {
		out["scope"] = strings.Join(res.scopes, " ")
	}
	if res.id != nil {
		out["id_token"] = res.id.Value
	}
	if res.refresh != "" {
		out["refresh_token"] = res.refresh
	}
	if cryptr {
		out["expires_at"] = res.access.ExpiresAt.UTC().Format(time.RFC3339)
		out["access_token_expiration_date"] = res.access.ExpiresAt.UTC().Format(time.RFC3339)
		if res.refresh != "" {
			out["refresh_token_expires_at"] = res.rexp.UTC().Format(time.RFC3339)
			out["refresh_expiration_date"] = res.rexp.UTC().Format(time.RFC3339)
			out["refresh_leeway"] = refreshLeeway
			out["refresh_retry"] = refreshRetry
		}
		// The client's nonce is echoed: Cryptr's SPA refuses an answer
		// without it.
		if n := ps.get("nonce"); n != "" {
			out["nonce"] = n
		} else if res.nonce != "" {
			out["nonce"] = res.nonce
		}
		out["client_id"] = res.app.ClientID
		if res.userID != "" {
			out["resource_owner_id"] = res.userID
		}
		if res.authzID != "" {
			out["oauth_authorization_id"] = res.authzID
		}
	}
	if res.headless {
		headlessScopeAnswer(out, res.scopes)
	}
	return out
}

// clientForGrant authenticates the client; for Cryptr paths that carry the
// client id, it must agree with the request.
func (p *Provider) clientForGrant(w http.ResponseWriter, r *http.Request, ps *params) (*identity.Application, identity.Environment, error) {
	app, env, err := p.authenticateClient(r, ps)
	if err != nil {
		return nil, "", err
	}
	if id := r.PathValue("client_id"); id != "" && id != app.ClientID {
		return nil, "", &oauthError{Status: http.StatusUnauthorized, Code: errInvalidClient, Desc: "client authentication failed"}
	}
	allowCORS(w, app)
	return app, env, nil
}

// grantCode exchanges an authorization code (RFC 6749 §4.1.3, RFC 7636).
// Headless codes (magic-link and SSO challenges) may be exchanged by the
// backend with its management token instead of client credentials, in the
// environment of the URL.
func (p *Provider) grantCode(w http.ResponseWriter, r *http.Request, ps *params, cryptr bool) (*grantResult, error) {
	if bearer := tokens.BearerToken(r); bearer != "" && ps.get("client_secret") == "" {
		mc := p.managementCaller(r.Context(), bearer)
		if mc == nil || mc.Environment() != envOf(r) {
			return nil, &oauthError{Status: http.StatusUnauthorized, Code: errInvalidClient, Desc: "invalid management token"}
		}
		return p.redeemCode(w, r, ps, cryptr, mc)
	}
	return p.redeemCode(w, r, ps, cryptr, nil)
}

// redeemCode redeems a code for the client that authenticates (mc nil) or
// for the API key whose scoped service mc is: a headless code of an
// organization the key manages, in its environment. Any other code is
// invalid_grant, exactly like an unknown one, and stays unused.
func (p *Provider) redeemCode(w http.ResponseWriter, r *http.Request, ps *params, cryptr bool, mc *identity.Service) (*grantResult, error) {
	ctx := r.Context()
	code := ps.get("code")
	if code == "" {
		code = ps.get("authorization_code")
	}
	if code == "" {
		return nil, badRequest("code is required")
	}
	if len(code) > maxParamLen {
		return nil, badGrant("invalid authorization code")
	}
	var app *identity.Application
	var env identity.Environment
	if mc != nil {
		env = mc.Environment()
	} else {
		var err error
		if app, env, err = p.clientForGrant(w, r, ps); err != nil {
			return nil, err
		}
	}
	var hash string // the code's record key, once found
	verifier := ps.get("code_verifier")
	now := p.now()
	// The code is checked in a read; the tokens are signed outside any
	// transaction; one write then marks the code used and stores what it
	// issued (family, refresh token, access record, audit event), after
	// checking again that the code is unused: of two redemptions of one
	// code, the second to commit revokes what the first issued.
	family, err := p.newTimeUUID()
	if err != nil {
		return nil, err
	}
	svc, err := p.envService(env)
	if err != nil {
		return nil, err
	}
	var rec codeRecord
	var reused bool
	var user *identity.User
	// One read: the code and its user (in the code's environment, which
	// is env).
	err = svc.View(ctx, func(tx *identity.ReadTxn) error {
		raw := tx.KV(kv.Inside())
		c, key, err := getBySecret(raw, codes, code)
		if errors.Is(err, identity.ErrNotFound) {
			return badGrant("invalid authorization code")
		}
		hash = key
		if err != nil {
			return err
		}
		if c.Env != env || (app != nil && c.ClientID != app.ClientID) || !sameOrg(r, c.OrgDomain) ||
			(mc != nil && (c.Flavor != flavorHeadless || !mc.Manages(c.OrgDomain))) {
			return badGrant("invalid authorization code")
		}
		if c.Used {
			reused, rec = true, c
			return nil
		}
		if !now.Before(c.ExpiresAt) {
			return badGrant("authorization code expired")
		}
		if ru := ps.get("redirect_uri"); ru != "" && ru != c.RedirectURI {
			return badGrant("redirect_uri does not match the authorization request")
		} else if ru == "" && c.Flavor == flavorOIDC {
			// A code of the standard authorization endpoint needs its
			// redirect_uri wherever it is redeemed (RFC 6749 §4.1.3),
			// Cryptr's token URLs included.
			return badRequest("redirect_uri is required")
		}
		if id := ps.get("authorization_id"); id != "" && id != c.AuthorizationID {
			return badGrant("authorization_id does not match the code")
		}
		if id := r.PathValue("authorization_id"); id != "" && id != c.AuthorizationID {
			return badGrant("authorization_id does not match the code")
		}
		if st := r.PathValue("state"); st != "" && c.State != "" && st != c.State {
			return badGrant("state does not match the authorization request")
		}
		switch {
		case c.Challenge == "" && verifier != "":
			return badGrant("code_verifier given but the authorization request had no code_challenge")
		case c.Challenge != "" && verifier == "":
			return badGrant("code_verifier is required")
		case c.Challenge != "" && (len(verifier) < 43 || len(verifier) > 128 ||
			subtle.ConstantTimeCompare([]byte(pkceS256(verifier)), []byte(c.Challenge)) != 1):
			return badGrant("code_verifier does not match the code_challenge")
		}
		rec = c
		user, err = userIn(tx, c.OrgDomain, c.UserID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if reused {
		// Reuse: revoke what the code issued (RFC 6749 §4.1.2).
		return nil, p.codeReused(ctx, hash, now)
	}
	if p.afterCodeMarked != nil {
		p.afterCodeMarked()
	}
	if app == nil {
		a, err := p.appByClientID(ctx, rec.Env, rec.ClientID)
		if err != nil {
			return nil, badGrant("invalid authorization code")
		}
		app = a
		allowCORS(w, app)
	} else if app.Public() && rec.Flavor == flavorHeadless {
		return nil, &oauthError{Status: http.StatusUnauthorized, Code: errInvalidClient,
			Desc: "this code must be exchanged with the management token that requested it"}
	}
	nonce := rec.Nonce
	if nonce == "" && cryptr {
		nonce = ps.get("nonce")
	}
	res, err := p.issue(ctx, issueParams{env: rec.Env, org: rec.OrgDomain, app: app, user: user, scopes: app.GrantableScopes(rec.Scopes),
		nonce: nonce, code: code, state: rec.State, redirect: rec.RedirectURI, authTime: rec.AuthTime, ips: rec.IPS,
		sci: rec.SCI, cryptr: rec.Flavor != flavorOIDC, codeHash: hash, family: family})
	if err != nil {
		return nil, err
	}
	res.authzID = rec.AuthorizationID
	res.headless = mc != nil
	return res, nil
}

// codeReused revokes what a used code issued (its refresh family, its
// access token), audits the reuse and returns the refusal.
func (p *Provider) codeReused(ctx context.Context, hash string, now time.Time) error {
	var c codeRecord
	err := p.ids.Update(ctx, func(tx *identity.Txn) error {
		raw := tx.KVTx(kv.Inside())
		var err error
		if c, err = codes.Get(raw, hash); err != nil {
			return err
		}
		return revokeCodeUse(raw, c, now)
	})
	if errors.Is(err, identity.ErrNotFound) {
		return badGrant("invalid authorization code")
	}
	if err != nil {
		return err
	}
	p.audit(ctx, c.Env, c.OrgDomain, &identity.Event{Code: identity.EventCodeReuseDetected, ClientID: c.ClientID,
		ResourceOwnerID: c.UserID})
	return errCodeReused
}

// errCodeReused answers the redemption of a used code.
var errCodeReused = badGrant("authorization code already used; the tokens it issued are revoked")

// revokeCodeUse revokes the refresh family and the access token that the
// first redemption of a code issued.
func revokeCodeUse(raw identity.Tx, c codeRecord, now time.Time) error {
	if c.FamilyID != "" {
		if err := revokeCodeFamily(raw, c.FamilyID, now); err != nil {
			return err
		}
	}
	if c.AccessJTI != "" {
		return revokeAccess(raw, c.AccessJTI, c.ClientID, now.Add(24*time.Hour))
	}
	return nil
}

// sameOrg reports whether a grant for organization domain may be redeemed
// at r's URL: URLs that name an organization serve only its own.
func sameOrg(r *http.Request, domain string) bool {
	d := r.PathValue("domain")
	return d == "" || d == domain
}

// managementCaller verifies a management (API-key) token and returns the
// identity service scoped to its credential as currently stored
// (identity.Service.Scoped: its environment, organizations and
// permissions); nil when the token is invalid, the credential is gone or
// expired, or the token or the key lacks create:users.
func (p *Provider) managementCaller(ctx context.Context, bearer string) *identity.Service {
	c, err := p.tok.VerifyAPIKeyToken(ctx, bearer)
	if err != nil {
		return nil
	}
	env, err := c.Environment()
	if err != nil {
		return nil
	}
	svc, err := p.envService(env)
	if err != nil {
		return nil
	}
	cred, err := svc.GetCredential(ctx, c.Subject)
	if err != nil || cred.Environment != env || (cred.ExpiresAt != nil && !p.now().Before(*cred.ExpiresAt)) ||
		!(&identity.Credential{Permissions: c.Scopes}).Allows(identity.ActionCreate, "users") {
		return nil
	}
	scoped, err := svc.Scoped(cred)
	if err != nil || !scoped.Allows(identity.ActionCreate, "users") {
		return nil
	}
	return scoped
}

// headlessGrant serves grant_type=authorization_code at POST
// /api/v2/oauth/token (see APIRoutes): the code of a headless challenge,
// exchanged with the management token in the key's environment.
func (p *Provider) headlessGrant(w http.ResponseWriter, r *http.Request, pr *cryptrhttp.Principal, in cryptrhttp.Params) error {
	ps := &params{r: r, body: map[string]string{}}
	for k, v := range in {
		switch x := v.(type) {
		case string:
			ps.body[k] = x
		case float64, bool, json.Number:
			ps.body[k] = fmt.Sprint(x)
		}
	}
	var res *grantResult
	var err error
	if !pr.Allows(identity.ActionCreate, "users") {
		err = &oauthError{Status: http.StatusUnauthorized, Code: errInvalidClient,
			Desc: "the API key lacks the permission create:users"}
	} else {
		res, err = p.redeemCode(w, r, ps, true, pr.Service)
	}
	if err != nil {
		p.writeOAuthError(w, r, err)
		return nil
	}
	writeJSON(w, http.StatusOK, p.tokenAnswer(res, ps, true))
	return nil
}

// userOf loads an enabled user; a missing or disabled user is invalid_grant.
func (p *Provider) userOf(ctx context.Context, env identity.Environment, org, id string) (*identity.User, error) {
	svc, err := p.envService(env)
	if err != nil {
		return nil, err
	}
	var u *identity.User
	err = svc.View(ctx, func(tx *identity.ReadTxn) (err error) {
		u, err = userIn(tx, org, id)
		return err
	})
	return u, err
}

// userIn is userOf in a read transaction of the user's
// environment; a missing or disabled user is invalid_grant.
func userIn(tx *identity.ReadTxn, org, id string) (*identity.User, error) {
	orgID, err := tx.OrgID(org)
	var u *identity.User
	if err == nil {
		u, err = tx.OrgUser(orgID, id)
	}
	if errors.Is(err, identity.ErrNotFound) {
		return nil, badGrant("the user no longer exists")
	}
	if err != nil {
		return nil, err
	}
	if !u.Enabled {
		return nil, badGrant("the user is disabled")
	}
	return u, nil
}

type issueParams struct {
	env      identity.Environment
	org      string
	app      *identity.Application
	user     *identity.User
	scopes   []string
	nonce    string
	code     string
	state    string
	redirect string
	authTime time.Time
	ips, sci string
	cryptr   bool
	// codeHash, when set, links the issued tokens to the code for reuse
	// revocation; family is then the family named when the code was
	// marked used, created here unless a reuse revoked it meanwhile.
	codeHash string
	// family continues an existing refresh family (refresh grant), or
	// names the new family of a code redemption.
	family string
	// parent is the hash of the refresh token being rotated, and parentRaw
	// its value (the successor is sealed under it).
	parent, parentRaw string
}

// issue signs the access and ID tokens and stores a new refresh token.
func (p *Provider) issue(ctx context.Context, ip issueParams) (*grantResult, error) {
	req := &tokens.TokenRequest{Env: ip.env, OrgDomain: ip.org, User: ip.user, App: ip.app, Scopes: ip.scopes,
		Nonce: ip.nonce, Code: ip.code, State: ip.state, RedirectURI: ip.redirect, IdentityProvider: ip.ips,
		SSOConnectionID: ip.sci, AuthTime: ip.authTime}
	access, err := p.tok.IssueAccessToken(ctx, req)
	if err != nil {
		return nil, err
	}
	res := &grantResult{app: ip.app, access: access, scopes: ip.scopes, nonce: ip.nonce, userID: ip.user.ID}
	if slices.Contains(ip.scopes, "openid") {
		idReq := *req
		if !ip.cryptr {
			// Standard clients check that aud holds their client_id.
			idReq.Audience = []string{ip.app.ClientID}
		}
		if res.id, err = p.tok.IssueIDToken(ctx, &idReq, access.Value); err != nil {
			return nil, err
		}
	}
	refresh, err := p.newOrderedSecret()
	if err != nil {
		return nil, err
	}
	res.refresh = ip.org + "." + refresh
	now := p.now()
	ttl := p.opts.RefreshTokenTTL
	if ip.app.RefreshTokenTTL > 0 {
		ttl = ip.app.RefreshTokenTTL
	}
	res.rexp = now.Add(ttl)
	family := ip.family
	if family == "" {
		if family, err = p.newTimeUUID(); err != nil {
			return nil, err
		}
	}
	var sealed []byte
	if ip.parentRaw != "" {
		if sealed, err = sealSuccessor(p.opts.Rand, ip.parentRaw, res.refresh); err != nil {
			return nil, err
		}
	}
	rr := refreshRecord{FamilyID: family, Env: ip.env, OrgDomain: ip.org, ClientID: ip.app.ClientID, UserID: ip.user.ID,
		Scopes: ip.scopes, AuthTime: ip.authTime, IPS: ip.ips, SCI: ip.sci, Nonce: ip.nonce, ExpiresAt: res.rexp,
		OIDC: !ip.cryptr, RedirectURI: ip.redirect}
	event := identity.EventTokenIssued
	if ip.parent != "" {
		event = identity.EventTokenRefreshed
	}
	svc, err := p.envService(ip.env)
	if err != nil {
		return nil, err
	}
	var reusedCode *codeRecord
	err = svc.Update(ctx, func(tx *identity.Txn) error {
		raw := tx.KVTx(kv.Inside())
		reusedCode = nil
		if ip.codeHash != "" {
			// The code was checked unused in a read: check again, and mark
			// it used with what it issued, in this transaction.
			c, err := codes.Get(raw, ip.codeHash)
			if errors.Is(err, identity.ErrNotFound) {
				return badGrant("invalid authorization code")
			}
			if err != nil {
				return err
			}
			if c.Used {
				// Redeemed meanwhile: revoke what that redemption issued
				// and store nothing of this one.
				reusedCode = &c
				return revokeCodeUse(raw, c, now)
			}
			c.Used, c.FamilyID, c.AccessJTI = true, family, access.Claims.ID
			if err := codes.Put(raw, ip.codeHash, c); err != nil {
				return err
			}
		}
		fam, err := families.Get(raw, family)
		switch {
		case errors.Is(err, identity.ErrNotFound) && (ip.family == "" || ip.codeHash != ""):
			fam = familyRecord{ClientID: ip.app.ClientID, UserID: ip.user.ID}
			if err := indexGrant(raw, ip.env, ip.user.ID, "f:"+family); err != nil {
				return err
			}
		case errors.Is(err, identity.ErrNotFound):
			return badGrant("invalid refresh token")
		case err != nil:
			return err
		case fam.RevokedAt != nil && ip.codeHash != "":
			// The code was reused meanwhile: its family is revoked.
			return badGrant("authorization code already used")
		case fam.RevokedAt != nil:
			return badGrant("refresh token revoked")
		}
		// The family outlives each of its refresh tokens: move its expiry
		// (cancelling the earlier schedule, which would otherwise delete a
		// revoked family while its newest token still lives).
		if res.rexp.After(fam.ExpiresAt) {
			if !fam.ExpiresAt.IsZero() {
				if err := kv.CancelExpiry(raw, fam.ExpiresAt, families.Key(family)); err != nil {
					return err
				}
			}
			fam.ExpiresAt = res.rexp
		}
		if ip.parent != "" {
			old, err := refreshes.Get(raw, ip.parent)
			if err != nil {
				return err
			}
			if old.UsedAt != nil {
				return errRotatedMeanwhile
			}
			old.UsedAt, old.Successor = &now, sealed
			if err := refreshes.Put(raw, ip.parent, old); err != nil {
				return err
			}
		}
		fam.Current, fam.Previous = identity.HashSecret(res.refresh), ""
		if ip.parentRaw != "" {
			fam.Previous = identity.HashSecret(ip.parentRaw)
		}
		if err := put(raw, families, family, fam, fam.ExpiresAt); err != nil {
			return err
		}
		if err := put(raw, refreshes, secretKey(res.refresh), rr, rr.ExpiresAt); err != nil {
			return err
		}
		ar := accessRecord{FamilyID: family, ClientID: ip.app.ClientID, ExpiresAt: access.ExpiresAt}
		if err := put(raw, accessRecs, access.Claims.ID, ar, access.ExpiresAt.Add(time.Minute)); err != nil {
			return err
		}
		org, err := tx.Org(ip.org)
		if err != nil {
			return err
		}
		return tx.Log(&identity.Event{Code: event, OrgID: org.ID, TenantDomain: ip.org, ClientID: ip.app.ClientID,
			Email: ip.user.Email, ResourceOwnerID: ip.user.ID})
	})
	if err != nil {
		return nil, err
	}
	if c := reusedCode; c != nil {
		p.audit(ctx, c.Env, c.OrgDomain, &identity.Event{Code: identity.EventCodeReuseDetected, ClientID: c.ClientID,
			ResourceOwnerID: c.UserID})
		return nil, errCodeReused
	}
	return res, nil
}

var errRotatedMeanwhile = errors.New("refresh token rotated concurrently")

// grantRefresh rotates a refresh token (RFC 6749 §6), with a grace window
// for concurrent refreshes and family revocation on later reuse.
func (p *Provider) grantRefresh(w http.ResponseWriter, r *http.Request, ps *params, cryptr bool) (*grantResult, error) {
	raw := ps.get("refresh_token")
	if raw == "" && cryptr {
		raw = ps.get("token") // era 3
	}
	if raw == "" {
		return nil, badRequest("refresh_token is required")
	}
	app, env, err := p.clientForGrant(w, r, ps)
	if err != nil {
		return nil, err
	}
	if len(raw) > maxParamLen {
		return nil, badGrant("invalid refresh token")
	}
	for attempt := 0; attempt < 3; attempt++ {
		res, err := p.refreshOnce(r, app, env, raw, ps)
		if errors.Is(err, errRotatedMeanwhile) {
			continue
		}
		return res, err
	}
	return nil, badGrant("invalid refresh token")
}

func (p *Provider) refreshOnce(r *http.Request, app *identity.Application, env identity.Environment, raw string, ps *params) (*grantResult, error) {
	ctx := r.Context()
	var hash string // the token's record key, once found
	now := p.now()
	var rec refreshRecord
	var successor string
	var reuse bool
	var user *identity.User
	svc, err := p.envService(env)
	if err != nil {
		return nil, err
	}
	// A read (the token, its family and its user, in the token's
	// environment, which is env): the rotation itself (the parent marked
	// used, its successor stored, the family moved on) is one write
	// transaction, in issue, which checks again that the parent is unused
	// and the family alive.
	err = svc.View(ctx, func(tx *identity.ReadTxn) error {
		tx2 := tx.KV(kv.Inside())
		successor, reuse, user = "", false, nil
		var err error
		rec, hash, err = getBySecret(tx2, refreshes, raw)
		if errors.Is(err, identity.ErrNotFound) {
			return badGrant("invalid refresh token")
		}
		if err != nil {
			return err
		}
		if rec.ClientID != app.ClientID || rec.Env != env || !sameOrg(r, rec.OrgDomain) {
			return badGrant("invalid refresh token")
		}
		fam, err := families.Get(tx2, rec.FamilyID)
		if errors.Is(err, identity.ErrNotFound) {
			return badGrant("invalid refresh token")
		}
		if err != nil {
			return err
		}
		if fam.RevokedAt != nil {
			return badGrant("refresh token revoked")
		}
		if !now.Before(rec.ExpiresAt) {
			return badGrant("refresh token expired")
		}
		if rec.UsedAt != nil {
			if now.Sub(*rec.UsedAt) <= p.opts.RefreshGrace && len(rec.Successor) > 0 {
				s, err := openSuccessor(raw, rec.Successor)
				if err != nil {
					return badGrant("invalid refresh token")
				}
				successor = s
			} else {
				reuse = true
				return nil
			}
		}
		user, err = userIn(tx, rec.OrgDomain, rec.UserID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if reuse {
		// Used after the grace window: the whole family is revoked (a
		// token once used stays used, so the read's verdict holds).
		err := p.ids.Update(ctx, func(tx *identity.Txn) error {
			return revokeFamily(tx.KVTx(kv.Inside()), rec.FamilyID, now, "refresh_reuse")
		})
		if err != nil {
			return nil, err
		}
		p.audit(ctx, rec.Env, rec.OrgDomain, &identity.Event{Code: identity.EventRefreshReuseDetected, ClientID: rec.ClientID,
			ResourceOwnerID: rec.UserID})
		return nil, badGrant("refresh token already used; the session is revoked")
	}
	scopes := rec.Scopes
	if s := ps.get("scope"); s != "" {
		asked := strings.Fields(s)
		for _, sc := range asked {
			if !slices.Contains(rec.Scopes, sc) {
				return nil, oerr(http.StatusBadRequest, errInvalidScope, "a refresh cannot widen the granted scope")
			}
		}
		scopes = asked
	}
	// What the application may no longer grant (its allowed scopes
	// narrowed since) is dropped.
	scopes = app.GrantableScopes(scopes)
	if stale, err := p.predatesPasswordChange(ctx, rec.Env, user, "f:"+rec.FamilyID, rec.AuthTime); err != nil {
		return nil, err
	} else if stale {
		return nil, badGrant("refresh token revoked")
	}
	// A standard client's refreshed ID token has no nonce (OpenID Connect
	// clients such as openid-client refuse one they did not send, and a
	// nonce in the refresh request is not a parameter of the grant);
	// Cryptr's SDKs send their own with each refresh, which their ID
	// tokens carry.
	nonce := ""
	if !rec.OIDC {
		nonce = ps.get("nonce")
	}
	if successor != "" {
		// Within the grace window: the same successor, a fresh access token
		// linked to the family.
		req := &tokens.TokenRequest{Env: rec.Env, OrgDomain: rec.OrgDomain, User: user, App: app, Scopes: scopes,
			IdentityProvider: rec.IPS, SSOConnectionID: rec.SCI, AuthTime: rec.AuthTime, Nonce: nonce,
			RedirectURI: rec.RedirectURI, Code: cryptrCHash(rec, raw)}
		access, err := p.tok.IssueAccessToken(ctx, req)
		if err != nil {
			return nil, err
		}
		res := &grantResult{app: app, access: access, scopes: scopes, refresh: successor, nonce: nonce, userID: user.ID}
		if slices.Contains(scopes, "openid") {
			idReq := *req
			if rec.OIDC {
				idReq.Audience = []string{app.ClientID}
			}
			if res.id, err = p.tok.IssueIDToken(ctx, &idReq, access.Value); err != nil {
				return nil, err
			}
		}
		err = p.ids.Update(ctx, func(tx *identity.Txn) error {
			sr, _, err := getBySecret(tx.KVTx(kv.Inside()), refreshes, successor)
			if err != nil {
				return err
			}
			res.rexp = sr.ExpiresAt
			ar := accessRecord{FamilyID: rec.FamilyID, ClientID: app.ClientID, ExpiresAt: access.ExpiresAt}
			return put(tx.KVTx(kv.Inside()), accessRecs, access.Claims.ID, ar, access.ExpiresAt.Add(time.Minute))
		})
		if err != nil {
			return nil, err
		}
		return res, nil
	}
	return p.issue(ctx, issueParams{env: rec.Env, org: rec.OrgDomain, app: app, user: user, scopes: scopes,
		nonce: nonce, authTime: rec.AuthTime, ips: rec.IPS, sci: rec.SCI, cryptr: !rec.OIDC, family: rec.FamilyID,
		parent: hash, parentRaw: raw, redirect: rec.RedirectURI, code: cryptrCHash(rec, raw)})
}

// cryptrCHash is what the c_hash of a refreshed Cryptr ID token covers:
// Cryptr's SPA requires c_hash in every ID token, refreshes included, so
// it binds the ID token to the refresh token that was presented.
func cryptrCHash(rec refreshRecord, raw string) string {
	if rec.OIDC {
		return ""
	}
	return raw
}

// revokeFamily marks a refresh family revoked: its refresh tokens stop
// working and its access tokens are inactive in introspection.
func revokeFamily(tx identity.Tx, id string, now time.Time, reason string) error {
	fam, err := families.Get(tx, id)
	if errors.Is(err, identity.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if fam.RevokedAt != nil {
		return nil
	}
	fam.RevokedAt, fam.Reason = &now, reason
	return families.Put(tx, id, fam)
}

// revokeCodeFamily revokes the family a reused code issued. The family may
// not be stored yet (the first redemption is between marking the code used
// and storing its tokens): a revoked record then takes its place, so that
// redemption stores nothing.
func revokeCodeFamily(tx identity.Tx, id string, now time.Time) error {
	_, err := families.Get(tx, id)
	if errors.Is(err, identity.ErrNotFound) {
		exp := now.Add(24 * time.Hour)
		return put(tx, families, id, familyRecord{ExpiresAt: exp, RevokedAt: &now, Reason: "code_reuse"}, exp)
	}
	if err != nil {
		return err
	}
	return revokeFamily(tx, id, now, "code_reuse")
}

// revokeAccess marks one access token revoked until exp.
func revokeAccess(tx identity.Tx, jti, clientID string, exp time.Time) error {
	ar, err := accessRecs.Get(tx, jti)
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		return err
	}
	if errors.Is(err, identity.ErrNotFound) {
		ar = accessRecord{ClientID: clientID, ExpiresAt: exp}
	}
	ar.Revoked = true
	return put(tx, accessRecs, jti, ar, ar.ExpiresAt.Add(time.Minute))
}

// managementGrant hands a client_credentials request at Cryptr's root
// token URL (/oauth/token, outside any issuer tree) to
// Options.ManagementTokens when its client is no application (so an API
// key, of either environment, as at /api/v2/oauth/token), and reports
// whether it did.
// The management endpoint authenticates the key and answers in its own
// format; an application's request, and any request at an
// organization's URL, stays here.
func (p *Provider) managementGrant(w http.ResponseWriter, r *http.Request, ps *params, cryptr bool) bool {
	if p.opts.ManagementTokens == nil || !cryptr || r.PathValue("domain") != "" || envOf(r) != identity.Production {
		return false
	}
	id, _, _, err := clientCredentials(r, ps)
	if err != nil || id == "" {
		return false
	}
	if _, err := p.appByClientID(r.Context(), envOf(r), id); !errors.Is(err, identity.ErrNotFound) {
		return false
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path, r2.URL.RawPath = "/api/v2/oauth/token", ""
	r2.Body = io.NopCloser(bytes.NewReader(ps.raw))
	r2.ContentLength = int64(len(ps.raw))
	p.opts.ManagementTokens.ServeHTTP(w, r2)
	return true
}

// grantClientCredentials issues an access token to a machine application
// (RFC 6749 §4.4): sub and cid are its client_id.
func (p *Provider) grantClientCredentials(w http.ResponseWriter, r *http.Request, ps *params) (*grantResult, error) {
	app, env, err := p.clientForGrant(w, r, ps)
	if err != nil {
		return nil, err
	}
	if app.ApplicationType != identity.AppMachine {
		return nil, oerr(http.StatusBadRequest, errUnauthorizedClient, "only machine applications may use client_credentials")
	}
	svc, err := p.envService(env)
	if err != nil {
		return nil, err
	}
	// authenticateClient found the client as the issuer of the URL's
	// organization sees it: it serves that organization. Only Cryptr's
	// /oauth/token names none; the token is then the application's own
	// organization's.
	issuer := r.PathValue("domain")
	domain := issuer
	if domain == "" {
		err = svc.View(r.Context(), func(tx *identity.ReadTxn) error {
			org, err := tx.OrgByID(app.OrgID)
			if err == nil {
				domain = org.Domain
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	scopes := strings.Fields(ps.get("scope"))
	if len(scopes) > maxScopes {
		return nil, oerr(http.StatusBadRequest, errInvalidScope, "too many scopes")
	}
	if sc := app.RefusedScope(scopes); sc != "" {
		return nil, oerr(http.StatusBadRequest, errInvalidScope, fmt.Sprintf("the application may not ask for the scope %q", sc))
	}
	machine := &identity.User{ID: app.ClientID, OrgID: app.OrgID}
	access, err := p.tok.IssueAccessToken(r.Context(), &tokens.TokenRequest{Env: env, OrgDomain: domain, User: machine,
		App: app, Scopes: scopes})
	if err != nil {
		return nil, err
	}
	// The issuance is audited before the token is handed out: a token
	// whose event could not be stored is never answered. LogEvent commits
	// concurrent events in shared transactions (group commit), so this
	// costs a share of one durable write, not one per token. The event
	// belongs to the issuing organization (identity.ClientTokenEvent).
	if err := svc.LogEvent(r.Context(), identity.ClientTokenEvent(app, issuer,
		map[string]any{"grant_type": "client_credentials"})); err != nil {
		return nil, fmt.Errorf("audit token issuance: %w", err)
	}
	return &grantResult{app: app, access: access, scopes: scopes}, nil
}

// audit writes an event in its own transaction (for outcomes that have no
// other write to join).
func (p *Provider) audit(ctx context.Context, env identity.Environment, domain string, e *identity.Event) {
	svc, err := p.envService(env)
	if err != nil {
		return
	}
	if domain != "" {
		e.OrgID, e.TenantDomain = "", domain
	}
	if err := svc.LogEvent(context.WithoutCancel(ctx), e); err != nil {
		p.log.Warn("provider: audit event not written", "event", e.Code, "err", err)
	}
}
