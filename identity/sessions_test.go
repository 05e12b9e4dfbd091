package identity_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
)

func TestSessionsExpireAndRevoke(t *testing.T) {
	s, c := newService(t)
	ctx := context.Background()
	o := mustOrg(t, s, "Sessions Org")
	u, err := s.CreateUser(ctx, o.Domain, identity.User{Email: "a@example.com"}, "")
	if err != nil {
		t.Fatal(err)
	}
	now := s.Now()
	tk := &identity.Ticket{IDHash: identity.HashSecret("t1"), OrgID: o.ID, UserID: u.ID, CreatedAt: now,
		LastRequestAt: now, ExpiresAt: now.Add(15 * time.Minute)}
	pl := &identity.PersistentLogin{ID: identity.HashSecret("p1"), OrgID: o.ID, UserID: u.ID, Token: "tok",
		CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
	vt := &identity.VerificationToken{IDHash: identity.HashSecret("v1"), OrgID: o.ID, UserID: u.ID,
		Purpose: identity.PurposeReset, CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
	err = s.Update(ctx, func(tx *identity.Txn) error {
		if err := tx.PutTicket(nil, tk); err != nil {
			return err
		}
		if err := tx.PutPersistentLogin(nil, pl); err != nil {
			return err
		}
		return tx.PutVerificationToken(vt)
	})
	if err != nil {
		t.Fatal(err)
	}
	// Sliding: move the ticket's expiry.
	c.Advance(10 * time.Minute)
	err = s.Update(ctx, func(tx *identity.Txn) error {
		old, err := tx.TicketByHash(tk.IDHash)
		if err != nil {
			return err
		}
		n := *old
		n.LastRequestAt, n.ExpiresAt = s.Now(), s.Now().Add(15*time.Minute)
		return tx.PutTicket(old, &n)
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(10 * time.Minute) // 20 min after creation, 10 after the touch
	if n, err := identity.SweepExpired(ctx, s.Store(), s.Now(), 10); err != nil || n != 0 {
		t.Fatalf("sweep removed %d (%v) entries; the touched ticket's old expiry must be cancelled", n, err)
	}
	_ = s.View(ctx, func(tx *identity.ReadTxn) error {
		if _, err := tx.TicketByHash(tk.IDHash); err != nil {
			t.Errorf("touched ticket: %v", err)
		}
		return nil
	})
	c.Advance(6 * time.Minute)
	_ = s.View(ctx, func(tx *identity.ReadTxn) error {
		if _, err := tx.TicketByHash(tk.IDHash); !errors.Is(err, identity.ErrExpired) {
			t.Errorf("idle ticket read before the sweep: %v, want ErrExpired", err)
		}
		return nil
	})
	if n, err := identity.SweepExpired(ctx, s.Store(), s.Now(), 10); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v, want 1", n, err)
	}
	// Revoke the rest: the login always, tokens on request.
	err = s.Update(ctx, func(tx *identity.Txn) error {
		n, err := tx.RevokeUserSessions(u.ID, false)
		if n != 1 {
			t.Errorf("revoked %d sessions, want 1 (the persistent login)", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.View(ctx, func(tx *identity.ReadTxn) error {
		if _, err := tx.PersistentLoginByHash(pl.ID); !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("revoked login: %v", err)
		}
		if _, err := tx.VerificationTokenByHash(vt.IDHash); err != nil {
			t.Errorf("token revoked without being asked: %v", err)
		}
		return nil
	})
	_ = s.Update(ctx, func(tx *identity.Txn) error { _, err := tx.RevokeUserSessions(u.ID, true); return err })
	_ = s.View(ctx, func(tx *identity.ReadTxn) error {
		if _, err := tx.VerificationTokenByHash(vt.IDHash); !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("token after revocation: %v", err)
		}
		return nil
	})
	// Nothing is left to sweep: deletions cancelled their expiry entries.
	c.Advance(48 * time.Hour)
	if n, _ := identity.SweepExpired(ctx, s.Store(), s.Now(), 10); n != 0 {
		t.Fatalf("%d stale expiry entries", n)
	}
}

func TestAttachmentsChunked(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	o := mustOrg(t, s, "Files Org")
	u, _ := s.CreateUser(ctx, o.Domain, identity.User{Email: "a@example.com"}, "")
	data := make([]byte, 600<<10) // three chunks
	for i := range data {
		data[i] = byte(i)
	}
	a := &identity.Attachment{ID: "a1", UserID: u.ID, OrgID: o.ID, Name: "pic", ContentType: "image/png", Size: int64(len(data))}
	if err := s.Update(ctx, func(tx *identity.Txn) error { return tx.PutAttachment(a, data) }); err != nil {
		t.Fatal(err)
	}
	_ = s.View(ctx, func(tx *identity.ReadTxn) error {
		got, err := tx.Attachment(u.ID, "pic")
		if err != nil {
			t.Fatal(err)
		}
		b, err := tx.AttachmentData(got)
		if err != nil || len(b) != len(data) || b[len(b)-1] != data[len(data)-1] {
			t.Fatalf("data %d bytes, %v", len(b), err)
		}
		return nil
	})
	// Replacing with a smaller file leaves no old chunk behind.
	small := &identity.Attachment{ID: "a2", UserID: u.ID, OrgID: o.ID, Name: "pic", Size: 3}
	if err := s.Update(ctx, func(tx *identity.Txn) error { return tx.PutAttachment(small, []byte("abc")) }); err != nil {
		t.Fatal(err)
	}
	_ = s.View(ctx, func(tx *identity.ReadTxn) error {
		list, _ := tx.Attachments(u.ID)
		b, _ := tx.AttachmentData(&list[0])
		if len(list) != 1 || string(b) != "abc" {
			t.Fatalf("after replace: %d attachments, %q", len(list), b)
		}
		old, _ := tx.AttachmentData(a)
		if len(old) != 0 {
			t.Fatal("old chunks left")
		}
		return nil
	})
}

func TestDeleteOrgIfEmpty(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	o := mustOrg(t, s, "Busy Org")
	sb, _ := s.ForEnvironment(identity.Sandbox)
	if _, err := sb.CreateUser(ctx, o.Domain, identity.User{Email: "a@example.com"}, ""); err != nil {
		t.Fatal(err)
	}
	var gone bool
	_ = s.Update(ctx, func(tx *identity.Txn) (err error) { gone, err = tx.DeleteOrgIfEmpty(o.ID); return })
	if gone {
		t.Fatal("deleted an organization with sandbox users")
	}
	e := mustOrg(t, s, "Empty Org")
	if err := s.Update(ctx, func(tx *identity.Txn) (err error) { gone, err = tx.DeleteOrgIfEmpty(e.ID); return }); err != nil || !gone {
		t.Fatalf("empty organization: %v %v", gone, err)
	}
	if _, err := s.GetOrganization(ctx, "empty-org"); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("deleted organization still found: %v", err)
	}
	mustOrg(t, s, "Empty Org") // the domain is free again
}
