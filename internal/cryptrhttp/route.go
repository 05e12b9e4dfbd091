package cryptrhttp

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
)

// Resources named in permissions ("action:resource"). Actions are read,
// read_many, create, update and delete.
const (
	ResourceOrganizations = identity.ResourceOrganizations
	ResourceUsers         = identity.ResourceUsers
	ResourceApplications  = identity.ResourceApplications
	ResourceUserMetaKeys  = identity.ResourceUserMetaKeys
	ResourceLogEvents     = "log_events"
	ResourceJWTSamples    = "jwt_samples"
)

// Actions named in permissions.
const (
	ActionRead     = "read"
	ActionReadMany = "read_many"
	ActionCreate   = "create"
	ActionUpdate   = "update"
	ActionDelete   = "delete"
)

// HandlerFunc is an endpoint that returns an error instead of writing it:
// a non-nil error is written with WriteError (if nothing was written yet).
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// ServeHTTP calls f and writes its error.
func (f HandlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := f(w, r); err != nil {
		WriteError(w, r, err)
	}
}

// RouteGroup adds endpoints to the management API through a Mux, as the
// SSO connections endpoints (package sso/ssoapi) and the provider's
// headless endpoints do.
type RouteGroup interface {
	Routes(m *Mux) error
}

// RouteGroupFunc adapts a function to RouteGroup.
type RouteGroupFunc func(m *Mux) error

// Routes calls f.
func (f RouteGroupFunc) Routes(m *Mux) error { return f(m) }

// Authenticator checks the management token of a request and returns its
// caller; a refusal is an error that WriteError renders (401 *Error).
type Authenticator func(r *http.Request) (*Principal, error)

// Mux registers endpoints of the management API. Patterns are
// http.ServeMux patterns with a method ("GET /api/v2/sso-connections/{idp_id}").
// It is not safe for concurrent registration; serving through the
// underlying http.ServeMux is.
type Mux struct {
	mux      *http.ServeMux
	patterns []string
	account  string
	auth     Authenticator
	grants   map[string]GrantFunc
}

// GrantFunc serves one grant_type of POST /api/v2/oauth/token for a caller
// authenticated by its management token (p): ps are the request's decoded
// parameters. It writes the answer, or returns an error that the token
// endpoint renders in the OAuth error format.
type GrantFunc func(w http.ResponseWriter, r *http.Request, p *Principal, ps Params) error

// HandleGrant adds a grant_type to POST /api/v2/oauth/token, served for a
// Bearer management token (the API key's own client_credentials grant
// stays with the token endpoint). Registering a grant twice is an error.
func (m *Mux) HandleGrant(grantType string, f GrantFunc) {
	if m.grants == nil {
		m.grants = map[string]GrantFunc{}
	}
	if _, dup := m.grants[grantType]; dup || grantType == "" || f == nil {
		panic("cryptrhttp: grant " + grantType + " registered twice or empty")
	}
	m.grants[grantType] = f
}

// Grant returns the GrantFunc registered for grantType.
func (m *Mux) Grant(grantType string) (GrantFunc, bool) {
	f, ok := m.grants[grantType]
	return f, ok
}

// Authenticate checks the management token of r (the Mux's
// Authenticator), for endpoints that authenticate only some requests.
func (m *Mux) Authenticate(r *http.Request) (*Principal, error) { return m.auth(r) }

// NewMux returns a Mux that registers on mux, authenticates with auth,
// and tells route groups the account domain that manages the
// organizations.
func NewMux(mux *http.ServeMux, account string, auth Authenticator) *Mux {
	return &Mux{mux: mux, account: account, auth: auth}
}

// Register adds the endpoints of g. A conflicting pattern is an error
// (http.ServeMux panics on one).
func (m *Mux) Register(g RouteGroup) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("api: registering routes: %v", v)
		}
	}()
	return g.Routes(m)
}

// Patterns returns the patterns registered so far, in order.
func (m *Mux) Patterns() []string { return append([]string(nil), m.patterns...) }

// AccountDomain returns the domain of the account that manages the
// organizations (the __managed_by__ of records).
func (m *Mux) AccountDomain() string { return m.account }

// HandlePublic registers an endpoint that needs no management token.
func (m *Mux) HandlePublic(pattern string, h http.Handler) {
	m.mux.Handle(pattern, h)
	m.patterns = append(m.patterns, pattern)
}

