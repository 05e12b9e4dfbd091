package provider

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/api"
	"github.com/gatehouse-id/gatehouse/identity/password"
	"github.com/gatehouse-id/gatehouse/internal/testkit"
	"github.com/gatehouse-id/gatehouse/mail"
	"github.com/gatehouse-id/gatehouse/store/memory"
	"github.com/gatehouse-id/gatehouse/tokens"
)

const (
	spaOrigin   = "http://spa.example.test"
	spaRedirect = "http://spa.example.test/callback"
	webRedirect = "https://web.example.test/cb"
	logoutURL   = "http://spa.example.test/bye"
	userEmail   = "jane@acme.test"
)

// env is a running provider with one organization, three applications
// (public SPA, confidential web app, machine app) and one user.
type env struct {
	t         testing.TB
	clock     *testkit.Clock
	ids       *identity.Service
	tok       *tokens.Service
	prov      *Provider
	srv       *httptest.Server
	base      string
	org       *identity.Organization
	spa       *identity.Application
	web       *identity.Application
	webSecret string
	machine   *identity.Application
	macSecret string
	user      *identity.User
	mu        sync.Mutex
	mails     []mail.Message
	client    *http.Client
}

func newEnv(t testing.TB, mod ...func(*Options)) *env {
	t.Helper()
	e := &env{t: t, clock: testkit.NewClock(time.Now().UTC().Truncate(time.Second))}
	srv := httptest.NewUnstartedServer(nil)
	e.base = "http://" + srv.Listener.Addr().String()
	ids, err := identity.NewService(identity.Options{Store: memory.New(), Clock: e.clock.Now, AccountDomain: "acme-account",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Hasher: password.New(password.WithConcurrency(2))})
	if err != nil {
		t.Fatal(err)
	}
	e.ids = ids
	if e.tok, err = tokens.New(tokens.Options{Identity: ids, BaseURL: e.base}); err != nil {
		t.Fatal(err)
	}
	opts := Options{Identity: ids, Tokens: e.tok, MailFrom: "login@acme.test",
		Mailer: mail.MailerFunc(func(_ context.Context, m mail.Message) error {
			e.mu.Lock()
			e.mails = append(e.mails, m)
			e.mu.Unlock()
			return nil
		})}
	for _, m := range mod {
		m(&opts)
	}
	if e.prov, err = New(opts); err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = e.prov
	srv.Start()
	e.srv = srv
	t.Cleanup(func() { srv.Close(); _ = e.prov.Close() })
	ctx := context.Background()
	name, domains := "Acme Corp", []string{"acme.test"}
	if e.org, err = ids.CreateOrganization(ctx, identity.OrganizationInput{Name: &name, AllowedEmailDomains: &domains}); err != nil {
		t.Fatal(err)
	}
	if e.spa, _, err = ids.CreateApplication(ctx, e.org.Domain, identity.Application{Name: "spa", ApplicationType: identity.AppReact,
		AllowedRedirectURLs: []string{spaRedirect}, AllowedOriginsCORS: []string{spaOrigin}, AllowedLogoutURLs: []string{logoutURL},
		DefaultOriginCORS: spaOrigin}); err != nil {
		t.Fatal(err)
	}
	if e.web, e.webSecret, err = ids.CreateApplication(ctx, e.org.Domain, identity.Application{Name: "web",
		ApplicationType: identity.AppRegularWeb, AllowedRedirectURLs: []string{webRedirect}}); err != nil {
		t.Fatal(err)
	}
	if e.machine, e.macSecret, err = ids.CreateApplication(ctx, e.org.Domain, identity.Application{Name: "cron",
		ApplicationType: identity.AppMachine}); err != nil {
		t.Fatal(err)
	}
	if e.webSecret == "" || e.macSecret == "" {
		t.Fatal("confidential applications got no secret")
	}
	if e.user, err = ids.CreateUser(ctx, e.org.Domain, identity.User{Email: userEmail, Enabled: true,
		Profile: identity.Profile{GivenName: "Jane", FamilyName: "Doe"}}, ""); err != nil {
		t.Fatal(err)
	}
	e.client = e.newBrowser()
	return e
}

