// Package flowtest drives the OIDC authorization code flow with PKCE
// through Gatehouse's hosted sign-in page over real HTTP, as a browser
// and a relying party would: discovery, the authorization request, the
// login form (password), the redirect with the code, and the code
// exchange. Tests of the root package, of its mounting in routers and of
// examples/embed share it.
package flowtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// SignIn describes one sign-in.
type SignIn struct {
	// Issuer is the organization's issuer URL ({BaseURL}/t/{domain}).
	Issuer string
	// ClientID, ClientSecret ("" for a public client) and RedirectURI are
	// the application's.
	ClientID, ClientSecret, RedirectURI string
	// Email and Password are the user's.
	Email, Password string
}

// Result is what a sign-in produced.
type Result struct {
	// Discovery is the issuer's discovery document.
	Discovery map[string]any
	// LoginAction is the URL the login form posted to.
	LoginAction string
	// Cookies are the cookies the browser held after the sign-in, with
	// their Path as the server set them.
	Cookies []*http.Cookie
	// AccessToken and IDToken are the tokens of the code exchange.
	AccessToken, IDToken string
	// CallbackIssuer is the iss parameter of the redirect to the client.
	CallbackIssuer string
}

var (
	reAction  = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	reCSRF    = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	reRequest = regexp.MustCompile(`name="request" value="([^"]+)"`)
)

// Run signs s.Email in through the hosted page with a password and
// exchanges the code; any step that fails fails t.
func Run(t testing.TB, s SignIn) Result {
	t.Helper()
	var res Result
	jar, _ := cookiejar.New(nil)
	var setCookies []*http.Cookie
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(req *http.Request) (*http.Response, []byte) {
		t.Helper()
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", req.Method, req.URL, err)
		}
		defer resp.Body.Close()
		setCookies = append(setCookies, resp.Cookies()...)
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	get := func(u string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest("GET", u, nil)
		if err != nil {
			t.Fatal(err)
		}
		return do(req)
	}
	post := func(u string, v url.Values) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest("POST", u, strings.NewReader(v.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return do(req)
	}

	resp, body := get(s.Issuer + "/.well-known/openid-configuration")
	if resp.StatusCode != 200 || json.Unmarshal(body, &res.Discovery) != nil {
		t.Fatalf("discovery at %s: %d %s", s.Issuer, resp.StatusCode, body)
	}
	if res.Discovery["issuer"] != s.Issuer {
		t.Fatalf("discovery issuer %v, want %s", res.Discovery["issuer"], s.Issuer)
	}
	authz, _ := res.Discovery["authorization_endpoint"].(string)
	tokenURL, _ := res.Discovery["token_endpoint"].(string)

	verifier := rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(verifier))
	state, nonce := rand.Text(), rand.Text()
	start := authz + "?" + url.Values{"response_type": {"code"}, "client_id": {s.ClientID},
		"redirect_uri": {s.RedirectURI}, "scope": {"openid email profile"}, "state": {state}, "nonce": {nonce},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}.Encode()
	resp, body = get(start)
	action, csrf, request := reAction.FindSubmatch(body), reCSRF.FindSubmatch(body), reRequest.FindSubmatch(body)
	if resp.StatusCode != 200 || action == nil || csrf == nil || request == nil {
		t.Fatalf("authorization page %s: %d %s", start, resp.StatusCode, body)
	}
	act, err := resp.Request.URL.Parse(html.UnescapeString(string(action[1])))
	if err != nil {
		t.Fatalf("form action %q: %v", action[1], err)
	}
	res.LoginAction = act.String()
	resp, body = post(res.LoginAction, url.Values{"csrf_token": {html.UnescapeString(string(csrf[1]))},
		"request": {html.UnescapeString(string(request[1]))}, "action": {"password"}, "email": {s.Email},
		"password": {s.Password}})
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("password sign-in at %s: %d %s %s", res.LoginAction, resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if got := loc.Query().Get("state"); got != state {
		t.Fatalf("callback state %q, want %q", got, state)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != s.RedirectURI {
		t.Fatalf("callback to %s, want %s", got, s.RedirectURI)
	}
	res.CallbackIssuer = loc.Query().Get("iss")

	form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"client_id": {s.ClientID}, "redirect_uri": {s.RedirectURI}, "code_verifier": {verifier}}
	if s.ClientSecret != "" {
		form.Set("client_secret", s.ClientSecret)
	}
	resp, body = post(tokenURL, form)
	var tok struct {
		AccessToken string `json:"access_token"`
		IDToken     string `json:"id_token"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("code exchange at %s: %d %s", tokenURL, resp.StatusCode, body)
	}
	res.AccessToken, res.IDToken = tok.AccessToken, tok.IDToken
	res.Cookies = setCookies
	return res
}

// Get calls u with the access token (none when token is empty) and
// returns the status and body.
func Get(t testing.TB, u, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
