package provider

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// cryptrSignIn runs Cryptr's era-1 sign-in page and returns the callback.
func (e *env) cryptrSignIn(c *http.Client, state string) (*url.URL, string) {
	e.t.Helper()
	v, ch := pkce("q")
	q := url.Values{"scope": {"openid email"}, "client_id": {e.spa.ClientID}, "redirect_uri": {spaRedirect},
		"code_challenge_method": {"S256"}, "code_challenge": {ch}}
	loc := e.magicLogin(c, e.base+"/t/"+e.org.Domain+"/en/"+state+"/signin/new?"+q.Encode(), userEmail)
	return loc, v
}

func TestCryptrEra1Flow(t *testing.T) {
	e := newEnv(t)
	state := "7f1c3e0a-1111-4222-8333-444455556666"
	loc, v := e.cryptrSignIn(e.newBrowser(), state)
	q := loc.Query()
	if q.Get("state") != state || q.Get("code") == "" || q.Get("authorization_id") == "" ||
		q.Get("authorization_code") != q.Get("code") || q.Get("organization_domain") != e.org.Domain {
		t.Fatalf("callback %s", loc)
	}
	tokURL := e.base + "/api/v1/tenants/" + e.org.Domain + "/" + e.spa.ClientID + "/" + state + "/oauth/signin/client/" +
		q.Get("authorization_id") + "/token"
	body := map[string]string{"authorization_id": q.Get("authorization_id"), "client_id": e.spa.ClientID,
		"code": q.Get("code"), "code_verifier": v, "grant_type": "authorization_code", "nonce": "cli-nonce"}
	r := e.postJSON(http.DefaultClient, tokURL, body, "Origin", spaOrigin)
	if r.status != http.StatusOK {
		t.Fatalf("era-1 token: %d %s", r.status, r.body)
	}
	if r.header.Get("Access-Control-Allow-Origin") != spaOrigin {
		t.Fatalf("CORS: %q", r.header.Get("Access-Control-Allow-Origin"))
	}
	m := r.json(t)
	for _, k := range []string{"access_token", "id_token", "refresh_token", "expires_at", "refresh_token_expires_at",
		"refresh_leeway", "refresh_retry", "scope"} {
		if m[k] == nil {
			t.Errorf("answer lacks %s: %v", k, m)
		}
	}
	if m["nonce"] != "cli-nonce" || m["token_type"] != "Bearer" || m["scope"] != "openid email profile" {
		t.Fatalf("answer %v", m)
	}
	if _, err := time.Parse(time.RFC3339, m["expires_at"].(string)); err != nil {
		t.Fatal(err)
	}
	// The access token is Cryptr-shaped: aud is the app's origin.
	v2, _ := e.tok.NewVerifier(tokens.VerifierConfig{Audiences: []string{spaOrigin}, TokenTypes: []string{tokens.TypeAccess, tokens.TypeID}})
	for _, k := range []string{"access_token", "id_token"} {
		c, err := v2.Verify(context.Background(), m[k].(string))
		if err != nil || c.Tenant != e.org.Domain || c.ClientID != e.spa.ClientID {
			t.Fatalf("%s: %+v %v", k, c, err)
		}
	}
	// Era-1 refresh URL with a fresh state.
	rt := m["refresh_token"].(string)
	refURL := e.base + "/api/v1/tenants/" + e.org.Domain + "/" + e.spa.ClientID + "/fresh-state/oauth/client/token"
	r = e.postJSON(http.DefaultClient, refURL, map[string]string{"client_id": e.spa.ClientID, "grant_type": "refresh_token",
		"nonce": "n2", "refresh_token": rt})
	if r.status != http.StatusOK || r.json(t)["nonce"] != "n2" {
		t.Fatalf("era-1 refresh: %d %s", r.status, r.body)
	}
	// Cryptr's SPA requires at_hash, c_hash and nonce in every ID token,
	// refreshed ones included.
	idc, err := v2.Verify(context.Background(), r.json(t)["id_token"].(string))
	if err != nil || idc.CHash == "" || idc.AtHash == "" || idc.Nonce != "n2" {
		t.Fatalf("refreshed ID token %+v %v", idc, err)
	}
	rt2 := r.json(t)["refresh_token"].(string)
	// Era-3 /oauth/token refresh with `token`.
	r = e.postJSON(http.DefaultClient, e.base+"/oauth/token", map[string]string{"client_id": e.spa.ClientID,
		"grant_type": "refresh_token", "nonce": "n3", "token": rt2})
	if r.status != http.StatusOK {
		t.Fatalf("era-3 refresh: %d %s", r.status, r.body)
	}
	rt3 := r.json(t)["refresh_token"].(string)
	// Revoke: unknown token is 422 with Cryptr's body.
	revURL := e.base + "/api/v1/tenants/" + e.org.Domain + "/" + e.spa.ClientID + "/oauth/token/revoke"
	r = e.postJSON(http.DefaultClient, revURL, map[string]string{"token": "nope", "token_type_hint": "refresh_token"})
	if r.status != http.StatusUnprocessableEntity || strings.TrimSpace(r.body) != `{"error":"Access token doesn't exist"}` {
		t.Fatalf("revoke unknown: %d %s", r.status, r.body)
	}
	r = e.postJSON(http.DefaultClient, revURL, map[string]string{"token": rt3, "token_type_hint": "refresh_token"})
	if r.status != http.StatusOK || r.json(t)["revoked_at"] == nil {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	r = e.postJSON(http.DefaultClient, e.base+"/oauth/token", map[string]string{"client_id": e.spa.ClientID,
		"grant_type": "refresh_token", "token": rt3})
	oauthErr(t, r, http.StatusBadRequest, errInvalidGrant)
	// The SLO hop after a revocation goes only to allowed logout URLs.
	slo := e.base + "/api/v1/tenants/" + e.org.Domain + "/" + e.spa.ClientID + "/oauth/token/slo-after-revoke-token?"
	if r := e.get(e.newBrowser(), slo+url.Values{"slo_code": {"x"}, "target_url": {logoutURL}}.Encode()); r.status != http.StatusFound || r.header.Get("Location") != logoutURL {
		t.Fatalf("slo hop: %d %q", r.status, r.header.Get("Location"))
	}
	if r := e.get(e.newBrowser(), slo+url.Values{"target_url": {"https://evil.test/"}}.Encode()); r.status != http.StatusOK || r.header.Get("Location") != "" {
		t.Fatalf("slo hop to unlisted URL: %d", r.status)
	}
	// Era-3 revoke.
	r = e.postJSON(http.DefaultClient, e.base+"/oauth/revoke", map[string]string{"token": "nope", "client_id": e.spa.ClientID})
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("era-3 revoke unknown: %d", r.status)
	}
}

