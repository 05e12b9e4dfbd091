package main

import (
	"fmt"
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
