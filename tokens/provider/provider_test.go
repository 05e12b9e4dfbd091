package provider

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/tokens"
)

func TestDiscoveryAndJWKS(t *testing.T) {
	e := newEnv(t)
	r := e.get(http.DefaultClient, e.issuer()+"/.well-known/openid-configuration")
	if r.status != http.StatusOK {
		t.Fatalf("discovery: %d %s", r.status, r.body)
	}
	d := r.json(t)
	for k, want := range map[string]string{"issuer": e.issuer(), "authorization_endpoint": e.issuer() + "/authorize",
		"token_endpoint": e.issuer() + "/oauth/token", "jwks_uri": e.issuer() + "/.well-known/jwks",
		"end_session_endpoint": e.issuer() + "/logout"} {
		if d[k] != want {
			t.Errorf("%s = %v, want %s", k, d[k], want)
		}
	}
	if got := d["code_challenge_methods_supported"].([]any); len(got) != 1 || got[0] != "S256" {
		t.Errorf("code_challenge_methods_supported = %v", got)
	}
	if got := d["response_types_supported"].([]any); len(got) != 1 || got[0] != "code" {
		t.Errorf("response_types_supported = %v", got)
	}
	// Sign once so the key set exists, then both JWKS paths serve it.
	e.spaTokens()
	a := e.get(http.DefaultClient, e.issuer()+"/.well-known")
	b := e.get(http.DefaultClient, e.issuer()+"/.well-known/jwks")
	if a.status != 200 || b.status != 200 || a.body != b.body || !strings.Contains(a.body, `"x5c"`) {
		t.Fatalf("jwks: %d %d\n%s\n%s", a.status, b.status, a.body, b.body)
	}
	if a.header.Get("Cache-Control") == "" {
		t.Error("JWKS without Cache-Control")
	}
	for _, p := range []string{"/t/nope/.well-known/openid-configuration", "/t/nope/.well-known", "/t/nope/.well-known/jwks"} {
		if r := e.get(http.DefaultClient, e.base+p); r.status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, r.status)
		}
	}
}

