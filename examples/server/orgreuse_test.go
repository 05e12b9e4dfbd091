package main

import (
	"context"
	"net/url"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestCredentialsDoNotOutliveTheirOrganization (the attacker's test): a
// Crafter access token and a Cryptr API key granted over an organization
// lose it when the organization is deleted, so they reach nothing of a
// new organization that takes the same domain later; what else they were
// granted stays.
func TestCredentialsDoNotOutliveTheirOrganization(t *testing.T) {
	hx := newHarness(t, "memory:")
	bearer := []string{"Authorization", "Bearer " + hx.mgmt}
	prod := hx.a.envs[identity.Production]
	ctx := context.Background()
	hx.must(201, "POST", "/api/v2/organizations", "application/json", `{"name":"Orgd"}`, bearer...)
	const oldToken = "CrafterD-old-0123456789abcdef"
	if _, _, err := prod.CreateCredential(ctx, identity.Credential{ID: "crafter-d", Name: "appD",
		TenantPermissions: []identity.TenantPermission{{Tenant: "orgd", AllowedActions: []string{"*"}}, {Tenant: hx.org, AllowedActions: []string{"READ_TENANT"}}}}, oldToken); err != nil {
		t.Fatal(err)
	}
	if _, _, err := prod.CreateCredential(ctx, identity.Credential{ID: "key-d", ManagedOrgs: []string{"orgd", hx.org},
		Permissions: []string{"*"}}, "key-d-secret-0123456789abcdef"); err != nil {
		t.Fatal(err)
	}
	if w := hx.do("POST", "/api/1/tenant/orgd/delete.json?accessTokenId="+hMasterSecret, "application/x-www-form-urlencoded", nil); w.Code != 200 {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	hx.must(201, "POST", "/api/v2/organizations", "application/json", `{"name":"Orgd"}`, bearer...)

	w := hx.do("POST", "/api/1/profile/create.json", "application/x-www-form-urlencoded", []byte(url.Values{
		"accessTokenId": {oldToken}, "tenantName": {"orgd"}, "username": {"z"}, "password": {"Zzzzzzzz-12345678"},
		"email": {"z@d.test"}, "enabled": {"true"}}.Encode()))
	if w.Code == 200 {
		t.Fatalf("the deleted organization's token created a profile in its successor: %s", w.Body)
	}
	c, err := prod.GetCredential(ctx, "key-d")
	if err != nil || !slices.Equal(c.ManagedOrgs, []string{hx.org}) {
		t.Fatalf("key after the deletion: %+v, %v", c, err)
	}
	d, err := prod.GetCredential(ctx, "crafter-d")
	if err != nil || len(d.TenantPermissions) != 1 || d.TenantPermissions[0].Tenant != hx.org {
		t.Fatalf("access token after the deletion: %+v, %v", d, err)
	}
	tok := hx.must(200, "POST", "/api/v2/oauth/token", "application/x-www-form-urlencoded",
		url.Values{"grant_type": {"client_credentials"}, "client_id": {"key-d"}, "client_secret": {"key-d-secret-0123456789abcdef"}}.Encode())["access_token"].(string)
	if w := hx.do("GET", "/api/v2/org/orgd/users", "", nil, "Authorization", "Bearer "+tok); w.Code != 404 {
		t.Fatalf("the key reads the successor's users: %d %s", w.Code, w.Body)
	}
	if w := hx.do("GET", "/api/v2/org/"+hx.org+"/users", "", nil, "Authorization", "Bearer "+tok); w.Code != 200 {
		t.Fatalf("the key lost its other organization: %d %s", w.Code, w.Body)
	}
}
