package provider

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestForeignClientIsUnknownAtTheIssuer (issue 10, matrix): at an
// organization's issuer, an application that does not serve the
// organization (identity.Service.ApplicationServes) is answered exactly as
// an unknown client id: the same error page at the authorization endpoint
// and the hosted sign-in URLs (never a redirect to the application's
// redirect URI), and the same invalid_client at the token, revocation and
// introspection endpoints. It still works at its own organization.
func TestForeignClientIsUnknownAtTheIssuer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	beta := e.addOrg("Beta Corp")
	own := e.org.Domain
	spa, _, err := e.ids.CreateApplication(ctx, own, identity.Application{Name: "own spa", ApplicationType: identity.AppReact,
		AllowedRedirectURLs: []string{spaRedirect}, OrganizationScope: own})
	if err != nil {
		t.Fatal(err)
	}
	web, webSecret, err := e.ids.CreateApplication(ctx, own, identity.Application{Name: "own web",
		ApplicationType: identity.AppRegularWeb, AllowedRedirectURLs: []string{webRedirect}, OrganizationScope: own})
	if err != nil {
		t.Fatal(err)
	}
	machine, macSecret, err := e.ids.CreateApplication(ctx, own, identity.Application{Name: "own cron",
		ApplicationType: identity.AppMachine, OrganizationScope: own})
	if err != nil {
		t.Fatal(err)
	}
	const unknown = "00000000-0000-0000-0000-000000000000"
	betaIss := e.base + "/t/" + beta.Domain
	_, ch := pkce("f")
	page := func(u string) (int, string) {
		r := e.get(e.newBrowser(), u)
		if loc := r.header.Get("Location"); loc != "" {
			t.Fatalf("%s redirected to %s", u, loc)
		}
		return r.status, reNonce.ReplaceAllString(r.body, "")
	}
	pageQuery := func(id string) url.Values {
		return url.Values{"client_id": {id}, "redirect_uri": {spaRedirect}, "code_challenge": {ch}, "code_challenge_method": {"S256"},
			"response_type": {"code"}, "scope": {"openid"}, "state": {"st-1"}}
	}
	for _, tc := range []struct {
		name string
		url  func(id string) string
	}{
		{"authorize", func(id string) string { return authorizeURL(betaIss, id, ch) }},
		{"era-1 sign-in", func(id string) string {
			return betaIss + "/en/st-1/signin/new?" + pageQuery(id).Encode()
		}},
		{"gateway /t", func(id string) string { return betaIss + "/?" + pageQuery(id).Encode() }},
		{"gateway /a", func(id string) string { return e.base + "/a/" + beta.Domain + "/?" + pageQuery(id).Encode() }},
		{"gateway root", func(id string) string {
			q := pageQuery(id)
			q.Set("org_domain", beta.Domain)
			return e.base + "/?" + q.Encode()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body := page(tc.url(spa.ClientID))
			ust, ubody := page(tc.url(unknown))
			if st != http.StatusBadRequest || st != ust || body != ubody {
				t.Fatalf("foreign client: %d; unknown client: %d; bodies equal: %v", st, ust, body == ubody)
			}
		})
	}
	// The authorization endpoint by POST answers the same page.
	postPage := func(id string) (int, string) {
		q := pageQuery(id)
		r := e.postForm(e.newBrowser(), betaIss+"/authorize", q)
		if loc := r.header.Get("Location"); loc != "" {
			t.Fatalf("POST authorize redirected to %s", loc)
		}
		return r.status, reNonce.ReplaceAllString(r.body, "")
	}
	if st, body := postPage(spa.ClientID); st != http.StatusBadRequest {
		t.Errorf("POST authorize with a foreign client: %d", st)
	} else if ust, ubody := postPage(unknown); st != ust || body != ubody {
		t.Errorf("POST authorize: foreign %d, unknown %d", st, ust)
	}
	for _, tc := range []struct {
		name, path string
		form       func(id, secret string) url.Values
		secret     string
	}{
		{"client_credentials", "/oauth/token", func(id, secret string) url.Values {
			return url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
		}, macSecret},
		{"revoke", "/oauth/revoke", func(id, secret string) url.Values {
			return url.Values{"token": {"some-token"}, "client_id": {id}, "client_secret": {secret}}
		}, webSecret},
		{"introspect", "/oauth/introspect", func(id, secret string) url.Values {
			return url.Values{"token": {"some-token"}, "client_id": {id}, "client_secret": {secret}}
		}, webSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := web.ClientID
			if tc.name == "client_credentials" {
				id = machine.ClientID
			}
			r := e.postForm(http.DefaultClient, betaIss+tc.path, tc.form(id, tc.secret))
			oauthErr(t, r, http.StatusUnauthorized, "invalid_client")
			u := e.postForm(http.DefaultClient, betaIss+tc.path, tc.form(unknown, tc.secret))
			if u.status != r.status || u.body != r.body {
				t.Fatalf("foreign client: %s; unknown client: %s", r.body, u.body)
			}
			// At its own organization, the client is known.
			if o := e.postForm(http.DefaultClient, e.issuer()+tc.path, tc.form(id, tc.secret)); o.status != http.StatusOK {
				t.Fatalf("at its own issuer: %d %s", o.status, o.body)
			}
		})
	}
	// The magic-link challenge answers a client that does not serve the
	// organization as an unknown client id.
	t.Run("magic-link challenge", func(t *testing.T) {
		mgmtURL, bearer := e.managementAPI(t)
		ch := func(id string) *resp {
			return e.postJSON(http.DefaultClient, mgmtURL+"/api/v2/magic-link-challenge", map[string]any{
				"user_email": "someone@beta.test", "redirect_uri": webRedirect, "org_domain": beta.Domain, "client_id": id,
				"find_or_create_user": true}, "Authorization", bearer)
		}
		r, u := ch(web.ClientID), ch(unknown)
		if r.status != http.StatusUnprocessableEntity || r.status != u.status || r.body != u.body {
			t.Fatalf("foreign client: %d %s; unknown client: %d %s", r.status, r.body, u.status, u.body)
		}
	})
}