// TestGoOIDC verifies ID tokens with github.com/coreos/go-oidc/v3 through
// discovery.
func TestGoOIDC(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tr := e.spaTokens()
	p, err := oidc.NewProvider(ctx, e.issuer())
	if err != nil {
		t.Fatal(err)
	}
	v := p.Verifier(&oidc.Config{ClientID: e.spa.ClientID})
	idt, err := v.Verify(ctx, tr["id_token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if idt.Subject != e.user.ID || idt.Nonce != "n-1" {
		t.Fatalf("sub %s nonce %s", idt.Subject, idt.Nonce)
	}
	if err := idt.VerifyAccessToken(tr["access_token"].(string)); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	var claims struct {
		Email string `json:"email"`
		Given string `json:"given_name"`
	}
	if err := idt.Claims(&claims); err != nil || claims.Email != userEmail || claims.Given != "Jane" {
		t.Fatalf("claims %+v %v", claims, err)
	}
	// Userinfo through go-oidc.
	ui, err := p.UserInfo(ctx, oidcTokenSource(tr["access_token"].(string)))
	if err != nil || ui.Subject != e.user.ID || ui.Email != userEmail {
		t.Fatalf("userinfo %+v %v", ui, err)
	}
	// The ID token of a refresh verifies too (aud stays the client_id).
	rr := e.refresh(tr["refresh_token"].(string))
	if rr.status != http.StatusOK {
		t.Fatal(rr.body)
	}
	if _, err := v.Verify(ctx, rr.json(t)["id_token"].(string)); err != nil {
		t.Fatalf("refreshed ID token: %v", err)
	}
	// A tampered token fails.
	tok := tr["id_token"].(string)
	parts := strings.Split(tok, ".")
	parts[1] = strings.Replace(parts[1], parts[1][:4], "eyJh", 1)
	if _, err := v.Verify(ctx, parts[0]+"."+parts[1]+"x."+parts[2]); err == nil {
		t.Fatal("tampered ID token verified")
	}
	// Another client's verifier refuses it (aud).
	if _, err := p.Verifier(&oidc.Config{ClientID: e.web.ClientID}).Verify(ctx, tok); err == nil {
		t.Fatal("ID token accepted for another audience")
	}
}

func TestAuthorizeNeverRedirectsToUnregisteredURI(t *testing.T) {
	e := newEnv(t)
	_, ch := pkce("a")
	cases := map[string]url.Values{
		"unknown client":       {"client_id": {"nope"}},
		"missing client":       {"client_id": {""}},
		"unregistered":         {"redirect_uri": {"https://evil.test/cb"}},
		"prefix of registered": {"redirect_uri": {spaRedirect + "/x"}},
		"case differs":         {"redirect_uri": {strings.ToUpper(spaRedirect)}},
		"missing redirect":     {"redirect_uri": {""}},
		"query added":          {"redirect_uri": {spaRedirect + "?a=b"}},
	}
	for name, extra := range cases {
		t.Run(name, func(t *testing.T) {
			r := e.get(e.newBrowser(), e.spaAuthorize(ch, extra))
			if r.status != http.StatusBadRequest || r.header.Get("Location") != "" {
				t.Fatalf("status %d Location %q", r.status, r.header.Get("Location"))
			}
			if !strings.Contains(r.header.Get("Content-Type"), "text/html") {
				t.Fatalf("not an error page: %s", r.header.Get("Content-Type"))
			}
		})
	}
	if r := e.get(e.newBrowser(), e.base+"/t/unknown-org/authorize?"+url.Values{"client_id": {e.spa.ClientID}}.Encode()); r.status != http.StatusNotFound || r.header.Get("Location") != "" {
		t.Fatalf("unknown org: %d", r.status)
	}
}

func TestAuthorizeErrorsRedirected(t *testing.T) {
	e := newEnv(t)
	_, ch := pkce("a")
	cases := []struct {
		name  string
		extra url.Values
		code  string
	}{
		{"implicit", url.Values{"response_type": {"token"}}, errUnsupportedResponseType},
		{"hybrid", url.Values{"response_type": {"code id_token"}}, errUnsupportedResponseType},
		{"no response_type", url.Values{"response_type": {""}}, errInvalidRequest},
		{"no pkce for public client", url.Values{"code_challenge": {""}, "code_challenge_method": {""}}, errInvalidRequest},
		{"plain pkce", url.Values{"code_challenge_method": {"plain"}}, errInvalidRequest},
		{"pkce method missing (plain)", url.Values{"code_challenge_method": {""}}, errInvalidRequest},
		{"short challenge", url.Values{"code_challenge": {"abc"}}, errInvalidRequest},
		{"prompt none without session", url.Values{"prompt": {"none"}}, errLoginRequired},
		{"prompt none with login", url.Values{"prompt": {"none login"}}, errInvalidRequest},
		{"bad max_age", url.Values{"max_age": {"-3"}}, errInvalidRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.get(e.newBrowser(), e.spaAuthorize(ch, c.extra))
			if r.status != http.StatusFound {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			loc := r.location(t)
			if !strings.HasPrefix(loc.String(), spaRedirect+"?") {
				t.Fatalf("redirected to %s", loc)
			}
			q := loc.Query()
			if q.Get("error") != c.code || q.Get("state") != "st-1" || q.Get("error_description") == "" || q.Get("code") != "" {
				t.Fatalf("callback %s", loc)
			}
		})
	}
	// The machine application cannot use the code flow.
	q := url.Values{"response_type": {"code"}, "client_id": {e.machine.ClientID}, "redirect_uri": {"https://m.test/cb"}}
	if r := e.get(e.newBrowser(), e.issuer()+"/authorize?"+q.Encode()); r.status != http.StatusBadRequest {
		t.Fatalf("machine app with unregistered URI: %d", r.status)
	}
}

func TestUnknownParametersIgnored(t *testing.T) {
	e := newEnv(t)
	v, ch := pkce("b")
	loc := e.magicLogin(e.client, e.spaAuthorize(ch, url.Values{"foo": {"bar"}, "claims_locales": {"xx"},
		"display": {"page"}}), userEmail)
	r := e.exchange(loc.Query().Get("code"), v)
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func TestCodeFlowRefreshRevokeIntrospect(t *testing.T) {
	e := newEnv(t)
	tr := e.spaTokens()
	at, rt := tr["access_token"].(string), tr["refresh_token"].(string)
	if !strings.HasPrefix(rt, e.org.Domain+".") || len(rt) < len(e.org.Domain)+1+22 {
		t.Fatalf("refresh token form %q", rt)
	}
	if tr["token_type"] != "Bearer" || tr["scope"] != "openid email profile" || tr["expires_in"].(float64) <= 0 {
		t.Fatalf("answer %v", tr)
	}
	if in := e.introspect(at); in["active"] != true || in["sub"] != e.user.ID || in["client_id"] != e.spa.ClientID {
		t.Fatalf("introspect access %v", in)
	}
	if in := e.introspect(rt); in["active"] != true || in["token_type"] != "refresh_token" {
		t.Fatalf("introspect refresh %v", in)
	}
	// Rotation.
	r1 := e.refresh(rt)
	if r1.status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r1.status, r1.body)
	}
	n1 := r1.json(t)
	rt2 := n1["refresh_token"].(string)
	if rt2 == rt || !strings.HasPrefix(rt2, e.org.Domain+".") || n1["id_token"] == nil {
		t.Fatalf("rotation: %v", n1)
	}
	// Within the grace window the old token returns the same successor.
	e.clock.Advance(5 * time.Second)
	r2 := e.refresh(rt)
	if r2.status != http.StatusOK || r2.json(t)["refresh_token"] != rt2 {
		t.Fatalf("grace: %d %s", r2.status, r2.body)
	}
	// After the window, reuse revokes the family.
	e.clock.Advance(DefaultRefreshGrace)
	oauthErr(t, e.refresh(rt), http.StatusBadRequest, errInvalidGrant)
	oauthErr(t, e.refresh(rt2), http.StatusBadRequest, errInvalidGrant)
	for _, tok := range []string{at, n1["access_token"].(string)} {
		if in := e.introspect(tok); in["active"] != false {
			t.Fatalf("access token of a revoked family still active: %v", in)
		}
	}
	// The audit log has the reuse.
	ev, err := e.ids.ListEvents(context.Background(), e.org.Domain, identity.EventFilter{}, identity.PageRequest{Page: 1, PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, x := range ev.Items {
		found = found || x.Code == identity.EventRefreshReuseDetected
	}
	if !found {
		t.Fatal("no REFRESH_TOKEN_REUSE_DETECTED event")
	}
}

func TestRevocation(t *testing.T) {
	e := newEnv(t)
	tr := e.spaTokens()
	at, rt := tr["access_token"].(string), tr["refresh_token"].(string)
	rev := func(tok string) *resp {
		return e.postForm(http.DefaultClient, e.issuer()+"/oauth/revoke", url.Values{"token": {tok}, "client_id": {e.spa.ClientID}})
	}
	if r := rev("unknown-token"); r.status != http.StatusOK {
		t.Fatalf("unknown token: %d", r.status)
	}
	// Another client cannot revoke it.
	other := e.postForm(http.DefaultClient, e.issuer()+"/oauth/revoke", url.Values{"token": {rt}}, "Authorization",
		basic(e.web.ClientID, e.webSecret))
	if other.status != http.StatusOK || e.introspect(rt)["active"] != true {
		t.Fatalf("foreign revocation took effect: %d", other.status)
	}
	if r := rev(rt); r.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if e.introspect(rt)["active"] != false || e.introspect(at)["active"] != false {
		t.Fatal("revoked refresh token or its family's access token still active")
	}
	oauthErr(t, e.refresh(rt), http.StatusBadRequest, errInvalidGrant)
	// Userinfo refuses the family's access token.
	if r := e.get(http.DefaultClient, e.issuer()+"/userinfo", "Authorization", "Bearer "+at); r.status != http.StatusUnauthorized {
		t.Fatalf("userinfo after revocation: %d", r.status)
	}
	// Access token revocation.
	tr2 := e.spaTokens()
	if r := rev(tr2["access_token"].(string)); r.status != http.StatusOK {
		t.Fatal(r.body)
	}
	if e.introspect(tr2["access_token"].(string))["active"] != false {
		t.Fatal("revoked access token active")
	}
	if e.introspect(tr2["refresh_token"].(string))["active"] != true {
		t.Fatal("revoking an access token revoked its refresh token")
	}
	oauthErr(t, e.postForm(http.DefaultClient, e.issuer()+"/oauth/revoke", url.Values{"client_id": {e.spa.ClientID}}),
		http.StatusBadRequest, errInvalidRequest)
}

func basic(id, secret string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return r.Header.Get("Authorization")
}

// TestCodeReuse: a reused code is refused and revokes what it issued, even
// 30 s later (the OpenID basic OP plan's check).
func TestCodeReuse(t *testing.T) {
	e := newEnv(t)
	code, v := e.spaCode(e.client)
	first := e.exchange(code, v)
	if first.status != http.StatusOK {
		t.Fatal(first.body)
	}
	tr := first.json(t)
	e.clock.Advance(30 * time.Second)
	oauthErr(t, e.exchange(code, v), http.StatusBadRequest, errInvalidGrant)
	if e.introspect(tr["access_token"].(string))["active"] != false {
		t.Fatal("access token from a reused code still active")
	}
	oauthErr(t, e.refresh(tr["refresh_token"].(string)), http.StatusBadRequest, errInvalidGrant)
}

func TestCodeExpiry(t *testing.T) {
	e := newEnv(t)
	code, v := e.spaCode(e.client)
	e.clock.Advance(DefaultCodeTTL + time.Second)
	oauthErr(t, e.exchange(code, v), http.StatusBadRequest, errInvalidGrant)
}

func TestTokenEndpointBadInput(t *testing.T) {
	e := newEnv(t)
	code, v := e.spaCode(e.client)
	tok := e.issuer() + "/oauth/token"
	base := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {v},
		"client_id": {e.spa.ClientID}, "redirect_uri": {spaRedirect}}
	with := func(k, val string) url.Values {
		f := url.Values{}
		for kk, vv := range base {
			f[kk] = vv
		}
		if val == "" {
			f.Del(k)
		} else {
			f.Set(k, val)
		}
		return f
	}
	_, otherCh := pkce("z")
	_ = otherCh
	cases := []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"no grant_type", with("grant_type", ""), 400, errInvalidRequest},
		{"password grant", with("grant_type", "password"), 400, errUnsupportedGrantType},
		{"implicit grant", with("grant_type", "implicit"), 400, errUnsupportedGrantType},
		{"no code", with("code", ""), 400, errInvalidRequest},
		{"unknown code", with("code", "nope"), 400, errInvalidGrant},
		{"wrong verifier", with("code_verifier", strings.Repeat("x", 50)), 400, errInvalidGrant},
		{"short verifier", with("code_verifier", "abc"), 400, errInvalidGrant},
		{"no verifier", with("code_verifier", ""), 400, errInvalidGrant},
		{"other redirect", with("redirect_uri", "https://evil.test/cb"), 400, errInvalidGrant},
		{"no redirect", with("redirect_uri", ""), 400, errInvalidRequest},
		{"unknown client", with("client_id", "nope"), 401, errInvalidClient},
		{"other client", with("client_id", e.web.ClientID), 401, errInvalidClient},
		{"no client", with("client_id", ""), 401, errInvalidClient},
		{"public client with secret", with("client_secret", "s"), 401, errInvalidClient},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			oauthErr(t, e.postForm(http.DefaultClient, tok, c.form), c.status, c.code)
		})
	}
	// Repeated parameters are refused.
	req, _ := http.NewRequest("POST", tok, strings.NewReader(base.Encode()+"&code=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	oauthErr(t, do(t, http.DefaultClient, req), 400, errInvalidRequest)
	// Malformed JSON.
	req, _ = http.NewRequest("POST", tok, strings.NewReader("{nope"))
	req.Header.Set("Content-Type", "application/json")
	oauthErr(t, do(t, http.DefaultClient, req), 400, errInvalidRequest)
	// None of the failures consumed the code.
	if r := e.exchange(code, v); r.status != http.StatusOK {
		t.Fatalf("code unusable after failed attempts: %s", r.body)
	}
}

// TestPKCEDowngrade: a confidential client that sent no challenge cannot
// present a verifier.
func TestPKCEDowngrade(t *testing.T) {
	e := newEnv(t)
	q := url.Values{"response_type": {"code"}, "client_id": {e.web.ClientID}, "redirect_uri": {webRedirect},
		"scope": {"openid"}, "state": {"s"}}
	loc := e.magicLogin(e.client, e.issuer()+"/authorize?"+q.Encode(), userEmail)
	code := loc.Query().Get("code")
	v, _ := pkce("c")
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {webRedirect}, "code_verifier": {v}}
	oauthErr(t, e.postForm(http.DefaultClient, e.issuer()+"/oauth/token", form, "Authorization", basic(e.web.ClientID, e.webSecret)),
		400, errInvalidGrant)
	// Wrong secret: 401 with a Basic challenge.
	form.Del("code_verifier")
	r := e.postForm(http.DefaultClient, e.issuer()+"/oauth/token", form, "Authorization", basic(e.web.ClientID, "wrong"))
	oauthErr(t, r, 401, errInvalidClient)
	if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
	}
	// No secret at all.
	form.Set("client_id", e.web.ClientID)
	oauthErr(t, e.postForm(http.DefaultClient, e.issuer()+"/oauth/token", form), 401, errInvalidClient)
	// client_secret_post works.
	form.Set("client_secret", e.webSecret)
	ok := e.postForm(http.DefaultClient, e.issuer()+"/oauth/token", form)
	if ok.status != http.StatusOK {
		t.Fatalf("client_secret_post: %s", ok.body)
	}
	// Two authentication methods at once are refused.
	both := e.postForm(http.DefaultClient, e.issuer()+"/oauth/token", url.Values{"grant_type": {"authorization_code"},
		"code": {"x"}, "client_secret": {e.webSecret}}, "Authorization", basic(e.web.ClientID, e.webSecret))
	oauthErr(t, both, 400, errInvalidRequest)
	// client_secret_basic on a fresh code.
	loc = e.magicLogin(e.newBrowser(), e.issuer()+"/authorize?"+q.Encode(), userEmail)
	form = url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {webRedirect}}
	if r := e.postForm(http.DefaultClient, e.issuer()+"/oauth/token", form, "Authorization", basic(e.web.ClientID, e.webSecret)); r.status != http.StatusOK {
		t.Fatalf("client_secret_basic: %s", r.body)
	}
}

