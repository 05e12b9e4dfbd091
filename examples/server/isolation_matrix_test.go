package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/testkit"
)

// The isolation matrix walks every route of every face (the Cryptr API
// /api/v2, the Crafter API /api/1, the OIDC provider and the SSO endpoints)
// with three attacker credentials aimed at a victim organization "beta"
// (production):
//
//   - other-org: credentials of another organization "alpha" (a Cryptr API
//     key managing only alpha, a Crafter token with tenant permissions for
//     alpha only, alpha's applications and users);
//   - sandbox: credentials of the other environment (a sandbox key that
//     manages every organization and is a Crafter master, sandbox
//     applications and users inside beta);
//   - limited: a key of beta's own environment limited in action (a
//     read-only Cryptr key, a READ_TENANT-only Crafter token, beta's public
//     client) trying writes.
//
// Each request must answer within its face's error format, never 5xx, never
// leak the victim's data, and leave the victim's state as it was: the test
// digests the store (everything production and account-wide, except audit
// events, rate-limit counters and anonymous pending requests) before and
// after each request. Routes are enumerated from the faces' own route
// tables, so a new route fails the "coverage" subtest until it has a case.

// Attacker kinds.
const (
	otherOrg = "other-org"
	sandbox  = "sandbox"
	limited  = "limited"
	oneAct   = "one-action" // a Cryptr key of beta granted read:users only
	public   = "anonymous"
)

// Status sets.
var (
	want404       = []int{404}
	want403       = []int{403}
	wantRefused   = []int{400, 401, 403, 404} // OAuth endpoints and pages: any refusal
	wantNotFound  = []int{400, 404}           // Crafter answers some unknown ids with 400 NO_SUCH_*
	wantCrafterNo = []int{400, 403, 404}      // Crafter: denied on the tenant, or unknown
)

// mcase is one request of the matrix.
type mcase struct {
	face     string // cryptr, crafter, oidc, sso
	route    string // the route pattern as its table spells it
	attacker string
	detail   string // what the request tries, when a route has several cases
	method   string
	path     string
	ct       string
	body     string
	hdr      []string
	// want lists the acceptable statuses; nil accepts any status below 500
	// (the state digest and the leak check still apply).
	want []int
	// prep runs before the state is taken and may fill path, body and hdr
	// (a fresh victim session, a login form); skip != "" means the request
	// cannot be made because an earlier step already refused (a pass).
	prep func(c *mcase) (skip string)
	// check inspects the answer further.
	check func(t *testing.T, w *httptest.ResponseRecorder)
	// unknownPath and unknownBody, when set, are the same request with
	// unknown ids instead of the victim's: both must answer alike.
	unknownPath, unknownBody string
}

func (c *mcase) name() string {
	n := c.face + " " + c.route + " as " + c.attacker
	if c.detail != "" {
		n += " (" + c.detail + ")"
	}
	return n
}

// appCred is an OAuth client.
type appCred struct{ id, secret, redirect string }

// userToks are an end user's OIDC tokens.
type userToks struct{ access, refresh, id string }

// actor holds the credentials of one attacker (or of the victim).
type actor struct {
	kind     string
	mgmt     string // Cryptr management token
	keyID    string // Cryptr API key id and secret
	keySec   string
	crafter  string // Crafter accessTokenId
	web      appCred
	machine  appCred
	toks     userToks
	org      string // the organization its own things live in
	orgID    string
	idp      string   // an SSO connection of its own (other-org only)
	markers  []string // victim data this attacker must never receive
	authzEnv string   // issuer path prefix of its user tokens ("/t/" or "/sandbox/t/")
}

// matrix is the shared fixture: one server, a victim and three attackers.
type matrix struct {
	t    *testing.T
	a    *app
	hx   *harness
	beta struct {
		orgID, oid, userID, email, bobEmail, profile string
		web, spa                                     appCred
		idp, crafterTok, vtoken, ticket, plogin      string
		attachment                                   string
		toks                                         userToks
	}
	alpha struct{ orgID string }
	att   map[string]*actor
}

const (
	mxBase     = "http://gatehouse.test"
	bobPass    = "beta bob's correct horse"
	carolPass  = "alpha carol's correct horse"
	sboxPass   = "sandbox sam's correct horse"
	sboxSecret = "sandbox-master-secret-0123456789abcdef"
	otherSec   = "alpha-only-key-secret-0123456789abcdef"
	readSec    = "read-only-key-secret-0123456789abcdef"
	oneSec     = "read-users-key-secret-0123456789abcdef"
)

