package identitytest

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse"
	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/testkit"
	"github.com/gatehouse-id/gatehouse/store/memory"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// Defaults of the seeded records and of the service URL.
const (
	// DefaultBaseURL is the service URL issuers are built from, unless
	// WithBaseURL or WithServer say otherwise.
	DefaultBaseURL = "https://gatehouse.test"
	// DefaultOrganization is the seeded organization's name (domain "acme").
	DefaultOrganization = "Acme"
	// DefaultEmail is the seeded user's email.
	DefaultEmail = "jane@acme.test"
	// DefaultOrigin is the seeded application's origin: the audience of
	// its tokens.
	DefaultOrigin = "https://app.acme.test"
)

// Option configures New.
type Option func(*config)

type config struct {
	base     string
	start    time.Time
	orgName  string
	email    string
	password string
	app      *identity.Application
	logger   *slog.Logger
	updater  tokens.ClaimsUpdater
	server   bool
	alg      string
}

// WithBaseURL sets the service URL issuers are built from (default
// DefaultBaseURL). It is ignored with WithServer.
func WithBaseURL(u string) Option { return func(c *config) { c.base = u } }

// WithTime starts the fake clock at t (default: the current time, to the
// second). The identity and tokens services and every verifier the Env
// returns read this clock; move it with Env.Advance.
func WithTime(t time.Time) Option { return func(c *config) { c.start = t } }

// WithOrganization names the seeded organization (default
// DefaultOrganization); its domain is the slug of the name.
func WithOrganization(name string) Option { return func(c *config) { c.orgName = name } }

// WithUser sets the seeded user's email (default DefaultEmail).
func WithUser(email string) Option { return func(c *config) { c.email = email } }

// WithUserPassword gives the seeded user a password (default none), hashed
// with this package's cheap test hasher (see the package documentation).
func WithUserPassword(password string) Option { return func(c *config) { c.password = password } }

// WithApplication replaces the seeded application (default: a single-page
// application named "Test app" whose origin is DefaultOrigin). It is
// created in the seeded organization, in production, and a copy of it in
// the sandbox.
func WithApplication(app identity.Application) Option {
	return func(c *config) { c.app = &app }
}

// WithSigningAlg sets the signing algorithm of the seeded application
// (identity.Application.SigningAlg): tokens.RS256 (the default, as in the
// product), tokens.ES256 or tokens.EdDSA. Key sets are made on an issuer's
// first token, and an RSA key pair is the slow part of an Env: with ES256
// an Env and its first token cost a few milliseconds (mostly building the
// hosted pages and routes), some 35 times less than with RS256
// (BenchmarkNew), for tests that do not care which algorithm signs.
func WithSigningAlg(alg string) Option { return func(c *config) { c.alg = alg } }

// WithLogger sets the services' logger (default: logs are discarded).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithClaimsUpdater installs the host's claims hook in the tokens service,
// as a host does with tokens.Options.ClaimsUpdater, so that tests see the
// claims it adds. Claims given to Env.Token with Claims are added after it.
func WithClaimsUpdater(u tokens.ClaimsUpdater) Option { return func(c *config) { c.updater = u } }

// WithServer serves Env.Handler (the whole Gatehouse: hosted sign-in,
// discovery, JWKS, APIs) on a local test server (httptest), whose URL
// becomes the base URL: production issuers' keys at
// {URL}/t/{org}/.well-known and {URL}/t/{org}/.well-known/jwks, the
// sandbox's under {URL}/sandbox/t/{org}/, the hosted sign-in at
// {URL}/t/{org}/authorize. Use it to test code that verifies tokens with a
// tokens.RemoteVerifier (Env.RemoteVerifier) or another JWKS client, or
// that signs a user in through the hosted page. The server is closed by
// t.Cleanup.
func WithServer() Option { return func(c *config) { c.server = true } }

