package main

import (
	"bytes"
	"fmt"
	"html"
	"net/http/httptest"
	"net/url"
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
