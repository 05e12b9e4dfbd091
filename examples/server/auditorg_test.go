package main

import (
	"net/url"
	"testing"
)

// TestClientCredentialsTokenLoggedAtItsIssuer: an account-wide machine
// application of acme that serves every organization gets a
// client_credentials token at beta's issuer; the TOKEN_ISSUED event is in
// the log of the organization whose issuer minted the token (naming the
// application by client_id), not in the application's own organization's
// log, and a key limited to the other organization does not read it.
func TestClientCredentialsTokenLoggedAtItsIssuer(t *testing.T) {
	hx := newHarness(t, "memory:")
	bearer := []string{"Authorization", "Bearer " + hx.mgmt}
	beta := hx.must(201, "POST", "/api/v2/organizations", "application/json", `{"name":"Beta"}`, bearer...)["domain"].(string)
	m2m := hx.must(201, "POST", "/api/v2/org/"+hx.org+"/applications", "application/json",
		`{"name":"m2m","application_type":"machine"}`, bearer...)
	id, secret := m2m["client_id"].(string), m2m["client_secret"].(string)
	acmeKey := hx.apiKey("acme-reader", []string{hx.org}, "read_many:log_events")
	betaKey := hx.apiKey("beta-reader", []string{beta}, "read_many:log_events")

	cases := []struct {
		name, issuer, other string
		issuerKey, otherKey string
	}{
		{"at its own organization's issuer", hx.org, beta, acmeKey, betaKey},
		{"at another organization's issuer", beta, hx.org, betaKey, acmeKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(hx.logEvents(hx.mgmt, c.other, "TOKEN_ISSUED"))
			hx.must(200, "POST", "/t/"+c.issuer+"/oauth/token", "application/x-www-form-urlencoded",
				url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}.Encode())
			evs := hx.logEvents(c.issuerKey, c.issuer, "TOKEN_ISSUED")
			if len(evs) == 0 {
				t.Fatalf("no TOKEN_ISSUED in %s's log", c.issuer)
			}
			e := evs[0]
			if e.ClientID == nil || *e.ClientID != id || e.TenantDomain != c.issuer || e.Data["grant_type"] != "client_credentials" {
				t.Errorf("%s's TOKEN_ISSUED = %+v, want client %s, tenant_domain %s", c.issuer, e, id, c.issuer)
			}
			if after := len(hx.logEvents(hx.mgmt, c.other, "TOKEN_ISSUED")); after != before {
				t.Errorf("%s's log got the token minted at %s's issuer (%d events, was %d)", c.other, c.issuer, after, before)
			}
			if w := hx.do("GET", "/api/v2/org/"+c.issuer+"/log-events", "", nil, "Authorization", "Bearer "+c.otherKey); w.Code != 404 {
				t.Errorf("%s's key reads %s's log: %d", c.other, c.issuer, w.Code)
			}
		})
	}
}