func TestClientCredentials(t *testing.T) {
	e := newEnv(t)
	tok := e.issuer() + "/oauth/token"
	r := e.postForm(http.DefaultClient, tok, url.Values{"grant_type": {"client_credentials"}, "scope": {"read:things"}},
		"Authorization", basic(e.machine.ClientID, e.macSecret))
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	m := r.json(t)
	if m["refresh_token"] != nil || m["id_token"] != nil {
		t.Fatalf("machine token answer %v", m)
	}
	v, _ := e.tok.NewVerifier(tokens.VerifierConfig{SkipAudience: true})
	c, err := v.Verify(context.Background(), m["access_token"].(string))
	if err != nil || c.Subject != e.machine.ClientID || c.ClientID != e.machine.ClientID || !c.HasScope("read:things") {
		t.Fatalf("claims %+v %v", c, err)
	}
	oauthErr(t, e.postForm(http.DefaultClient, tok, url.Values{"grant_type": {"client_credentials"}}, "Authorization",
		basic(e.machine.ClientID, "bad")), 401, errInvalidClient)
	oauthErr(t, e.postForm(http.DefaultClient, tok, url.Values{"grant_type": {"client_credentials"}}, "Authorization",
		basic(e.web.ClientID, e.webSecret)), 400, errUnauthorizedClient)
	oauthErr(t, e.postForm(http.DefaultClient, tok, url.Values{"grant_type": {"client_credentials"}, "client_id": {e.spa.ClientID}}),
		400, errUnauthorizedClient)
}

