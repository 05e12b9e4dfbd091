package provider

import (
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestBasicOPChecklist walks the checks of the OpenID Foundation's basic OP
// conformance plan that SECURITY.md lists, in one sign-in session.
func TestBasicOPChecklist(t *testing.T) {
	e := newEnv(t)
	c := e.newBrowser()
	v, ch := pkce("k")
	// prompt=none without a session: login_required on the redirect URI.
	r := e.get(c, e.spaAuthorize(ch, url.Values{"prompt": {"none"}}))
	if r.location(t).Query().Get("error") != errLoginRequired {
		t.Fatal("prompt=none without session")
	}
	// Unknown parameters ignored; login_hint prefilled.
	page := e.get(c, e.spaAuthorize(ch, url.Values{"login_hint": {userEmail}, "vendor_x": {"1"}}))
	if page.status != http.StatusOK || !strings.Contains(page.body, `value="`+userEmail+`"`) {
		t.Fatalf("login page with login_hint: %d", page.status)
	}
	loc := e.magicLogin(c, e.spaAuthorize(ch, url.Values{"vendor_x": {"1"}}), userEmail)
	tr := e.exchange(loc.Query().Get("code"), v).json(t)
	// prompt=none with a session: a code.
	r = e.get(c, e.spaAuthorize(ch, url.Values{"prompt": {"none"}}))
	code := r.location(t).Query().Get("code")
	if code == "" {
		t.Fatal("prompt=none with session gave no code")
	}
	// max_age=0 forces a new login.
	e.clock.Advance(time.Second)
	if r := e.get(c, e.spaAuthorize(ch, url.Values{"max_age": {"0"}})); r.status != http.StatusOK {
		t.Fatalf("max_age=0: %d", r.status)
	}
	// Userinfo by GET (header) and POST (form body).
	at := tr["access_token"].(string)
	if r := e.get(http.DefaultClient, e.issuer()+"/userinfo", "Authorization", "Bearer "+at); r.status != 200 {
		t.Fatal("userinfo GET")
	}
	if r := e.postForm(http.DefaultClient, e.issuer()+"/userinfo", url.Values{"access_token": {at}}); r.status != 200 {
		t.Fatal("userinfo POST")
	}
	// Refresh.
	if r := e.refresh(tr["refresh_token"].(string)); r.status != 200 {
		t.Fatal("refresh")
	}
	// Code reuse after 30 s: refused, and what it issued is revoked.
	second := e.exchange(code, v).json(t)
	e.clock.Advance(30 * time.Second)
	oauthErr(t, e.exchange(code, v), http.StatusBadRequest, errInvalidGrant)
	if e.introspect(second["access_token"].(string))["active"] != false {
		t.Fatal("token of a reused code still active")
	}
}

// TestNoServerErrorOnAnyInput throws malformed input at every endpoint: the
// answer is never a 5xx.
func TestNoServerErrorOnAnyInput(t *testing.T) {
	e := newEnv(t)
	rng := rand.New(rand.NewPCG(1, 2))
	junk := []string{"", "x", strings.Repeat("a", 5000), "%zz", "\x00\xff", "{", "[]", `{"a":{"b":1}}`, "null",
		e.spa.ClientID, "openid", "S256", "code", "none", "-1", "eyJhbGciOiJub25lIn0.e30.", e.org.Domain + ".x"}
	names := []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge",
		"code_challenge_method", "prompt", "max_age", "login_hint", "grant_type", "code", "code_verifier",
		"refresh_token", "token", "token_type_hint", "client_secret", "access_token", "id_token_hint",
		"post_logout_redirect_uri", "csrf_token", "request", "action", "email", "password", "organization", "email"}
	paths := []string{"/t/{d}/authorize", "/t/{d}/oauth/token", "/t/{d}/oauth/revoke", "/t/{d}/oauth/introspect",
		"/t/{d}/userinfo", "/t/{d}/logout", "/t/{d}/login", "/login", "/t/{d}/en/st/signin/new", "/t/{d}/",
		"/a/{d}/", "/", "/org/{d}/oauth2/token", "/oauth/token", "/oauth/revoke",
		"/api/v1/tenants/{d}/{c}/st/oauth/signin/client/az/token", "/api/v1/tenants/{d}/{c}/st/oauth/client/token",
		"/api/v1/tenants/{d}/{c}/oauth/token/revoke", "/magic-link/verify/" + strings.Repeat("A", 43),
		"/t/{d}/.well-known", "/t/{d}/.well-known/openid-configuration"}
	for i := 0; i < 600; i++ {
		p := paths[rng.IntN(len(paths))]
		p = strings.NewReplacer("{d}", []string{e.org.Domain, "nope", "%2e%2e"}[rng.IntN(3)],
			"{c}", []string{e.spa.ClientID, "x"}[rng.IntN(2)]).Replace(p)
		q := url.Values{}
		for j := rng.IntN(8); j > 0; j-- {
			q.Add(names[rng.IntN(len(names))], junk[rng.IntN(len(junk))])
		}
		var r *resp
		switch rng.IntN(3) {
		case 0:
			r = e.get(e.client, e.base+p+"?"+q.Encode(), "Authorization", "Bearer "+url.QueryEscape(junk[rng.IntN(len(junk))]))
		case 1:
			r = e.postForm(e.client, e.base+p, q, "Origin", spaOrigin)
		default:
			req, _ := http.NewRequest(http.MethodPost, e.base+p, strings.NewReader(junk[rng.IntN(len(junk))]))
			req.Header.Set("Content-Type", "application/json")
			r = do(t, e.client, req)
		}
		if r.status >= 500 {
			t.Fatalf("%s %v: %d %s", p, q, r.status, r.body)
		}
	}
}