func TestCryptrEra1TokenChecks(t *testing.T) {
	e := newEnv(t)
	loc, v := e.cryptrSignIn(e.newBrowser(), "s1")
	q := loc.Query()
	url1 := func(clientID, authz string) string {
		return e.base + "/api/v1/tenants/" + e.org.Domain + "/" + clientID + "/s1/oauth/signin/client/" + authz + "/token"
	}
	body := map[string]string{"client_id": e.spa.ClientID, "code": q.Get("code"), "code_verifier": v,
		"grant_type": "authorization_code"}
	oauthErr(t, e.postJSON(http.DefaultClient, url1(e.spa.ClientID, "other-authz"), body), 400, errInvalidGrant)
	otherState := strings.Replace(url1(e.spa.ClientID, q.Get("authorization_id")), "/s1/", "/s2/", 1)
	oauthErr(t, e.postJSON(http.DefaultClient, otherState, body), 400, errInvalidGrant)
	oauthErr(t, e.postJSON(http.DefaultClient, url1(e.web.ClientID, q.Get("authorization_id")), body), 401, errInvalidClient)
	bad := map[string]string{}
	for k, x := range body {
		bad[k] = x
	}
	bad["code_verifier"] = strings.Repeat("w", 43)
	oauthErr(t, e.postJSON(http.DefaultClient, url1(e.spa.ClientID, q.Get("authorization_id")), bad), 400, errInvalidGrant)
	if r := e.postJSON(http.DefaultClient, url1(e.spa.ClientID, q.Get("authorization_id")), body); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

// TestCryptrGateway: the universal gateway (spa v1.4: /a/{tenant}/ and
// /org/{org}/oauth2/token) and the dedicated-server root gateway.
func TestCryptrGateway(t *testing.T) {
	e := newEnv(t)
	v, ch := pkce("g")
	q := url.Values{"organization": {e.org.Domain}, "locale": {"fr"}, "client_state": {"cs-1"}, "scope": {"openid email profile"},
		"client_id": {e.spa.ClientID}, "redirect_uri": {spaRedirect}, "code_challenge_method": {"S256"}, "code_challenge": {ch}}
	loc := e.magicLogin(e.newBrowser(), e.base+"/a/"+e.org.Domain+"/?"+q.Encode(), userEmail)
	cb := loc.Query()
	if cb.Get("state") != "cs-1" || cb.Get("request_id") == "" || cb.Get("organization_domain") != e.org.Domain {
		t.Fatalf("callback %s", loc)
	}
	r := e.postJSON(http.DefaultClient, e.base+"/org/"+e.org.Domain+"/oauth2/token", map[string]string{
		"grant_type": "authorization_code", "client_id": e.spa.ClientID, "authorization_id": cb.Get("authorization_id"),
		"code": cb.Get("code"), "code_verifier": v, "nonce": "nn", "request_id": cb.Get("request_id"), "client_state": "cs-1"})
	if r.status != http.StatusOK || r.json(t)["nonce"] != "nn" {
		t.Fatalf("era-2 token: %d %s", r.status, r.body)
	}
	// Root gateway with only an email: the organization comes from the
	// email domain.
	q.Del("organization")
	q.Set("email", userEmail)
	loc = e.magicLogin(e.newBrowser(), e.base+"/?"+q.Encode(), userEmail)
	if loc.Query().Get("organization_domain") != e.org.Domain {
		t.Fatalf("root gateway callback %s", loc)
	}
	// domain / org_domain synonyms.
	for _, k := range []string{"domain", "org_domain"} {
		q2 := url.Values{k: {e.org.Domain}, "state": {"s"}, "client_id": {e.spa.ClientID}, "redirect_uri": {spaRedirect},
			"code_challenge_method": {"S256"}, "code_challenge": {ch}}
		if r := e.get(e.newBrowser(), e.base+"/?"+q2.Encode()); r.status != 200 || !strings.Contains(r.body, "Acme Corp") {
			t.Fatalf("%s: %d", k, r.status)
		}
	}
	if r := e.get(e.newBrowser(), e.base+"/"); r.status != http.StatusNotFound {
		t.Fatalf("bare root: %d", r.status)
	}
}

func TestCORS(t *testing.T) {
	e := newEnv(t)
	code, v := e.spaCode(e.newBrowser())
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {v},
		"client_id": {e.spa.ClientID}, "redirect_uri": {spaRedirect}}
	r := e.postForm(http.DefaultClient, e.issuer()+"/oauth/token", form, "Origin", "http://evil.test")
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("foreign origin allowed")
	}
	req, _ := http.NewRequest(http.MethodOptions, e.base+"/api/v1/tenants/"+e.org.Domain+"/"+e.spa.ClientID+"/oauth/token/revoke", nil)
	req.Header.Set("Origin", spaOrigin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	if r := do(t, http.DefaultClient, req); r.header.Get("Access-Control-Allow-Origin") != spaOrigin {
		t.Fatalf("preflight: %v", r.header)
	}
	req.Header.Set("Origin", "http://evil.test")
	if r := do(t, http.DefaultClient, req); r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("preflight allowed a foreign origin for a named client")
	}
	if r.header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatal("credentials allowed")
	}
}

