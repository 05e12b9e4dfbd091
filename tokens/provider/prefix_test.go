package provider

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/password"
	"github.com/gatehouse-id/gatehouse/internal/testkit"
	"github.com/gatehouse-id/gatehouse/mail"
	"github.com/gatehouse-id/gatehouse/store/memory"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// prefixEnv is a provider whose BaseURL is http://gh.test{prefix}, mounted
// in a host's ServeMux under prefix with http.StripPrefix beside host
// routes, and reached in-process through testkit.Transport.
type prefixEnv struct {
	t      *testing.T
	prefix string
	base   string
	prov   *Provider
	tr     *testkit.Transport
	ids    *identity.Service
	org    *identity.Organization
	spa    *identity.Application
	sbSPA  *identity.Application // the sandbox's SPA
	mu     sync.Mutex
	mails  []mail.Message
}

const prefixPassword = "correct horse battery staple"

func newPrefixEnv(t *testing.T, prefix string) *prefixEnv {
	t.Helper()
	ctx := context.Background()
	e := &prefixEnv{t: t, prefix: prefix, base: "http://gh.test" + prefix}
	ids, err := identity.NewService(identity.Options{Store: memory.New(), AccountDomain: "acme-account",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Hasher: password.New(password.WithConcurrency(2))})
	if err != nil {
		t.Fatal(err)
	}
	e.ids = ids
	// A trailing slash on the base URL changes nothing.
	tok, err := tokens.New(tokens.Options{Identity: ids, BaseURL: e.base + "/"})
	if err != nil {
		t.Fatal(err)
	}
	e.prov, err = New(Options{Identity: ids, Tokens: tok, Mailer: mail.MailerFunc(func(_ context.Context, m mail.Message) error {
		e.mu.Lock()
		e.mails = append(e.mails, m)
		e.mu.Unlock()
		return nil
	})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.prov.Close() })
	e.tr = &testkit.Transport{Host: "gh.test", Handler: testkit.MountAt(prefix, e.prov)}
	name, domains := "Acme Corp", []string{"acme.test"}
	if e.org, err = ids.CreateOrganization(ctx, identity.OrganizationInput{Name: &name, AllowedEmailDomains: &domains}); err != nil {
		t.Fatal(err)
	}
	app := identity.Application{Name: "spa", ApplicationType: identity.AppReact, AllowedRedirectURLs: []string{spaRedirect},
		AllowedOriginsCORS: []string{spaOrigin}, AllowedLogoutURLs: []string{logoutURL}, DefaultOriginCORS: spaOrigin}
	if e.spa, _, err = ids.CreateApplication(ctx, e.org.Domain, app); err != nil {
		t.Fatal(err)
	}
	if _, err = ids.CreateUser(ctx, e.org.Domain, identity.User{Email: userEmail, Enabled: true}, prefixPassword); err != nil {
		t.Fatal(err)
	}
	sb, err := ids.ForEnvironment(identity.Sandbox)
	if err != nil {
		t.Fatal(err)
	}
	if e.sbSPA, _, err = sb.CreateApplication(ctx, e.org.Domain, app); err != nil {
		t.Fatal(err)
	}
	if _, err = sb.CreateUser(ctx, e.org.Domain, identity.User{Email: userEmail, Enabled: true}, prefixPassword); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *prefixEnv) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return e.tr.Client(jar)
}

