package admin

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/identity"
)

//go:embed templates/*.html
var templateFS embed.FS

// ConsoleAppName is the name of the application the console registers in
// the account's organization to sign its users in.
const ConsoleAppName = "Gatehouse admin console"

// consoleAppMarker marks the console's application in its Metadata.
const consoleAppMarker = "gatehouse_admin_console"

// Options configure a Console.
type Options struct {
	// Identity is the unscoped, production-bound service (the one
	// identity.NewService returns). The console derives from it, for each
	// request, a Service scoped to the signed-in member's role and
	// organizations, in the environment the member has chosen.
	Identity *identity.Service
	// BaseURL is the console's public URL, path included
	// ("https://id.example.com/admin"). Every link, form action, redirect
	// and cookie path the console emits derives from it; the host mounts
	// Handler at its path with http.StripPrefix.
	BaseURL string
	// ProviderURL is the public base URL of Gatehouse's OIDC provider
	// (package tokens/provider): the console signs its users in through
	// the issuer {ProviderURL}/t/{account domain}.
	ProviderURL string
	// HTTPClient reaches the provider (discovery, JWKS, token endpoint);
	// default: a client with a 10-second timeout.
	HTTPClient *http.Client
	// IdleTimeout and AbsoluteTimeout bound console sessions (defaults
	// identity.DefaultConsoleIdle and DefaultConsoleAbsolute).
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
	// Logger receives operational logs (default slog.Default()).
	Logger *slog.Logger
	// PasswordResets, when set, lets the console mail a user a password
	// reset link (the OIDC provider, *provider.Provider, implements it);
	// without it the user page offers no reset.
	PasswordResets PasswordResets
	// SSO, when set, adds each organization's SSO connections section
	// (/orgs/{domain}/sso): list, create, the administrator's onboarding
	// and its setup link. *sso.Service (package sso) implements it;
	// without it the section is absent.
	SSO SSOConnections
	// JWTSamples, when set, adds the JWT sample to each application's
	// page: the decoded claims of an access token and an ID token of the
	// application, for a user chosen by email or none. *tokens.Service
	// (package tokens) implements it; without it the page shows the
	// MetaKeys only.
	JWTSamples JWTSamples
	// Crafter, when set, adds each organization's Crafter tenant section
	// (/orgs/{domain}/tenant: roles, attribute definitions with their
	// permissions, verify_new_profiles) and Crafter access tokens to the
	// API keys section, through the Crafter face's own rules.
	// *profile.Service (package profile) implements it; without it both
	// are absent.
	Crafter CrafterProfile
	// Invitations, when set, lets the console mail a user an invitation:
	// a single-use link that signs the user in at the organization (the
	// OIDC provider, *provider.Provider, implements it); without it the
	// user pages offer no invitation.
	Invitations Invitations
}

// Invitations mails a user an administrator's invitation.
// *provider.Provider (package tokens/provider) implements it: svc is the
// console member's scoped service in the chosen environment, on which
// the identity core applies its rule (identity.Service.InviteUser:
// update:users, enabled users only, the address's send budget, the
// USER_INVITED audit event naming the actor of ctx).
type Invitations interface {
	InviteUser(ctx context.Context, svc *identity.Service, in identity.InvitationRequest, locale string) (*identity.Invitation, error)
}

// PasswordResets sends a user the link of the hosted page that sets a new
// password. *provider.Provider (package tokens/provider) implements it
// with the identity core's reset rule (identity.Service.RequestPasswordReset).
type PasswordResets interface {
	SendPasswordReset(ctx context.Context, env identity.Environment, orgDomain, email, locale, clientAddr string) error
}

// Console is the admin console: an http.Handler serving the pages under
// Options.BaseURL's path once that prefix is stripped.
type Console struct {
	svc      *identity.Service
	base     *url.URL
	basePath string // "" or "/admin"
	issuer   string
	secure   bool
	client   *http.Client
	policy   identity.ConsoleSessionPolicy
	log      *slog.Logger
	tmpl     map[string]*template.Template
	mux      *http.ServeMux
	patterns []string
	resets   PasswordResets
	sso      SSOConnections
	samples  JWTSamples
	crafter  CrafterProfile
	invites  Invitations
	clientID string

	mu   sync.Mutex
	oidc *discovered
}

type discovered struct {
	verifier *oidc.IDTokenVerifier
	oauth    oauth2.Config
}

