package admin_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
)

var (
	reAction    = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	reProvCSRF  = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	reRequestID = regexp.MustCompile(`name="request" value="([^"]+)"`)
)

// signInThroughProvider runs the console's sign-in as a browser does:
// the console sends it to the provider's authorization endpoint, the
// hosted page takes the password, the provider redirects to the callback.
func signInThroughProvider(t *testing.T, h *harness, email, pw string) (*browser, resp) {
	t.Helper()
	b := h.browser()
	r := b.get("/orgs/alpha?x=1")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != h.base+h.prefix+"/login?next=%2Forgs%2Falpha%3Fx%3D1" {
		t.Fatalf("signed-out page: %d %s", r.status, r.header.Get("Location"))
	}
	r = b.get(r.header.Get("Location"))
	authz, err := url.Parse(r.header.Get("Location"))
	if r.status != http.StatusSeeOther || err != nil {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	if authz.Scheme+"://"+authz.Host+authz.Path != h.con.Issuer()+"/authorize" {
		t.Fatalf("authorization URL %s, issuer %s", authz, h.con.Issuer())
	}
	qs := authz.Query()
	if qs.Get("code_challenge_method") != "S256" || qs.Get("code_challenge") == "" || qs.Get("nonce") == "" ||
		qs.Get("state") == "" || qs.Get("redirect_uri") != h.con.CallbackURL() {
		t.Fatalf("authorization request lacks PKCE, nonce or state: %s", authz)
	}
	var flow *http.Cookie
	for _, c := range b.c.Jar.Cookies(&url.URL{Scheme: "http", Host: authz.Host, Path: h.prefix + "/"}) {
		if c.Name == "gh_admin_flow" {
			flow = c
		}
	}
	if flow == nil {
		t.Fatal("no flow cookie under the console's path")
	}
	page := b.get(authz.String())
	if page.status != http.StatusOK {
		t.Fatalf("hosted page: %d %s", page.status, page.body)
	}
	action, csrf, req := reAction.FindStringSubmatch(page.body), reProvCSRF.FindStringSubmatch(page.body), reRequestID.FindStringSubmatch(page.body)
	if action == nil || csrf == nil || req == nil {
		t.Fatalf("no login form: %s", page.body)
	}
	target := action[1]
	if strings.HasPrefix(target, "/") {
		target = h.base + target
	}
	r = b.post(target, url.Values{"csrf_token": {csrf[1]}, "request": {req[1]}, "action": {"password"},
		"email": {email}, "password": {pw}})
	if r.status != http.StatusFound && r.status != http.StatusSeeOther {
		t.Fatalf("password login: %d %s", r.status, r.body)
	}
	cb := r.header.Get("Location")
	if !strings.HasPrefix(cb, h.con.CallbackURL()+"?") {
		t.Fatalf("provider redirected to %s", cb)
	}
	return b, b.get(cb)
}

func TestSignInThroughTheProvider(t *testing.T) {
	h := newHarness(t)
	b, r := signInThroughProvider(t, h, "owner@gatehouse.test", ownerPass)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != h.base+"/admin/orgs/alpha?x=1" {
		t.Fatalf("callback: %d %s %s", r.status, r.header.Get("Location"), r.body)
	}
	var session *http.Cookie
	for _, sc := range r.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(sc)
		if err == nil && c.Name == "gh_admin_session" && c.Value != "" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.Path != "/admin/" || session.SameSite != http.SameSiteLaxMode || session.Secure {
		t.Fatalf("session cookie = %+v", session)
	}
	page := b.get("/orgs/alpha?x=1")
	if page.status != http.StatusOK || !strings.Contains(page.body, "owner@gatehouse.test") {
		t.Fatalf("signed-in page: %d %s", page.status, page.body)
	}
	ev, _ := h.ids.ListEvents(context.Background(), account, identity.EventFilter{Code: identity.EventConsoleSignedIn}, identity.PageRequest{})
	if ev.Total != 1 || ev.Items[0].ActorID != h.owner.UserID {
		t.Errorf("sign-in events = %+v", ev.Items)
	}
	// Sign out ends the session in the core.
	if r := b.postCSRF("/logout", nil); r.status != http.StatusOK {
		t.Fatalf("logout: %d", r.status)
	}
	if r := b.get("/orgs"); r.status != http.StatusSeeOther {
		t.Fatalf("after logout: %d", r.status)
	}
	// The provider's browser session, still open, does not sign the member
	// back in: the next sign-in asks for credentials again (prompt=login).
	if page := b.get(b.get("/login").header.Get("Location")); page.status != http.StatusOK || !reAction.MatchString(page.body) {
		t.Fatalf("sign-in after sign-out: %d %s %s", page.status, page.header.Get("Location"), page.body)
	}

	t.Run("a user without a console role is refused", func(t *testing.T) {
		if _, err := h.ids.CreateUser(context.Background(), account, identity.User{Email: "nobody@gatehouse.test", Enabled: true}, "nobody password"); err != nil {
			t.Fatal(err)
		}
		_, r := signInThroughProvider(t, h, "nobody@gatehouse.test", "nobody password")
		if r.status != http.StatusForbidden || strings.Contains(strings.Join(r.header.Values("Set-Cookie"), ";"), "gh_admin_session=") &&
			!strings.Contains(strings.Join(r.header.Values("Set-Cookie"), ";"), "gh_admin_session=;") {
			t.Fatalf("non-member callback: %d %v", r.status, r.header.Values("Set-Cookie"))
		}
	})
	t.Run("a forged state is refused", func(t *testing.T) {
		b := h.browser()
		b.get("/login")
		if r := b.get("/callback?code=x&state=forged"); r.status != http.StatusBadRequest {
			t.Fatalf("forged state: %d", r.status)
		}
		if r := h.browser().get("/callback?code=x&state=y"); r.status != http.StatusBadRequest {
			t.Fatalf("no flow cookie: %d", r.status)
		}
	})
}

func TestSecurityHeadersAndNonce(t *testing.T) {
	h := newHarness(t)
	b := h.signedIn(h.owner.UserID)
	for _, p := range []string{"/orgs", "/orgs/alpha", "/orgs/alpha/users", "/nope"} {
		r := b.get(p)
		csp := r.header.Get("Content-Security-Policy")
		m := regexp.MustCompile(`style-src 'nonce-([A-Za-z0-9_-]+)'`).FindStringSubmatch(csp)
		if m == nil || !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Fatalf("%s: CSP %q", p, csp)
		}
		if !strings.Contains(r.body, `<style nonce="`+m[1]+`">`) {
			t.Errorf("%s: the style's nonce is not the header's", p)
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(r.body, " style=") || strings.Contains(r.body, "<script") {
			t.Errorf("%s: inline styles or scripts", p)
		}
		for k, v := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"} {
			if r.header.Get(k) != v {
				t.Errorf("%s: %s = %q", p, k, r.header.Get(k))
			}
		}
	}
	a, b2 := b.get("/orgs").header.Get("Content-Security-Policy"), b.get("/orgs").header.Get("Content-Security-Policy")
	if a == b2 {
		t.Error("the nonce does not change between responses")
	}
}