// call sends a request and checks what the answer emits: every cookie is
// scoped to the base path, a Location on Gatehouse's own origin lies
// under the base URL, and so do the page's links and form actions.
func (e *prefixEnv) call(c *http.Client, method, u string, form url.Values) *resp {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r := do(e.t, c, req)
	if r.status == http.StatusNotFound {
		e.t.Errorf("%s %s: 404, the face was not reached: %s", method, u, r.body)
	}
	if r.body == testkit.HostHome || r.body == testkit.HostPage {
		e.t.Errorf("%s %s reached the host's page, not the face", method, u)
	}
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if ck.Path != e.prefix+"/" {
			e.t.Errorf("%s %s: cookie %s has Path %q, want %q", method, u, ck.Name, ck.Path, e.prefix+"/")
		}
	}
	if loc := r.header.Get("Location"); loc != "" {
		if under, foreign := testkit.Under(e.base, loc); !under && !foreign {
			e.t.Errorf("%s %s: Location %q is not under %s", method, u, loc, e.base)
		}
	}
	for _, l := range testkit.Links(r.body) {
		if under, _ := testkit.Under(e.base, l); !under {
			e.t.Errorf("%s %s: the page links to %q, not under %s", method, u, l, e.base)
		}
	}
	return r
}

// abs resolves a URL a page emitted against the page's URL.
func abs(t *testing.T, page, ref string) string {
	t.Helper()
	pu, _ := url.Parse(page)
	u, err := pu.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	return u.String()
}

