package identity_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// scopeFixture has three organizations (alpha, beta, gamma), an
// application of beta made by the unscoped service, and a way to scope
// services.
type scopeFixture struct {
	t       *testing.T
	s       *identity.Service
	betaApp *identity.Application
}

func newScopeFixture(t *testing.T) *scopeFixture {
	t.Helper()
	s, _ := newService(t)
	for _, n := range []string{"alpha", "beta", "gamma"} {
		mustOrg(t, s, n)
	}
	a, _, err := s.CreateApplication(context.Background(), "beta", identity.Application{Name: "beta web",
		ApplicationType: identity.AppRegularWeb, AllowedRedirectURLs: []string{"https://private.beta.test/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	return &scopeFixture{t: t, s: s, betaApp: a}
}

func (f *scopeFixture) scoped(env identity.Environment, perms []string, orgs ...string) *identity.Service {
	f.t.Helper()
	svc, err := f.s.For(identity.Scope{Environment: env, Orgs: orgs, Permissions: perms})
	if err != nil {
		f.t.Fatal(err)
	}
	return svc
}

// state is what an unscoped production reader sees of the organizations
// and applications: a refused call must leave it unchanged.
func (f *scopeFixture) state() any {
	f.t.Helper()
	ctx := context.Background()
	orgs, err := f.s.ListOrganizations(ctx, identity.PageRequest{PerPage: 100})
	if err != nil {
		f.t.Fatal(err)
	}
	out := []any{orgs}
	for _, d := range []string{"alpha", "beta", "gamma"} {
		apps, err := f.s.ListApplications(ctx, d, identity.PageRequest{PerPage: 100})
		if err != nil {
			f.t.Fatal(err)
		}
		out = append(out, apps)
	}
	return out
}

var all = []string{identity.PermAll}

// TestScopedServiceHidesOtherOrganizations: an organization outside the
// scope is not found, exactly as an unknown one, on every
// organization-addressed method; listing shows only the scope.
func TestScopedServiceHidesOtherOrganizations(t *testing.T) {
	f := newScopeFixture(t)
	ctx := context.Background()
	alpha := f.scoped(identity.Production, all, "alpha")
	for _, d := range []string{"beta", "nope"} {
		if _, err := alpha.GetOrganization(ctx, d); !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("GetOrganization(%s): %v", d, err)
		}
		if _, err := alpha.ListUsers(ctx, d, identity.PageRequest{}); !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("ListUsers(%s): %v", d, err)
		}
		if _, err := alpha.UpdateOrganization(ctx, d, identity.OrganizationInput{Name: ptr("x")}); !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("UpdateOrganization(%s): %v", d, err)
		}
		if _, _, err := alpha.CreateApplication(ctx, d, identity.Application{Name: "m", ApplicationType: identity.AppMachine}); !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("CreateApplication(%s): %v", d, err)
		}
	}
	// Ids of another organization's records answer as unknown ones.
	if _, err := alpha.ApplicationByClientID(ctx, f.betaApp.ClientID); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("ApplicationByClientID(beta's app): %v", err)
	}
	page, err := alpha.ListOrganizations(ctx, identity.PageRequest{})
	if err != nil || page.Total != 1 || len(page.Items) != 1 || page.Items[0].Domain != "alpha" {
		t.Errorf("ListOrganizations: %+v %v", page, err)
	}
	if _, err := alpha.For(identity.Scope{Environment: identity.Production, Orgs: []string{"*"}, Permissions: all}); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("widening a scoped service: %v", err)
	}
	if _, err := alpha.ForEnvironment(identity.Sandbox); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("moving a scoped service to the sandbox: %v", err)
	}
	// The unscoped service keeps full access.
	if _, err := f.s.GetOrganization(ctx, "beta"); err != nil {
		t.Errorf("unscoped: %v", err)
	}
}