func TestUserinfo(t *testing.T) {
	e := newEnv(t)
	tr := e.spaTokens()
	at := tr["access_token"].(string)
	get := e.get(http.DefaultClient, e.issuer()+"/userinfo", "Authorization", "Bearer "+at)
	post := e.postForm(http.DefaultClient, e.issuer()+"/userinfo", url.Values{"access_token": {at}})
	cryptr := e.get(http.DefaultClient, e.issuer()+"/userinfo?client_id="+e.spa.ClientID, "Authorization", "Bearer "+at)
	for name, r := range map[string]*resp{"GET": get, "POST": post, "cryptr": cryptr} {
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
		m := r.json(t)
		if m["sub"] != e.user.ID || m["email"] != userEmail || m["given_name"] != "Jane" {
			t.Fatalf("%s: %v", name, m)
		}
	}
	for name, r := range map[string]*resp{
		"no token":     e.get(http.DefaultClient, e.issuer()+"/userinfo"),
		"bad token":    e.get(http.DefaultClient, e.issuer()+"/userinfo", "Authorization", "Bearer x.y.z"),
		"other org":    e.get(http.DefaultClient, e.base+"/t/other/userinfo", "Authorization", "Bearer "+at),
		"other client": e.get(http.DefaultClient, e.issuer()+"/userinfo?client_id="+e.web.ClientID, "Authorization", "Bearer "+at),
	} {
		if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d %q", name, r.status, r.header.Get("WWW-Authenticate"))
		}
	}
}

