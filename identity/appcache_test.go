package identity_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// TestAuthenticateClient: the secret rule of every confidential and public
// client, the organization rule, and that a rotated secret or a deleted
// application is refused at the very next call, also by another Service
// (another instance) on the same store whose decode cache holds the old
// application.
func TestAuthenticateClient(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	a, err := identity.NewService(identity.Options{Store: st, AccountDomain: "acme-account"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := identity.NewService(identity.Options{Store: st, AccountDomain: "acme-account"})
	if err != nil {
		t.Fatal(err)
	}
	n1, n2 := "Acme", "Other"
	acme, err := a.CreateOrganization(ctx, identity.OrganizationInput{Name: &n1})
	if err != nil {
		t.Fatal(err)
	}
	other, err := a.CreateOrganization(ctx, identity.OrganizationInput{Name: &n2})
	if err != nil {
		t.Fatal(err)
	}
	m, secret, err := a.CreateApplication(ctx, acme.Domain, identity.Application{Name: "m", ApplicationType: identity.AppMachine,
		OrganizationScope: acme.Domain})
	if err != nil {
		t.Fatal(err)
	}
	spa, _, err := a.CreateApplication(ctx, acme.Domain, identity.Application{Name: "spa", ApplicationType: identity.AppReact,
		AllowedRedirectURLs: []string{"https://x.test/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, svc *identity.Service, id, sec, domain string, want error) {
		t.Helper()
		app, err := svc.AuthenticateClient(ctx, id, sec, domain)
		switch {
		case want == nil && (err != nil || app == nil || app.ClientID != id):
			t.Fatalf("AuthenticateClient(%s): %v", id, err)
		case want != nil && !errors.Is(err, want):
			t.Fatalf("AuthenticateClient(%s): %v, want %v", id, err, want)
		}
	}
	tests := []struct {
		name         string
		id, sec, dom string
		want         error
	}{
		{"confidential, right secret", m.ClientID, secret, acme.Domain, nil},
		{"confidential, no organization named", m.ClientID, secret, "", nil},
		{"confidential, wrong secret", m.ClientID, secret + "x", acme.Domain, identity.ErrUnauthenticated},
		{"confidential, no secret", m.ClientID, "", acme.Domain, identity.ErrUnauthenticated},
		{"organization it does not serve", m.ClientID, secret, other.Domain, identity.ErrNotFound},
		{"unknown organization", m.ClientID, secret, "nope", identity.ErrNotFound},
		{"unknown client", "nope", secret, acme.Domain, identity.ErrNotFound},
		{"public, no secret", spa.ClientID, "", acme.Domain, nil},
		{"public with a secret", spa.ClientID, "s", acme.Domain, identity.ErrUnauthenticated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, svc := range []*identity.Service{a, b} {
				check(t, svc, tc.id, tc.sec, tc.dom, tc.want)
			}
		})
	}
	t.Run("rotated secret", func(t *testing.T) {
		fresh, err := b.RotateApplicationSecret(ctx, acme.Domain, m.ClientID)
		if err != nil || fresh == "" || fresh == secret {
			t.Fatalf("rotate: %q %v", fresh, err)
		}
		for _, svc := range []*identity.Service{a, b} {
			check(t, svc, m.ClientID, secret, acme.Domain, identity.ErrUnauthenticated)
			check(t, svc, m.ClientID, fresh, acme.Domain, nil)
		}
		if _, err := a.RotateApplicationSecret(ctx, acme.Domain, spa.ClientID); !errors.Is(err, identity.ErrInvalid) {
			t.Fatalf("a public client got a secret: %v", err)
		}
		secret = fresh
	})
	t.Run("deleted application", func(t *testing.T) {
		if _, err := b.DeleteApplication(ctx, acme.Domain, m.ClientID); err != nil {
			t.Fatal(err)
		}
		for _, svc := range []*identity.Service{a, b} {
			check(t, svc, m.ClientID, secret, acme.Domain, identity.ErrNotFound)
			if _, err := svc.ApplicationFor(ctx, m.ClientID, acme.Domain); !errors.Is(err, identity.ErrNotFound) {
				t.Fatalf("ApplicationFor after delete: %v", err)
			}
		}
	})
}

// TestApplicationCopies: an application a read returns shares nothing
// with the decode cache, so changing it changes no later read.
func TestApplicationCopies(t *testing.T) {
	svc, _ := newService(t)
	ctx := context.Background()
	n := "Acme"
	org, err := svc.CreateOrganization(ctx, identity.OrganizationInput{Name: &n})
	if err != nil {
		t.Fatal(err)
	}
	app, _, err := svc.CreateApplication(ctx, org.Domain, identity.Application{Name: "w", ApplicationType: identity.AppRegularWeb,
		AllowedRedirectURLs: []string{"https://x.test/cb"}, Metadata: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := svc.ApplicationByClientID(ctx, app.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	got.AllowedRedirectURLs[0] = "https://evil.test/cb"
	got.Metadata["k"] = "changed"
	got.Name = "changed"
	again, err := svc.ApplicationFor(ctx, app.ClientID, org.Domain)
	if err != nil {
		t.Fatal(err)
	}
	if again.AllowedRedirectURLs[0] != "https://x.test/cb" || again.Metadata["k"] != "v" || again.Name != "w" {
		t.Fatalf("a caller's change reached the cache: %+v", again)
	}
}
