package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// doFrom is harness.do from the client address remote (the hosted page
// limits attempts per address).
func (hx *harness) doFrom(remote, method, target, ct string, body []byte, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "http://gatehouse.test"+target, bytes.NewReader(body))
	r.RemoteAddr = remote + ":1234"
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	hx.h.ServeHTTP(w, r)
	return w
}

// hostedPassword submits the hosted login page's password form as a new
// browser and returns the status and redirect.
func (hx *harness) hostedPassword(email, pw string) (int, string) {
	return hx.hostedPasswordFrom("192.0.2.1", email, pw)
}

// hostedPasswordFrom is hostedPassword from the client address remote.
func (hx *harness) hostedPasswordFrom(remote, email, pw string) (int, string) {
	hx.t.Helper()
	authz := "/t/" + hx.org + "/authorize?" + url.Values{"response_type": {"code"}, "client_id": {hx.spaID},
		"redirect_uri": {"https://spa.acme.test/cb"}, "scope": {"openid email"}, "state": {"s"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}.Encode()
	page := hx.doFrom(remote, "GET", authz, "", nil)
	csrf, req := fuzzCSRF.FindStringSubmatch(page.Body.String()), fuzzRequest.FindStringSubmatch(page.Body.String())
	if csrf == nil || req == nil {
		hx.t.Fatalf("login page: %d", page.Code)
	}
	cookie := ""
	for _, ck := range page.Result().Cookies() {
		cookie += ck.Name + "=" + ck.Value + "; "
	}
	w := hx.doFrom(remote, "POST", "/t/"+hx.org+"/login", "application/x-www-form-urlencoded", []byte(url.Values{"csrf_token": {csrf[1]},
		"request": {html.UnescapeString(req[1])}, "action": {"password"}, "email": {email}, "password": {pw}}.Encode()),
		"Cookie", cookie)
	return w.Code, w.Header().Get("Location")
}

// crafterAuthenticate is Crafter's authenticate for a username.
func (hx *harness) crafterAuthenticate(username, pw string) int {
	return hx.do("POST", "/api/1/authentication/authenticate.json?accessTokenId="+hx.appToken, "application/x-www-form-urlencoded",
		[]byte(url.Values{"tenantName": {hx.org}, "username": {username}, "password": {pw}}.Encode())).Code
}

// TestBothFacesLockAtTheSameCount guards breach 6: the hosted password
// page and Crafter's authenticate apply one lockout policy to one
// counter, so LockAfter-1 failures on one face and one on the other lock
// the account in both; and on the hosted page an unknown address, or an
// account without a password, locks at the same count as an existing one
// (before, only existing accounts with a password ever locked, so ten
// guesses told whether an account existed).
func TestBothFacesLockAtTheSameCount(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes a dozen passwords per case")
	}
	n := identity.DefaultLockAfter
	t.Run("hosted then Crafter", func(t *testing.T) {
		hx := newHarness(t, "memory:")
		for i := 1; i < n; i++ {
			if c, _ := hx.hostedPassword("bob@acme.test", "wrong"); c != 401 {
				t.Fatalf("hosted failure %d: %d", i, c)
			}
		}
		if c := hx.crafterAuthenticate("bob", "wrong"); c != 401 {
			t.Fatalf("Crafter failure %d: %d", n, c)
		}
		if c := hx.crafterAuthenticate("bob", bobPassword); c != 403 {
			t.Fatalf("Crafter face, right password after %d failures: %d, want 403 locked", n, c)
		}
		if c, loc := hx.hostedPassword("bob@acme.test", bobPassword); c != 403 || loc != "" {
			t.Fatalf("hosted page, right password after %d failures: %d %s, want 403 locked", n, c, loc)
		}
	})
	t.Run("Crafter then hosted", func(t *testing.T) {
		hx := newHarness(t, "memory:")
		for i := 1; i < n; i++ {
			if c := hx.crafterAuthenticate("bob", "wrong"); c != 401 {
				t.Fatalf("Crafter failure %d: %d", i, c)
			}
		}
		if c, _ := hx.hostedPassword("bob@acme.test", "wrong"); c != 401 {
			t.Fatalf("hosted failure %d: %d", n, c)
		}
		if c, _ := hx.hostedPassword("bob@acme.test", bobPassword); c != 403 {
			t.Fatalf("hosted page after %d failures: %d, want 403", n, c)
		}
		if c := hx.crafterAuthenticate("bob", bobPassword); c != 403 {
			t.Fatalf("Crafter face after %d failures: %d, want 403", n, c)
		}
	})
	t.Run("unknown and password-less accounts lock alike on the hosted page", func(t *testing.T) {
		hx := newHarness(t, "memory:")
		for k, email := range []string{"bob@acme.test", "nobody@acme.test", "jane@acme.test"} {
			var got []int
			for i := 0; i <= n; i++ {
				c, _ := hx.hostedPasswordFrom(fmt.Sprintf("192.0.2.%d", 10+k), email, "wrong")
				got = append(got, c)
			}
			for i, c := range got {
				want := 401
				if i == n {
					want = 403
				}
				if c != want {
					t.Fatalf("%s: answers %v, want %d×401 then 403", email, got, n)
				}
			}
		}
	})
}

