package sso

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/mail"
	"github.com/gatehouse-id/gatehouse/pages"
	"github.com/gatehouse-id/gatehouse/sso/saml"
	"github.com/gatehouse-id/gatehouse/sso/templates"
)

// Defaults of Options.
const (
	DefaultSetupLinkTTL     = 24 * time.Hour
	DefaultPortalSessionTTL = 2 * time.Hour
	DefaultAuthnRequestTTL  = 10 * time.Minute
)

// Options configure a Service.
type Options struct {
	// Identity is the identity core (any environment: the service serves
	// each connection from its own environment). Required.
	Identity *identity.Service
	// BaseURL is the public base URL ("https://auth.example.com"); SAML
	// URLs, setup links and the SP entity ids are built from it. Required.
	BaseURL string
	// Authorizations continues the OIDC code flow after a sign-in (the
	// tokens provider). Without it a successful sign-in ends on a plain
	// "signed in" page.
	Authorizations Authorizations
	// Mailer sends onboarding invitations (optional: without it invitations
	// fail with ErrNoMailer). MailFrom is their sender.
	Mailer   mail.Mailer
	MailFrom string
	// LogSetupLinks also writes each invitation's setup link to the log
	// (info, "sso: onboarding setup link"). For development only: a setup
	// link is a secret that opens the connection's configuration, so a
	// deployment never sets it.
	LogSetupLinks bool
	// ReplayCache records consumed assertion ids; default a store-backed
	// cache shared by every instance using the same store.
	ReplayCache saml.ReplayCache
	// SetupLinkTTL, PortalSessionTTL and AuthnRequestTTL bound the life of
	// setup links, portal sessions and AuthnRequests.
	SetupLinkTTL     time.Duration
	PortalSessionTTL time.Duration
	AuthnRequestTTL  time.Duration
	// AuthnRequestLimit bounds the AuthnRequests stored (each a record
	// kept AuthnRequestTTL) per client address within AuthnRequestTTL
	// (default DefaultAuthnRequestLimit); beyond it /enterprise/{idp_id}/login
	// answers 429 with an error page. The client address is the
	// connection's peer (RemoteAddr): proxy headers are not trusted.
	AuthnRequestLimit int
	// Logger receives operational logs (default: the identity service's).
	Logger *slog.Logger
	// KeyEncryptionKey, when set, must be 32 bytes: the private key of
	// each connection's service provider is sealed with AES-256-GCM under
	// it (internal/seal, the format of the tokens package's signing keys;
	// give both the same key). Keys stored before it was set stay
	// readable; a sealed key cannot be used without it.
	KeyEncryptionKey []byte
	// Branding is the look of the end-user SSO pages and of the
	// onboarding portal (package sso/portal), shared with the hosted
	// login pages: product name (default "Gatehouse"), logo, colours and
	// page overrides (see package pages). New refuses an invalid one with
	// a *pages.BrandingError.
	Branding pages.Branding
}

// ErrNoMailer is returned when an invitation is sent without a Mailer.
var ErrNoMailer = errors.New("sso: no mailer configured")

// Service manages SSO connections and runs SAML sign-ins. It serves every
// environment; management methods act on the environment of the identity
// service they are given through In. It is safe for concurrent use.
type Service struct {
	opts Options
	base *url.URL
	envs map[identity.Environment]*identity.Service
	log  *slog.Logger
	sps  spCache
	// look is the validated Options.Branding; pages its end-user pages.
	look  *pages.Look
	pages *pages.Set
	// spKeys caches the parsed SP key pair of each connection.
	spKeys spKeyCache
	// conns saves decoding connection records (which carry the IdP's
	// metadata) on the sign-in paths: each read still fetches the record,
	// and only identical bytes reuse the decoded value.
	conns *kv.DecodeCache[Connection]
	// replayInTx is the default replay cache, claimed in the ACS's
	// provisioning transaction; nil when Options.ReplayCache is set.
	replayInTx *StoreReplayCache

	placeholderOnce sync.Once
	placeholder     *saml.IdPMetadata
	placeholderErr  error
}

