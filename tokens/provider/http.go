package provider

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// maxBody bounds request bodies of the OAuth endpoints and forms.
const maxBody = 64 << 10

// OAuth error codes (RFC 6749 §4.1.2.1, §5.2; OIDC Core §3.1.2.6;
// RFC 7009 §2.2.1).
const (
	errInvalidRequest          = "invalid_request"
	errInvalidClient           = "invalid_client"
	errInvalidGrant            = "invalid_grant"
	errUnauthorizedClient      = "unauthorized_client"
	errUnsupportedGrantType    = "unsupported_grant_type"
	errUnsupportedResponseType = "unsupported_response_type"
	errInvalidScope            = "invalid_scope"
	errAccessDenied            = "access_denied"
	errServerError             = "server_error"
	errLoginRequired           = "login_required"
	errUnsupportedTokenType    = "unsupported_token_type"
	errInvalidToken            = "invalid_token"
	errTemporarilyUnavailable  = "temporarily_unavailable"
	errRequestNotSupported     = "request_not_supported"
	errRequestURINotSupported  = "request_uri_not_supported"
)

// oauthError is an RFC 6749 error answer.
type oauthError struct {
	Status int
	Code   string
	Desc   string
	// basic asks for a WWW-Authenticate: Basic challenge (RFC 6749 §5.2).
	basic bool
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Desc }

func oerr(status int, code, desc string) *oauthError {
	return &oauthError{Status: status, Code: code, Desc: desc}
}

func badRequest(desc string) *oauthError { return oerr(http.StatusBadRequest, errInvalidRequest, desc) }
func badGrant(desc string) *oauthError   { return oerr(http.StatusBadRequest, errInvalidGrant, desc) }

