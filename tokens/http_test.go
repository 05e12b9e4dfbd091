package tokens

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/identity"
)

// serve mounts the JWKS handler on Cryptr's two paths.
func serve(t *testing.T, svc *Service) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	h := svc.JWKSHandler(identity.Production, func(r *http.Request) string { return r.PathValue("domain") })
	mux.Handle("/t/{domain}/.well-known", h)
	mux.Handle("/t/{domain}/.well-known/jwks", h)
	sb := svc.JWKSHandler(identity.Sandbox, func(r *http.Request) string { return r.PathValue("domain") })
	mux.Handle("/sandbox/t/{domain}/.well-known", sb)
	mux.Handle("/sandbox/t/{domain}/.well-known/jwks", sb)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestJWKSHandler(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	srv := serve(t, f.svc)
	get := func(path string) (*http.Response, []byte) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf strings.Builder
		_, _ = io_copy(&buf, resp)
		return resp, []byte(buf.String())
	}
	resp, body := get("/t/no-such-org/.well-known")
	if resp.StatusCode != 200 || string(body) != `{"keys":[]}` || resp.Header.Get("Cache-Control") != "public, max-age=60" {
		t.Fatalf("empty set: %d %s %q", resp.StatusCode, body, resp.Header.Get("Cache-Control"))
	}
	for _, alg := range []string{RS256, ES256, EdDSA} {
		app := *f.app
		app.SigningAlg = alg
		req := f.req()
		req.App = &app
		req.Env = identity.Sandbox
		if _, err := f.svc.IssueAccessToken(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.IssueAccessToken(ctx, f.req()); err != nil {
		t.Fatal(err)
	}
	kids := map[string]string{}
	for _, path := range []string{"/t/" + f.org.Domain + "/.well-known", "/t/" + f.org.Domain + "/.well-known/jwks",
		"/sandbox/t/" + f.org.Domain + "/.well-known", "/sandbox/t/" + f.org.Domain + "/.well-known/jwks"} {
		sandbox := strings.HasPrefix(path, "/sandbox/")
		resp, body = get(path)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" ||
			resp.Header.Get("Cache-Control") != "public, max-age=3600" {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, resp.Header)
		}
		var doc struct {
			Keys []map[string]any `json:"keys"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		// Each environment's issuer publishes its own keys only:
		// production RS256 (active, next); sandbox RS256, ES256, EdDSA.
		want := 2
		if sandbox {
			want = 6
		}
		if len(doc.Keys) != want {
			t.Fatalf("%s: %d keys, want %d", path, len(doc.Keys), want)
		}
		for _, k := range doc.Keys {
			kid, _ := k["kid"].(string)
			if prev, ok := kids[kid]; ok && (prev == "sandbox") != sandbox {
				t.Fatalf("key %s published by both environments", kid)
			}
			kids[kid] = map[bool]string{true: "sandbox", false: "production"}[sandbox]
		}
		fields := map[string][]string{
			"RSA": {"alg", "e", "kid", "kty", "n", "use", "x5c"},
			"EC":  {"alg", "crv", "kid", "kty", "use", "x", "x5c", "y"},
			"OKP": {"alg", "crv", "kid", "kty", "use", "x", "x5c"},
		}
		for _, k := range doc.Keys {
			kty, _ := k["kty"].(string)
			if got := keysOf(k); !reflect.DeepEqual(got, fields[kty]) {
				t.Errorf("%s key fields %v, want %v", kty, got, fields[kty])
			}
			if k["use"] != "sig" {
				t.Errorf("use = %v", k["use"])
			}
			// x5c[0] is a certificate of the same public key.
			der, err := base64.StdEncoding.DecodeString(k["x5c"].([]any)[0].(string))
			if err != nil {
				t.Fatal(err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := json.Marshal(k)
			var jwk jose.JSONWebKey
			if err := jwk.UnmarshalJSON(raw); err != nil {
				t.Fatal(err)
			}
			if eq, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(jwk.Key) {
				t.Errorf("x5c certificate does not carry key %v", k["kid"])
			}
		}
		if doc.Keys[0]["kty"] != "RSA" {
			t.Error("the RS256 active key must come first")
		}
	}
	if resp, _ := get("/t/Not_A_Domain/.well-known"); resp.StatusCode != 404 {
		t.Errorf("invalid domain: %d", resp.StatusCode)
	}
	r, _ := http.Post(srv.URL+"/t/"+f.org.Domain+"/.well-known", "text/plain", nil)
	if r.StatusCode != 405 {
		t.Errorf("POST: %d", r.StatusCode)
	}
	r.Body.Close()
}

func io_copy(b *strings.Builder, resp *http.Response) (int64, error) {
	buf := make([]byte, 4096)
	var n int64
	for {
		m, err := resp.Body.Read(buf)
		b.Write(buf[:m])
		n += int64(m)
		if err != nil {
			return n, nil
		}
	}
}

// TestGoOIDCVerifiesIDTokens checks interoperability: coreos/go-oidc, fed
// with our JWKS over HTTP, accepts our ID tokens for each algorithm.
func TestGoOIDCVerifiesIDTokens(t *testing.T) {
	f := newFixture(t)
	srv := serve(t, f.svc)
	// The issuer's URL must be the test server's.
	svc, err := New(Options{Identity: f.id, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = func() http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/t/{domain}/.well-known", svc.JWKSHandler(identity.Production, func(r *http.Request) string { return r.PathValue("domain") }))
		return mux
	}()
	for _, alg := range []string{RS256, ES256, EdDSA} {
		t.Run(alg, func(t *testing.T) {
			app := *f.app
			app.SigningAlg = alg
			req := f.req()
			req.App = &app
			_, id, err := svc.IssueTokens(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			issuer := svc.Issuer(identity.Production, f.org.Domain)
			ctx := context.Background()
			keys := oidc.NewRemoteKeySet(ctx, issuer+"/.well-known")
			v := oidc.NewVerifier(issuer, keys, &oidc.Config{
				ClientID:             "http://localhost:4200", // Cryptr's aud is the app origin
				SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256, oidc.EdDSA},
				Now:                  f.clock.Now,
			})
			tok, err := v.Verify(ctx, id.Value)
			if err != nil {
				t.Fatalf("go-oidc: %v", err)
			}
			if tok.Subject != f.user.ID || tok.Nonce != req.Nonce {
				t.Errorf("subject %q nonce %q", tok.Subject, tok.Nonce)
			}
			if tok.AccessTokenHash == "" {
				t.Error("no at_hash")
			}
			// Tampering is caught by go-oidc too.
			parts := strings.Split(id.Value, ".")
			bad := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
			if _, err := v.Verify(ctx, bad); err == nil {
				t.Error("go-oidc accepted a bad signature")
			}
		})
	}
}

func TestRemoteVerifier(t *testing.T) {
	f := newFixture(t)
	var fetches atomic.Int32
	var svc *Service
	mux := http.NewServeMux()
	mux.Handle("/t/{domain}/.well-known", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		svc.JWKSHandler(identity.Production, func(r *http.Request) string { return r.PathValue("domain") }).ServeHTTP(w, r)
	}))
	mux.HandleFunc("/huge/t/{domain}/.well-known", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"keys":[` + strings.Repeat(" ", 2<<20) + `]}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	var err error
	if svc, err = New(Options{Identity: f.id, BaseURL: srv.URL, RotationPeriod: 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tok, err := svc.IssueAccessToken(ctx, f.req())
	if err != nil {
		t.Fatal(err)
	}
	rv, err := NewRemoteVerifier(RemoteConfig{BaseURL: srv.URL, VerifierConfig: VerifierConfig{
		Audiences: []string{"http://localhost:4200"}, Clock: f.clock.Now, CacheSize: -1}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := rv.Verify(ctx, tok.Value)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != f.user.ID {
		t.Errorf("sub = %s", c.Subject)
	}
	if _, err := rv.Verify(ctx, tok.Value); err != nil {
		t.Fatal(err)
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("fetches = %d, want 1 (JWKS cached)", n)
	}
	// An unknown kid triggers one refetch, then the cooldown applies.
	sk, _ := svc.activeSigner(ctx, identity.Production, f.org.Domain, RS256)
	m := validClaims(t, tok)
	unknown := forge(t, jose.RS256, sk.priv, "00000000-0000-4000-8000-000000000000", map[string]any{"iss": m["iss"]}, m)
	if _, err := rv.Verify(ctx, unknown); !errors.Is(err, ErrInvalidToken) || fetches.Load() != 1 {
		t.Fatalf("unknown kid right after a fetch must wait for the cooldown: %v, %d fetches", err, fetches.Load())
	}
	f.clock.Advance(DefaultJWKSCooldown)
	for i := 0; i < 3; i++ {
		if _, err := rv.Verify(ctx, unknown); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if n := fetches.Load(); n != 2 {
		t.Fatalf("fetches = %d, want 2 (one refetch within the cooldown)", n)
	}
	// After a rotation the new key is found once the cooldown has passed.
	f.clock.Advance(24 * time.Hour)
	rotated, err := svc.IssueAccessToken(ctx, f.req())
	if err != nil {
		t.Fatal(err)
	}
	if rotated.KeyID == tok.KeyID {
		t.Fatal("no rotation")
	}
	if _, err := rv.Verify(ctx, rotated.Value); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	// Bounded response size.
	huge, _ := NewRemoteVerifier(RemoteConfig{BaseURL: srv.URL, VerifierConfig: VerifierConfig{SkipAudience: true, Clock: f.clock.Now},
		JWKSURL: func(iss string) string { return strings.Replace(iss, srv.URL, srv.URL+"/huge", 1) + "/.well-known" }})
	if _, err := huge.Verify(ctx, rotated.Value); !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("huge JWKS: %v", err)
	}
	// Domain allow-list: no fetch for other issuers.
	before := fetches.Load()
	only, _ := NewRemoteVerifier(RemoteConfig{BaseURL: srv.URL, VerifierConfig: VerifierConfig{SkipAudience: true, Clock: f.clock.Now, Domains: []string{"elsewhere"}}})
	if _, err := only.Verify(ctx, rotated.Value); err == nil || fetches.Load() != before {
		t.Fatalf("domain allow-list: err=%v fetches %d->%d", err, before, fetches.Load())
	}
}

func TestRemoteMaxAge(t *testing.T) {
	rv, err := NewRemoteVerifier(RemoteConfig{BaseURL: "https://x.io", VerifierConfig: VerifierConfig{SkipAudience: true}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		cc   string
		want time.Duration
	}{
		{"", DefaultJWKSMaxAge},
		{"public, max-age=600", 10 * time.Minute},
		{"max-age=1", DefaultJWKSCooldown},
		{"max-age=99999999", MaxJWKSMaxAge},
		{"max-age=abc", DefaultJWKSMaxAge},
	}
	for _, tt := range tests {
		if got := rv.maxAge(tt.cc); got != tt.want {
			t.Errorf("%q: %v, want %v", tt.cc, got, tt.want)
		}
	}
}

func TestMiddleware(t *testing.T) {
	f := newFixture(t)
	tok, err := f.svc.IssueAccessToken(context.Background(), f.req())
	if err != nil {
		t.Fatal(err)
	}
	var got *Claims
	h := Middleware(f.verifier(t))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = ClaimsFrom(r.Context())
		w.WriteHeader(204)
	}))
	tests := []struct {
		name, auth, challenge string
		code                  int
	}{
		{"valid", "Bearer " + tok.Value, "", 204},
		{"lower-case scheme", "bearer " + tok.Value, "", 204},
		{"missing", "", "Bearer", 401},
		{"basic", "Basic dXNlcjpwYXNz", "Bearer", 401},
		{"invalid", "Bearer " + tok.Value + "x", `Bearer error="invalid_token", error_description="the access token is invalid"`, 401},
	}
	for _, tt := range tests {
		got = nil
		r := httptest.NewRequest("GET", "/", nil)
		if tt.auth != "" {
			r.Header.Set("Authorization", tt.auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.code || w.Header().Get("WWW-Authenticate") != tt.challenge {
			t.Errorf("%s: %d %q", tt.name, w.Code, w.Header().Get("WWW-Authenticate"))
		}
		if (got != nil) != (tt.code == 204) {
			t.Errorf("%s: claims in context = %v", tt.name, got)
		}
	}
	f.clock.Advance(2 * time.Hour)
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok.Value)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 401 || !strings.Contains(w.Header().Get("WWW-Authenticate"), "expired") {
		t.Errorf("expired: %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	if _, ok := ClaimsFrom(context.Background()); ok {
		t.Error("claims in an empty context")
	}
}
