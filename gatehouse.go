package gatehouse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/admin"
	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/api"
	"github.com/gatehouse-id/gatehouse/identity/gazetteer"
	"github.com/gatehouse-id/gatehouse/identity/password"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/mail"
	"github.com/gatehouse-id/gatehouse/pages"
	"github.com/gatehouse-id/gatehouse/profile"
	"github.com/gatehouse-id/gatehouse/sso"
	"github.com/gatehouse-id/gatehouse/sso/portal"
	"github.com/gatehouse-id/gatehouse/sso/ssoapi"
	"github.com/gatehouse-id/gatehouse/sso/ssooidc"
	"github.com/gatehouse-id/gatehouse/tokens"
	"github.com/gatehouse-id/gatehouse/tokens/provider"
)

// Faces is a set of what Handler serves (see the package documentation
// for the paths of each).
type Faces uint

// The faces Handler can serve.
const (
	// CryptrAPI is the Cryptr API 2.0 management face under /api/v2, with
	// the provider's headless challenges (when HostedLogin is served) and
	// the SSO connections API (when SSO is served).
	CryptrAPI Faces = 1 << iota
	// CrafterAPI is the Crafter Profile 4.5 face under /api/1 and
	// /crafter-profile/api/1.
	CrafterAPI
	// HostedLogin is the OIDC provider of every organization and its
	// hosted sign-in pages.
	HostedLogin
	// SSO is enterprise SSO: SAML per connection under /enterprise/, and
	// "continue with SSO" on the hosted page.
	SSO
	// Portal is the IT admin's SSO onboarding portal under
	// /enterprise-setup/. It needs SSO.
	Portal
	// LegacyRootURLs are Cryptr's URLs outside the issuer tree: the
	// gateways / and /a/{domain}/, /oauth/token, /oauth/revoke,
	// /org/{domain}/oauth2/token and /api/v1/tenants/... (and their
	// /sandbox twins). They need HostedLogin. Off by default.
	LegacyRootURLs
	// Console is the admin console (package admin) under /admin/: console
	// members sign in through the hosted login of the account's
	// organization. It needs HostedLogin. Off by default; while the
	// console has no owner, Console().PrintSetup or SetupURL gives the
	// one-time link that creates the first one.
	Console
)

// DefaultFaces is what Handler serves when Options.Serve is zero:
// everything but LegacyRootURLs.
const DefaultFaces = CryptrAPI | CrafterAPI | HostedLogin | SSO | Portal

