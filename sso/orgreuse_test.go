package sso_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestConnectionDiesWithItsOrganization (the attacker's test): an SSO
// connection names its organization by id and domain; once the
// organization is deleted, the connection signs nobody in, not even into
// a new organization that takes the same domain (the old customer's IdP
// must not reach the new one's users), and the API does not show it.
func TestConnectionDiesWithItsOrganization(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	name, domains := "Dee Corp", []string{"dee.test"}
	dee, err := f.id.CreateOrganization(ctx, identity.OrganizationInput{Name: &name, AllowedEmailDomains: &domains})
	if err != nil {
		t.Fatal(err)
	}
	app, _, err := f.id.CreateApplication(ctx, dee.Domain, identity.Application{Name: "dee front", ApplicationType: identity.AppReact,
		AllowedRedirectURLs: []string{appURI}})
	if err != nil {
		t.Fatal(err)
	}
	out := f.json(f.do("POST", "/api/v2/sso-connections", f.token, map[string]any{
		"organization_id": dee.ID, "application_id": app.ClientID, "sso_admin_email": "it@dee.test"}), http.StatusCreated)
	idp := out["id"].(string)
	f.json(f.do("PUT", "/api/v2/sso-connections/"+idp, f.token, map[string]any{"metadata": f.idpMetadata(), "active": true}), http.StatusOK)
	f.session.NameID, f.session.UserEmail = "zed@dee.test", "zed@dee.test"

	// The connection works while its organization lives.
	b := f.browser()
	if resp := b.acs(idp, b.startLogin(idp, oauthQuery())); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in before the deletion: %d %s", resp.StatusCode, body(resp))
	}
	// Its application and users go, then the organization; a new one
	// takes the domain.
	if _, err := f.id.DeleteApplication(ctx, dee.Domain, app.ClientID); err != nil {
		t.Fatal(err)
	}
	if err := f.id.Update(ctx, func(tx *identity.Txn) error {
		page, err := f.id.ListUsers(ctx, dee.Domain, identity.PageRequest{PerPage: 100})
		if err != nil {
			return err
		}
		for _, u := range page.Items {
			if err := tx.DeleteUser(&u); err != nil {
				return err
			}
		}
		gone, err := tx.DeleteOrgIfEmpty(dee.ID)
		if err == nil && !gone {
			t.Fatal("organization not deleted")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	again, err := f.id.CreateOrganization(ctx, identity.OrganizationInput{Name: &name, AllowedEmailDomains: &domains})
	if err != nil || again.Domain != dee.Domain {
		t.Fatalf("successor %+v, %v", again, err)
	}
	users := f.userCountIn(again.Domain)

	b = f.browser()
	resp := b.get(baseURL + "/enterprise/" + idp + "/login?" + oauthQuery().Encode())
	for resp.StatusCode == http.StatusFound && strings.HasPrefix(resp.Header.Get("Location"), baseURL) {
		resp = b.get(resp.Header.Get("Location"))
	}
	if resp.StatusCode == http.StatusFound {
		resp = b.acs(idp, b.idpAnswer(resp.Header.Get("Location")))
	}
	if resp.StatusCode == http.StatusSeeOther || f.userCountIn(again.Domain) != users {
		t.Fatalf("the dead connection signed someone into the successor: %d", resp.StatusCode)
	}
	if rec := f.do("GET", "/api/v2/sso-connections/"+idp, f.token, nil); rec.Code != http.StatusNotFound {
		t.Fatalf("the API shows the dead connection: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do("GET", "/api/v2/sso-connections?per_page=100", f.token, nil); strings.Contains(rec.Body.String(), idp) {
		t.Fatalf("the list shows the dead connection: %s", rec.Body)
	}
	if rec := f.do("GET", "/enterprise/"+idp+"/metadata", "", nil); rec.Code != http.StatusNotFound {
		t.Fatalf("the dead connection's metadata: %d", rec.Code)
	}
}

// userCountIn is the number of users of the organization with domain.
func (f *fixture) userCountIn(domain string) int {
	f.t.Helper()
	page, err := f.id.ListUsers(f.t.(*testing.T).Context(), domain, identity.PageRequest{})
	if err != nil {
		f.t.Fatal(err)
	}
	return page.Total
}
