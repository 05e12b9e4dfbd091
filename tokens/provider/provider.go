// Package provider is Gatehouse's OpenID Connect provider: one issuer per
// organization and environment, with the standard endpoints (discovery,
// JWKS, authorization, token, revocation, introspection, userinfo,
// end-session), the hosted login page (magic link, 6-digit email code,
// password, "continue with SSO"), and the URLs Cryptr's own front ends call
// (era-1 sign-in pages and token URLs, the era-2 universal gateway and token
// URL, era-3 /oauth/token and /oauth/revoke), so existing Cryptr SDKs work
// unchanged.
//
// # Environments
//
// Production and sandbox are separate issuers, so that standard clients
// (go-oidc, openid-client, any library configured from a discovery
// document) tell them apart:
//
//	production  {BaseURL}/t/{domain}           Cryptr's issuer
//	sandbox     {BaseURL}/sandbox/t/{domain}
//
// Each has its own discovery document and JWKS (its environment's keys
// only), and the whole route set, Cryptr's URLs included, exists in both
// trees: every path below is served as written for production and under
// /sandbox for the sandbox (/sandbox/oauth/token, /sandbox/magic-link/...,
// /sandbox/api/v1/tenants/...). A request's environment is the one of its
// path tree, never the client's: an application (client_id) of the other
// environment is unknown there, answered exactly like an unknown client
// (an error page, never a redirect; invalid_client at the token, revoke
// and introspection endpoints). Codes, refresh tokens, access tokens,
// pending requests, magic links and browser sessions (one cookie per
// environment) are only good in the tree of their environment. A Cryptr
// SDK used with a sandbox application sets its base URL to
// {BaseURL}/sandbox: its issuer ({base}/t/{domain}), JWKS and every URL it
// builds then fall in the sandbox tree. This departs from Cryptr, whose
// environments shared one issuer and differed only in `dbs`, a claim
// standard clients ignore: a sandbox token passed as a production one.
//
// # Mounting under a path
//
// The base URL (tokens.Options.BaseURL) may carry a path:
// https://app.example/auth. Issuers, discovery documents, JWKS URLs, mail
// links, form actions, redirects and cookie paths (the base path + "/")
// are all derived from it, while the provider routes on the paths listed
// below, relative to the base. A host strips the base path before calling
// it, with http.StripPrefix:
//
//	mux.Handle("/auth/", http.StripPrefix("/auth", prov))
//
// # Flows
//
// Only the authorization code flow exists. Public clients (single-page and
// native applications) must use PKCE with S256; `plain` is refused, and a
// code_verifier presented for a code that was requested without a challenge
// is refused too (PKCE downgrade). Redirect URIs match the application's
// allowed_redirect_urls exactly; a request whose client or redirect URI is
// unknown is answered with an error page, never redirected.
//
// Authorization codes are single use and live CodeTTL (at most 10 minutes);
// presenting a used code again revokes every token issued from it. Refresh
// tokens have Cryptr's form `{org_domain}.{opaque}` and rotate at each use:
// a token used again within RefreshGrace returns the same successor
// (concurrent tabs), after that the whole family is revoked. Revoking a
// refresh token revokes its family, and introspection then reports the
// family's access tokens inactive.
//
// A code and the opaque part of a refresh token are 256 bits, base64url
// (43 characters): the first 48 are the time they were made (Unix
// milliseconds, which the tokens issued with them carry as iat anyway),
// the other 208 random. Only their SHA-256 is stored, keyed by that time
// and the hash, so that the records one commit writes sit together in
// the store instead of on random pages (bench/README.md, "Ordered codes
// and refresh tokens"). Tokens made before this form (256 random bits,
// keyed by their hash alone) keep working. An identity.SessionRef naming a
// refresh token (identity.HashSecret of it) keeps its family when the
// token is the family's newest, the one that newest replaced, or one made
// before this form.
//
// An authorization request that needs a sign-in is stored for
// DefaultAuthRequestTTL (15 minutes, longer than a magic link); at most
// Options.AuthorizeRequestLimit of them per client address and RateWindow,
// beyond which the endpoint answers 429 with an error page.
//
// # Magic links
//
// A magic-link mail holds a single-use link (256 random bits, stored hashed,
// MagicLinkTTL at most 10 minutes) and a 6-digit code for another device
// (MaxCodeAttempts tries). Opening the link shows a confirmation page: only
// its POST consumes the token, because mail scanners follow links. The page
// answers the same whether or not the email is known (mail is sent in the
// background). Sends are limited per client address (AddressSendLimit) and
// by the identity core's per-address budgets: at most 10 wrong codes an
// hour for one address, not reset by resends, after which no code for it
// works until the hour has passed; and up to 5 mails per 10 minutes, then
// one per client address and minute, so a flood from elsewhere never stops
// the owner's own mail for more than a minute, and a link already sent
// stays usable (identity.Txn.CheckEmailCode, identity.Service.AllowCodeSend).
//
// Each step of a hosted sign-in is durable before the browser sees its
// answer, in as few commits as that allows: the authorization request
// with the client address's count (one commit); a password sign-in's
// attempt with the address's count, then its success with its event, the
// browser session, the code and the request's end (two; the identity
// core's PasswordLogin.Before and Then); a magic-link send with both send
// limits, the link and its event (one); the code or link check of an
// existing, enabled and verified user with its event, the session, the
// code and the request's end (one; a sign-up or an address to verify
// takes one more, through the core's SignInWithEmail). A code exchange
// or a refresh is one commit too: the code marked used or the parent
// rotated, with the family, the refresh token, the access record and the
// TOKEN_ISSUED or TOKEN_REFRESHED event, in the grant's own transaction
// (which store/bolt's group commit shares with concurrent ones).
//
// A sign-up (sign_type=signup, or a find_or_create_user challenge) creates
// the user only when the identity core's sign-up policy admits the
// address: one of the organization's allowed_email_domains, or any address
// when the organization has open_signup on (identity.Service.MaySignUp and
// SignInWithEmail). A refused sign-up gets the page of an unknown account
// and no mail.
//
// # Forgot password
//
// Where the login page offers passwords (a password hasher is configured
// and the request is not a headless challenge), it offers "Forgot your
// password?": a form for the email address, then the login page again
// with a notice that is the same whether or not the address has an
// account (and no mail for an unknown one; the mail is sent in the
// background). The rule is the identity core's
// (identity.Service.RequestPasswordReset): the address's email send
// budget, shared with magic links, bounds the mails; the link holds a
// single-use token (256 random bits, stored as SHA-256) that lives
// Options.PasswordResetTTL (1 hour by default, at most 24). Opening the
// link shows a form for the new password and consumes nothing; its POST
// (CSRF token) sets the password through identity.Service.ResetPassword,
// which applies the core's password rules, ends every session of the
// user (refresh tokens, browser sessions, tickets, other reset links)
// and writes USER_PASSWORD_CHANGED. The browser that asked then lands on
// the login page of its pending request, its address filled in, to sign
// in with the new password; another browser is told to go back to the
// application. Every URL, mail link and form action is built from the
// base URL.
//
// # Invitations
//
// InviteUser mails a user an administrator's invitation (the admin
// console calls it with the member's scoped service; the rule is
// identity.Service.InviteUser: update:users, enabled users only, the
// address's send budget, a single-use token stored as SHA-256 that lives
// identity.DefaultInvitationTTL, 24 hours at most, audited as
// USER_INVITED with the administrator as actor). The link
// {BaseURL}/t/{domain}/invitation/{token} (under /sandbox for the
// sandbox) shows a confirmation page; only its POST consumes the token
// (identity.Service.AcceptInvitation marks the address verified) and
// opens a browser session of the user at the organization's issuer, in
// one transaction (a failed session write leaves the link usable), and
// lands the browser on the application the administrator chose (its default
// web origin: the application's own sign-in is then answered from the
// session) or, without one, on a page saying the user is signed in.
//
// # Look and branding
//
// The pages share one layout and stylesheet with the SSO onboarding
// portal (package pages): accessible, without JavaScript, under a strict
// Content-Security-Policy (the stylesheet carries a per-response nonce).
// Options.Branding sets the product name (default "Gatehouse"), logo,
// colours and per-page template overrides; New refuses an invalid one
// with a *pages.BrandingError. Package pages documents the data each
// page receives.
//
// # Endpoints
//
// Per organization issuer {BaseURL}/t/{domain} (and {BaseURL}/sandbox/t/{domain}):
//
//	GET  /.well-known/openid-configuration   discovery (Cache-Control: public, max-age=300)
//	GET  /.well-known, /.well-known/jwks     JWKS (Cryptr reads the first)
//	GET|POST /authorize                      authorization (code flow)
//	POST /oauth/token                        token (authorization_code, refresh_token, client_credentials)
//	POST /oauth/revoke                       RFC 7009 revocation
//	POST /oauth/introspect                   RFC 7662 introspection
//	GET|POST /userinfo                       userinfo (also Cryptr's ?client_id=)
//	GET|POST /logout                         end-session
//	POST /login                              the hosted login page's forms
//	GET|POST /password-reset/{token}         the link of a "forgot password" mail
//	GET|POST /invitation/{token}             the link of an invitation mail (InviteUser)
//
// Cryptr's URLs: /t/{domain}/{locale}/{state}/{signin|signup|invite}/new,
// the gateways /t/{domain}/, /a/{domain}/ and / (organization, domain or
// org_domain; email; idp_id; client_state or state), the token URLs
// /api/v1/tenants/{domain}/{client_id}/{state}/oauth/{sign_type}/client/{authorization_id}/token,
// /api/v1/tenants/{domain}/{client_id}/{state}/oauth/client/token (refresh),
// /org/{domain}/oauth2/token and /oauth/token, the revoke URLs
// /api/v1/tenants/{domain}/{client_id}/oauth/token/revoke and /oauth/revoke
// (an unknown token is 422 {"error":"Access token doesn't exist"}), and
// /api/v1/tenants/{domain}/{client_id}/oauth/token/slo-after-revoke-token
// (GET, and POST for its confirmation form).
// Magic links are /magic-link/verify/{token}; the authorization URLs of
// headless SSO challenges are /org/{domain}/oauth2/saml (and .../oauth)
// ?request_id=. Patterns lists them all, in both trees; APIRoutes adds the
// headless challenges (POST /api/v2/magic-link-challenge,
// /api/v2/sso-saml-challenges, /api/v2/sso-oauth-challenges) and their
// code exchange (grant_type=authorization_code at /api/v2/oauth/token) to
// the management API. Their links and URLs are in the tree of the API
// key's environment; at /oauth/token, a headless code is exchanged with
// the management token in the URL's environment only, and grant_type may
// be left out (Cryptr's Kotlin SDK sends just the code).
//
// Cryptr-flavored requests (its URLs) get Cryptr's callback parameters
// (state, code, authorization_code, authorization_id, organization_domain,
// request_id), the default scope "openid email profile" merged in, ID tokens
// whose aud is the application's origin, and token answers with nonce,
// expires_at, refresh_token_expires_at, refresh_leeway and refresh_retry.
// Standard requests get code, state and iss, and ID tokens whose aud is the
// client_id.
//
// # Browser sessions
//
// A successful sign-in opens a browser session (an HttpOnly, SameSite=Lax
// cookie, Secure under https; the store keeps only its SHA-256), which
// answers prompt=none and max_age. Every HTML form carries a CSRF token
// (double-submit cookie) and every page is served with a restrictive
// Content-Security-Policy, X-Frame-Options: DENY and Referrer-Policy.
//
// Logout follows OIDC RP-Initiated Logout: end-session ends the session at
// once only for an id_token_hint that we signed for the organization and
// whose subject is the session's user (Cryptr's slo-after-revoke-token:
// for the slo_code that Cryptr's revoke URL returns when it revokes the
// refresh token of an SSO session, single use, SLOCodeTTL). Otherwise a
// browser with a session gets a confirmation page whose form (CSRF token,
// same origin) ends it, so a cross-site link cannot sign anyone out. The
// browser then goes only to a post_logout_redirect_uri (target_url) listed
// in allowed_logout_urls of the application the hint (or client_id)
// names, when that application serves the organization.
// A password change or reset through any face (identity.Service
// SetPassword or ChangePassword, Crafter's change_password) ends the
// user's refresh-token families, browser sessions and unredeemed codes in
// the same transaction: New registers the provider with
// identity.Service.OnSessionsEnd, and every such grant is indexed by user.
// Password login on the hosted page is the identity core's
// (identity.Service.PasswordLogin), with its one lockout policy.
//
// A session opened by enterprise SSO (Resume, or OpenSession after an
// IdP-initiated sign-in) belongs to the connection's environment, so only
// that environment's issuer serves it; it keeps the IdP's NameID and
// SessionIndex and is
// indexed by user and connection. Ending it (end-session, Cryptr's
// slo-after-revoke-token) also logs the user out of the IdP when
// Options.SSOLogout is set and the IdP has a single logout endpoint: the
// browser goes to the IdP with a LogoutRequest and comes back to the
// allowed logout URL through the SSO package. A logout request from the IdP
// ends every session the connection opened for the user (EndSSOSessions).
package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/mail"
	"github.com/gatehouse-id/gatehouse/pages"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// Defaults of Options.