// TestScopedAppServesOnlyTheScope (issue 10, breach 2a): an application
// made through a service scoped to alpha serves alpha only; one made by a
// scope over alpha and beta serves both; an unscoped one serves every
// organization of the account.
func TestScopedAppServesOnlyTheScope(t *testing.T) {
	f := newScopeFixture(t)
	ctx := context.Background()
	cases := []struct {
		name   string
		svc    *identity.Service
		serves map[string]bool
	}{
		{"alpha key", f.scoped(identity.Production, all, "alpha"), map[string]bool{"alpha": true}},
		{"alpha+beta key", f.scoped(identity.Production, all, "alpha", "beta"), map[string]bool{"alpha": true, "beta": true}},
		{"all-organizations key", f.scoped(identity.Production, all, "*"), map[string]bool{"alpha": true, "beta": true, "gamma": true}},
		{"unscoped", f.s, map[string]bool{"alpha": true, "beta": true, "gamma": true}},
	}
	for _, c := range cases {
		app, _, err := c.svc.CreateApplication(ctx, "alpha", identity.Application{Name: "m", ApplicationType: identity.AppMachine})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, d := range []string{"alpha", "beta", "gamma", "nope"} {
			ok, err := f.s.ApplicationServes(ctx, app, d)
			if err != nil || ok != c.serves[d] {
				t.Errorf("%s: app serves %s = %v (%v), want %v", c.name, d, ok, err, c.serves[d])
			}
			// At the issuer of an organization it does not serve, the
			// application is not found, as an unknown client id.
			got, err := f.s.ApplicationFor(ctx, app.ClientID, d)
			switch {
			case c.serves[d] && (err != nil || got.ClientID != app.ClientID):
				t.Errorf("%s: ApplicationFor %s = %v, %v", c.name, d, got, err)
			case !c.serves[d] && !errors.Is(err, identity.ErrNotFound):
				t.Errorf("%s: ApplicationFor %s = %v, want ErrNotFound", c.name, d, err)
			}
		}
	}
}

// TestScopedAppCannotNameOtherOrganizations (issue 10, breach 2b):
// organization_domain_scope (and ServedOrgs) may only name organizations
// in scope, on create and on update; nothing changes when refused.
func TestScopedAppCannotNameOtherOrganizations(t *testing.T) {
	f := newScopeFixture(t)
	ctx := context.Background()
	alpha := f.scoped(identity.Production, all, "alpha")
	before := f.state()
	evil := identity.Application{Name: "evil", ApplicationType: identity.AppRegularWeb,
		AllowedRedirectURLs: []string{"https://evil.test/cb"}, OrganizationScope: "beta"}
	if _, _, err := alpha.CreateApplication(ctx, "alpha", evil); !errors.Is(err, identity.ErrInvalid) || !fieldsOf(err)["organization_domain_scope"] {
		t.Errorf("create scoped to beta: %v", err)
	}
	evil.OrganizationScope, evil.ServedOrgs = "", []string{"alpha", "beta"}
	if _, _, err := alpha.CreateApplication(ctx, "alpha", evil); !errors.Is(err, identity.ErrInvalid) || !fieldsOf(err)["served_orgs"] {
		t.Errorf("create serving beta: %v", err)
	}
	if after := f.state(); !reflect.DeepEqual(before, after) {
		t.Errorf("a refused create changed state")
	}
	evil.ServedOrgs = nil
	app, _, err := alpha.CreateApplication(ctx, "alpha", evil)
	if err != nil {
		t.Fatal(err)
	}
	before = f.state()
	for name, fn := range map[string]func(a *identity.Application) error{
		"scope to beta": func(a *identity.Application) error { a.OrganizationScope = "beta"; return nil },
		"serve beta":    func(a *identity.Application) error { a.ServedOrgs = append(a.ServedOrgs, "beta"); return nil },
		"serve all":     func(a *identity.Application) error { a.ServedOrgs = nil; return nil },
	} {
		if _, err := alpha.UpdateApplication(ctx, "alpha", app.ClientID, fn); !errors.Is(err, identity.ErrInvalid) {
			t.Errorf("update %s: %v", name, err)
		}
	}
	if after := f.state(); !reflect.DeepEqual(before, after) {
		t.Errorf("a refused update changed state")
	}
	// An application of alpha that serves more than alpha (made by the
	// unscoped service) is out of the alpha key's reach.
	wide, _, err := f.s.CreateApplication(ctx, "alpha", identity.Application{Name: "wide", ApplicationType: identity.AppMachine})
	if err != nil {
		t.Fatal(err)
	}
	before = f.state()
	if _, err := alpha.UpdateApplication(ctx, "alpha", wide.ClientID, func(a *identity.Application) error {
		a.Name = "mine"
		return nil
	}); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("update an app serving every organization: %v", err)
	}
	if _, err := alpha.DeleteApplication(ctx, "alpha", wide.ClientID); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("delete an app serving every organization: %v", err)
	}
	if after := f.state(); !reflect.DeepEqual(before, after) {
		t.Errorf("a refused update changed state")
	}
	// Legitimate: a scope over alpha and beta scopes its app to beta.
	both := f.scoped(identity.Production, all, "alpha", "beta")
	evil.OrganizationScope = "beta"
	a2, _, err := both.CreateApplication(ctx, "alpha", evil)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := f.s.ApplicationServes(ctx, a2, "beta"); !ok {
		t.Errorf("an alpha+beta app scoped to beta does not serve beta")
	}
	if _, err := alpha.UpdateApplication(ctx, "alpha", app.ClientID, func(a *identity.Application) error {
		a.Name = "renamed"
		return nil
	}); err != nil {
		t.Errorf("the alpha key renames its own app: %v", err)
	}
}

