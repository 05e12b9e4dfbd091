package identity_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/testkit"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// TestPasswordReset: the core's reset rule. Known and unknown addresses
// answer alike (only the token differs); a token is single use, of its
// organization and purpose only, expires, survives a refused password,
// and its use ends the user's sessions with one audit event.
func TestPasswordReset(t *testing.T) {
	ctx := context.Background()
	clock := testkit.NewClock(time.Now().UTC().Truncate(time.Second))
	s, err := identity.NewService(identity.Options{Store: memory.New(), Hasher: &countingHasher{}, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	mustOrg(t, s, "acme")
	mustOrg(t, s, "other")
	u, err := s.CreateUser(ctx, "acme", identity.User{Email: "a@acme.test", Enabled: true}, "old")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, "acme", identity.User{Email: "off@acme.test", Enabled: false}, ""); err != nil {
		t.Fatal(err)
	}
	ask := func(email string) *identity.PasswordReset {
		t.Helper()
		r, err := s.RequestPasswordReset(ctx, identity.PasswordResetRequest{OrgDomain: "acme", Email: email, ClientAddr: "192.0.2.1"})
		if err != nil {
			t.Fatalf("reset for %s: %v", email, err)
		}
		return r
	}
	for _, email := range []string{"nobody@acme.test", "off@acme.test"} {
		if r := ask(email); r.Token != "" || r.User != nil {
			t.Fatalf("%s got a token", email)
		}
	}
	if _, err := s.RequestPasswordReset(ctx, identity.PasswordResetRequest{OrgDomain: "acme", Email: "not an email"}); !errors.Is(err, identity.ErrInvalid) {
		t.Fatalf("bad email: %v", err)
	}
	r := ask("A@acme.test")
	if len(r.Token) < 43 || r.User == nil || r.User.ID != u.ID || !r.ExpiresAt.Equal(s.Now().Add(identity.DefaultPasswordResetTTL)) {
		t.Fatalf("reset %+v", r)
	}
	// A ticket from before, which the reset must end.
	tk := identity.HashSecret("ticket")
	if err := s.Update(ctx, func(tx *identity.Txn) error {
		return tx.PutTicket(nil, &identity.Ticket{IDHash: tk, OrgID: u.OrgID, UserID: u.ID, ExpiresAt: s.Now().Add(time.Hour)})
	}); err != nil {
		t.Fatal(err)
	}
	refused := []struct {
		name string
		in   identity.PasswordResetCompletion
		want error
	}{
		{"another organization", identity.PasswordResetCompletion{OrgDomain: "other", Token: r.Token, Password: "new"}, identity.ErrNotFound},
		{"unknown token", identity.PasswordResetCompletion{OrgDomain: "acme", Token: strings.Repeat("x", 43), Password: "new"}, identity.ErrNotFound},
		{"empty password", identity.PasswordResetCompletion{OrgDomain: "acme", Token: r.Token}, identity.ErrInvalid},
		{"too long a password", identity.PasswordResetCompletion{OrgDomain: "acme", Token: r.Token, Password: strings.Repeat("p", 1025)}, identity.ErrInvalid},
	}
	for _, tc := range refused {
		if _, err := s.ResetPassword(ctx, tc.in); !errors.Is(err, tc.want) {
			t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := s.CheckPasswordReset(ctx, "acme", r.Token); err != nil {
		t.Fatalf("token gone after refusals: %v", err)
	}
	got, err := s.ResetPassword(ctx, identity.PasswordResetCompletion{OrgDomain: "acme", Token: r.Token, Password: "new"})
	if err != nil || got.PasswordHash != "plain:new" {
		t.Fatalf("reset: %v %+v", err, got)
	}
	if _, err := s.ResetPassword(ctx, identity.PasswordResetCompletion{OrgDomain: "acme", Token: r.Token, Password: "again"}); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("second use: %v", err)
	}
	if err := s.View(ctx, func(tx *identity.ReadTxn) error {
		_, err := tx.TicketByHash(tk)
		return err
	}); err == nil {
		t.Fatal("the reset left a session alive")
	}
	// A verification token is not a reset token.
	var verify string
	if err := s.Update(ctx, func(tx *identity.Txn) (err error) {
		verify, err = tx.IssueUserToken(got, identity.PurposeVerify, time.Hour)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CheckPasswordReset(ctx, "acme", verify); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("verification token as a reset: %v", err)
	}
	// Expiry.
	r = ask("a@acme.test")
	clock.Advance(identity.DefaultPasswordResetTTL)
	if _, err := s.ResetPassword(ctx, identity.PasswordResetCompletion{OrgDomain: "acme", Token: r.Token, Password: "late"}); !errors.Is(err, identity.ErrExpired) {
		t.Fatalf("expired token: %v", err)
	}
	if _, err := s.CheckPasswordReset(ctx, "acme", r.Token); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("expired token after its refusal: %v", err)
	}
}
