package identitytest

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// DefaultScopes returns the scopes a token gets unless Scopes says
// otherwise: openid, email and profile.
func DefaultScopes() []string { return []string{"openid", "email", "profile"} }

// TokenOption configures Env.Token and Env.Tokens.
type TokenOption func(*tokenConfig)

type tokenConfig struct {
	scopes   []string
	audience []string
	claims   map[string]any
	ttl      time.Duration
	expired  bool
	org      string
	env      identity.Environment
	app      *identity.Application
	nonce    string
}

// Scopes sets the granted scopes, the token's `scp` (default
// DefaultScopes). Without openid, Env.Tokens returns no ID token.
func Scopes(scopes ...string) TokenOption {
	return func(c *tokenConfig) { c.scopes = slices.Clone(scopes) }
}

// Audience replaces the token's audience (default: the application's
// origin, Env.Audience for the seeded application).
func Audience(aud ...string) TokenOption {
	return func(c *tokenConfig) { c.audience = slices.Clone(aud) }
}

// Claims adds custom claims, as a host's tokens.ClaimsUpdater does in
// production (after the one given WithClaimsUpdater). As in production,
// keys naming a registered claim (iss, sub, aud, exp, tnt, dbs, ...) are
// ignored: a test cannot forge what Gatehouse would never sign.
func Claims(claims map[string]any) TokenOption {
	return func(c *tokenConfig) {
		if c.claims == nil {
			c.claims = map[string]any{}
		}
		maps.Copy(c.claims, claims)
	}
}

// ExpiresIn sets the token's lifetime (default: the product's, one hour;
// capped at tokens.DefaultMaxTokenTTL like every lifetime).
func ExpiresIn(d time.Duration) TokenOption { return func(c *tokenConfig) { c.ttl = d } }

// Expired issues a token that expired before the Env's clock by more than
// any verifier's leeway (tokens.MaxLeeway): it is issued as if
// ExpiredBy earlier and already expired then, so every verifier refuses
// it with tokens.ErrTokenExpired. To watch a live token expire, use
// Env.Advance instead.
func Expired() TokenOption { return func(c *tokenConfig) { c.expired = true } }

// ExpiredBy is how long before the Env's clock an Expired token is
// issued: beyond tokens.MaxLeeway, the largest leeway a verifier grants.
const ExpiredBy = tokens.MaxLeeway + time.Minute

// Organization issues the token as the organization orgDomain (its issuer
// and `tnt`) instead of the user's own organization. Gatehouse never does
// this for a real user; it is for testing that a host refuses a token of
// an organization the resource does not belong to. To test a genuine user
// of another organization, AddOrganization and AddUser are closer to the
// product.
func Organization(orgDomain string) TokenOption { return func(c *tokenConfig) { c.org = orgDomain } }

// Sandbox issues the token in the sandbox: the sandbox issuer
// ({BaseURL}/sandbox/t/{org}), its keys, `dbs: sandbox`, and the seeded
// application's sandbox copy unless Application says otherwise. A
// production verifier (Env.Verifier) refuses it, as in the product.
func Sandbox() TokenOption { return func(c *tokenConfig) { c.env = identity.Sandbox } }

// Application issues the token for app (its client id, audience, lifetimes
// and signing algorithm) instead of the seeded application.
func Application(app *identity.Application) TokenOption { return func(c *tokenConfig) { c.app = app } }

// Nonce sets the ID token's nonce.
func Nonce(n string) TokenOption { return func(c *tokenConfig) { c.nonce = n } }

// Token returns a signed access token (the compact JWS a client sends as
// `Authorization: Bearer …`) for user, as Gatehouse issues it at the end of
// a sign-in through the seeded application. A user added with
// AddSandboxUser gets a sandbox token; options change the rest. It fails
// the test if the token cannot be issued.
func (e *Env) Token(user *identity.User, opts ...TokenOption) string {
	e.t.Helper()
	access, _ := e.issue(user, false, opts)
	return access.Value
}

// Tokens returns an access token and, when the scopes include openid (the
// default), an ID token bound to it (at_hash), with their claims, as the
// token endpoint returns them. It fails the test if they cannot be issued.
func (e *Env) Tokens(user *identity.User, opts ...TokenOption) (access, id *tokens.Token) {
	e.t.Helper()
	return e.issue(user, true, opts)
}

func (e *Env) issue(user *identity.User, withID bool, opts []TokenOption) (*tokens.Token, *tokens.Token) {
	e.t.Helper()
	if user == nil {
		e.t.Fatal("identitytest: Token needs a user (Env.User for the seeded one)")
	}
	cfg := tokenConfig{scopes: DefaultScopes()}
	e.mu.Lock()
	if e.sandboxUsers[user.ID] {
		cfg.env = identity.Sandbox
	}
	e.mu.Unlock()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.env == "" {
		cfg.env = identity.Production
	}
	if cfg.app == nil {
		cfg.app = e.app
		if cfg.env == identity.Sandbox {
			cfg.app = e.sbxApp
		}
	}
	ctx := context.Background()
	if cfg.org == "" {
		cfg.org = e.orgDomain(ctx, user.OrgID)
	}
	req := &tokens.TokenRequest{Env: cfg.env, OrgDomain: cfg.org, User: user, App: cfg.app, Scopes: cfg.scopes,
		Audience: cfg.audience, TTL: cfg.ttl, Expired: cfg.expired, Nonce: cfg.nonce, AuthTime: e.clock.Now()}
	if cfg.claims != nil {
		ctx = context.WithValue(ctx, claimsKey{}, cfg.claims)
	}
	var access, id *tokens.Token
	var err error
	svc := e.tok
	if cfg.expired {
		// Issued ExpiredBy ago, already expired then: its exp is beyond
		// every verifier's leeway.
		svc = e.past
	}
	if withID {
		access, id, err = svc.IssueTokens(ctx, req)
	} else {
		access, err = svc.IssueAccessToken(ctx, req)
	}
	if err != nil {
		e.t.Fatalf("identitytest: issue token for %s in %s (%s): %v", user.Email, cfg.org, cfg.env, err)
	}
	return access, id
}

// orgDomain returns the domain of the organization whose id is orgID.
func (e *Env) orgDomain(ctx context.Context, orgID string) string {
	e.t.Helper()
	for p := 1; ; p++ {
		page, err := e.id.ListOrganizations(ctx, identity.PageRequest{Page: p, PerPage: identity.MaxPerPage})
		if err != nil {
			e.t.Fatalf("identitytest: list organizations: %v", err)
		}
		for _, o := range page.Items {
			if o.ID == orgID {
				return o.Domain
			}
		}
		if p >= page.TotalPages() {
			e.t.Fatalf("identitytest: the user's organization %s does not exist", orgID)
		}
	}
}

type claimsKey struct{}

// claimsUpdater runs the host's hook, then adds the claims of Claims.
type claimsUpdater struct{ host tokens.ClaimsUpdater }

func (u claimsUpdater) UpdateClaims(ctx context.Context, req *tokens.TokenRequest, c *tokens.Claims) error {
	if u.host != nil {
		if err := u.host.UpdateClaims(ctx, req, c); err != nil {
			return err
		}
	}
	extra, _ := ctx.Value(claimsKey{}).(map[string]any)
	if len(extra) == 0 {
		return nil
	}
	if c.Extra == nil {
		c.Extra = map[string]any{}
	}
	maps.Copy(c.Extra, extra)
	return nil
}