// TestSandboxServiceCannotChangeOrganizations (issue 10, breach 3): a
// sandbox-bound service, scoped or not, reads organizations but cannot
// create or change them; it still manages its own directory inside them.
func TestSandboxServiceCannotChangeOrganizations(t *testing.T) {
	f := newScopeFixture(t)
	ctx := context.Background()
	plain, err := f.s.ForEnvironment(identity.Sandbox)
	if err != nil {
		t.Fatal(err)
	}
	for name, sb := range map[string]*identity.Service{"unscoped": plain, "scoped": f.scoped(identity.Sandbox, all, "*")} {
		before := f.state()
		if _, err := sb.UpdateOrganization(ctx, "alpha", identity.OrganizationInput{AllowedEmailDomains: &[]string{"evil.test"}}); !errors.Is(err, identity.ErrForbidden) {
			t.Errorf("%s: UpdateOrganization: %v", name, err)
		}
		if _, err := sb.CreateOrganization(ctx, identity.OrganizationInput{Name: ptr("Sandboxed")}); !errors.Is(err, identity.ErrForbidden) {
			t.Errorf("%s: CreateOrganization: %v", name, err)
		}
		o, err := sb.GetOrganization(ctx, "alpha")
		if err != nil {
			t.Fatalf("%s: GetOrganization: %v", name, err)
		}
		err = sb.Update(ctx, func(tx *identity.Txn) error {
			changed := *o
			changed.Name = "owned"
			return tx.PutOrg(o, &changed)
		})
		if !errors.Is(err, identity.ErrForbidden) {
			t.Errorf("%s: PutOrg: %v", name, err)
		}
		var gone bool
		if err := sb.Update(ctx, func(tx *identity.Txn) (err error) { gone, err = tx.DeleteOrgIfEmpty(o.ID); return }); !errors.Is(err, identity.ErrForbidden) || gone {
			t.Errorf("%s: DeleteOrgIfEmpty: %v %v", name, gone, err)
		}
		if after := f.state(); !reflect.DeepEqual(before, after) {
			t.Errorf("%s: a sandbox service changed organizations", name)
		}
		if _, err := sb.CreateUser(ctx, "alpha", identity.User{Email: name + "@alpha.test", Enabled: true}, ""); err != nil {
			t.Errorf("%s: sandbox user: %v", name, err)
		}
	}
}