func oidcTokenSource(at string) oauth2TokenSource { return oauth2TokenSource(at) }

// TestIDTokenHashes: c_hash covers the code, at_hash the access token,
// s_hash the state, and the kid is in the issuer's JWKS.
func TestIDTokenHashes(t *testing.T) {
	e := newEnv(t)
	code, v := e.spaCode(e.newBrowser())
	r := e.exchange(code, v)
	if r.status != http.StatusOK {
		t.Fatal(r.body)
	}
	tr := r.json(t)
	ver, _ := e.tok.NewVerifier(tokens.VerifierConfig{Audiences: []string{e.spa.ClientID}, TokenTypes: []string{tokens.TypeID}})
	c, err := ver.Verify(context.Background(), tr["id_token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	for name, pair := range map[string][2]string{"c_hash": {c.CHash, code}, "at_hash": {c.AtHash, tr["access_token"].(string)},
		"s_hash": {c.SHash, "st-1"}} {
		want, _ := tokens.HalfHash(tokens.RS256, pair[1])
		if pair[0] != want {
			t.Errorf("%s = %q, want %q", name, pair[0], want)
		}
	}
	if c.Nonce != "n-1" || c.AuthTime == 0 {
		t.Errorf("nonce %q auth_time %d", c.Nonce, c.AuthTime)
	}
	jwks := e.get(http.DefaultClient, e.issuer()+"/.well-known/jwks").body
	parts := strings.Split(tr["id_token"].(string), ".")
	hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var h struct{ Kid, Alg string }
	if err := json.Unmarshal(hdr, &h); err != nil || h.Alg != "RS256" || !strings.Contains(jwks, `"`+h.Kid+`"`) {
		t.Fatalf("header %s not matched in JWKS", hdr)
	}
}

// TestRevokedFamilySurvivesSweeps: extending a family moves its expiry, so
// the sweeper never deletes a revoked family while its newest refresh token
// lives (which would make that token usable again).
func TestRevokedFamilySurvivesSweeps(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rt := e.spaTokens()["refresh_token"].(string)
	e.clock.Advance(DefaultRefreshTokenTTL - 24*time.Hour)
	r := e.refresh(rt)
	if r.status != http.StatusOK {
		t.Fatal(r.body)
	}
	rt2 := r.json(t)["refresh_token"].(string)
	if r := e.postForm(http.DefaultClient, e.issuer()+"/oauth/revoke", url.Values{"token": {rt2}, "client_id": {e.spa.ClientID}}); r.status != 200 {
		t.Fatal(r.body)
	}
	e.clock.Advance(48 * time.Hour)
	if _, err := kv.SweepExpired(ctx, e.ids.KVStore(kv.Inside()), e.clock.Now(), 1000); err != nil {
		t.Fatal(err)
	}
	oauthErr(t, e.refresh(rt2), http.StatusBadRequest, errInvalidGrant)
	if e.introspect(rt2)["active"] != false {
		t.Fatal("revoked refresh token active after a sweep")
	}
}

// TestOtherOrganizationURLs: an organization's URLs never redeem, refresh,
// revoke or introspect another organization's grants.
func TestOtherOrganizationURLs(t *testing.T) {
	e := newEnv(t)
	other := e.addOrg("Other Org")
	otherIss := e.base + "/t/" + other.Domain
	code, v := e.spaCode(e.newBrowser())
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {v},
		"client_id": {e.spa.ClientID}, "redirect_uri": {spaRedirect}}
	oauthErr(t, e.postForm(http.DefaultClient, otherIss+"/oauth/token", form), 400, errInvalidGrant)
	r := e.exchange(code, v)
	if r.status != 200 {
		t.Fatalf("own organization: %s", r.body)
	}
	tr := r.json(t)
	rt := tr["refresh_token"].(string)
	oauthErr(t, e.postForm(http.DefaultClient, otherIss+"/oauth/token", url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {rt}, "client_id": {e.spa.ClientID}}), 400, errInvalidGrant)
	for _, tok := range []string{rt, tr["access_token"].(string)} {
		in := e.postForm(http.DefaultClient, otherIss+"/oauth/introspect", url.Values{"token": {tok}, "client_id": {e.spa.ClientID}})
		if in.json(t)["active"] != false {
			t.Fatalf("introspected at another organization: %s", in.body)
		}
		e.postForm(http.DefaultClient, otherIss+"/oauth/revoke", url.Values{"token": {tok}, "client_id": {e.spa.ClientID}})
		if e.introspect(tok)["active"] != true {
			t.Fatal("revoked through another organization's URL")
		}
	}
	cr := e.postJSON(http.DefaultClient, e.base+"/api/v1/tenants/"+other.Domain+"/"+e.spa.ClientID+"/oauth/token/revoke",
		map[string]string{"token": rt})
	if cr.status != http.StatusUnprocessableEntity {
		t.Fatalf("Cryptr revoke at another organization: %d", cr.status)
	}
}