// Handle registers an endpoint behind the management authentication.
// The request needs a valid Bearer management token (else 401) whose
// credential grants action on resource (else 403). When the pattern has a
// {domain} wildcard, the credential must also manage that organization:
// else the answer is 404, as for an organization that does not exist
// (tenant isolation). The parameters are then decoded (DecodeParams): a
// body that cannot be parsed is refused with 400 before the handler runs,
// whether or not the handler reads parameters. The handler finds the
// caller with PrincipalFrom and the parameters with DecodeParams; the body
// stays readable for an endpoint that reads it itself.
func (m *Mux) Handle(pattern, action, resource string, h http.Handler) {
	checkDomain := strings.Contains(pattern, "{domain}")
	m.patterns = append(m.patterns, pattern)
	m.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := m.auth(r)
		if err != nil {
			WriteError(w, r, err)
			return
		}
		if checkDomain && !p.Manages(r.PathValue("domain")) {
			WriteError(w, r, NotFound())
			return
		}
		if !p.Allows(action, resource) {
			WriteError(w, r, Forbidden("the API key lacks the permission "+action+":"+resource))
			return
		}
		// The parameters are read here, so that no endpoint answers
		// having ignored a body it cannot parse.
		ps, err := decodeKeepingBody(r)
		if err != nil {
			WriteError(w, r, err)
			return
		}
		ctx := withParams(context.WithValue(r.Context(), principalKey{}, p), ps)
		h.ServeHTTP(w, r.WithContext(ctx))
	}))
}

// TokenClaims are what a verified management token says.
type TokenClaims struct {
	// CredentialID is the API key (its client_id; the token's sub and cid).
	CredentialID string
	// AccountDomain is the account the token was issued by (tnt).
	AccountDomain string
	// Environment is the credential's environment (dbs).
	Environment identity.Environment
	// Permissions are the token's "action:resource" permissions (scp).
	Permissions []string
	// ExpiresAt is the token's expiry (exp).
	ExpiresAt time.Time
}

// Principal is the authenticated caller of a management request.
type Principal struct {
	// Credential is the API key as currently stored: a deleted key stops
	// working at once, and narrowing its permissions or organizations
	// takes effect on tokens already issued. It is shared with a cache:
	// treat it as read-only.
	Credential *identity.Credential
	// Claims are the verified token's claims.
	Claims TokenClaims
	// Service is the identity service scoped to the credential
	// (identity.Service.Scoped): bound to its environment, it answers
	// ErrNotFound for organizations the key does not manage and enforces
	// the core's rules on what the key may change. Handlers call it and
	// never re-check the scope.
	Service *identity.Service
}

type principalKey struct{}

// PrincipalFrom returns the caller of an authenticated request (set by
// the routes registered with Mux.Handle).
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

// Environment is the environment the caller reads and writes.
func (p *Principal) Environment() identity.Environment { return p.Credential.Environment }

// Manages reports whether the caller may act on the organization (the
// scope of its Service).
func (p *Principal) Manages(domain string) bool { return p.Service.Manages(domain) }

// ManagesAll reports whether the caller manages every organization of the
// account (and so may create organizations).
func (p *Principal) ManagesAll() bool { return p.Service.ManagesAll() }

// Allows reports whether both the token and the stored credential grant
// action on resource ("read:users"; wildcards as identity.Credential.Allows).
func (p *Principal) Allows(action, resource string) bool {
	tok := identity.Credential{Permissions: p.Claims.Permissions}
	return tok.Allows(action, resource) && p.Credential.Allows(action, resource)
}

// Authorize checks that the caller manages the organization (else a 404
// *Error, tenant isolation) and holds the permission (else a 403).
func (p *Principal) Authorize(domain, action, resource string) error {
	if !p.Manages(domain) {
		return NotFound()
	}
	if !p.Allows(action, resource) {
		return Forbidden("the API key lacks the permission " + action + ":" + resource)
	}
	return nil
}

type loggerKey struct{}

// WithLogger returns ctx carrying log, the logger WriteError and the
// endpoints use for the request (see Logger).
func WithLogger(ctx context.Context, log *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, log)
}

// Logger returns the logger of ctx (WithLogger), else slog.Default().
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && l != nil {
		return l
	}
	return slog.Default()
}

// WriteInternalError writes the 500 answer of a request whose handler
// panicked: {"error":"internal_error","error_description":"the request failed"}.
func WriteInternalError(w http.ResponseWriter, _ *http.Request) {
	WriteJSON(w, http.StatusInternalServerError, errorBody{Error: "internal_error",
		Description: "the request failed"})
}