// newBrowser returns a client with its own cookie jar that does not follow
// redirects.
func (e *env) newBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *env) issuer() string { return e.base + "/t/" + e.org.Domain }

// addOrg creates another organization named name.
func (e *env) addOrg(name string) *identity.Organization {
	e.t.Helper()
	o, err := e.ids.CreateOrganization(context.Background(), identity.OrganizationInput{Name: &name})
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

// pkce returns a verifier and its S256 challenge.
func pkce(seed string) (string, string) {
	v := base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat(seed, 40)))[:50]
	return v, pkceS256(v)
}

// spaAuthorize returns the authorization URL of the SPA with PKCE.
func (e *env) spaAuthorize(challenge string, extra url.Values) string {
	q := url.Values{"response_type": {"code"}, "client_id": {e.spa.ClientID}, "redirect_uri": {spaRedirect},
		"scope": {"openid email profile"}, "state": {"st-1"}, "nonce": {"n-1"}, "code_challenge": {challenge},
		"code_challenge_method": {"S256"}}
	for k, v := range extra {
		q[k] = v
	}
	return e.issuer() + "/authorize?" + q.Encode()
}

type resp struct {
	status int
	header http.Header
	body   string
}

func (r *resp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("not JSON (%d): %s", r.status, r.body)
	}
	return m
}

func (r *resp) location(t testing.TB) *url.URL {
	t.Helper()
	u, err := url.Parse(r.header.Get("Location"))
	if err != nil || r.header.Get("Location") == "" {
		t.Fatalf("no Location (status %d): %s", r.status, r.body)
	}
	return u
}

func do(t testing.TB, c *http.Client, req *http.Request) *resp {
	t.Helper()
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &resp{status: res.StatusCode, header: res.Header, body: string(b)}
}

func (e *env) get(c *http.Client, u string, hdr ...string) *resp {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return do(e.t, c, req)
}

func (e *env) postForm(c *http.Client, u string, form url.Values, hdr ...string) *resp {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return do(e.t, c, req)
}

func (e *env) postJSON(c *http.Client, u string, body any, hdr ...string) *resp {
	e.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return do(e.t, c, req)
}

var (
	reCSRF    = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	reRequest = regexp.MustCompile(`name="request" value="([^"]+)"`)
	reAction  = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	reLink    = regexp.MustCompile(`(http://[^\s]+/magic-link/verify/[A-Za-z0-9_-]{43})`)
	reDigits  = regexp.MustCompile(`: (\d{6})\n`)
)

// form extracts the hidden fields and action of a page.
func form(t testing.TB, body string) (action, csrf, request string) {
	t.Helper()
	m := reAction.FindStringSubmatch(body)
	c := reCSRF.FindStringSubmatch(body)
	if m == nil || c == nil {
		t.Fatalf("no form in page: %s", body)
	}
	if r := reRequest.FindStringSubmatch(body); r != nil {
		request = r[1]
	}
	return m[1], c[1], request
}

// takeMail returns the next mail, waiting for the background sender.
func (e *env) takeMail() mail.Message {
	e.t.Helper()
	_ = e.prov.Close()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.mails) == 0 {
		e.t.Fatal("no mail sent")
	}
	m := e.mails[0]
	e.mails = e.mails[1:]
	return m
}

func (e *env) mailCount() int {
	_ = e.prov.Close()
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.mails)
}

// magicLogin drives the login page of an authorization URL with a magic
// link and returns the final redirect to the application.
func (e *env) magicLogin(c *http.Client, authURL, email string) *url.URL {
	e.t.Helper()
	page := e.get(c, authURL)
	if page.status != http.StatusOK {
		e.t.Fatalf("authorize: %d %s %s", page.status, page.header.Get("Location"), page.body)
	}
	action, csrf, request := form(e.t, page.body)
	sent := e.postForm(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {"magic"},
		"email": {email}})
	if sent.status != http.StatusOK {
		e.t.Fatalf("send magic link: %d %s", sent.status, sent.body)
	}
	m := e.takeMail()
	link := reLink.FindString(m.Text)
	if link == "" {
		e.t.Fatalf("no link in mail: %s", m.Text)
	}
	confirm := e.get(c, link)
	if confirm.status != http.StatusOK {
		e.t.Fatalf("confirm page: %d %s", confirm.status, confirm.body)
	}
	_, csrf2, _ := form(e.t, confirm.body)
	done := e.postForm(c, link, url.Values{"csrf_token": {csrf2}})
	if done.status != http.StatusSeeOther {
		e.t.Fatalf("consume link: %d %s", done.status, done.body)
	}
	return done.location(e.t)
}

