package profile

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestCredentialForScopes: the access token a scoped identity service
// stands for is authorized by this service's own checks: a console
// viewer reads a tenant and is refused every write; an admin limited to
// one organization changes its tenant and is refused another's (and
// tenants named by an encoded domain); only an owner over every
// organization manages access tokens; refusals change nothing.
func TestCredentialForScopes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	master, err := e.svc.Authorize(ctx, e.master)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"alpha", "beta", "my_site"} {
		if _, err := e.svc.CreateTenant(ctx, master, TenantInput{Name: n, AvailableRoles: []string{"USER"}}); err != nil {
			t.Fatal(err)
		}
	}
	scoped := func(role identity.ConsoleRole, env identity.Environment, orgs ...string) *identity.Credential {
		m := identity.ConsoleMember{Role: role, Orgs: orgs}
		s, err := e.id.For(m.Scope(env))
		if err != nil {
			t.Fatal(err)
		}
		return e.svc.CredentialFor(s)
	}
	code := func(err error) string {
		var ae *Error
		if errors.As(err, &ae) {
			return ae.Code
		}
		if err != nil {
			return err.Error()
		}
		return ""
	}
	writes := func(c *identity.Credential, tenant string) map[string]error {
		_, e1 := e.svc.AddRoles(ctx, c, tenant, []string{"NEW"})
		_, e2 := e.svc.RemoveRoles(ctx, c, tenant, []string{"USER"})
		_, e3 := e.svc.VerifyNewProfiles(ctx, c, tenant, true)
		_, e4 := e.svc.AddAttributeDefinitions(ctx, c, tenant, []AttributeDefinition{{Name: "plan"}})
		_, e5 := e.svc.RemoveAttributeDefinitions(ctx, c, tenant, []string{"plan"})
		_, e6 := e.svc.UpdateTenant(ctx, c, TenantInput{Name: tenant})
		return map[string]error{"AddRoles": e1, "RemoveRoles": e2, "VerifyNewProfiles": e3,
			"AddAttributeDefinitions": e4, "RemoveAttributeDefinitions": e5, "UpdateTenant": e6}
	}
	snapshot := func() string {
		var s string
		for _, n := range []string{"alpha", "beta", "my_site"} {
			tn, err := e.svc.GetTenant(ctx, master, n)
			if err != nil {
				t.Fatal(err)
			}
			s += n + ":" + tn.Name
			for _, r := range tn.AvailableRoles {
				s += "," + r
			}
			for _, d := range tn.AttributeDefinitions {
				s += ",def " + d.Name
			}
			if tn.VerifyNewProfiles {
				s += ",verify"
			}
			s += "\n"
		}
		return s
	}
	before := snapshot()

	viewer := scoped(identity.ConsoleViewer, identity.Production)
	if viewer.Master || viewer.Environment != identity.Production {
		t.Errorf("viewer credential = %+v", viewer)
	}
	if _, err := e.svc.GetTenant(ctx, viewer, "alpha"); err != nil {
		t.Errorf("viewer reads a tenant: %v", err)
	}
	for op, err := range writes(viewer, "alpha") {
		if code(err) != CodeActionDenied {
			t.Errorf("viewer %s: %v", op, err)
		}
	}
	limited := scoped(identity.ConsoleAdmin, identity.Production, "alpha", tenantDomainOf(t, "my_site"))
	for _, n := range []string{"beta"} {
		if _, err := e.svc.GetTenant(ctx, limited, n); code(err) != CodeActionDenied {
			t.Errorf("limited admin reads %s: %v", n, err)
		}
		for op, err := range writes(limited, n) {
			if code(err) != CodeActionDenied {
				t.Errorf("limited admin %s on %s: %v", op, n, err)
			}
		}
	}
	if _, err := e.svc.CreateTenant(ctx, limited, TenantInput{Name: "gamma"}); code(err) != CodeActionDenied {
		t.Errorf("limited admin creates a tenant: %v", err)
	}
	for _, c := range []*identity.Credential{viewer, limited, scoped(identity.ConsoleAdmin, identity.Production),
		scoped(identity.ConsoleOwner, identity.Production, "alpha")} {
		if _, err := e.svc.AllAccessTokens(ctx, c); code(err) != CodeActionDenied {
			t.Errorf("%+v lists access tokens: %v", c, err)
		}
		if _, err := e.svc.CreateAccessToken(ctx, c, AccessToken{Application: "x"}); code(err) != CodeActionDenied {
			t.Errorf("%+v creates an access token: %v", c, err)
		}
	}
	if after := snapshot(); after != before {
		t.Fatalf("refused calls changed tenants:\n%s\n%s", before, after)
	}

	// The checks can pass: the limited admin changes its own tenants.
	for _, n := range []string{"alpha", "my_site"} {
		if tn, err := e.svc.AddRoles(ctx, limited, n, []string{"NEW"}); err != nil || len(tn.AvailableRoles) != 2 {
			t.Errorf("limited admin adds a role to %s: %+v %v", n, tn, err)
		}
	}
	owner := scoped(identity.ConsoleOwner, identity.Sandbox)
	if !owner.Master || owner.Environment != identity.Sandbox {
		t.Fatalf("owner credential = %+v", owner)
	}
	tok, err := e.svc.CreateAccessToken(ctx, owner, AccessToken{Application: "studio",
		TenantPermissions: []TenantPermission{{Tenant: "alpha", AllowedActions: []string{ActionReadTenant}}}})
	if err != nil || tok.CredentialID == "" {
		t.Fatalf("owner creates a token: %+v %v", tok, err)
	}
	if list, err := e.svc.AllAccessTokens(ctx, owner); err != nil || len(list) != 1 || list[0].CredentialID != tok.CredentialID {
		t.Fatalf("sandbox tokens = %+v %v", list, err)
	}
	// Production's owner does not see, nor revoke, the sandbox token.
	prodOwner := scoped(identity.ConsoleOwner, identity.Production)
	if err := e.svc.RevokeAccessToken(ctx, prodOwner, tok.CredentialID); code(err) != CodeNoSuchAccessToken {
		t.Errorf("revoke from the other environment: %v", err)
	}
	if err := e.svc.RevokeAccessToken(ctx, viewer, tok.CredentialID); code(err) != CodeActionDenied {
		t.Errorf("viewer revokes: %v", err)
	}
	// A Cryptr API key (no kept secret) is no access token.
	key, _, err := e.id.CreateCredential(ctx, identity.Credential{Name: "k", Permissions: []string{"*"},
		ManagedOrgs: []string{"*"}, Environment: identity.Sandbox}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RevokeAccessToken(ctx, owner, key.ID); code(err) != CodeNoSuchAccessToken {
		t.Errorf("revoke an API key as a token: %v", err)
	}
	if err := e.svc.RevokeAccessToken(ctx, owner, tok.CredentialID); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if _, err := e.svc.Authorize(ctx, tok.ID); code(err) != CodeAccessDenied {
		t.Errorf("the revoked token still works: %v", err)
	}
	if err := e.svc.RevokeAccessToken(ctx, owner, tok.CredentialID); ErrorOf(err).Status != http.StatusNotFound {
		t.Errorf("revoke twice: %v", err)
	}
}