// TestHeadlessMagicLinkChallenge: POST /api/v2/magic-link-challenge
// through the management API, then the link, then the code exchange with
// the management token.
func TestHeadlessMagicLinkChallenge(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mgmtURL, bearer := e.managementAPI(t)
	ch := func(body map[string]any) *resp {
		return e.postJSON(http.DefaultClient, mgmtURL+"/api/v2/magic-link-challenge", body, "Authorization", bearer)
	}
	if r := e.postJSON(http.DefaultClient, mgmtURL+"/api/v2/magic-link-challenge", map[string]any{"user_email": userEmail}); r.status != 401 {
		t.Fatalf("no token: %d", r.status)
	}
	if r := ch(map[string]any{"user_email": userEmail, "redirect_uri": "https://evil.test/cb"}); r.status != 422 {
		t.Fatalf("unregistered redirect: %d %s", r.status, r.body)
	}
	if r := ch(map[string]any{"user_email": "ghost@acme.test", "redirect_uri": webRedirect}); r.status != 422 {
		t.Fatalf("unknown user without find_or_create: %d %s", r.status, r.body)
	}
	r := ch(map[string]any{"user_email": userEmail, "redirect_uri": webRedirect})
	if r.status != http.StatusCreated {
		t.Fatalf("challenge: %d %s", r.status, r.body)
	}
	m := r.json(t)
	if m["__type__"] != "MagicLinkChallenge" || m["__domain__"] != e.org.Domain || m["email_address"] != userEmail ||
		m["request_id"] == "" || m["code"] != nil || !strings.HasPrefix(m["magic_link"].(string), e.base+"/magic-link/verify/") {
		t.Fatalf("answer %v", m)
	}
	link := m["magic_link"].(string)
	c := e.newBrowser()
	confirm := e.get(c, link)
	_, csrf, _ := form(t, confirm.body)
	done := e.postForm(c, link, url.Values{"csrf_token": {csrf}})
	if done.status != http.StatusSeeOther {
		t.Fatalf("consume: %d %s", done.status, done.body)
	}
	cb := done.location(t)
	if cb.Query().Get("request_id") != m["request_id"] || !strings.HasPrefix(cb.String(), webRedirect) {
		t.Fatalf("callback %s", cb)
	}
	code := cb.Query().Get("code")
	// A key that does not manage the organization cannot redeem it.
	other, otherSecret, err := e.ids.CreateCredential(ctx, identity.Credential{Name: "other", Permissions: []string{"*"},
		ManagedOrgs: []string{"someone-else"}, Environment: identity.Production}, "")
	if err != nil {
		t.Fatal(err)
	}
	otr := e.postForm(http.DefaultClient, mgmtURL+"/api/v2/oauth/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {other.ID}, "client_secret": {otherSecret}})
	oauthErr(t, e.postForm(http.DefaultClient, e.base+"/oauth/token", url.Values{"grant_type": {"authorization_code"},
		"code": {code}}, "Authorization", "Bearer "+otr.json(t)["access_token"].(string)), 400, errInvalidGrant)
	// Without credentials: refused; with the management token: tokens.
	oauthErr(t, e.postForm(http.DefaultClient, e.base+"/oauth/token", url.Values{"grant_type": {"authorization_code"},
		"code": {code}}), 401, errInvalidClient)
	ok := e.postForm(http.DefaultClient, e.base+"/oauth/token", url.Values{"grant_type": {"authorization_code"},
		"code": {code}}, "Authorization", bearer)
	if ok.status != 200 || ok.json(t)["access_token"] == nil {
		t.Fatalf("headless exchange: %d %s", ok.status, ok.body)
	}
	// find_or_create_user creates the user at sign-in.
	r = ch(map[string]any{"user_email": "fresh@acme.test", "redirect_uri": webRedirect, "find_or_create_user": true})
	if r.status != http.StatusCreated {
		t.Fatalf("find_or_create: %d %s", r.status, r.body)
	}
	link = r.json(t)["magic_link"].(string)
	confirm = e.get(c, link)
	_, csrf, _ = form(t, confirm.body)
	if d := e.postForm(c, link, url.Values{"csrf_token": {csrf}}); d.status != http.StatusSeeOther {
		t.Fatalf("consume: %d", d.status)
	}
	if _, err := e.ids.GetUserByEmail(ctx, e.org.Domain, "fresh@acme.test"); err != nil {
		t.Fatal(err)
	}
}

// TestSandboxIsolation: a sandbox application's tokens are signed for the
// sandbox (dbs) and its codes are not redeemable as production ones.
func TestSandboxApplication(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sb, err := e.ids.ForEnvironment(identity.Sandbox)
	if err != nil {
		t.Fatal(err)
	}
	app, _, err := sb.CreateApplication(ctx, e.org.Domain, identity.Application{Name: "sb", ApplicationType: identity.AppVue,
		AllowedRedirectURLs: []string{"http://sb.test/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sb.CreateUser(ctx, e.org.Domain, identity.User{Email: userEmail, Enabled: true}, ""); err != nil {
		t.Fatal(err)
	}
	v, ch := pkce("s")
	q := url.Values{"response_type": {"code"}, "client_id": {app.ClientID}, "redirect_uri": {"http://sb.test/cb"},
		"scope": {"openid"}, "code_challenge": {ch}, "code_challenge_method": {"S256"}}
	// The sandbox application signs in at the sandbox issuer.
	loc := e.magicLogin(e.newBrowser(), e.sandboxIssuer()+"/authorize?"+q.Encode(), userEmail)
	code := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "code_verifier": {v},
		"client_id": {app.ClientID}, "redirect_uri": {"http://sb.test/cb"}}
	// Not redeemable at the production issuer: the client is unknown there.
	oauthErr(t, e.postForm(http.DefaultClient, e.issuer()+"/oauth/token", code), http.StatusUnauthorized, "invalid_client")
	r := e.postForm(http.DefaultClient, e.sandboxIssuer()+"/oauth/token", code)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	ver, _ := e.tok.NewVerifier(tokens.VerifierConfig{SkipAudience: true, Environments: []identity.Environment{identity.Sandbox}})
	c, err := ver.Verify(ctx, r.json(t)["access_token"].(string))
	if err != nil || c.Database != "sandbox" || c.Issuer != e.sandboxIssuer() {
		t.Fatalf("claims %+v %v", c, err)
	}
	def, _ := e.tok.NewVerifier(tokens.VerifierConfig{SkipAudience: true})
	if _, err := def.Verify(ctx, r.json(t)["access_token"].(string)); err == nil {
		t.Fatal("a default verifier accepted a sandbox token")
	}
}

// TestOIDCCodeNeedsRedirectURIEverywhere: a code of the standard
// authorization endpoint is redeemed only with its redirect_uri (RFC 6749
// §4.1.3), at the standard token endpoint and at Cryptr's token URLs
// alike; a refused redemption spends nothing.
func TestOIDCCodeNeedsRedirectURIEverywhere(t *testing.T) {
	e := newEnv(t)
	for _, tokenURL := range []string{e.base + "/oauth/token", e.base + "/org/" + e.org.Domain + "/oauth2/token", e.issuer() + "/oauth/token"} {
		code, v := e.spaCode(e.newBrowser())
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {v}, "client_id": {e.spa.ClientID}}
		if r := e.postForm(http.DefaultClient, tokenURL, form); r.status != http.StatusBadRequest || r.json(t)["error"] != "invalid_request" {
			t.Fatalf("%s without redirect_uri: %d %s", tokenURL, r.status, r.body)
		}
		form.Set("redirect_uri", spaRedirect)
		if r := e.postForm(http.DefaultClient, tokenURL, form); r.status != http.StatusOK {
			t.Fatalf("%s with redirect_uri: %d %s", tokenURL, r.status, r.body)
		}
	}
}
