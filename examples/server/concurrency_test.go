package main

import (
	"fmt"
	"html"
	"net/url"
	"sync"
	"testing"
)

// TestConcurrentCreatesAcrossFaces: the same email created at once through
// both faces exists once; every loser gets its face's conflict answer.
func TestConcurrentCreatesAcrossFaces(t *testing.T) {
	hx := newHarness(t, "memory:")
	const n = 16
	count := func() string {
		return hx.do("GET", "/api/1/profile/count.json?accessTokenId="+hx.appToken+"&tenantName="+hx.org, "", nil).Body.String()
	}
	base := count()
	var start int
	if _, err := fmt.Sscan(base, &start); err != nil {
		t.Fatalf("count: %q", base)
	}
	for round := range 3 {
		email := fmt.Sprintf("race%d@acme.test", round)
		codes := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i%2 == 0 {
					codes[i] = hx.do("POST", "/api/v2/org/"+hx.org+"/users", "application/json",
						[]byte(`{"profile":{"email":"`+email+`"}}`), "Authorization", "Bearer "+hx.mgmt).Code
				} else {
					codes[i] = hx.do("POST", "/api/1/profile/create.json?accessTokenId="+hx.appToken, "application/x-www-form-urlencoded",
						[]byte(url.Values{"tenantName": {hx.org}, "username": {email}, "email": {email}, "enabled": {"true"}}.Encode())).Code
				}
			}()
		}
		wg.Wait()
		ok := 0
		for i, c := range codes {
			switch {
			case c == 200 || c == 201:
				ok++
			case c != 409:
				t.Errorf("round %d, request %d: %d", round, i, c)
			}
		}
		if ok != 1 {
			t.Errorf("round %d: %d creations succeeded (%v)", round, ok, codes)
		}
		if got, want := count(), fmt.Sprint(start+round+1); got != want {
			t.Errorf("round %d: %s profiles, want %s", round, got, want)
		}
	}
}

// TestLockoutIsSharedAcrossFaces: wrong passwords on the Crafter face lock
// the account on the hosted login page too (one counter per user).
func TestLockoutIsSharedAcrossFaces(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes a dozen passwords with failure delays")
	}
	hx := newHarness(t, "memory:")
	authz := "/t/" + hx.org + "/authorize?" + url.Values{"response_type": {"code"}, "client_id": {hx.spaID},
		"redirect_uri": {"https://spa.acme.test/cb"}, "scope": {"openid email"}, "state": {"s"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}.Encode()
	hosted := func(pw string) (int, string) {
		page := hx.do("GET", authz, "", nil)
		csrf, req := fuzzCSRF.FindStringSubmatch(page.Body.String()), fuzzRequest.FindStringSubmatch(page.Body.String())
		if csrf == nil || req == nil {
			t.Fatalf("login page: %d", page.Code)
		}
		cookie := ""
		for _, ck := range page.Result().Cookies() {
			cookie += ck.Name + "=" + ck.Value + "; "
		}
		w := hx.do("POST", "/t/"+hx.org+"/login", "application/x-www-form-urlencoded", []byte(url.Values{"csrf_token": {csrf[1]},
			"request": {html.UnescapeString(req[1])}, "action": {"password"}, "email": {"bob@acme.test"}, "password": {pw}}.Encode()),
			"Cookie", cookie)
		return w.Code, w.Header().Get("Location")
	}
	crafter := func(pw string) int {
		return hx.do("POST", "/api/1/authentication/authenticate.json?accessTokenId="+hx.appToken, "application/x-www-form-urlencoded",
			[]byte(url.Values{"tenantName": {hx.org}, "username": {"bob"}, "password": {pw}}.Encode())).Code
	}
	for range 11 {
		if c := crafter("wrong password"); c != 401 && c != 403 {
			t.Fatalf("wrong password: %d", c)
		}
	}
	if c := crafter(bobPassword); c != 403 {
		t.Fatalf("Crafter face after the lock: %d", c)
	}
	if c, loc := hosted(bobPassword); c < 400 || loc != "" {
		t.Fatalf("hosted login after the Crafter face locked the account: %d %s", c, loc)
	}
}
