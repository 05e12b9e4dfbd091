package rp_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc/oidctest"

	"github.com/gatehouse-id/gatehouse/examples/client/rp"
)

// fakeProvider serves discovery and keys (oidctest) and a token endpoint
// that answers with an ID token whose claims the test chooses.
type fakeProvider struct {
	*httptest.Server
	key    *rsa.PrivateKey
	mu     sync.Mutex
	claims func(nonce string) map[string]any
	nonce  string     // of the last authorization request the test saw
	form   url.Values // of the last token request
	auth   string     // its Authorization header
}

func newFakeProvider(t *testing.T) *fakeProvider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	fp := &fakeProvider{key: key}
	disc := &oidctest.Server{PublicKeys: []oidctest.PublicKey{{PublicKey: key.Public(), KeyID: "k", Algorithm: "RS256"}}}
	mux := http.NewServeMux()
	mux.Handle("/", disc)
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		fp.mu.Lock()
		fp.form, fp.auth = r.PostForm, r.Header.Get("Authorization")
		c := fp.claims(fp.nonce)
		fp.mu.Unlock()
		b, _ := json.Marshal(c)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 60,
			"id_token": oidctest.SignIDToken(key, "k", "RS256", string(b))})
	})
	fp.Server = httptest.NewServer(mux)
	disc.SetIssuer(fp.URL)
	t.Cleanup(fp.Close)
	return fp
}

// browser keeps the app's cookies.
type browser struct {
	t       *testing.T
	app     http.Handler
	cookies map[string]*http.Cookie
}

func (b *browser) do(method, target string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for _, c := range b.cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	b.app.ServeHTTP(w, r)
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return w
}

// TestSignIn covers the callback's checks: a good answer signs in; a wrong
// state, a replayed or unsolicited callback, an ID token for another
// client, with another nonce or from another issuer, and a refused sign-in
// all leave the browser signed out.
func TestSignIn(t *testing.T) {
	fp := newFakeProvider(t)
	good := func(nonce string) map[string]any {
		return map[string]any{"iss": fp.URL, "aud": "client-1", "sub": "u1", "email": "ada@demo.test", "nonce": nonce,
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix()}
	}
	with := func(k string, v any) func(string) map[string]any {
		return func(n string) map[string]any { c := good(n); c[k] = v; return c }
	}
	for _, tc := range []struct {
		name     string
		claims   func(string) map[string]any
		callback func(state string) string // query of the callback
		want     int
	}{
		{"good", good, func(s string) string { return "code=c&state=" + s }, http.StatusSeeOther},
		{"wrong state", good, func(string) string { return "code=c&state=forged" }, http.StatusBadRequest},
		{"other client", with("aud", "client-2"), func(s string) string { return "code=c&state=" + s }, http.StatusBadGateway},
		{"other nonce", with("nonce", "replayed"), func(s string) string { return "code=c&state=" + s }, http.StatusBadGateway},
		{"other issuer", with("iss", "https://evil.test"), func(s string) string { return "code=c&state=" + s }, http.StatusBadGateway},
		{"expired", with("exp", time.Now().Add(-time.Hour).Unix()), func(s string) string { return "code=c&state=" + s }, http.StatusBadGateway},
		{"refused", good, func(s string) string { return "error=access_denied&state=" + s }, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app, err := rp.New(rp.Config{Issuer: fp.URL, ClientID: "client-1", RedirectURL: "http://rp.test/callback"})
			if err != nil {
				t.Fatal(err)
			}
			b := &browser{t: t, app: app, cookies: map[string]*http.Cookie{}}
			if w := b.do("GET", "http://rp.test/callback?code=c&state=x"); w.Code != http.StatusBadRequest {
				t.Errorf("unsolicited callback: %d", w.Code)
			}
			w := b.do("GET", "http://rp.test/login")
			loc, _ := url.Parse(w.Header().Get("Location"))
			q := loc.Query()
			if w.Code != http.StatusFound || q.Get("code_challenge_method") != "S256" || q.Get("state") == "" || q.Get("nonce") == "" ||
				q.Get("redirect_uri") != "http://rp.test/callback" {
				t.Fatalf("login: %d %s", w.Code, loc)
			}
			c := b.cookies["rp_session"]
			if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
				t.Fatalf("session cookie: %+v", c)
			}
			fp.mu.Lock()
			fp.claims, fp.nonce = tc.claims, q.Get("nonce")
			fp.mu.Unlock()
			cb := "http://rp.test/callback?" + tc.callback(q.Get("state"))
			if w := b.do("GET", cb); w.Code != tc.want {
				t.Fatalf("callback: %d, want %d: %s", w.Code, tc.want, w.Body)
			}
			home := b.do("GET", "http://rp.test/").Body.String()
			if signedIn := strings.Contains(home, `id="claims"`); signedIn != (tc.want == http.StatusSeeOther) {
				t.Fatalf("signed in: %v, want %v", signedIn, !signedIn)
			}
			if tc.want != http.StatusSeeOther {
				return
			}
			// A public client: PKCE verifier and client_id in the body, no secret.
			fp.mu.Lock()
			form, auth := fp.form, fp.auth
			fp.mu.Unlock()
			sum := sha256.Sum256([]byte(form.Get("code_verifier")))
			if base64.RawURLEncoding.EncodeToString(sum[:]) != q.Get("code_challenge") || form.Get("client_id") != "client-1" || auth != "" {
				t.Errorf("token request: %v (Authorization %q)", form, auth)
			}
			if w := b.do("GET", cb); w.Code != http.StatusBadRequest {
				t.Errorf("replayed callback: %d", w.Code)
			}
			if !strings.Contains(b.do("GET", "http://rp.test/").Body.String(), `id="claims"`) {
				t.Error("a replayed callback signed the browser out")
			}
		})
	}
}