const (
	DefaultCodeTTL          = 5 * time.Minute
	MaxCodeTTL              = 10 * time.Minute
	DefaultRefreshTokenTTL  = 30 * 24 * time.Hour
	DefaultRefreshGrace     = 30 * time.Second
	DefaultMagicLinkTTL     = 10 * time.Minute
	DefaultSessionTTL       = 12 * time.Hour
	DefaultAuthRequestTTL   = 15 * time.Minute
	DefaultMaxCodeAttempts  = 5
	DefaultAddressSendLimit = 30
	// DefaultAuthorizeRequestLimit bounds the authorization requests
	// stored per client address within RateWindow.
	DefaultAuthorizeRequestLimit = 300
	// MaxHintAge is how long after it expires an ID token is still read
	// as an id_token_hint (authorization and end-session requests): a
	// client may send the one it holds after it expired (OIDC Core
	// §3.1.2.1). A hint only narrows what a request may do (a session of
	// another user is not reused), or names the user a logout ends.
	MaxHintAge        = 24 * time.Hour
	DefaultRateWindow = 10 * time.Minute
)

// SSORequest describes a sign-in that the hosted page hands to enterprise
// SSO.
type SSORequest struct {
	// Env is the environment of the application.
	Env identity.Environment
	// OrgDomain is the organization the sign-in is for ("" when the
	// gateway did not name one).
	OrgDomain string
	// Email is the address the user typed (may be empty when IdPID is set).
	Email string
	// IdPID is the SSO connection the client asked for (idp_id), if any.
	IdPID string
	// RequestID identifies the pending authorization request: pass it to
	// Provider.Resume once the user is authenticated.
	RequestID string
	// Locale is "en" or "fr".
	Locale string
}

