package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/testkit"
)

// scopeHarness is the harness with two more organizations (alpha, beta),
// an application of beta, and a way to mint API keys of any scope.
type scopeHarness struct {
	*harness
	a       *app
	betaApp string // a confidential application of beta
}

func newScopeHarness(t *testing.T) *scopeHarness {
	t.Helper()
	dir := t.TempDir()
	cfg, err := parseConfig([]string{"-store", "memory:", "-addr", "127.0.0.1:1", "-base-url", "http://gatehouse.test",
		"-master-key", hMasterID + ":" + hMasterSecret, "-monitoring-token", hMonitoring, "-mail-dir", dir}, noenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testkit.Buffer{}
	a, err := build(context.Background(), cfg, slog.New(slog.NewTextHandler(logs, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	hx := &harness{t: t, h: a.Handler(), logs: logs, mailDir: dir}
	hx.setup()
	sh := &scopeHarness{harness: hx, a: a}
	for _, name := range []string{"Alpha", "Beta"} {
		hx.must(201, "POST", "/api/v2/organizations", "application/json", `{"name":"`+name+`"}`, sh.master()...)
	}
	app := hx.must(201, "POST", "/api/v2/org/beta/applications", "application/json",
		`{"name":"beta web","application_type":"regular_web","allowed_redirect_urls":["https://private.beta.test/cb"]}`, sh.master()...)
	sh.betaApp = app["client_id"].(string)
	return sh
}

func (sh *scopeHarness) master() []string { return []string{"Authorization", "Bearer " + sh.mgmt} }

// key creates an API key and returns the Authorization header of a
// management token for it.
func (sh *scopeHarness) key(env identity.Environment, orgs ...string) []string {
	sh.t.Helper()
	c, secret, err := sh.a.envs[identity.Production].CreateCredential(context.Background(),
		identity.Credential{Name: "scoped", Environment: env, Permissions: []string{"*"}, ManagedOrgs: orgs}, "")
	if err != nil {
		sh.t.Fatal(err)
	}
	tok := sh.must(200, "POST", "/api/v2/oauth/token", "application/x-www-form-urlencoded",
		url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ID}, "client_secret": {secret}}.Encode())
	return []string{"Authorization", "Bearer " + tok["access_token"].(string)}
}

// snapshot is what the master key reads of the organizations, their
// applications and SSO connections: a refused request must leave it as it
// was.
func (sh *scopeHarness) snapshot() string {
	sh.t.Helper()
	var b strings.Builder
	for _, p := range []string{"/api/v2/organizations?per_page=100", "/api/v2/org/alpha/applications?per_page=100",
		"/api/v2/org/beta/applications?per_page=100", "/api/v2/sso-connections?per_page=100&preload_associations=default_redirection"} {
		w := sh.do("GET", p, "", nil, sh.master()...)
		if w.Code != 200 {
			sh.t.Fatalf("GET %s: %d %s", p, w.Code, w.Body)
		}
		b.WriteString(w.Body.String())
	}
	return b.String()
}

func clientCredentials(sh *scopeHarness, org, id, secret string) (int, map[string]any) {
	w := sh.do("POST", "/t/"+org+"/oauth/token", "application/x-www-form-urlencoded", []byte(url.Values{
		"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}.Encode()))
	var m map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &m)
	return w.Code, m
}

// TestLimitedKeyMachineAppServesOnlyItsOrganizations (issue 10, breach
// 2a): a machine application made by a key that manages alpha gets
// client_credentials tokens for alpha only, never at /t/beta.
func TestLimitedKeyMachineAppServesOnlyItsOrganizations(t *testing.T) {
	sh := newScopeHarness(t)
	alpha := sh.key(identity.Production, "alpha")
	m := sh.must(201, "POST", "/api/v2/org/alpha/applications", "application/json", `{"name":"m","application_type":"machine"}`, alpha...)
	id, secret := m["client_id"].(string), m["client_secret"].(string)
	if code, _ := clientCredentials(sh, "alpha", id, secret); code != 200 {
		t.Fatalf("token for alpha: %d", code)
	}
	// At another organization's issuer the client is unknown: the same
	// answer as a client id that does not exist.
	for _, org := range []string{"beta", sh.org} {
		code, body := clientCredentials(sh, org, id, secret)
		ucode, ubody := clientCredentials(sh, org, "00000000-0000-0000-0000-000000000000", secret)
		if code != 401 || body["error"] != "invalid_client" || code != ucode || !reflect.DeepEqual(body, ubody) {
			t.Errorf("client_credentials at /t/%s with an alpha key's app: %d %v; unknown client: %d %v", org, code, body, ucode, ubody)
		}
	}
	// Legitimate: a key that manages alpha and beta makes an app that
	// serves both.
	both := sh.key(identity.Production, "alpha", "beta")
	m = sh.must(201, "POST", "/api/v2/org/alpha/applications", "application/json", `{"name":"m2","application_type":"machine"}`, both...)
	for _, org := range []string{"alpha", "beta"} {
		if code, body := clientCredentials(sh, org, m["client_id"].(string), m["client_secret"].(string)); code != 200 {
			t.Errorf("token for %s with an alpha+beta key's app: %d %v", org, code, body)
		}
	}
	if code, _ := clientCredentials(sh, sh.org, m["client_id"].(string), m["client_secret"].(string)); code != 401 {
		t.Errorf("token for %s with an alpha+beta key's app: %d", sh.org, code)
	}
}

// TestLimitedKeyCannotScopeAnAppToAnotherOrganization (issue 10, breach
// 2b): organization_domain_scope may only name an organization the key
// manages, and beta's hosted login never serves an app of an alpha key.
func TestLimitedKeyCannotScopeAnAppToAnotherOrganization(t *testing.T) {
	sh := newScopeHarness(t)
	alpha := sh.key(identity.Production, "alpha")
	before := sh.snapshot()
	body := `{"name":"evil","application_type":"regular_web","organization_domain_scope":"beta","allowed_redirect_urls":["https://evil.test/cb"]}`
	for _, method := range []string{"POST"} {
		if w := sh.do(method, "/api/v2/org/alpha/applications", "application/json", []byte(body), alpha...); w.Code != 422 {
			t.Errorf("%s an app scoped to beta with an alpha key: %d %s", method, w.Code, w.Body)
		}
	}
	if after := sh.snapshot(); after != before {
		t.Errorf("a refused request changed state")
	}
	// An app of the alpha key, scoped later to beta: refused too.
	app := sh.must(201, "POST", "/api/v2/org/alpha/applications", "application/json",
		`{"name":"evil","application_type":"regular_web","allowed_redirect_urls":["https://evil.test/cb"]}`, alpha...)
	id := app["client_id"].(string)
	before = sh.snapshot()
	if w := sh.do("PUT", "/api/v2/org/alpha/applications/"+id, "application/json", []byte(`{"organization_domain_scope":"beta"}`), alpha...); w.Code != 422 {
		t.Errorf("scoping an app to beta with an alpha key: %d %s", w.Code, w.Body)
	}
	if after := sh.snapshot(); after != before {
		t.Errorf("a refused update changed state")
	}
	// Beta's hosted login refuses the alpha key's app.
	q := url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {"https://evil.test/cb"}, "scope": {"openid"},
		"state": {"s"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}
	// The app is unknown at beta's issuer: the error page of an unknown
	// client id, never a redirect to the app.
	w := sh.do("GET", "/t/beta/authorize?"+q.Encode(), "", nil)
	uq := url.Values{}
	for k, v := range q {
		uq[k] = v
	}
	uq.Set("client_id", "00000000-0000-0000-0000-000000000000")
	uw := sh.do("GET", "/t/beta/authorize?"+uq.Encode(), "", nil)
	if loc := w.Header().Get("Location"); w.Code != 400 || loc != "" || w.Code != uw.Code || !samePage(w.Body.String(), uw.Body.String()) {
		t.Errorf("beta's authorize with an alpha key's app: %d Location %q %.300s; unknown client: %d %.300s", w.Code, loc, w.Body, uw.Code, uw.Body)
	}
	if w := sh.do("GET", "/t/alpha/authorize?"+q.Encode(), "", nil); w.Code >= 400 || strings.Contains(w.Header().Get("Location"), "error=") {
		t.Errorf("alpha's authorize with its own app: %d %s", w.Code, w.Header().Get("Location"))
	}
	// Legitimate: a key managing alpha and beta scopes its app to beta.
	both := sh.key(identity.Production, "alpha", "beta")
	sh.must(201, "POST", "/api/v2/org/alpha/applications", "application/json", body, both...)
}

// TestLimitedKeySSORedirectionStaysInItsOrganization (issue 10, breach
// 2c, 2d): a connection's default redirection only goes to an application
// of its organization; another organization's application and an unknown
// id answer alike (404), on create and on POST .../default-redirection.
func TestLimitedKeySSORedirectionStaysInItsOrganization(t *testing.T) {
	sh := newScopeHarness(t)
	alpha := sh.key(identity.Production, "alpha")
	own := sh.must(201, "POST", "/api/v2/org/alpha/applications", "application/json",
		`{"name":"own","application_type":"regular_web","allowed_redirect_urls":["https://alpha.test/cb"]}`, alpha...)
	ownID := own["client_id"].(string)
	before := sh.snapshot()
	var bodies []string
	for _, appID := range []string{sh.betaApp, "0190f1c2-0000-7000-8000-000000000000"} {
		w := sh.do("POST", "/api/v2/org/alpha/sso-connections", "application/json", []byte(`{"application_id":"`+appID+`"}`), alpha...)
		if w.Code != 404 || strings.Contains(w.Body.String(), "private.beta.test") {
			t.Errorf("create a connection redirecting to %s: %d %s", appID, w.Code, w.Body)
		}
		bodies = append(bodies, w.Body.String())
	}
	if bodies[0] != bodies[1] {
		t.Errorf("foreign and unknown applications answer differently:\n%s\n%s", bodies[0], bodies[1])
	}
	if after := sh.snapshot(); after != before {
		t.Errorf("a refused create changed state")
	}
	conn := sh.must(201, "POST", "/api/v2/org/alpha/sso-connections", "application/json", `{"application_id":"`+ownID+`"}`, alpha...)
	idp := conn["id"].(string)
	before = sh.snapshot()
	bodies = bodies[:0]
	for _, appID := range []string{sh.betaApp, "0190f1c2-0000-7000-8000-000000000000"} {
		w := sh.do("POST", "/api/v2/sso-connections/"+idp+"/default-redirection", "application/json", []byte(`{"application_id":"`+appID+`"}`), alpha...)
		if w.Code != 404 || strings.Contains(w.Body.String(), "private.beta.test") {
			t.Errorf("redirect to %s: %d %s", appID, w.Code, w.Body)
		}
		bodies = append(bodies, w.Body.String())
	}
	if bodies[0] != bodies[1] {
		t.Errorf("foreign and unknown applications answer differently:\n%s\n%s", bodies[0], bodies[1])
	}
	if after := sh.snapshot(); after != before {
		t.Errorf("a refused redirection changed state")
	}
	// The master key cannot cross organizations either.
	if w := sh.do("POST", "/api/v2/sso-connections/"+idp+"/default-redirection", "application/json",
		[]byte(`{"application_id":"`+sh.betaApp+`"}`), sh.master()...); w.Code != 404 {
		t.Errorf("master key: redirect alpha's connection to beta's app: %d %s", w.Code, w.Body)
	}
	w := sh.do("POST", "/api/v2/sso-connections/"+idp+"/default-redirection", "application/json", []byte(`{"application_id":"`+ownID+`"}`), alpha...)
	if w.Code != 201 {
		t.Errorf("redirect to its own app: %d %s", w.Code, w.Body)
	}
}

// TestSandboxKeyCannotChangeOrganizations (issue 10, breach 3): a sandbox
// key reads organizations but cannot create or change them.
func TestSandboxKeyCannotChangeOrganizations(t *testing.T) {
	sh := newScopeHarness(t)
	sandbox := sh.key(identity.Sandbox, "*")
	before := sh.snapshot()
	for _, c := range []struct{ method, path, body string }{
		{"PUT", "/api/v2/organizations/" + sh.org, `{"allowed_email_domains":["evil.test"]}`},
		{"PATCH", "/api/v2/organizations/" + sh.org, `{"name":"Owned"}`},
		{"POST", "/api/v2/organizations/" + sh.org, `{"name":"Owned"}`},
		{"POST", "/api/v2/organizations", `{"name":"Sandbox Made"}`},
	} {
		w := sh.do(c.method, c.path, "application/json", []byte(c.body), sandbox...)
		var e map[string]any
		if w.Code != 403 || json.Unmarshal(w.Body.Bytes(), &e) != nil || e["error"] == nil {
			t.Errorf("%s %s with a sandbox key: %d %s", c.method, c.path, w.Code, w.Body)
		}
	}
	if after := sh.snapshot(); after != before {
		t.Errorf("a sandbox key changed production organizations")
	}
	if w := sh.do("GET", "/api/v2/organizations/"+sh.org, "", nil, sandbox...); w.Code != http.StatusOK {
		t.Errorf("a sandbox key reads an organization: %d", w.Code)
	}
	// The sandbox directory inside the organization stays writable.
	sh.must(201, "POST", "/api/v2/org/"+sh.org+"/users", "application/json", `{"profile":{"email":"sand@acme.test"}}`, sandbox...)
}

// TestSandboxCrafterTokenCannotChangeOrganizations (issue 10, breach 3,
// Crafter face): a sandbox master access token cannot create a tenant (an
// organization record, shared with production) nor delete one (which
// deletes the organization record): both are 403 ACTION_DENIED and
// nothing changes.
func TestSandboxCrafterTokenCannotChangeOrganizations(t *testing.T) {
	hx := newHarness(t, "memory:", "-master-env", "sandbox")
	ctx := context.Background()
	w := hx.do("POST", "/api/1/tenant/create.json?accessTokenId="+hMasterSecret, "application/json", []byte(`{"name":"sandboxed"}`))
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "ACTION_DENIED") {
		t.Errorf("tenant create with a sandbox token: %d %s", w.Code, w.Body)
	}
	if _, err := hx.prod.GetOrganization(ctx, "sandboxed"); err == nil {
		t.Errorf("a sandbox token created an organization")
	}
	before, err := hx.prod.GetOrganization(ctx, hx.org)
	if err != nil {
		t.Fatal(err)
	}
	if w := hx.do("POST", "/api/1/tenant/"+hx.org+"/delete.json?accessTokenId="+hMasterSecret, "application/x-www-form-urlencoded", nil); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "ACTION_DENIED") {
		t.Errorf("tenant delete with a sandbox token: %d %s", w.Code, w.Body)
	}
	after, err := hx.prod.GetOrganization(ctx, hx.org)
	if err != nil || !reflect.DeepEqual(before, after) {
		t.Errorf("a sandbox tenant delete changed the organization: %v %+v", err, after)
	}
}

// pageNonce matches the per-answer CSP nonce of a hosted page.
var pageNonce = regexp.MustCompile(`nonce="[^"]*"`)

// samePage reports whether two hosted pages are the same but for their
// CSP nonces.
func samePage(a, b string) bool {
	return pageNonce.ReplaceAllString(a, "") == pageNonce.ReplaceAllString(b, "")
}