// TestSignOut sends the browser to end-session with id_token_hint and the
// post-logout URL, and ends the local session first.
func TestSignOut(t *testing.T) {
	fp := newFakeProvider(t)
	fp.claims = func(n string) map[string]any {
		return map[string]any{"iss": fp.URL, "aud": "c", "sub": "u", "nonce": n, "exp": time.Now().Add(time.Minute).Unix()}
	}
	// oidctest's discovery has no end_session_endpoint: the app says it
	// could not end the provider's session, and is signed out locally.
	app, err := rp.New(rp.Config{Issuer: fp.URL, ClientID: "c", ClientSecret: "s", RedirectURL: "https://rp.test/app/callback"})
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, app: app, cookies: map[string]*http.Cookie{}}
	w := b.do("GET", "https://rp.test/app/login")
	if c := b.cookies["rp_session"]; c == nil || !c.Secure {
		t.Fatalf("https app: cookie not Secure: %+v", c)
	}
	loc, _ := url.Parse(w.Header().Get("Location"))
	fp.mu.Lock()
	fp.nonce = loc.Query().Get("nonce")
	fp.mu.Unlock()
	if w := b.do("GET", "https://rp.test/app/callback?code=c&state="+loc.Query().Get("state")); w.Code != http.StatusSeeOther ||
		w.Header().Get("Location") != "https://rp.test/app/" {
		t.Fatalf("callback: %d %s %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	if fp.auth == "" && fp.form.Get("client_secret") != "s" {
		t.Errorf("confidential client sent no secret")
	}
	if w := b.do("POST", "https://rp.test/app/logout"); w.Code != http.StatusBadGateway {
		t.Errorf("logout without end_session_endpoint: %d", w.Code)
	}
	if strings.Contains(b.do("GET", "https://rp.test/app/").Body.String(), `id="claims"`) {
		t.Error("still signed in after sign-out")
	}
	if got := rp.PostLogoutURLFor("https://rp.test/app/callback"); got != "https://rp.test/app/signed-out" {
		t.Errorf("PostLogoutURLFor: %s", got)
	}
}

// TestNew refuses configurations that cannot work.
func TestNew(t *testing.T) {
	for i, cfg := range []rp.Config{
		{ClientID: "c", RedirectURL: "http://rp.test/cb"},
		{Issuer: "http://idp.test", RedirectURL: "http://rp.test/cb"},
		{Issuer: "http://idp.test", ClientID: "c"},
		{Issuer: "idp.test", ClientID: "c", RedirectURL: "http://rp.test/cb"},
		{Issuer: "http://idp.test", ClientID: "c", RedirectURL: "/cb"},
		{Issuer: "http://idp.test", ClientID: "c", RedirectURL: "http://rp.test/"},
		{Issuer: "http://idp.test", ClientID: "c", RedirectURL: "http://rp.test/cb?x=1"},
		{Issuer: "http://idp.test", ClientID: "c", RedirectURL: "http://rp.test/login"},
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if _, err := rp.New(cfg); err == nil {
				t.Errorf("accepted %+v", cfg)
			}
		})
	}
}
