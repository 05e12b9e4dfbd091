package identity_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// TestSignInWithEmailSignupPolicy: a proven email creates a user only
// inside the organization's allowed email domains or with open sign-up;
// refusals look like an unknown account; administrators' creations are
// not subject to the policy.
func TestSignInWithEmailSignupPolicy(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name    string
		open    bool
		email   string
		signUp  bool
		want    error // nil: signed in
		created bool
	}{
		{"allowed domain signs up", false, "new@acme.test", true, nil, true},
		{"allowed domain, case-insensitive", false, "New2@ACME.test", true, nil, true},
		{"outside address refused", false, "mallory@evil.test", true, identity.ErrNotFound, false},
		{"subdomain is outside", false, "x@sub.acme.test", true, identity.ErrNotFound, false},
		{"open sign-up admits anybody", true, "mallory@evil.test", true, nil, true},
		{"sign-in only never creates", true, "other@acme.test", false, identity.ErrNotFound, false},
		{"an existing user signs in", false, "jane@acme.test", false, nil, false},
		{"a disabled user is refused", false, "off@acme.test", true, identity.ErrDisabled, false},
		{"an unknown organization", false, "new@acme.test", true, identity.ErrNotFound, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := identity.NewService(identity.Options{Store: memory.New()})
			if err != nil {
				t.Fatal(err)
			}
			o, err := s.CreateOrganization(ctx, identity.OrganizationInput{Name: ptr("acme"),
				AllowedEmailDomains: &[]string{"acme.test"}, OpenSignup: ptr(tc.open)})
			if err != nil {
				t.Fatal(err)
			}
			if o.OpenSignup != tc.open {
				t.Fatalf("OpenSignup %v", o.OpenSignup)
			}
			// An administrator creates users in any domain (invitations).
			for _, u := range []identity.User{{Email: "jane@acme.test", Enabled: true}, {Email: "off@acme.test"},
				{Email: "guest@elsewhere.test", Enabled: true}} {
				if _, err := s.CreateUser(ctx, "acme", u, ""); err != nil {
					t.Fatal(err)
				}
			}
			org := "acme"
			if tc.name == "an unknown organization" {
				org = "nowhere"
			}
			u, err := s.SignInWithEmail(ctx, org, tc.email, tc.signUp)
			if tc.want == nil && (err != nil || !u.Verified || !u.Enabled) {
				t.Fatalf("sign-in: %+v %v", u, err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("sign-in: %v, want %v", err, tc.want)
			}
			_, gerr := s.GetUserByEmail(ctx, "acme", tc.email)
			if exists := gerr == nil; tc.created && !exists || tc.want != nil && tc.want != identity.ErrDisabled && exists {
				t.Fatalf("user exists %v after %v", exists, err)
			}
		})
	}
}

// TestEmailCaseFoldsASCIIOnly (the attacker's test): only ASCII letters
// fold when emails are compared. Unicode case mapping sends 'İ' (U+0130)
// and the Kelvin sign (U+212A) to "i" and "k", so "alİce@acme.test",
// another mailbox, found alice@acme.test's account (a magic link mailed
// to it signed in as alice), and "pİxel.test", another domain, passed for
// pixel.test's allowed domain.
func TestEmailCaseFoldsASCIIOnly(t *testing.T) {
	for in, want := range map[string]string{
		"Alice@ACME.test":      "alice@acme.test",
		"al\u0130ce@acme.test": "al\u0130ce@acme.test",
		"\u212Aate@acme.test":  "\u212Aate@acme.test",
		" Bob@Example.COM ":    "bob@example.com",
		"\u00c9mile@acme.test": "\u00c9mile@acme.test",
		"dave@p\u0130xel.test": "dave@p\u0130xel.test",
	} {
		if got := identity.NormalizeEmail(in); got != want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", in, got, want)
		}
	}
	s, _ := newService(t)
	ctx := context.Background()
	name := "Pixel"
	if _, err := s.CreateOrganization(ctx, identity.OrganizationInput{Name: &name, AllowedEmailDomains: &[]string{"pixel.test"}}); err != nil {
		t.Fatal(err)
	}
	alice, err := s.CreateUser(ctx, "pixel", identity.User{Email: "alice@pixel.test", Enabled: true, Verified: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, lookalike := range []string{"al\u0130ce@pixel.test", "ALİCE@PIXEL.TEST"} {
		if u, err := s.GetUserByEmail(ctx, "pixel", lookalike); !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("%q found %v (%v), want ErrNotFound", lookalike, u, err)
		}
	}
	if u, err := s.GetUserByEmail(ctx, "pixel", "ALICE@Pixel.Test"); err != nil || u.ID != alice.ID {
		t.Errorf("ASCII case: %v %v", u, err)
	}
	for email, want := range map[string]bool{"mallory@pixel.test": true, "mallory@PIXEL.test": true, "mallory@p\u0130xel.test": false,
		"mallory@pixel.tes\u212A": false} {
		if ok, err := s.MaySignUp(ctx, "pixel", email); err != nil || ok != want {
			t.Errorf("MaySignUp(%q) = %v (%v), want %v", email, ok, err, want)
		}
	}
}
