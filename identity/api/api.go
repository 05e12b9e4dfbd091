package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"runtime/debug"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
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
	patterns []string
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
	m := &Mux{h: h}
	h.mux.HandleFunc("/", h.notFound)
	m.HandlePublic("POST /api/v2/oauth/token", HandlerFunc(h.token))
	h.routes(m)
	if opts.TokenService != nil {
		m.Handle("GET /api/v2/org/{domain}/token-customization/sample", ActionRead, ResourceJWTSamples,
			HandlerFunc(sampleHandler(h, opts.TokenService)))
	}
	for _, g := range opts.Routes {
		if g == nil {
			continue
		}
		if err := m.register(g); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// ServeHTTP serves one request. A panic is recovered, logged and answered
// with a JSON 500; unknown paths get a JSON 404 and wrong methods a JSON
// 405.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rw := &trackingWriter{ResponseWriter: w, log: h.log}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.LogAttrs(r.Context(), slog.LevelError, "management API handler panicked",
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
			if !rw.wrote {
				WriteJSON(rw, http.StatusInternalServerError, errorBody{Error: "internal_error",
					Description: "the request failed"})
			}
		}
	}()
	if p := r.URL.Path; p == "" || p[0] != '/' || path.Clean(p) != p {
		// http.ServeMux would redirect to the cleaned path in HTML.
		h.notFound(rw, r)
		return
	}
	h.mux.ServeHTTP(rw, r)
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
	WriteError(w, r, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such endpoint"})
}

// Patterns returns the patterns of every endpoint, in registration order
// ("GET /api/v2/org/{domain}/users", ...).
func (h *Handler) Patterns() []string { return append([]string(nil), h.patterns...) }

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

// logger returns the Handler's logger when w is (or wraps) the writer the
// Handler passed on, else slog.Default().
func logger(w http.ResponseWriter) *slog.Logger {
	for w != nil {
		if t, ok := w.(*trackingWriter); ok {
			return t.log
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			break
		}
		w = u.Unwrap()
	}
	return slog.Default()
}

// trackingWriter records whether the answer has started, so a recovered
// panic does not write a second header.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
	log   *slog.Logger
}

func (t *trackingWriter) WriteHeader(code int) { t.wrote = true; t.ResponseWriter.WriteHeader(code) }
func (t *trackingWriter) Write(b []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(b)
}
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// HandlerFunc is an endpoint that returns an error instead of writing it:
// a non-nil error is written with WriteError (if nothing was written yet).
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// ServeHTTP calls f and writes its error.
func (f HandlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := f(w, r); err != nil {
		WriteError(w, r, err)
	}
}

// RouteGroup adds endpoints to a Handler through a Mux, as the SSO
// connections endpoints (package sso) do.
type RouteGroup interface {
	Routes(m *Mux) error
}

// RouteGroupFunc adapts a function to RouteGroup.
type RouteGroupFunc func(m *Mux) error

// Routes calls f.
func (f RouteGroupFunc) Routes(m *Mux) error { return f(m) }

// Mux registers endpoints of a Handler. Patterns are http.ServeMux
// patterns with a method ("GET /api/v2/sso-connections/{idp_id}").
type Mux struct {
	h *Handler
}

func (m *Mux) register(g RouteGroup) (err error) {
	defer func() {
		// http.ServeMux panics on conflicting patterns.
		if v := recover(); v != nil {
			err = fmt.Errorf("api: registering routes: %v", v)
		}
	}()
	return g.Routes(m)
}

// Handler returns the Handler the routes are added to.
func (m *Mux) Handler() *Handler { return m.h }

// HandlePublic registers an endpoint that needs no management token.
func (m *Mux) HandlePublic(pattern string, h http.Handler) {
	m.h.mux.Handle(pattern, h)
	m.h.patterns = append(m.h.patterns, pattern)
}

// Handle registers an endpoint behind the management authentication.
// The request needs a valid Bearer management token (else 401) whose
// credential grants action on resource (else 403). When the pattern has a
// {domain} wildcard, the credential must also manage that organization:
// else the answer is 404, as for an organization that does not exist
// (tenant isolation). The handler finds the caller with PrincipalFrom.
func (m *Mux) Handle(pattern, action, resource string, h http.Handler) {
	checkDomain := strings.Contains(pattern, "{domain}")
	m.h.patterns = append(m.h.patterns, pattern)
	m.h.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := m.h.authenticate(r)
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
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	}))
}