// postRoutes are the console's state-changing routes, for the CSRF and
// viewer tests (users of alpha).
func postRoutes(h *harness) map[string]url.Values {
	u := "/orgs/alpha/users/" + h.alphaU.ID
	a := "/orgs/alpha/apps/" + h.alphaApp.ClientID
	sc := "/orgs/alpha/sso/" + h.alphaConn
	return map[string]url.Values{
		"/orgs/alpha/apps":                       {"name": {"New app"}, "application_type": {"machine"}},
		a:                                        {"name": {"Renamed"}, "allowed_redirect_urls": {"https://alpha.test/cb"}},
		a + "/rotate":                            {},
		a + "/delete":                            {"confirm": {"yes"}},
		"/orgs":                                  {"name": {"Gamma"}},
		"/orgs/alpha":                            {"name": {"Alpha renamed"}},
		"/orgs/alpha/users":                      {"email": {"new@alpha.test"}},
		u:                                        {"name": {"Changed"}},
		u + "/metadata":                          {},
		u + "/disable":                           {},
		u + "/unlock":                            {},
		u + "/end-sessions":                      {},
		u + "/invite":                            {},
		u + "/delete":                            {"confirm": {"yes"}},
		"/env":                                   {"env": {"sandbox"}},
		"/members":                               {"email": {"jane@alpha.test"}, "role": {"owner"}},
		"/members/" + h.owner.UserID + "/revoke": {},
		"/logout":                                {},
		"/orgs/alpha/users/x/nop":                {},
		"/orgs/alpha/sso":                        {"application_id": {h.alphaApp.ClientID}, "sso_admin_email": {"it@alpha.test"}},
		sc + "/onboarding":                       {"sso_admin_email": {"it9@alpha.test"}},
		sc + "/setup-link":                       {},
		sc + "/invite":                           {},
		sc:                                       {"seats_limit": {"3"}, "user_security_type": {"user_registered"}},
		a + "/metakeys":                          {"metakey_name": {"tier"}, "metakey_type": {"integer"}},
		a + "/metakeys/delete":                   {"metakey_name": {"alpha_plan"}, "confirm": {"yes"}},
	}
}

func TestPostWithoutCSRFIsRefused(t *testing.T) {
	h := newHarness(t)
	b := h.signedIn(h.owner.UserID)
	other, _ := h.member(identity.ConsoleOwner)
	before := h.state()
	for p, form := range postRoutes(h) {
		if strings.HasSuffix(p, "/nop") {
			continue
		}
		for name, tok := range map[string]string{"missing": "", "wrong": b.wrongCSRF()} {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			if tok != "" {
				f.Set("csrf", tok)
			}
			if r := b.post(p, f); r.status != http.StatusForbidden {
				t.Errorf("POST %s with a %s token: %d", p, name, r.status)
			}
		}
	}
	// Another session's token is refused too.
	f := url.Values{"name": {"Gamma"}, "csrf": {other.csrf()}}
	if r := b.post("/orgs", f); r.status != http.StatusForbidden {
		t.Errorf("another session's token: %d", r.status)
	}
	if after := h.state(); after != before {
		t.Errorf("refused POSTs changed the directory:\n%s\n%s", before, after)
	}
	// With the token, the same session succeeds (the check can fail).
	if r := b.postCSRF("/orgs", url.Values{"name": {"Gamma"}}); r.status != http.StatusSeeOther {
		t.Fatalf("POST /orgs with the token: %d %s", r.status, r.body)
	}
}

func TestViewerSeesNoButtonsAndIsRefused(t *testing.T) {
	h := newHarness(t)
	v, _ := h.member(identity.ConsoleViewer)
	for _, p := range []string{"/orgs", "/orgs/alpha", "/orgs/alpha/users", "/orgs/alpha/users/" + h.alphaU.ID, "/orgs/alpha/events",
		"/orgs/alpha/sso", "/orgs/alpha/sso/" + h.alphaConn} {
		r := v.get(p)
		if r.status != http.StatusOK {
			t.Fatalf("viewer GET %s: %d", p, r.status)
		}
		for _, bad := range []string{"/orgs/new", "/users/new", "/disable", "/unlock", "/end-sessions", "/delete", ">Save<", "Delete",
			"/setup-link", "/invite", "/onboarding", `name="application_id"`} {
			if strings.Contains(r.body, bad) {
				t.Errorf("viewer page %s shows %q", p, bad)
			}
		}
	}
	for _, p := range []string{"/orgs/new", "/orgs/alpha/users/new", "/orgs/alpha/users/" + h.alphaU.ID + "/delete"} {
		if r := v.get(p); r.status != http.StatusForbidden {
			t.Errorf("viewer GET %s: %d", p, r.status)
		}
	}
	before := h.state()
	for p, form := range postRoutes(h) {
		if p == "/env" || p == "/logout" || strings.HasSuffix(p, "/nop") {
			continue
		}
		if r := v.postCSRF(p, form); r.status != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d", p, r.status)
		}
	}
	if after := h.state(); after != before {
		t.Errorf("a viewer changed the directory:\n%s\n%s", before, after)
	}
	// An admin with the same requests is allowed (the refusal is the role's).
	a, _ := h.member(identity.ConsoleAdmin)
	if r := a.postCSRF("/orgs/alpha", url.Values{"name": {"Alpha renamed"}}); r.status != http.StatusSeeOther {
		t.Errorf("admin POST /orgs/alpha: %d %s", r.status, r.body)
	}
}

