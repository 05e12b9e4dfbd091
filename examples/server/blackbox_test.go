package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/gatehouse-id/gatehouse/internal/testkit"
)

// client is a black-box HTTP client of a running server: its own cookie
// jar, no redirect following, and every secret it sees recorded so the test
// can look for them in the server's log.
type client struct {
	t       *testing.T
	base    string
	http    *http.Client
	secrets map[string]string // secret -> what it is
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, secrets: map[string]string{},
		http: &http.Client{Jar: jar, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// secret records s as a secret the server must never log.
func (c *client) secret(what, s string) string {
	if len(s) >= 8 {
		c.secrets[s] = what
	}
	return s
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a *answer) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("not a JSON object (%d): %s", a.status, a.body)
	}
	return m
}

// do sends a request; hdr are name, value pairs.
func (c *client) do(method, path, ct string, body string, hdr ...string) *answer {
	c.t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = c.base + path
	}
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 500 {
		c.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	return &answer{status: res.StatusCode, header: res.Header, body: b}
}

// expect sends a request and fails unless it answers status.
func (c *client) expect(status int, method, path, ct, body string, hdr ...string) *answer {
	c.t.Helper()
	a := c.do(method, path, ct, body, hdr...)
	if a.status != status {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, a.status, status, a.body)
	}
	return a
}

func (c *client) form(status int, path string, v url.Values, hdr ...string) map[string]any {
	c.t.Helper()
	return c.expect(status, "POST", path, "application/x-www-form-urlencoded", v.Encode(), hdr...).obj(c.t)
}

func (c *client) json(status int, method, path, body string, hdr ...string) map[string]any {
	c.t.Helper()
	return c.expect(status, method, path, "application/json", body, hdr...).obj(c.t)
}

var (
	reFormAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	reCSRFField  = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	reRequestFld = regexp.MustCompile(`name="request" value="([^"]+)"`)
	reMagicLink  = regexp.MustCompile(`https?://[^\s"<>]+/magic-link/verify/[A-Za-z0-9_-]{43}`)
)

// page checks an HTML page: security headers, and a CSRF token in every form.
func page(t *testing.T, what string, a *answer) string {
	t.Helper()
	if !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
		t.Fatalf("%s: content type %q", what, a.header.Get("Content-Type"))
	}
	checkPageHeaders(t, what, a.header)
	body := string(a.body)
	if forms, tokens := strings.Count(body, "<form"), len(reCSRFField.FindAllString(body, -1)); forms > tokens {
		t.Errorf("%s: %d forms, %d CSRF tokens: %s", what, forms, tokens, body)
	}
	return body
}

