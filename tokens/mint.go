package tokens

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/identity"
)

// IdentityProviderCryptr is the `ips` of sessions opened by magic link or
// password; SSO sessions carry the connection's provider type (azure_ad, okta...).
const IdentityProviderCryptr = "cryptr"

// TokenRequest describes the session a user token is issued for.
type TokenRequest struct {
	// Env is the environment of the session (default: the identity
	// service's). It selects the key set and `dbs`.
	Env identity.Environment
	// OrgDomain is the user's organization domain: `tnt` and the issuer.
	OrgDomain string
	// User is the signed-in user (sub, email, profile claims). Required.
	User *identity.User
	// Tenant holds the organization's MetaKeys, for resource_owner_metadata;
	// it is read from the store when nil.
	Tenant *identity.Tenant
	// App is the OAuth client (cid, aud, lifetimes, algorithm). Required.
	App *identity.Application
	// Scopes granted (scp); profile claims in the ID token follow them.
	Scopes []string
	// Nonce is echoed in the ID token.
	Nonce string
	// Code and State, when set, give the ID token its c_hash and s_hash.
	Code  string
	State string
	// RedirectURI is the audience of last resort (its origin).
	RedirectURI string
	// Audience, when set, replaces the default aud (the application's
	// origin). The OIDC provider may add the client_id for standard clients.
	Audience []string
	// IdentityProvider is ips ("cryptr" by default); SSOConnectionID is sci.
	IdentityProvider string
	SSOConnectionID  string
	// AuthTime, when set, is written as auth_time in the ID token.
	AuthTime time.Time
	// Expired issues a token that has already expired (JWT samples).
	Expired bool
	// TTL, when set, overrides the lifetime (clamped to MaxTokenTTL).
	TTL time.Duration
}

// Token is an issued token.
type Token struct {
	// Value is the compact JWS.
	Value     string
	Claims    *Claims
	ExpiresAt time.Time
	// KeyID is the kid that signed it.
	KeyID string
}

// ClaimsUpdater lets a host add custom claims to user tokens. It is called
// after the standard claims are set; it may change Extra,
// ApplicationMetadata and ResourceOwnerMetadata. Changes to other fields are
// discarded, and Extra keys naming registered claims are ignored, so a hook
// cannot change the issuer, subject, audience, lifetime or token type.
// Whatever it adds is signed and visible to every holder of the token:
// never put secrets in claims.
type ClaimsUpdater interface {
	UpdateClaims(ctx context.Context, req *TokenRequest, c *Claims) error
}

// ClaimsUpdaterFunc adapts a function to ClaimsUpdater.
type ClaimsUpdaterFunc func(ctx context.Context, req *TokenRequest, c *Claims) error

// UpdateClaims calls f.
func (f ClaimsUpdaterFunc) UpdateClaims(ctx context.Context, req *TokenRequest, c *Claims) error {
	return f(ctx, req, c)
}

// DefaultAudience is the aud Cryptr gives an application's tokens: its
// default CORS origin, else its first allowed CORS origin, else its default
// web origin, else the origin of redirectURI.
func DefaultAudience(app *identity.Application, redirectURI string) string {
	switch {
	case app == nil:
	case app.DefaultOriginCORS != "":
		return app.DefaultOriginCORS
	case len(app.AllowedOriginsCORS) > 0:
		return app.AllowedOriginsCORS[0]
	case app.DefaultWebOrigin != "":
		return app.DefaultWebOrigin
	case len(app.AllowedWebOrigins) > 0:
		return app.AllowedWebOrigins[0]
	}
	if u, err := url.Parse(redirectURI); err == nil && u.Scheme != "" && u.Host != "" {
		return u.Scheme + "://" + u.Host
	}
	return ""
}

// newJTI returns a fresh, time-ordered UUID (v7: milliseconds, then 74
// random bits) token id: a token's id is public (it is in the token,
// beside iat), and records keyed by it (the provider's access records)
// sit together in key order with the others of their commit.
func (s *Service) newJTI() (string, error) {
	id, err := uuid.NewV7FromReader(s.rand)
	if err != nil {
		return "", fmt.Errorf("token id: %w", err)
	}
	return id.String(), nil
}

func (s *Service) checkRequest(req *TokenRequest) error {
	if req == nil || req.User == nil || req.App == nil {
		return fmt.Errorf("token request needs a user and an application: %w", identity.ErrInvalid)
	}
	if req.OrgDomain == "" {
		return fmt.Errorf("token request needs the organization domain: %w", identity.ErrInvalid)
	}
	_, err := s.checkEnv(req.Env)
	return err
}

