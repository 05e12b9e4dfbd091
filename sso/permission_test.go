package sso_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/sso"
)

// TestChangesNeedThePermission: on a scoped service, the SSO service
// itself refuses a change without the sso_connections permission
// (ErrForbidden, nothing changed) and reads stay open; creating with
// send_email needs only "create"; "update" allows the other changes.
func TestChangesNeedThePermission(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	idp := f.connection()
	scoped := func(perms ...string) *identity.Service {
		s, err := f.id.For(identity.Scope{Environment: identity.Production, Orgs: []string{identity.AllOrgs}, Permissions: perms})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ro := scoped("read:*", "read_many:*")
	email, active := "it2@acme.test", false
	before, err := f.svc.GetConnection(ctx, f.id, idp)
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"create": func() error {
			_, err := f.svc.CreateConnection(ctx, ro, sso.CreateInput{OrgDomain: f.org.Domain, ApplicationID: f.app.ClientID})
			return err
		},
		"update": func() error {
			_, err := f.svc.UpdateConnection(ctx, ro, idp, sso.Update{Active: &active})
			return err
		},
		"policy": func() error { _, err := f.svc.SetUserPolicy(ctx, ro, idp, sso.UserSecurityUserRegistered); return err },
		"redirection": func() error {
			_, err := f.svc.SetDefaultRedirection(ctx, ro, idp, f.app.ClientID, "", "")
			return err
		},
		"create onboarding": func() error {
			_, err := f.svc.CreateOnboarding(ctx, ro, idp, sso.OnboardingInput{SSOAdminEmail: &email})
			return err
		},
		"update onboarding": func() error {
			_, err := f.svc.UpdateOnboarding(ctx, ro, idp, sso.OnboardingInput{SSOAdminEmail: &email})
			return err
		},
		"reset onboarding": func() error { _, err := f.svc.ResetOnboarding(ctx, ro, idp); return err },
		"invite":           func() error { _, err := f.svc.SendInvitation(ctx, ro, idp); return err },
		"setup link":       func() error { _, err := f.svc.NewSetupLink(ctx, ro, idp); return err },
	} {
		if err := call(); !errors.Is(err, identity.ErrForbidden) {
			t.Errorf("%s with a read-only scope: %v", name, err)
		}
	}
	after, err := f.svc.GetConnection(ctx, ro, idp) // reads stay open
	if err != nil {
		t.Fatal(err)
	}
	if after.Connection != before.Connection || *after.Onboarding != *before.Onboarding {
		t.Errorf("refused changes changed the connection:\n%+v\n%+v", before, after)
	}
	// Create only: the connection and its invitation.
	d, err := f.svc.CreateConnection(ctx, scoped("create:sso_connections"), sso.CreateInput{OrgDomain: f.org.Domain,
		ApplicationID: f.app.ClientID, SSOAdminEmail: "it3@acme.test", SendEmail: true})
	if err != nil || d.Onboarding.InvitationSentAt == nil {
		t.Fatalf("create with send_email and create only: %+v %v", d, err)
	}
	// Update: the changes pass.
	if _, err := f.svc.NewSetupLink(ctx, scoped("update:sso_connections"), idp); err != nil {
		t.Errorf("setup link with update: %v", err)
	}
}