// Options configure New. Store and BaseURL are required.
type Options struct {
	// Store is the storage engine (store.Open, store/bolt, store/memory,
	// store/postgres, or any backend that passes store/storetest). New
	// does not close it.
	Store identity.Store
	// BaseURL is the public URL Gatehouse is served at, such as
	// "https://app.example/auth": issuers, links, form actions, cookie
	// paths and SAML URLs are built from it, and Handler serves the
	// requests under its path. A trailing slash is ignored.
	BaseURL string
	// KeyEncryptionKey (32 random bytes, kept outside the store) seals the
	// secrets the store keeps: Crafter access-token ids, persistent-login
	// tokens, token signing keys and SAML service provider keys. Give
	// every instance on one store the same key. When it is nil, an
	// ephemeral key is used (and a warning logged unless the store is
	// volatile, as store/memory is): sealed secrets then do not survive a
	// restart. A store sealed with another key fails New with an error
	// that wraps identity.ErrKeyEncryptionKey.
	KeyEncryptionKey []byte
	// Serve chooses the faces Handler serves (default DefaultFaces).
	Serve Faces
	// Hasher hashes passwords (default password.New(): argon2id).
	Hasher identity.PasswordHasher
	// Places resolves Cryptr's autocomplete_address (default: the
	// embedded GeoNames gazetteer, identity/gazetteer).
	Places identity.PlaceResolver
	// Mailer sends magic links, verification and reset mails and SSO
	// invitations (default: mail.LogMailer, which only logs that a
	// message was sent). MailFrom is their sender (default
	// "noreply@gatehouse.invalid").
	Mailer   mail.Mailer
	MailFrom string
	// Logger receives operational logs (default slog.Default()).
	Logger *slog.Logger
	// AccountDomain is the domain of the account that manages the
	// organizations: the issuer domain of management tokens (default
	// "gatehouse").
	AccountDomain string
	// Clock returns the current time (default time.Now).
	Clock func() time.Time
	// ClaimsUpdater, when set, adds the host's custom claims to the user
	// tokens Gatehouse issues (tokens.Options.ClaimsUpdater).
	ClaimsUpdater tokens.ClaimsUpdater
	// RSASigner chooses what computes RS256 signatures
	// (tokens.Options.RSASigner): by default the system's OpenSSL 3
	// libcrypto where a Linux build with cgo loads it, crypto/rsa
	// otherwise; tokens.RSASignerGo always uses crypto/rsa. The tokens are
	// the same bytes either way.
	RSASigner tokens.RSASigner
	// Branding is the look of the hosted pages (sign-in pages and mails,
	// the SSO onboarding portal, the SSO end-user pages): product name,
	// logo, colours and template overrides (package pages). The zero
	// value is Gatehouse's own look; an invalid one fails New with a
	// *pages.BrandingError.
	Branding pages.Branding
	// LogSSOSetupLinks also writes each SSO invitation's setup link to the
	// log. For development only: a setup link is a secret.
	LogSSOSetupLinks bool
	// MonitoringAuth decides whether a token presented to Crafter's
	// /api/1/monitoring endpoints is valid; it must compare in constant
	// time. Default: the monitoring token set with SetBootstrap (none:
	// every call is refused).
	MonitoringAuth func(ctx context.Context, token string) bool
	// Version is reported by Crafter's /api/1/monitoring/version.
	Version string
	// CrafterDefaultTenant, when set and the Crafter API is served, makes
	// New create Crafter's "default" tenant in that environment if no
	// organization has that domain yet (Crafter Profile ships with it).
	CrafterDefaultTenant identity.Environment
	// SweepInterval is how often Start sweeps expired records (default
	// 30 seconds).
	SweepInterval time.Duration
	// RouteMiddleware, when set, wraps Gatehouse's router inside the base
	// path: it sees root-relative paths, and after calling next, the
	// request's Pattern is the route that matched ("GET
	// /t/{domain}/authorize"; empty for the API faces' own routing and
	// for no match). For metrics by route.
	RouteMiddleware func(next http.Handler) http.Handler
}

// Gatehouse is Gatehouse wired together: the services of the identity
// core, tokens, the OIDC provider, SSO and both API faces, and the
// handler that serves them. It is safe for concurrent use.
type Gatehouse struct {
	opts Options
	log  *slog.Logger
	// basePath and escapedBasePath are the path of BaseURL ("" at the
	// root), decoded and escaped.
	basePath, escapedBasePath string
	envs                      map[identity.Environment]*identity.Service
	tokens                    *tokens.Service
	provider                  *provider.Provider
	sso                       *sso.Service
	api                       *api.Handler
	crafter                   *profile.Service
	console                   *admin.Console
	handler                   http.Handler
	closers                   []func() error
}

