package main

import (
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// fuzzBodies are the body kinds the seeds combine with every route.
var fuzzBodies = []struct{ ct, body string }{
	{"", ""},
	{"application/json", `{"name":"x","email":"a@acme.test","profile":{"email":"b@acme.test"},"grant_type":"client_credentials"}`},
	{"application/json", `[{"name":1},null,{"a":{"b":[true]}}]`},
	{"application/x-www-form-urlencoded", "grant_type=authorization_code&code=x&client_id=y&redirect_uri=https%3A%2F%2Fspa.acme.test%2Fcb&code_verifier=z"},
	{"application/x-www-form-urlencoded", "tenantName=acme&username=bob&password=p&email=%ff&attributes=%7B%22a%22%3A%5B%5D%7D&role[]=x"},
	{"multipart/form-data; boundary=XX", "--XX\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n\r\n--XX--\r\n"},
	{"multipart/form-data; boundary=", "--\r\n"},
	{"text/plain", "\x00\xff\xfe garbage {"},
	{"application/json", `{"profile":{"address":{"city":{"x":1}}},"allowed_redirect_urls":"nope","page":1e99}`},
	{"application/xml", `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`},
}

// FuzzServer throws random requests at the whole assembled server (every
// face on one mux): no answer may be a 5xx or a recovered panic; answers on
// /api/v2 are JSON, Crafter errors on /api/1 are {"errorCode","message"},
// and HTML pages carry the security headers.
func FuzzServer(f *testing.F) {
	hx := newHarness(f, "memory:")
	methods := []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
	for i, p := range hx.routes() {
		for j, b := range fuzzBodies {
			if (i+j)%3 != 0 && j != 0 {
				continue
			}
			m := methods[(i+j)%len(methods)]
			f.Add(m, p, "accessTokenId="+hMasterSecret+"&tenantName="+hx.org+"&client_id="+hx.spaID, b.ct, []byte(b.body), uint8(i+j), "Origin: https://spa.acme.test")
		}
		f.Add("GET", p, "", "", []byte(nil), uint8(1), "")
		f.Add("POST", p, "", "application/json", []byte(`{}`), uint8(2), "Cookie: gh_csrf=x; gh_session=y")
		if strings.HasPrefix(p, "/enterprise") {
			f.Add("POST", p, "lang=fr", "application/x-www-form-urlencoded",
				[]byte("csrf="+url.QueryEscape(hx.portalTk)+"&provider_type=okta&metadata=%3CEntityDescriptor%2F%3E"), uint8(6), "")
		}
	}
	f.Fuzz(func(t *testing.T, method, path, query, ct string, body []byte, auth uint8, headers string) {
		if !fuzzMethod(method) || !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t#?") ||
			strings.ContainsAny(query, " \r\n\t#") || strings.ContainsAny(ct, "\r\n") || len(body) > 1<<16 {
			return
		}
		target := "http://gatehouse.test" + path
		if query != "" {
			target += "?" + query
		}
		r, err := http.NewRequest(method, target, strings.NewReader(string(body)))
		if err != nil {
			return
		}
		r.RequestURI = strings.TrimPrefix(target, "http://gatehouse.test")
		r.RemoteAddr = "192.0.2.1:1234"
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		for _, line := range strings.Split(headers, "\n") {
			k, v, ok := strings.Cut(line, ":")
			if ok && fuzzToken(k) && !strings.ContainsAny(v, "\r\x00") {
				r.Header.Add(k, strings.TrimSpace(v))
			}
		}
		switch auth % 7 {
		case 6:
			r.Header.Set("Cookie", hx.portal)
		case 1:
			r.Header.Set("Authorization", "Bearer "+hx.mgmt)
		case 2:
			setQuery(r, "accessTokenId", hMasterSecret)
		case 3:
			setQuery(r, "accessTokenId", hx.appToken)
		case 4:
			r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(hx.webID+":"+hx.webSecr)))
		case 5:
			r.Header.Set("Authorization", "Bearer eyJhbGciOiJub25lIn0.e30.")
		}
		before := hx.logs.Len()
		w := httptest.NewRecorder()
		hx.h.ServeHTTP(w, r)
		checkAnswer(t, r, w)
		if logs := hx.logs.String()[before:]; strings.Contains(logs, "panic") {
			t.Fatalf("%s %s: a panic was recovered: %s", method, r.RequestURI, logs)
		}
	})
}

