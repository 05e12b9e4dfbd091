package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/testkit"
)

// Fixed bootstrap secrets of the in-process harness.
const (
	hMasterID     = "master"
	hMasterSecret = "harness-master-secret-0123456789"
	hMonitoring   = "harness-monitoring-token-0123456789"
	bobPassword   = "correct horse battery"
)

// harness is the assembled handler of every face, in process, with an
// organization, a user, applications and a Crafter profile to aim at.
type harness struct {
	t        testing.TB
	a        *app
	h        http.Handler
	logs     *testkit.Buffer
	mailDir  string
	mgmt     string // Cryptr management token of the master key
	org      string // organization domain = Crafter tenant
	userID   string // Cryptr user id
	webID    string // confidential application
	webSecr  string
	spaID    string // public application
	profile  string // Crafter profile id
	appToken string // Crafter application access token
	idp      string // SSO connection id, being onboarded
	portal   string // Cookie header of an open SSO portal session
	portalTk string // its CSRF token (form field csrf)
	// prod creates the organization when the master key is a sandbox key
	// (organizations change only through production); nil otherwise.
	prod *identity.Service
}

// newHarness builds the server on store; extra flags override the defaults.
func newHarness(t testing.TB, store string, extra ...string) *harness {
	t.Helper()
	dir := t.TempDir()
	cfg, err := parseConfig(append([]string{"-store", store, "-addr", "127.0.0.1:1", "-base-url", "http://gatehouse.test",
		"-master-key", hMasterID + ":" + hMasterSecret, "-monitoring-token", hMonitoring, "-mail-dir", dir}, extra...), noenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testkit.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := build(context.Background(), cfg, logger, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	hx := &harness{t: t, a: a, h: a.Handler(), logs: logs, mailDir: dir}
	if cfg.MasterEnv == string(identity.Sandbox) {
		hx.prod = a.envs[identity.Production]
	}
	hx.setup()
	return hx
}

// do sends one request to the handler.
func (hx *harness) do(method, target, ct string, body []byte, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "http://gatehouse.test"+target, bytes.NewReader(body))
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	hx.h.ServeHTTP(w, r)
	return w
}

// must sends a request and decodes its JSON answer, failing on another status.
func (hx *harness) must(status int, method, target, ct, body string, hdr ...string) map[string]any {
	hx.t.Helper()
	w := hx.do(method, target, ct, []byte(body), hdr...)
	if w.Code != status {
		hx.t.Fatalf("%s %s: %d, want %d: %s", method, target, w.Code, status, w.Body)
	}
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		hx.t.Fatalf("%s %s: not a JSON object: %s", method, target, w.Body)
	}
	return m
}

func (hx *harness) setup() {
	tok := hx.must(200, "POST", "/api/v2/oauth/token", "application/x-www-form-urlencoded",
		url.Values{"grant_type": {"client_credentials"}, "client_id": {hMasterID}, "client_secret": {hMasterSecret},
			"domain": {"gatehouse"}}.Encode())
	hx.mgmt = tok["access_token"].(string)
	bearer := []string{"Authorization", "Bearer " + hx.mgmt}
	var org map[string]any
	if hx.prod != nil {
		acme := "Acme"
		o, err := hx.prod.CreateOrganization(context.Background(), identity.OrganizationInput{Name: &acme,
			AllowedEmailDomains: &[]string{"acme.test"}})
		if err != nil {
			hx.t.Fatal(err)
		}
		org = map[string]any{"domain": o.Domain, "id": o.ID}
	} else {
		org = hx.must(201, "POST", "/api/v2/organizations", "application/json",
			`{"name":"Acme","allowed_email_domains":["acme.test"]}`, bearer...)
	}
	hx.org = org["domain"].(string)
	u := hx.must(201, "POST", "/api/v2/org/"+hx.org+"/users", "application/json",
		`{"profile":{"email":"jane@acme.test","given_name":"Jane"}}`, bearer...)
	hx.userID = u["id"].(string)
	web := hx.must(201, "POST", "/api/v2/org/"+hx.org+"/applications", "application/json",
		`{"name":"web","application_type":"regular_web","allowed_redirect_urls":["https://web.acme.test/cb"]}`, bearer...)
	hx.webID, _ = web["client_id"].(string)
	hx.webSecr, _ = web["client_secret"].(string)
	spa := hx.must(201, "POST", "/api/v2/org/"+hx.org+"/applications", "application/json",
		`{"name":"spa","application_type":"react","allowed_redirect_urls":["https://spa.acme.test/cb"],"allowed_origins_cors":["https://spa.acme.test"],"allowed_web_origins":["https://spa.acme.test"],"allowed_logout_urls":["https://spa.acme.test/bye"]}`, bearer...)
	hx.spaID = spa["client_id"].(string)
	at := hx.must(200, "POST", "/api/1/access_token/create.json?accessTokenId="+hMasterSecret, "application/json",
		`{"application":"fuzz-app","master":false,"tenantPermissions":[{"tenant":"*","allowedActions":["*"]}]}`)
	hx.appToken = at["id"].(string)
	p := hx.must(200, "POST", "/api/1/profile/create.json", "application/x-www-form-urlencoded",
		url.Values{"accessTokenId": {hx.appToken}, "tenantName": {hx.org}, "username": {"bob"},
			"password": {bobPassword}, "email": {"bob@acme.test"}, "enabled": {"true"}}.Encode())
	hx.profile = p["id"].(string)
	conn := hx.must(201, "POST", "/api/v2/sso-connections", "application/json", `{"organization_id":"`+org["id"].(string)+
		`","application_id":"`+hx.webID+`","sso_admin_email":"it@acme.test","send_email":true}`, bearer...)
	hx.idp = conn["id"].(string)
	hx.openPortal()
}