// TestMountUnderPrefix walks the provider's flows with the base URL
// http://gh.test{prefix}, the provider mounted with http.StripPrefix in a
// host mux: discovery, JWKS, password and magic-link sign-ins (forms
// posted to the actions the pages render), the code exchange with PKCE,
// go-oidc verifying the ID token through the prefixed discovery URL,
// Cryptr's era-1 page and end-session with its confirmation, in both
// environments' trees. Every URL, form action and cookie path the pages
// emit lies under the prefix, and following them reaches the provider.
func TestMountUnderPrefix(t *testing.T) {
	for _, tc := range []struct {
		name, prefix string
		env          identity.Environment
	}{
		{"root", "", identity.Production},
		{"auth", "/auth", identity.Production},
		{"nested", "/a/b", identity.Production},
		{"auth sandbox", "/auth", identity.Sandbox},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newPrefixEnv(t, tc.prefix)
			ctx := oidc.ClientContext(context.Background(), &http.Client{Transport: e.tr})
			app := e.spa
			if tc.env == identity.Sandbox {
				app = e.sbSPA
			}
			iss := e.base + tokens.EnvironmentPath(tc.env) + "/t/" + e.org.Domain
			c := e.browser()

			// The host's own routes stay the host's.
			if tc.prefix != "" {
				if r := do(t, c, mustReq(t, "GET", "http://gh.test/")); r.body != testkit.HostHome {
					t.Errorf("GET / = %d %q, want the host's page", r.status, r.body)
				}
			}
			if r := do(t, c, mustReq(t, "GET", "http://gh.test/host/page")); r.body != testkit.HostPage {
				t.Errorf("GET /host/page = %d %q, want the host's page", r.status, r.body)
			}

			// Discovery: the issuer and every endpoint under the prefix.
			doc := e.call(c, "GET", iss+"/.well-known/openid-configuration", nil).json(t)
			if doc["issuer"] != iss {
				t.Fatalf("issuer %v, want %s", doc["issuer"], iss)
			}
			for _, k := range []string{"authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
				"revocation_endpoint", "introspection_endpoint", "end_session_endpoint"} {
				v, _ := doc[k].(string)
				if !strings.HasPrefix(v, iss+"/") {
					t.Errorf("%s = %q, not under %s", k, v, iss)
				}
			}
			if keys := e.call(c, "GET", doc["jwks_uri"].(string), nil).json(t)["keys"]; keys == nil {
				t.Error("jwks_uri answered no keys")
			}
			if keys := e.call(c, "GET", iss+"/.well-known", nil).json(t)["keys"]; keys == nil {
				t.Error("Cryptr's JWKS URL answered no keys")
			}

			// Password sign-in: authorize → login page → its form.
			verifier, challenge := pkce("p")
			q := url.Values{"response_type": {"code"}, "client_id": {app.ClientID}, "redirect_uri": {spaRedirect},
				"scope": {"openid email profile"}, "state": {"st"}, "nonce": {"n-1"}, "code_challenge": {challenge},
				"code_challenge_method": {"S256"}}
			authURL := doc["authorization_endpoint"].(string) + "?" + q.Encode()
			page := e.call(c, "GET", authURL, nil)
			if page.status != http.StatusOK {
				t.Fatalf("authorize: %d %s", page.status, page.body)
			}
			action, csrf, request := form(t, page.body)
			if want := tc.prefix + tokens.EnvironmentPath(tc.env) + "/t/" + e.org.Domain + "/login"; action != want {
				t.Errorf("login form action %q, want %q", action, want)
			}
			done := e.call(c, "POST", abs(t, authURL, action), url.Values{"csrf_token": {csrf}, "request": {request},
				"action": {"password"}, "email": {userEmail}, "password": {prefixPassword}})
			cb := done.location(t)
			code := cb.Query().Get("code")
			if code == "" || cb.Query().Get("iss") != iss {
				t.Fatalf("callback %s (status %d): %s", cb, done.status, done.body)
			}

			// The code exchange with PKCE, and go-oidc through the prefixed
			// discovery URL.
			tr := e.call(&http.Client{Transport: e.tr}, "POST", doc["token_endpoint"].(string), url.Values{
				"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
				"client_id": {app.ClientID}, "redirect_uri": {spaRedirect}})
			if tr.status != http.StatusOK {
				t.Fatalf("token: %d %s", tr.status, tr.body)
			}
			first := tr.json(t)
			op, err := oidc.NewProvider(ctx, iss)
			if err != nil {
				t.Fatalf("go-oidc discovery at %s: %v", iss, err)
			}
			idt, err := op.Verifier(&oidc.Config{ClientID: app.ClientID}).Verify(ctx, first["id_token"].(string))
			if err != nil {
				t.Fatalf("go-oidc verification: %v", err)
			}
			if idt.Issuer != iss || idt.Nonce != "n-1" {
				t.Errorf("ID token iss %q nonce %q", idt.Issuer, idt.Nonce)
			}
			ureq := mustReq(t, "GET", doc["userinfo_endpoint"].(string))
			ureq.Header.Set("Authorization", "Bearer "+first["access_token"].(string))
			if ui := do(t, &http.Client{Transport: e.tr}, ureq); ui.status != http.StatusOK || ui.json(t)["email"] != userEmail {
				t.Errorf("userinfo: %d %s", ui.status, ui.body)
			}

			// Magic link in a fresh browser: the mail's link, its
			// confirmation form, and the code page's form.
			mc := e.browser()
			_, challenge2 := pkce("m")
			q.Set("code_challenge", challenge2)
			authURL2 := doc["authorization_endpoint"].(string) + "?" + q.Encode()
			page = e.call(mc, "GET", authURL2, nil)
			action, csrf, request = form(t, page.body)
			sent := e.call(mc, "POST", abs(t, authURL2, action), url.Values{"csrf_token": {csrf}, "request": {request},
				"action": {"magic"}, "email": {userEmail}})
			if sent.status != http.StatusOK {
				t.Fatalf("send magic link: %d %s", sent.status, sent.body)
			}
			if a, _, _ := form(t, sent.body); a != action {
				t.Errorf("code form action %q, want %q", a, action)
			}
			link := e.takeMail(t)
			if want := e.base + tokens.EnvironmentPath(tc.env) + "/magic-link/verify/"; !strings.HasPrefix(link, want) {
				t.Fatalf("magic link %q, want it under %s", link, want)
			}
			confirm := e.call(mc, "GET", link, nil)
			caction, ccsrf, _ := form(t, confirm.body)
			if abs(t, link, caction) != link {
				t.Errorf("confirmation form posts to %q, not to the link %q", caction, link)
			}
			done = e.call(mc, "POST", abs(t, link, caction), url.Values{"csrf_token": {ccsrf}})
			if done.status != http.StatusSeeOther || done.location(t).Query().Get("code") == "" {
				t.Fatalf("consume link: %d %s %s", done.status, done.header.Get("Location"), done.body)
			}

			// Cryptr's era-1 sign-in page renders the same form action.
			era1 := e.base + tokens.EnvironmentPath(tc.env) + "/t/" + e.org.Domain + "/en/st-era1/signin/new?" +
				url.Values{"client_id": {app.ClientID}, "redirect_uri": {spaRedirect}, "code_challenge": {challenge},
					"code_challenge_method": {"S256"}}.Encode()
			if p := e.call(e.browser(), "GET", era1, nil); p.status == http.StatusOK {
				if a, _, _ := form(t, p.body); !strings.HasPrefix(a, tc.prefix+tokens.EnvironmentPath(tc.env)+"/t/") {
					t.Errorf("era-1 login form action %q", a)
				}
			} else {
				t.Errorf("era-1 sign-in page: %d %s", p.status, p.body)
			}

			// End-session: the browser with a session is asked to
			// confirm; the form posts back to end-session under the prefix.
			lq := url.Values{"client_id": {app.ClientID}, "post_logout_redirect_uri": {logoutURL}}
			endURL := doc["end_session_endpoint"].(string) + "?" + lq.Encode()
			lp := e.call(c, "GET", endURL, nil)
			laction, lcsrf, _ := form(t, lp.body)
			if abs(t, endURL, laction) != doc["end_session_endpoint"].(string) {
				t.Errorf("logout form posts to %q, want %s", laction, doc["end_session_endpoint"])
			}
			lf := url.Values{"csrf_token": {lcsrf}}
			for k, v := range lq {
				lf[k] = v
			}
			out := e.call(c, "POST", abs(t, endURL, laction), lf)
			if out.status != http.StatusFound || out.header.Get("Location") != logoutURL {
				t.Errorf("confirmed logout: %d %q", out.status, out.header.Get("Location"))
			}

			// Cryptr's slo-after-revoke-token hop without a code asks the
			// same, posting to itself under the prefix.
			c2 := e.browser()
			e.signIn(c2, authURL)
			slo := e.base + tokens.EnvironmentPath(tc.env) + "/api/v1/tenants/" + e.org.Domain + "/" + app.ClientID +
				"/oauth/token/slo-after-revoke-token"
			sp := e.call(c2, "GET", slo+"?target_url="+url.QueryEscape(logoutURL), nil)
			if a, _, _ := form(t, sp.body); abs(t, slo, a) != slo {
				t.Errorf("slo-after-revoke-token form posts to %q, want %s", a, slo)
			}
		})
	}
}