func newMatrix(t *testing.T) *matrix {
	t.Helper()
	dir := t.TempDir()
	cfg, err := parseConfig([]string{"-store", "memory:", "-addr", "127.0.0.1:1", "-base-url", mxBase,
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
	m := &matrix{t: t, a: a, hx: &harness{t: t, h: a.Handler(), logs: logs, mailDir: dir}, att: map[string]*actor{}}
	m.setup()
	return m
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// mgmtToken exchanges an API key for a management token.
func (m *matrix) mgmtToken(id, secret string) string {
	tok := m.hx.must(200, "POST", "/api/v2/oauth/token", "application/x-www-form-urlencoded",
		url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "domain": {"gatehouse"}}.Encode())
	return tok["access_token"].(string)
}

func (m *matrix) key(env identity.Environment, id, secret string, orgs, perms []string, master bool, tps []identity.TenantPermission) {
	m.t.Helper()
	svc := m.a.envs[env] // a credential is created by the service of its environment
	c := identity.Credential{ID: id, Name: id, Application: "matrix", Master: master, Environment: env,
		ManagedOrgs: orgs, Permissions: perms, TenantPermissions: tps}
	if _, _, err := svc.CreateCredential(context.Background(), c, secret); err != nil {
		m.t.Fatalf("credential %s: %v", id, err)
	}
}

func cookiesOf(w *httptest.ResponseRecorder, prev string) string {
	jar := map[string]string{}
	var order []string
	for _, p := range strings.Split(prev, "; ") {
		if k, v, ok := strings.Cut(p, "="); ok {
			jar[k] = v
			order = append(order, k)
		}
	}
	for _, ck := range w.Result().Cookies() {
		if _, ok := jar[ck.Name]; !ok {
			order = append(order, ck.Name)
		}
		if ck.MaxAge < 0 {
			delete(jar, ck.Name)
			continue
		}
		jar[ck.Name] = ck.Value
	}
	var out []string
	for _, k := range order {
		if v, ok := jar[k]; ok {
			out = append(out, k+"="+v)
		}
	}
	return strings.Join(slices.Compact(out), "; ")
}

// authorizeURL is an authorization request of app at issuer path iss.
func authorizeURL(iss string, app appCred) string {
	_, challenge := pkcePair(app.id)
	return iss + "/authorize?" + url.Values{"response_type": {"code"}, "client_id": {app.id}, "redirect_uri": {app.redirect},
		"scope": {"openid email offline_access"}, "state": {"s"}, "nonce": {"n"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}.Encode()
}

// loginForm opens an authorization request and returns the login form.
func (m *matrix) loginForm(target string) (action, csrf, request, cookie string, ok bool) {
	page := m.hx.do("GET", target, "", nil)
	body := page.Body.String()
	c, r, f := fuzzCSRF.FindStringSubmatch(body), fuzzRequest.FindStringSubmatch(body), reFormAction.FindStringSubmatch(body)
	if page.Code != 200 || c == nil || r == nil || f == nil {
		return "", "", "", "", false
	}
	return strings.ReplaceAll(f[1], "&amp;", "&"), c[1], html.UnescapeString(r[1]), cookiesOf(page, ""), true
}

// passwordLogin signs email in at issuer path iss through the hosted page
// and returns the session cookie and the callback's code and iss.
func (m *matrix) passwordLogin(iss string, app appCred, email, pw string) (cookie, code, issuer string) {
	m.t.Helper()
	action, csrf, req, cookie, ok := m.loginForm(authorizeURL(iss, app))
	if !ok {
		m.t.Fatalf("no login form at %s for %s", iss, app.id)
	}
	action = strings.TrimPrefix(action, mxBase)
	w := m.hx.do("POST", action, "application/x-www-form-urlencoded", []byte(url.Values{"csrf_token": {csrf},
		"request": {req}, "action": {"password"}, "email": {email}, "password": {pw}}.Encode()), "Cookie", cookie)
	loc, err := url.Parse(w.Header().Get("Location"))
	if w.Code != http.StatusSeeOther || err != nil || loc.Query().Get("code") == "" {
		m.t.Fatalf("password login of %s at %s: %d %s %s", email, iss, w.Code, w.Header().Get("Location"), w.Body)
	}
	return cookiesOf(w, cookie), loc.Query().Get("code"), loc.Query().Get("iss")
}

// userTokens signs a user in and exchanges the code.
func (m *matrix) userTokens(iss string, app appCred, email, pw string) userToks {
	m.t.Helper()
	_, code, issuer := m.passwordLogin(iss, app, email, pw)
	if issuer == "" {
		issuer = mxBase + iss
	}
	verifier, _ := pkcePair(app.id)
	tok := m.hx.must(200, "POST", strings.TrimPrefix(issuer, mxBase)+"/oauth/token", "application/x-www-form-urlencoded",
		url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {app.id}, "client_secret": {app.secret},
			"redirect_uri": {app.redirect}, "code_verifier": {verifier}}.Encode())
	u := userToks{access: tok["access_token"].(string)}
	u.refresh, _ = tok["refresh_token"].(string)
	u.id, _ = tok["id_token"].(string)
	return u
}

func (m *matrix) createApp(tok, org, name, typ, redirect string) appCred {
	m.t.Helper()
	body := fmt.Sprintf(`{"name":%q,"application_type":%q,"allowed_redirect_urls":[%q],"allowed_logout_urls":[%q]}`,
		name, typ, redirect, redirect+"/bye")
	switch typ {
	case "machine":
		body = fmt.Sprintf(`{"name":%q,"application_type":"machine"}`, name)
	case "react":
		u, _ := url.Parse(redirect)
		origin := u.Scheme + "://" + u.Host
		body = fmt.Sprintf(`{"name":%q,"application_type":"react","allowed_redirect_urls":[%q],"allowed_logout_urls":[%q],"allowed_origins_cors":[%q],"allowed_web_origins":[%q]}`,
			name, redirect, origin+"/bye", origin, origin)
	}
	a := m.hx.must(201, "POST", "/api/v2/org/"+org+"/applications", "application/json", body, bearer(tok)...)
	s, _ := a["client_secret"].(string)
	return appCred{id: a["client_id"].(string), secret: s, redirect: redirect}
}

func (m *matrix) crafterProfile(token, tenant, username, email, pw string) string {
	m.t.Helper()
	p := m.hx.must(200, "POST", "/api/1/profile/create.json", "application/x-www-form-urlencoded",
		url.Values{"accessTokenId": {token}, "tenantName": {tenant}, "username": {username},
			"password": {pw}, "email": {email}, "enabled": {"true"}}.Encode())
	return p["id"].(string)
}

func (m *matrix) setup() {
	m.t.Helper()
	hx := m.hx
	master := m.mgmtToken(hMasterID, hMasterSecret)
	mb := bearer(master)
	org := func(name, dom string) map[string]any {
		return hx.must(201, "POST", "/api/v2/organizations", "application/json",
			`{"name":"`+name+`","allowed_email_domains":["`+dom+`"]}`, mb...)
	}
	b := org("Beta", "beta.test")
	if b["domain"] != "beta" {
		m.t.Fatalf("victim organization: %v", b)
	}
	al := org("Alpha", "alpha.test")
	m.beta.orgID = b["id"].(string)
	m.alpha.orgID = al["id"].(string)
	m.beta.oid, _ = b["oid"].(string)

	// The victim: users, a metakey, applications, an SSO connection,
	// Crafter data, access tokens, and a signed-in user's OIDC tokens.
	m.beta.email = "jane@beta.test"
	u := hx.must(201, "POST", "/api/v2/org/beta/users", "application/json", `{"profile":{"email":"jane@beta.test","given_name":"Jane"}}`, mb...)
	m.beta.userID = u["id"].(string)
	hx.must(201, "POST", "/api/v2/org/beta/token-customization/user-metakey", "application/json",
		`{"user_metakey":{"name":"employee_id","type":"string","required":false}}`, mb...)
	m.beta.web = m.createApp(master, "beta", "beta web", "regular_web", "https://web.beta.test/cb")
	m.beta.spa = m.createApp(master, "beta", "beta spa", "react", "https://spa.beta.test/cb")
	conn := hx.must(201, "POST", "/api/v2/sso-connections", "application/json", `{"organization_id":"`+m.beta.orgID+
		`","application_id":"`+m.beta.web.id+`","sso_admin_email":"it@beta.test","send_email":false}`, mb...)
	m.beta.idp = conn["id"].(string)
	ct := hx.must(200, "POST", "/api/1/access_token/create.json?accessTokenId="+hMasterSecret, "application/json",
		`{"application":"beta-app","master":false,"tenantPermissions":[{"tenant":"beta","allowedActions":["*"]}]}`)
	m.beta.crafterTok = ct["id"].(string)
	victimTok := url.QueryEscape(m.beta.crafterTok)
	hx.must(200, "POST", "/api/1/tenant/beta/roles/add.json?accessTokenId="+hMasterSecret, "application/x-www-form-urlencoded", "role=ADMIN")
	hx.must(200, "POST", "/api/1/tenant/beta/attribute_definitions/add.json?accessTokenId="+hMasterSecret, "application/json",
		`[{"name":"nickname","metadata":{},"permissions":[{"application":"*","allowedActions":["*"]}]}]`)
	m.beta.bobEmail = "bob@beta.test"
	m.beta.profile = m.crafterProfile(m.beta.crafterTok, "beta", "bob", m.beta.bobEmail, bobPass)
	hx.must(200, "POST", "/api/1/profile/"+m.beta.profile+"/attributes/update.json?accessTokenId="+victimTok, "application/json", `{"nickname":"bobby"}`)
	hx.must(200, "POST", "/api/1/profile/"+m.beta.profile+"/roles/add.json?accessTokenId="+victimTok, "application/x-www-form-urlencoded", "role=ADMIN")
	att := hx.do("POST", "/api/1/profile/"+m.beta.profile+"/uploadAttachment.json?accessTokenId="+victimTok,
		"multipart/form-data; boundary=X", []byte("--X\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"a.png\"\r\n"+
			"Content-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n0000\r\n--X--\r\n"))
	var attm map[string]any
	if att.Code != 200 || json.Unmarshal(att.Body.Bytes(), &attm) != nil {
		m.t.Fatalf("attachment: %d %s", att.Code, att.Body)
	}
	m.beta.attachment, _ = attm["id"].(string)
	if m.beta.attachment == "" {
		m.beta.attachment, _ = attm["name"].(string)
	}
	vt := hx.must(200, "POST", "/api/1/profile/"+m.beta.profile+"/verification_token/create.json?accessTokenId="+victimTok,
		"application/x-www-form-urlencoded", "")
	m.beta.vtoken = vt["id"].(string)
	tk := hx.must(200, "POST", "/api/1/authentication/authenticate.json?accessTokenId="+victimTok, "application/x-www-form-urlencoded",
		url.Values{"tenantName": {"beta"}, "username": {"bob"}, "password": {bobPass}}.Encode())
	m.beta.ticket = tk["id"].(string)
	pl := hx.must(200, "POST", "/api/1/authentication/persistent_login/create.json?accessTokenId="+victimTok,
		"application/x-www-form-urlencoded", "profileId="+m.beta.profile)
	m.beta.plogin = pl["id"].(string)
	m.beta.toks = m.userTokens("/t/beta", m.beta.web, m.beta.bobEmail, bobPass)

	// other-org: everything of alpha.
	o := &actor{kind: otherOrg, org: "alpha", orgID: m.alpha.orgID, keyID: "alpha-only", keySec: otherSec, authzEnv: "/t/"}
	m.key(identity.Production, o.keyID, o.keySec, []string{"alpha"}, []string{identity.PermAll}, false, nil)
	o.mgmt = m.mgmtToken(o.keyID, o.keySec)
	o.web = m.createApp(o.mgmt, "alpha", "alpha web", "regular_web", "https://web.alpha.test/cb")
	o.machine = m.createApp(o.mgmt, "alpha", "alpha machine", "machine", "")
	oc := hx.must(200, "POST", "/api/1/access_token/create.json?accessTokenId="+hMasterSecret, "application/json",
		`{"application":"alpha-app","master":false,"tenantPermissions":[{"tenant":"alpha","allowedActions":["*"]}]}`)
	o.crafter = oc["id"].(string)
	m.crafterProfile(o.crafter, "alpha", "carol", "carol@alpha.test", carolPass)
	o.toks = m.userTokens("/t/alpha", o.web, "carol@alpha.test", carolPass)
	aconn := hx.must(201, "POST", "/api/v2/sso-connections", "application/json", `{"organization_id":"`+m.alpha.orgID+
		`","application_id":"`+o.web.id+`","sso_admin_email":"it@alpha.test","send_email":false}`, bearer(o.mgmt)...)
	o.idp = aconn["id"].(string)
	m.att[otherOrg] = o

	// sandbox: a sandbox master key (every organization, Crafter master),
	// its own applications and user inside beta's sandbox directory.
	s := &actor{kind: sandbox, org: "beta", orgID: m.beta.orgID, keyID: "sandbox-master", keySec: sboxSecret, crafter: sboxSecret}
	m.key(identity.Sandbox, s.keyID, s.keySec, []string{"*"}, []string{identity.PermAll}, true,
		[]identity.TenantPermission{{Tenant: "*", AllowedActions: []string{"*"}}})
	s.mgmt = m.mgmtToken(s.keyID, s.keySec)
	s.web = m.createApp(s.mgmt, "beta", "sandbox web", "regular_web", "https://web.sandbox.test/cb")
	s.machine = m.createApp(s.mgmt, "beta", "sandbox machine", "machine", "")
	m.crafterProfile(s.crafter, "beta", "sam", "sam@beta.test", sboxPass)
	// The sandbox issuer is /sandbox/t/{org} once environments are separate
	// issuers; before that, sandbox applications sign in at /t/{org}.
	s.authzEnv = "/sandbox/t/"
	if w := hx.do("GET", "/sandbox/t/beta/.well-known/openid-configuration", "", nil); w.Code != 200 {
		s.authzEnv = "/t/"
	}
	s.toks = m.userTokens(strings.TrimSuffix(s.authzEnv, "/")+"/beta", s.web, "sam@beta.test", sboxPass)
	m.att[sandbox] = s

	// limited: beta's own environment, read-only.
	l := &actor{kind: limited, org: "beta", orgID: m.beta.orgID, keyID: "beta-read-only", keySec: readSec, authzEnv: "/t/"}
	m.key(identity.Production, l.keyID, l.keySec, []string{"beta"}, []string{"read:*", "read_many:*"}, false, nil)
	l.mgmt = m.mgmtToken(l.keyID, l.keySec)
	lc := hx.must(200, "POST", "/api/1/access_token/create.json?accessTokenId="+hMasterSecret, "application/json",
		`{"application":"beta-reader","master":false,"tenantPermissions":[{"tenant":"beta","allowedActions":["READ_TENANT"]}]}`)
	l.crafter = lc["id"].(string)
	l.web = appCred{id: m.beta.spa.id, redirect: "https://evil.example/cb"} // beta's public client, a foreign redirect
	l.machine = appCred{id: l.keyID, secret: l.keySec}                      // an API key is no OAuth client
	l.toks = userToks{access: l.mgmt}
	m.att[limited] = l
	one := &actor{kind: oneAct, org: "beta", orgID: m.beta.orgID, keyID: "beta-read-users", keySec: oneSec}
	m.key(identity.Production, one.keyID, one.keySec, []string{"beta"}, []string{"read:users"}, false, nil)
	one.mgmt = m.mgmtToken(one.keyID, one.keySec)
	m.att[oneAct] = one

	// What each attacker must never receive. The organization record is
	// shared by both environments, and the limited key may read beta.
	secrets := []string{hMasterSecret, m.beta.crafterTok, m.beta.web.secret, m.beta.toks.access, m.beta.toks.refresh,
		m.beta.toks.id, m.beta.ticket, m.beta.plogin, m.beta.vtoken}
	directory := []string{m.beta.userID, m.beta.email, m.beta.bobEmail, m.beta.profile, m.beta.web.id, m.beta.spa.id,
		m.beta.web.redirect, m.beta.idp, "it@beta.test"}
	o.markers = slices.Concat(secrets, directory, []string{m.beta.orgID})
	if m.beta.oid != "" {
		o.markers = append(o.markers, m.beta.oid)
	}
	s.markers = slices.Concat(secrets, directory)
	l.markers = slices.Clone(secrets[:2])
	l.markers = append(l.markers, m.beta.toks.access, m.beta.toks.refresh, m.beta.ticket, m.beta.plogin)
	one.markers = l.markers
}

// state is the victim-relevant content of the store: every production and
// account-wide key and value, except audit events, rate-limit and lockout
// bookkeeping of unknown users, anonymous pending requests, expiry index
// entries (they mirror records) and whatever belongs to the sandbox
// environment; plus the mail sent.
func (m *matrix) state() map[string]string {
	m.t.Helper()
	out := map[string]string{}
	skipKinds := map[string]bool{"event": true, "events": true, "oidc-rate": true, "sso-rate": true,
		"profile-unknown-login": true, "oidc-authreq": true, "sso-authn-requests": true,
		"credentials": true, "credential-secret": true}
	err := m.a.store.View(context.Background(), func(tx identity.ReadTx) error {
		return tx.Scan(nil, identity.ScanOptions{}, func(k, v []byte) error {
			if len(k) < 3 || k[0] == 'x' || k[0] == 'n' {
				return nil
			}
			parts := strings.Split(string(k[2:]), "\x00")
			env, kind := parts[0], ""
			if len(parts) > 1 {
				kind, _, _ = strings.Cut(parts[1], "\x01")
			}
			if env == string(identity.Sandbox) || skipKinds[kind] {
				return nil
			}
			if env == "-" && (k[0] == 'r' && sandboxRecord(v) || k[0] == 'u' && string(v) == string(identity.Sandbox)) {
				return nil
			}
			out[strings.ReplaceAll(string(k), "\x00", "|")] = string(v)
			return nil
		})
	})
	if err != nil {
		m.t.Fatalf("store dump: %v", err)
	}
	names, _ := filepath.Glob(filepath.Join(m.hx.mailDir, "*.eml"))
	for _, n := range names {
		if !strings.HasPrefix(filepath.Base(n), ".") {
			raw, _ := os.ReadFile(n)
			out["mail "+filepath.Base(n)] = string(raw)
		}
	}
	return out
}

// sandboxRecord reports whether an account-wide record belongs to the
// sandbox (a sandbox credential, a sandbox session or token record).
func sandboxRecord(v []byte) bool {
	var r struct {
		Env         string `json:"env"`
		Environment string `json:"environment"`
	}
	_ = json.Unmarshal(v, &r)
	return r.Env == string(identity.Sandbox) || r.Environment == string(identity.Sandbox)
}

// diff describes what changed between two states.
func diff(before, after map[string]string) []string {
	var out []string
	for k, v := range before {
		if w, ok := after[k]; !ok {
			out = append(out, "deleted "+k)
		} else if w != v {
			out = append(out, fmt.Sprintf("changed %s: %.300s -> %.300s", k, v, w))
		}
	}
	for k, v := range after {
		if _, ok := before[k]; !ok {
			out = append(out, fmt.Sprintf("created %s: %.300s", k, v))
		}
	}
	sort.Strings(out)
	return out
}

// run sends one case and checks it.
func (m *matrix) run(t *testing.T, c *mcase) {
	if c.prep != nil {
		if why := c.prep(c); why != "" {
			t.Logf("not sent: %s", why)
			return
		}
	}
	unknown := 0
	if c.unknownPath != "" {
		unknown = m.hx.do(c.method, c.unknownPath, c.ct, []byte(c.unknownBody), c.hdr...).Code
	}
	before := m.state()
	w := m.hx.do(c.method, c.path, c.ct, []byte(c.body), c.hdr...)
	after := m.state()
	got := fmt.Sprintf("%d %.400s", w.Code, strings.TrimSpace(w.Body.String()))
	if loc := w.Header().Get("Location"); loc != "" {
		got += " Location: " + loc
	}
	t.Logf("%s %s -> %d", c.method, c.path, w.Code)
	switch {
	case w.Code >= 500:
		t.Errorf("%s %s: got %s, want no 5xx", c.method, c.path, got)
	case c.want != nil && !slices.Contains(c.want, w.Code):
		t.Errorf("%s %s: got %s, want %v", c.method, c.path, got, c.want)
	}
	if unknown != 0 && unknown != w.Code {
		t.Errorf("%s %s: got %d for the victim's id but %d for an unknown one; want them alike", c.method, c.path, w.Code, unknown)
	}
	if w.Code >= 400 {
		if msg := errorFormat(c.face, w); msg != "" {
			t.Errorf("%s %s: %s: %s", c.method, c.path, msg, got)
		}
	}
	if a := m.att[c.attacker]; a != nil {
		sent := c.path + c.body + strings.Join(c.hdr, " ")
		if dec, err := url.QueryUnescape(sent); err == nil {
			sent += dec
		}
		resp := w.Body.String() + " " + w.Header().Get("Location")
		for _, mk := range a.markers {
			if mk != "" && !strings.Contains(sent, mk) && strings.Contains(resp, mk) {
				t.Errorf("%s %s: the answer leaks the victim's %q: %s", c.method, c.path, mk, got)
			}
		}
	}
	if loc := w.Header().Get("Location"); strings.Contains(loc, "code=") && c.attacker != public {
		t.Errorf("%s %s: an authorization code was issued: %s", c.method, c.path, loc)
	}
	if d := diff(before, after); len(d) > 0 {
		if len(d) > 6 {
			d = append(d[:6], fmt.Sprintf("... and %d more", len(d)-6))
		}
		t.Errorf("%s %s (%d): the victim's state changed:\n  %s", c.method, c.path, w.Code, strings.Join(d, "\n  "))
	}
	if c.check != nil {
		c.check(t, w)
	}
}

// errorFormat checks that an error answer is in the face's own format.
func errorFormat(face string, w *httptest.ResponseRecorder) string {
	ct := w.Header().Get("Content-Type")
	var body map[string]any
	isJSON := json.Unmarshal(w.Body.Bytes(), &body) == nil
	switch face {
	case "cryptr":
		if _, ok := body["error"].(string); !isJSON || !ok {
			return "not a Cryptr error (want JSON with error)"
		}
	case "crafter":
		_, c := body["errorCode"].(string)
		_, m := body["message"].(string)
		if !isJSON || !c || !m {
			return "not a Crafter error (want errorCode and message)"
		}
	case "oidc", "sso":
		if strings.HasPrefix(ct, "text/html") || w.Code == 405 || w.Code == 401 && w.Body.Len() == 0 {
			return ""
		}
		if _, ok := body["error"].(string); !isJSON || !ok {
			return "not an OAuth error or an HTML page"
		}
	}
	return ""
}

// --- Cryptr /api/v2 ---------------------------------------------------

// cryptrBodies are request bodies of the Cryptr write routes, aimed at beta.
func (m *matrix) cryptrBody(pattern string) string {
	switch {
	case strings.HasSuffix(pattern, "/organizations"):
		return `{"name":"Mallory Corp"}`
	case strings.Contains(pattern, "/organizations/"):
		return `{"name":"Owned","allowed_email_domains":["evil.example"]}`
	case strings.HasSuffix(pattern, "/users"):
		return `{"profile":{"email":"mallory@beta.test"}}`
	case strings.Contains(pattern, "/users/"):
		return `{"profile":{"given_name":"Owned"}}`
	case strings.HasSuffix(pattern, "/applications"):
		return `{"name":"evil","application_type":"regular_web","allowed_redirect_urls":["https://evil.example/cb"]}`
	case strings.Contains(pattern, "/applications/"):
		return `{"allowed_redirect_urls":["https://evil.example/cb"]}`
	case strings.Contains(pattern, "user-metakey"):
		return `{"user_metakey":{"name":"employee_id","type":"string"},"name":"employee_id"}`
	case strings.Contains(pattern, "set-user-metadata"):
		return `{"user_id":"` + m.beta.userID + `","metadata":{"employee_id":"owned"}}`
	case strings.Contains(pattern, "magic-link-challenge"):
		return `{"user_email":"` + m.beta.email + `","org_domain":"beta","redirect_uri":"` + m.beta.web.redirect +
			`","client_id":"` + m.beta.web.id + `","find_or_create_user":true}`
	case strings.HasPrefix(pattern, "/api/v2/sso-") && strings.HasSuffix(pattern, "-challenges"):
		return `{"org_domain":"beta","redirect_uri":"` + m.beta.web.redirect + `","client_id":"` + m.beta.web.id + `"}`
	case strings.HasSuffix(pattern, "sso-connections"):
		return `{"organization_id":"` + m.beta.orgID + `","application_id":"` + m.beta.web.id + `","sso_admin_email":"mallory@evil.example","send_email":true}`
	case strings.HasSuffix(pattern, "default-redirection"):
		return `{"application_id":"` + m.att[otherOrg].web.id + `"}`
	case strings.HasSuffix(pattern, "admin-onboarding") || strings.HasSuffix(pattern, "invite-admin"):
		return `{"sso_admin_email":"mallory@evil.example","send_email":true}`
	case strings.HasSuffix(pattern, "sso-user-policy"):
		return `{"user_security_type":"user_registered"}`
	case strings.Contains(pattern, "/sso-connections/"):
		return `{"sso_admin_email":"mallory@evil.example"}`
	}
	return ""
}

// cryptrWant is the intended answer of a Cryptr route to an attacker.
func cryptrWant(pattern, kind string) []int {
	method, path, _ := strings.Cut(pattern, " ")
	read := method == "GET"
	hasID := strings.Contains(path, "{user_id}") || strings.Contains(path, "{client_id}") ||
		strings.Contains(path, "{idp_id}") || strings.Contains(path, "{email}")
	switch {
	case path == "/api/v2/oauth/token":
		return nil // the attacker's own key: nothing of beta's
	case path == "/api/v2/organizations" && !read:
		return want403 // only a production key managing every organization creates one
	}
	switch kind {
	case otherOrg:
		if read && (path == "/api/v2/organizations" || path == "/api/v2/sso-connections") {
			return nil // lists: beta must simply be absent
		}
		return want404
	case sandbox:
		switch {
		case path == "/api/v2/organizations/{domain}":
			if read {
				return nil // organizations are shared
			}
			return want403
		case hasID:
			return want404 // production ids do not exist in the sandbox
		case path == "/api/v2/magic-link-challenge":
			return []int{403, 404, 422} // beta's production user and application are unknown to the sandbox
		case strings.HasPrefix(path, "/api/v2/sso-") && strings.HasSuffix(path, "-challenges"):
			return want404 // beta's connection is production's
		case strings.HasPrefix(path, "/api/v2/sso-connections") && !read:
			return want404 // names beta's production application
		}
		return nil // the sandbox directory inside beta: the digest shows production is untouched
	case limited:
		if read {
			return nil
		}
		return want403
	case oneAct:
		if path == "/api/v2/org/{domain}/users/{user_id}" && read || path == "/api/v2/org/{domain}/user-by-email/{email}" {
			return nil // read:users is what it holds
		}
		return want403
	}
	return nil
}

func (m *matrix) cryptrCases(patterns []string) []*mcase {
	r := strings.NewReplacer("{domain}", "beta", "{user_id}", m.beta.userID, "{client_id}", m.beta.web.id,
		"{idp_id}", m.beta.idp, "{email}", m.beta.email)
	var out []*mcase
	for _, p := range patterns {
		method, path, _ := strings.Cut(p, " ")
		for _, kind := range []string{otherOrg, sandbox, limited, oneAct} {
			a := m.att[kind]
			c := &mcase{face: "cryptr", route: p, attacker: kind, method: method, path: r.Replace(path),
				hdr: bearer(a.mgmt), want: cryptrWant(p, kind)}
			if method != "GET" {
				c.ct, c.body = "application/json", m.cryptrBody(path)
			}
			switch {
			case path == "/api/v2/oauth/token":
				c.hdr, c.ct = nil, "application/x-www-form-urlencoded"
				c.body = url.Values{"grant_type": {"client_credentials"}, "client_id": {a.keyID}, "client_secret": {a.keySec},
					"domain": {"gatehouse"}}.Encode()
			case strings.Contains(path, "user-metakey") && method == "DELETE":
				c.path += "?name=employee_id"
			}
			out = append(out, c)
		}
	}
	// Breach 2: an alpha key reaching beta through ids in bodies.
	o := m.att[otherOrg]
	out = append(out,
		&mcase{face: "cryptr", route: "POST /api/v2/org/{domain}/applications", attacker: otherOrg,
			detail: "alpha application scoped to beta", method: "POST", path: "/api/v2/org/alpha/applications",
			ct: "application/json", hdr: bearer(o.mgmt), want: []int{404, 422},
			body: `{"name":"scoped","application_type":"regular_web","organization_domain_scope":"beta","allowed_redirect_urls":["https://evil.example/cb"]}`},
		&mcase{face: "cryptr", route: "POST /api/v2/sso-connections", attacker: otherOrg,
			detail: "alpha connection bound to beta's application", method: "POST", path: "/api/v2/sso-connections",
			ct: "application/json", hdr: bearer(o.mgmt), want: want404,
			body: `{"organization_id":"` + m.alpha.orgID + `","application_id":"` + m.beta.web.id + `","sso_admin_email":"it@alpha.test","send_email":false}`},
		&mcase{face: "cryptr", route: "POST /api/v2/org/{domain}/sso-connections", attacker: otherOrg,
			detail: "alpha connection bound to beta's application", method: "POST", path: "/api/v2/org/alpha/sso-connections",
			ct: "application/json", hdr: bearer(o.mgmt), want: want404,
			body: `{"application_id":"` + m.beta.web.id + `","sso_admin_email":"it@alpha.test","send_email":false}`},
		&mcase{face: "cryptr", route: "POST /api/v2/sso-connections/{idp_id}/default-redirection", attacker: otherOrg,
			detail: "alpha connection redirected to beta's application", method: "POST",
			path: "/api/v2/sso-connections/" + o.idp + "/default-redirection", ct: "application/json", hdr: bearer(o.mgmt),
			want: want404, body: `{"application_id":"` + m.beta.web.id + `"}`},
		&mcase{face: "cryptr", route: "POST /api/v2/sso-connections/{idp_id}/default-redirection", attacker: otherOrg,
			detail: "an unknown application answers like a foreign one", method: "POST",
			path: "/api/v2/sso-connections/" + o.idp + "/default-redirection", ct: "application/json", hdr: bearer(o.mgmt),
			want: want404, body: `{"application_id":"01234567-89ab-7def-8123-456789abcdef"}`},
		&mcase{face: "cryptr", route: "POST /api/v2/magic-link-challenge", attacker: otherOrg,
			detail: "alpha application for a beta user", method: "POST", path: "/api/v2/magic-link-challenge",
			ct: "application/json", hdr: bearer(o.mgmt), want: want404,
			body: `{"user_email":"` + m.beta.email + `","org_domain":"beta","redirect_uri":"` + o.web.redirect + `","client_id":"` + o.web.id + `"}`},
	)
	// Breach 3: a sandbox key changing an account-wide organization record.
	s := m.att[sandbox]
	out = append(out, &mcase{face: "cryptr", route: "PUT /api/v2/organizations/{domain}", attacker: sandbox,
		detail: "allowed_email_domains", method: "PUT", path: "/api/v2/organizations/beta", ct: "application/json",
		hdr: bearer(s.mgmt), want: want403, body: `{"allowed_email_domains":["beta.test","evil.example"]}`})
	return out
}

// --- Crafter /api/1 ---------------------------------------------------

// crafterWant is the intended answer of a Crafter route to an attacker.
func crafterWant(pattern, kind string) []int {
	method, path, _ := strings.Cut(pattern, " ")
	write := method != "GET"
	switch {
	case strings.HasPrefix(path, "monitoring/"):
		return nil
	case strings.HasPrefix(path, "access_token/"):
		switch {
		case kind != sandbox:
			return want403 // not a master token
		case path == "access_token/create" || path == "access_token/all":
			return nil // its own environment's tokens only (the leak check holds the rest)
		case path == "access_token/*/delete":
			// Deleting a missing token is silent (crafter-profile-rest
			// §2.1): a production token answers as an unknown id (the
			// case compares them) and the digest shows nothing changed.
			return nil
		}
		return wantNotFound // a production token is unknown to a sandbox master
	case path == "tenant/create", path == "tenant/*/delete":
		if kind == otherOrg {
			return wantCrafterNo
		}
		return want403 // organizations are account-wide
	}
	switch kind {
	case otherOrg:
		if path == "tenant/count" || path == "tenant/all" || path == "profile/by_ids" {
			return nil // beta must simply be absent
		}
		return wantCrafterNo
	case sandbox:
		// Routes naming a production profile, token, ticket or login.
		if strings.Contains(path, "profile/*") || strings.Contains(path, "/*") && !strings.HasPrefix(path, "tenant/") ||
			path == "profile/verify" || path == "profile/change_password" || path == "profile/by_ticket" ||
			path == "authentication/authenticate" || path == "authentication/ticket/create" ||
			path == "authentication/persistent_login/create" {
			return []int{400, 401, 403, 404}
		}
		return nil // beta's sandbox tenant: the digest shows production is untouched
	case limited:
		if write {
			return want403
		}
		return nil
	}
	return nil
}

func (m *matrix) crafterCases(patterns []string) []*mcase {
	var out []*mcase
	unknownIDs := strings.NewReplacer(m.beta.profile, "0123456789abcdef01234567",
		url.QueryEscape(m.beta.crafterTok), "unknownTokenAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", m.beta.crafterTok, "unknownTokenAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		m.beta.vtoken, "unknownVTokenAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", m.beta.ticket, "unknownTicketAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		m.beta.plogin, "unknownLoginAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	for _, p := range patterns {
		method, path, _ := strings.Cut(p, " ")
		segs := strings.Split(path, "/")
		// Fill the wildcards with the victim's ids.
		star := 0
		for i, s := range segs {
			if s != "*" {
				continue
			}
			switch segs[0] {
			case "access_token":
				segs[i] = m.beta.crafterTok
			case "tenant":
				segs[i] = "beta"
			case "profile":
				if i > 0 && segs[i-1] == "verification_token" {
					segs[i] = m.beta.vtoken
				} else if star == 0 {
					segs[i] = m.beta.profile
				} else {
					segs[i] = m.beta.attachment
				}
			case "authentication":
				if segs[1] == "ticket" {
					segs[i] = m.beta.ticket
				} else {
					segs[i] = m.beta.plogin
				}
			}
			star++
		}
		concrete := strings.Join(segs, "/")
		for _, kind := range []string{otherOrg, sandbox, limited} {
			a := m.att[kind]
			v := url.Values{"accessTokenId": {a.crafter}, "tenantName": {"beta"}}
			ct, body := "application/x-www-form-urlencoded", ""
			switch path {
			case "access_token/create":
				ct, body = "application/json", `{"application":"evil","master":true,"tenantPermissions":[{"tenant":"beta","allowedActions":["*"]}]}`
			case "tenant/create":
				ct, body = "application/json", `{"name":"mallory-tenant","verifyNewProfiles":false,"availableRoles":["USER"]}`
			case "tenant/update":
				ct, body = "application/json", `{"name":"beta","verifyNewProfiles":true,"availableRoles":["OWNED"]}`
			case "tenant/*/verify_new_profiles":
				v.Set("verify", "true")
			case "tenant/*/roles/add", "tenant/*/roles/remove", "profile/*/roles/add", "profile/*/roles/remove", "profile/by_role":
				v.Set("role", "ADMIN")
			case "tenant/*/attribute_definitions/add", "tenant/*/attribute_definitions/update":
				ct, body = "application/json", `[{"name":"nickname","metadata":{"owned":true},"permissions":[{"application":"*","allowedActions":["*"]}]}]`
			case "tenant/*/attribute_definitions/remove", "profile/*/attributes/remove", "profile/by_existing_attribute":
				v.Set("attributeName", "nickname")
			case "profile/by_attribute_value":
				v.Set("attributeName", "nickname")
				v.Set("attributeValue", "bobby")
			case "profile/create":
				v.Set("username", "mallory")
				v.Set("email", "mallory@beta.test")
				v.Set("password", "mallory's password 1")
				v.Set("enabled", "true")
			case "profile/verify":
				v.Set("verificationTokenId", m.beta.vtoken)
			case "profile/change_password":
				v.Set("resetTokenId", m.beta.vtoken)
				v.Set("newPassword", "owned password 123")
			case "profile/one_by_query", "profile/by_query", "profile/count_by_query":
				v.Set("query", `{"username":"bob"}`)
			case "profile/by_username":
				v.Set("username", "bob")
			case "profile/by_ticket":
				v.Set("ticketId", m.beta.ticket)
			case "profile/by_ids":
				v.Set("id", m.beta.profile)
			case "profile/*/update":
				v.Set("email", "owned@evil.example")
			case "profile/*/attributes/update":
				ct, body = "application/json", `{"nickname":"owned"}`
			case "profile/*/reset_password":
				v.Set("resetPasswordUrl", "https://evil.example/reset")
			case "profile/*/uploadAttachment":
				ct = "multipart/form-data; boundary=X"
				body = "--X\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"evil.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n1111\r\n--X--\r\n"
			case "authentication/authenticate":
				v.Set("username", "bob")
				v.Set("password", bobPass)
			case "authentication/ticket/create", "authentication/persistent_login/create":
				v.Set("profileId", m.beta.profile)
			case "monitoring/status", "monitoring/memory", "monitoring/version":
				v = url.Values{"token": {"not-the-monitoring-token"}}
			}
			target := "/api/1/" + concrete + ".json?"
			if method == "POST" && ct == "application/x-www-form-urlencoded" {
				body = v.Encode()
				target += "accessTokenId=" + url.QueryEscape(a.crafter)
			} else {
				target += v.Encode()
			}
			c := &mcase{face: "crafter", route: p, attacker: kind, method: method, path: target, ct: ct, body: body,
				want: crafterWant(p, kind)}
			// A victim's id and an unknown one answer alike; a write's
			// outcome is then judged by the state digest.
			if kind != limited && !strings.HasPrefix(path, "monitoring/") {
				if up, ub := unknownIDs.Replace(target), unknownIDs.Replace(body); up != target || ub != body {
					c.unknownPath, c.unknownBody = up, ub
					if method == "POST" && !strings.HasPrefix(path, "access_token/") {
						c.want = nil
					}
				}
			}
			out = append(out, c)
		}
	}
	// Breach 1: a sandbox master lists, reads and deletes production tokens.
	s := m.att[sandbox]
	out = append(out, &mcase{face: "crafter", route: "GET access_token/all", attacker: sandbox, detail: "production tokens listed",
		method: "GET", path: "/api/1/access_token/all.json?accessTokenId=" + url.QueryEscape(s.crafter),
		check: func(t *testing.T, w *httptest.ResponseRecorder) {
			var list []map[string]any
			_ = json.Unmarshal(w.Body.Bytes(), &list)
			for _, tok := range list {
				if id, _ := tok["id"].(string); id == hMasterID || id == m.beta.crafterTok || id == hMasterSecret {
					t.Errorf("a sandbox master lists the production token %v", tok)
				}
			}
		}})
	return out
}

// --- OIDC provider ----------------------------------------------------

// handlerClient is an HTTP client that serves requests with the handler.
type handlerClient struct{ h http.Handler }

func (c handlerClient) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	c.h.ServeHTTP(w, r)
	return w.Result(), nil
}

func noCode(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	if strings.Contains(w.Body.String(), `"access_token"`) {
		t.Errorf("tokens were issued: %.300s", w.Body)
	}
}

// notForBeta fails when the answer holds a token of beta's production
// issuer (a token for the caller's own organization is fine).
func notForBeta(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	var tok struct {
		Access string `json:"access_token"`
	}
	if json.Unmarshal(w.Body.Bytes(), &tok) != nil || tok.Access == "" {
		return
	}
	parts := strings.Split(tok.Access, ".")
	if len(parts) != 3 {
		return
	}
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		Iss string `json:"iss"`
	}
	_ = json.Unmarshal(raw, &claims)
	if claims.Iss == mxBase+"/t/beta" {
		t.Errorf("a token of beta's production issuer was issued: %s", raw)
	}
}