// oauthJSONPath matches an issuer's JSON endpoints.
var oauthJSONPath = regexp.MustCompile(`^/t/[^/]+/(oauth/(token|revoke|introspect)|userinfo|\.well-known(/jwks|/openid-configuration)?)$`)

// checkAnswer holds every answer of the server to the product's rules.
func checkAnswer(t *testing.T, r *http.Request, w *httptest.ResponseRecorder) {
	t.Helper()
	what := r.Method + " " + r.RequestURI
	if w.Code >= 500 {
		t.Fatalf("%s (%s): %d %s", what, r.Header.Get("Content-Type"), w.Code, w.Body)
	}
	if r.Method == http.MethodHead || w.Code == http.StatusNoContent || (w.Code >= 300 && w.Code < 400) {
		return
	}
	ctype := w.Header().Get("Content-Type")
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/api/") && !strings.HasPrefix(p, "/api/1/") && !strings.HasSuffix(p, "/slo-after-revoke-token"),
		p == "/oauth/token", p == "/oauth/revoke", oauthJSONPath.MatchString(p):
		// The JSON APIs: management, and the OAuth endpoints.
		if !strings.HasPrefix(ctype, "application/json") || !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s: %d answered %q, not JSON: %.200s", what, w.Code, ctype, w.Body)
		}
	case strings.HasPrefix(p, "/api/1/") && w.Code >= 400:
		var e struct {
			Code    *string `json:"errorCode"`
			Message *string `json:"message"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Code == nil || e.Message == nil {
			t.Fatalf("%s: %d is not a Crafter error (%q): %.200s", what, w.Code, ctype, w.Body)
		}
	}
	if strings.HasPrefix(ctype, "text/html") {
		checkPageHeaders(t, what, w.Header())
	}
}

// checkPageHeaders asserts the security headers of an HTML page.
func checkPageHeaders(t testing.TB, what string, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	if csp == "" || !strings.Contains(csp, "default-src") {
		t.Errorf("%s: HTML without a Content-Security-Policy (%q)", what, csp)
	}
	if !strings.Contains(csp, "frame-ancestors 'none'") && h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("%s: HTML can be framed", what)
	}
	if h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("%s: X-Frame-Options %q", what, h.Get("X-Frame-Options"))
	}
	if h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options %q", what, h.Get("X-Content-Type-Options"))
	}
	if h.Get("Referrer-Policy") == "" {
		t.Errorf("%s: no Referrer-Policy", what)
	}
}

func setQuery(r *http.Request, k, v string) {
	q := r.URL.Query()
	q.Set(k, v)
	r.URL.RawQuery = q.Encode()
	r.RequestURI = r.URL.RequestURI()
}

func fuzzMethod(m string) bool {
	return m != "" && len(m) <= 16 && fuzzToken(m) && strings.ToUpper(m) == m
}

func fuzzToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// TestRouteSweep sends every method, with and without each kind of
// credential and with empty and malformed bodies, to every route of every
// face, and holds each answer to the rules of checkAnswer.
func TestRouteSweep(t *testing.T) {
	for _, env := range []string{"production", "sandbox"} {
		t.Run(env, func(t *testing.T) { routeSweep(t, newHarness(t, "memory:", "-master-env", env)) })
	}
}

func routeSweep(t *testing.T, hx *harness) {
	methods := []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"}
	bodies := []struct{ ct, body string }{{"", ""}, {"application/json", `{"a":`}, {"application/x-www-form-urlencoded", "%zz=%"},
		{"multipart/form-data", "--x"}}
	n := 0
	for _, p := range hx.routes() {
		for _, m := range methods {
			for auth := range 5 {
				for _, b := range bodies {
					body := b.body
					if auth == 4 && b.ct == "application/x-www-form-urlencoded" {
						body += "&csrf=" + url.QueryEscape(hx.portalTk) + "&provider_type=okta&metadata=%3Cx%3E"
					}
					r := httptest.NewRequest(m, "http://gatehouse.test"+p, strings.NewReader(body))
					if b.ct != "" {
						r.Header.Set("Content-Type", b.ct)
					}
					switch auth {
					case 1:
						r.Header.Set("Authorization", "Bearer "+hx.mgmt)
					case 2:
						setQuery(r, "accessTokenId", hMasterSecret)
					case 3:
						r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(hx.webID+":"+hx.webSecr)))
					case 4:
						r.Header.Set("Cookie", hx.portal)
					}
					before := hx.logs.Len()
					w := httptest.NewRecorder()
					hx.h.ServeHTTP(w, r)
					checkAnswer(t, r, w)
					if strings.Contains(hx.logs.String()[before:], "panic") {
						t.Fatalf("%s %s: a panic was recovered", m, p)
					}
					n++
				}
			}
		}
	}
	t.Logf("%d requests", n)
	// Credentials sent every way, valid or not, never reach the log (at
	// debug level).
	logs := hx.logs.String()
	for what, secret := range map[string]string{"master secret": hMasterSecret, "monitoring token": hMonitoring,
		"management token": hx.mgmt, "application access token": hx.appToken, "client secret": hx.webSecr} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds the %s", what)
		}
	}
}

var (
	fuzzCSRF    = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	fuzzRequest = regexp.MustCompile(`name="request" value="([^"]+)"`)
)