// Env is an in-memory Gatehouse for one test (a *gatehouse.Gatehouse on
// store/memory, every face served): the identity service of each
// environment, the tokens service, the hosted sign-in and APIs
// (Env.Handler), a fake clock and the seeded organization, user and
// application. Its helpers fail the test (t.Fatal)
// when Gatehouse refuses what they ask, so a test reads as a list of
// steps. It is safe for concurrent use.
type Env struct {
	t       testing.TB
	clock   *testkit.Clock
	gh      *gatehouse.Gatehouse
	id      *identity.Service
	sandbox *identity.Service
	tok     *tokens.Service
	// past is a second tokens service on the same identity core, keys and
	// key-encryption key, whose clock runs ExpiredBy behind the fake
	// clock: it signs Expired tokens, which every verifier of tok
	// checks against the same published keys.
	past   *tokens.Service
	base   string
	server bool

	org    *identity.Organization
	user   *identity.User
	app    *identity.Application
	sbxApp *identity.Application

	mu sync.Mutex
	// sandboxUsers are the ids of the users AddSandboxUser created.
	sandboxUsers map[string]bool
	// verifier is the default verifier, made on first use.
	verifier *tokens.Verifier
}

// New returns an Env for t: a Gatehouse (gatehouse.New) on a memory
// store with this package's cheap test hasher and a fake clock, with an organization
// (WithOrganization), a user in it (WithUser) and an application
// (WithApplication) seeded in production, the application also in the
// sandbox. It fails the test if any of that cannot be built.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	cfg := config{base: DefaultBaseURL, start: time.Now().Truncate(time.Second), orgName: DefaultOrganization,
		email: DefaultEmail}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	e := &Env{t: t, clock: testkit.NewClock(cfg.start), sandboxUsers: map[string]bool{}}
	mux := http.NewServeMux()
	if cfg.server {
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		cfg.base = srv.URL
		e.server = true
	}
	e.base = cfg.base
	st := memory.New()
	t.Cleanup(func() { _ = st.Close() })
	// The Expired tokens' service shares the key-encryption key, so it
	// opens the key sets the Gatehouse seals.
	kek := make([]byte, 32)
	_, _ = rand.Read(kek)
	updater := claimsUpdater{host: cfg.updater}
	gh, err := gatehouse.New(context.Background(), gatehouse.Options{Store: st, BaseURL: e.base,
		KeyEncryptionKey: kek, Hasher: cheapHasher{}, Clock: e.clock.Now, Logger: cfg.logger,
		ClaimsUpdater: updater})
	if err != nil {
		t.Fatalf("identitytest: gatehouse: %v", err)
	}
	t.Cleanup(func() { _ = gh.Close() })
	e.gh, e.id, e.sandbox, e.tok = gh, gh.Production(), gh.Sandbox(), gh.Tokens()
	e.past, err = tokens.New(tokens.Options{Identity: e.id, BaseURL: e.base, KeyEncryptionKey: kek,
		Clock: func() time.Time { return e.clock.Now().Add(-ExpiredBy) }, ClaimsUpdater: updater})
	if err != nil {
		t.Fatalf("identitytest: tokens service: %v", err)
	}
	if cfg.server {
		mux.Handle("/", gh.Handler())
	}
	e.org = e.AddOrganization(cfg.orgName)
	var uo []UserOption
	if cfg.password != "" {
		uo = append(uo, Password(cfg.password))
	}
	e.user = e.AddUser(e.org.Domain, cfg.email, uo...)
	app := identity.Application{Name: "Test app", ApplicationType: identity.AppReact,
		AllowedRedirectURLs: []string{DefaultOrigin + "/callback"}, AllowedOriginsCORS: []string{DefaultOrigin}}
	if cfg.app != nil {
		app = *cfg.app
	}
	if cfg.alg != "" {
		app.SigningAlg = cfg.alg
	}
	e.app = e.addApplication(e.id, e.org.Domain, app)
	e.sbxApp = e.addApplication(e.sandbox, e.org.Domain, app)
	return e
}

