// Package rp is the relying party of examples/client: a small web app that
// signs a user in through an OpenID Connect provider (a running Gatehouse)
// with the authorization code flow, PKCE (S256), state and nonce, shows the
// ID token's claims, and signs out through the provider's end-session
// endpoint with id_token_hint and a registered post_logout_redirect_uri.
//
// It is built on golang.org/x/oauth2 and github.com/coreos/go-oidc/v3 only.
// Sessions live in memory behind an opaque, HttpOnly, SameSite=Lax cookie
// (Secure when the redirect URL is https); tokens are never logged.
//
// Routes: GET / (claims, or a sign-in link), GET /login (starts a sign-in),
// GET /callback (the redirect URL), POST /logout (signs out; SameSite=Lax
// keeps a cross-site form from carrying the session cookie), GET /signed-out
// (the post-logout landing page).
package rp

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Config configures the relying party.
type Config struct {
	// Issuer is the provider's issuer URL, e.g. http://127.0.0.1:8080/t/acme.
	Issuer string
	// ClientID is the application's client_id.
	ClientID string
	// ClientSecret is the application's secret; empty for a public client
	// (PKCE alone, client_id sent in the token request's body).
	ClientSecret string
	// RedirectURL is the callback, e.g. http://127.0.0.1:8081/callback; the
	// app's other pages live beside it (same scheme, host and path prefix).
	RedirectURL string
	// Logger receives errors (never tokens); nil discards them.
	Logger *slog.Logger
	// HTTPClient talks to the provider; nil is http.DefaultClient.
	HTTPClient *http.Client
}

// sessionTTL bounds how long a pending sign-in or a signed-in session lives.
const sessionTTL = time.Hour

// cookieName is the session cookie.
const cookieName = "rp_session"

// session is one browser's state: the pending sign-in, then the result.
type session struct {
	created  time.Time
	state    string
	nonce    string
	verifier string
	idToken  string
	claims   map[string]any
}

// App is the relying party's http.Handler.
type App struct {
	cfg       Config
	log       *slog.Logger
	base      string // scheme://host/prefix of the app, without trailing slash
	prefix    string // the path prefix of the app's pages ("" at the root)
	secure    bool
	mux       *http.ServeMux
	mu        sync.Mutex
	sessions  map[string]*session
	discovery *discovered
}

// discovered is the provider's metadata, fetched on first use.
type discovered struct {
	provider   *oidc.Provider
	verifier   *oidc.IDTokenVerifier
	oauth      oauth2.Config
	endSession string
}