// TestIsolationRouteByRoute: an administrator limited to alpha reaches
// nothing of beta, on any route, by any path; the same routes work for
// alpha.
func TestIsolationRouteByRoute(t *testing.T) {
	h := newHarness(t)
	a, _ := h.member(identity.ConsoleAdmin, "alpha")
	beta := "/orgs/beta"
	bu := beta + "/users/" + h.betaU.ID
	crossed := "/orgs/alpha/users/" + h.betaU.ID // beta's user through alpha's path
	before := h.state()
	ba := beta + "/apps/" + h.betaApp.ClientID
	crossedApp := "/orgs/alpha/apps/" + h.betaApp.ClientID
	bs := beta + "/sso/" + h.betaConn
	crossedSSO := "/orgs/alpha/sso/" + h.betaConn // beta's connection through alpha's path
	// Every route of an organization must have a case below: the
	// console's own route table says which were tried.
	covered := map[string]bool{}
	router := http.NewServeMux()
	for _, pat := range h.con.Patterns() {
		router.HandleFunc(pat, func(_ http.ResponseWriter, r *http.Request) { covered[r.Pattern] = true })
	}
	tried := func(method, p string) {
		router.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, p, nil))
	}
	defer func() {
		for _, pat := range h.con.Patterns() {
			if strings.Contains(pat, "{org}") && !covered[pat] {
				t.Errorf("route %q has no isolation case", pat)
			}
		}
	}()
	for _, p := range []string{beta, beta + "/users", beta + "/users?q=jane", beta + "/users/new", bu, bu + "/delete",
		beta + "/events", beta + "/events.csv", crossed, crossed + "/delete", beta + "/apps", beta + "/apps/new", ba,
		ba + "/delete", crossedApp, crossedApp + "/delete", beta + "/sso", bs, crossedSSO} {
		tried(http.MethodGet, p)
		if r := a.get(p); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d", p, r.status)
		} else if strings.Contains(r.body, "jane@beta.test") {
			t.Errorf("GET %s shows beta's user", p)
		}
	}
	for p, form := range map[string]url.Values{
		beta: {"name": {"Owned"}}, beta + "/users": {"email": {"x@beta.test"}}, bu: {"name": {"Owned"}},
		bu + "/metadata": {}, bu + "/disable": {}, bu + "/enable": {}, bu + "/unlock": {}, bu + "/end-sessions": {}, bu + "/delete": {"confirm": {"yes"}},
		bu + "/reset-password": {}, crossed + "/reset-password": {}, bu + "/invite": {}, crossed + "/invite": {},
		crossed: {"name": {"Owned"}}, crossed + "/disable": {}, crossed + "/delete": {"confirm": {"yes"}},
		beta + "/apps": {"name": {"Owned"}, "application_type": {"machine"}}, ba: {"name": {"Owned"}}, ba + "/rotate": {},
		ba + "/delete": {"confirm": {"yes"}}, crossedApp: {"name": {"Owned"}}, crossedApp + "/rotate": {},
		crossedApp + "/delete": {"confirm": {"yes"}},
		beta + "/sso":          {"application_id": {h.betaApp.ClientID}, "sso_admin_email": {"it@beta.test"}},
		bs + "/onboarding":     {"sso_admin_email": {"owned@beta.test"}}, bs + "/setup-link": {}, bs + "/invite": {},
		crossedSSO + "/onboarding": {"sso_admin_email": {"owned@beta.test"}}, crossedSSO + "/setup-link": {},
		crossedSSO + "/invite":          {},
		bs:                              {"seats_limit": {"1"}, "user_security_type": {"user_registered"}},
		crossedSSO:                      {"seats_limit": {"1"}, "user_security_type": {"user_registered"}},
		ba + "/metakeys":                {"metakey_name": {"owned"}, "metakey_type": {"string"}},
		crossedApp + "/metakeys":        {"metakey_name": {"owned"}, "metakey_type": {"string"}},
		ba + "/metakeys/delete":         {"metakey_name": {"beta_plan"}, "confirm": {"yes"}},
		crossedApp + "/metakeys/delete": {"metakey_name": {"beta_plan"}, "confirm": {"yes"}},
	} {
		tried(http.MethodPost, p)
		if r := a.postCSRF(p, form); r.status != http.StatusNotFound {
			t.Errorf("POST %s: %d", p, r.status)
		}
	}
	// Creating an organization needs a role over every organization.
	if r := a.postCSRF("/orgs", url.Values{"name": {"Gamma"}}); r.status != http.StatusForbidden {
		t.Errorf("limited admin creates an organization: %d", r.status)
	}
	if after := h.state(); after != before {
		t.Errorf("the limited admin changed the directory:\n%s\n%s", before, after)
	}
	// Beta's connection is not in alpha's list, and alpha's application
	// cannot serve a connection of beta (nor beta's one of alpha).
	if r := a.get("/orgs/alpha/sso"); r.status != http.StatusOK || !strings.Contains(r.body, h.alphaConn) ||
		strings.Contains(r.body, h.betaConn) || strings.Contains(r.body, h.betaApp.ClientID) {
		t.Errorf("alpha's SSO list: %d %s", r.status, r.body)
	}
	if r := a.postCSRF("/orgs/alpha/sso", url.Values{"application_id": {h.betaApp.ClientID}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("alpha's connection to beta's application: %d", r.status)
	}
	if h.mailTo("owned@beta.test") != nil || h.mailTo("it@beta.test") != nil {
		t.Error("a refused request mailed beta's administrator")
	}
	list := a.get("/orgs")
	if !strings.Contains(list.body, ">alpha<") || strings.Contains(list.body, "beta") {
		t.Errorf("organization list: %s", list.body)
	}
	if r := a.get("/orgs?q=be"); strings.Contains(r.body, "/orgs/beta") {
		t.Error("search finds beta")
	}
	// The attacker's routes work for its own organization.
	for _, p := range []string{"/orgs/alpha", "/orgs/alpha/users", "/orgs/alpha/users/" + h.alphaU.ID, "/orgs/alpha/events",
		"/orgs/alpha/sso/" + h.alphaConn} {
		if r := a.get(p); r.status != http.StatusOK {
			t.Errorf("GET %s: %d", p, r.status)
		}
	}
	if r := a.postCSRF("/orgs/alpha/users/"+h.alphaU.ID, url.Values{"name": {"Alpha Jane"}}); r.status != http.StatusSeeOther {
		t.Errorf("POST to alpha's user: %d %s", r.status, r.body)
	}
	if r := a.postCSRF("/orgs/alpha/sso/"+h.alphaConn+"/setup-link", nil); r.status != http.StatusOK || !strings.Contains(r.body, "/enterprise-setup/") {
		t.Errorf("alpha's setup link: %d %s", r.status, r.body)
	}
}

func TestSessionTimeouts(t *testing.T) {
	h := newHarness(t, harnessOpt{prefix: "/admin", idle: 10 * time.Minute, absolute: time.Hour})
	open := func() *browser {
		_, b, _ := signInOwner(t, h)
		return b
	}
	b := open()
	h.clock.Advance(9 * time.Minute)
	if r := b.get("/orgs"); r.status != http.StatusOK {
		t.Fatalf("active session: %d", r.status)
	}
	h.clock.Advance(10 * time.Minute)
	if r := b.get("/orgs"); r.status != http.StatusSeeOther {
		t.Fatalf("idle session: %d", r.status)
	}
	b = open()
	for i := 0; i < 6; i++ {
		h.clock.Advance(9 * time.Minute)
		if r := b.get("/orgs"); r.status != http.StatusOK {
			t.Fatalf("active session at step %d: %d", i, r.status)
		}
	}
	h.clock.Advance(7 * time.Minute)
	if r := b.get("/orgs"); r.status != http.StatusSeeOther {
		t.Fatalf("past the absolute timeout: %d", r.status)
	}
	if r := b.postCSRFRaw("/orgs", url.Values{"name": {"Late"}}); r.status != http.StatusForbidden {
		t.Fatalf("POST on an ended session: %d", r.status)
	}
}

// signInOwner signs the owner in through the provider.
func signInOwner(t *testing.T, h *harness) (resp, *browser, string) {
	t.Helper()
	b, r := signInThroughProvider(t, h, "owner@gatehouse.test", ownerPass)
	if r.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d %s", r.status, r.body)
	}
	return r, b, ""
}

// postCSRFRaw posts with a made-up token, for a session that has ended.
func (b *browser) postCSRFRaw(p string, form url.Values) resp {
	form.Set("csrf", "whatever")
	return b.post(p, form)
}

