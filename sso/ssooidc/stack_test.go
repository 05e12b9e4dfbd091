package ssooidc_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	stdlog "log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml/samlidp"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/api"
	"github.com/gatehouse-id/gatehouse/mail"
	"github.com/gatehouse-id/gatehouse/sso"
	"github.com/gatehouse-id/gatehouse/sso/portal"
	"github.com/gatehouse-id/gatehouse/sso/ssoapi"
	"github.com/gatehouse-id/gatehouse/sso/ssooidc"
	"github.com/gatehouse-id/gatehouse/store/memory"
	"github.com/gatehouse-id/gatehouse/tokens"
	"github.com/gatehouse-id/gatehouse/tokens/provider"
)

// stack is a whole Gatehouse (identity core, tokens, OIDC provider, SSO,
// portal, management API) on a real HTTP listener, next to a real Go SAML
// IdP (crewjam/saml samlidp) on another, as a browser sees them.
type stack struct {
	t        testing.TB
	base     string // Gatehouse's base URL: origin + prefix
	origin   string // scheme://host of the listener
	prefix   string // the path Gatehouse is mounted under ("" at the root)
	idpURL   string
	env      identity.Environment // of the application and the connection
	id       *identity.Service    // bound to env
	sso      *sso.Service
	prov     *provider.Provider
	org      *identity.Organization
	app      *identity.Application
	idp      string // the connection's idp_id
	redirect string // the application's redirect URI (served by the stack)
	idpMD    string
	mails    []mail.Message
}

const (
	userName     = "alice"
	userPassword = "correct horse battery staple"
	userEmail    = "alice@acme.test"
)

func listener(t testing.TB) (net.Listener, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l, "http://" + l.Addr().String()
}

// newStack builds the stack; the application and the connection are in
// env (production unless given).
func newStack(t testing.TB, env ...identity.Environment) *stack {
	t.Helper()
	return newStackAt(t, "", env...)
}