var reAnyLink = regexp.MustCompile(`https?://\S+/magic-link/verify/[A-Za-z0-9_-]{43}`)

func mustReq(t *testing.T, method, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// signIn signs the user in with the password through authURL in browser
// c and returns the code.
func (e *prefixEnv) signIn(c *http.Client, authURL string) string {
	e.t.Helper()
	page := e.call(c, "GET", authURL, nil)
	if page.status == http.StatusFound { // a browser session answers at once
		return page.location(e.t).Query().Get("code")
	}
	action, csrf, request := form(e.t, page.body)
	done := e.call(c, "POST", abs(e.t, authURL, action), url.Values{"csrf_token": {csrf}, "request": {request},
		"action": {"password"}, "email": {userEmail}, "password": {prefixPassword}})
	code := done.location(e.t).Query().Get("code")
	if code == "" {
		e.t.Fatalf("no code: %d %s", done.status, done.header.Get("Location"))
	}
	return code
}

// takeMail returns the link of the next magic-link mail.
func (e *prefixEnv) takeMail(t *testing.T) string {
	t.Helper()
	e.prov.mailWG.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.mails) == 0 {
		t.Fatal("no mail sent")
	}
	m := e.mails[0]
	e.mails = e.mails[1:]
	link := reAnyLink.FindString(m.Text)
	if link == "" {
		t.Fatalf("no link in mail: %s", m.Text)
	}
	if !strings.Contains(m.HTML, link) {
		t.Errorf("the HTML part lacks the link %s", link)
	}
	return link
}