// TestScopePermissionsInTheCore: a scoped service refuses organization
// and application writes its permissions do not grant.
func TestScopePermissionsInTheCore(t *testing.T) {
	f := newScopeFixture(t)
	ctx := context.Background()
	ro := f.scoped(identity.Production, []string{"read:*", "read_many:*"}, "*")
	before := f.state()
	if _, err := ro.CreateOrganization(ctx, identity.OrganizationInput{Name: ptr("x")}); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("CreateOrganization: %v", err)
	}
	if _, err := ro.UpdateOrganization(ctx, "alpha", identity.OrganizationInput{Name: ptr("x")}); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("UpdateOrganization: %v", err)
	}
	if _, _, err := ro.CreateApplication(ctx, "alpha", identity.Application{Name: "m", ApplicationType: identity.AppMachine}); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("CreateApplication: %v", err)
	}
	if _, err := ro.UpdateApplication(ctx, "beta", f.betaApp.ClientID, func(*identity.Application) error { return nil }); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("UpdateApplication: %v", err)
	}
	if _, err := ro.DeleteApplication(ctx, "beta", f.betaApp.ClientID); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("DeleteApplication: %v", err)
	}
	if after := f.state(); !reflect.DeepEqual(before, after) {
		t.Errorf("a refused write changed state")
	}
	if _, err := ro.GetApplication(ctx, "beta", f.betaApp.ClientID); err != nil {
		t.Errorf("read: %v", err)
	}
	limited := f.scoped(identity.Production, all, "alpha")
	if _, err := limited.CreateOrganization(ctx, identity.OrganizationInput{Name: ptr("x")}); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("CreateOrganization by a scope limited to alpha: %v", err)
	}
}

// TestScopedUpdateOfAnAppScopedToOneOrganization: an application scoped
// to alpha (without ServedOrgs, as made before scopes) stays within an
// alpha key's reach; clearing its organization_domain_scope, which would
// make it serve every organization, is refused.
func TestScopedUpdateOfAnAppScopedToOneOrganization(t *testing.T) {
	f := newScopeFixture(t)
	ctx := context.Background()
	app, _, err := f.s.CreateApplication(ctx, "alpha", identity.Application{Name: "a", ApplicationType: identity.AppMachine,
		OrganizationScope: "alpha"})
	if err != nil {
		t.Fatal(err)
	}
	alpha := f.scoped(identity.Production, all, "alpha")
	if _, err := alpha.UpdateApplication(ctx, "alpha", app.ClientID, func(a *identity.Application) error {
		a.Name = "renamed"
		return nil
	}); err != nil {
		t.Errorf("rename: %v", err)
	}
	if _, err := alpha.UpdateApplication(ctx, "alpha", app.ClientID, func(a *identity.Application) error {
		a.OrganizationScope = ""
		return nil
	}); !errors.Is(err, identity.ErrInvalid) {
		t.Errorf("unscope: %v", err)
	}
}

// TestScopeUserWritesInTheCore: user writes need the "users" permission
// of their action on a scoped Service, whichever face calls them (the
// Cryptr route table and the console both check it too): without it they
// are ErrForbidden, out of the scope's organizations ErrNotFound, and a
// refused call changes no user.
func TestScopeUserWritesInTheCore(t *testing.T) {
	f := newScopeFixture(t)
	ctx := context.Background()
	u, err := f.s.CreateUser(ctx, "beta", identity.User{Email: "kept@beta.test", Enabled: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	writes := []struct {
		name, perm string
		call       func(s *identity.Service, org string) error
	}{
		{"CreateUser", "create:users", func(s *identity.Service, org string) error {
			_, err := s.CreateUser(ctx, org, identity.User{Email: "new@beta.test"}, "")
			return err
		}},
		{"ImportUsers", "create:users", func(s *identity.Service, org string) error {
			_, err := s.ImportUsers(ctx, org, []identity.User{{Email: "imported@beta.test"}}, identity.ImportOptions{})
			return err
		}},
		{"SetUserEnabled", "update:users", func(s *identity.Service, org string) error {
			_, err := s.SetUserEnabled(ctx, org, u.ID, false)
			return err
		}},
		{"UpdateUser", "update:users", func(s *identity.Service, org string) error {
			_, err := s.UpdateUser(ctx, org, u.ID, func(x *identity.User) error { x.Verified = true; return nil })
			return err
		}},
		{"UnlockUser", "update:users", func(s *identity.Service, org string) error {
			_, err := s.UnlockUser(ctx, org, u.ID)
			return err
		}},
		{"EndSessions", "update:users", func(s *identity.Service, org string) error {
			_, err := s.EndSessions(ctx, org, u.ID)
			return err
		}},
		{"DeleteUser", "delete:users", func(s *identity.Service, org string) error {
			_, err := s.DeleteUser(ctx, org, u.ID)
			return err
		}},
	}
	users := func() any {
		page, err := f.s.ListUsers(ctx, "beta", identity.PageRequest{PerPage: 100})
		if err != nil {
			t.Fatal(err)
		}
		return page
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			before := users()
			readOnly := f.scoped(identity.Production, []string{"read:*", "read_many:*"}, "beta")
			if err := w.call(readOnly, "beta"); !errors.Is(err, identity.ErrForbidden) {
				t.Errorf("without %s: %v, want ErrForbidden", w.perm, err)
			}
			other := f.scoped(identity.Production, []string{identity.PermAll}, "alpha")
			if err := w.call(other, "beta"); !errors.Is(err, identity.ErrNotFound) {
				t.Errorf("out of the scope: %v, want ErrNotFound", err)
			}
			if after := users(); !reflect.DeepEqual(before, after) {
				t.Errorf("a refused %s changed the users", w.name)
			}
			if w.name == "DeleteUser" {
				return // the one user is kept for the other cases
			}
			if err := w.call(f.scoped(identity.Production, []string{w.perm}, "beta"), "beta"); err != nil {
				t.Errorf("with %s: %v", w.perm, err)
			}
		})
	}
	if err := writes[len(writes)-1].call(f.scoped(identity.Production, []string{"delete:users"}, "beta"), "beta"); err != nil {
		t.Errorf("with delete:users: %v", err)
	}
}