// Gatehouse returns the Env's Gatehouse: the services a host calls in
// Go, wired as gatehouse.New wires them in production.
func (e *Env) Gatehouse() *gatehouse.Gatehouse { return e.gh }

// Handler returns the handler of the whole Gatehouse (hosted sign-in,
// discovery, JWKS, the Cryptr and Crafter APIs, SSO), as a host mounts
// it. Its issuers and links are built from Env.BaseURL: to sign a user in
// through the hosted page over HTTP, use New with WithServer, which
// serves this handler at that URL.
func (e *Env) Handler() http.Handler { return e.gh.Handler() }

// Identity returns the identity service of production (organizations are
// created and changed there). Use Identity().ForEnvironment for the
// sandbox's.
func (e *Env) Identity() *identity.Service { return e.id }

// TokenService returns the tokens service: issuers, key sets, JWKS,
// verifiers.
func (e *Env) TokenService() *tokens.Service { return e.tok }

// BaseURL returns the service URL issuers are built from (the test
// server's URL with WithServer).
func (e *Env) BaseURL() string { return e.base }

// Issuer returns the issuer of an organization in env (production for "").
func (e *Env) Issuer(env identity.Environment, orgDomain string) string {
	if env == "" {
		env = identity.Production
	}
	return tokens.IssuerURL(e.base, env, orgDomain)
}

// Organization returns the seeded organization.
func (e *Env) Organization() *identity.Organization { return e.org }

// User returns the seeded user, a production user of the seeded
// organization, enabled and verified.
func (e *Env) User() *identity.User { return e.user }

// Application returns the seeded application in production.
func (e *Env) Application() *identity.Application { return e.app }

// SandboxApplication returns the seeded application's copy in the sandbox
// (another client id; the same origins, so the same audience).
func (e *Env) SandboxApplication() *identity.Application { return e.sbxApp }

// Audience returns the audience of the seeded application's tokens (its
// origin, as in the product): what a host verifier expects.
func (e *Env) Audience() string { return tokens.DefaultAudience(e.app, "") }

// Now returns the fake clock's time.
func (e *Env) Now() time.Time { return e.clock.Now() }

// Advance moves the fake clock by d: tokens whose lifetime has passed stop
// verifying, as they would in production.
func (e *Env) Advance(d time.Duration) { e.clock.Advance(d) }

// AddOrganization creates an organization named name (its domain is the
// slug of the name) and fails the test if Gatehouse refuses it.
func (e *Env) AddOrganization(name string) *identity.Organization {
	e.t.Helper()
	org, err := e.id.CreateOrganization(context.Background(), identity.OrganizationInput{Name: &name})
	if err != nil {
		e.t.Fatalf("identitytest: create organization %q: %v", name, err)
	}
	return org
}

// UserOption configures AddUser and AddSandboxUser.
type UserOption func(*identity.User, *string)

// Password gives the user a password (hashed with this package's cheap
// test hasher; see the package documentation).
func Password(p string) UserOption { return func(_ *identity.User, pw *string) { *pw = p } }

// Profile sets the user's OIDC standard claims (name, given_name, ...),
// which ID tokens carry when the profile scope is granted.
func Profile(p identity.Profile) UserOption {
	return func(u *identity.User, _ *string) { u.Profile = p }
}

// Roles sets the user's roles.
func Roles(roles ...string) UserOption { return func(u *identity.User, _ *string) { u.Roles = roles } }

// Disabled creates the user disabled (users are enabled by default).
func Disabled() UserOption { return func(u *identity.User, _ *string) { u.Enabled = false } }

// Unverified creates the user with an unverified email (users are
// verified by default).
func Unverified() UserOption { return func(u *identity.User, _ *string) { u.Verified = false } }

// AddUser creates a production user of the organization orgDomain and fails
// the test if Gatehouse refuses it (an invalid email, one already taken in
// the organization, an unknown organization).
func (e *Env) AddUser(orgDomain, email string, opts ...UserOption) *identity.User {
	e.t.Helper()
	return e.addUser(e.id, orgDomain, email, opts)
}

