package provider

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// TestAuthorizeRequestLimit: stored authorization requests are limited per
// client address and rate window; beyond the limit the endpoint answers a
// 429 page with Retry-After, and the next window is open again. Requests
// that store nothing (errors, prompt=none) do not count.
func TestAuthorizeRequestLimit(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.AuthorizeRequestLimit = 3 })
	_, challenge := pkce("a")
	for i := 0; i < 5; i++ {
		// prompt=none without a session stores nothing.
		if r := e.get(e.newBrowser(), e.spaAuthorize(challenge, url.Values{"prompt": {"none"}})); r.status != http.StatusFound {
			t.Fatalf("prompt=none: %d", r.status)
		}
	}
	for i := 0; i < 3; i++ {
		if r := e.get(e.newBrowser(), e.spaAuthorize(challenge, nil)); r.status != http.StatusOK {
			t.Fatalf("request %d: %d %s", i+1, r.status, r.body)
		}
	}
	r := e.get(e.newBrowser(), e.spaAuthorize(challenge, nil))
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many sign-in requests") {
		t.Fatalf("over the limit: %d %s", r.status, r.body)
	}
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > int(DefaultRateWindow/time.Second)+1 {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	if n := countRecords(t, e, authRequests); n != 3 {
		t.Fatalf("%d stored requests, want 3", n)
	}
	e.clock.Advance(DefaultRateWindow)
	if r := e.get(e.newBrowser(), e.spaAuthorize(challenge, nil)); r.status != http.StatusOK {
		t.Fatalf("next window: %d", r.status)
	}
}

func countRecords[T any](t *testing.T, e *env, recs kv.Records[T]) int {
	t.Helper()
	n := 0
	err := e.ids.View(t.Context(), func(tx *identity.ReadTxn) error {
		return recs.Scan(tx.KV(kv.Inside()), func(string, T) error { n++; return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAuthorizeRequestLife: a stored request lives DefaultAuthRequestTTL
// (15 minutes: longer than a magic link, shorter than before).
func TestAuthorizeRequestLife(t *testing.T) {
	if DefaultAuthRequestTTL != 15*time.Minute || DefaultAuthRequestTTL < DefaultMagicLinkTTL {
		t.Fatalf("DefaultAuthRequestTTL %s", DefaultAuthRequestTTL)
	}
	e := newEnv(t)
	_, challenge := pkce("b")
	c := e.newBrowser()
	r := e.get(c, e.spaAuthorize(challenge, nil))
	_, _, reqID := form(t, r.body)
	got, err := e.prov.loadRequest(t.Context(), reqID)
	if err != nil || !got.ExpiresAt.Equal(e.clock.Now().Add(DefaultAuthRequestTTL)) {
		t.Fatalf("request %v, %v", got, err)
	}
	e.clock.Advance(DefaultAuthRequestTTL)
	if _, err := e.prov.loadRequest(t.Context(), reqID); err != errRequestGone {
		t.Fatalf("after %s: %v", DefaultAuthRequestTTL, err)
	}
}

// TestDiscoveryDocument: the discovery document lists exactly what the
// provider supports and may be cached for five minutes; the JWKS carries
// the tokens package's max-age.
func TestDiscoveryDocument(t *testing.T) {
	e := newEnv(t)
	r := e.get(http.DefaultClient, e.issuer()+"/.well-known/openid-configuration")
	if r.status != http.StatusOK || r.header.Get("Cache-Control") != "public, max-age=300" ||
		r.header.Get("Content-Type") != "application/json" || r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("discovery: %d %v", r.status, r.header)
	}
	d := r.json(t)
	list := func(k string) []string {
		var out []string
		for _, v := range d[k].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	auth := []string{"client_secret_basic", "client_secret_post", "none"}
	for k, want := range map[string][]string{
		"response_types_supported":                      {"code"},
		"response_modes_supported":                      {"query"},
		"grant_types_supported":                         {"authorization_code", "refresh_token", "client_credentials"},
		"code_challenge_methods_supported":              {"S256"},
		"token_endpoint_auth_methods_supported":         auth,
		"revocation_endpoint_auth_methods_supported":    auth,
		"introspection_endpoint_auth_methods_supported": auth,
		"scopes_supported":                              {"openid", "email", "profile", "phone", "address"},
		"prompt_values_supported":                       {"none", "login"},
		"id_token_signing_alg_values_supported":         {"RS256", "ES256", "EdDSA"},
	} {
		if got := list(k); !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	for k, want := range map[string]string{"end_session_endpoint": "/logout", "revocation_endpoint": "/oauth/revoke",
		"introspection_endpoint": "/oauth/introspect", "userinfo_endpoint": "/userinfo"} {
		if d[k] != e.issuer()+want {
			t.Errorf("%s = %v", k, d[k])
		}
	}
	claims := list("claims_supported")
	for _, c := range []string{"sub", "email", "email_verified", "nonce", "auth_time", "sci", "ips", "resource_owner_metadata"} {
		if !slices.Contains(claims, c) {
			t.Errorf("claims_supported lacks %s", c)
		}
	}
	// Each advertised endpoint answers (none is a 404).
	for _, k := range []string{"end_session_endpoint", "revocation_endpoint", "introspection_endpoint", "userinfo_endpoint", "jwks_uri"} {
		if r := e.get(http.DefaultClient, d[k].(string)); r.status == http.StatusNotFound {
			t.Errorf("%s %s: 404", k, d[k])
		}
	}
	e.spaTokens()
	j := e.get(http.DefaultClient, e.issuer()+"/.well-known/jwks")
	if want := "public, max-age=" + strconv.Itoa(int(e.tok.JWKSMaxAge()/time.Second)); j.header.Get("Cache-Control") != want {
		t.Fatalf("JWKS Cache-Control %q, want %q", j.header.Get("Cache-Control"), want)
	}
	if nf := e.get(http.DefaultClient, e.base+"/t/nope/.well-known/openid-configuration"); nf.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("unknown organization cached: %v", nf.header)
	}
}