// TestScopedCredentialsCannotWiden: on a scoped Service, credentials need
// the api_keys permission, and a limited caller cannot mint (or delete) a
// credential reaching further than itself; an unscoped Service and a
// caller with every permission over every organization manage them all.
func TestScopedCredentialsCannotWiden(t *testing.T) {
	f := newScopeFixture(t)
	ctx := context.Background()
	keys := "*:" + identity.ResourceAPIKeys
	wide, _, err := f.s.CreateCredential(ctx, identity.Credential{Name: "wide", ManagedOrgs: []string{"*"},
		Permissions: []string{identity.PermAll}}, "")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		caller *identity.Service
		cred   identity.Credential
		ok     bool
	}{
		{"no api_keys permission", f.scoped(identity.Production, []string{"*:users"}, "beta"),
			identity.Credential{ManagedOrgs: []string{"beta"}, Permissions: []string{"read:users"}}, false},
		{"a full key from a limited one", f.scoped(identity.Production, []string{keys, "*:users"}, "beta"),
			identity.Credential{ManagedOrgs: []string{"*"}, Permissions: []string{identity.PermAll}}, false},
		{"another organization", f.scoped(identity.Production, []string{keys, "*:users"}, "beta"),
			identity.Credential{ManagedOrgs: []string{"alpha"}, Permissions: []string{"read:users"}}, false},
		{"a wider permission", f.scoped(identity.Production, []string{keys, "read:users"}, "beta"),
			identity.Credential{ManagedOrgs: []string{"beta"}, Permissions: []string{"*:users"}}, false},
		{"a wildcard resource", f.scoped(identity.Production, []string{keys, "read:users"}, "beta"),
			identity.Credential{ManagedOrgs: []string{"beta"}, Permissions: []string{"read:*"}}, false},
		{"within the caller", f.scoped(identity.Production, []string{keys, "*:users"}, "beta"),
			identity.Credential{ManagedOrgs: []string{"beta"}, Permissions: []string{"read:users", "*:users"}}, true},
		{"every permission everywhere", f.scoped(identity.Production, []string{identity.PermAll}, "*"),
			identity.Credential{ManagedOrgs: []string{"*"}, Permissions: []string{identity.PermAll}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, err := f.s.ListCredentials(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tc.cred.Name = tc.name
			_, _, err = tc.caller.CreateCredential(ctx, tc.cred, "")
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, identity.ErrForbidden) {
				t.Fatalf("got %v, want ErrForbidden", err)
			}
			if after, _ := f.s.ListCredentials(ctx); len(after) != len(before) {
				t.Errorf("a refused creation stored a credential")
			}
		})
	}
	limited := f.scoped(identity.Production, []string{keys, "*:users"}, "beta")
	if err := limited.DeleteCredential(ctx, wide.ID); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("a limited key deleted a full one: %v", err)
	}
	if _, err := f.s.GetCredential(ctx, wide.ID); err != nil {
		t.Errorf("the full key is gone: %v", err)
	}
	if _, err := f.scoped(identity.Production, []string{"*:users"}, "beta").ListCredentials(ctx); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("listing keys without api_keys: %v", err)
	}
}

