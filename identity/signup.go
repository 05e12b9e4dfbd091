package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Sign-up policy: who may create their own account by proving an email
// address (a magic link or email code on the hosted pages, a headless
// magic-link challenge with find_or_create_user). Only an address in one
// of the organization's AllowedEmailDomains, or any address when the
// organization has OpenSignup on (off by default). Users an administrator
// creates or invites (CreateUser through the APIs) are not subject to it.

// SignupAllowed reports whether the organization lets a person who proves
// they own email create their own account.
func (o *Organization) SignupAllowed(email string) bool {
	if o.OpenSignup {
		return true
	}
	d := EmailDomain(email)
	return d != "" && slices.Contains(o.AllowedEmailDomains, d)
}

// MaySignUp reports whether a sign-in that proves email may create a user
// in the organization orgDomain (an unknown organization allows nobody).
func (s *Service) MaySignUp(ctx context.Context, orgDomain, email string) (bool, error) {
	o, err := s.GetOrganization(ctx, orgDomain)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return o.SignupAllowed(email), nil
}

// EmailSignInUser returns, inside the caller's transaction, the user of
// orgDomain that a proof of email signs in as is: an existing, enabled
// user whose address is verified already, the case where SignInWithEmail
// changes nothing. For any other case (no such user, a disabled one, an
// address to verify, a sign-up) it returns ErrNotFound, and the caller
// goes through SignInWithEmail, which applies the sign-up policy and
// refuses alike. A face thus writes the sign-in it opens (a code, a
// browser session) in the transaction that checked the proof.
func (t *ReadTxn) EmailSignInUser(orgDomain, email string) (*User, error) {
	orgID, err := t.OrgID(orgDomain)
	if err != nil {
		return nil, err
	}
	u, err := t.UserByEmail(orgID, email)
	if err != nil {
		return nil, err
	}
	if !u.Enabled || !u.Verified {
		return nil, fmt.Errorf("user: sign-in changes the account: %w", ErrNotFound)
	}
	return u, nil
}

// SignInWithEmail returns the user of orgDomain who has just proved they
// own email (a magic link or an email code), marking the address
// verified. When signUp is set and no user has the address, it creates
// one (enabled and verified) if the sign-up policy allows it
// (Organization.SignupAllowed). No such user, a refused sign-up and an
// unknown organization are all ErrNotFound, so a face answers them alike;
// a disabled user is ErrDisabled.
func (s *Service) SignInWithEmail(ctx context.Context, orgDomain, email string, signUp bool) (*User, error) {
	u, err := s.GetUserByEmail(ctx, orgDomain, email)
	if errors.Is(err, ErrNotFound) && signUp {
		ok, err2 := s.MaySignUp(ctx, orgDomain, email)
		if err2 != nil {
			return nil, err2
		}
		if !ok {
			return nil, fmt.Errorf("user: sign-up not allowed: %w", ErrNotFound)
		}
		u, err = s.CreateUser(ctx, orgDomain, User{Email: email, Enabled: true, Verified: true}, "")
		if errors.Is(err, ErrConflict) {
			u, err = s.GetUserByEmail(ctx, orgDomain, email)
		}
	}
	if err != nil {
		return nil, err
	}
	if !u.Enabled {
		return nil, fmt.Errorf("user: %w", ErrDisabled)
	}
	if !u.Verified {
		if v, err := s.UpdateUser(ctx, orgDomain, u.ID, func(x *User) error { x.Verified = true; return nil }); err == nil {
			u = v
		}
	}
	return u, nil
}
