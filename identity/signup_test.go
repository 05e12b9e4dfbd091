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