// New builds Gatehouse on opts.Store. The identity core's first use of a
// store prepares it (schema, sealing under the key-encryption key).
func New(ctx context.Context, opts Options) (*Gatehouse, error) {
	if opts.Store == nil {
		return nil, errors.New("gatehouse: Options.Store is required")
	}
	base, u, err := parseBaseURL(opts.BaseURL)
	if err != nil {
		return nil, err
	}
	opts.BaseURL = base
	if opts.Serve == 0 {
		opts.Serve = DefaultFaces
	}
	if opts.Serve&Portal != 0 && opts.Serve&SSO == 0 {
		return nil, errors.New("gatehouse: the SSO portal needs the SSO face (Serve: SSO|Portal)")
	}
	if opts.Serve&LegacyRootURLs != 0 && opts.Serve&HostedLogin == 0 {
		return nil, errors.New("gatehouse: Cryptr's legacy root URLs need the hosted login (Serve: HostedLogin|LegacyRootURLs)")
	}
	if opts.Serve&Console != 0 && opts.Serve&HostedLogin == 0 {
		return nil, errors.New("gatehouse: the admin console needs the hosted login (Serve: HostedLogin|Console)")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Hasher == nil {
		opts.Hasher = password.New()
	}
	if opts.Places == nil {
		places, err := gazetteer.New()
		if err != nil {
			return nil, fmt.Errorf("gatehouse: gazetteer: %w", err)
		}
		opts.Places = places
	}
	if opts.Mailer == nil {
		opts.Mailer = mail.LogMailer{Logger: opts.Logger}
	}
	if opts.MailFrom == "" {
		opts.MailFrom = "noreply@gatehouse.invalid"
	}
	if opts.AccountDomain == "" {
		opts.AccountDomain = "gatehouse"
	}
	g := &Gatehouse{opts: opts, log: opts.Logger, basePath: u.Path, escapedBasePath: u.EscapedPath()}
	prod, err := identity.NewService(identity.Options{Store: opts.Store, Environment: identity.Production,
		Places: opts.Places, Hasher: opts.Hasher, Logger: opts.Logger, AccountDomain: opts.AccountDomain,
		KeyEncryptionKey: opts.KeyEncryptionKey, Clock: opts.Clock})
	if err != nil {
		return nil, fmt.Errorf("gatehouse: identity: %w", err)
	}
	sandbox, err := prod.ForEnvironment(identity.Sandbox)
	if err != nil {
		return nil, fmt.Errorf("gatehouse: identity: %w", err)
	}
	g.envs = map[identity.Environment]*identity.Service{identity.Production: prod, identity.Sandbox: sandbox}
	g.tokens, err = tokens.New(tokens.Options{Identity: prod, BaseURL: base, KeyEncryptionKey: opts.KeyEncryptionKey,
		ClaimsUpdater: opts.ClaimsUpdater, RSASigner: opts.RSASigner})
	if err != nil {
		return nil, fmt.Errorf("gatehouse: tokens: %w", err)
	}
	if err := g.wire(ctx); err != nil {
		_ = g.Close()
		return nil, err
	}
	return g, nil
}

// parseBaseURL checks an absolute http(s) base URL and returns it without
// a trailing slash, and parsed.
func parseBaseURL(s string) (string, *url.URL, error) {
	base := strings.TrimRight(s, "/")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil {
		return "", nil, fmt.Errorf("gatehouse: Options.BaseURL %q must be an absolute http(s) URL without query, fragment or credentials", s)
	}
	return base, u, nil
}

// wire builds the faces that Options.Serve names and their router.
func (g *Gatehouse) wire(ctx context.Context) error {
	o, prod := g.opts, g.envs[identity.Production]
	var groups []api.RouteGroup
	var bridge *ssooidc.Bridge
	if o.Serve&SSO != 0 {
		// Enterprise SSO and the provider refer to each other: the bridge
		// is bound once both exist.
		bridge = ssooidc.NewBridge(o.BaseURL)
		s, err := sso.New(sso.Options{Identity: prod, BaseURL: o.BaseURL, Authorizations: bridge,
			Mailer: o.Mailer, MailFrom: o.MailFrom, Logger: g.log, KeyEncryptionKey: o.KeyEncryptionKey,
			LogSetupLinks: o.LogSSOSetupLinks, Branding: o.Branding})
		if err != nil {
			return fmt.Errorf("gatehouse: sso: %w", err)
		}
		g.sso = s
	}
	if o.Serve&HostedLogin != 0 {
		po := provider.Options{Identity: prod, Tokens: g.tokens, Mailer: o.Mailer, MailFrom: o.MailFrom, Logger: g.log,
			Branding: o.Branding}
		if g.sso != nil {
			po.SSORouter, po.SSOLogout = ssooidc.Router(g.sso), ssooidc.Logout(g.sso)
		}
		if o.Serve&CryptrAPI != 0 {
			// API keys at Cryptr's root /oauth/token: the management
			// API's grant, bound once the API exists (below).
			po.ManagementTokens = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.api.ServeHTTP(w, r) })
		}
		p, err := provider.New(po)
		if err != nil {
			return fmt.Errorf("gatehouse: oidc provider: %w", err)
		}
		g.provider = p
		g.closers = append(g.closers, p.Close)
		if bridge != nil {
			bridge.Bind(p)
		}
		groups = append(groups, p.APIRoutes())
	}
	if g.sso != nil {
		groups = append(groups, ssoapi.Routes(g.sso))
	}
	if o.Serve&CryptrAPI != 0 {
		h, err := api.New(api.Options{Service: prod, TokenService: g.tokens, Logger: g.log, Routes: groups})
		if err != nil {
			return fmt.Errorf("gatehouse: cryptr api: %w", err)
		}
		g.api = h
	}
	if o.Serve&CrafterAPI != 0 {
		monitoring := o.MonitoringAuth
		if monitoring == nil {
			monitoring = g.monitoringTokenOK
		}
		c, err := profile.New(profile.Options{Identity: prod, Mailer: o.Mailer, MailFrom: o.MailFrom,
			MonitoringAuth: monitoring, Version: o.Version, Logger: g.log})
		if err != nil {
			return fmt.Errorf("gatehouse: crafter api: %w", err)
		}
		g.crafter = c
		// Deliver queued mail (bounded) before the host closes the store.
		g.closers = append(g.closers, func() error {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return c.Shutdown(sctx)
		})
		if env := o.CrafterDefaultTenant; env != "" {
			if !env.Valid() {
				return fmt.Errorf("gatehouse: CrafterDefaultTenant %q: %w", env, identity.ErrInvalid)
			}
			created, err := c.EnsureDefaultTenant(ctx, env)
			if err != nil {
				return fmt.Errorf("gatehouse: crafter default tenant: %w", err)
			}
			if created {
				g.log.Info("created the default tenant", "env", env)
			}
		}
	}
	var portalH http.Handler
	if o.Serve&Portal != 0 {
		p, err := portal.New(g.sso)
		if err != nil {
			return fmt.Errorf("gatehouse: sso portal: %w", err)
		}
		portalH = p
	}
	g.handler = g.router(portalH)
	if o.Serve&Console != 0 {
		// The console reaches the provider (discovery, JWKS, token
		// endpoint) in process: the public base URL need not be reachable
		// from the host itself.
		ao := admin.Options{Identity: prod, BaseURL: o.BaseURL + consolePath,
			ProviderURL: o.BaseURL, Logger: g.log.With("component", "admin"), PasswordResets: g.provider, Invitations: g.provider,
			HTTPClient: &http.Client{Transport: inProcess{base: o.BaseURL, h: g.handler}, Timeout: 10 * time.Second}}
		// Each application's page shows the JWT sample the issuer builds.
		ao.JWTSamples = g.tokens
		if g.sso != nil {
			// Each organization's SSO connections (a nil *sso.Service
			// would be a non-nil interface: set only when served).
			ao.SSO = g.sso
		}
		if g.crafter != nil {
			// Each organization's Crafter tenant and the Crafter access
			// tokens, through the Crafter face's rules (set only when
			// served, like SSO).
			ao.Crafter = g.crafter
		}
		c, err := admin.New(ctx, ao)
		if err != nil {
			return fmt.Errorf("gatehouse: admin console: %w", err)
		}
		g.console = c
	}
	return nil
}