func inactive(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	if strings.Contains(strings.ReplaceAll(w.Body.String(), " ", ""), `"active":true`) {
		t.Errorf("introspection answered active: %.300s", w.Body)
	}
}

// unknownClient is a client id no application has.
const unknownClient = "00000000-0000-0000-0000-000000000000"

func (m *matrix) oidcCases(patterns []string) []*mcase {
	var out []*mcase
	form := "application/x-www-form-urlencoded"
	for _, p := range patterns {
		method, path, _ := strings.Cut(p, " ")
		add := func(c *mcase) { c.face, c.route, c.method = "oidc", p, method; out = append(out, c) }
		concrete := strings.NewReplacer("{domain}", "beta", "{locale}", "en", "{state}", "st", "{sign_type}", "signin",
			"{authorization_id}", "00000000-0000-0000-0000-000000000000", "{token}", strings.Repeat("A", 43), "{$}", "")
		if method == "OPTIONS" || strings.Contains(path, "/.well-known") || strings.Contains(path, "/magic-link/") {
			// Public endpoints: anyone may call them; nothing of beta's changes.
			add(&mcase{attacker: public, path: concrete.Replace(strings.ReplaceAll(path, "{client_id}", m.beta.web.id)),
				hdr: []string{"Origin", "https://evil.example", "Access-Control-Request-Method", "POST"}})
			continue
		}
		for _, kind := range []string{otherOrg, sandbox, limited} {
			a := m.att[kind]
			cpath := concrete.Replace(strings.ReplaceAll(path, "{client_id}", a.web.id))
			authz := url.Values{"response_type": {"code"}, "client_id": {a.web.id}, "redirect_uri": {a.web.redirect},
				"scope": {"openid email"}, "state": {"s"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
				"code_challenge_method": {"S256"}}
			switch {
			case strings.HasSuffix(path, "/authorize") || strings.HasSuffix(path, "/new") || strings.HasSuffix(path, "{$}"):
				q := authz
				if !strings.Contains(path, "{domain}") {
					q.Set("org_domain", "beta")
				}
				c := &mcase{attacker: kind, path: cpath, want: wantRefused,
					detail: "its own client at beta's issuer"}
				// A client that does not serve beta is unknown at its
				// issuer: the answer of an unknown client id.
				uq := url.Values{}
				for k, v := range q {
					uq[k] = v
				}
				uq.Set("client_id", unknownClient)
				own := kind == sandbox && strings.HasPrefix(path, "/sandbox/")
				if method == "POST" {
					c.ct, c.body = form, q.Encode()
					if !own {
						c.unknownPath, c.unknownBody = c.path, uq.Encode()
					}
				} else {
					if !own {
						c.unknownPath = c.path + "?" + uq.Encode()
					}
					c.path += "?" + q.Encode()
				}
				add(c)
			case strings.HasSuffix(path, "/login"):
				// Breach 2: beta's login page served for the attacker's
				// client, and beta's user's code delivered to it.
				c := &mcase{attacker: kind, path: cpath, ct: form, detail: "beta user's password through its own client"}
				c.prep = func(c *mcase) string {
					tree := ""
					if strings.HasPrefix(path, "/sandbox/") {
						tree = "/sandbox"
					}
					action, csrf, req, cookie, ok := m.loginForm(tree + "/t/beta/authorize?" + authz.Encode())
					if !ok {
						return "beta's issuer refused the attacker's client"
					}
					if strings.Contains(path, "{domain}") {
						c.path = strings.TrimPrefix(action, mxBase)
					}
					c.hdr = []string{"Cookie", cookie}
					c.body = url.Values{"csrf_token": {csrf}, "request": {req}, "action": {"password"},
						"email": {m.beta.bobEmail}, "password": {bobPass}}.Encode()
					return ""
				}
				add(c)
			case strings.HasSuffix(path, "/token"):
				// Breach 2 (other-org), breach 3 (sandbox): client_credentials
				// for beta with a client that does not serve it.
				v := url.Values{"grant_type": {"client_credentials"}, "client_id": {a.machine.id}, "client_secret": {a.machine.secret}}
				if !strings.Contains(path, "{domain}") {
					v.Set("domain", "beta")
				}
				c := &mcase{attacker: kind, path: cpath, ct: form, body: v.Encode(), want: wantRefused, check: noCode,
					detail: "client_credentials with its own client"}
				if !strings.Contains(path, "{domain}") {
					// The organization comes from the client: its own is fine.
					c.want, c.check, c.detail = nil, notForBeta, "client_credentials with its own client, domain=beta"
				} else if !(kind == sandbox && strings.HasPrefix(path, "/sandbox/")) && a.machine.id != "" {
					uv := url.Values{}
					for k, x := range v {
						uv[k] = x
					}
					uv.Set("client_id", unknownClient)
					c.unknownPath, c.unknownBody = cpath, uv.Encode()
				}
				add(c)
			case strings.HasSuffix(path, "/revoke"):
				v := url.Values{"token": {m.beta.toks.refresh}, "token_type_hint": {"refresh_token"}, "client_id": {a.web.id}}
				if a.web.secret != "" {
					v.Set("client_secret", a.web.secret)
				}
				add(&mcase{attacker: kind, path: cpath, ct: form, body: v.Encode(), detail: "beta's refresh token with its own client"})
			case strings.HasSuffix(path, "/introspect"):
				v := url.Values{"token": {m.beta.toks.access}, "client_id": {a.web.id}}
				if a.web.secret != "" {
					v.Set("client_secret", a.web.secret)
				}
				add(&mcase{attacker: kind, path: cpath, ct: form, body: v.Encode(), check: inactive,
					detail: "beta's access token with its own client"})
			case strings.HasSuffix(path, "/userinfo"):
				what := map[string]string{otherOrg: "alpha user's token", sandbox: "sandbox user's token",
					limited: "management token"}[kind]
				c := &mcase{attacker: kind, path: cpath, hdr: bearer(a.toks.access), want: []int{401}, detail: what}
				if method == "POST" {
					c.ct = form
				}
				add(c)
				if kind == sandbox {
					add(&mcase{attacker: kind, path: cpath, hdr: bearer(a.mgmt), want: []int{401},
						detail: "sandbox management token"})
				}
			case strings.HasSuffix(path, "/logout") || strings.HasSuffix(path, "slo-after-revoke-token"):
				// Breach 9: a cross-site request carrying beta's session
				// cookie must not end it (the hint, if any, is another's).
				c := &mcase{attacker: kind, path: cpath, detail: "beta's session cookie, foreign or no id_token_hint"}
				q := url.Values{}
				if kind != limited {
					q.Set("id_token_hint", a.toks.id)
				}
				q.Set("post_logout_redirect_uri", "https://evil.example/bye")
				if method == "POST" {
					c.ct, c.body = form, q.Encode()
				} else {
					c.path += "?" + q.Encode()
				}
				c.prep = func(c *mcase) string {
					cookie, _, _ := m.passwordLogin("/t/beta", m.beta.web, m.beta.bobEmail, bobPass)
					c.hdr = []string{"Cookie", cookie, "Sec-Fetch-Site", "cross-site"}
					return ""
				}
				add(c)
			case strings.Contains(path, "/oauth2/saml") || strings.Contains(path, "/oauth2/oauth"):
				// The authorization URL of a headless SSO challenge: a
				// forged request id starts nothing.
				add(&mcase{attacker: kind, path: cpath + "?request_id=" + strings.Repeat("A", 43), want: []int{400},
					detail: "a forged challenge id at beta's authorization URL"})
			case strings.Contains(path, "/password-reset/") || strings.Contains(path, "/invitation/"):
				// A reset or invitation link: beta's Crafter verification
				// token is neither, in either tree; nothing of beta's
				// changes and no session is opened.
				link := map[bool]string{true: "an invitation", false: "a password-reset"}[strings.Contains(path, "/invitation/")]
				c := &mcase{attacker: kind, path: strings.Replace(cpath, strings.Repeat("A", 43), m.beta.vtoken, 1),
					want: []int{400}, detail: "beta's verification token as " + link + " link"}
				if method == "POST" {
					csrf := strings.Repeat("c", 43)
					c.ct, c.hdr = form, []string{"Cookie", "gatehouse_csrf=" + csrf}
					c.body = url.Values{"csrf_token": {csrf}, "password": {"attacker's password"},
						"password2": {"attacker's password"}}.Encode()
				}
				add(c)
			default:
				add(&mcase{attacker: kind, path: cpath, detail: "unclassified route"})
			}
			// In the sandbox's own path tree (/sandbox/...), the sandbox
			// attacker acts on its own directory: any answer, as long as
			// production is untouched and nothing of beta's production
			// issuer is issued.
			if kind == sandbox && strings.HasPrefix(path, "/sandbox/") {
				for _, c := range out {
					if c.route == p && c.attacker == sandbox {
						c.want, c.check = nil, notForBeta
					}
				}
			}
		}
	}
	// Breach 3: a sandbox ID token must not verify against production
	// discovery and keys (go-oidc, as a relying party would).
	s := m.att[sandbox]
	out = append(out, &mcase{face: "oidc", route: "GET /t/{domain}/.well-known/openid-configuration", attacker: sandbox,
		detail: "sandbox ID token verified by go-oidc against production discovery", method: "GET",
		path: "/t/beta/.well-known/openid-configuration", check: func(t *testing.T, _ *httptest.ResponseRecorder) {
			ctx := oidc.ClientContext(context.Background(), &http.Client{Transport: handlerClient{m.hx.h}})
			op, err := oidc.NewProvider(ctx, mxBase+"/t/beta")
			if err != nil {
				t.Fatalf("production discovery: %v", err)
			}
			if _, err := op.Verifier(&oidc.Config{ClientID: s.web.id}).Verify(ctx, s.toks.id); err == nil {
				t.Errorf("go-oidc configured from %s/t/beta accepts a sandbox ID token", mxBase)
			}
		}})
	return out
}

// --- SSO /enterprise/{idp_id} ------------------------------------------

// ssoPatterns are the routes of sso.Service.Handler (it keeps no table).
var ssoPatterns = []string{"GET /enterprise/{idp_id}/metadata", "GET /enterprise/{idp_id}/login",
	"POST /enterprise/{idp_id}/acs", "GET /enterprise/{idp_id}/slo", "POST /enterprise/{idp_id}/slo"}

func (m *matrix) ssoCases() []*mcase {
	var out []*mcase
	for _, p := range ssoPatterns {
		method, path, _ := strings.Cut(p, " ")
		c := &mcase{face: "sso", route: p, attacker: public, method: method,
			path: strings.ReplaceAll(path, "{idp_id}", m.beta.idp)}
		switch {
		case strings.HasSuffix(path, "/acs"):
			c.ct, c.body, c.want = "application/x-www-form-urlencoded", "SAMLResponse=PHNhbWxwOlJlc3BvbnNlLz4%3D&RelayState=x", wantRefused
		case strings.HasSuffix(path, "/slo"):
			c.want = wantRefused
			if method == "POST" {
				c.ct, c.body = "application/x-www-form-urlencoded", "SAMLRequest=PHNhbWxwOkxvZ291dFJlcXVlc3QvPg%3D%3D"
			}
		case strings.HasSuffix(path, "/login"):
			c.want = wantRefused // the connection is not active yet
		}
		out = append(out, c)
	}
	return out
}

// TestIsolationMatrix walks every route of the Cryptr API, the Crafter
// API, the OIDC provider and the SSO endpoints with a credential of another
// organization, one of the other environment and a limited key, all aimed
// at organization beta: each answer is a 404/403 (or the documented
// refusal) in its face's format, leaks nothing of beta's, and changes
// nothing of beta's.
func TestIsolationMatrix(t *testing.T) {
	m := newMatrix(t)
	// The faces Gatehouse serves (every route of each is walked below
	// through the server's handler).
	cryptr, prov := m.a.gh.API(), m.a.gh.Provider()
	if cryptr == nil || prov == nil {
		t.Fatalf("the server does not serve the Cryptr API (%v) or the OIDC provider (%v)", cryptr, prov)
	}
	// The provider goes first: a breach on the management faces (a sandbox
	// key deleting beta's sandbox tenant, say) must not consume the
	// attackers' own fixtures before the provider cases use them.
	cases := slices.Concat(m.oidcCases(prov.Patterns()), m.ssoCases(), m.cryptrCases(cryptr.Patterns()),
		m.crafterCases(m.a.crafter.Patterns()))

	t.Run("coverage", func(t *testing.T) {
		covered := map[string]map[string]bool{}
		for _, c := range cases {
			if covered[c.face+" "+c.route] == nil {
				covered[c.face+" "+c.route] = map[string]bool{}
			}
			covered[c.face+" "+c.route][c.attacker] = true
		}
		check := func(face string, patterns []string) {
			for _, p := range patterns {
				got := covered[face+" "+p]
				if len(got) == 0 {
					t.Errorf("%s route %q has no case in the isolation matrix", face, p)
				}
				if got[public] {
					continue
				}
				for _, k := range []string{otherOrg, sandbox, limited} {
					if !got[k] {
						t.Errorf("%s route %q has no case for the %s attacker", face, p, k)
					}
				}
			}
		}
		check("cryptr", cryptr.Patterns())
		check("crafter", m.a.crafter.Patterns())
		check("oidc", prov.Patterns())
		check("sso", ssoPatterns)
		for _, c := range cases {
			if c.detail == "unclassified route" {
				t.Errorf("oidc route %q is walked without a targeted request; give it one", c.route)
			}
		}
	})
	seen := map[string]int{}
	for _, c := range cases {
		name := c.name()
		if seen[name]++; seen[name] > 1 {
			name += fmt.Sprintf(" #%d", seen[name])
		}
		t.Run(name, func(t *testing.T) { m.run(t, c) })
	}
}

// TestIsolationMatrixDigestSeesChanges makes sure the state digest the
// matrix relies on notices a change of the victim's data, and ignores the
// sandbox directory and the audit log.
func TestIsolationMatrixDigestSeesChanges(t *testing.T) {
	m := newMatrix(t)
	before := m.state()
	m.hx.must(200, "GET", "/api/v2/org/beta/users", "", "", bearer(m.mgmtToken(hMasterID, hMasterSecret))...)
	if d := diff(before, m.state()); len(d) != 0 {
		t.Fatalf("a read changed the digest: %v", d)
	}
	m.hx.must(201, "POST", "/api/v2/org/beta/users", "application/json", `{"profile":{"email":"sandboxed@beta.test"}}`,
		bearer(m.att[sandbox].mgmt)...)
	if d := diff(before, m.state()); len(d) != 0 {
		t.Fatalf("a sandbox user changed the production digest: %v", d)
	}
	m.hx.must(200, "PUT", "/api/v2/org/beta/users/"+m.beta.userID, "application/json", `{"profile":{"given_name":"Changed"}}`,
		bearer(m.mgmtToken(hMasterID, hMasterSecret))...)
	if d := diff(before, m.state()); len(d) == 0 {
		t.Fatal("the digest did not notice a production user changing")
	}
	if len(before) < 20 {
		t.Fatalf("the digest holds %d keys: the fixture is missing", len(before))
	}
}
