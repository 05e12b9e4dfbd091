package identity_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// TestPasswordChangeEndsSessions: SetPassword and ChangePassword end the
// user's tickets, persistent logins, pending tokens and what registered
// revokers keep, in the change's transaction, except the session named
// Keep; KeepSessionsOnPasswordChange restores Crafter's rule.
func TestPasswordChangeEndsSessions(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name      string
		keepAll   bool
		keep      identity.SessionRef
		wantTk    []bool // tickets t1, t2 alive afterwards
		wantPL    bool
		wantToken bool
		revoked   bool // the registered revoker ran
	}{
		{"SetPassword ends all", false, identity.SessionRef{}, []bool{false, false}, false, false, true},
		{"a change keeps the named ticket", false, identity.SessionRef{Kind: identity.SessionTicket,
			Hash: identity.HashSecret("t1")}, []bool{true, false}, false, false, true},
		{"KeepSessionsOnPasswordChange (Crafter §6.2)", true, identity.SessionRef{}, []bool{true, true}, true, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := identity.NewService(identity.Options{Store: memory.New(), Hasher: &countingHasher{},
				KeepSessionsOnPasswordChange: tc.keepAll})
			if err != nil {
				t.Fatal(err)
			}
			var ran identity.SessionRef
			calls := 0
			s.OnSessionsEnd(identity.SessionRevokerFunc(func(tx *identity.Txn, u *identity.User, keep identity.SessionRef) (int, error) {
				calls++
				ran = keep
				return 1, nil
			}))
			mustOrg(t, s, "acme")
			u, err := s.CreateUser(ctx, "acme", identity.User{Email: "a@acme.test", Enabled: true}, "old")
			if err != nil {
				t.Fatal(err)
			}
			exp := s.Now().Add(time.Hour)
			if err := s.Update(ctx, func(tx *identity.Txn) error {
				for _, id := range []string{"t1", "t2"} {
					if err := tx.PutTicket(nil, &identity.Ticket{IDHash: identity.HashSecret(id), OrgID: u.OrgID, UserID: u.ID,
						ExpiresAt: exp}); err != nil {
						return err
					}
				}
				if err := tx.PutPersistentLogin(nil, &identity.PersistentLogin{ID: identity.HashSecret("p1"), OrgID: u.OrgID,
					UserID: u.ID, ExpiresAt: exp}); err != nil {
					return err
				}
				return tx.PutVerificationToken(&identity.VerificationToken{IDHash: identity.HashSecret("v1"), OrgID: u.OrgID,
					UserID: u.ID, Purpose: identity.PurposeReset, ExpiresAt: exp})
			}); err != nil {
				t.Fatal(err)
			}
			if tc.keep.Kind == "" {
				_, err = s.SetPassword(ctx, "acme", u.ID, "new")
			} else {
				_, err = s.ChangePassword(ctx, identity.PasswordChange{OrgDomain: "acme", UserID: u.ID, Password: "new", Keep: tc.keep})
			}
			if err != nil {
				t.Fatal(err)
			}
			_ = s.View(ctx, func(tx *identity.ReadTxn) error {
				for i, id := range []string{"t1", "t2"} {
					_, err := tx.TicketByHash(identity.HashSecret(id))
					if alive := err == nil; alive != tc.wantTk[i] {
						t.Errorf("ticket %s alive %v, want %v", id, alive, tc.wantTk[i])
					}
				}
				if _, err := tx.PersistentLoginByHash(identity.HashSecret("p1")); (err == nil) != tc.wantPL {
					t.Errorf("persistent login: %v", err)
				}
				if _, err := tx.VerificationTokenByHash(identity.PurposeReset, identity.HashSecret("v1")); (err == nil) != tc.wantToken {
					t.Errorf("reset token: %v", err)
				}
				return nil
			})
			if (calls == 1) != tc.revoked || ran != tc.keep {
				t.Errorf("revoker ran %d times with keep %+v", calls, ran)
			}
		})
	}
	t.Run("a failing revoker aborts the change", func(t *testing.T) {
		s, _ := identity.NewService(identity.Options{Store: memory.New(), Hasher: &countingHasher{}})
		boom := errors.New("boom")
		s.OnSessionsEnd(identity.SessionRevokerFunc(func(*identity.Txn, *identity.User, identity.SessionRef) (int, error) {
			return 0, boom
		}))
		mustOrg(t, s, "acme")
		u, _ := s.CreateUser(ctx, "acme", identity.User{Email: "a@acme.test", Enabled: true}, "old")
		if _, err := s.SetPassword(ctx, "acme", u.ID, "new"); !errors.Is(err, boom) {
			t.Fatalf("SetPassword: %v", err)
		}
		if _, err := s.PasswordLogin(ctx, identity.PasswordLogin{OrgDomain: "acme", Email: "a@acme.test", Password: "old"}); err != nil {
			t.Fatalf("the old password no longer works: %v", err)
		}
	})
}