// baseClaims fills the claims common to access and ID tokens.
func (s *Service) baseClaims(ctx context.Context, req *TokenRequest, typ string, ttl time.Duration) (*Claims, error) {
	env := s.envOrDefault(req.Env)
	now := s.now()
	jti, err := s.newJTI()
	if err != nil {
		return nil, err
	}
	if req.TTL > 0 {
		ttl = req.TTL
	}
	ttl = s.clampTTL(ttl)
	exp := now.Add(ttl)
	if req.Expired {
		exp = now.Add(-time.Second)
	}
	aud := Audience(req.Audience)
	if len(aud) == 0 {
		if a := DefaultAudience(req.App, req.RedirectURI); a != "" {
			aud = Audience{a}
		}
	}
	ips := req.IdentityProvider
	if ips == "" {
		ips = IdentityProviderCryptr
	}
	c := &Claims{
		Issuer: s.Issuer(env, req.OrgDomain), Subject: req.User.ID, Audience: aud,
		ClientID: req.App.ClientID, Tenant: req.OrgDomain, Database: env.DBS(),
		ID: jti, Type: typ, Version: Version, Scopes: req.Scopes, Email: req.User.Email,
		IdentityProvider: ips, SSOConnectionID: req.SSOConnectionID,
		ApplicationMetadata: appMetadata(req.App),
		IssuedAt:            now.Unix(), Expiry: exp.Unix(),
	}
	return c, nil
}

// appMetadata copies the application's metadata for application_metadata;
// none is nil (written {}), so most tokens allocate no map for it.
func appMetadata(app *identity.Application) map[string]any {
	if len(app.Metadata) == 0 {
		return nil
	}
	md := make(map[string]any, len(app.Metadata))
	for k, v := range app.Metadata {
		md[k] = v
	}
	return md
}