// New makes a console. It makes sure the account's organization
// (Options.Identity's AccountDomain) exists and holds the console's
// application (a public client, PKCE S256, whose redirect URI is
// {BaseURL}/callback), creating or completing them as needed.
func New(ctx context.Context, opts Options) (*Console, error) {
	if opts.Identity == nil {
		return nil, errors.New("admin: Options.Identity is required")
	}
	if _, scoped := opts.Identity.Scope(); scoped || opts.Identity.Environment() != identity.Production {
		return nil, errors.New("admin: Options.Identity must be the unscoped production service")
	}
	if opts.Identity.AccountDomain() == "" {
		return nil, errors.New("admin: the identity service has no AccountDomain")
	}
	base, err := parseBase(opts.BaseURL, "BaseURL")
	if err != nil {
		return nil, err
	}
	prov, err := parseBase(opts.ProviderURL, "ProviderURL")
	if err != nil {
		return nil, err
	}
	c := &Console{svc: opts.Identity, base: base, basePath: strings.TrimSuffix(base.Path, "/"),
		issuer: strings.TrimSuffix(prov.String(), "/") + "/t/" + opts.Identity.AccountDomain(),
		secure: base.Scheme == "https", client: opts.HTTPClient, log: opts.Logger, resets: opts.PasswordResets, sso: opts.SSO,
		crafter: opts.Crafter, invites: opts.Invitations,
		policy: identity.ConsoleSessionPolicy{Idle: opts.IdleTimeout, Absolute: opts.AbsoluteTimeout}}
	c.samples = opts.JWTSamples
	if c.client == nil {
		c.client = &http.Client{Timeout: 10 * time.Second}
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.tmpl, err = parseTemplates(); err != nil {
		return nil, err
	}
	if c.clientID, err = c.ensureApplication(ctx); err != nil {
		return nil, err
	}
	c.routes()
	return c, nil
}

func parseBase(s, name string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSuffix(s, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("admin: Options.%s %q must be an absolute http(s) URL without query", name, s)
	}
	return u, nil
}

// CallbackURL is the console's OIDC redirect URI.
func (c *Console) CallbackURL() string { return c.abs("/callback") }

// Issuer is the OIDC issuer the console signs its users in with.
func (c *Console) Issuer() string { return c.issuer }

// abs returns the absolute URL of a console path ("/orgs").
func (c *Console) abs(p string) string {
	return c.base.Scheme + "://" + c.base.Host + c.basePath + p
}

// path returns the host-relative URL of a console path.
func (c *Console) path(p string) string { return c.basePath + p }

// cookiePath is the path of the console's cookies.
func (c *Console) cookiePath() string {
	if c.basePath == "" {
		return "/"
	}
	return c.basePath + "/"
}

// ensureApplication makes sure the account's organization exists and
// holds the console's application with the callback URL, and returns the
// application's client id.
func (c *Console) ensureApplication(ctx context.Context) (string, error) {
	acct := c.svc.AccountDomain()
	org, err := c.svc.GetOrganization(ctx, acct)
	if errors.Is(err, identity.ErrNotFound) {
		if identity.Slug(acct) != acct {
			return "", fmt.Errorf("admin: the account domain %q is not an organization domain", acct)
		}
		org, err = c.svc.CreateOrganization(ctx, identity.OrganizationInput{Name: &acct})
	}
	if err != nil {
		return "", fmt.Errorf("admin: account organization: %w", err)
	}
	cb := c.CallbackURL()
	for page := 1; ; page++ {
		apps, err := c.svc.ListApplications(ctx, org.Domain, identity.PageRequest{Page: page, PerPage: identity.MaxPerPage})
		if err != nil {
			return "", fmt.Errorf("admin: console application: %w", err)
		}
		for _, a := range apps.Items {
			if a.Metadata[consoleAppMarker] != "true" {
				continue
			}
			if !slices.Contains(a.AllowedRedirectURLs, cb) {
				if _, err := c.svc.UpdateApplication(ctx, org.Domain, a.ClientID, func(a *identity.Application) error {
					a.AllowedRedirectURLs = append(a.AllowedRedirectURLs, cb)
					return nil
				}); err != nil {
					return "", fmt.Errorf("admin: console application: %w", err)
				}
			}
			return a.ClientID, nil
		}
		if len(apps.Items) == 0 || page >= apps.TotalPages() {
			break
		}
	}
	// A public client: the console keeps no secret across restarts or
	// instances; PKCE (S256), the exact redirect URI and the nonce bind
	// each code to the browser that asked for it.
	a, _, err := c.svc.CreateApplication(ctx, org.Domain, identity.Application{Name: ConsoleAppName,
		ApplicationType: identity.AppNative, OrganizationScope: org.Domain, AllowedRedirectURLs: []string{cb},
		Metadata: map[string]string{consoleAppMarker: "true"}})
	if err != nil {
		return "", fmt.Errorf("admin: console application: %w", err)
	}
	return a.ClientID, nil
}

// SetupURL returns the one-time link that creates the console's first
// owner while none exists (identity.Service.ConsoleSetup), or "" once an
// owner exists. A host calls it on start and prints it: each call issues
// a new link and voids the previous one.
func (c *Console) SetupURL(ctx context.Context) (string, error) {
	tok, _, err := c.svc.ConsoleSetup(ctx)
	if err != nil || tok == "" {
		return "", err
	}
	return c.abs("/setup?token=" + url.QueryEscape(tok)), nil
}

// PrintSetup writes the setup link to out when no owner exists yet, with
// a line saying what it is; it writes nothing once an owner exists.
func (c *Console) PrintSetup(ctx context.Context, out io.Writer) error {
	link, err := c.SetupURL(ctx)
	if err != nil || link == "" {
		return err
	}
	_, err = fmt.Fprintf(out, "Admin console: create its first owner with this one-time link (valid %s):\n  %s\n",
		identity.ConsoleSetupTTL, link)
	return err
}

// discover reads the provider's configuration once.
func (c *Console) discover(ctx context.Context) (*discovered, error) {
	c.mu.Lock()
	d := c.oidc
	c.mu.Unlock()
	if d != nil {
		return d, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, c.client), c.issuer)
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", c.issuer, err)
	}
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInParams
	d = &discovered{verifier: p.Verifier(&oidc.Config{ClientID: c.clientID}),
		oauth: oauth2.Config{ClientID: c.clientID, Endpoint: ep, RedirectURL: c.CallbackURL(),
			Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}}
	c.mu.Lock()
	c.oidc = d
	c.mu.Unlock()
	return d, nil
}