// TestCodeReuseInterleaved: a second redemption that arrives after the
// first has checked the code but before it marked it used and stored its
// tokens: one of them gets tokens, the other is refused, and the tokens
// handed out are revoked, whatever the interleaving (breach 9). Both
// redemptions run in the test goroutine (ServeHTTP), the second from the
// hook.
func TestCodeReuseInterleaved(t *testing.T) {
	e := newEnv(t)
	code, v := e.spaCode(e.client)
	exchange := func() *resp {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {v},
			"client_id": {e.spa.ClientID}, "redirect_uri": {spaRedirect}}
		req := httptest.NewRequest(http.MethodPost, e.issuer()+"/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		e.prov.ServeHTTP(rec, req)
		return &resp{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
	}
	var second *resp
	e.prov.afterCodeMarked = func() {
		e.prov.afterCodeMarked = nil
		second = exchange()
	}
	first := exchange()
	if second == nil {
		t.Fatal("the hook did not run")
	}
	winner, loser := first, second
	if second.status == http.StatusOK {
		winner, loser = second, first
	}
	oauthErr(t, loser, http.StatusBadRequest, errInvalidGrant)
	if winner.status == http.StatusOK {
		// Whatever the winning redemption received must be dead.
		tr := winner.json(t)
		if e.introspect(tr["access_token"].(string))["active"] != false {
			t.Fatal("access token of a reused code still active")
		}
		oauthErr(t, e.refresh(tr["refresh_token"].(string)), http.StatusBadRequest, errInvalidGrant)
	} else {
		oauthErr(t, winner, http.StatusBadRequest, errInvalidGrant)
	}
	// A third redemption is refused too.
	oauthErr(t, e.exchange(code, v), http.StatusBadRequest, errInvalidGrant)
}