// newStackAt builds the stack with Gatehouse mounted under prefix ("" at
// the root, "/auth"): its base URL carries the prefix, and the host's mux
// serves it with http.StripPrefix beside the host's own routes (the
// application's redirect URI and GET /{$}).
func newStackAt(t testing.TB, prefix string, env ...identity.Environment) *stack {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	gl, origin := listener(t)
	il, idpURL := listener(t)
	base := origin + prefix
	s := &stack{t: t, base: base, origin: origin, prefix: prefix, idpURL: idpURL, redirect: origin + "/app/callback"}

	var err error
	s.id, err = identity.NewService(identity.Options{Store: memory.New(), AccountDomain: "your-domain", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := tokens.New(tokens.Options{Identity: s.id, BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	bridge := ssooidc.NewBridge(base)
	s.sso, err = sso.New(sso.Options{Identity: s.id, BaseURL: base, Authorizations: bridge, Logger: log,
		Mailer:   mail.MailerFunc(func(_ context.Context, m mail.Message) error { s.mails = append(s.mails, m); return nil }),
		MailFrom: "sso@gatehouse.test"})
	if err != nil {
		t.Fatal(err)
	}
	prov, err := provider.New(provider.Options{Identity: s.id, Tokens: ts, Logger: log, SSORouter: ssooidc.Router(s.sso),
		SSOLogout: ssooidc.Logout(s.sso)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prov.Close() })
	bridge.Bind(prov)
	s.prov = prov
	pt, err := portal.New(s.sso)
	if err != nil {
		t.Fatal(err)
	}
	mgmt, err := api.New(api.Options{Service: s.id, TokenService: ts, Logger: log, Routes: []api.RouteGroup{ssoapi.Routes(s.sso), prov.APIRoutes()}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/enterprise/", s.sso.Handler())
	mux.Handle("/enterprise-setup/", pt)
	mux.Handle("/api/v2/", mgmt)
	for _, p := range prov.Patterns() {
		mux.Handle(p, prov)
	}
	if prefix != "" {
		host := http.NewServeMux()
		host.Handle(prefix+"/", http.StripPrefix(prefix, mux))
		host.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "host home") })
		mux = host
	}
	mux.HandleFunc("GET /app/callback", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><html lang=en><title>App</title><h1>Signed in to the application</h1><p id=code>code=%s</p><p id=state>state=%s</p>",
			html.EscapeString(r.URL.Query().Get("code")), html.EscapeString(r.URL.Query().Get("state")))
	})
	gsrv := &httptest.Server{Listener: gl, Config: &http.Server{Handler: mux}}
	gsrv.Start()
	t.Cleanup(gsrv.Close)

	// The IdP.
	key, cert := idpKey(t)
	iu, _ := url.Parse(idpURL)
	idpSrv, err := samlidp.New(samlidp.Options{URL: *iu, Key: key, Certificate: cert, Store: &samlidp.MemoryStore{},
		Logger: stdlog.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	isrv := &httptest.Server{Listener: il, Config: &http.Server{Handler: idpSrv}}
	isrv.Start()
	t.Cleanup(isrv.Close)
	pw := userPassword
	s.put(idpURL+"/users/"+userName, mustJSON(samlidp.User{Name: userName, PlaintextPassword: &pw, Email: userEmail,
		GivenName: "Alice", Surname: "Liddell", CommonName: "Alice Liddell"}))
	s.idpMD = string(s.get(idpURL + "/metadata"))

	// The organization, its application and its connection.
	name, domains := "Acme Company", []string{"acme.test"}
	if s.org, err = s.id.CreateOrganization(ctx, identity.OrganizationInput{Name: &name, AllowedEmailDomains: &domains}); err != nil {
		t.Fatal(err)
	}
	s.env = identity.Production
	if len(env) > 0 && env[0] != identity.Production {
		s.env = env[0]
		if s.id, err = s.id.ForEnvironment(s.env); err != nil {
			t.Fatal(err)
		}
	}
	s.app, _, err = s.id.CreateApplication(ctx, s.org.Domain, identity.Application{Name: "front", ApplicationType: identity.AppReact,
		AllowedRedirectURLs: []string{s.redirect}, AllowedOriginsCORS: []string{origin}, AllowedWebOrigins: []string{origin},
		AllowedLogoutURLs: []string{origin + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.sso.CreateConnection(ctx, s.id, sso.CreateInput{OrgID: s.org.ID, ApplicationID: s.app.ClientID,
		SSOAdminEmail: "it@acme.test"})
	if err != nil {
		t.Fatal(err)
	}
	s.idp = d.Connection.ID
	// The IdP administrator registers our SP metadata.
	s.put(idpURL+"/services/gatehouse", s.get(s.sso.MetadataURL(s.idp)))
	return s
}

// issuer is the organization's issuer in the stack's environment.
func (s *stack) issuer() string { return tokens.IssuerURL(s.base, s.env, s.org.Domain) }

// uploadMetadata stores the IdP metadata on the connection (what the
// portal does).
func (s *stack) uploadMetadata() {
	s.t.Helper()
	if _, err := s.sso.UploadMetadata(context.Background(), s.id, s.idp, []byte(s.idpMD)); err != nil {
		s.t.Fatal(err)
	}
}

func idpKey(t testing.TB) (*rsa.PrivateKey, *x509.Certificate) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "test IdP"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return key, cert
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func (s *stack) put(u string, body []byte) {
	s.t.Helper()
	req, _ := http.NewRequest("PUT", u, bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(resp.Body)
		s.t.Fatalf("PUT %s: %d %s", u, resp.StatusCode, b)
	}
}

func (s *stack) get(u string) []byte {
	s.t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		s.t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return b
}

// client is a browser without JavaScript: it follows redirects, keeps
// cookies, and submits the forms the test tells it to.
type client struct {
	t    testing.TB
	hc   *http.Client
	last *url.URL
}

func (s *stack) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: s.t, hc: &http.Client{Jar: jar}}
}

func (c *client) do(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	c.last = resp.Request.URL
	return resp, string(b)
}

func (c *client) get(u string) (*http.Response, string) {
	req, _ := http.NewRequest("GET", u, nil)
	return c.do(req)
}

func (c *client) post(u string, form url.Values) (*http.Response, string) {
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

var (
	formActionRE = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
	hiddenRE     = regexp.MustCompile(`<input[^>]*name="(SAMLRequest|SAMLResponse|RelayState|request|csrf_token)"[^>]*value="([^"]*)"`)
)

// submit posts the page's first form with its hidden fields plus extra.
func (c *client) submit(page string, extra url.Values) (*http.Response, string) {
	c.t.Helper()
	m := formActionRE.FindStringSubmatch(page)
	if m == nil {
		c.t.Fatalf("no form in %s", page)
	}
	form := url.Values{}
	for _, h := range hiddenRE.FindAllStringSubmatch(page, -1) {
		form.Set(h[1], html.UnescapeString(h[2]))
	}
	for k, v := range extra {
		form[k] = v
	}
	action, err := c.last.Parse(html.UnescapeString(m[1]))
	if err != nil {
		c.t.Fatal(err)
	}
	return c.post(action.String(), form)
}

// signInAtIdP fills the IdP's login form and posts the SAMLResponse it
// answers with to our ACS, as the IdP page's script would.
func (c *client) signInAtIdP(loginPage string) (*http.Response, string) {
	c.t.Helper()
	_, page := c.submit(loginPage, url.Values{"user": {userName}, "password": {userPassword}})
	if !strings.Contains(page, "SAMLResponse") {
		c.t.Fatalf("IdP did not answer with a SAMLResponse: %s", page)
	}
	return c.submit(page, nil)
}

// pkce returns a verifier and its S256 challenge.
func pkce() (string, string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(v))
	return v, base64.RawURLEncoding.EncodeToString(sum[:])
}

// exchange redeems a code at the organization's token endpoint and returns
// the ID token's claims.
func (s *stack) exchange(code, verifier string) map[string]any {
	s.t.Helper()
	resp, err := http.PostForm(s.issuer()+"/oauth/token", url.Values{"grant_type": {"authorization_code"},
		"code": {code}, "redirect_uri": {s.redirect}, "client_id": {s.app.ClientID}, "code_verifier": {verifier}})
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil || resp.StatusCode != 200 {
		s.t.Fatalf("token: %d %s", resp.StatusCode, b)
	}
	idt, _ := out["id_token"].(string)
	parts := strings.Split(idt, ".")
	if len(parts) != 3 {
		s.t.Fatalf("id_token %q", idt)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		s.t.Fatal(err)
	}
	return claims
}