// SSORouter routes a sign-in to enterprise SSO: given the email (or the
// idp_id the client asked for), it returns the URL that starts the SSO
// flow, or ok=false when no connection applies. The SSO package implements
// it; when Options.SSORouter is nil, the "continue with SSO" button is
// hidden.
type SSORouter interface {
	Route(ctx context.Context, req SSORequest) (redirectURL string, ok bool, err error)
}

// SSORouterFunc adapts a function to SSORouter.
type SSORouterFunc func(ctx context.Context, req SSORequest) (string, bool, error)

// Route calls f.
func (f SSORouterFunc) Route(ctx context.Context, req SSORequest) (string, bool, error) {
	return f(ctx, req)
}

// Options configure a Provider. Identity and Tokens are required.
type Options struct {
	// Identity is the identity core (any environment: each request is
	// served from the environment of its path tree, production at the
	// root and the sandbox under /sandbox).
	Identity *identity.Service
	// Tokens signs and verifies the tokens; its BaseURL is the service URL.
	Tokens *tokens.Service
	// Mailer sends magic-link mails (default: a LogMailer, which drops them).
	Mailer mail.Mailer
	// MailFrom is the sender of magic-link mails.
	MailFrom string
	// SSORouter, when set, enables "continue with SSO".
	SSORouter SSORouter
	// ManagementTokens, when set, serves the client_credentials grant of
	// an API key (a management credential, not an application) at
	// Cryptr's root token URL, /oauth/token (keys of either environment,
	// as at POST /api/v2/oauth/token), as Cryptr's newer documents send it: client_id, client_secret and
	// audience (the account domain). Such a request is handed to it
	// unchanged. gatehouse.New sets it to the Cryptr API's
	// POST /api/v2/oauth/token; without it the grant there is for machine
	// applications only.
	ManagementTokens http.Handler
	// SSOLogout, when set, extends the end of a browser session opened by
	// an SSO sign-in (end-session, Cryptr's slo-after-revoke-token) to
	// the identity provider: single logout.
	SSOLogout SSOLogout
	// Logger receives operational logs (default: the identity service's).
	Logger *slog.Logger
	// Clock returns the current time (default: Identity.Now).
	Clock func() time.Time
	// Rand is the source of secrets (default: Identity.Rand).
	Rand io.Reader
	// CodeTTL is the lifetime of authorization codes (default 5 min, at
	// most 10 min).
	CodeTTL time.Duration
	// RefreshTokenTTL is the default refresh token lifetime (30 days);
	// applications may override it.
	RefreshTokenTTL time.Duration
	// RefreshGrace is how long a rotated refresh token still returns its
	// successor (default 30 s).
	RefreshGrace time.Duration
	// MagicLinkTTL is the lifetime of magic links and email codes (default
	// and maximum 10 min).
	MagicLinkTTL time.Duration
	// SessionTTL is the lifetime of browser sessions (default 12 h).
	SessionTTL time.Duration
	// MaxCodeAttempts bounds the tries of one request's 6-digit email code
	// (default 5). Across requests and resends, the identity core's guess
	// budget bounds the wrong codes per address (identity.Options
	// CodeGuessLimit: 10 an hour).
	MaxCodeAttempts int
	// AddressSendLimit bounds the magic links sent per client address
	// within RateWindow (default 30). The sends per email address are the
	// identity core's send budget (identity.Options CodeSendBurst,
	// CodeSendWindow, CodeSendCooldown). The client address of this limit
	// and AuthorizeRequestLimit is the connection's peer (RemoteAddr):
	// proxy headers are not trusted, so behind a reverse proxy the host
	// sets RemoteAddr from its trusted proxy.
	AddressSendLimit int
	// AuthorizeRequestLimit bounds the authorization requests stored
	// (each one a record kept DefaultAuthRequestTTL) per client address
	// within RateWindow (default 300); beyond it the authorization
	// endpoint answers 429 with an error page. Requests answered from a
	// browser session or with an error store nothing and are not counted.
	AuthorizeRequestLimit int
	RateWindow            time.Duration
	// SecureCookies forces the Secure attribute on cookies; by default it
	// is set when the base URL is https.
	SecureCookies bool
	// Branding is the look of the hosted pages and mails: product name
	// (default "Gatehouse"), logo, colours and page overrides (see
	// package pages). New refuses an invalid one with a
	// *pages.BrandingError.
	Branding pages.Branding
	// PasswordResetTTL is the lifetime of the links of "forgot password"
	// mails (default identity.DefaultPasswordResetTTL, 1 h; at most
	// identity.MaxPasswordResetTTL, 24 h).
	PasswordResetTTL time.Duration
}