// Handler returns the handler of everything Options.Serve names, under
// the path of Options.BaseURL (see the package documentation). Mount it
// on that path with a trailing slash ("/auth/"), or on "/" when the base
// URL has no path. A panic in a handler is recovered, logged and
// answered 500.
func (g *Gatehouse) Handler() http.Handler { return g.handler }

// BaseURL returns the public base URL, without a trailing slash.
func (g *Gatehouse) BaseURL() string { return g.opts.BaseURL }

// Production returns the identity core of the production environment.
func (g *Gatehouse) Production() *identity.Service { return g.envs[identity.Production] }

// Sandbox returns the identity core of the sandbox environment.
func (g *Gatehouse) Sandbox() *identity.Service { return g.envs[identity.Sandbox] }

// Identity returns the identity core of env, or an error wrapping
// identity.ErrInvalid for an unknown environment.
func (g *Gatehouse) Identity(env identity.Environment) (*identity.Service, error) {
	if s, ok := g.envs[env]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("gatehouse: environment %q: %w", env, identity.ErrInvalid)
}

// Tokens returns the token service: signing keys, JWKS, minting and
// verifiers.
func (g *Gatehouse) Tokens() *tokens.Service { return g.tokens }

// Provider returns the OIDC provider, or nil when HostedLogin is not
// served.
func (g *Gatehouse) Provider() *provider.Provider { return g.provider }

// SSO returns the enterprise SSO service, or nil when SSO is not served.
func (g *Gatehouse) SSO() *sso.Service { return g.sso }

