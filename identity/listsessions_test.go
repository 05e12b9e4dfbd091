package identity_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestListUserSessions: a user's live tickets and persistent logins are
// listed newest first, without expired ones, another user's or a
// tombstone; another organization's user and an organization out of scope
// are not found; once EndSessions has run, none is left.
func TestListUserSessions(t *testing.T) {
	s, c := newService(t)
	ctx := context.Background()
	o := mustOrg(t, s, "Listed Org")
	other := mustOrg(t, s, "Other Org")
	u, err := s.CreateUser(ctx, o.Domain, identity.User{Email: "a@example.com"}, "")
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.CreateUser(ctx, o.Domain, identity.User{Email: "b@example.com"}, "")
	if err != nil {
		t.Fatal(err)
	}
	t0 := s.Now()
	err = s.Update(ctx, func(tx *identity.Txn) error {
		for _, tk := range []*identity.Ticket{
			{IDHash: identity.HashSecret("old"), OrgID: o.ID, UserID: u.ID, CreatedAt: t0, LastRequestAt: t0, ExpiresAt: t0.Add(time.Hour)},
			{IDHash: identity.HashSecret("short"), OrgID: o.ID, UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)},
			{IDHash: identity.HashSecret("gone"), OrgID: o.ID, UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), UserDeleted: true},
			{IDHash: identity.HashSecret("theirs"), OrgID: o.ID, UserID: v.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
		} {
			if err := tx.PutTicket(nil, tk); err != nil {
				return err
			}
		}
		return tx.PutPersistentLogin(nil, &identity.PersistentLogin{ID: identity.HashSecret("pl"), OrgID: o.ID, UserID: u.ID,
			Token: "tok", CreatedAt: t0.Add(time.Second), ExpiresAt: t0.Add(24 * time.Hour)})
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Minute) // "short" has expired
	got, n, err := s.ListUserSessions(ctx, o.Domain, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || len(got) != 2 || got[0].Kind != identity.SessionPersistentLogin || got[1].Kind != identity.SessionTicket ||
		!got[1].LastUsedAt.Equal(t0) || !got[1].ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("sessions = %d %+v", n, got)
	}
	if _, _, err := s.ListUserSessions(ctx, other.Domain, u.ID); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("through another organization: %v", err)
	}
	scoped, err := s.For(identity.Scope{Environment: identity.Production, Orgs: []string{other.Domain},
		Permissions: []string{identity.PermAll}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := scoped.ListUserSessions(ctx, o.Domain, u.ID); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("out of scope: %v", err)
	}
	if _, err := s.EndSessions(ctx, o.Domain, u.ID); err != nil {
		t.Fatal(err)
	}
	if got, n, err := s.ListUserSessions(ctx, o.Domain, u.ID); err != nil || n != 0 || len(got) != 0 {
		t.Errorf("after EndSessions: %d %+v %v", n, got, err)
	}
	if got, _, _ := s.ListUserSessions(ctx, o.Domain, v.ID); len(got) != 1 {
		t.Errorf("the other user's sessions: %+v", got)
	}
}