// Provider is the OIDC provider and hosted login: an http.Handler serving
// the paths listed by Patterns. It is safe for concurrent use.
type Provider struct {
	opts     Options
	ids      *identity.Service
	tok      *tokens.Service
	verifier *tokens.Verifier
	hints    *tokens.Verifier // ID tokens presented as id_token_hint
	log      *slog.Logger
	base     string
	// path is the URL path of base ("" at the root, "/auth" for
	// https://app.example/auth): every path the provider emits (form
	// actions, cookie paths) starts with it.
	path     string
	secure   bool
	mux      *http.ServeMux
	serve    http.Handler // mux behind the panic recovery
	patterns []string
	pages    *pages.Set
	mailWG   sync.WaitGroup
	// afterCodeMarked, when set (tests only), runs after a code redemption
	// has checked the code (unused) in its read and before the write that
	// marks it used and stores the tokens, so a test can interleave a
	// second redemption there.
	afterCodeMarked func()
}

// New returns a Provider for opts.
func New(opts Options) (*Provider, error) {
	if opts.Identity == nil || opts.Tokens == nil {
		return nil, errors.New("provider: Identity and Tokens are required")
	}
	if opts.Mailer == nil {
		opts.Mailer = mail.LogMailer{Logger: opts.Identity.Logger()}
	}
	if opts.MailFrom == "" {
		opts.MailFrom = "noreply@gatehouse.invalid"
	}
	if opts.Logger == nil {
		opts.Logger = opts.Identity.Logger()
	}
	if opts.Clock == nil {
		opts.Clock = opts.Identity.Now
	}
	if opts.Rand == nil {
		opts.Rand = opts.Identity.Rand()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.CodeTTL, DefaultCodeTTL)
	if opts.CodeTTL > MaxCodeTTL {
		opts.CodeTTL = MaxCodeTTL
	}
	def(&opts.RefreshTokenTTL, DefaultRefreshTokenTTL)
	def(&opts.RefreshGrace, DefaultRefreshGrace)
	def(&opts.MagicLinkTTL, DefaultMagicLinkTTL)
	if opts.MagicLinkTTL > DefaultMagicLinkTTL {
		opts.MagicLinkTTL = DefaultMagicLinkTTL
	}
	def(&opts.SessionTTL, DefaultSessionTTL)
	def(&opts.RateWindow, DefaultRateWindow)
	defInt := func(d *int, v int) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt(&opts.MaxCodeAttempts, DefaultMaxCodeAttempts)
	defInt(&opts.AddressSendLimit, DefaultAddressSendLimit)
	defInt(&opts.AuthorizeRequestLimit, DefaultAuthorizeRequestLimit)
	v, err := opts.Tokens.NewVerifier(tokens.VerifierConfig{SkipAudience: true,
		TokenTypes: []string{tokens.TypeAccess}, Environments: []identity.Environment{identity.Production, identity.Sandbox}})
	if err != nil {
		return nil, fmt.Errorf("provider: verifier: %w", err)
	}
	hints, err := opts.Tokens.NewVerifier(tokens.VerifierConfig{SkipAudience: true, TokenTypes: []string{tokens.TypeID},
		Environments: []identity.Environment{identity.Production, identity.Sandbox}, AcceptExpiredFor: MaxHintAge})
	if err != nil {
		return nil, fmt.Errorf("provider: hint verifier: %w", err)
	}
	pg, err := newPages(opts.Branding)
	if err != nil {
		return nil, err
	}
	base := strings.TrimRight(opts.Tokens.BaseURL(), "/")
	bu, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("provider: base URL: %w", err)
	}
	p := &Provider{opts: opts, ids: opts.Identity, tok: opts.Tokens, verifier: v, hints: hints, log: opts.Logger,
		base: base, path: strings.TrimRight(bu.EscapedPath(), "/"), secure: opts.SecureCookies || strings.HasPrefix(base, "https://"),
		mux: http.NewServeMux(), pages: pg}
	p.routes()
	p.serve = httpx.Recover(p.log, "provider: panic serving request", p.mux, writeServerError)
	// A password change or reset, through any face, ends the refresh
	// families, browser sessions and codes of the user.
	opts.Identity.OnSessionsEnd(identity.SessionRevokerFunc(p.endUserSessions))
	return p, nil
}