// New checks cfg and returns the app. The provider is discovered on the
// first sign-in, so the app may start before the provider answers.
func New(cfg Config) (*App, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.RedirectURL == "" {
		return nil, errors.New("rp: issuer, client id and redirect URL are required")
	}
	base, prefix, u, err := pagesOf(cfg.RedirectURL)
	if err != nil {
		return nil, err
	}
	if iu, err := url.Parse(cfg.Issuer); err != nil || (iu.Scheme != "http" && iu.Scheme != "https") || iu.Host == "" {
		return nil, fmt.Errorf("rp: issuer %q must be an absolute http(s) URL", cfg.Issuer)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &App{cfg: cfg, log: log, base: base, prefix: prefix, secure: u.Scheme == "https", mux: http.NewServeMux(),
		sessions: map[string]*session{}}
	a.mux.HandleFunc("GET "+prefix+"/{$}", a.home)
	a.mux.HandleFunc("GET "+prefix+"/login", a.login)
	a.mux.HandleFunc("GET "+u.Path, a.callback)
	a.mux.HandleFunc("POST "+prefix+"/logout", a.logout)
	a.mux.HandleFunc("GET "+prefix+"/signed-out", a.signedOut)
	return a, nil
}

// pagesOf returns the app's base URL (the redirect URL's directory, without
// a trailing slash), its path prefix and the parsed redirect URL.
func pagesOf(redirectURL string) (base, prefix string, u *url.URL, err error) {
	u, err = url.Parse(redirectURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" ||
		u.Path == "" || u.Path == "/" || strings.HasSuffix(u.Path, "/") {
		return "", "", nil, fmt.Errorf("rp: redirect URL %q must be an absolute http(s) URL with a path (e.g. /callback) and no query", redirectURL)
	}
	prefix = strings.TrimSuffix(u.JoinPath("..").Path, "/")
	switch strings.TrimPrefix(u.Path, prefix) {
	case "/login", "/logout", "/signed-out":
		return "", "", nil, fmt.Errorf("rp: redirect URL %q takes the path of one of the app's pages", redirectURL)
	}
	return u.Scheme + "://" + u.Host + prefix, prefix, u, nil
}

// PostLogoutURLFor is the post_logout_redirect_uri of an app whose redirect
// URL is redirectURL (its /signed-out page); register it in the
// application's allowed logout URLs. It is "" for an invalid redirect URL.
func PostLogoutURLFor(redirectURL string) string {
	base, _, _, err := pagesOf(redirectURL)
	if err != nil {
		return ""
	}
	return base + "/signed-out"
}

// HomeURL is the app's home page (the claims once signed in).
func (a *App) HomeURL() string { return a.base + "/" }

// StartURL is the URL that starts a sign-in.
func (a *App) StartURL() string { return a.base + "/login" }

// PostLogoutURL is the post_logout_redirect_uri the app sends; register it
// in the application's allowed logout URLs.
func (a *App) PostLogoutURL() string { return a.base + "/signed-out" }

// ServeHTTP serves the app's pages.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' "+originOf(a.cfg.Issuer))
	a.mux.ServeHTTP(w, r)
}

func originOf(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// discover fetches the provider's metadata once (retrying after a failure).
func (a *App) discover(ctx context.Context) (*discovered, error) {
	a.mu.Lock()
	d := a.discovery
	a.mu.Unlock()
	if d != nil {
		return d, nil
	}
	if a.cfg.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, a.cfg.HTTPClient)
	}
	p, err := oidc.NewProvider(ctx, a.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", a.cfg.Issuer, err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&meta); err != nil {
		return nil, fmt.Errorf("provider metadata: %w", err)
	}
	ep := p.Endpoint()
	if a.cfg.ClientSecret == "" {
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	d = &discovered{provider: p, endSession: meta.EndSession,
		verifier: p.Verifier(&oidc.Config{ClientID: a.cfg.ClientID}),
		oauth: oauth2.Config{ClientID: a.cfg.ClientID, ClientSecret: a.cfg.ClientSecret, Endpoint: ep,
			RedirectURL: a.cfg.RedirectURL, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}}
	a.mu.Lock()
	a.discovery = d
	a.mu.Unlock()
	return d, nil
}

// random returns 32 random bytes, base64url-encoded.
func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// current returns the browser's session, or nil.
func (a *App) current(r *http.Request) (string, *session) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return "", nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.sessions[c.Value]
	if s == nil || time.Since(s.created) > sessionTTL {
		delete(a.sessions, c.Value)
		return "", nil
	}
	return c.Value, s
}

// setCookie sets (value != "") or clears the session cookie.
func (a *App) setCookie(w http.ResponseWriter, value string) {
	c := &http.Cookie{Name: cookieName, Value: value, Path: a.prefix + "/", HttpOnly: true, Secure: a.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(sessionTTL / time.Second)}
	if value == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// put stores s under a new id and drops expired sessions.
func (a *App) put(s *session) string {
	id := random()
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, v := range a.sessions {
		if time.Since(v.created) > sessionTTL {
			delete(a.sessions, k)
		}
	}
	a.sessions[id] = s
	return id
}

func (a *App) drop(id string) {
	a.mu.Lock()
	delete(a.sessions, id)
	a.mu.Unlock()
}

func (a *App) login(w http.ResponseWriter, r *http.Request) {
	d, err := a.discover(r.Context())
	if err != nil {
		a.fail(w, http.StatusBadGateway, "The identity provider is not reachable.", err)
		return
	}
	if id, _ := a.current(r); id != "" {
		a.drop(id)
	}
	s := &session{created: time.Now(), state: random(), nonce: random(), verifier: oauth2.GenerateVerifier()}
	a.setCookie(w, a.put(s))
	http.Redirect(w, r, d.oauth.AuthCodeURL(s.state, oidc.Nonce(s.nonce), oauth2.S256ChallengeOption(s.verifier)), http.StatusFound)
}

func (a *App) callback(w http.ResponseWriter, r *http.Request) {
	id, s := a.current(r)
	if s == nil || s.state == "" {
		a.fail(w, http.StatusBadRequest, "No sign-in is in progress in this browser. Start again.", nil)
		return
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(s.state)) != 1 {
		a.fail(w, http.StatusBadRequest, "The sign-in answer does not match this browser's request. Start again.", nil)
		return
	}
	// One use: a replayed callback finds no pending sign-in.
	a.drop(id)
	if e := q.Get("error"); e != "" {
		a.fail(w, http.StatusUnauthorized, "The sign-in was refused ("+e+").", nil)
		return
	}
	d, err := a.discover(r.Context())
	if err != nil {
		a.fail(w, http.StatusBadGateway, "The identity provider is not reachable.", err)
		return
	}
	ctx := r.Context()
	if a.cfg.HTTPClient != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, a.cfg.HTTPClient)
	}
	tok, err := d.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(s.verifier))
	if err != nil {
		a.fail(w, http.StatusBadGateway, "The code could not be exchanged for tokens.", err)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := d.verifier.Verify(ctx, raw)
	if err != nil {
		a.fail(w, http.StatusBadGateway, "The ID token is not valid.", err)
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(s.nonce)) != 1 {
		a.fail(w, http.StatusBadGateway, "The ID token does not answer this sign-in (nonce).", nil)
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		a.fail(w, http.StatusBadGateway, "The ID token's claims cannot be read.", err)
		return
	}
	a.setCookie(w, a.put(&session{created: time.Now(), idToken: raw, claims: claims}))
	http.Redirect(w, r, a.base+"/", http.StatusSeeOther)
}

