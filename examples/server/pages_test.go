package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestHTMLPages requests every kind of HTML page the server shows (hosted
// login, its error pages, the magic-link confirmation, the SSO portal and
// SAML error pages) with a script in every parameter: each page carries the
// security headers, a CSRF token in every form, and never the raw script.
func TestHTMLPages(t *testing.T) {
	hx := newHarness(t, "memory:")
	const xss = `"><script>alert(1)</script>`
	q := url.QueryEscape(xss)
	authz := url.Values{"response_type": {"code"}, "client_id": {hx.spaID}, "redirect_uri": {"https://spa.acme.test/cb"},
		"scope": {"openid email"}, "state": {xss}, "nonce": {xss}, "login_hint": {xss},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}
	pages := []string{
		"/t/" + hx.org + "/authorize?" + authz.Encode(),
		"/t/" + hx.org + "/authorize?client_id=" + q + "&redirect_uri=" + q,
		"/t/" + hx.org + "/authorize?client_id=" + hx.spaID + "&redirect_uri=https://evil.test/" + q,
		"/t/" + hx.org + "/authorize?response_type=token&client_id=" + hx.spaID + "&redirect_uri=https%3A%2F%2Fevil.test",
		"/t/nope/authorize?client_id=" + hx.spaID,
		"/t/" + hx.org + "/?client_id=" + q + "&email=" + q + "&locale=" + q,
		"/t/" + hx.org + "/en/" + q + "/signin/new?client_id=" + q,
		"/t/" + hx.org + "/" + q + "/" + q + "/" + q + "/new",
		"/a/" + hx.org + "/?client_id=" + hx.spaID + "&client_state=" + q,
		"/?org_domain=" + q + "&email=" + q,
		"/magic-link/verify/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"/magic-link/verify/" + q,
		"/t/" + hx.org + "/logout?post_logout_redirect_uri=" + q + "&state=" + q,
		"/enterprise/" + q + "/login",
		"/enterprise/" + hx.org + "_x/login?RelayState=" + q,
		"/enterprise-setup/",
		"/enterprise-setup/provider?lang=" + q,
		"/enterprise-setup/" + q,
		"/enterprise-setup/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA?lang=" + q,
	}
	html := 0
	for _, p := range pages {
		w := hx.do("GET", p, "", nil, "Accept-Language", xss)
		if w.Code >= 500 {
			t.Errorf("GET %s: %d", p, w.Code)
			continue
		}
		body := w.Body.String()
		if strings.Contains(body, "<script>alert(1)</script>") {
			t.Errorf("GET %s reflects a script: %s", p, body)
		}
		if loc := w.Header().Get("Location"); strings.Contains(loc, "evil.test") {
			t.Errorf("GET %s redirects to an unregistered URI: %s", p, loc)
		}
		if !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
			continue
		}
		html++
		checkPageHeaders(t, "GET "+p, w.Header())
		if forms, csrf := strings.Count(body, "<form"), strings.Count(body, `name="csrf_token"`)+strings.Count(body, `name="csrf"`); forms > csrf {
			t.Errorf("GET %s: %d forms, %d CSRF tokens", p, forms, csrf)
		}
	}
	if html < len(pages)/2 {
		t.Fatalf("only %d of %d pages were HTML", html, len(pages))
	}

	// Form posts without a CSRF token are refused, in the page format.
	for _, p := range []string{"/t/" + hx.org + "/login", "/login", "/magic-link/verify/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"/enterprise-setup/provider", "/enterprise-setup/configure", "/enterprise-setup/metadata", "/enterprise-setup/test"} {
		w := hx.do("POST", p, "application/x-www-form-urlencoded", []byte("action=magic&email=jane%40acme.test"),
			"Origin", "https://evil.test")
		if w.Code < 400 || w.Code >= 500 {
			t.Errorf("POST %s without CSRF token: %d %s", p, w.Code, w.Body)
		}
		if strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
			checkPageHeaders(t, "POST "+p, w.Header())
		}
	}
}