// browserSignIn signs bob in with his password on the hosted page as a
// browser keeping its cookies; it returns the Cookie header and the code.
func (hx *harness) browserSignIn(pw, challenge string) (cookie, code string) {
	hx.t.Helper()
	jar := map[string]string{}
	keep := func(w *httptest.ResponseRecorder) {
		for _, ck := range w.Result().Cookies() {
			jar[ck.Name] = ck.Value
		}
	}
	header := func() string {
		h := ""
		for k, v := range jar {
			h += k + "=" + v + "; "
		}
		return h
	}
	authz := "/t/" + hx.org + "/authorize?" + url.Values{"response_type": {"code"}, "client_id": {hx.spaID},
		"redirect_uri": {"https://spa.acme.test/cb"}, "scope": {"openid email"}, "state": {"s"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}.Encode()
	page := hx.do("GET", authz, "", nil)
	keep(page)
	csrf, req := fuzzCSRF.FindStringSubmatch(page.Body.String()), fuzzRequest.FindStringSubmatch(page.Body.String())
	if csrf == nil || req == nil {
		hx.t.Fatalf("login page: %d", page.Code)
	}
	w := hx.do("POST", "/t/"+hx.org+"/login", "application/x-www-form-urlencoded", []byte(url.Values{"csrf_token": {csrf[1]},
		"request": {html.UnescapeString(req[1])}, "action": {"password"}, "email": {"bob@acme.test"}, "password": {pw}}.Encode()),
		"Cookie", header())
	keep(w)
	loc, err := url.Parse(w.Header().Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		hx.t.Fatalf("password sign-in: %d %s", w.Code, w.Header().Get("Location"))
	}
	return header(), loc.Query().Get("code")
}

// TestCrafterResetEndsEverySession guards breach 4: after Crafter's
// reset_password + change_password (the recovery path), the attacker who
// knew the old password loses every session: the OIDC refresh token is
// refused, prompt=none needs a new sign-in, and the Crafter ticket and
// persistent login are gone.
func TestCrafterResetEndsEverySession(t *testing.T) {
	hx := newHarness(t, "memory:")
	// The attacker signs in on the hosted page and through Crafter.
	verifier, challenge := pkcePair("attacker")
	cookie, code := hx.browserSignIn(bobPassword, challenge)
	tr := hx.must(200, "POST", "/t/"+hx.org+"/oauth/token", "application/x-www-form-urlencoded", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}, "client_id": {hx.spaID},
		"redirect_uri": {"https://spa.acme.test/cb"}}.Encode())
	refresh, _ := tr["refresh_token"].(string)
	if refresh == "" {
		t.Fatalf("no refresh token: %v", tr)
	}
	crafter := func(method, path string, v url.Values) *httptest.ResponseRecorder {
		v.Set("accessTokenId", hx.appToken)
		if method == "GET" {
			return hx.do("GET", "/api/1/"+path+"?"+v.Encode(), "", nil)
		}
		return hx.do("POST", "/api/1/"+path, "application/x-www-form-urlencoded", []byte(v.Encode()))
	}
	var tk, pl struct {
		ID string `json:"id"`
	}
	for _, x := range []struct {
		path string
		v    url.Values
		out  any
	}{
		{"authentication/authenticate.json", url.Values{"tenantName": {hx.org}, "username": {"bob"}, "password": {bobPassword}}, &tk},
		{"authentication/persistent_login/create", url.Values{"profileId": {hx.profile}}, &pl},
	} {
		w := crafter("POST", x.path, x.v)
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), x.out) != nil {
			t.Fatalf("%s: %d %s", x.path, w.Code, w.Body)
		}
	}
	// The owner recovers the account.
	if w := crafter("POST", "profile/"+hx.profile+"/reset_password", url.Values{"resetPasswordUrl": {"https://app.acme.test/reset"}}); w.Code != 200 {
		t.Fatalf("reset_password: %d %s", w.Code, w.Body)
	}
	m := regexp.MustCompile(`tokenId=([A-Za-z0-9_-]{43})`).FindStringSubmatch(waitMail(t, hx.mailDir, "bob@acme.test", map[string]bool{}))
	if m == nil {
		t.Fatal("no reset link in the mail")
	}
	if w := crafter("POST", "profile/change_password", url.Values{"resetTokenId": {m[1]}, "newPassword": {"a brand new passphrase"}}); w.Code != 200 {
		t.Fatalf("change_password: %d %s", w.Code, w.Body)
	}
	// Every session of the attacker is gone.
	if w := hx.do("POST", "/t/"+hx.org+"/oauth/token", "application/x-www-form-urlencoded", []byte(url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {hx.spaID}}.Encode())); w.Code != 400 {
		t.Errorf("refresh after the reset: %d", w.Code)
	}
	authz := "/t/" + hx.org + "/authorize?" + url.Values{"response_type": {"code"}, "client_id": {hx.spaID},
		"redirect_uri": {"https://spa.acme.test/cb"}, "scope": {"openid email"}, "state": {"s"}, "prompt": {"none"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}.Encode()
	if loc, _ := url.Parse(hx.do("GET", authz, "", nil, "Cookie", cookie).Header().Get("Location")); loc == nil ||
		loc.Query().Get("error") != "login_required" {
		t.Errorf("prompt=none after the reset: %v", loc)
	}
	if w := crafter("GET", "authentication/ticket/"+tk.ID, url.Values{}); w.Code != 404 {
		t.Errorf("ticket after the reset: %d", w.Code)
	}
	if w := crafter("GET", "authentication/persistent_login/"+pl.ID, url.Values{}); w.Code != 404 {
		t.Errorf("persistent login after the reset: %d", w.Code)
	}
	// The owner signs in with the new password.
	if c := hx.crafterAuthenticate("bob", "a brand new passphrase"); c != 200 {
		t.Errorf("new password: %d", c)
	}
}
