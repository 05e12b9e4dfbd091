package sso_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	csaml "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/api"
	"github.com/gatehouse-id/gatehouse/internal/testkit"
	"github.com/gatehouse-id/gatehouse/mail"
	"github.com/gatehouse-id/gatehouse/sso"
	"github.com/gatehouse-id/gatehouse/sso/portal"
	"github.com/gatehouse-id/gatehouse/sso/ssoapi"
	"github.com/gatehouse-id/gatehouse/store/memory"
	"github.com/gatehouse-id/gatehouse/tokens"
)

const (
	account = "your-domain"
	baseURL = "https://gatehouse.test"
	idpBase = "https://idp.test"
	appURI  = "https://app.acme.test/callback"
)

type keyPair struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

var testKeys = sync.OnceValue(func() []keyPair {
	var out []keyPair
	for i, cn := range []string{"idp", "idp-next"} {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 1)), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(5 * 365 * 24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		cert, _ := x509.ParseCertificate(der)
		out = append(out, keyPair{key, cert})
	}
	return out
})

// mails records sent messages.
type mails struct {
	mu   sync.Mutex
	msgs []mail.Message
}

func (m *mails) Send(_ context.Context, msg mail.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, msg)
	return nil
}

func (m *mails) last(t testing.TB) mail.Message {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.msgs) == 0 {
		t.Fatal("no mail sent")
	}
	return m.msgs[len(m.msgs)-1]
}

// count returns the number of messages sent.
func (m *mails) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.msgs)
}

var linkRE = regexp.MustCompile(`https?://\S+/enterprise-setup/\S+`)

// fakeAuthz is a test double of the OIDC provider's side: its
// "authorization endpoint" at baseURL/authorize keeps the OAuth parameters
// and sends the browser back to the login URL with a request id.
type fakeAuthz struct {
	mu        sync.Mutex
	begun     []url.Values
	completed []sso.SignIn
	defaults  []string
}

func (f *fakeAuthz) AuthorizeURL(_ identity.Environment, org, idp string, q url.Values) string {
	q = cloneValues(q)
	q.Set("idp_id", idp)
	q.Set("org", org)
	return baseURL + "/authorize?" + q.Encode()
}

// serveAuthorize plays the provider's authorization endpoint.
func (f *fakeAuthz) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query()
	if q.Get("redirect_uri") != appURI {
		http.Error(w, "redirect_uri not allowed", http.StatusBadRequest)
		return
	}
	f.begun = append(f.begun, q)
	http.Redirect(w, r, baseURL+"/enterprise/"+q.Get("idp_id")+"/login?request_id="+fmt.Sprintf("pending-%d", len(f.begun)), http.StatusFound)
}

func (f *fakeAuthz) Resume(w http.ResponseWriter, r *http.Request, pending string, in sso.SignIn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.completed = append(f.completed, in)
	http.Redirect(w, r, appURI+"?code=code-for-"+pending+"&state="+url.QueryEscape(f.begun[len(f.begun)-1].Get("state")), http.StatusSeeOther)
}

