package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/cryptrhttp"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// Options configure a Handler.
type Options struct {
	// Service is the identity core. Any environment will do: the handler
	// serves each request from the environment of its credential
	// (Service.ForEnvironment). Required.
	Service *identity.Service
	// TokenService is the tokens package's service: it signs and verifies
	// management tokens (unless Tokens is set) and serves the JWT sample
	// endpoint (GET /api/v2/org/{domain}/token-customization/sample).
	TokenService *tokens.Service
	// Tokens issues and verifies management tokens; it defaults to
	// Tokens(TokenService). One of the two is required.
	Tokens ManagementTokens
	// Logger receives request failures and recovered panics (default: the
	// service's logger).
	Logger *slog.Logger
	// Routes are extra route groups served with the same authentication,
	// error format and helpers (the SSO connections endpoints of package
	// sso, for example).
	Routes []RouteGroup
}

// Handler is the Cryptr API 2.0 management face: an http.Handler that
// serves /api/v2 (see the package documentation for the endpoints).
// It is safe for concurrent use.
type Handler struct {
	mux      *http.ServeMux
	routes   *cryptrhttp.Mux
	serve    http.Handler
	services map[identity.Environment]*identity.Service
	tokens   ManagementTokens
	creds    credCache
	log      *slog.Logger
	account  string
}

// New returns a Handler for opts.
func New(opts Options) (*Handler, error) {
	if opts.Service == nil {
		return nil, errors.New("api: Options.Service is required")
	}
	if opts.Tokens == nil && opts.TokenService != nil {
		opts.Tokens = Tokens(opts.TokenService)
	}
	if opts.Tokens == nil {
		return nil, errors.New("api: Options.TokenService or Options.Tokens is required")
	}
	h := &Handler{mux: http.NewServeMux(), services: map[identity.Environment]*identity.Service{},
		tokens: opts.Tokens, log: opts.Logger, account: opts.Service.AccountDomain()}
	if h.log == nil {
		h.log = opts.Service.Logger()
	}
	for _, env := range []identity.Environment{identity.Sandbox, identity.Production} {
		s, err := opts.Service.ForEnvironment(env)
		if err != nil {
			return nil, err
		}
		h.services[env] = s
	}
	h.serve = httpx.Recover(h.log, "management API handler panicked", http.HandlerFunc(h.serveHTTP),
		cryptrhttp.WriteInternalError)
	m := cryptrhttp.NewMux(h.mux, h.account, h.authenticate)
	h.routes = m
	h.mux.HandleFunc("/", h.notFound)
	m.HandlePublic("POST /api/v2/oauth/token", HandlerFunc(h.token))
	h.register(m)
	if opts.TokenService != nil {
		m.Handle("GET /api/v2/org/{domain}/token-customization/sample", ActionRead, ResourceJWTSamples,
			HandlerFunc(sampleHandler(h, opts.TokenService)))
	}
	for _, g := range opts.Routes {
		if g == nil {
			continue
		}
		if err := m.Register(g); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// ServeHTTP serves one request. A panic is recovered, logged and answered
// with a JSON 500; unknown paths get a JSON 404 and wrong methods a JSON
// 405.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.serve.ServeHTTP(w, r.WithContext(cryptrhttp.WithLogger(r.Context(), h.log)))
}

func (h *Handler) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; p == "" || p[0] != '/' || path.Clean(p) != p {
		// http.ServeMux would redirect to the cleaned path in HTML; the
		// path is not served as the one it cleans to, under any method.
		WriteError(w, r, noSuchEndpoint())
		return
	}
	h.mux.ServeHTTP(w, r)
}

// notFound answers requests no pattern matches: a JSON 405 with an Allow
// header when the path exists for other methods, else a JSON 404.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := h.mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		WriteError(w, r, &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
			Message: "method " + r.Method + " is not allowed here",
			Header:  http.Header{"Allow": {strings.Join(allow, ", ")}}})
		return
	}
	WriteError(w, r, noSuchEndpoint())
}

// noSuchEndpoint is the answer for a path no endpoint serves.
func noSuchEndpoint() *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such endpoint"}
}

// Patterns returns the patterns of every endpoint, in registration order
// ("GET /api/v2/org/{domain}/users", ...).
func (h *Handler) Patterns() []string { return h.routes.Patterns() }

// Service returns the identity service of env.
func (h *Handler) Service(env identity.Environment) (*identity.Service, error) {
	s, ok := h.services[env]
	if !ok {
		return nil, fmt.Errorf("environment %q: %w", env, identity.ErrInvalid)
	}
	return s, nil
}

// AccountDomain returns the domain of the account that manages the
// organizations (the __managed_by__ of records).
func (h *Handler) AccountDomain() string { return h.account }
