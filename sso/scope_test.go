package sso_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/sso"
)

// TestDefaultRedirectionStaysInTheOrganization (issue 10, breach 2c, 2d):
// at the service level, a connection's default redirection goes only to an
// application of the connection's organization and environment; another
// organization's application, another environment's and an unknown id are
// alike ErrNotFound, on create and on SetDefaultRedirection, for a scoped
// service and an unscoped one; a scoped service does not see connections
// of organizations outside its scope. Nothing changes when refused.
func TestDefaultRedirectionStaysInTheOrganization(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	name := "Beta"
	if _, err := f.id.CreateOrganization(ctx, identity.OrganizationInput{Name: &name}); err != nil {
		t.Fatal(err)
	}
	beta, _, err := f.id.CreateApplication(ctx, "beta", identity.Application{Name: "beta web",
		ApplicationType: identity.AppRegularWeb, AllowedRedirectURLs: []string{"https://private.beta.test/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	sandbox, err := f.id.ForEnvironment(identity.Sandbox)
	if err != nil {
		t.Fatal(err)
	}
	sandboxApp, _, err := sandbox.CreateApplication(ctx, f.org.Domain, identity.Application{Name: "sandbox web",
		ApplicationType: identity.AppRegularWeb, AllowedRedirectURLs: []string{"https://sandbox.acme.test/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	own, err := f.id.For(identity.Scope{Environment: identity.Production, Orgs: []string{f.org.Domain}, Permissions: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	state := func() any {
		t.Helper()
		p, err := f.svc.ListConnections(ctx, f.id, "", nil, identity.PageRequest{PerPage: 100})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	foreign := map[string]string{"another organization's": beta.ClientID, "the sandbox's": sandboxApp.ClientID,
		"an unknown": "0190f1c2-0000-7000-8000-000000000000"}
	before := state()
	for who, svc := range map[string]*identity.Service{"scoped": own, "unscoped": f.id} {
		for what, id := range foreign {
			_, err := f.svc.CreateConnection(ctx, svc, sso.CreateInput{OrgDomain: f.org.Domain, ApplicationID: id})
			if !errors.Is(err, identity.ErrNotFound) {
				t.Errorf("%s: create redirecting to %s application: %v", who, what, err)
			}
		}
	}
	if after := state(); !reflect.DeepEqual(before, after) {
		t.Errorf("a refused create changed state")
	}
	d, err := f.svc.CreateConnection(ctx, own, sso.CreateInput{OrgDomain: f.org.Domain, ApplicationID: f.app.ClientID})
	if err != nil {
		t.Fatal(err)
	}
	idp := d.Connection.ID
	before = state()
	for who, svc := range map[string]*identity.Service{"scoped": own, "unscoped": f.id} {
		for what, id := range foreign {
			if _, err := f.svc.SetDefaultRedirection(ctx, svc, idp, id, "", ""); !errors.Is(err, identity.ErrNotFound) {
				t.Errorf("%s: redirect to %s application: %v", who, what, err)
			}
		}
	}
	if after := state(); !reflect.DeepEqual(before, after) {
		t.Errorf("a refused redirection changed state")
	}
	if _, err := f.svc.SetDefaultRedirection(ctx, own, idp, f.app.ClientID, "", ""); err != nil {
		t.Errorf("redirect to its own application: %v", err)
	}
	// A service scoped to beta does not see acme's connection.
	other, err := f.id.For(identity.Scope{Environment: identity.Production, Orgs: []string{"beta"}, Permissions: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.GetConnection(ctx, other, idp); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("GetConnection out of scope: %v", err)
	}
	if _, err := f.svc.UpdateConnection(ctx, other, idp, sso.Update{SeatsLimit: new(int)}); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("UpdateConnection out of scope: %v", err)
	}
	if p, err := f.svc.ListConnections(ctx, other, "", nil, identity.PageRequest{}); err != nil || p.Total != 0 {
		t.Errorf("ListConnections out of scope: %d %v", p.Total, err)
	}
}
