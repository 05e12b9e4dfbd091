package identity_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/testkit"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// emailLink is one kind of link mailed to a user's address, as the
// attacker holding the old mailbox sees it: issue one, then try it.
type emailLink struct {
	name  string
	issue func(t *testing.T, s *identity.Service, u *identity.User) string
	// check answers nil when the link still works.
	check func(s *identity.Service, token string) error
}

func emailLinks() []emailLink {
	ctx := context.Background()
	userToken := func(purpose string) func(t *testing.T, s *identity.Service, u *identity.User) string {
		return func(t *testing.T, s *identity.Service, u *identity.User) string {
			t.Helper()
			var tok string
			if err := s.Update(ctx, func(tx *identity.Txn) (err error) {
				tok, err = tx.IssueUserToken(u, purpose, time.Hour)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return tok
		}
	}
	return []emailLink{
		{"invitation", func(t *testing.T, s *identity.Service, u *identity.User) string {
			t.Helper()
			inv, err := s.InviteUser(ctx, identity.InvitationRequest{OrgDomain: "acme", UserID: u.ID, ClientAddr: "192.0.2.1"})
			if err != nil {
				t.Fatal(err)
			}
			return inv.Token
		}, func(s *identity.Service, tok string) error {
			_, err := s.CheckInvitation(ctx, "acme", tok)
			return err
		}},
		{"password reset", func(t *testing.T, s *identity.Service, u *identity.User) string {
			t.Helper()
			r, err := s.RequestPasswordReset(ctx, identity.PasswordResetRequest{OrgDomain: "acme", Email: u.Email,
				ClientAddr: "192.0.2.1"})
			if err != nil || r.Token == "" {
				t.Fatalf("reset: %v %+v", err, r)
			}
			return r.Token
		}, func(s *identity.Service, tok string) error {
			_, err := s.CheckPasswordReset(ctx, "acme", tok)
			return err
		}},
		{"verification (Crafter verify and reset)", userToken(identity.PurposeVerify), func(s *identity.Service, tok string) error {
			return s.View(ctx, func(tx *identity.ReadTxn) error {
				_, err := tx.VerificationTokenByHash(identity.PurposeVerify, identity.HashSecret(tok))
				return err
			})
		}},
		{"reset token (IssueUserToken)", userToken(identity.PurposeReset), func(s *identity.Service, tok string) error {
			_, err := s.CheckPasswordReset(ctx, "acme", tok)
			return err
		}},
	}
}

// TestEmailChangeVoidsPendingLinks: whoever holds the old mailbox loses
// every link mailed there once the address changes, whichever core path
// changes it, and the new address is not verified; the user's sessions
// stay. An update that keeps the address (or changes only its ASCII case)
// voids nothing. A link issued after the change works.
func TestEmailChangeVoidsPendingLinks(t *testing.T) {
	ctx := context.Background()
	changers := []struct {
		name   string
		change func(s *identity.Service, u *identity.User, fn func(n *identity.User)) error
	}{
		{"Service.UpdateUser", func(s *identity.Service, u *identity.User, fn func(n *identity.User)) error {
			_, err := s.UpdateUser(ctx, "acme", u.ID, func(n *identity.User) error { fn(n); return nil })
			return err
		}},
		{"Txn.ReplaceUser", func(s *identity.Service, u *identity.User, fn func(n *identity.User)) error {
			return s.Update(ctx, func(tx *identity.Txn) error {
				old, err := tx.User(u.ID)
				if err != nil {
					return err
				}
				n := identity.CloneUser(old)
				fn(n)
				return tx.ReplaceUser(old, n)
			})
		}},
	}
	edits := []struct {
		name         string
		edit         func(n *identity.User)
		voids        bool
		wantVerified bool
	}{
		{"new address", func(n *identity.User) { n.Email = "new@acme.test" }, true, false},
		{"same address", func(n *identity.User) { n.Profile.GivenName = "Ann" }, false, true},
		{"same address in another case", func(n *identity.User) { n.Email = "Ann@ACME.test" }, false, true},
	}
	for _, link := range emailLinks() {
		for _, ch := range changers {
			for _, ed := range edits {
				t.Run(link.name+"/"+ch.name+"/"+ed.name, func(t *testing.T) {
					clock := testkit.NewClock(time.Now().UTC().Truncate(time.Second))
					s, err := identity.NewService(identity.Options{Store: memory.New(), Clock: clock.Now})
					if err != nil {
						t.Fatal(err)
					}
					mustOrg(t, s, "acme")
					u, err := s.CreateUser(ctx, "acme", identity.User{Email: "ann@acme.test", Enabled: true, Verified: true}, "")
					if err != nil {
						t.Fatal(err)
					}
					ticket := identity.Ticket{IDHash: identity.HashSecret("ticket-of-ann"), OrgID: u.OrgID, UserID: u.ID,
						CreatedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)}
					if err := s.Update(ctx, func(tx *identity.Txn) error { return tx.PutTicket(nil, &ticket) }); err != nil {
						t.Fatal(err)
					}
					unknown := link.check(s, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
					if !errors.Is(unknown, identity.ErrNotFound) {
						t.Fatalf("unknown link: %v", unknown)
					}
					tok := link.issue(t, s, u)
					if err := link.check(s, tok); err != nil {
						t.Fatalf("fresh link: %v", err)
					}
					if err := ch.change(s, u, ed.edit); err != nil {
						t.Fatal(err)
					}
					err = link.check(s, tok)
					switch {
					case ed.voids && (err == nil || err.Error() != unknown.Error()):
						t.Errorf("old link after the change: %v, want the unknown link's %v", err, unknown)
					case !ed.voids && err != nil:
						t.Errorf("old link after a no-op change: %v", err)
					}
					now, err := s.GetUser(ctx, "acme", u.ID)
					if err != nil {
						t.Fatal(err)
					}
					if now.Verified != ed.wantVerified {
						t.Errorf("verified = %v, want %v", now.Verified, ed.wantVerified)
					}
					if err := s.View(ctx, func(tx *identity.ReadTxn) error {
						_, err := tx.TicketByHash(ticket.IDHash)
						return err
					}); err != nil {
						t.Errorf("the user's session ended: %v", err)
					}
					if ed.voids {
						clock.Advance(2 * time.Minute) // the send cooldown
						if tok := link.issue(t, s, now); link.check(s, tok) != nil {
							t.Errorf("a link issued after the change: %v", link.check(s, tok))
						}
					}
				})
			}
		}
	}
}

// TestEmailChangeKeepsAssertedVerification: a write that changes the
// address and itself marks it verified (a host asserting what it
// checked) keeps the flag; the old address's links still die.
func TestEmailChangeKeepsAssertedVerification(t *testing.T) {
	ctx := context.Background()
	s, err := identity.NewService(identity.Options{Store: memory.New()})
	if err != nil {
		t.Fatal(err)
	}
	mustOrg(t, s, "acme")
	u, err := s.CreateUser(ctx, "acme", identity.User{Email: "ann@acme.test", Enabled: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.RequestPasswordReset(ctx, identity.PasswordResetRequest{OrgDomain: "acme", Email: u.Email, ClientAddr: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.UpdateUser(ctx, "acme", u.ID, func(n *identity.User) error {
		n.Email, n.Verified = "new@acme.test", true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !n.Verified {
		t.Error("an asserted verification was dropped")
	}
	if _, err := s.CheckPasswordReset(ctx, "acme", r.Token); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("old reset link: %v", err)
	}
	// A verified user whose address changes in a write that leaves the
	// flag as it was asserts nothing: it is cleared.
	n, err = s.UpdateUser(ctx, "acme", u.ID, func(n *identity.User) error { n.Email = "third@acme.test"; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if n.Verified {
		t.Error("verified kept for an address nobody verified")
	}
}