// waitMail waits for a new .eml file in dir that mentions to, and returns
// its decoded text.
func waitMail(t *testing.T, dir, to string, seen map[string]bool) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		names, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		sort.Strings(names)
		for _, n := range names {
			// Skip the mailer's temporary files (renamed once complete).
			if seen[n] || strings.HasPrefix(filepath.Base(n), ".") {
				continue
			}
			raw, err := os.ReadFile(n)
			if err != nil {
				continue
			}
			dec, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
			if err != nil {
				dec = raw
			}
			if strings.Contains(strings.ToLower(string(dec)), strings.ToLower(to)) {
				seen[n] = true
				return string(dec)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no mail to %s in %s", to, dir)
	return ""
}

func pkcePair(seed string) (verifier, challenge string) {
	h := sha256.Sum256([]byte(seed))
	verifier = base64.RawURLEncoding.EncodeToString(h[:]) + "-verifier"
	s := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(s[:])
}

// TestJourneys walks the whole product from the outside on each store: a
// management token, an organization, its users on both faces, a password
// login, the OIDC code flow with PKCE through the hosted login and a magic
// link, token verification, refresh rotation, revocation and the audit log.
func TestJourneys(t *testing.T) {
	for _, store := range []string{"memory", "bolt"} {
		t.Run(store, func(t *testing.T) {
			st := "memory:"
			if store == "bolt" {
				st = "bolt:" + filepath.Join(t.TempDir(), "g.db")
			}
			journey(t, st)
		})
	}
}

func journey(t *testing.T, store string) {
	const (
		masterID     = "journey"
		masterSecret = "journey-master-secret-0123456789abcdef"
		monitoring   = "journey-monitoring-token-0123456789"
		bobPassword  = "bob's very correct horse battery"
		spaOrigin    = "https://spa.journey.test"
		spaRedirect  = "https://spa.journey.test/callback"
	)
	mailDir := t.TempDir()
	logs := &testkit.Buffer{}
	base, _, stop := startServerLogs(t, logs, "-store", store, "-master-key", masterID+":"+masterSecret,
		"-monitoring-token", monitoring, "-mail-dir", mailDir)
	c := newClient(t, base)
	c.secret("master secret", masterSecret)
	c.secret("monitoring token", monitoring)
	c.secret("bob's password", bobPassword)

	// 1. The master key is exchanged for a management token.
	tok := c.json(200, "POST", "/api/v2/oauth/token", `{"grant_type":"client_credentials","client_id":"`+masterID+
		`","client_secret":"`+masterSecret+`","domain":"gatehouse"}`)
	mgmt := c.secret("management token", str(t, tok, "access_token"))
	if _, ok := tok["expires_in"].(float64); !ok || strings.Count(mgmt, ".") != 2 || !strings.EqualFold(str(t, tok, "token_type"), "bearer") {
		t.Fatalf("management token answer: %v", tok)
	}
	auth := []string{"Authorization", "Bearer " + mgmt}
	c.json(401, "GET", "/api/v2/organizations", "")
	c.form(401, "/api/v2/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {masterID},
		"client_secret": {c.secret("mistyped client secret", "wrong-secret-0123456789")}, "domain": {"gatehouse"}})

	// 2. An organization, a user and a single-page application (Cryptr face).
	org := c.json(201, "POST", "/api/v2/organizations", `{"name":"Journey Co","allowed_email_domains":["journey.test"]}`, auth...)
	domain := str(t, org, "domain")
	if domain != "journey-co" || org["__type__"] != "Organization" {
		t.Fatalf("organization: %v", org)
	}
	other := str(t, c.json(201, "POST", "/api/v2/organizations", `{"name":"Other Co"}`, auth...), "domain")
	alice := c.json(201, "POST", "/api/v2/org/"+domain+"/users", `{"profile":{"email":"alice@journey.test","given_name":"Alice"}}`, auth...)
	aliceID := str(t, alice, "id")
	if alice["__type__"] != "User" {
		t.Fatalf("user: %v", alice)
	}
	spa := c.json(201, "POST", "/api/v2/org/"+domain+"/applications", `{"name":"Journey SPA","application_type":"react",
		"allowed_redirect_urls":["`+spaRedirect+`"],"allowed_origins_cors":["`+spaOrigin+`"],
		"allowed_web_origins":["`+spaOrigin+`"],"allowed_logout_urls":["`+spaOrigin+`/bye"]}`, auth...)
	spaID := str(t, spa, "client_id")
	if spa["__type__"] != "Application" {
		t.Fatalf("application: %v", spa)
	}

	// 3. The same organization and user through the Crafter face.
	master := "accessTokenId=" + url.QueryEscape(masterSecret)
	tenant := c.expect(200, "GET", "/api/1/tenant/"+domain+".json?"+master, "", "").obj(t)
	if tenant["name"] != domain {
		t.Fatalf("tenant: %v", tenant)
	}
	p := c.expect(200, "GET", "/api/1/profile/by_username.json?"+master+"&tenantName="+domain+
		"&username="+url.QueryEscape("alice@journey.test"), "", "").obj(t)
	// Each face keeps its own id format (Cryptr a UUID, Crafter an ObjectId).
	if p["email"] != "alice@journey.test" || p["tenant"] != domain || p["enabled"] != true {
		t.Fatalf("Cryptr user seen by Crafter: %v", p)
	}
	c.expect(200, "GET", "/api/1/profile/"+str(t, p, "id")+".json?"+master, "", "")
	// Tenant isolation: the other organization does not see her.
	crafterErr(t, c.expect(404, "GET", "/api/1/profile/by_username.json?"+master+"&tenantName="+other+
		"&username="+url.QueryEscape("alice@journey.test"), "", ""))
	c.json(404, "GET", "/api/v2/org/"+other+"/users/"+aliceID, "", auth...)

	// A tenant created by the Crafter face is a Cryptr organization.
	c.json(200, "POST", "/api/1/tenant/create.json?"+master, `{"name":"crafted-tenant","verifyNewProfiles":false,"availableRoles":["USER"]}`)
	if o := c.json(200, "GET", "/api/v2/organizations/crafted-tenant", "", auth...); o["domain"] != "crafted-tenant" {
		t.Fatalf("Crafter tenant seen by Cryptr: %v", o)
	}

	// 4. A profile created by the Crafter face is a Cryptr user.
	appTok := c.json(200, "POST", "/api/1/access_token/create.json?"+master,
		`{"application":"journey-app","master":false,"tenantPermissions":[{"tenant":"`+domain+`","allowedActions":["*"]}]}`)
	app := "accessTokenId=" + url.QueryEscape(c.secret("application access token", str(t, appTok, "id")))
	bob := c.form(200, "/api/1/profile/create.json?"+app, url.Values{"tenantName": {domain}, "username": {"bob"},
		"password": {bobPassword}, "email": {"bob@journey.test"}, "enabled": {"true"}, "role": {"USER"}})
	bobID := str(t, bob, "id")
	if _, leaked := bob["password"]; leaked {
		t.Fatalf("profile answer carries the password: %v", bob)
	}
	bobV2 := c.json(200, "GET", "/api/v2/org/"+domain+"/user-by-email/bob@journey.test", "", auth...)
	if prof, _ := bobV2["profile"].(map[string]any); prof == nil || prof["email"] != "bob@journey.test" {
		t.Fatalf("Crafter profile seen by Cryptr: %v", bobV2)
	}
	c.json(200, "GET", "/api/v2/org/"+domain+"/users/"+str(t, bobV2, "id"), "", auth...)
	// The application token is limited to its tenant.
	crafterErr(t, c.expect(403, "GET", "/api/1/profile/count.json?"+app+"&tenantName="+other, "", ""))

	// 5. Password login through Crafter authenticate.
	ticket := c.form(200, "/api/1/authentication/authenticate.json?"+app, url.Values{"tenantName": {domain},
		"username": {"bob"}, "password": {bobPassword}})
	ticketID := c.secret("ticket", str(t, ticket, "id"))
	if _, ok := ticket["lastRequestTime"].(float64); !ok || ticket["profileId"] != bobID || ticket["tenant"] != domain {
		t.Fatalf("ticket (want {id, tenant, profileId, lastRequestTime}): %v", ticket)
	}
	// Crafter's wire format of a profile (crafter-profile-rest.md).
	for _, k := range []string{"id", "username", "email", "verified", "enabled", "createdOn", "lastModified", "tenant", "roles", "attributes"} {
		if _, ok := bob[k]; !ok {
			t.Errorf("Crafter profile lacks %s: %v", k, bob)
		}
	}
	if !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(bobID) {
		t.Errorf("Crafter profile id %q is not an ObjectId", bobID)
	}
	if e := c.expect(400, "GET", "/api/1/profile/by_ticket.json?"+app+"&ticketId=nope", "", "").obj(t); e["errorCode"] != "NO_SUCH_TICKET" {
		t.Errorf("unknown ticket: %v", e)
	}
	mon := c.expect(200, "GET", "/api/1/monitoring/status.json?token="+url.QueryEscape(monitoring), "", "").obj(t)
	if len(mon) == 0 {
		t.Error("empty monitoring status")
	}
	crafterErr(t, c.expect(401, "GET", "/api/1/monitoring/status.json?token=wrong-token", "", ""))
	byTicket := c.expect(200, "GET", "/api/1/profile/by_ticket.json?"+app+"&ticketId="+url.QueryEscape(ticketID), "", "").obj(t)
	if byTicket["id"] != bobID {
		t.Fatalf("profile by ticket: %v", byTicket)
	}
	crafterErr(t, c.expect(401, "POST", "/api/1/authentication/authenticate.json?"+app, "application/x-www-form-urlencoded",
		url.Values{"tenantName": {domain}, "username": {"bob"}, "password": {"not bob's password"}}.Encode()))

	// 6. Discovery and JWKS of the organization's issuer.
	issuer := base + "/t/" + domain
	disc := c.expect(200, "GET", "/t/"+domain+"/.well-known/openid-configuration", "", "").obj(t)
	if disc["issuer"] != issuer || disc["jwks_uri"] == nil || disc["token_endpoint"] == nil || disc["authorization_endpoint"] == nil {
		t.Fatalf("discovery: %v", disc)
	}
	if m, _ := disc["code_challenge_methods_supported"].([]any); !slices.Contains(m, any("S256")) || slices.Contains(m, any("plain")) {
		t.Fatalf("code_challenge_methods_supported: %v", disc["code_challenge_methods_supported"])
	}
	// Keys are made on first use: the set may still be empty, briefly cached.
	c.expect(200, "GET", str(t, disc, "jwks_uri"), "", "")

	// 7. The code flow with PKCE through the hosted login and a magic link.
	browser := newClient(t, base)
	verifier, challenge := pkcePair("alice")
	authURL := str(t, disc, "authorization_endpoint") + "?" + url.Values{"response_type": {"code"}, "client_id": {spaID},
		"redirect_uri": {spaRedirect}, "scope": {"openid email profile offline_access"}, "state": {"state-<b>1</b>"},
		"nonce": {"nonce-1"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}.Encode()
	login := page(t, "login page", browser.expect(200, "GET", authURL, "", ""))
	if strings.Contains(login, "<b>1</b>") {
		t.Fatalf("login page reflects the state unescaped: %s", login)
	}
	action, csrf, request := formFields(t, login)
	sent := browser.expect(200, "POST", action, "application/x-www-form-urlencoded", url.Values{"csrf_token": {csrf},
		"request": {request}, "action": {"magic"}, "email": {"alice@journey.test"}}.Encode())
	page(t, "magic link sent page", sent)
	// Without the CSRF token the form is refused and nothing is sent.
	if a := browser.do("POST", action, "application/x-www-form-urlencoded", url.Values{"request": {request},
		"action": {"magic"}, "email": {"alice@journey.test"}}.Encode()); a.status != 400 && a.status != 403 {
		t.Fatalf("login form without CSRF token: %d", a.status)
	}
	seen := map[string]bool{}
	mailText := waitMail(t, mailDir, "alice@journey.test", seen)
	link := reMagicLink.FindString(mailText)
	if link == "" {
		t.Fatalf("no magic link in mail: %s", mailText)
	}
	c.secret("magic link", link[strings.LastIndex(link, "/")+1:])
	// A GET never consumes the link (mail scanners follow links).
	page(t, "magic link confirmation", newClient(t, base).expect(200, "GET", link, "", ""))
	confirm := page(t, "magic link confirmation", browser.expect(200, "GET", link, "", ""))
	_, csrf2, _ := formFields(t, confirm)
	done := browser.expect(303, "POST", link, "application/x-www-form-urlencoded", url.Values{"csrf_token": {csrf2}}.Encode())
	cb, err := url.Parse(done.header.Get("Location"))
	if err != nil || !strings.HasPrefix(cb.String(), spaRedirect+"?") {
		t.Fatalf("callback: %q", done.header.Get("Location"))
	}
	code := c.secret("authorization code", cb.Query().Get("code"))
	if code == "" || cb.Query().Get("state") != "state-<b>1</b>" || cb.Query().Get("iss") != issuer {
		t.Fatalf("callback parameters: %s", cb)
	}
	// A magic link is single use.
	if a := browser.do("POST", link, "application/x-www-form-urlencoded", url.Values{"csrf_token": {csrf2}}.Encode()); a.status == 303 {
		t.Fatal("magic link used twice")
	}

	// On another device, the mail's 6-digit code signs in instead of the link.
	device := newClient(t, base)
	action, csrf, request = formFields(t, page(t, "login page", device.expect(200, "GET", authURL, "", "")))
	codePage := device.expect(200, "POST", action, "application/x-www-form-urlencoded", url.Values{"csrf_token": {csrf},
		"request": {request}, "action": {"magic"}, "email": {"alice@journey.test"}}.Encode())
	action, csrf, request = formFields(t, page(t, "code page", codePage))
	digits := regexp.MustCompile(`:\s+(\d{6})\s`).FindStringSubmatch(waitMail(t, mailDir, "alice@journey.test", seen))
	if digits == nil {
		t.Fatal("no 6-digit code in the mail")
	}
	wrong := "000000"
	if digits[1] == wrong {
		wrong = "111111"
	}
	if a := device.do("POST", action, "application/x-www-form-urlencoded", url.Values{"csrf_token": {csrf}, "request": {request},
		"action": {"code"}, "code": {wrong}}.Encode()); a.status < 400 || a.header.Get("Location") != "" {
		t.Fatalf("wrong code: %d %s", a.status, a.header.Get("Location"))
	}
	byCode := device.expect(303, "POST", action, "application/x-www-form-urlencoded", url.Values{"csrf_token": {csrf},
		"request": {request}, "action": {"code"}, "code": {digits[1]}}.Encode())
	if loc := byCode.header.Get("Location"); !strings.HasPrefix(loc, spaRedirect+"?") || !strings.Contains(loc, "code=") {
		t.Fatalf("sign-in by code: %s", loc)
	}

	// 8. The code is exchanged with the verifier; CORS answers only the
	// application's origin.
	tokenURL := str(t, disc, "token_endpoint")
	exchange := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {spaID},
		"redirect_uri": {spaRedirect}, "code_verifier": {verifier}}
	tokAns := c.expect(200, "POST", tokenURL, "application/x-www-form-urlencoded", exchange.Encode(), "Origin", spaOrigin)
	if got := tokAns.header.Get("Access-Control-Allow-Origin"); got != spaOrigin {
		t.Fatalf("token answer to the application's origin: ACAO %q", got)
	}
	toks := tokAns.obj(t)
	access := c.secret("access token", str(t, toks, "access_token"))
	idToken := c.secret("id token", str(t, toks, "id_token"))
	refresh := c.secret("refresh token", str(t, toks, "refresh_token"))
	if !strings.HasPrefix(refresh, domain+".") {
		t.Fatalf("refresh token %q is not {org_domain}.{opaque}", refresh)
	}

	// 9. The ID token verifies against discovery and the JWKS (go-oidc).
	jwks := c.expect(200, "GET", str(t, disc, "jwks_uri"), "", "").obj(t)
	if keys, _ := jwks["keys"].([]any); len(keys) == 0 {
		t.Fatalf("JWKS after issuance: %v", jwks)
	}
	ctx := oidc.ClientContext(context.Background(), http.DefaultClient)
	op, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}
	idt, err := op.Verifier(&oidc.Config{ClientID: spaID}).Verify(ctx, idToken)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	var claims struct {
		Email string `json:"email"`
		Nonce string `json:"nonce"`
	}
	if err := idt.Claims(&claims); err != nil || claims.Email != "alice@journey.test" || idt.Nonce != "nonce-1" || idt.Subject == "" {
		t.Fatalf("ID token claims: %+v %v (nonce %q)", claims, err, idt.Nonce)
	}
	if err := idt.VerifyAccessToken(access); err != nil && toks["id_token"] != nil {
		t.Logf("at_hash: %v", err)
	}
	// An end user's tokens are no management credential, and a management
	// token is no end-user token.
	for _, tok := range []string{access, idToken} {
		if a := c.do("GET", "/api/v2/org/"+domain+"/users", "", "", "Authorization", "Bearer "+tok); a.status != 401 && a.status != 403 {
			t.Fatalf("end-user token on the management API: %d %s", a.status, a.body)
		}
	}
	c.expect(401, "GET", str(t, disc, "userinfo_endpoint"), "", "", "Authorization", "Bearer "+mgmt)
	ui := c.expect(200, "GET", str(t, disc, "userinfo_endpoint"), "", "", "Authorization", "Bearer "+access).obj(t)
	if ui["email"] != "alice@journey.test" || ui["sub"] != idt.Subject {
		t.Fatalf("userinfo: %v", ui)
	}

	// The profile created through the Crafter face signs in with its
	// password on the hosted login page; a wrong password issues nothing.
	bobBrowser := newClient(t, base)
	bobVerifier, bobChallenge := pkcePair("bob")
	bobAuth := strings.Replace(authURL, "code_challenge="+challenge, "code_challenge="+bobChallenge, 1)
	action, csrf, request = formFields(t, page(t, "login page", bobBrowser.expect(200, "GET", bobAuth, "", "")))
	bad := bobBrowser.do("POST", action, "application/x-www-form-urlencoded", url.Values{"csrf_token": {csrf},
		"request": {request}, "action": {"password"}, "email": {"bob@journey.test"}, "password": {"not bob's password"}}.Encode())
	if bad.status < 400 || bad.status >= 500 || bad.header.Get("Location") != "" {
		t.Fatalf("wrong password on the hosted login: %d %s", bad.status, bad.header.Get("Location"))
	}
	action, csrf, request = formFields(t, page(t, "login page after a failure", bad))
	good := bobBrowser.expect(303, "POST", action, "application/x-www-form-urlencoded", url.Values{"csrf_token": {csrf},
		"request": {request}, "action": {"password"}, "email": {"bob@journey.test"}, "password": {bobPassword}}.Encode())
	bobCB, _ := url.Parse(good.header.Get("Location"))
	bobToks := c.form(200, tokenURL, url.Values{"grant_type": {"authorization_code"}, "code": {c.secret("code", bobCB.Query().Get("code"))},
		"client_id": {spaID}, "redirect_uri": {spaRedirect}, "code_verifier": {bobVerifier}})
	bobIDT, err := op.Verifier(&oidc.Config{ClientID: spaID}).Verify(ctx, c.secret("id token", str(t, bobToks, "id_token")))
	c.secret("access token", str(t, bobToks, "access_token"))
	c.secret("refresh token", str(t, bobToks, "refresh_token"))
	var bobClaims struct {
		Email string `json:"email"`
	}
	if err != nil || bobIDT.Claims(&bobClaims) != nil || bobClaims.Email != "bob@journey.test" || bobIDT.Subject == idt.Subject {
		t.Fatalf("Crafter profile's ID token: %v %+v", err, bobClaims)
	}

	// Disabling, then deleting, the profile through the Crafter face ends
	// its OIDC tokens: refresh, userinfo and introspection all refuse them.
	bobRefresh, bobAccess := str(t, bobToks, "refresh_token"), str(t, bobToks, "access_token")
	ended := func(state string) {
		t.Helper()
		if r := c.do("POST", tokenURL, "application/x-www-form-urlencoded", url.Values{"grant_type": {"refresh_token"},
			"refresh_token": {bobRefresh}, "client_id": {spaID}}.Encode()); r.status != 400 || r.obj(t)["error"] != "invalid_grant" {
			t.Fatalf("%s: refresh: %d %s", state, r.status, r.body)
		}
		c.expect(401, "GET", issuer+"/userinfo", "", "", "Authorization", "Bearer "+bobAccess)
		for _, tok := range []string{bobAccess, bobRefresh} {
			if in := c.form(200, issuer+"/oauth/introspect", url.Values{"token": {tok}, "client_id": {spaID}}); in["active"] != false {
				t.Fatalf("%s: introspection: %v", state, in)
			}
		}
	}
	c.expect(200, "POST", "/api/1/profile/"+bobID+"/disable.json?"+app, "application/x-www-form-urlencoded", "")
	ended("disabled")
	c.expect(200, "POST", "/api/1/profile/"+bobID+"/delete.json?"+app, "application/x-www-form-urlencoded", "")
	ended("deleted")
	c.json(404, "GET", "/api/v2/org/"+domain+"/user-by-email/bob@journey.test", "", auth...)

	// Tenant isolation on the OIDC side: another organization's issuer
	// knows neither the application nor the tokens.
	otherIssuer := base + "/t/" + other
	c.expect(401, "GET", otherIssuer+"/userinfo", "", "", "Authorization", "Bearer "+access)
	if a := c.do("POST", otherIssuer+"/oauth/token", "application/x-www-form-urlencoded", url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {refresh}, "client_id": {spaID}}.Encode()); a.status < 400 || a.obj(t)["access_token"] != nil {
		t.Fatalf("refresh at another issuer: %d %s", a.status, a.body)
	}
	if oi := c.form(200, otherIssuer+"/oauth/introspect", url.Values{"token": {access}, "client_id": {spaID}}); oi["active"] == true {
		t.Fatalf("introspection at another issuer: %v", oi)
	}
	foreign := c.do("GET", otherIssuer+"/authorize?"+strings.SplitN(authURL, "?", 2)[1], "", "")
	if loc := foreign.header.Get("Location"); foreign.status < 400 && strings.Contains(loc, "code=") {
		t.Fatalf("another organization's issuer authorized the application: %d %s", foreign.status, loc)
	}

	// 10. Refresh rotates; revocation ends the family.
	rot := c.form(200, tokenURL, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {spaID}})
	refresh2 := c.secret("rotated refresh token", str(t, rot, "refresh_token"))
	access2 := c.secret("refreshed access token", str(t, rot, "access_token"))
	if refresh2 == refresh || access2 == "" {
		t.Fatalf("refresh did not rotate: %v", rot)
	}
	revokeURL, _ := disc["revocation_endpoint"].(string)
	if revokeURL == "" {
		revokeURL = issuer + "/oauth/revoke"
	}
	c.expect(200, "POST", revokeURL, "application/x-www-form-urlencoded", url.Values{"token": {refresh2}, "client_id": {spaID}}.Encode())
	dead := c.expect(400, "POST", tokenURL, "application/x-www-form-urlencoded",
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh2}, "client_id": {spaID}}.Encode()).obj(t)
	if dead["error"] != "invalid_grant" {
		t.Fatalf("refresh after revocation: %v", dead)
	}
	intro := c.form(200, issuer+"/oauth/introspect", url.Values{"token": {access2}, "client_id": {spaID}})
	if intro["active"] != false {
		t.Fatalf("introspection after revocation: %v", intro)
	}

	// The code is single use (its reuse revokes what it issued); a foreign
	// origin gets no CORS grant.
	reuse := c.expect(400, "POST", tokenURL, "application/x-www-form-urlencoded", exchange.Encode(), "Origin", "https://evil.test")
	if reuse.header.Get("Access-Control-Allow-Origin") != "" || reuse.obj(t)["error"] != "invalid_grant" {
		t.Fatalf("code reuse from a foreign origin: %v %s", reuse.header, reuse.body)
	}

	// 11. The audit log shows each step.
	events := c.json(200, "GET", "/api/v2/org/"+domain+"/log-events?per_page=100", "", auth...)
	if _, ok := events["paginate"].(map[string]any); !ok || events["total_count"] == nil {
		t.Errorf("log events page (want data, paginate, total_count): %v", events)
	}
	var codes []string
	data, _ := events["data"].([]any)
	for _, e := range data {
		if m, ok := e.(map[string]any); ok {
			codes = append(codes, m["event_code"].(string))
		}
	}
	for _, want := range []string{"USER_CREATED", "APPLICATION_CREATED", "PASSWORD_LOGIN_SUCCESS", "PASSWORD_LOGIN_FAILED",
		"MAGIC_LINK_SENT", "MAGIC_LINK_SUCCESS", "TOKEN_ISSUED", "TOKEN_REFRESHED", "TOKEN_REVOKED",
		"AUTHORIZATION_CODE_REUSE_DETECTED"} {
		if !slices.Contains(codes, want) {
			t.Errorf("audit log lacks %s: %v", want, codes)
		}
	}
	evBody := c.expect(200, "GET", "/api/v2/org/"+domain+"/log-events?per_page=100", "", "", auth...).body
	for sec, what := range c.secrets {
		if bytes.Contains(evBody, []byte(sec)) {
			t.Errorf("the audit log holds the %s", what)
		}
	}

	// 12. Nothing secret reached the server's log.
	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	out := logs.String()
	if !strings.Contains(out, "gatehouse listening") {
		t.Fatalf("no server log captured: %q", out)
	}
	// The start names what signs RS256 (OpenSSL where this build loads
	// libcrypto, crypto/rsa otherwise).
	if !strings.Contains(out, `msg="rs256 signer" rsa_signer="openssl 3.`) && !strings.Contains(out, `msg="rs256 signer" rsa_signer=crypto/rsa`) {
		t.Errorf("the start does not log the RS256 signer: %q", out)
	}
	for s, what := range c.secrets {
		if strings.Contains(out, s) {
			t.Errorf("the server log holds the %s", what)
		}
	}

	// 13. On a file store everything survives a restart: the same key, the
	// organization, the users of both faces, and revocations.
	if !strings.HasPrefix(store, "bolt:") {
		return
	}
	base2, out2, _ := startServerLogs(t, io.Discard, "-store", store, "-master-key", masterID+":"+masterSecret,
		"-monitoring-token", monitoring, "-mail-dir", mailDir)
	if strings.Contains(out2.String(), "-master-key") {
		t.Fatalf("restart printed secrets again: %s", out2)
	}
	c2 := newClient(t, base2)
	mgmt2 := str(t, c2.json(200, "POST", "/api/v2/oauth/token", `{"grant_type":"client_credentials","client_id":"`+masterID+
		`","client_secret":"`+masterSecret+`","domain":"gatehouse"}`), "access_token")
	auth2 := []string{"Authorization", "Bearer " + mgmt2}
	c2.json(200, "GET", "/api/v2/organizations/"+domain, "", auth2...)
	c2.json(200, "GET", "/api/v2/org/"+domain+"/users/"+aliceID, "", auth2...)
	c2.expect(200, "GET", "/api/1/profile/by_username.json?"+master+"&tenantName="+domain+"&username=alice%40journey.test", "", "")
	if r := c2.do("POST", base2+"/t/"+domain+"/oauth/token", "application/x-www-form-urlencoded", url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {refresh2}, "client_id": {spaID}}.Encode()); r.status != 400 {
		t.Fatalf("a revoked refresh token after a restart: %d %s", r.status, r.body)
	}
}

// crafterErr asserts Crafter's error format.
func crafterErr(t *testing.T, a *answer) {
	t.Helper()
	m := a.obj(t)
	if _, ok := m["errorCode"].(string); !ok {
		t.Fatalf("not a Crafter error: %s", a.body)
	}
	if _, ok := m["message"].(string); !ok {
		t.Fatalf("not a Crafter error: %s", a.body)
	}
}

func formFields(t *testing.T, body string) (action, csrf, request string) {
	t.Helper()
	a, c := reFormAction.FindStringSubmatch(body), reCSRFField.FindStringSubmatch(body)
	if a == nil || c == nil {
		t.Fatalf("no form with a CSRF token: %s", body)
	}
	if r := reRequestFld.FindStringSubmatch(body); r != nil {
		request = r[1]
	}
	return strings.ReplaceAll(a[1], "&amp;", "&"), c[1], request
}

func str(t *testing.T, m map[string]any, k string) string {
	t.Helper()
	s, ok := m[k].(string)
	if !ok || s == "" {
		t.Fatalf("no %s in %v", k, m)
	}
	return s
}
