package main

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestOrganizationDeletionStaysReadable: deleting an organization takes
// its log out of reach (its domain no longer names it), so its
// ORGANIZATION_DELETED event is also listed in the account organization's
// log, with the organization's domain and the credential that deleted
// it; a key
// of another organization reads none of it.
func TestOrganizationDeletionStaysReadable(t *testing.T) {
	hx := newHarness(t, "memory:")
	bearer := []string{"Authorization", "Bearer " + hx.mgmt}
	account := hx.a.envs[identity.Production].AccountDomain()
	if w := hx.do("GET", "/api/v2/organizations/"+account, "", nil, bearer...); w.Code == 404 {
		hx.must(201, "POST", "/api/v2/organizations", "application/json", `{"name":"`+account+`"}`, bearer...)
	}
	gone := hx.must(201, "POST", "/api/v2/organizations", "application/json", `{"name":"Short Lived"}`, bearer...)["domain"].(string)
	beta := hx.must(201, "POST", "/api/v2/organizations", "application/json", `{"name":"Beta"}`, bearer...)["domain"].(string)
	betaKey := hx.apiKey("beta-key", []string{beta}, "read_many:log_events")
	// Organizations are deleted as Crafter tenants (with the master
	// access token: the master key's secret).
	if w := hx.do("POST", "/api/1/tenant/"+gone+"/delete.json?accessTokenId="+hMasterSecret, "application/x-www-form-urlencoded", nil); w.Code != 200 {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	evs := hx.logEvents(hx.mgmt, account, identity.EventOrganizationDeleted)
	if len(evs) != 1 || evs[0].TenantDomain != gone || evs[0].Actor == nil || evs[0].Actor.Kind != "access_token" {
		t.Fatalf("the account's log lists %+v, want one deletion of %s by an access token", evs, gone)
	}
	if evs := hx.logEvents(betaKey, beta, identity.EventOrganizationDeleted); len(evs) != 0 {
		t.Fatalf("beta's log lists %+v", evs)
	}
	if w := hx.do("GET", "/api/v2/org/"+account+"/log-events", "", nil, "Authorization", "Bearer "+betaKey); w.Code != 404 {
		t.Fatalf("beta's key reads the account's log: %d", w.Code)
	}
}