// ownerMetadata returns resource_owner_metadata of the request's user.
func (s *Service) ownerMetadata(ctx context.Context, req *TokenRequest) (map[string]any, error) {
	tn := req.Tenant
	if tn == nil {
		svc, err := s.svcFor(s.envOrDefault(req.Env))
		if err != nil {
			return nil, err
		}
		err = svc.View(ctx, func(tx *identity.ReadTxn) error {
			t, err := tx.Tenant(req.User.OrgID)
			tn = t
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("read tenant settings: %w", err)
		}
	}
	return identity.TokenMetadata(tn, req.User), nil
}

// runUpdater applies the host's claims hook, keeping registered claims.
func (s *Service) runUpdater(ctx context.Context, req *TokenRequest, c *Claims) error {
	if s.updater == nil {
		return nil
	}
	if c.ApplicationMetadata == nil {
		c.ApplicationMetadata = map[string]any{} // the hook may add to it
	}
	saved := *c
	if err := s.updater.UpdateClaims(ctx, req, c); err != nil {
		return fmt.Errorf("claims updater: %w", err)
	}
	extra, app, owner := c.Extra, c.ApplicationMetadata, c.ResourceOwnerMetadata
	*c = saved
	c.Extra, c.ApplicationMetadata, c.ResourceOwnerMetadata = extra, app, owner
	return nil
}

// sign serializes and signs claims with the active key of (env, domain, alg).
func (s *Service) sign(ctx context.Context, env identity.Environment, domain, alg string, c *Claims) (*Token, error) {
	sk, err := s.activeSigner(ctx, env, domain, alg)
	if err != nil {
		return nil, err
	}
	return signWith(sk, c)
}

func signWith(sk *signingKey, c *Claims) (*Token, error) {
	payload, err := c.MarshalJSON()
	if err != nil {
		return nil, err
	}
	v, err := sk.compact(payload)
	if err != nil {
		return nil, err
	}
	return &Token{Value: v, Claims: c, ExpiresAt: time.Unix(c.Expiry, 0), KeyID: sk.kid}, nil
}

// IssueAccessToken issues a user access token (`jtt: access`) signed by the
// organization's key for the application's algorithm. Its lifetime is the
// application's AccessTokenTTL, else Options.AccessTokenTTL.
func (s *Service) IssueAccessToken(ctx context.Context, req *TokenRequest) (*Token, error) {
	c, alg, err := s.accessClaims(ctx, req)
	if err != nil {
		return nil, err
	}
	return s.sign(ctx, s.envOrDefault(req.Env), req.OrgDomain, alg, c)
}

// accessClaims builds the claims of a user access token (IssueAccessToken
// signs them; JWTSample shows them) and returns them with the algorithm
// that signs them.
func (s *Service) accessClaims(ctx context.Context, req *TokenRequest) (*Claims, string, error) {
	if err := s.checkRequest(req); err != nil {
		return nil, "", err
	}
	alg, err := algFor(req.App)
	if err != nil {
		return nil, "", err
	}
	ttl := s.opts.AccessTokenTTL
	if req.App.AccessTokenTTL > 0 {
		ttl = req.App.AccessTokenTTL
	}
	c, err := s.baseClaims(ctx, req, TypeAccess, ttl)
	if err != nil {
		return nil, "", err
	}
	if s.opts.MetadataInAccessToken {
		if c.ResourceOwnerMetadata, err = s.ownerMetadata(ctx, req); err != nil {
			return nil, "", err
		}
	}
	if err := s.runUpdater(ctx, req, c); err != nil {
		return nil, "", err
	}
	return c, alg, nil
}

// IssueIDToken issues an OpenID Connect ID token (`jtt: openid`) with
// nonce, at_hash (of accessToken, when given), c_hash and s_hash (of
// req.Code and req.State, when given), resource_owner_metadata and the
// profile claims the scopes grant: profile (name, given_name, family_name,
// middle_name, nickname, preferred_username, profile, picture, website,
// gender, birthdate, zoneinfo, locale, updated_at), email (email,
// email_verified), phone (phone_number, phone_number_verified), address.
func (s *Service) IssueIDToken(ctx context.Context, req *TokenRequest, accessToken string) (*Token, error) {
	c, alg, err := s.idClaims(ctx, req, accessToken)
	if err != nil {
		return nil, err
	}
	return s.sign(ctx, s.envOrDefault(req.Env), req.OrgDomain, alg, c)
}

// idClaims builds the claims of an ID token (IssueIDToken signs them;
// JWTSample shows them) and returns them with the algorithm that signs
// them.
func (s *Service) idClaims(ctx context.Context, req *TokenRequest, accessToken string) (*Claims, string, error) {
	if err := s.checkRequest(req); err != nil {
		return nil, "", err
	}
	alg, err := algFor(req.App)
	if err != nil {
		return nil, "", err
	}
	ttl := s.opts.IDTokenTTL
	if req.App.IDTokenTTL > 0 {
		ttl = req.App.IDTokenTTL
	}
	c, err := s.baseClaims(ctx, req, TypeID, ttl)
	if err != nil {
		return nil, "", err
	}
	c.Nonce = req.Nonce
	if !req.AuthTime.IsZero() {
		c.AuthTime = req.AuthTime.Unix()
	}
	for _, h := range []struct {
		dst *string
		v   string
	}{{&c.AtHash, accessToken}, {&c.CHash, req.Code}, {&c.SHash, req.State}} {
		if h.v != "" {
			if *h.dst, err = HalfHash(alg, h.v); err != nil {
				return nil, "", err
			}
		}
	}
	if c.ResourceOwnerMetadata, err = s.ownerMetadata(ctx, req); err != nil {
		return nil, "", err
	}
	has := map[string]bool{}
	for _, sc := range req.Scopes {
		has[sc] = true
	}
	if !has["email"] {
		c.Email = ""
	}
	c.Extra = ProfileClaims(req.User, req.Scopes)
	if err := s.runUpdater(ctx, req, c); err != nil {
		return nil, "", err
	}
	return c, alg, nil
}

// IssueTokens issues an access token and, when the scopes include openid,
// an ID token whose at_hash binds it to the access token.
func (s *Service) IssueTokens(ctx context.Context, req *TokenRequest) (access, id *Token, err error) {
	if access, err = s.IssueAccessToken(ctx, req); err != nil {
		return nil, nil, err
	}
	for _, sc := range req.Scopes {
		if sc == "openid" {
			if id, err = s.IssueIDToken(ctx, req, access.Value); err != nil {
				return nil, nil, err
			}
			break
		}
	}
	return access, id, nil
}

// ProfileClaims returns the OIDC standard claims (OpenID Connect Core §5.4)
// that scopes grant about u, as they go into an ID token or a userinfo
// answer. Empty values are left out. The email scope gives email and
// email_verified (the user's Verified flag); phone gives phone_number and
// phone_number_verified (false: Gatehouse does not verify numbers).
func ProfileClaims(u *identity.User, scopes []string) map[string]any {
	out := map[string]any{}
	put := func(k, v string) {
		if v != "" {
			out[k] = v
		}
	}
	for _, sc := range scopes {
		switch sc {
		case "profile":
			p := u.Profile
			put("name", p.Name)
			put("given_name", p.GivenName)
			put("family_name", p.FamilyName)
			put("middle_name", p.MiddleName)
			put("nickname", p.Nickname)
			put("preferred_username", p.PreferredUsername)
			put("profile", p.ProfileURL)
			put("picture", p.Picture)
			put("website", p.Website)
			put("gender", p.Gender)
			put("birthdate", p.Birthdate)
			put("zoneinfo", p.Zoneinfo)
			put("locale", p.Locale)
			if !u.UpdatedAt.IsZero() {
				out["updated_at"] = u.UpdatedAt.Unix()
			}
		case "email":
			if u.Email != "" {
				out["email"] = u.Email
				out["email_verified"] = u.Verified
			}
		case "phone":
			if u.Profile.PhoneNumber != "" {
				out["phone_number"] = u.Profile.PhoneNumber
				out["phone_number_verified"] = false
			}
		case "address":
			if a := u.Profile.Address; a != nil {
				out["address"] = a
			}
		}
	}
	return out
}
