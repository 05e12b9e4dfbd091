package main

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestCredentialsDoNotOutliveTheirOrganization (the attacker's test): a
// Crafter access token, a Cryptr API key, an application of another
// organization and a console member granted over an organization lose it
// when the organization is deleted, so they reach nothing of a new
// organization that takes the same domain later; what else they were
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
	// An application of hx.org serving orgd and hx.org, one scoped to
	// orgd, and console members limited to orgd (and hx.org).
	appIDs := map[string]*identity.Application{}
	for _, name := range []string{"served", "scoped"} {
		a, _, err := prod.CreateApplication(ctx, hx.org, identity.Application{Name: name, ApplicationType: identity.AppMachine})
		if err != nil {
			t.Fatal(err)
		}
		appIDs[name] = a
	}
	if err := prod.Update(ctx, func(tx *identity.Txn) error {
		for name, a := range appIDs {
			n := *a
			if name == "served" {
				n.ServedOrgs = []string{"orgd", hx.org}
			} else {
				n.OrganizationScope = "orgd"
			}
			if err := tx.PutApp(a, &n); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	account := prod.AccountDomain()
	if w := hx.do("GET", "/api/v2/organizations/"+account, "", nil, bearer...); w.Code == 404 {
		hx.must(201, "POST", "/api/v2/organizations", "application/json", `{"name":"`+account+`"}`, bearer...)
	}
	members := map[string][]string{"only-d@acme.test": {"orgd"}, "both@acme.test": {"orgd", hx.org}}
	memberIDs := map[string]string{}
	for email, orgs := range members {
		u, err := prod.CreateUser(ctx, account, identity.User{Email: email, Enabled: true}, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := prod.PutConsoleMember(ctx, identity.ConsoleMember{UserID: u.ID, Role: identity.ConsoleAdmin, Orgs: orgs}); err != nil {
			t.Fatal(err)
		}
		memberIDs[email] = u.ID
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
	for name, a := range appIDs {
		if _, err := prod.ApplicationFor(ctx, a.ClientID, "orgd"); !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("application %s serves the successor: %v", name, err)
		}
	}
	if _, err := prod.ApplicationFor(ctx, appIDs["served"].ClientID, hx.org); err != nil {
		t.Errorf("the served application lost its other organization: %v", err)
	}
	if _, err := prod.ConsoleMember(ctx, memberIDs["only-d@acme.test"]); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("a member limited to the deleted organization kept a role (an empty list is every organization): %v", err)
	}
	if m, err := prod.ConsoleMember(ctx, memberIDs["both@acme.test"]); err != nil || !slices.Equal(m.Orgs, []string{hx.org}) {
		t.Errorf("member limited to both: %+v %v", m, err)
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