var (
	reSetupLink = regexp.MustCompile(`https?://[^\s"<>]+/enterprise-setup/[A-Za-z0-9_-]{43}`)
	rePortalTok = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// openPortal follows the invitation's setup link like a browser and keeps
// the portal session's cookies and CSRF token.
func (hx *harness) openPortal() {
	hx.t.Helper()
	var link string
	for deadline := time.Now().Add(10 * time.Second); link == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		names, _ := filepath.Glob(filepath.Join(hx.mailDir, "*.eml"))
		for _, n := range names {
			if strings.HasPrefix(filepath.Base(n), ".") { // the mailer's temporary file
				continue
			}
			raw, _ := os.ReadFile(n)
			dec, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
			if err != nil {
				dec = raw
			}
			if m := reSetupLink.FindString(string(dec)); m != "" {
				link = m
			}
		}
	}
	if link == "" {
		hx.t.Fatal("no invitation mail")
	}
	path := link[strings.Index(link, "/enterprise-setup/"):]
	start := hx.do("GET", path, "", nil)
	m := rePortalTok.FindStringSubmatch(start.Body.String())
	if m == nil {
		hx.t.Fatalf("start page: %d %s", start.Code, start.Body)
	}
	cookies := func(w *httptest.ResponseRecorder) string {
		var c []string
		for _, ck := range w.Result().Cookies() {
			if ck.MaxAge >= 0 {
				c = append(c, ck.Name+"="+ck.Value)
			}
		}
		return strings.Join(c, "; ")
	}
	open := hx.do("POST", path, "application/x-www-form-urlencoded", []byte("csrf="+url.QueryEscape(m[1])), "Cookie", cookies(start))
	if open.Code != http.StatusSeeOther {
		hx.t.Fatalf("opening the portal: %d %s", open.Code, open.Body)
	}
	hx.portal = cookies(open)
	page := hx.do("GET", "/enterprise-setup/provider", "", nil, "Cookie", hx.portal)
	tok := rePortalTok.FindStringSubmatch(page.Body.String())
	if page.Code != 200 || tok == nil {
		hx.t.Fatalf("portal: %d %s", page.Code, page.Body)
	}
	hx.portalTk = tok[1]
}