// Console returns the admin console, or nil when Console is not served.
func (g *Gatehouse) Console() *admin.Console { return g.console }

// API returns the Cryptr API 2.0 face, or nil when CryptrAPI is not
// served. It is already part of Handler.
func (g *Gatehouse) API() *api.Handler { return g.api }

// Profile returns the Crafter Profile service, or nil when CrafterAPI is
// not served.
func (g *Gatehouse) Profile() *profile.Service { return g.crafter }

// Middleware returns an HTTP middleware for the host's own routes: it
// answers 401 (with WWW-Authenticate) unless the request carries an
// access token that Gatehouse signed and cfg accepts, verified against
// the local keys without a network call, and hands the token's claims
// to the next handler (tokens.ClaimsFrom). Name what the route accepts
// in cfg: Audiences (an access token's aud is its application's origin,
// such as "https://app.example"), or ClientIDs (then the audience is not
// checked as well), or set SkipAudience; by default only production
// tokens pass (cfg.Environments).
func (g *Gatehouse) Middleware(cfg tokens.VerifierConfig) (func(http.Handler) http.Handler, error) {
	if len(cfg.Audiences) == 0 && len(cfg.ClientIDs) > 0 {
		// The client ids name the tokens the route accepts: the audience
		// (the application's origin) need not be checked as well.
		cfg.SkipAudience = true
	}
	v, err := g.tokens.NewVerifier(cfg)
	if err != nil {
		return nil, fmt.Errorf("gatehouse: middleware: %w", err)
	}
	return tokens.Middleware(v), nil
}

// Start runs background work until ctx ends: every Options.SweepInterval
// (30 seconds) it sweeps expired records (tickets, codes, sessions, rate
// limits, replay cache) and orphaned attachment blobs. It returns at once.
func (g *Gatehouse) Start(ctx context.Context) {
	interval := g.opts.SweepInterval
	if interval <= 0 {
		interval = 30 * time.Second
	}
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				n, err := g.sweep(ctx)
				if err != nil && ctx.Err() == nil {
					g.log.Warn("expiry sweep failed", "err", err)
				} else if n > 0 {
					g.log.Debug("expired records swept", "count", n)
				}
			}
		}
	}()
}

// sweep removes expired records once: through the Crafter face when it
// is served (which also removes its orphaned attachment blobs), else
// through the identity core.
func (g *Gatehouse) sweep(ctx context.Context) (int, error) {
	if g.crafter != nil {
		return g.crafter.Sweep(ctx)
	}
	return g.Production().SweepExpired(ctx, 500)
}

// Close waits for mail being sent (Crafter's queue at most 5 seconds)
// and releases what New made. It does not close the store. Close is
// idempotent.
func (g *Gatehouse) Close() error {
	var errs []error
	for i := len(g.closers) - 1; i >= 0; i-- {
		errs = append(errs, g.closers[i]())
	}
	g.closers = nil
	return errors.Join(errs...)
}

// Listener wraps l, the listener the host's http.Server serves from (after
// any TLS layer), so that a request under the base path whose target
// net/http refuses before any handler runs (a malformed escape such as
// "%zz" in the path) is answered by the API face it names, in that face's
// error format (400), instead of net/http's plain text. Other targets
// keep net/http's answer.
func (g *Gatehouse) Listener(l net.Listener) net.Listener {
	return httpx.AnswerMalformedTargets(l, g.malformedTarget)
}

// malformedTarget answers a request line whose target does not parse, for
// the API faces served under the base path.
func (g *Gatehouse) malformedTarget(target string) (int, string, []byte, bool) {
	if i := strings.Index(target, "://"); i >= 0 { // absolute form
		rest := target[i+3:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			return 0, "", nil, false
		}
		target = rest[j:]
	}
	p, query, hasQuery := strings.Cut(target, "?")
	if base := g.escapedBasePath; base != "" && base != "/" {
		rest, ok := cutBase(p, base)
		if !ok {
			return 0, "", nil, false
		}
		p = rest
	}
	if hasQuery {
		p += "?" + query
	}
	if g.api != nil {
		if status, ct, body, ok := api.MalformedTarget(p); ok {
			return status, ct, body, true
		}
	}
	if g.crafter != nil {
		return profile.MalformedTarget(p)
	}
	return 0, "", nil, false
}