// TestCORSOnOAuthEndpoints checks that only a registered origin may read
// the OAuth endpoints' answers, and that the management API grants none.
func TestCORSOnOAuthEndpoints(t *testing.T) {
	hx := newHarness(t, "memory:")
	const good, evil = "https://spa.acme.test", "https://evil.test"
	for _, origin := range []string{good, evil, "null", "https://spa.acme.test.evil.test"} {
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/t/" + hx.org + "/oauth/token", "grant_type=refresh_token&refresh_token=x&client_id=" + hx.spaID},
			{"POST", "/t/" + hx.org + "/oauth/revoke", "token=x&client_id=" + hx.spaID},
			{"POST", "/oauth/token", "grant_type=refresh_token&refresh_token=" + hx.org + ".x&client_id=" + hx.spaID},
			{"POST", "/api/v1/tenants/" + hx.org + "/" + hx.spaID + "/oauth/token/revoke", "token=x"},
			{"OPTIONS", "/api/v1/tenants/" + hx.org + "/" + hx.spaID + "/oauth/token/revoke", ""},
			{"POST", "/api/v2/oauth/token", "grant_type=client_credentials"},
			{"OPTIONS", "/api/v2/organizations", ""},
		} {
			w := hx.do(c.method, c.path, "application/x-www-form-urlencoded", []byte(c.body), "Origin", origin,
				"Access-Control-Request-Method", "POST")
			got := w.Header().Get("Access-Control-Allow-Origin")
			if got == "*" || (got != "" && got != good) || (got == good && origin != good) {
				t.Errorf("%s %s from %s: Access-Control-Allow-Origin %q", c.method, c.path, origin, got)
			}
			if w.Header().Get("Access-Control-Allow-Credentials") == "true" {
				t.Errorf("%s %s: credentials allowed", c.method, c.path)
			}
			if strings.HasPrefix(c.path, "/api/v2/") && got != "" {
				t.Errorf("%s %s: the management API answers CORS", c.method, c.path)
			}
		}
	}
	// The registered origin can read the token endpoint's answer.
	w := hx.do("POST", "/t/"+hx.org+"/oauth/token", "application/x-www-form-urlencoded",
		[]byte("grant_type=refresh_token&refresh_token=x&client_id="+hx.spaID), "Origin", good)
	if w.Header().Get("Access-Control-Allow-Origin") != good {
		t.Errorf("registered origin refused: %v", w.Header())
	}
}

// TestRedirectURIExactMatch: an authorization request whose redirect_uri
// differs from the registered one in any way gets an error page, never a
// redirect.
func TestRedirectURIExactMatch(t *testing.T) {
	hx := newHarness(t, "memory:")
	for _, ru := range []string{"https://spa.acme.test/cb/", "https://spa.acme.test/cb?x=1", "https://spa.acme.test/CB",
		"https://SPA.acme.test/cb", "http://spa.acme.test/cb", "https://spa.acme.test:443/cb", "https://spa.acme.test/cb/../cb",
		"https://spa.acme.test.evil.test/cb", "https://spa.acme.test@evil.test/cb", "https://spa.acme.test/cb%23", "//evil.test/cb", ""} {
		q := url.Values{"response_type": {"code"}, "client_id": {hx.spaID}, "redirect_uri": {ru}, "scope": {"openid"},
			"state": {"s"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}
		w := hx.do("GET", "/t/"+hx.org+"/authorize?"+q.Encode(), "", nil)
		if loc := w.Header().Get("Location"); loc != "" || w.Code < 400 || w.Code >= 500 {
			t.Errorf("redirect_uri %q: %d Location %q", ru, w.Code, loc)
		}
	}
}

// TestCookiesUnderHTTPS: behind an https base URL every cookie the pages
// set is Secure and HttpOnly, with a SameSite policy.
func TestCookiesUnderHTTPS(t *testing.T) {
	hx := newHarness(t, "memory:", "-base-url", "https://gatehouse.test")
	q := url.Values{"response_type": {"code"}, "client_id": {hx.spaID}, "redirect_uri": {"https://spa.acme.test/cb"},
		"scope": {"openid"}, "state": {"s"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
		"code_challenge_method": {"S256"}}
	n := 0
	for _, p := range []string{"/t/" + hx.org + "/authorize?" + q.Encode(), "/enterprise-setup/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		w := hx.do("GET", p, "", nil)
		for _, ck := range w.Result().Cookies() {
			n++
			if !ck.Secure || !ck.HttpOnly || ck.SameSite == http.SameSiteDefaultMode {
				t.Errorf("GET %s: cookie %s: Secure %v HttpOnly %v SameSite %v", p, ck.Name, ck.Secure, ck.HttpOnly, ck.SameSite)
			}
		}
	}
	if hx.portal == "" || n < 2 {
		t.Fatalf("%d cookies seen", n)
	}
}