// TestBadInputChangesNothing: each form refuses bad input with the
// field's message, a 4xx, and no change.
func TestBadInputChangesNothing(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if _, err := h.ids.CreateMetaKey(ctx, "alpha", "seats", identity.MetaInteger, false); err != nil {
		t.Fatal(err)
	}
	if _, err := h.ids.CreateMetaKey(ctx, "alpha", "plan", identity.MetaString, false); err != nil {
		t.Fatal(err)
	}
	b := h.signedIn(h.owner.UserID)
	u := "/orgs/alpha/users/" + h.alphaU.ID
	cases := []struct {
		name, path string
		form       url.Values
		status     int
		field      string
		message    string
	}{
		{"org without name", "/orgs", url.Values{"name": {""}}, 422, "name", "is required"},
		{"org with a symbol name", "/orgs", url.Values{"name": {"!!!"}}, 422, "name", "must contain letters or digits"},
		{"org with a bad country", "/orgs", url.Values{"name": {"Delta"}, "country_name": {"France"}}, 422, "country_name", ""},
		{"org with a bad privacy URL", "/orgs/alpha", url.Values{"name": {"Alpha"}, "privacy_policy_url": {"javascript:alert(1)"}}, 422, "privacy_policy_url", ""},
		{"org with a bad email domain", "/orgs/alpha", url.Values{"name": {"Alpha"}, "allowed_email_domains": {"alpha.test\nnot a domain"}}, 422, "allowed_email_domains", ""},
		{"org with a taken name", "/orgs", url.Values{"name": {"Beta"}}, 409, "name", "already exists"},
		{"user with a bad email", "/orgs/alpha/users", url.Values{"email": {"not-an-email"}}, 422, "email", ""},
		{"user with a short password", "/orgs/alpha/users", url.Values{"email": {"ok@alpha.test"}, "password": {"short"}}, 422, "password", "at least 8"},
		{"user with a taken email", "/orgs/alpha/users", url.Values{"email": {"JANE@alpha.test"}}, 422, "email", "already taken"},
		{"profile with a bad phone", u, url.Values{"phone_number": {"call me"}}, 422, "phone_number", "E.164"},
		{"profile with a bad birthdate", u, url.Values{"birthdate": {"2020-02-30"}}, 422, "birthdate", ""},
		{"metadata of the wrong type", u + "/metadata", url.Values{"meta.seats": {"many"}, "meta.plan": {"pro"}}, 422, "metadata.seats", ""},
		{"delete without confirmation", u + "/delete", url.Values{}, 422, "confirm", ""},
		{"sso without application", "/orgs/alpha/sso", url.Values{"application_id": {""}}, 422, "application_id", "is required"},
		{"sso to an unknown application", "/orgs/alpha/sso", url.Values{"application_id": {"nope"}}, 422, "application_id", "not an application of this organization"},
		{"sso to another organization's application", "/orgs/alpha/sso", url.Values{"application_id": {h.betaApp.ClientID}}, 422, "application_id", "not an application of this organization"},
		{"sso with a bad provider", "/orgs/alpha/sso", url.Values{"application_id": {h.alphaApp.ClientID}, "provider_type": {"evil"}}, 422, "provider_type", "must be one of"},
		{"sso with a bad admin email", "/orgs/alpha/sso", url.Values{"application_id": {h.alphaApp.ClientID}, "sso_admin_email": {"not-an-email"}}, 422, "sso_admin_email", ""},
		{"sso mail without an admin", "/orgs/alpha/sso", url.Values{"application_id": {h.alphaApp.ClientID}, "send_email": {"on"}}, 422, "send_email", "requires sso_admin_email"},
		{"onboarding without email", "/orgs/alpha/sso/" + h.alphaConn + "/onboarding", url.Values{"sso_admin_email": {""}}, 422, "sso_admin_email", "is required"},
		{"onboarding with a bad email", "/orgs/alpha/sso/" + h.alphaConn + "/onboarding", url.Values{"sso_admin_email": {"x@"}}, 422, "sso_admin_email", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := h.state()
			r := b.postCSRF(c.path, c.form)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			if !strings.Contains(r.body, `href="#f-`+c.field+`"`) || !strings.Contains(r.body, c.message) {
				t.Errorf("no message for %s (%q) in %s", c.field, c.message, r.body)
			}
			if c.field != "confirm" && !strings.Contains(r.body, `aria-invalid="true"`) {
				t.Error("the field is not marked invalid")
			}
			if after := h.state(); after != before {
				t.Errorf("refused input changed the directory:\n%s\n%s", before, after)
			}
		})
	}
	for _, q := range []string{"/orgs/alpha/events?since=yesterday", "/orgs/alpha/events?code=NOPE", "/orgs/alpha/events?since=2026-02-02&until=2026-01-01"} {
		if r := b.get(q); r.status != http.StatusBadRequest {
			t.Errorf("GET %s: %d", q, r.status)
		}
	}
	// And good input passes (the checks can pass).
	if r := b.postCSRF(u+"/metadata", url.Values{"meta.seats": {"12"}, "meta.plan": {"pro"}}); r.status != http.StatusSeeOther {
		t.Errorf("good metadata: %d %s", r.status, r.body)
	}
	got, _ := h.ids.GetUser(ctx, "alpha", h.alphaU.ID)
	if got.Attributes["seats"] != json.Number("12") || got.Attributes["plan"] != "pro" { // seats is an integer MetaKey
		t.Errorf("metadata = %v", got.Attributes)
	}
}

// TestEveryActionAuditedWithTheConsoleUser: the changes a member makes
// name them as actor in the audit log.
func TestEveryActionAuditedWithTheConsoleUser(t *testing.T) {
	h := newHarness(t)
	b, admin := h.member(identity.ConsoleAdmin)
	ctx := context.Background()
	u := "/orgs/alpha/users/" + h.alphaU.ID
	steps := []struct {
		path string
		form url.Values
	}{
		{"/orgs", url.Values{"name": {"Gamma"}, "allowed_email_domains": {"gamma.test"}}},
		{"/orgs/alpha", url.Values{"name": {"Alpha"}, "open_signup": {"on"}}},
		{"/orgs/alpha/users", url.Values{"email": {"new@alpha.test"}, "password": {"long enough"}}},
		{u, url.Values{"name": {"Jane A."}}},
		{u + "/disable", nil},
		{u + "/enable", nil},
		{u + "/unlock", nil},
		{u + "/end-sessions", nil},
		{u + "/delete", url.Values{"confirm": {"yes"}}},
	}
	seen := map[int64]bool{}
	for _, dom := range []string{"alpha"} {
		ev, _ := h.ids.ListEvents(ctx, dom, identity.EventFilter{}, identity.PageRequest{PerPage: 100})
		for _, e := range ev.Items {
			seen[e.ID] = true
		}
	}
	for _, s := range steps {
		if r := b.postCSRF(s.path, s.form); r.status != http.StatusSeeOther {
			t.Fatalf("POST %s: %d %s", s.path, r.status, r.body)
		}
	}
	for _, dom := range []string{"alpha", "gamma"} {
		ev, err := h.ids.ListEvents(ctx, dom, identity.EventFilter{}, identity.PageRequest{PerPage: 100})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range ev.Items {
			if seen[e.ID] {
				continue // made by the harness
			}
			n++
			if e.ActorID != admin.ID {
				t.Errorf("%s %s: actor %q, want %q", dom, e.Code, e.ActorID, admin.ID)
			}
		}
		if n == 0 {
			t.Errorf("no console event in %s", dom)
		}
	}
	ev, _ := h.ids.ListEvents(ctx, "alpha", identity.EventFilter{ActorID: admin.ID}, identity.PageRequest{PerPage: 100})
	if ev.Total != 8 {
		t.Errorf("alpha has %d events of the admin, want 8: %+v", ev.Total, ev.Items)
	}
}