func (f *fakeAuthz) ResumeDefault(w http.ResponseWriter, r *http.Request, clientID, uri string, in sso.SignIn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.completed = append(f.completed, in)
	f.defaults = append(f.defaults, clientID)
	http.Redirect(w, r, uri+"?code=default-code", http.StatusSeeOther)
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// fixture is an identity core, the SSO service and its HTTP faces over a
// memory store, with a real crewjam/saml IdP in process.
type fixture struct {
	t       testing.TB
	clock   *testkit.Clock
	id      *identity.Service
	svc     *sso.Service
	api     *api.Handler
	mux     *http.ServeMux
	portal  *portal.Handler
	mails   *mails
	authz   *fakeAuthz
	org     *identity.Organization
	app     *identity.Application
	token   string
	idp     *csaml.IdentityProvider
	session *csaml.Session
	logs    *bytes.Buffer
	// plainAssertions makes the IdP ignore our encryption certificate, so
	// its assertions travel in the clear (to tamper with them).
	plainAssertions bool
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureOn(t, memory.New())
}

// newFixtureOn is newFixture on the given store.
func newFixtureOn(t testing.TB, store identity.Store) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: testkit.NewClock(time.Now().UTC().Truncate(time.Second)), mails: &mails{}, authz: &fakeAuthz{},
		logs: &bytes.Buffer{}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var err error
	f.id, err = identity.NewService(identity.Options{Store: store, Clock: f.clock.Now, AccountDomain: account, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	name, domains := "Acme Company", []string{"acme.test"}
	f.org, err = f.id.CreateOrganization(ctx, identity.OrganizationInput{Name: &name, AllowedEmailDomains: &domains})
	if err != nil {
		t.Fatal(err)
	}
	f.app, _, err = f.id.CreateApplication(ctx, f.org.Domain, identity.Application{Name: "front", ApplicationType: identity.AppReact,
		AllowedRedirectURLs: []string{appURI}, AllowedOriginsCORS: []string{"https://app.acme.test"},
		AllowedWebOrigins: []string{"https://app.acme.test"}, AllowedLogoutURLs: []string{"https://app.acme.test/"}})
	if err != nil {
		t.Fatal(err)
	}
	f.svc, err = sso.New(sso.Options{Identity: f.id, BaseURL: baseURL, Mailer: f.mails, MailFrom: "sso@gatehouse.test",
		Authorizations: f.authz, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := tokens.New(tokens.Options{Identity: f.id, BaseURL: baseURL})
	if err != nil {
		t.Fatal(err)
	}
	f.api, err = api.New(api.Options{Service: f.id, TokenService: ts, Logger: log, Routes: []api.RouteGroup{ssoapi.Routes(f.svc)}})
	if err != nil {
		t.Fatal(err)
	}
	f.mux = http.NewServeMux()
	f.mux.Handle("/api/v2/", f.api)
	f.mux.Handle("/enterprise/", f.svc.Handler())
	f.mux.HandleFunc("GET /authorize", f.authz.serveAuthorize)
	f.portal, err = portal.New(f.svc)
	if err != nil {
		t.Fatal(err)
	}
	// A test may swap f.portal for one built with other options.
	f.mux.HandleFunc("/enterprise-setup/", func(w http.ResponseWriter, r *http.Request) { f.portal.ServeHTTP(w, r) })
	f.token = f.key(identity.Production, []string{"*"})
	f.setupIdP()
	return f
}

// key creates an API key and returns a management token for it.
func (f *fixture) key(env identity.Environment, orgs []string, perms ...string) string {
	f.t.Helper()
	if len(perms) == 0 {
		perms = []string{"*"}
	}
	c, secret, err := f.id.CreateCredential(context.Background(),
		identity.Credential{Name: "test key", Environment: env, Permissions: perms, ManagedOrgs: orgs}, "")
	if err != nil {
		f.t.Fatal(err)
	}
	rec := f.do("POST", "/api/v2/oauth/token", "", map[string]any{
		"grant_type": "client_credentials", "client_id": c.ID, "client_secret": secret, "domain": account})
	if rec.Code != http.StatusOK {
		f.t.Fatalf("token: %d %s", rec.Code, rec.Body)
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		f.t.Fatal(err)
	}
	return out.AccessToken
}

// do sends a JSON request to the management API.
func (f *fixture) do(method, path, token string, body any) *httptest.ResponseRecorder {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, req)
	return rec
}

// json decodes a JSON answer, failing on a status other than want.
func (f *fixture) json(rec *httptest.ResponseRecorder, want int) map[string]any {
	f.t.Helper()
	if rec.Code != want {
		f.t.Fatalf("status %d, want %d: %s", rec.Code, want, rec.Body)
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		f.t.Fatalf("decode %s: %v", rec.Body, err)
	}
	return out
}

func (f *fixture) setupIdP() {
	kp := testKeys()[0]
	f.session = &csaml.Session{ID: "s1", Index: "i1", NameID: "jane@acme.test",
		NameIDFormat: string(csaml.EmailAddressNameIDFormat), UserEmail: "jane@acme.test",
		UserGivenName: "Jane", UserSurname: "Doe", UserName: "jdoe", UserCommonName: "Jane Doe",
		CreateTime: f.clock.Now(), ExpireTime: f.clock.Now().Add(time.Hour)}
	f.idp = &csaml.IdentityProvider{
		Key: kp.key, Certificate: kp.cert,
		MetadataURL: mustURL(idpBase + "/metadata"), SSOURL: mustURL(idpBase + "/sso"), LogoutURL: mustURL(idpBase + "/slo"),
		Clock: dsig.NewFakeClockAt(f.clock.Now()),
		SessionProvider: sessionFunc(func(http.ResponseWriter, *http.Request, *csaml.IdpAuthnRequest) *csaml.Session {
			return f.session
		}),
		ServiceProviderProvider: spProviderFunc(func(_ *http.Request, id string) (*csaml.EntityDescriptor, error) {
			// Fetch our SP metadata from our own endpoint, as an IdP admin would.
			const prefix = baseURL + "/enterprise/"
			if !strings.HasPrefix(id, prefix) {
				return nil, os.ErrNotExist
			}
			rec := httptest.NewRecorder()
			f.mux.ServeHTTP(rec, httptest.NewRequest("GET", id, nil))
			if rec.Code != 200 {
				return nil, os.ErrNotExist
			}
			var ed csaml.EntityDescriptor
			if err := xml.Unmarshal(rec.Body.Bytes(), &ed); err != nil {
				return nil, err
			}
			if f.plainAssertions {
				for i := range ed.SPSSODescriptors {
					kds := ed.SPSSODescriptors[i].KeyDescriptors[:0]
					for _, kd := range ed.SPSSODescriptors[i].KeyDescriptors {
						if kd.Use != "encryption" {
							kds = append(kds, kd)
						}
					}
					ed.SPSSODescriptors[i].KeyDescriptors = kds
				}
			}
			return &ed, nil
		}),
	}
}

// idpMetadata returns the IdP's metadata XML.
func (f *fixture) idpMetadata() string {
	b, err := xml.Marshal(f.idp.Metadata())
	if err != nil {
		f.t.Fatal(err)
	}
	return string(b)
}

type sessionFunc func(http.ResponseWriter, *http.Request, *csaml.IdpAuthnRequest) *csaml.Session

func (s sessionFunc) GetSession(w http.ResponseWriter, r *http.Request, req *csaml.IdpAuthnRequest) *csaml.Session {
	return s(w, r, req)
}

type spProviderFunc func(*http.Request, string) (*csaml.EntityDescriptor, error)

func (s spProviderFunc) GetServiceProvider(r *http.Request, id string) (*csaml.EntityDescriptor, error) {
	return s(r, id)
}

func mustURL(s string) url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return *u
}

// connection creates a connection through the API, with the IdP metadata
// uploaded, and returns its idp_id.
func (f *fixture) connection() string {
	f.t.Helper()
	out := f.json(f.do("POST", "/api/v2/sso-connections", f.token, map[string]any{
		"organization_id": f.org.ID, "application_id": f.app.ClientID, "sso_admin_email": "it@acme.test"}), http.StatusCreated)
	idp := out["id"].(string)
	f.json(f.do("PUT", "/api/v2/sso-connections/"+idp, f.token, map[string]any{"metadata": f.idpMetadata()}), http.StatusOK)
	return idp
}

// browser is a cookie-keeping client over the fixture's handlers, with the
// IdP reachable at idpBase.
type browser struct {
	f   *fixture
	jar http.CookieJar
}

func (f *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{f: f, jar: jar}
}

// get performs one request (no redirects followed).
func (b *browser) do(req *http.Request) *http.Response {
	b.f.t.Helper()
	for _, c := range b.jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	if strings.HasPrefix(req.URL.String(), idpBase) {
		b.f.idp.ServeSSO(rec, req)
	} else {
		b.f.mux.ServeHTTP(rec, req)
	}
	resp := rec.Result()
	b.jar.SetCookies(req.URL, resp.Cookies())
	return resp
}

func (b *browser) get(u string) *http.Response {
	return b.do(httptest.NewRequest("GET", u, nil))
}

func (b *browser) postForm(u string, form url.Values) *http.Response {
	req := httptest.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var samlResponseRE = regexp.MustCompile(`name="SAMLResponse" value="([^"]*)"`)

// idpAnswer runs the IdP on the redirect and returns the SAMLResponse it posts.
func (b *browser) idpAnswer(loc string) string {
	b.f.t.Helper()
	resp := b.get(loc)
	body, _ := io.ReadAll(resp.Body)
	m := samlResponseRE.FindSubmatch(body)
	if m == nil {
		b.f.t.Fatalf("IdP answered %d without a SAMLResponse: %s", resp.StatusCode, body)
	}
	return html.UnescapeString(string(m[1]))
}

// startLogin starts an SP-initiated sign-in and returns the IdP's answer.
func (b *browser) startLogin(idp string, q url.Values) string {
	b.f.t.Helper()
	resp := b.get(baseURL + "/enterprise/" + idp + "/login?" + q.Encode())
	for resp.StatusCode == http.StatusFound && strings.HasPrefix(resp.Header.Get("Location"), baseURL) {
		resp = b.get(resp.Header.Get("Location"))
	}
	if resp.StatusCode != http.StatusFound {
		body, _ := io.ReadAll(resp.Body)
		b.f.t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	return b.idpAnswer(resp.Header.Get("Location"))
}

func (b *browser) acs(idp, samlResponse string) *http.Response {
	return b.postForm(baseURL+"/enterprise/"+idp+"/acs", url.Values{"SAMLResponse": {samlResponse}})
}

// idpInitiated asks the IdP for an unsolicited response to our SP.
func (f *fixture) idpInitiated(idp string) string {
	f.t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", idpBase+"/login/"+idp, nil)
	f.idp.ServeIDPInitiated(rec, req, baseURL+"/enterprise/"+idp+"/metadata", "")
	m := samlResponseRE.FindSubmatch(rec.Body.Bytes())
	if m == nil {
		f.t.Fatalf("IdP-initiated: %d %s", rec.Code, rec.Body)
	}
	return html.UnescapeString(string(m[1]))
}

// lastEvent returns the newest audit event with code.
func (f *fixture) lastEvent(code string) *identity.Event {
	f.t.Helper()
	page, err := f.id.ListEvents(context.Background(), f.org.Domain, identity.EventFilter{Code: code}, identity.PageRequest{PerPage: 1})
	if err != nil {
		f.t.Fatal(err)
	}
	if len(page.Items) == 0 {
		return nil
	}
	return &page.Items[0]
}

func (f *fixture) userCount() int {
	f.t.Helper()
	page, err := f.id.ListUsers(context.Background(), f.org.Domain, identity.PageRequest{})
	if err != nil {
		f.t.Fatal(err)
	}
	return page.Total
}
