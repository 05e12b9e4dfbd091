package profile

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestOtherPurposesAreNoTokensHere: a password-reset link of the hosted
// pages and a console invitation are tokens of the same directory, but
// not verification tokens of this face: reading, deleting, verifying
// with or changing a password by one answers as for an unknown token,
// and leaves it usable for its own purpose.
func TestOtherPurposesAreNoTokensHere(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	e.profile("acme", "alice", nil)
	ctx := context.Background()
	domain, ok := TenantDomain("acme")
	if !ok {
		t.Fatal("tenant name")
	}
	issue := func(purpose string) string {
		var tok string
		err := e.id.Update(ctx, func(tx *identity.Txn) error {
			o, err := tx.Org(domain)
			if err != nil {
				return err
			}
			u, err := tx.UserByEmail(o.ID, "alice@example.com")
			if err != nil {
				return err
			}
			tok, err = tx.IssueUserToken(u, purpose, time.Hour)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	reset := issue(identity.PurposeReset)
	inv, err := e.id.InviteUser(ctx, identity.InvitationRequest{OrgDomain: domain, UserID: userIDOf(t, e, domain, "alice@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"reset": reset, "invite": inv.Token} {
		t.Run(name, func(t *testing.T) {
			for _, r := range []struct {
				method, path string
				form         url.Values
			}{
				{"GET", "/api/1/profile/verification_token/" + tok + ".json", nil},
				{"POST", "/api/1/profile/verify.json", url.Values{"verificationTokenId": {tok}}},
				{"POST", "/api/1/profile/change_password.json", url.Values{"resetTokenId": {tok}, "newPassword": {"taken-over"}}},
			} {
				if got := e.do(r.method, r.path, e.master, r.form); got.status != 404 || got.code() != CodeNoSuchVerificationToken {
					t.Errorf("%s %s: %d %s", r.method, r.path, got.status, got.body)
				}
			}
			// Deleting an unknown token is a silent success in Crafter;
			// the token must survive it.
			e.mustOK(e.do("POST", "/api/1/profile/verification_token/"+tok+"/delete.json", e.master, nil))
		})
	}
	if _, err := e.id.CheckPasswordReset(ctx, domain, reset); err != nil {
		t.Errorf("the reset link no longer works: %v", err)
	}
	if _, err := e.id.CheckInvitation(ctx, domain, inv.Token); err != nil {
		t.Errorf("the invitation no longer works: %v", err)
	}
	if r := e.login("alice", "pw-alice"); r.status != 200 {
		t.Errorf("the password changed: %d %s", r.status, r.body)
	}
}

func userIDOf(t *testing.T, e *env, domain, email string) string {
	t.Helper()
	u, err := e.id.GetUserByEmail(context.Background(), domain, email)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}