// FuzzLoginForm fills the hosted login page's form with random values,
// past its CSRF check (a fresh authorization request each time): no 5xx,
// every page with its security headers, and never a code for the
// application without a proven identity.
func FuzzLoginForm(f *testing.F) {
	hx := newHarness(f, "memory:")
	for _, s := range [][5]string{
		{"magic", "jane@acme.test", "", "", ""},
		{"password", "jane@acme.test", "guess", "", ""},
		{"password", "bob@acme.test", "correct horse battery staple", "", ""},
		{"code", "", "", "123456", ""},
		{"code", "", "", "\x00\xff", "code=1&code=2"},
		{"sso", "it@acme.test", "", "", "locale=fr"},
		{"", "", "", "", "action=password&action=magic"},
		{"magic", strings.Repeat("a", 300) + "@acme.test", "", "", ""},
		{"password", "Jane@ACME.test ", strings.Repeat("p", 5000), "", "request=other"},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	authz := "/t/" + hx.org + "/authorize?" + url.Values{"response_type": {"code"}, "client_id": {hx.spaID},
		"redirect_uri": {"https://spa.acme.test/cb"}, "scope": {"openid email"}, "state": {"s"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}.Encode()
	f.Fuzz(func(t *testing.T, action, email, password, code, extra string) {
		page := hx.do("GET", authz, "", nil)
		csrf, req := fuzzCSRF.FindStringSubmatch(page.Body.String()), fuzzRequest.FindStringSubmatch(page.Body.String())
		if page.Code != 200 || csrf == nil || req == nil {
			t.Fatalf("login page: %d %s", page.Code, page.Body)
		}
		form := url.Values{"csrf_token": {csrf[1]}, "request": {html.UnescapeString(req[1])}, "action": {action},
			"email": {email}, "password": {password}, "code": {code}}
		body := form.Encode()
		if extra != "" {
			body += "&" + extra
		}
		r := httptest.NewRequest("POST", "http://gatehouse.test/t/"+hx.org+"/login", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.RemoteAddr = "192.0.2.7:1"
		for _, ck := range page.Result().Cookies() {
			r.AddCookie(ck)
		}
		before := hx.logs.Len()
		w := httptest.NewRecorder()
		hx.h.ServeHTTP(w, r)
		checkAnswer(t, r, w)
		if loc := w.Header().Get("Location"); strings.Contains(loc, "code=") || strings.HasPrefix(loc, "https://spa.acme.test") {
			t.Fatalf("%q %q %q %q %q: redirected to the application: %s", action, email, password, code, extra, loc)
		}
		if strings.Contains(hx.logs.String()[before:], "panic") {
			t.Fatalf("a panic was recovered: %s", hx.logs.String()[before:])
		}
	})
}