func TestAuditLogPageAndCSV(t *testing.T) {
	h := newHarness(t)
	b, admin := h.member(identity.ConsoleAdmin)
	if r := b.postCSRF("/orgs/alpha/users", url.Values{"email": {"=cmd@alpha.test"}}); r.status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	r := b.get("/orgs/alpha/events?code=USER_CREATED&actor=" + admin.ID)
	if r.status != http.StatusOK || !strings.Contains(r.body, "=cmd@alpha.test") || strings.Contains(r.body, "jane@alpha.test") {
		t.Fatalf("filtered page: %d %s", r.status, r.body)
	}
	r = b.get("/orgs/alpha/events.csv?code=USER_CREATED")
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", r.status, r.header)
	}
	rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("csv rows %v: %v", rows, err)
	}
	if rows[0][2] != "event_code" || rows[1][2] != "USER_CREATED" || rows[1][5] != "'=cmd@alpha.test" || rows[1][4] != admin.ID {
		t.Errorf("csv = %v", rows)
	}
	today := h.clock.Now().Format("2006-01-02")
	tomorrow := h.clock.Now().Add(24 * time.Hour).Format("2006-01-02")
	if r := b.get("/orgs/alpha/events.csv?since=" + tomorrow); strings.Count(r.body, "\n") != 1 {
		t.Errorf("since tomorrow: %s", r.body)
	}
	if r := b.get("/orgs/alpha/events?since=" + today + "&until=" + today); !strings.Contains(r.body, "USER_CREATED") {
		t.Errorf("today: %s", r.body)
	}
}