// ServeHTTP serves one request. A panic is recovered and answered with 500.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.serve.ServeHTTP(w, r) }

// writeServerError is the answer to a request whose handler panicked.
func writeServerError(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
}

// Patterns returns the http.ServeMux patterns the provider serves, for
// route tables, tests and the root package's choice of routes. To mount
// the provider, mount gatehouse.Handler (or the provider itself on a mux
// of its own): registering these patterns on a host's mux collides with
// the host's routes (GET /{$}).
func (p *Provider) Patterns() []string { return append([]string(nil), p.patterns...) }

// Close waits for magic-link mails still being sent in the background.
func (p *Provider) Close() error {
	p.mailWG.Wait()
	return nil
}

// Issuer returns the issuer of an organization in env:
// {BaseURL}/t/{domain} in production, {BaseURL}/sandbox/t/{domain} in the
// sandbox (tokens.IssuerURL).
func (p *Provider) Issuer(env identity.Environment, domain string) string {
	return p.tok.Issuer(env, domain)
}

func (p *Provider) now() time.Time { return p.opts.Clock() }

// envKey is the context key of the environment a request's path names.
type envKey struct{}

// envOf returns the environment of r's path tree: the sandbox under
// /sandbox/, production everywhere else.
func envOf(r *http.Request) identity.Environment {
	if env, ok := r.Context().Value(envKey{}).(identity.Environment); ok {
		return env
	}
	return identity.Production
}