// TestSignInOfAnotherOrganizationsUser (the attacker's test): a sign-in
// that another component finishes (Resume: enterprise SSO, whose IdP may
// vouch for any user of its own organization) hands out nothing when its
// user is not of the request's organization, or when the request named no
// organization and the user's organization is one the application does
// not serve (identity.ReadTxn.CheckSignIn). Before, beta's application got
// a code, and with it tokens from acme's issuer, for acme's user by
// sending that user through the root gateway to acme's IdP. Each refusal
// is 403, writes nothing (the same request then completes for a user it
// may serve), and the same requests complete for beta's own user.
func TestSignInOfAnotherOrganizationsUser(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	beta := e.addOrg("Beta Corp")
	betaApp, _, err := e.ids.CreateApplication(ctx, beta.Domain, identity.Application{Name: "beta spa",
		ApplicationType: identity.AppReact, AllowedRedirectURLs: []string{spaRedirect}, OrganizationScope: beta.Domain})
	if err != nil {
		t.Fatal(err)
	}
	// An application a key limited to beta created: it serves beta
	// alone, and names no organization of its own (the root gateway then
	// takes the organization from the user who signs in).
	served, _, err := e.ids.CreateApplication(ctx, beta.Domain, identity.Application{Name: "beta served",
		ApplicationType: identity.AppReact, AllowedRedirectURLs: []string{spaRedirect}, ServedOrgs: []string{beta.Domain}})
	if err != nil {
		t.Fatal(err)
	}
	betaUser, err := e.ids.CreateUser(ctx, beta.Domain, identity.User{Email: "bob@beta.test", Enabled: true, Verified: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	_, ch := pkce("x")
	q := url.Values{"client_id": {betaApp.ClientID}, "redirect_uri": {spaRedirect}, "code_challenge": {ch},
		"code_challenge_method": {"S256"}, "response_type": {"code"}, "scope": {"openid email"}, "state": {"st-1"}}
	qs := url.Values{"client_id": {served.ClientID}, "redirect_uri": {spaRedirect}, "code_challenge": {ch},
		"code_challenge_method": {"S256"}, "response_type": {"code"}, "scope": {"openid email"}, "state": {"st-1"}}
	requests := []struct {
		name string
		url  string
	}{
		{"root gateway, application scoped to beta", e.base + "/?" + q.Encode()},
		{"root gateway, application serving beta, no organization", e.base + "/?" + qs.Encode()},
		{"beta's issuer", authorizeURL(e.base+"/t/"+beta.Domain, betaApp.ClientID, ch)},
	}
	for _, tc := range requests {
		t.Run(tc.name, func(t *testing.T) {
			page := e.get(e.newBrowser(), tc.url)
			if page.status != http.StatusOK {
				t.Fatalf("login page: %d %s", page.status, page.body)
			}
			_, _, request := form(t, page.body)
			resume := func(u *identity.User) *httptest.ResponseRecorder {
				rec := httptest.NewRecorder()
				req, _ := http.NewRequest("GET", e.base+"/enterprise/x/acs", nil)
				e.prov.Resume(rec, req, request, Authenticated{User: u, IdentityProvider: "okta", SSOConnectionID: "x_1"})
				return rec
			}
			// acme's user, vouched for by acme's IdP.
			if rec := resume(e.user); rec.Code != http.StatusForbidden || rec.Header().Get("Location") != "" {
				t.Fatalf("acme's user for beta's application: %d, Location %q", rec.Code, rec.Header().Get("Location"))
			}
			// Nothing was written: the request completes for beta's user.
			rec := resume(betaUser)
			loc, err := url.Parse(rec.Header().Get("Location"))
			if rec.Code/100 != 3 || err != nil || loc.Query().Get("code") == "" {
				t.Fatalf("beta's user: %d, Location %q", rec.Code, rec.Header().Get("Location"))
			}
		})
	}
	// acme's own application still signs acme's user in, at acme's issuer
	// and through the root gateway.
	for _, u := range []string{e.spaAuthorize(ch, nil), e.base + "/?" + url.Values{"client_id": {e.spa.ClientID},
		"redirect_uri": {spaRedirect}, "code_challenge": {ch}, "code_challenge_method": {"S256"}, "state": {"st-1"}}.Encode()} {
		page := e.get(e.newBrowser(), u)
		_, _, request := form(t, page.body)
		rec := httptest.NewRecorder()
		req, _ := http.NewRequest("GET", e.base+"/enterprise/x/acs", nil)
		e.prov.Resume(rec, req, request, Authenticated{User: e.user, IdentityProvider: "okta", SSOConnectionID: "acme_1"})
		if rec.Code/100 != 3 || !strings.Contains(rec.Header().Get("Location"), "code=") {
			t.Fatalf("acme's user for acme's application (%s): %d %q", u, rec.Code, rec.Header().Get("Location"))
		}
	}
}