// TestCheckSignIn: a sign-in's result goes to an application only for a
// user of the request's organization, which the application serves; every
// other combination is ErrForbidden, whoever authenticated the user.
func TestCheckSignIn(t *testing.T) {
	f := newScopeFixture(t)
	ctx := context.Background()
	users := map[string]*identity.User{}
	for _, d := range []string{"alpha", "beta"} {
		u, err := f.s.CreateUser(ctx, d, identity.User{Email: "u@" + d + ".test", Enabled: true}, "")
		if err != nil {
			t.Fatal(err)
		}
		users[d] = u
	}
	alphaOnly, _, err := f.scoped(identity.Production, all, "alpha").CreateApplication(ctx, "alpha",
		identity.Application{Name: "alpha only", ApplicationType: identity.AppReact, AllowedRedirectURLs: []string{"https://a.test/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	scopedBeta, _, err := f.s.CreateApplication(ctx, "beta", identity.Application{Name: "beta scoped",
		ApplicationType: identity.AppReact, AllowedRedirectURLs: []string{"https://b.test/cb"}, OrganizationScope: "beta"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, client, domain, user string
		ok                         bool
	}{
		{"account-wide app, own user", f.betaApp.ClientID, "beta", "beta", true},
		{"account-wide app, user of the organization asked", f.betaApp.ClientID, "alpha", "alpha", true},
		{"account-wide app, user of another organization", f.betaApp.ClientID, "beta", "alpha", false},
		{"app serving alpha, alpha's user", alphaOnly.ClientID, "alpha", "alpha", true},
		{"app serving alpha, beta's user at beta", alphaOnly.ClientID, "beta", "beta", false},
		{"app serving alpha, beta's user at alpha", alphaOnly.ClientID, "alpha", "beta", false},
		{"app scoped to beta, alpha's user at alpha", scopedBeta.ClientID, "alpha", "alpha", false},
		{"app scoped to beta, beta's user", scopedBeta.ClientID, "beta", "beta", true},
		{"unknown app", "00000000-0000-0000-0000-000000000000", "alpha", "alpha", false},
		{"unknown organization", f.betaApp.ClientID, "nope", "alpha", false},
		{"no organization", f.betaApp.ClientID, "", "alpha", false},
		{"no user", f.betaApp.ClientID, "alpha", "", false},
		{"no application: the organization alone", "", "alpha", "alpha", true},
		{"no application, another organization's user", "", "alpha", "beta", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := f.s.View(ctx, func(tx *identity.ReadTxn) error { return tx.CheckSignIn(c.client, c.domain, users[c.user]) })
			if c.ok && err != nil || !c.ok && !errors.Is(err, identity.ErrForbidden) {
				t.Fatalf("CheckSignIn = %v, want ok %v", err, c.ok)
			}
		})
	}
	// A service scoped to beta does not see alpha: alpha's sign-ins are
	// refused there, as an unknown organization.
	betaSvc := f.scoped(identity.Production, all, "beta")
	err = betaSvc.View(ctx, func(tx *identity.ReadTxn) error { return tx.CheckSignIn(f.betaApp.ClientID, "alpha", users["alpha"]) })
	if !errors.Is(err, identity.ErrForbidden) {
		t.Fatalf("scoped to beta, alpha's sign-in: %v", err)
	}
}

// TestApplicationScopes: an application with AllowedScopes grants those
// and OpenID Connect's own scopes only; without the list, any scope. The
// list holds scope tokens (RFC 6749 §3.3), at most MaxAllowedScopes.
func TestApplicationScopes(t *testing.T) {
	open := &identity.Application{}
	limited := &identity.Application{AllowedScopes: []string{"invoices:read", "invoices:write"}}
	tests := []struct {
		app       *identity.Application
		requested []string
		refused   string
		grantable []string
	}{
		{open, []string{"admin", "*"}, "", []string{"admin", "*"}},
		{limited, []string{"openid", "profile", "email", "address", "phone", "offline_access", "invoices:read"}, "",
			[]string{"openid", "profile", "email", "address", "phone", "offline_access", "invoices:read"}},
		{limited, []string{"openid", "admin", "invoices:write", "*"}, "admin", []string{"openid", "invoices:write"}},
		{limited, []string{"Invoices:Read"}, "Invoices:Read", []string{}},
		{limited, nil, "", nil},
	}
	for _, tc := range tests {
		if got := tc.app.RefusedScope(tc.requested); got != tc.refused {
			t.Errorf("%v RefusedScope(%v) = %q, want %q", tc.app.AllowedScopes, tc.requested, got, tc.refused)
		}
		if got := tc.app.GrantableScopes(tc.requested); !reflect.DeepEqual(got, tc.grantable) {
			t.Errorf("%v GrantableScopes(%v) = %v, want %v", tc.app.AllowedScopes, tc.requested, got, tc.grantable)
		}
	}
	for _, sc := range identity.StandardScopes() {
		if r := limited.RefusedScope([]string{sc}); r != "" {
			t.Errorf("standard scope %q refused", sc)
		}
	}
	f := newScopeFixture(t)
	ctx := context.Background()
	tooMany := make([]string, identity.MaxAllowedScopes+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("s%d", i)
	}
	for _, bad := range [][]string{{"with space"}, {`quote"`}, {`back\slash`}, {"é"}, {strings.Repeat("x", 129)}, tooMany} {
		_, _, err := f.s.CreateApplication(ctx, "alpha", identity.Application{Name: "x", ApplicationType: identity.AppMachine,
			AllowedScopes: bad})
		if !errors.Is(err, identity.ErrInvalid) || !strings.Contains(err.Error(), "allowed_scopes") {
			t.Errorf("AllowedScopes %.40q: %v", bad, err)
		}
	}
	a, _, err := f.s.CreateApplication(ctx, "alpha", identity.Application{Name: "y", ApplicationType: identity.AppMachine,
		AllowedScopes: []string{"b", "a", "b"}})
	if err != nil || !reflect.DeepEqual(a.AllowedScopes, []string{"b", "a"}) {
		t.Fatalf("deduplicated: %v %v", a, err)
	}
}

// TestAccountOrganizationOutsideConsoleScopes: every console role but
// owner has the account's organization outside its scope (it holds the
// console's members), and only the account organization's own
// applications serve it, so no application an admin made elsewhere signs
// a member in there.
func TestAccountOrganizationOutsideConsoleScopes(t *testing.T) {
	f := newScopeFixture(t)
	ctx := context.Background()
	account := f.s.AccountDomain()
	mustOrg(t, f.s, account)
	for _, role := range []identity.ConsoleRole{identity.ConsoleAdmin, identity.ConsoleViewer, identity.ConsoleOwner} {
		m := identity.ConsoleMember{Role: role}
		svc, err := f.s.For(m.Scope(identity.Production))
		if err != nil {
			t.Fatal(err)
		}
		_, err = svc.GetOrganization(ctx, account)
		if owner := role == identity.ConsoleOwner; owner != (err == nil) || !owner && !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("%s: GetOrganization(account) = %v", role, err)
		}
		if _, err := svc.GetOrganization(ctx, "alpha"); err != nil {
			t.Errorf("%s: GetOrganization(alpha) = %v", role, err)
		}
		if role == identity.ConsoleAdmin {
			app, _, err := svc.CreateApplication(ctx, "alpha", identity.Application{Name: "a", ApplicationType: identity.AppMachine})
			if err != nil {
				t.Fatal(err)
			}
			for d, want := range map[string]bool{account: false, "alpha": true, "gamma": true} {
				if ok, err := f.s.ApplicationServes(ctx, app, d); err != nil || ok != want {
					t.Errorf("admin's application serves %s = %v (%v), want %v", d, ok, err, want)
				}
			}
			p, err := svc.ListOrganizations(ctx, identity.PageRequest{PerPage: 2})
			if err != nil || p.Total != 3 {
				t.Fatalf("admin lists %d organizations (%v), want 3", p.Total, err)
			}
			for pg := 1; pg <= 2; pg++ {
				p, _ := svc.ListOrganizations(ctx, identity.PageRequest{Page: pg, PerPage: 2})
				for _, o := range p.Items {
					if o.Domain == account {
						t.Fatal("admin lists the account's organization")
					}
				}
			}
		}
	}
}
