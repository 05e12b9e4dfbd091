package identity_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
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
	if n, err := kv.SweepExpired(ctx, s.KVStore(kv.Inside()), s.Now(), 10); err != nil || n != 0 {
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
	if n, err := kv.SweepExpired(ctx, s.KVStore(kv.Inside()), s.Now(), 10); err != nil || n != 1 {
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
		if _, err := tx.VerificationTokenByHash(identity.PurposeReset, vt.IDHash); err != nil {
			t.Errorf("token revoked without being asked: %v", err)
		}
		return nil
	})
	_ = s.Update(ctx, func(tx *identity.Txn) error { _, err := tx.RevokeUserSessions(u.ID, true); return err })
	_ = s.View(ctx, func(tx *identity.ReadTxn) error {
		if _, err := tx.VerificationTokenByHash(identity.PurposeReset, vt.IDHash); !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("token after revocation: %v", err)
		}
		return nil
	})
	// Nothing is left to sweep: deletions cancelled their expiry entries.
	c.Advance(48 * time.Hour)
	if n, _ := kv.SweepExpired(ctx, s.KVStore(kv.Inside()), s.Now(), 10); n != 0 {
		t.Fatalf("%d stale expiry entries", n)
	}
}

func TestAttachmentsMetadata(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	o := mustOrg(t, s, "Files Org")
	u, _ := s.CreateUser(ctx, o.Domain, identity.User{Email: "a@example.com"}, "")
	a := &identity.Attachment{ID: "a1", UserID: u.ID, OrgID: o.ID, Name: "pic", ContentType: "image/png", Size: 10}
	var old *identity.Attachment
	if err := s.Update(ctx, func(tx *identity.Txn) (err error) { old, err = tx.PutAttachment(a); return }); err != nil || old != nil {
		t.Fatalf("first put: replaced %v, %v", old, err)
	}
	b := &identity.Attachment{ID: "a2", UserID: u.ID, OrgID: o.ID, Name: "pic", Size: 3}
	if err := s.Update(ctx, func(tx *identity.Txn) (err error) { old, err = tx.PutAttachment(b); return }); err != nil {
		t.Fatal(err)
	}
	if old == nil || old.ID != "a1" {
		t.Fatalf("replace returned %+v, want a1", old)
	}
	var gone []identity.Attachment
	if err := s.Update(ctx, func(tx *identity.Txn) (err error) { gone, err = tx.DeleteAttachments(u.ID); return }); err != nil {
		t.Fatal(err)
	}
	if len(gone) != 1 || gone[0].ID != "a2" {
		t.Fatalf("deleted %+v, want a2 only", gone)
	}
	_ = s.View(ctx, func(tx *identity.ReadTxn) error {
		if list, _ := tx.Attachments(u.ID); len(list) != 0 {
			t.Fatalf("%d attachments left", len(list))
		}
		return nil
	})
}

func TestBlobChunks(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	st := s.Backend(kv.Inside())
	data := make([]byte, 600<<10) // three chunks
	for i := range data {
		data[i] = byte(i * 7)
	}
	put := func(id string, b []byte, size int64) error {
		return st.Update(ctx, func(tx identity.Tx) error {
			return kv.PutBlob(tx, string(identity.Production), id, bytes.NewReader(b), size)
		})
	}
	read := func(id string) ([]byte, int64, error) {
		var out []byte
		var size int64
		err := st.View(ctx, func(tx identity.ReadTx) error {
			n, chunks, err := kv.BlobSize(tx, string(identity.Production), id)
			if err != nil {
				return err
			}
			size = n
			for i := 0; i < chunks; i++ {
				c, err := kv.BlobChunk(tx, string(identity.Production), id, i)
				if err != nil {
					return err
				}
				out = append(out, c...)
			}
			return nil
		})
		return out, size, err
	}
	if err := put("b1", data, int64(len(data))); err != nil {
		t.Fatal(err)
	}
	got, size, err := read("b1")
	if err != nil || size != int64(len(data)) || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes (size %d), %v", len(got), size, err)
	}
	// Replacing with a smaller blob leaves no old chunk behind.
	if err := put("b1", []byte("abc"), 3); err != nil {
		t.Fatal(err)
	}
	if got, size, err := read("b1"); err != nil || string(got) != "abc" || size != 3 {
		t.Fatalf("after replace: %q %d %v", got, size, err)
	}
	// The environment is part of the key.
	_ = st.View(ctx, func(tx identity.ReadTx) error {
		if _, _, err := kv.BlobSize(tx, string(identity.Sandbox), "b1"); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("sandbox sees the production blob: %v", err)
		}
		return nil
	})
	// A reader yielding another size than announced writes nothing.
	for _, size := range []int64{2, 4, -1} {
		if err := put("b2", []byte("abc"), size); !errors.Is(err, identity.ErrInvalid) {
			t.Fatalf("size %d: %v, want ErrInvalid", size, err)
		}
		if _, _, err := read("b2"); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("size %d: blob written anyway (%v)", size, err)
		}
	}
	// Empty blobs exist.
	if err := put("empty", nil, 0); err != nil {
		t.Fatal(err)
	}
	if got, size, err := read("empty"); err != nil || len(got) != 0 || size != 0 {
		t.Fatalf("empty blob: %q %d %v", got, size, err)
	}
	if err := st.Update(ctx, func(tx identity.Tx) error { return kv.DeleteBlob(tx, string(identity.Production), "b1") }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := read("b1"); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("deleted blob: %v", err)
	}
	// Bad ids are refused or not found, never a key outside the layout.
	if err := put("a\x00b", []byte("x"), 1); !errors.Is(err, identity.ErrInvalid) {
		t.Fatalf("id with NUL: %v", err)
	}
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
