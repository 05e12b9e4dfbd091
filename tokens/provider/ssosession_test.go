package provider

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// openSSOSession opens a browser session for u through OpenSession and
// returns the cookie.
func (e *env) openSSOSession(t *testing.T, u *identity.User, idpID string) *http.Cookie {
	t.Helper()
	rec := httptest.NewRecorder()
	err := e.prov.OpenSession(rec, httptest.NewRequest(http.MethodGet, e.base+"/x", nil), identity.Production, e.org.Domain,
		Authenticated{User: u, IdentityProvider: "okta", SSOConnectionID: idpID, SSONameID: u.Email, SSOSessionIndex: "idx-" + idpID})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == sessionCookie {
			return c
		}
	}
	t.Fatal("no session cookie")
	return nil
}

func (e *env) sessionAlive(t *testing.T, c *http.Cookie) bool {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, e.base+"/x", nil)
	r.AddCookie(c)
	return e.prov.currentSession(r) != nil
}

// TestEndSSOSessions: the IdP's logout ends exactly the sessions that its
// connection opened for the user.
func TestEndSSOSessions(t *testing.T) {
	e := newEnv(t)
	other, err := e.ids.CreateUser(t.Context(), e.org.Domain, identity.User{Email: "john@acme.test", Enabled: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	a1 := e.openSSOSession(t, e.user, "acme_a")
	a2 := e.openSSOSession(t, e.user, "acme_a") // another browser
	b := e.openSSOSession(t, e.user, "acme_b")  // another connection
	o := e.openSSOSession(t, other, "acme_a")   // another user
	if err := e.prov.EndSSOSessions(t.Context(), identity.Production, e.user.ID, "acme_a"); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		ck   *http.Cookie
		want bool
	}{"first browser": {a1, false}, "second browser": {a2, false}, "other connection": {b, true}, "other user": {o, true}} {
		if got := e.sessionAlive(t, c.ck); got != c.want {
			t.Errorf("%s: alive %t, want %t", name, got, c.want)
		}
	}
	if err := e.prov.EndSSOSessions(t.Context(), identity.Sandbox, other.ID, "acme_a"); err != nil || !e.sessionAlive(t, o) {
		t.Fatalf("another environment ended a session (%v)", err)
	}
	if err := e.prov.EndSSOSessions(t.Context(), identity.Production, "", "acme_a"); err == nil {
		t.Fatal("no user accepted")
	}
	// The index keeps only live sessions: ended ones are pruned when the
	// next session is opened.
	e.openSSOSession(t, e.user, "acme_a")
	n := 0
	_ = e.ids.View(t.Context(), func(tx *identity.ReadTxn) error {
		n, _ = ssoSessions(identity.Production, "acme_a", e.user.ID).Count(tx.KV(kv.Inside()))
		return nil
	})
	if n != 1 {
		t.Fatalf("index holds %d members, want 1", n)
	}
}

// TestEndSessionStartsSSOLogout: ending a session opened by SSO hands the
// logout to Options.SSOLogout with the IdP's names and the validated
// return URL; a session without SSO, or an IdP without single logout, goes
// straight to the logout URL.
func TestEndSessionStartsSSOLogout(t *testing.T) {
	var got []SSOLogoutRequest
	offer := true
	e := newEnv(t, func(o *Options) {
		o.SSOLogout = SSOLogoutFunc(func(_ context.Context, req SSOLogoutRequest) (string, bool, error) {
			got = append(got, req)
			return "https://idp.example.test/slo?SAMLRequest=x", offer, nil
		})
	})
	// logout asks for the logout without a hint and confirms it on the
	// page it gets.
	logout := func(c *http.Cookie, target string) *resp {
		b := e.newBrowser()
		q := url.Values{"client_id": {e.spa.ClientID}, "post_logout_redirect_uri": {target}, "state": {"s"}}
		req, _ := http.NewRequest(http.MethodGet, e.issuer()+"/logout?"+q.Encode(), nil)
		if c != nil {
			req.AddCookie(c)
		}
		r := do(t, b, req)
		if c == nil || r.status != http.StatusOK {
			return r
		}
		action, csrf, _ := form(t, r.body)
		q.Set("csrf_token", csrf)
		req, _ = http.NewRequest(http.MethodPost, e.base+action, strings.NewReader(q.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(c)
		return do(t, b, req)
	}
	r := logout(e.openSSOSession(t, e.user, "acme_a"), logoutURL)
	if r.status != http.StatusFound || r.header.Get("Location") != "https://idp.example.test/slo?SAMLRequest=x" || len(got) != 1 {
		t.Fatalf("SSO session logout: %d %q", r.status, r.header.Get("Location"))
	}
	want := SSOLogoutRequest{Env: identity.Production, OrgDomain: e.org.Domain, UserID: e.user.ID, IdPID: "acme_a",
		NameID: e.user.Email, SessionIndex: "idx-acme_a", ReturnTo: logoutURL + "?state=s", Locale: got[0].Locale}
	if got[0] != want {
		t.Fatalf("request %+v, want %+v", got[0], want)
	}
	// A logout URL the application does not allow is never handed over.
	logout(e.openSSOSession(t, e.user, "acme_a"), "https://evil.example/")
	if got[1].ReturnTo != "" {
		t.Fatalf("unallowed ReturnTo passed on: %q", got[1].ReturnTo)
	}
	// No SLO at the IdP: straight to the logout URL.
	offer = false
	if r := logout(e.openSSOSession(t, e.user, "acme_a"), logoutURL); r.header.Get("Location") != logoutURL+"?state=s" {
		t.Fatalf("without IdP SLO: %d %q", r.status, r.header.Get("Location"))
	}
	// No SSO session: SSOLogout is not asked.
	n := len(got)
	if r := logout(nil, logoutURL); r.header.Get("Location") != logoutURL+"?state=s" || len(got) != n {
		t.Fatalf("without a session: %q (%d calls)", r.header.Get("Location"), len(got)-n)
	}
}