// handle serves pattern in both environments' trees: as given for
// production, under tokens.SandboxPath for the sandbox. The handler finds
// the environment with envOf.
func (p *Provider) handle(pattern string, h http.HandlerFunc) {
	method, path, _ := strings.Cut(pattern, " ")
	for _, env := range []identity.Environment{identity.Production, identity.Sandbox} {
		pat := method + " " + tokens.EnvironmentPath(env) + path
		p.mux.HandleFunc(pat, func(w http.ResponseWriter, r *http.Request) {
			h(w, r.WithContext(context.WithValue(r.Context(), envKey{}, env)))
		})
		p.patterns = append(p.patterns, pat)
	}
}

func (p *Provider) routes() {
	dom := func(r *http.Request) string { return r.PathValue("domain") }
	jwks := map[identity.Environment]http.Handler{
		identity.Production: p.tok.JWKSHandler(identity.Production, dom),
		identity.Sandbox:    p.tok.JWKSHandler(identity.Sandbox, dom),
	}
	wrapJWKS := func(w http.ResponseWriter, r *http.Request) {
		if !p.orgExists(r.Context(), r.PathValue("domain")) {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found"})
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", "*")
		jwks[envOf(r)].ServeHTTP(w, r)
	}
	// Discovery and keys.
	p.handle("GET /t/{domain}/.well-known/openid-configuration", p.discovery)
	p.handle("GET /t/{domain}/.well-known", wrapJWKS)
	p.handle("GET /t/{domain}/.well-known/jwks", wrapJWKS)
	// Standard OIDC endpoints.
	p.handle("GET /t/{domain}/authorize", p.authorizeStandard)
	p.handle("POST /t/{domain}/authorize", p.authorizeStandard)
	p.handle("POST /t/{domain}/oauth/token", p.cors(p.tokenStandard))
	p.handle("POST /t/{domain}/oauth/revoke", p.cors(p.revokeStandard))
	p.handle("POST /t/{domain}/oauth/introspect", p.cors(p.introspect))
	p.handle("GET /t/{domain}/userinfo", p.cors(p.userinfo))
	p.handle("POST /t/{domain}/userinfo", p.cors(p.userinfo))
	p.handle("GET /t/{domain}/logout", p.endSession)
	p.handle("POST /t/{domain}/logout", p.endSession)
	// Hosted login page.
	p.handle("POST /t/{domain}/login", p.loginPost)
	p.handle("POST /login", p.loginPost)
	p.handle("GET /magic-link/verify/{token}", p.magicLinkConfirm)
	p.handle("POST /magic-link/verify/{token}", p.magicLinkConsume)
	p.handle("GET /t/{domain}/password-reset/{token}", p.resetPage)
	p.handle("POST /t/{domain}/password-reset/{token}", p.resetPost)
	p.handle("GET /t/{domain}/invitation/{token}", p.invitationPage)
	p.handle("POST /t/{domain}/invitation/{token}", p.invitationPost)
	// Cryptr's sign-in URLs.
	p.handle("GET /t/{domain}/{locale}/{state}/{sign_type}/new", p.authorizeEra1)
	p.handle("GET /t/{domain}/{$}", p.authorizeGateway)
	p.handle("GET /a/{domain}/{$}", p.authorizeGateway)
	p.handle("GET /{$}", p.authorizeGateway)
	// Cryptr's token, refresh and revoke URLs.
	p.handle("POST /api/v1/tenants/{domain}/{client_id}/{state}/oauth/{sign_type}/client/{authorization_id}/token", p.cors(p.tokenCryptr))
	p.handle("POST /api/v1/tenants/{domain}/{client_id}/{state}/oauth/client/token", p.cors(p.tokenCryptr))
	p.handle("POST /org/{domain}/oauth2/token", p.cors(p.tokenCryptr))
	// Authorization URLs of headless SSO challenges.
	p.handle("GET /org/{domain}/oauth2/saml", p.ssoChallengeStart)
	p.handle("GET /org/{domain}/oauth2/oauth", p.ssoChallengeStart)
	p.handle("POST /oauth/token", p.cors(p.tokenCryptr))
	p.handle("POST /api/v1/tenants/{domain}/{client_id}/oauth/token/revoke", p.cors(p.revokeCryptr))
	p.handle("POST /oauth/revoke", p.cors(p.revokeCryptr))
	p.handle("GET /api/v1/tenants/{domain}/{client_id}/oauth/token/slo-after-revoke-token", p.sloAfterRevoke)
	p.handle("POST /api/v1/tenants/{domain}/{client_id}/oauth/token/slo-after-revoke-token", p.sloAfterRevoke)
	// Preflights of every CORS endpoint.
	for _, pat := range []string{"/t/{domain}/oauth/token", "/t/{domain}/oauth/revoke", "/t/{domain}/oauth/introspect",
		"/t/{domain}/userinfo", "/api/v1/tenants/{domain}/{client_id}/{state}/oauth/{sign_type}/client/{authorization_id}/token",
		"/api/v1/tenants/{domain}/{client_id}/{state}/oauth/client/token", "/org/{domain}/oauth2/token", "/oauth/token",
		"/api/v1/tenants/{domain}/{client_id}/oauth/token/revoke", "/oauth/revoke"} {
		p.handle("OPTIONS "+pat, p.preflight)
	}
}

func (p *Provider) orgExists(ctx context.Context, domain string) bool {
	if domain == "" {
		return false
	}
	_, err := p.ids.GetOrganization(ctx, domain)
	return err == nil
}

// envService returns the identity service of env.
func (p *Provider) envService(env identity.Environment) (*identity.Service, error) {
	if env == "" || env == p.ids.Environment() {
		return p.ids, nil
	}
	return p.ids.ForEnvironment(env)
}

// appByClientID finds an application of env (the environment of the
// request's path tree): an application of the other environment is
// ErrNotFound, exactly like an unknown one.
func (p *Provider) appByClientID(ctx context.Context, env identity.Environment, clientID string) (*identity.Application, error) {
	if clientID == "" || len(clientID) > 200 {
		return nil, identity.ErrNotFound
	}
	svc, err := p.envService(env)
	if err != nil {
		return nil, err
	}
	app, err := svc.ApplicationByClientID(ctx, clientID)
	if err != nil {
		return nil, err
	}
	return app, nil
}

// appFor finds an application of env as the issuer of organization
// domain sees it (identity.Service.ApplicationFor): one that does not serve
// the organization is ErrNotFound, exactly like an unknown client. With no
// domain it is appByClientID.
func (p *Provider) appFor(ctx context.Context, env identity.Environment, clientID, domain string) (*identity.Application, error) {
	if domain == "" {
		return p.appByClientID(ctx, env, clientID)
	}
	if clientID == "" || len(clientID) > 200 {
		return nil, identity.ErrNotFound
	}
	svc, err := p.envService(env)
	if err != nil {
		return nil, err
	}
	return svc.ApplicationFor(ctx, clientID, domain)
}

// appServes reports whether app may sign users of organization domain in
// (the core's rule: identity.Service.ApplicationServes).
func (p *Provider) appServes(ctx context.Context, app *identity.Application, env identity.Environment, domain string) bool {
	svc, err := p.envService(env)
	if err != nil {
		return false
	}
	ok, err := svc.ApplicationServes(ctx, app, domain)
	return err == nil && ok
}