// tenantDomainOf is TenantDomain that fails the test for a bad name.
func tenantDomainOf(t *testing.T, name string) string {
	t.Helper()
	d, ok := TenantDomain(name)
	if !ok {
		t.Fatalf("tenant name %q", name)
	}
	return d
}

// TestFieldOfBadInput: a 400 about one input names it.
func TestFieldOfBadInput(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	master, _ := e.svc.Authorize(ctx, e.master)
	if _, err := e.svc.CreateTenant(ctx, master, TenantInput{Name: "alpha"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		err   error
		field string
	}{
		{second(e.svc.AddRoles(ctx, master, "alpha", []string{""})), "roles"},
		{second(e.svc.AddAttributeDefinitions(ctx, master, "alpha", []AttributeDefinition{{Name: "a.b"}})), "name"},
		{second(e.svc.AddAttributeDefinitions(ctx, master, "alpha", []AttributeDefinition{{Name: "$x"}})), "name"},
		{second(e.svc.AddAttributeDefinitions(ctx, master, "alpha", []AttributeDefinition{{Name: "big",
			DefaultValue: string(make([]byte, 70<<10))}})), "defaultValue"},
	} {
		var ae *Error
		if !errors.As(c.err, &ae) || ae.Status != http.StatusBadRequest || ae.Field != c.field {
			t.Errorf("%v: want a 400 about %s", c.err, c.field)
		}
	}
}

func second[T any](_ T, err error) error { return err }