// spaCode signs the user in through the SPA and returns code and verifier.
func (e *env) spaCode(c *http.Client) (code, verifier string) {
	e.t.Helper()
	v, ch := pkce("a")
	loc := e.magicLogin(c, e.spaAuthorize(ch, nil), userEmail)
	code = loc.Query().Get("code")
	if code == "" || loc.Query().Get("state") != "st-1" {
		e.t.Fatalf("bad callback: %s", loc)
	}
	return code, v
}

// exchange redeems a SPA code at the standard token endpoint.
func (e *env) exchange(code, verifier string) *resp {
	e.t.Helper()
	return e.postForm(http.DefaultClient, e.issuer()+"/oauth/token", url.Values{"grant_type": {"authorization_code"},
		"code": {code}, "code_verifier": {verifier}, "client_id": {e.spa.ClientID}, "redirect_uri": {spaRedirect}})
}

// spaTokens runs the whole SPA sign-in and returns the token answer.
func (e *env) spaTokens() map[string]any {
	e.t.Helper()
	code, v := e.spaCode(e.newBrowser())
	r := e.exchange(code, v)
	if r.status != http.StatusOK {
		e.t.Fatalf("token: %d %s", r.status, r.body)
	}
	return r.json(e.t)
}

func (e *env) refresh(rt string) *resp {
	e.t.Helper()
	return e.postForm(http.DefaultClient, e.issuer()+"/oauth/token", url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {rt}, "client_id": {e.spa.ClientID}})
}

func (e *env) introspect(token string) map[string]any {
	e.t.Helper()
	r := e.postForm(http.DefaultClient, e.issuer()+"/oauth/introspect", url.Values{"token": {token},
		"client_id": {e.spa.ClientID}})
	if r.status != http.StatusOK {
		e.t.Fatalf("introspect: %d %s", r.status, r.body)
	}
	return r.json(e.t)
}

// oauthErr asserts an RFC 6749 JSON error answer.
func oauthErr(t testing.TB, r *resp, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	m := r.json(t)
	if m["error"] != code {
		t.Fatalf("error %v, want %s: %s", m["error"], code, r.body)
	}
	if _, ok := m["error_description"]; !ok {
		t.Fatalf("no error_description: %s", r.body)
	}
	for _, k := range []string{"access_token", "refresh_token", "id_token"} {
		if _, ok := m[k]; ok {
			t.Fatalf("%s issued on failure", k)
		}
	}
}

// oauth2TokenSource is a static access token for go-oidc's UserInfo.
type oauth2TokenSource string

func (s oauth2TokenSource) Token() (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: string(s), TokenType: "Bearer"}, nil
}

func httptestRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// managementAPI serves the Cryptr management API with the provider's route
// group (the headless challenges) and returns its URL and the Bearer
// header of a production API key over every organization.
func (e *env) managementAPI(t *testing.T) (base, bearer string) {
	t.Helper()
	h, err := api.New(api.Options{Service: e.ids, Tokens: api.Tokens(e.tok), Routes: []api.RouteGroup{e.prov.APIRoutes()},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	cred, secret, err := e.ids.CreateCredential(context.Background(), identity.Credential{Name: "backend",
		Permissions: []string{"*"}, ManagedOrgs: []string{"*"}, Environment: identity.Production}, "")
	if err != nil {
		t.Fatal(err)
	}
	mgmt := httptest.NewServer(h)
	t.Cleanup(mgmt.Close)
	tr := e.postForm(http.DefaultClient, mgmt.URL+"/api/v2/oauth/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {cred.ID}, "client_secret": {secret}})
	if tr.status != 200 {
		t.Fatalf("management token: %d %s", tr.status, tr.body)
	}
	return mgmt.URL, "Bearer " + tr.json(t)["access_token"].(string)
}