// writeOAuthError writes err as {"error", "error_description"}; errors that
// are not *oauthError are logged and answered 500 server_error (503 when
// the store is busy), with no detail.
func (p *Provider) writeOAuthError(w http.ResponseWriter, r *http.Request, err error) {
	var oe *oauthError
	if !errors.As(err, &oe) {
		if errors.Is(err, identity.ErrBusy) {
			oe = oerr(http.StatusServiceUnavailable, errTemporarilyUnavailable, "the service is busy, retry later")
		} else {
			p.log.Error("provider: request failed", "path", httpx.LoggedPath(r), "err", err)
			oe = oerr(http.StatusInternalServerError, errServerError, "internal error")
		}
	}
	if oe.Status == http.StatusUnauthorized {
		// RFC 6749 §5.2: a client that authenticated with the
		// Authorization header gets a challenge of its scheme, even
		// when the header could not be read.
		scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		switch {
		case oe.basic || strings.EqualFold(scheme, "Basic"):
			w.Header().Set("WWW-Authenticate", `Basic realm="gatehouse"`)
		case oe.Code == errInvalidToken:
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="invalid_token"`)
		case strings.EqualFold(scheme, "Bearer"):
			// A management token that does not authenticate the client:
			// the challenge, without an error code that would contradict
			// the body's invalid_client.
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
		}
	}
	writeJSON(w, oe.Status, map[string]string{"error": oe.Code, "error_description": oe.Desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// params are the parameters of a request: path values, then the body (JSON
// object or form), then the query string, first found wins.
type params struct {
	r    *http.Request
	body map[string]string
	// bodyOnly leaves the query string out of get: the token,
	// revocation and introspection endpoints take their parameters in
	// the body only (RFC 6749 §3.2, RFC 7009 §2.1, RFC 7662 §2.1), so that
	// a code or token never rides in a URL, where logs keep it.
	bodyOnly bool
	// raw is the body as read, for a request handed on (managementGrant).
	raw []byte
}

// readParams parses the body of r (JSON or form-encoded), at most maxBody.
func readParams(w http.ResponseWriter, r *http.Request) (*params, error) {
	p := &params{r: r, body: map[string]string{}}
	if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return p, nil
	}
	r.Body = httpx.LimitBody(w, r, maxBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, badRequest("request body too large or unreadable")
	}
	p.raw = data
	switch {
	case ct == "application/json" || (ct == "" && len(data) > 0 && data[0] == '{'):
		if len(strings.TrimSpace(string(data))) == 0 {
			return p, nil
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, badRequest("malformed JSON body")
		}
		for k, v := range m {
			switch x := v.(type) {
			case string:
				p.body[k] = x
			case float64, bool:
				p.body[k] = fmt.Sprint(x)
			}
		}
	default:
		vals, err := url.ParseQuery(string(data))
		if err != nil {
			return nil, badRequest("malformed form body")
		}
		for k, v := range vals {
			if len(v) > 1 {
				// RFC 6749 §3.1: parameters must not be repeated.
				return nil, badRequest("parameter " + k + " is repeated")
			}
			p.body[k] = v[0]
		}
	}
	return p, nil
}

// get returns the first value of name in the path, body or query (not
// the query when bodyOnly).
func (p *params) get(name string) string {
	if v := p.r.PathValue(name); v != "" {
		return v
	}
	if v, ok := p.body[name]; ok {
		return v
	}
	if p.bodyOnly {
		return ""
	}
	return p.r.URL.Query().Get(name)
}

// readBodyParams is readParams for an endpoint that takes its
// parameters in the body only (see params.bodyOnly).
func readBodyParams(w http.ResponseWriter, r *http.Request) (*params, error) {
	p, err := readParams(w, r)
	if err == nil {
		p.bodyOnly = true
	}
	return p, err
}

// clientCredentials returns the client id and secret the request presents
// (HTTP Basic, RFC 6749 §2.3.1, or client_secret_post), and whether Basic
// was used.
func clientCredentials(r *http.Request, ps *params) (id, secret string, basic bool, err error) {
	if u, s, ok := r.BasicAuth(); ok {
		id, err1 := url.QueryUnescape(u)
		sec, err2 := url.QueryUnescape(s)
		if err1 != nil || err2 != nil {
			return "", "", true, &oauthError{Status: http.StatusUnauthorized, Code: errInvalidClient,
				Desc: "malformed client credentials", basic: true}
		}
		if b := ps.get("client_id"); b != "" && b != id {
			return "", "", true, badRequest("client_id differs from the authenticated client")
		}
		if _, ok := ps.body["client_secret"]; ok {
			// RFC 6749 §2.3: one authentication method per request.
			return "", "", true, badRequest("use either HTTP Basic or client_secret, not both")
		}
		return id, sec, true, nil
	}
	return ps.get("client_id"), ps.body["client_secret"], false, nil
}

// authenticateClient finds the application the request is made for, in the
// environment of the request's path tree, and checks its credentials:
// confidential clients must present their secret, public clients must not
// present one. The answer is invalid_client (401) for an unknown client
// (an application of the other environment, or one that does not serve
// the organization the URL names, included) or bad credentials.
func (p *Provider) authenticateClient(r *http.Request, ps *params) (*identity.Application, identity.Environment, error) {
	id, secret, basic, err := clientCredentials(r, ps)
	if err != nil {
		return nil, "", err
	}
	fail := &oauthError{Status: http.StatusUnauthorized, Code: errInvalidClient, Desc: "client authentication failed", basic: basic}
	if id == "" {
		return nil, "", fail
	}
	env := envOf(r)
	if len(id) > 200 {
		return nil, "", fail
	}
	svc, err := p.envService(env)
	if err != nil {
		return nil, "", err
	}
	// The core's rule (identity.Service.AuthenticateClient): a client that
	// does not serve the organization the URL names is unknown;
	// confidential clients present their current secret, public ones
	// none. Cryptr's /oauth/token names no organization: the client is
	// then found by its id alone.
	app, err := svc.AuthenticateClient(r.Context(), id, secret, r.PathValue("domain"))
	if errors.Is(err, identity.ErrNotFound) || errors.Is(err, identity.ErrUnauthenticated) {
		return nil, "", fail
	}
	if err != nil {
		return nil, "", err
	}
	return app, env, nil
}

// cors wraps an endpoint that browsers call: the response allows the
// request's Origin when the application named by the request lists it in
// allowed_origins_cors.
func (p *Provider) cors(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" {
			w.Header().Add("Vary", "Origin")
			cw := &corsWriter{ResponseWriter: w, p: p, r: r, origin: origin}
			h(cw, r)
			return
		}
		h(w, r)
	}
}

// corsWriter decides the CORS headers once the handler knows the client:
// it reads the client from the request context set by setCORSApp.
type corsWriter struct {
	http.ResponseWriter
	p       *Provider
	r       *http.Request
	origin  string
	app     *identity.Application
	written bool
}

func (c *corsWriter) WriteHeader(status int) {
	if !c.written {
		c.written = true
		if c.app != nil && slices.Contains(c.app.AllowedOriginsCORS, c.origin) {
			c.Header().Set("Access-Control-Allow-Origin", c.origin)
		}
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *corsWriter) Write(b []byte) (int, error) {
	if !c.written {
		c.WriteHeader(http.StatusOK)
	}
	return c.ResponseWriter.Write(b)
}

// allowCORS records the application whose CORS list applies to the answer.
func allowCORS(w http.ResponseWriter, app *identity.Application) {
	if c, ok := w.(*corsWriter); ok && app != nil {
		c.app = app
	}
}

// preflight answers CORS preflights. When the path names the client, its
// allowed origins decide; otherwise the preflight is allowed and the actual
// answer carries Access-Control-Allow-Origin only for an allowed origin, so a
// foreign page cannot read it. No credentials (cookies) are ever allowed.
func (p *Provider) preflight(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	w.Header().Add("Vary", "Origin")
	if origin == "" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if id := r.PathValue("client_id"); id != "" {
		app, err := p.appFor(r.Context(), envOf(r), id, r.PathValue("domain"))
		if err != nil || !slices.Contains(app.AllowedOriginsCORS, origin) {
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	w.Header().Set("Access-Control-Allow-Origin", origin)
	w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}