// AddSandboxUser creates a user of the organization orgDomain in the
// sandbox. Env.Token issues its tokens in the sandbox (the sandbox issuer
// and keys), which production verifiers refuse.
func (e *Env) AddSandboxUser(orgDomain, email string, opts ...UserOption) *identity.User {
	e.t.Helper()
	u := e.addUser(e.sandbox, orgDomain, email, opts)
	e.mu.Lock()
	e.sandboxUsers[u.ID] = true
	e.mu.Unlock()
	return u
}

func (e *Env) addUser(svc *identity.Service, orgDomain, email string, opts []UserOption) *identity.User {
	e.t.Helper()
	in := identity.User{Email: email, Enabled: true, Verified: true}
	var pw string
	for _, o := range opts {
		o(&in, &pw)
	}
	u, err := svc.CreateUser(context.Background(), orgDomain, in, pw)
	if err != nil {
		e.t.Fatalf("identitytest: create user %q in %s (%s): %v", email, orgDomain, svc.Environment(), err)
	}
	return u
}

// AddApplication creates app in the organization orgDomain, in
// production, and fails the test if Gatehouse refuses it.
func (e *Env) AddApplication(orgDomain string, app identity.Application) *identity.Application {
	e.t.Helper()
	return e.addApplication(e.id, orgDomain, app)
}

func (e *Env) addApplication(svc *identity.Service, orgDomain string, app identity.Application) *identity.Application {
	e.t.Helper()
	a, _, err := svc.CreateApplication(context.Background(), orgDomain, app)
	if err != nil {
		e.t.Fatalf("identitytest: create application %q in %s (%s): %v", app.Name, orgDomain, svc.Environment(), err)
	}
	return a
}

// Verifier returns the verifier a host would configure for the seeded
// application: production tokens only, audience Env.Audience, access
// tokens, any organization. It reads the Env's clock.
func (e *Env) Verifier() *tokens.Verifier {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.verifier == nil {
		e.verifier = e.NewVerifier(tokens.VerifierConfig{})
	}
	return e.verifier
}

// NewVerifier returns a verifier for cfg over the Env's key sets; empty
// Audiences (without SkipAudience) mean Env.Audience. It fails the test
// when cfg is refused.
func (e *Env) NewVerifier(cfg tokens.VerifierConfig) *tokens.Verifier {
	e.t.Helper()
	if len(cfg.Audiences) == 0 && !cfg.SkipAudience {
		cfg.Audiences = []string{e.Audience()}
	}
	if cfg.Clock == nil {
		cfg.Clock = e.clock.Now
	}
	v, err := e.tok.NewVerifier(cfg)
	if err != nil {
		e.t.Fatalf("identitytest: verifier: %v", err)
	}
	return v
}

// Middleware returns tokens.Middleware over Env.Verifier: wrap the host
// handler under test with it, as the host does in production.
func (e *Env) Middleware() func(http.Handler) http.Handler {
	e.t.Helper()
	return tokens.Middleware(e.Verifier())
}

// RemoteVerifier returns a tokens.RemoteVerifier that fetches the JWKS
// from the Env's test server (New needs WithServer), configured by cfg
// like NewVerifier. It reads the Env's clock.
func (e *Env) RemoteVerifier(cfg tokens.VerifierConfig) *tokens.RemoteVerifier {
	e.t.Helper()
	if !e.server {
		e.t.Fatal("identitytest: RemoteVerifier needs New(t, identitytest.WithServer())")
	}
	if len(cfg.Audiences) == 0 && !cfg.SkipAudience {
		cfg.Audiences = []string{e.Audience()}
	}
	if cfg.Clock == nil {
		cfg.Clock = e.clock.Now
	}
	v, err := tokens.NewRemoteVerifier(tokens.RemoteConfig{BaseURL: e.base, VerifierConfig: cfg})
	if err != nil {
		e.t.Fatalf("identitytest: remote verifier: %v", err)
	}
	return v
}