// New returns a Service.
func New(opts Options) (*Service, error) {
	if opts.Identity == nil {
		return nil, errors.New("sso: Options.Identity is required")
	}
	u, err := url.Parse(strings.TrimRight(opts.BaseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sso: Options.BaseURL %q must be an absolute http(s) URL", opts.BaseURL)
	}
	if opts.KeyEncryptionKey != nil {
		if len(opts.KeyEncryptionKey) != 32 {
			return nil, errors.New("sso: Options.KeyEncryptionKey must be 32 bytes (AES-256)")
		}
		opts.KeyEncryptionKey = append([]byte(nil), opts.KeyEncryptionKey...)
	}
	if opts.SetupLinkTTL <= 0 {
		opts.SetupLinkTTL = DefaultSetupLinkTTL
	}
	if opts.PortalSessionTTL <= 0 {
		opts.PortalSessionTTL = DefaultPortalSessionTTL
	}
	if opts.AuthnRequestTTL <= 0 {
		opts.AuthnRequestTTL = DefaultAuthnRequestTTL
	}
	if opts.AuthnRequestLimit <= 0 {
		opts.AuthnRequestLimit = DefaultAuthnRequestLimit
	}
	s := &Service{opts: opts, base: u, envs: map[identity.Environment]*identity.Service{},
		conns: kv.NewDecodeCache[Connection](identity.DefaultRecordCacheSize)}
	if s.look, err = pages.New(opts.Branding); err != nil {
		return nil, fmt.Errorf("sso: %w", err)
	}
	if s.pages, err = s.look.Parse(templates.FS, nil, "", nil, pages.PageSSOMessage); err != nil {
		return nil, fmt.Errorf("sso: %w", err)
	}
	for _, env := range []identity.Environment{identity.Production, identity.Sandbox} {
		e, err := opts.Identity.ForEnvironment(env)
		if err != nil {
			return nil, fmt.Errorf("sso: %w", err)
		}
		s.envs[env] = e
	}
	s.log = opts.Logger
	if s.log == nil {
		s.log = opts.Identity.Logger()
	}
	if s.opts.ReplayCache == nil {
		// The default cache lives in the identity store that every
		// environment's service shares: the ACS claims in the
		// transaction that provisions the user.
		s.replayInTx = NewStoreReplayCache(opts.Identity.Backend(kv.Inside()), opts.Identity.Now)
		s.opts.ReplayCache = s.replayInTx
	}
	return s, nil
}

// Look returns the validated Options.Branding: the look the onboarding
// portal uses unless given its own.
func (s *Service) Look() *pages.Look { return s.look }

// BaseURL returns the public base URL, without a trailing slash.
func (s *Service) BaseURL() string { return s.base.String() }

// BasePath returns the path of the base URL without a trailing slash: ""
// when Gatehouse is served at the root, "/auth" for
// https://app.example/auth. Paths the SSO pages emit (cookie paths, the
// portal's links and form actions) start with it.
func (s *Service) BasePath() string { return strings.TrimRight(s.base.EscapedPath(), "/") }

// Identity returns the identity service of env.
func (s *Service) Identity(env identity.Environment) (*identity.Service, error) {
	id, ok := s.envs[env]
	if !ok {
		return nil, fmt.Errorf("environment %q: %w", env, identity.ErrInvalid)
	}
	return id, nil
}

func (s *Service) now() time.Time { return s.opts.Identity.Now() }

// Now returns the current time of the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// URLs of a connection's service provider.

// MetadataURL is the SP metadata URL, also our SAML entity id.
func (s *Service) MetadataURL(idpID string) string {
	return s.BaseURL() + "/enterprise/" + idpID + "/metadata"
}

// EntityID is the SP entity id of a connection (its metadata URL).
func (s *Service) EntityID(idpID string) string { return s.MetadataURL(idpID) }

// ACSURL is the assertion consumer service URL (HTTP-POST).
func (s *Service) ACSURL(idpID string) string { return s.BaseURL() + "/enterprise/" + idpID + "/acs" }

// LoginURL starts an SP-initiated sign-in.
func (s *Service) LoginURL(idpID string) string {
	return s.BaseURL() + "/enterprise/" + idpID + "/login"
}

// SLOURL is the single logout URL.
func (s *Service) SLOURL(idpID string) string { return s.BaseURL() + "/enterprise/" + idpID + "/slo" }

// ConnectionEnvironment returns the environment that holds idpID.
func (s *Service) ConnectionEnvironment(ctx context.Context, idpID string) (identity.Environment, error) {
	if !ValidConnectionID(idpID) {
		return "", notFound("sso connection")
	}
	var env string
	err := s.opts.Identity.Backend(kv.Inside()).View(ctx, func(tx identity.ReadTx) (err error) {
		env, err = idpEnvironments.Lookup(tx, "", idpID)
		return err
	})
	if err != nil {
		if isNotFound(err) {
			return "", notFound("sso connection")
		}
		return "", err
	}
	return identity.Environment(env), nil
}

// Resource is the permission resource of SSO connections
// ("action:sso_connections"). A scoped identity.Service (an API key's, a
// console member's) must allow "create" to create a connection and
// "update" for every other change; reads need only the connection's
// organization in scope. The onboarding portal and sign-ins act through
// the unscoped service.
const Resource = "sso_connections"

// mayChange is ErrForbidden unless id's scope grants action on SSO
// connections. The answer does not depend on the connection named, so it
// tells nothing about ids out of scope.
func mayChange(id *identity.Service, action string) error {
	if !id.Allows(action, Resource) {
		return fmt.Errorf("the credential lacks the permission %s:%s: %w", action, Resource, identity.ErrForbidden)
	}
	return nil
}

// Details is a connection with its onboarding and default redirection.
type Details struct {
	Connection  Connection
	Onboarding  *Onboarding
	Redirection *Redirection
}

// MetadataExpiry returns when the connection's uploaded IdP metadata
// stops being trustworthy: the earliest of its validUntil and of its
// signing certificates' NotAfter. It is zero when no metadata is uploaded,
// or when the metadata can no longer be parsed or names neither date.
// Consoles warn of it before sign-ins start failing.
func (c Connection) MetadataExpiry() time.Time {
	if c.Metadata == "" {
		return time.Time{}
	}
	md, err := saml.ParseIdPMetadata([]byte(c.Metadata), time.Time{})
	if err != nil {
		return time.Time{}
	}
	out := md.ValidUntil
	for _, cert := range md.SigningCerts {
		if out.IsZero() || cert.NotAfter.Before(out) {
			out = cert.NotAfter
		}
	}
	return out
}

func loadDetails(tx *identity.ReadTxn, c Connection) (*Details, error) {
	d := &Details{Connection: c}
	env := tx.Env()
	if c.OnboardingID != "" {
		o, err := onboardings(env).Get(tx.KV(kv.Inside()), c.OnboardingID)
		if err != nil && !isNotFound(err) {
			return nil, err
		}
		if err == nil {
			d.Onboarding = &o
		}
	}
	if c.DefaultRedirectionID != "" {
		r, err := redirections(env).Get(tx.KV(kv.Inside()), c.DefaultRedirectionID)
		if err != nil && !isNotFound(err) {
			return nil, err
		}
		if err == nil {
			d.Redirection = &r
		}
	}
	return d, nil
}

// CreateInput are the parameters of CreateConnection.
type CreateInput struct {
	// OrgDomain names the organization (or OrgID does).
	OrgDomain string
	OrgID     string
	// ApplicationID is the client_id of the application users go to after
	// a sign-in that did not start at an application. Required.
	ApplicationID string
	// RedirectURI is the default redirection's URI; default the
	// application's default_redirect_uri_after_login, else its first
	// allowed redirect URL.
	RedirectURI string
	// ProviderType presets the provider (default unset).
	ProviderType string
	// SSOAdminEmail creates the onboarding for this administrator.
	SSOAdminEmail string
	// SendEmail mails the setup link to SSOAdminEmail at once.
	SendEmail bool
}

// CreateConnection creates a connection for an organization with its
// default redirection and its onboarding, and sends the invitation when
// asked. The connection starts active, with the user policy none and no
// seats limit; it cannot sign anyone in before IdP metadata is uploaded.
func (s *Service) CreateConnection(ctx context.Context, id *identity.Service, in CreateInput) (*Details, error) {
	if err := mayChange(id, identity.ActionCreate); err != nil {
		return nil, err
	}
	var v identity.Validation
	if in.ApplicationID == "" {
		v.Add("application_id", "is required")
	}
	if in.OrgDomain == "" && in.OrgID == "" {
		v.Add("organization_id", "is required")
	}
	if in.ProviderType == "" {
		in.ProviderType = ProviderUnset
	} else if !validProviderType(in.ProviderType) {
		v.Add("provider_type", "must be one of "+strings.Join(ProviderTypes(), ", "))
	}
	if in.SSOAdminEmail != "" {
		if msg := identity.CheckEmail(in.SSOAdminEmail); msg != "" {
			v.Add("sso_admin_email", msg)
		}
	} else if in.SendEmail {
		v.Add("send_email", "requires sso_admin_email")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	idpSuffix, err := NewConnectionID(id.Rand(), "x")
	if err != nil {
		return nil, err
	}
	spID, err := NewConnectionID(id.Rand(), id.AccountDomain())
	if err != nil {
		return nil, err
	}
	redirID, err := id.NewID()
	if err != nil {
		return nil, err
	}
	onbID, err := id.NewID()
	if err != nil {
		return nil, err
	}
	env := id.Environment()
	spKey, spCert, err := s.newSPKey()
	if err != nil {
		return nil, err
	}
	var out *Details
	err = id.Update(ctx, func(tx *identity.Txn) error {
		org, err := findOrg(&tx.ReadTxn, in.OrgDomain, in.OrgID)
		if err != nil {
			return err
		}
		app, err := orgApp(&tx.ReadTxn, org.ID, in.ApplicationID)
		if err != nil {
			return err
		}
		uri, err := redirectURIFor(app, in.RedirectURI)
		if err != nil {
			return err
		}
		c := Connection{
			ID: strings.ReplaceAll(org.Domain, "-", "_") + idpSuffix[1:], SPID: spID,
			OrgID: org.ID, OrgDomain: org.Domain, Active: true, ProviderType: in.ProviderType,
			UserSecurityType: UserSecurityNone, DefaultRedirectionID: redirID, OnboardingID: onbID,
			CreatedAt: now, UpdatedAt: now,
		}
		r := Redirection{ID: redirID, AppID: app.ClientID, ConnectionID: c.ID, SPID: spID, OrgID: org.ID,
			URI: uri, CreatedAt: now}
		o := Onboarding{ID: onbID, ConnectionID: c.ID, SSOAdminEmail: in.SSOAdminEmail,
			State: OnboardingNotInitialized, CreatedAt: now, UpdatedAt: now}
		if in.ProviderType != ProviderUnset {
			o.ProviderType = in.ProviderType
		}
		if err := idpEnvironments.Claim(tx.KVTx(kv.Inside()), "", c.ID, string(env)); err != nil {
			return err
		}
		if err := connections(env).Put(tx.KVTx(kv.Inside()), c.ID, c); err != nil {
			return err
		}
		keyRec, err := s.spKeyRecordFor(env, c.ID, spKey, spCert)
		if err != nil {
			return err
		}
		if err := spKeys(env).Put(tx.KVTx(kv.Inside()), c.ID, keyRec); err != nil {
			return err
		}
		if err := redirections(env).Put(tx.KVTx(kv.Inside()), r.ID, r); err != nil {
			return err
		}
		if err := onboardings(env).Put(tx.KVTx(kv.Inside()), o.ID, o); err != nil {
			return err
		}
		if err := allConnections(env).Add(tx.KVTx(kv.Inside()), c.CreatedAt.UTC().Format(time.RFC3339Nano)+"|"+c.ID, nil); err != nil {
			return err
		}
		if err := orgConnections(env, org.ID).Add(tx.KVTx(kv.Inside()), c.ID, nil); err != nil {
			return err
		}
		out = &Details{Connection: c, Onboarding: &o, Redirection: &r}
		return tx.Log(&identity.Event{Code: identity.EventSSOConnectionCreated, OrgID: org.ID, SAMLIdPID: c.ID,
			ClientID: app.ClientID})
	})
	if err != nil {
		return nil, err
	}
	if in.SendEmail {
		// Creating with send_email needs only the create permission.
		o, err := s.sendInvitation(ctx, id, out.Connection.ID)
		if err != nil {
			return out, fmt.Errorf("connection created, invitation not sent: %w", err)
		}
		out.Onboarding = o
	}
	return out, nil
}

// findOrg finds the organization by id (or domain given as id) or domain.
// Unknown organizations and those outside the scope of tx's service are
// alike ErrNotFound.
func findOrg(tx *identity.ReadTxn, domain, orgID string) (*identity.Organization, error) {
	if orgID != "" {
		o, err := tx.OrgByID(orgID)
		if err != nil {
			if isNotFound(err) {
				// Accept a domain given as organization_id.
				if o2, err2 := tx.Org(orgID); err2 == nil {
					o = o2
				} else {
					return nil, notFound("organization")
				}
			} else {
				return nil, err
			}
		}
		if domain != "" && o.Domain != domain {
			return nil, identity.Invalid("organization_id", "is not the organization of the path")
		}
		return o, nil
	}
	return tx.Org(domain)
}

// connectionInScope loads a connection; one of an organization outside
// the scope of tx's service, or whose organization is gone, is
// ErrNotFound, as an unknown one.
func connectionInScope(tx *identity.ReadTxn, idpID string) (Connection, error) {
	c, err := connections(tx.Env()).Get(tx.KV(kv.Inside()), idpID)
	if err != nil {
		return Connection{}, err
	}
	if !tx.Service().Manages(c.OrgDomain) || !connectionLive(tx, &c) {
		return Connection{}, notFound("sso connection")
	}
	return c, nil
}

// connectionLive reports whether the organization c was made for still
// exists under c's domain. A connection outlives a deleted organization
// (nothing deletes it with the organization's record), and its domain
// may name a new organization later: such a connection is dead. It
// signs nobody in and no list shows it, so the old customer's IdP never
// reaches the new customer's users, and the new customer never sees the
// old one's metadata.
func connectionLive(tx *identity.ReadTxn, c *Connection) bool {
	o, err := tx.OrgByID(c.OrgID)
	return err == nil && o.Domain == c.OrgDomain
}

// orgApp returns the application clientID of the organization orgID in
// tx's environment. A redirection goes only to an application of the
// connection's organization: an unknown application and another
// organization's answer alike (ErrNotFound), so the answer tells nothing
// about ids elsewhere.
func orgApp(tx *identity.ReadTxn, orgID, clientID string) (*identity.Application, error) {
	app, err := tx.App(clientID)
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	if err != nil || app.OrgID != orgID {
		return nil, notFound("application")
	}
	return app, nil
}

func redirectURIFor(app *identity.Application, uri string) (string, error) {
	if uri == "" {
		uri = app.DefaultRedirectURIAfterLogin
		if uri == "" && len(app.AllowedRedirectURLs) > 0 {
			uri = app.AllowedRedirectURLs[0]
		}
		if uri == "" {
			return "", identity.Invalid("uri", "is required: the application has no default redirect URI")
		}
		return uri, nil
	}
	if app.AllowsRedirect(uri) {
		return uri, nil
	}
	if uri == app.DefaultRedirectURIAfterLogin {
		return uri, nil
	}
	return "", identity.Invalid("uri", "is not one of the application's allowed redirect URLs")
}

// GetConnection returns a connection with its onboarding and default
// redirection.
func (s *Service) GetConnection(ctx context.Context, id *identity.Service, idpID string) (*Details, error) {
	var out *Details
	err := id.View(ctx, func(tx *identity.ReadTxn) error {
		c, err := connectionInScope(tx, idpID)
		if err != nil {
			return err
		}
		out, err = loadDetails(tx, c)
		return err
	})
	return out, err
}

// ListConnections lists connections, newest first: those of orgDomain, or
// every connection when orgDomain is empty. keep, when not nil, filters
// them (the organizations a caller manages) before paging.
func (s *Service) ListConnections(ctx context.Context, id *identity.Service, orgDomain string, keep func(orgDomain string) bool, req identity.PageRequest) (identity.Page[Details], error) {
	req = req.Normalize()
	var all []Details
	err := id.View(ctx, func(tx *identity.ReadTxn) error {
		env := tx.Env()
		var ids []string
		if orgDomain != "" {
			org, err := tx.Org(orgDomain)
			if err != nil {
				return err
			}
			if err := orgConnections(env, org.ID).Each(tx.KV(kv.Inside()), false, func(m string, _ []byte) error {
				ids = append(ids, m)
				return nil
			}); err != nil {
				return err
			}
		} else {
			if err := allConnections(env).Each(tx.KV(kv.Inside()), false, func(m string, _ []byte) error {
				if i := strings.LastIndexByte(m, '|'); i >= 0 {
					ids = append(ids, m[i+1:])
				}
				return nil
			}); err != nil {
				return err
			}
		}
		for _, cid := range ids {
			c, err := connections(env).Get(tx.KV(kv.Inside()), cid)
			if err != nil {
				return err
			}
			if !id.Manages(c.OrgDomain) || (keep != nil && !keep(c.OrgDomain)) || !connectionLive(tx, &c) {
				continue
			}
			d, err := loadDetails(tx, c)
			if err != nil {
				return err
			}
			all = append(all, *d)
		}
		return nil
	})
	if err != nil {
		return identity.Page[Details]{}, err
	}
	// Newest first.
	for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
		all[i], all[j] = all[j], all[i]
	}
	if orgDomain != "" {
		sortNewestFirst(all)
	}
	p := identity.Page[Details]{Total: len(all), Page: req.Page, PerPage: req.PerPage}
	start := req.Offset()
	if start < len(all) {
		end := min(start+req.PerPage, len(all))
		p.Items = all[start:end]
	}
	return p, nil
}

func sortNewestFirst(ds []Details) {
	// Connection ids are random; order by creation time (insertion sort:
	// an organization has a handful of connections).
	for i := 1; i < len(ds); i++ {
		for j := i; j > 0 && ds[j].Connection.CreatedAt.After(ds[j-1].Connection.CreatedAt); j-- {
			ds[j], ds[j-1] = ds[j-1], ds[j]
		}
	}
}

// Update lists the changes UpdateConnection makes; nil fields are kept.
type Update struct {
	Active               *bool
	DefaultRedirectionID *string
	// Metadata is the IdP metadata XML; it is validated. An empty string
	// removes it.
	Metadata          *string
	ProviderType      *string
	SeatsLimit        *int
	UserSecurityType  *string
	AllowIdPInitiated *bool
	// AllowSHA1Signatures accepts SHA-1 signatures from the IdP (see
	// Connection.AllowSHA1Signatures).
	AllowSHA1Signatures *bool
}

// UpdateConnection applies u to a connection.
func (s *Service) UpdateConnection(ctx context.Context, id *identity.Service, idpID string, u Update) (*Details, error) {
	if err := mayChange(id, identity.ActionUpdate); err != nil {
		return nil, err
	}
	var v identity.Validation
	if u.ProviderType != nil && !validProviderType(*u.ProviderType) {
		v.Add("provider_type", "must be one of "+strings.Join(ProviderTypes(), ", "))
	}
	if u.UserSecurityType != nil && !validUserSecurityType(*u.UserSecurityType) {
		v.Add("user_security_type", "must be one of "+strings.Join(UserSecurityTypes(), ", "))
	}
	if u.SeatsLimit != nil && *u.SeatsLimit < 0 {
		v.Add("seats_limit", "must be 0 (no limit) or more")
	}
	if u.Metadata != nil && *u.Metadata != "" {
		if _, err := saml.ParseIdPMetadata([]byte(*u.Metadata), s.now()); err != nil {
			v.Add("metadata", err.Error())
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s.mutate(ctx, id, idpID, func(tx *identity.Txn, c *Connection) (string, map[string]any, error) {
		changed := map[string]any{}
		code := identity.EventSSOConnectionUpdated
		if u.Active != nil && *u.Active != c.Active {
			c.Active = *u.Active
			changed["active"] = c.Active
			if c.Active {
				code = identity.EventSSOConnectionActive
			} else {
				code = identity.EventSSOConnectionDisabled
			}
		}
		if u.DefaultRedirectionID != nil && *u.DefaultRedirectionID != c.DefaultRedirectionID {
			r, err := redirections(tx.Env()).Get(tx.KV(kv.Inside()), *u.DefaultRedirectionID)
			if err != nil || r.ConnectionID != c.ID {
				return "", nil, identity.Invalid("default_redirection_id", "is not a redirection of this connection")
			}
			c.DefaultRedirectionID = r.ID
			changed["default_redirection_id"] = r.ID
		}
		if u.Metadata != nil {
			c.Metadata = *u.Metadata
			changed["metadata"] = "replaced"
			if c.Metadata != "" {
				code = identity.EventSSOMetadataUploaded
			}
		}
		if u.ProviderType != nil {
			c.ProviderType = *u.ProviderType
			changed["provider_type"] = c.ProviderType
		}
		if u.SeatsLimit != nil {
			c.SeatsLimit = *u.SeatsLimit
			changed["seats_limit"] = c.SeatsLimit
		}
		if u.UserSecurityType != nil {
			c.UserSecurityType = *u.UserSecurityType
			changed["user_security_type"] = c.UserSecurityType
		}
		if u.AllowIdPInitiated != nil {
			c.AllowIdPInitiated = *u.AllowIdPInitiated
			changed["allow_idp_initiated"] = c.AllowIdPInitiated
		}
		if u.AllowSHA1Signatures != nil {
			c.AllowSHA1Signatures = *u.AllowSHA1Signatures
			changed["allow_sha1_signatures"] = c.AllowSHA1Signatures
		}
		return code, changed, nil
	})
}

// mutate loads a connection, lets fn change it, and writes it back with an
// audit event.
func (s *Service) mutate(ctx context.Context, id *identity.Service, idpID string, fn func(tx *identity.Txn, c *Connection) (string, map[string]any, error)) (*Details, error) {
	var out *Details
	err := id.Update(ctx, func(tx *identity.Txn) error {
		env := tx.Env()
		c, err := connectionInScope(&tx.ReadTxn, idpID)
		if err != nil {
			return err
		}
		code, data, err := fn(tx, &c)
		if err != nil {
			return err
		}
		c.UpdatedAt = s.now()
		if err := connections(env).Put(tx.KVTx(kv.Inside()), c.ID, c); err != nil {
			return err
		}
		if code != "" {
			if err := tx.Log(&identity.Event{Code: code, OrgID: c.OrgID, SAMLIdPID: c.ID, Data: data}); err != nil {
				return err
			}
		}
		out, err = loadDetails(&tx.ReadTxn, c)
		return err
	})
	return out, err
}

// SetActive activates or disables a connection. A disabled connection
// refuses every sign-in.
func (s *Service) SetActive(ctx context.Context, id *identity.Service, idpID string, active bool) (*Details, error) {
	return s.UpdateConnection(ctx, id, idpID, Update{Active: &active})
}

// SetUserPolicy sets the connection's user_security_type.
func (s *Service) SetUserPolicy(ctx context.Context, id *identity.Service, idpID, userSecurityType string) (*Details, error) {
	if err := mayChange(id, identity.ActionUpdate); err != nil {
		return nil, err
	}
	if !validUserSecurityType(userSecurityType) {
		return nil, identity.Invalid("user_security_type", "must be one of "+strings.Join(UserSecurityTypes(), ", "))
	}
	return s.UpdateConnection(ctx, id, idpID, Update{UserSecurityType: &userSecurityType})
}

// DefaultRedirection returns the connection's default redirection.
func (s *Service) DefaultRedirection(ctx context.Context, id *identity.Service, idpID string) (*Redirection, error) {
	d, err := s.GetConnection(ctx, id, idpID)
	if err != nil {
		return nil, err
	}
	if d.Redirection == nil {
		return nil, notFound("default redirection")
	}
	return d.Redirection, nil
}

// SetDefaultRedirection creates a redirection to application clientID
// (at uri, or the application's default) and makes it the default.
// orgID, when given, must be the connection's organization.
func (s *Service) SetDefaultRedirection(ctx context.Context, id *identity.Service, idpID, clientID, orgID, uri string) (*Redirection, error) {
	if err := mayChange(id, identity.ActionUpdate); err != nil {
		return nil, err
	}
	rid, err := id.NewID()
	if err != nil {
		return nil, err
	}
	var out *Redirection
	_, err = s.mutate(ctx, id, idpID, func(tx *identity.Txn, c *Connection) (string, map[string]any, error) {
		if orgID != "" && orgID != c.OrgID && orgID != c.OrgDomain {
			return "", nil, identity.Invalid("organization_id", "is not the connection's organization")
		}
		if clientID == "" {
			if cur, err := redirections(tx.Env()).Get(tx.KV(kv.Inside()), c.DefaultRedirectionID); err == nil {
				clientID = cur.AppID
			} else {
				return "", nil, identity.Invalid("application_id", "is required")
			}
		}
		app, err := orgApp(&tx.ReadTxn, c.OrgID, clientID)
		if err != nil {
			return "", nil, err
		}
		u, err := redirectURIFor(app, uri)
		if err != nil {
			return "", nil, err
		}
		r := Redirection{ID: rid, AppID: app.ClientID, ConnectionID: c.ID, SPID: c.SPID, OrgID: c.OrgID,
			URI: u, CreatedAt: s.now()}
		if err := redirections(tx.Env()).Put(tx.KVTx(kv.Inside()), r.ID, r); err != nil {
			return "", nil, err
		}
		c.DefaultRedirectionID = r.ID
		out = &r
		return identity.EventSSOConnectionUpdated, map[string]any{"default_redirection_id": r.ID}, nil
	})
	return out, err
}
