package main

import (
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestFailedAPIKeyAuthenticationsReadable: a refused API-key
// authentication is API_KEY_AUTHENTICATION_FAILED in the log of the
// account's organization, which the account reads through
// GET …/log-events with a key over every organization, and, for a key
// that exists, in the logs of the organizations the key reaches; another
// organization's key reads none of them. An anonymous flood of bad keys
// writes a bounded number of events, and those written account for every
// attempt (data.suppressed).
func TestFailedAPIKeyAuthenticationsReadable(t *testing.T) {
	hx := newHarness(t, "memory:")
	bearer := []string{"Authorization", "Bearer " + hx.mgmt}
	account := hx.a.envs[identity.Production].AccountDomain()
	if w := hx.do("GET", "/api/v2/organizations/"+account, "", nil, bearer...); w.Code == 404 {
		hx.must(201, "POST", "/api/v2/organizations", "application/json", `{"name":"`+account+`"}`, bearer...)
	}
	beta := hx.must(201, "POST", "/api/v2/organizations", "application/json", `{"name":"Beta"}`, bearer...)["domain"].(string)
	hx.apiKey("acme-key", []string{hx.org}, "read_many:log_events")
	betaKey := hx.apiKey("beta-key", []string{beta}, "read_many:log_events")
	attempts := 0
	refuse := func(id, secret string) {
		t.Helper()
		attempts++
		w := hx.do("POST", "/api/v2/oauth/token", "application/x-www-form-urlencoded",
			[]byte(url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}.Encode()))
		if w.Code != 401 {
			t.Fatalf("bad credentials for %s: %d %s", id, w.Code, w.Body)
		}
	}

	cases := []struct {
		name, id, secret, reason string
		logs                     []string // organizations whose log lists the event
	}{
		{"unknown client_id", "no-such-key", "whatever-secret-0123456789", "unknown", []string{account}},
		{"known key, wrong secret", "acme-key", "wrong-secret-0123456789abcdef", "bad_credentials", []string{account, hx.org}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			refuse(c.id, c.secret)
			for _, domain := range c.logs {
				evs := hx.logEvents(hx.mgmt, domain, identity.EventAPIKeyAuthFailed)
				if len(evs) == 0 {
					t.Fatalf("no %s in %s's log", identity.EventAPIKeyAuthFailed, domain)
				}
				e := evs[0]
				if e.Actor == nil || *e.Actor != (auditActor{c.id, "api_key"}) || e.Data["reason"] != c.reason {
					t.Errorf("%s's event = %+v, want actor %s and reason %s", domain, e, c.id, c.reason)
				}
				if e.Actor != nil && e.Actor.ID == c.secret {
					t.Errorf("%s's event names the secret", domain)
				}
			}
			// Isolation: beta's key reads neither log, and beta's own
			// log has no failure.
			for _, domain := range c.logs {
				if w := hx.do("GET", "/api/v2/org/"+domain+"/log-events", "", nil, "Authorization", "Bearer "+betaKey); w.Code != 404 {
					t.Errorf("beta's key reads %s's log: %d", domain, w.Code)
				}
			}
			if evs := hx.logEvents(betaKey, beta, identity.EventAPIKeyAuthFailed); len(evs) != 0 {
				t.Errorf("beta's log lists other keys' failures: %+v", evs)
			}
		})
	}

	// A flood: at most the budget is written; after a pause, the next
	// event carries the count of those left out.
	start := time.Now()
	for range 100 {
		refuse("flood-key", "flood-secret-0123456789abcdef")
	}
	elapsed := time.Since(start)
	time.Sleep(300 * time.Millisecond)
	refuse("flood-key", "flood-secret-0123456789abcdef")
	evs := hx.logEvents(hx.mgmt, account, identity.EventAPIKeyAuthFailed)
	bound := identity.CredentialFailureEventBurst + int(elapsed.Seconds()*identity.CredentialFailureEventRate) + 2
	if len(evs) > bound {
		t.Errorf("%d attempts wrote %d events, more than the budget %d", attempts, len(evs), bound)
	}
	counted := 0
	for _, e := range evs {
		n, _ := e.Data["suppressed"].(float64)
		counted += 1 + int(n)
	}
	if counted != attempts {
		t.Errorf("the events account for %d attempts, want %d", counted, attempts)
	}
	if len(evs) == 0 {
		t.Fatal("no failure in the account's log")
	}
	if n, _ := evs[0].Data["suppressed"].(float64); n == 0 {
		t.Errorf("the event after the flood does not count the suppressed ones: %+v", evs[0])
	}
}