func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	id, s := a.current(r)
	a.setCookie(w, "")
	if s == nil || s.idToken == "" {
		http.Redirect(w, r, a.base+"/", http.StatusSeeOther)
		return
	}
	a.drop(id)
	d, err := a.discover(r.Context())
	if err != nil || d.endSession == "" {
		a.fail(w, http.StatusBadGateway, "Signed out here; the identity provider's session could not be ended.", err)
		return
	}
	u, err := url.Parse(d.endSession)
	if err != nil {
		a.fail(w, http.StatusBadGateway, "The provider's end-session endpoint is not a URL.", err)
		return
	}
	q := u.Query()
	q.Set("id_token_hint", s.idToken)
	q.Set("post_logout_redirect_uri", a.PostLogoutURL())
	q.Set("client_id", a.cfg.ClientID)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	_, s := a.current(r)
	data := map[string]any{"Login": a.base + "/login", "Logout": a.base + "/logout", "Issuer": a.cfg.Issuer}
	if s != nil && s.claims != nil {
		b, _ := json.MarshalIndent(s.claims, "", "  ")
		data["Claims"] = string(b)
		data["Subject"] = s.claims["sub"]
		data["Email"] = s.claims["email"]
	}
	a.render(w, http.StatusOK, data)
}

func (a *App) signedOut(w http.ResponseWriter, r *http.Request) {
	a.render(w, http.StatusOK, map[string]any{"Login": a.base + "/login", "Issuer": a.cfg.Issuer, "SignedOut": true})
}

// fail shows a generic page; the detail (never a token) goes to the log.
func (a *App) fail(w http.ResponseWriter, status int, msg string, err error) {
	if err != nil {
		a.log.Warn("sign-in step failed", "status", status, "err", err)
	}
	a.render(w, status, map[string]any{"Login": a.base + "/login", "Issuer": a.cfg.Issuer, "Error": msg})
}

func (a *App) render(w http.ResponseWriter, status int, data map[string]any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := page.Execute(w, data); err != nil {
		a.log.Warn("render page", "err", err)
	}
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Gatehouse example client</title>
<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem}pre{background:#f4f4f4;padding:1rem;overflow:auto}button,a.button{font-size:1rem;padding:.5rem 1rem}</style>
</head><body>
<h1>Gatehouse example client</h1>
<p>Identity provider: <code>{{.Issuer}}</code></p>
{{if .Error}}<p id="error" role="alert">{{.Error}}</p>{{end}}
{{if .Claims}}
<p id="signed-in">Signed in as <strong>{{if .Email}}{{.Email}}{{else}}{{.Subject}}{{end}}</strong>.</p>
<h2>ID token claims</h2>
<pre id="claims">{{.Claims}}</pre>
<form method="post" action="{{.Logout}}"><button type="submit" id="sign-out">Sign out</button></form>
{{else}}
{{if .SignedOut}}<p id="signed-out">You are signed out.</p>{{end}}
<p><a class="button" id="sign-in" href="{{.Login}}">Sign in</a></p>
{{end}}
</body></html>
`))
