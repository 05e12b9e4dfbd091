package gatehouse_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse"
)

var (
	reConsoleCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	reLoginCSRF   = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	reRequest     = regexp.MustCompile(`name="request" value="([^"]+)"`)
)

// TestConsoleFace: with Serve's Console bit the admin console is served at
// {base}/admin/; the first owner is created through the one-time setup
// link and signs in through the hosted login of the account's
// organization, which the console reaches in process. Without the bit
// nothing answers there.
func TestConsoleFace(t *testing.T) {
	f := newFixture(t, "/auth", gatehouse.Options{Serve: gatehouse.DefaultFaces | gatehouse.Console}, hostMux("/auth"))
	ctx := context.Background()
	con := f.gh.Console()
	if con == nil {
		t.Fatal("Console() is nil with the Console face")
	}
	link, err := con.SetupURL(ctx)
	if err != nil || !strings.HasPrefix(link, f.base+"/admin/setup?token=") {
		t.Fatalf("setup link %q: %v", link, err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	fetch := func(method, target string, form url.Values) (*http.Response, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, target, body)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	res, body := fetch("GET", link, nil)
	m := reConsoleCSRF.FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("setup page: %d %s", res.StatusCode, body)
	}
	u, _ := url.Parse(link)
	form := url.Values{"token": {u.Query().Get("token")}, "csrf": {m[1]}, "email": {"owner@acme.test"},
		"password": {"a long owner password"}}
	if res, body = fetch("POST", f.base+"/admin/setup", form); res.StatusCode != http.StatusOK {
		t.Fatalf("setup: %d %s", res.StatusCode, body)
	}
	// Signed out, the console sends the browser to the hosted login of
	// the account's issuer, under the base path.
	res, body = fetch("GET", f.base+"/admin/", nil)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Request.URL.String(), f.base+"/t/gatehouse/") {
		t.Fatalf("signed-out console: %d at %s", res.StatusCode, res.Request.URL)
	}
	action, csrf, reqID := reFormAction.FindStringSubmatch(body), reLoginCSRF.FindStringSubmatch(body), reRequest.FindStringSubmatch(body)
	if action == nil || csrf == nil || reqID == nil {
		t.Fatalf("no login form: %s", body)
	}
	target := action[1]
	if strings.HasPrefix(target, "/") {
		target = f.srv.URL + target
	}
	res, body = fetch("POST", target, url.Values{"csrf_token": {csrf[1]}, "request": {reqID[1]}, "action": {"password"},
		"email": {"owner@acme.test"}, "password": {"a long owner password"}})
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Request.URL.String(), f.base+"/admin/") ||
		!strings.Contains(body, "owner@acme.test") {
		t.Fatalf("after sign-in: %d at %s: %s", res.StatusCode, res.Request.URL, body)
	}

	// The root package wires the provider's resets and invitations: the
	// user page offers both.
	owner, err := f.gh.Production().GetUserByEmail(ctx, "gatehouse", "owner@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	userPath := "/admin/orgs/gatehouse/users/" + owner.ID
	if res, body = fetch("GET", f.base+userPath, nil); res.StatusCode != http.StatusOK ||
		!strings.Contains(body, userPath+"/invite") || !strings.Contains(body, userPath+"/reset-password") {
		t.Errorf("user page without the invitation or reset forms: %d %s", res.StatusCode, body)
	}

	// With the SSO face, the console shows each organization's SSO
	// connections; without it, the section is absent.
	if !slices.Contains(con.Patterns(), "GET /orgs/{org}/sso") {
		t.Errorf("no SSO section with the SSO face: %v", con.Patterns())
	}
	// Likewise the Crafter face brings each organization's tenant and the
	// access tokens.
	for _, p := range []string{"GET /orgs/{org}/tenant", "POST /keys/tokens"} {
		if !slices.Contains(con.Patterns(), p) {
			t.Errorf("no %s with the Crafter face: %v", p, con.Patterns())
		}
	}
	noSSO := newFixture(t, "/auth", gatehouse.Options{Serve: gatehouse.CryptrAPI | gatehouse.HostedLogin | gatehouse.Console}, hostMux("/auth"))
	for _, p := range noSSO.gh.Console().Patterns() {
		if strings.Contains(p, "/sso") {
			t.Errorf("SSO route %s without the SSO face", p)
		}
		if strings.Contains(p, "/tenant") || strings.Contains(p, "/keys/tokens") {
			t.Errorf("Crafter route %s without the Crafter face", p)
		}
	}

	plain := newFixture(t, "/auth", gatehouse.Options{}, hostMux("/auth"))
	if plain.gh.Console() != nil {
		t.Error("Console() without the Console face")
	}
	if code, _ := plain.get(t, "/auth/admin/"); code != http.StatusNotFound {
		t.Errorf("/auth/admin/ without the Console face: %d", code)
	}
}