func TestEnvironmentSwitch(t *testing.T) {
	h := newHarness(t)
	b := h.signedIn(h.owner.UserID)
	sandbox, _ := h.ids.ForEnvironment(identity.Sandbox)
	if _, err := sandbox.CreateUser(context.Background(), "alpha", identity.User{Email: "sandy@alpha.test", Enabled: true}, ""); err != nil {
		t.Fatal(err)
	}
	if r := b.get("/orgs/alpha/users"); !strings.Contains(r.body, "Production</strong>") || strings.Contains(r.body, "sandy@") {
		t.Fatalf("production page: %s", r.body)
	}
	r := b.postCSRF("/env", url.Values{"env": {"sandbox"}, "next": {"/orgs/alpha/users"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != h.base+"/admin/orgs/alpha/users" {
		t.Fatalf("switch: %d %s", r.status, r.header.Get("Location"))
	}
	r = b.get("/orgs/alpha/users")
	if !strings.Contains(r.body, "Sandbox</strong>") || !strings.Contains(r.body, "sandy@alpha.test") || strings.Contains(r.body, "jane@alpha.test") {
		t.Fatalf("sandbox page: %s", r.body)
	}
	// Organizations change only in production: no button, and the core refuses.
	if r := b.get("/orgs"); strings.Contains(r.body, "/orgs/new") {
		t.Error("sandbox shows the new-organization button")
	}
	before := h.state()
	if r := b.postCSRF("/orgs/alpha", url.Values{"name": {"Sandboxed"}}); r.status != http.StatusForbidden {
		t.Errorf("sandbox organization update: %d", r.status)
	}
	if h.state() != before {
		t.Error("the sandbox changed an organization")
	}
	if r := b.postCSRF("/env", url.Values{"env": {"production"}, "next": {"https://evil.test/"}}); r.header.Get("Location") != h.base+"/admin/" {
		t.Errorf("open redirect: %s", r.header.Get("Location"))
	}
}

func TestLanguages(t *testing.T) {
	h := newHarness(t)
	b := h.signedIn(h.owner.UserID)
	req, _ := http.NewRequest(http.MethodGet, b.url("/orgs"), nil)
	req.Header.Set("Accept-Language", "fr-FR,fr;q=0.9,en;q=0.5")
	r := b.do(req)
	if !strings.Contains(r.body, `<html lang="fr">`) || !strings.Contains(r.body, "Organisations") {
		t.Fatalf("French by Accept-Language: %s", r.body)
	}
	if r := b.get("/lang?l=fr&next=/orgs/alpha"); r.status != http.StatusSeeOther || r.header.Get("Location") != h.base+"/admin/orgs/alpha" {
		t.Fatalf("switch: %d %s", r.status, r.header.Get("Location"))
	}
	if r := b.get("/orgs"); !strings.Contains(r.body, `<html lang="fr">`) {
		t.Error("the switch did not stick")
	}
	if r := b.get("/lang?l=en&next=//evil.test"); r.header.Get("Location") != h.base+"/admin/" {
		t.Errorf("open redirect: %s", r.header.Get("Location"))
	}
}

func TestSetupLinkPage(t *testing.T) {
	h := newHarness(t, harnessOpt{prefix: "/console", skipSetupClaims: true, skipOrgs: true})
	link, err := h.con.SetupURL(context.Background())
	if err != nil || !strings.HasPrefix(link, h.base+"/console/setup?token=") {
		t.Fatalf("setup URL %q: %v", link, err)
	}
	b := h.browser()
	r := b.get(link)
	if r.status != http.StatusOK || !strings.Contains(r.body, `action="/console/setup"`) {
		t.Fatalf("setup page: %d %s", r.status, r.body)
	}
	u, _ := url.Parse(link)
	tok := u.Query().Get("token")
	form := url.Values{"token": {tok}, "email": {"boss@gatehouse.test"}, "password": {"a long password"}}
	if r := b.post("/setup", form); r.status != http.StatusForbidden {
		t.Fatalf("setup without form token: %d", r.status)
	}
	form.Set("csrf", reCSRF.FindStringSubmatch(r.body)[1])
	form.Set("email", "bad")
	if r := b.post("/setup", form); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `href="#f-email"`) {
		t.Fatalf("bad email: %d %s", r.status, r.body)
	}
	form.Set("email", "boss@gatehouse.test")
	if r := b.post("/setup", form); r.status != http.StatusOK {
		t.Fatalf("setup: %d %s", r.status, r.body)
	}
	if r := b.post("/setup", form); r.status != http.StatusForbidden {
		t.Fatalf("setup link used twice: %d", r.status)
	}
	if r := b.get(link); r.status != http.StatusNotFound {
		t.Fatalf("used link page: %d", r.status)
	}
	if l, _ := h.con.SetupURL(context.Background()); l != "" {
		t.Fatalf("a setup link once an owner exists: %s", l)
	}
	// The owner signs in: mounted under /console, with its cookie path.
	h.prefix = "/console"
	b2, r2 := signInThroughProvider(t, h, "boss@gatehouse.test", "a long password")
	if r2.status != http.StatusSeeOther {
		t.Fatalf("owner sign-in: %d %s", r2.status, r2.body)
	}
	if !strings.Contains(strings.Join(r2.header.Values("Set-Cookie"), "\n"), "Path=/console/") {
		t.Errorf("cookie path: %v", r2.header.Values("Set-Cookie"))
	}
	if r := b2.get("/orgs"); r.status != http.StatusOK || !strings.Contains(r.body, `href="/console/orgs/gatehouse"`) {
		t.Errorf("orgs: %d %s", r.status, r.body)
	}
}

func TestConsoleMembersPage(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	owner := h.signedIn(h.owner.UserID)
	u, err := h.ids.CreateUser(ctx, account, identity.User{Email: "ann@gatehouse.test", Enabled: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	before := h.state()
	for _, c := range []struct {
		form  url.Values
		field string
	}{
		{url.Values{"email": {"jane@alpha.test"}, "role": {"viewer"}}, "email"}, // not in the account's organization
		{url.Values{"email": {"ann@gatehouse.test"}, "role": {"root"}}, "role"},
		{url.Values{"email": {"ann@gatehouse.test"}, "role": {"admin"}, "orgs": {"Not A Domain"}}, "orgs"},
	} {
		r := owner.postCSRF("/members", c.form)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `href="#f-`+c.field+`"`) {
			t.Errorf("grant %v: %d", c.form, r.status)
		}
	}
	if m, _ := h.ids.ListConsoleMembers(ctx); len(m) != 1 || h.state() != before {
		t.Fatalf("refused grants changed something: %+v", m)
	}
	if r := owner.postCSRF("/members/"+h.owner.UserID+"/revoke", nil); r.status != http.StatusConflict {
		t.Errorf("revoke the last owner: %d", r.status)
	}
	if r := owner.postCSRF("/members", url.Values{"email": {"ann@gatehouse.test"}, "role": {"viewer"}, "orgs": {"alpha"}}); r.status != http.StatusSeeOther {
		t.Fatalf("grant: %d %s", r.status, r.body)
	}
	m, err := h.ids.ConsoleMember(ctx, u.ID)
	if err != nil || m.Role != identity.ConsoleViewer || len(m.Orgs) != 1 || m.GrantedBy != h.owner.UserID {
		t.Fatalf("member = %+v, %v", m, err)
	}
	viewer := h.signedIn(u.ID)
	adminB, _ := h.member(identity.ConsoleAdmin)
	limitedOwner, _ := h.member(identity.ConsoleOwner, "alpha")
	for name, b := range map[string]*browser{"viewer": viewer, "admin": adminB, "limited owner": limitedOwner} {
		if r := b.get("/members"); r.status != http.StatusForbidden {
			t.Errorf("%s GET /members: %d", name, r.status)
		}
		if r := b.get("/orgs"); strings.Contains(r.body, "/members") {
			t.Errorf("%s sees the members link", name)
		}
		if r := b.postCSRF("/members", url.Values{"email": {"ann@gatehouse.test"}, "role": {"owner"}}); r.status != http.StatusForbidden {
			t.Errorf("%s grants: %d", name, r.status)
		}
	}
	if r := owner.postCSRF("/members/"+u.ID+"/revoke", nil); r.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.status)
	}
	if r := viewer.get("/orgs"); r.status != http.StatusSeeOther {
		t.Errorf("a revoked member's session still works: %d", r.status)
	}
}

func TestApplicationsSecretShownOnce(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	b := h.signedIn(h.owner.UserID)
	before := h.state()
	for _, c := range []struct {
		form  url.Values
		field string
	}{
		{url.Values{"name": {"x"}, "application_type": {"regular_web"}, "allowed_redirect_urls": {"not a url"}}, "allowed_redirect_urls"},
		{url.Values{"name": {""}, "application_type": {"regular_web"}}, "name"},
		{url.Values{"name": {"x"}, "application_type": {"mainframe"}}, "application_type"},
		{url.Values{"name": {"x"}, "application_type": {"machine"}, "signing_alg": {"none"}}, "signing_alg"},
	} {
		r := b.postCSRF("/orgs/alpha/apps", c.form)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `href="#f-`+c.field+`"`) {
			t.Errorf("create %v: %d %s", c.form, r.status, r.body)
		}
	}
	if r := b.postCSRF("/orgs/alpha/apps/"+h.alphaApp.ClientID, url.Values{"name": {"a"}, "allowed_web_origins": {"https://x.test/path"}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("bad origin: %d", r.status)
	}
	if h.state() != before {
		t.Fatal("refused application forms changed something")
	}
	reSecret := regexp.MustCompile(`id="secret" type="text" readonly value="([^"]+)"`)
	r := b.postCSRF("/orgs/alpha/apps", url.Values{"name": {"Billing"}, "application_type": {"regular_web"},
		"allowed_redirect_urls": {"https://billing.test/cb\nhttps://billing.test/cb2"}, "signing_alg": {"ES256"}})
	m := reSecret.FindStringSubmatch(r.body)
	if r.status != http.StatusCreated || m == nil {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	page, _ := h.ids.ListApplications(ctx, "alpha", identity.PageRequest{PerPage: 100})
	var app identity.Application
	for _, a := range page.Items {
		if a.Name == "Billing" {
			app = a
		}
	}
	if !identity.SecretMatches(m[1], app.ClientSecretHash) || app.SigningAlg != "ES256" || len(app.AllowedRedirectURLs) != 2 {
		t.Fatalf("stored application = %+v", app)
	}
	p := "/orgs/alpha/apps/" + app.ClientID
	if r := b.get(p); strings.Contains(r.body, m[1]) || strings.Contains(r.body, `id="secret"`) {
		t.Error("the secret is shown again")
	}
	r = b.postCSRF(p+"/rotate", nil)
	m2 := reSecret.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m2 == nil || m2[1] == m[1] {
		t.Fatalf("rotate: %d %s", r.status, r.body)
	}
	got, _ := h.ids.GetApplication(ctx, "alpha", app.ClientID)
	if !identity.SecretMatches(m2[1], got.ClientSecretHash) || identity.SecretMatches(m[1], got.ClientSecretHash) {
		t.Error("rotation did not replace the secret")
	}
	ev, _ := h.ids.ListEvents(ctx, "alpha", identity.EventFilter{Code: identity.EventApplicationSecretRotated}, identity.PageRequest{})
	if ev.Total != 1 || ev.Items[0].ActorID != h.owner.UserID {
		t.Errorf("rotation events = %+v", ev.Items)
	}
	// A viewer sees no rotate, save or delete control.
	v, _ := h.member(identity.ConsoleViewer)
	if r := v.get(p); r.status != http.StatusOK || strings.Contains(r.body, "/rotate") || strings.Contains(r.body, "/delete") ||
		strings.Contains(r.body, ">Save<") {
		t.Errorf("viewer application page: %d", r.status)
	}
	if r := b.postCSRF(p+"/delete", url.Values{"confirm": {"yes"}}); r.status != http.StatusSeeOther {
		t.Fatalf("delete: %d", r.status)
	}
	if _, err := h.ids.GetApplication(ctx, "alpha", app.ClientID); err == nil {
		t.Error("not deleted")
	}
}

func TestAPIKeysOwnerOnly(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	owner := h.signedIn(h.owner.UserID)
	keysNow := func() []identity.Credential {
		l, err := h.ids.ListCredentials(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	n0 := len(keysNow())
	for _, c := range []struct {
		form  url.Values
		field string
	}{
		{url.Values{"name": {""}, "access": {"full"}}, "name"},
		{url.Values{"name": {"x"}, "access": {"root"}}, "access"},
		{url.Values{"name": {"x"}, "access": {"full"}, "orgs": {"alpha, Not A Domain"}}, "orgs"},
	} {
		if r := owner.postCSRF("/keys", c.form); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `href="#f-`+c.field+`"`) {
			t.Errorf("create %v: %d", c.form, r.status)
		}
	}
	if len(keysNow()) != n0 {
		t.Fatal("refused keys were created")
	}
	r := owner.postCSRF("/keys", url.Values{"name": {"reporting"}, "access": {"readonly"}, "orgs": {"alpha"}})
	m := regexp.MustCompile(`id="secret" type="text" readonly value="([^"]+)"`).FindStringSubmatch(r.body)
	if r.status != http.StatusCreated || m == nil {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var key *identity.Credential
	for _, k := range keysNow() {
		if k.Name == "reporting" {
			key = &k
		}
	}
	if key == nil || key.Environment != identity.Production || len(key.ManagedOrgs) != 1 || key.ManagedOrgs[0] != "alpha" ||
		key.Allows("create", "users") || !key.Allows("read", "users") {
		t.Fatalf("key = %+v", key)
	}
	if c, err := h.ids.AuthenticateCredential(ctx, key.ID, m[1]); err != nil || c.ID != key.ID {
		t.Fatalf("the shown secret does not authenticate: %v", err)
	}
	if r := owner.get("/keys"); strings.Contains(r.body, m[1]) {
		t.Error("the secret is shown again")
	}
	adminB, _ := h.member(identity.ConsoleAdmin)
	limited, _ := h.member(identity.ConsoleOwner, "alpha")
	viewer, _ := h.member(identity.ConsoleViewer)
	for name, b := range map[string]*browser{"admin": adminB, "limited owner": limited, "viewer": viewer} {
		if r := b.get("/keys"); r.status != http.StatusForbidden {
			t.Errorf("%s GET /keys: %d", name, r.status)
		}
		if r := b.postCSRF("/keys", url.Values{"name": {"x"}, "access": {"full"}}); r.status != http.StatusForbidden {
			t.Errorf("%s creates a key: %d", name, r.status)
		}
		if r := b.postCSRF("/keys/"+key.ID+"/revoke", nil); r.status != http.StatusForbidden {
			t.Errorf("%s revokes a key: %d", name, r.status)
		}
		if r := b.get("/orgs"); strings.Contains(r.body, `/keys"`) {
			t.Errorf("%s sees the keys link", name)
		}
	}
	if r := owner.postCSRF("/keys/nope/revoke", nil); r.status != http.StatusNotFound {
		t.Errorf("revoke unknown: %d", r.status)
	}
	if r := owner.postCSRF("/keys/"+key.ID+"/revoke", nil); r.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.status)
	}
	if _, err := h.ids.GetCredential(ctx, key.ID); err == nil {
		t.Error("not revoked")
	}
}

type places map[string]identity.Place

func (p places) ResolvePlace(_ context.Context, q string) (identity.Place, error) {
	if pl, ok := p[strings.ToLower(q)]; ok {
		return pl, nil
	}
	return identity.Place{}, identity.ErrNotFound
}

func TestOrganizationAddressAutocomplete(t *testing.T) {
	h := newHarness(t, harnessOpt{prefix: "/admin", places: places{"lille": {Locality: "Lille", State: "Hauts-de-France", Country: "FR"}}})
	b := h.signedIn(h.owner.UserID)
	before := h.state()
	if r := b.postCSRF("/orgs", url.Values{"name": {"Delta"}, "autocomplete_address": {"Atlantis"}}); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, `href="#f-autocomplete_address"`) {
		t.Fatalf("unknown place: %d %s", r.status, r.body)
	}
	if h.state() != before {
		t.Fatal("an unknown place changed something")
	}
	if r := b.postCSRF("/orgs", url.Values{"name": {"Delta"}, "autocomplete_address": {"Lille"}}); r.status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	o, err := h.ids.GetOrganization(context.Background(), "delta")
	if err != nil || o.Locality != "Lille" || o.State != "Hauts-de-France" || o.CountryName != "FR" {
		t.Fatalf("organization = %+v, %v", o, err)
	}
}

// TestMountAnywhere: at the root and under a deep prefix, every link, form
// action, redirect and cookie path derives from the base URL's path.
func TestMountAnywhere(t *testing.T) {
	for _, prefix := range []string{"/", "/ops/console"} {
		t.Run(prefix, func(t *testing.T) {
			h := newHarness(t, harnessOpt{prefix: prefix})
			p := h.prefix // "" at the root
			b, r := signInThroughProvider(t, h, "owner@gatehouse.test", ownerPass)
			if r.status != http.StatusSeeOther || r.header.Get("Location") != h.base+p+"/orgs/alpha?x=1" {
				t.Fatalf("callback: %d %s", r.status, r.header.Get("Location"))
			}
			if !strings.Contains(strings.Join(r.header.Values("Set-Cookie"), "\n"), "Path="+p+"/;") {
				t.Errorf("cookie path: %v", r.header.Values("Set-Cookie"))
			}
			page := b.get("/orgs/alpha/users/" + h.alphaU.ID)
			if page.status != http.StatusOK {
				t.Fatalf("user page: %d", page.status)
			}
			for _, m := range regexp.MustCompile(`(?:href|action)="([^"#]*)"`).FindAllStringSubmatch(page.body, -1) {
				if !strings.HasPrefix(m[1], p+"/") {
					t.Errorf("URL %q is outside %q", m[1], p+"/")
				}
			}
			if r := b.postCSRF("/orgs/alpha/users/"+h.alphaU.ID+"/unlock", nil); r.header.Get("Location") != h.base+p+"/orgs/alpha/users/"+h.alphaU.ID+"?done=users.unlocked" {
				t.Errorf("redirect: %s", r.header.Get("Location"))
			}
		})
	}
}

// TestHostileInputNo5xx: odd paths, queries and forms get a 4xx or a page,
// never a 5xx.
func TestHostileInputNo5xx(t *testing.T) {
	h := newHarness(t)
	b := h.signedIn(h.owner.UserID)
	long := strings.Repeat("a", 5000)
	for _, p := range []string{
		"/orgs/x%00y", "/orgs/x%00y/users", "/orgs/alpha/users/%00", "/orgs/alpha/users/..%2F..%2Fx",
		"/orgs?q=" + long, "/orgs?q=%ff%fe", "/orgs?q=acme&after=%00", "/orgs?page=-5", "/orgs?page=99999999999999999999",
		"/orgs/alpha/users?q=" + long, "/orgs/alpha/users?q=%ff", "/orgs/alpha/users?after=%00%01", "/orgs/alpha/users?q=a%40&after=%00",
		"/orgs/alpha/users?q=jane&after=zzzz", "/orgs/alpha/events?since=9999-99-99", "/orgs/alpha/events?code=%ff&page=-1",
		"/orgs/alpha/events.csv?actor=" + long, "/orgs/alpha/apps/%00", "/orgs/alpha/apps?page=-1", "/keys/%00/revoke",
		"/login?next=%00", "/login?next=http://evil.test", "/callback", "/callback?state=%00&code=%00", "/setup?token=%00",
		"/lang?l=%00&next=%0d%0aSet-Cookie:x=y", "/orgs/alpha/sso/%00", "/orgs/alpha/sso/" + long, "/orgs/alpha/sso?page=-1",
		"/orgs/x%00y/sso",
	} {
		r := b.get(p)
		if r.status >= 500 {
			t.Errorf("GET %s: %d", p, r.status)
		}
		if strings.Contains(strings.Join(r.header.Values("Set-Cookie"), ";"), "x=y") {
			t.Errorf("GET %s: header injection", p)
		}
	}
	for p, form := range map[string]url.Values{
		"/orgs":                          {"name": {long}, "allowed_email_domains": {long}},
		"/orgs/alpha":                    {"name": {"a\x00b"}, "privacy_policy_url": {"http://\x00"}},
		"/orgs/alpha/users":              {"email": {"a@b.c\x00"}, "password": {long}},
		"/orgs/alpha/users/%00":          {"name": {"x"}},
		"/orgs/alpha/sso":                {"application_id": {long}, "provider_type": {"\x00"}, "sso_admin_email": {long + "@x.test"}},
		"/orgs/alpha/sso/%00/onboarding": {"sso_admin_email": {"\x00"}},
		"/orgs/alpha/apps":               {"name": {"x"}, "application_type": {"machine"}, "allowed_redirect_urls": {long}},
		"/members":                       {"email": {"\x00"}, "role": {"owner"}},
		"/keys":                          {"name": {long}, "access": {"full"}, "orgs": {"*"}},
		"/setup":                         {"token": {"\x00"}},
		"/env":                           {"env": {"\x00"}, "next": {"/\\evil.test"}},
	} {
		r := b.postCSRF(p, form)
		if r.status >= 500 {
			t.Errorf("POST %s: %d %s", p, r.status, r.body)
		}
	}
	// A huge form body is refused, not read.
	if r := b.post("/orgs", url.Values{"csrf": {b.csrf()}, "name": {strings.Repeat("x", 200<<10)}}); r.status != http.StatusBadRequest {
		t.Errorf("huge form: %d", r.status)
	}
}

func TestPasswordResetMail(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	b, admin := h.member(identity.ConsoleAdmin, "alpha")
	u := "/orgs/alpha/users/" + h.alphaU.ID
	if r := b.get(u); !strings.Contains(r.body, u+"/reset-password") {
		t.Fatal("no reset button")
	}
	r := b.postCSRF(u+"/reset-password", nil)
	if r.status != http.StatusSeeOther || !strings.HasSuffix(r.header.Get("Location"), "?done=users.reset.sent") {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}
	m := h.mailTo("jane@alpha.test")
	if m == nil || !strings.Contains(m.Text, h.base+"/t/alpha/") {
		t.Fatalf("mail = %+v", m)
	}
	ev, _ := h.ids.ListEvents(ctx, "alpha", identity.EventFilter{Code: identity.EventUserPasswordReset}, identity.PageRequest{})
	if ev.Total != 1 || ev.Items[0].ActorID != admin.ID {
		t.Errorf("reset events = %+v", ev.Items)
	}
	// Beta's user, through either path, gets nothing.
	for _, p := range []string{"/orgs/beta/users/" + h.betaU.ID + "/reset-password", "/orgs/alpha/users/" + h.betaU.ID + "/reset-password"} {
		if r := b.postCSRF(p, nil); r.status != http.StatusNotFound {
			t.Errorf("POST %s: %d", p, r.status)
		}
	}
	if h.mailTo("jane@beta.test") != nil {
		t.Error("beta's user got a mail")
	}
}

// TestAdminCannotReachTheAccountOrganization (the attacker's test): the
// account's organization holds the console's members and the console's own
// application, so a console admin who could change it could make itself
// owner: claim the owner's email domain and plug in an SSO connection
// whose IdP asserts the owner, disable or delete the owner, or add a
// redirect URI to the console's client. For every role but owner it is
// outside the member's scope (identity.Scope.ExceptAccount): a 404, as an
// unknown organization, and nothing changes; the owner still reaches it,
// and the admin still manages every other organization.
func TestAdminCannotReachTheAccountOrganization(t *testing.T) {
	h := newHarness(t)
	admin, _ := h.member(identity.ConsoleAdmin)
	viewer, _ := h.member(identity.ConsoleViewer)
	owner, _ := h.member(identity.ConsoleOwner)
	ownerID := h.owner.UserID
	before := h.state()
	for _, b := range []*browser{admin, viewer} {
		for _, p := range []string{"/orgs/" + account, "/orgs/" + account + "/users", "/orgs/" + account + "/users/" + ownerID,
			"/orgs/" + account + "/apps", "/orgs/" + account + "/sso", "/orgs/" + account + "/events"} {
			if r := b.get(p); r.status != http.StatusNotFound {
				t.Errorf("GET %s: %d", p, r.status)
			}
		}
		if r := b.get("/orgs"); r.status != http.StatusOK || strings.Contains(r.body, `/orgs/`+account+`"`) {
			t.Errorf("the organization list shows the account's organization: %d", r.status)
		}
	}
	for _, c := range []struct {
		path string
		form url.Values
	}{
		{"/orgs/" + account, url.Values{"name": {account}, "allowed_email_domains": {"gatehouse.test"}}},
		{"/orgs/" + account + "/sso", url.Values{"provider_type": {"custom_saml"}, "sso_admin_email": {"attacker@evil.test"}}},
		{"/orgs/" + account + "/users/" + ownerID + "/disable", nil},
		{"/orgs/" + account + "/users/" + ownerID + "/delete", url.Values{"confirm": {"yes"}}},
		{"/orgs/" + account + "/users/new", url.Values{"email": {"x@gatehouse.test"}}},
		{"/orgs/" + account + "/apps", url.Values{"name": {"x"}, "application_type": {"native"}}},
	} {
		if r := admin.postCSRF(c.path, c.form); r.status != http.StatusNotFound {
			t.Errorf("admin POST %s: %d", c.path, r.status)
		}
	}
	if after := h.state(); after != before {
		t.Fatalf("refused requests changed the directory:\n%s\n%s", before, after)
	}
	if r := owner.get("/orgs/" + account + "/users/" + ownerID); r.status != http.StatusOK {
		t.Fatalf("owner GET the account's organization: %d", r.status)
	}
	if r := admin.get("/orgs/alpha/users"); r.status != http.StatusOK {
		t.Fatalf("admin GET another organization: %d", r.status)
	}
}

// TestConsoleApplicationsServeTheirOrganization: an application created
// in the console under an organization serves that organization only,
// unless the owner asks for every organization; the page says which.
func TestConsoleApplicationsServeTheirOrganization(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	b := h.signedIn(h.owner.UserID)
	created := func(name string, extra url.Values) *identity.Application {
		t.Helper()
		form := url.Values{"name": {name}, "application_type": {"machine"}}
		for k, v := range extra {
			form[k] = v
		}
		if r := b.postCSRF("/orgs/alpha/apps", form); r.status != http.StatusCreated {
			t.Fatalf("create %s: %d %s", name, r.status, r.body)
		}
		page, _ := h.ids.ListApplications(ctx, "alpha", identity.PageRequest{PerPage: 100})
		for i := range page.Items {
			if page.Items[i].Name == name {
				return &page.Items[i]
			}
		}
		t.Fatalf("%s not stored", name)
		return nil
	}
	own := created("Own", nil)
	if _, err := h.ids.ApplicationFor(ctx, own.ClientID, "beta"); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("an application created under alpha serves beta: %v", err)
	}
	if _, err := h.ids.ApplicationFor(ctx, own.ClientID, "alpha"); err != nil {
		t.Errorf("it does not serve alpha: %v", err)
	}
	if r := b.get("/orgs/alpha/apps/" + own.ClientID); !strings.Contains(r.body, "<dd>alpha</dd>") {
		t.Errorf("the page does not say it serves alpha: %s", r.body)
	}
	shared := created("Shared", url.Values{"every_org": {"on"}})
	if _, err := h.ids.ApplicationFor(ctx, shared.ClientID, "beta"); err != nil {
		t.Errorf("an application asked to serve every organization does not serve beta: %v", err)
	}
	if r := b.get("/orgs/alpha/apps/" + shared.ClientID); !strings.Contains(r.body, "every organization") {
		t.Errorf("the page does not say it serves every organization")
	}
}