// routes returns a concrete path for every route pattern of every face.
func (hx *harness) routes() []string {
	cryptr := []string{
		"/api/v2/oauth/token", "/api/v2/organizations", "/api/v2/organizations/{domain}",
		"/api/v2/org/{domain}/users", "/api/v2/org/{domain}/users/{user_id}", "/api/v2/org/{domain}/user-by-email/jane@acme.test",
		"/api/v2/org/{domain}/applications", "/api/v2/org/{domain}/applications/{client_id}",
		"/api/v2/org/{domain}/token-customization/user-metakey", "/api/v2/org/{domain}/token-customization/set-user-metadata",
		"/api/v2/org/{domain}/token-customization/sample", "/api/v2/org/{domain}/log-events",
		"/api/v2/org/{domain}/sso-connections", "/api/v2/org/{domain}/widgets", "/api/v2/sso-connections",
		"/api/v2/sso-connections/{idp_id}", "/api/v2/sso-connections/{idp_id}/default-redirection",
		"/api/v2/sso-connections/{idp_id}/activate", "/api/v2/sso-connections/{idp_id}/admin-onboarding",
		"/api/v2/sso-connections/{idp_id}/disable", "/api/v2/sso-connections/{idp_id}/reset-onboarding",
		"/api/v2/sso-connections/{idp_id}/invite-admin", "/api/v2/sso-connections/{idp_id}/sso-user-policy",
		"/api/v2/magic-link-challenge",
	}
	oidc := []string{
		"/", "/a/{domain}/", "/t/{domain}/", "/t/{domain}/.well-known", "/t/{domain}/.well-known/jwks",
		"/t/{domain}/.well-known/openid-configuration", "/t/{domain}/authorize", "/t/{domain}/login", "/t/{domain}/logout",
		"/t/{domain}/oauth/introspect", "/t/{domain}/oauth/revoke", "/t/{domain}/oauth/token", "/t/{domain}/userinfo",
		"/t/{domain}/en/st/signin/new", "/t/{domain}/fr/st/signup/new", "/login", "/oauth/token", "/oauth/revoke",
		"/org/{domain}/oauth2/token", "/magic-link/verify/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"/api/v1/tenants/{domain}/{client_id}/oauth/token/revoke",
		"/api/v1/tenants/{domain}/{client_id}/oauth/token/slo-after-revoke-token",
		"/api/v1/tenants/{domain}/{client_id}/st/oauth/client/token",
		"/api/v1/tenants/{domain}/{client_id}/st/oauth/signin/client/az/token",
		"/enterprise/{idp_id}/metadata", "/enterprise/{idp_id}/login", "/enterprise/{idp_id}/acs", "/enterprise/{idp_id}/slo",
		"/enterprise-setup/", "/enterprise-setup/provider", "/enterprise-setup/configure", "/enterprise-setup/metadata",
		"/enterprise-setup/test", "/enterprise-setup/test-result", "/enterprise-setup/sometoken", "/healthz", "/readyz",
	}
	crafter := []string{
		"access_token/create", "access_token/all", "access_token/{token}", "access_token/{token}/delete",
		"tenant/create", "tenant/update", "tenant/count", "tenant/all", "tenant/{domain}", "tenant/{domain}/delete",
		"tenant/{domain}/verify_new_profiles", "tenant/{domain}/roles/add", "tenant/{domain}/roles/remove",
		"tenant/{domain}/attribute_definitions/add", "tenant/{domain}/attribute_definitions/update",
		"tenant/{domain}/attribute_definitions/remove", "profile/create", "profile/verify", "profile/change_password",
		"profile/one_by_query", "profile/by_username", "profile/by_ticket", "profile/count", "profile/count_by_query",
		"profile/by_query", "profile/by_ids", "profile/range", "profile/by_role", "profile/by_existing_attribute",
		"profile/by_attribute_value", "profile/verification_token/x", "profile/verification_token/x/delete",
		"profile/{profile}", "profile/{profile}/update", "profile/{profile}/enable", "profile/{profile}/disable",
		"profile/{profile}/roles/add", "profile/{profile}/roles/remove", "profile/{profile}/attributes",
		"profile/{profile}/attributes/update", "profile/{profile}/attributes/remove", "profile/{profile}/delete",
		"profile/{profile}/verification_token/create", "profile/{profile}/reset_password",
		"profile/{profile}/uploadAttachment", "profile/{profile}/attachments/", "profile/{profile}/attachment/a/details",
		"profile/{profile}/attachment/a", "authentication/authenticate", "authentication/ticket/create",
		"authentication/ticket/x", "authentication/ticket/x/invalidate", "authentication/persistent_login/create",
		"authentication/persistent_login/x", "authentication/persistent_login/x/refresh_token",
		"authentication/persistent_login/x/delete", "monitoring/status", "monitoring/memory",
	}
	var out []string
	out = append(out, cryptr...)
	out = append(out, oidc...)
	for _, c := range crafter {
		out = append(out, "/api/1/"+c+".json", "/api/1/"+c)
	}
	r := strings.NewReplacer("{domain}", hx.org, "{user_id}", hx.userID, "{client_id}", hx.spaID,
		"{idp_id}", hx.idp, "{profile}", hx.profile, "{token}", hx.appToken)
	for i := range out {
		out[i] = r.Replace(out[i])
	}
	return out
}
