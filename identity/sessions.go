package identity

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Sessions and per-user secrets: tickets, persistent logins, verification
// tokens and profile attachments. Each record is kept under the SHA-256 of
// its bearer secret (never the secret itself) in the transaction's
// environment, with a per-user index entry so that a password change can
// revoke every session of the user, and an expiry entry so SweepExpired
// reclaims it. Readers check expiry themselves: the sweeper runs late.

func ticketRecs(env Environment) Records[Ticket] { return Records[Ticket]{Env: env, Kind: "ticket"} }
func ploginRecs(env Environment) Records[PersistentLogin] {
	return Records[PersistentLogin]{Env: env, Kind: "persistent-login"}
}
func vtokenRecs(env Environment) Records[VerificationToken] {
	return Records[VerificationToken]{Env: env, Kind: "verification-token"}
}

// userSessionKey is the index entry of one session of a user.
func userSessionKey(env Environment, userID, kind, hash string) []byte {
	return Key(nsRecord, string(env), "user-session", userID, kind, hash)
}

func userSessionPrefix(env Environment, userID string) []byte {
	return append(Key(nsRecord, string(env), "user-session", userID), sep)
}

// TicketByHash returns the ticket stored under the SHA-256 hash of its id
// (see HashSecret). A ticket whose ExpiresAt has passed is ErrExpired even
// if the sweeper has not removed it yet.
func (t *ReadTxn) TicketByHash(hash string) (*Ticket, error) {
	tk, err := ticketRecs(t.s.env).Get(t.tx, hash)
	if err != nil {
		return nil, err
	}
	if !t.s.Now().Before(tk.ExpiresAt) {
		return &tk, fmt.Errorf("ticket %w", ErrExpired)
	}
	return &tk, nil
}

// PutTicket stores tk (keyed by tk.IDHash), replacing old (nil for a new
// ticket) and moving its expiry entry to tk.ExpiresAt.
func (t *Txn) PutTicket(old, tk *Ticket) error {
	env := t.s.env
	rk := ticketRecs(env).Key(tk.IDHash)
	if old != nil {
		if err := CancelExpiry(t.w, old.ExpiresAt, rk); err != nil {
			return err
		}
	}
	if err := ticketRecs(env).Put(t.w, tk.IDHash, *tk); err != nil {
		return err
	}
	ik := userSessionKey(env, tk.UserID, "ticket", tk.IDHash)
	if old == nil {
		if err := t.w.Put(ik, []byte{}); err != nil {
			return err
		}
	}
	return ScheduleExpiry(t.w, tk.ExpiresAt, rk, ik)
}

// DeleteTicket removes a ticket with its index and expiry entries.
func (t *Txn) DeleteTicket(tk *Ticket) error {
	env := t.s.env
	rk := ticketRecs(env).Key(tk.IDHash)
	if err := CancelExpiry(t.w, tk.ExpiresAt, rk); err != nil {
		return err
	}
	if err := t.w.Delete(userSessionKey(env, tk.UserID, "ticket", tk.IDHash)); err != nil {
		return err
	}
	return t.w.Delete(rk)
}

// PersistentLoginByHash returns the persistent login stored under the
// SHA-256 of its id (its ID field holds that hash). An expired one is
// ErrExpired.
func (t *ReadTxn) PersistentLoginByHash(hash string) (*PersistentLogin, error) {
	pl, err := ploginRecs(t.s.env).Get(t.tx, hash)
	if err != nil {
		return nil, err
	}
	if !t.s.Now().Before(pl.ExpiresAt) {
		return &pl, fmt.Errorf("persistent login %w", ErrExpired)
	}
	return &pl, nil
}

// PutPersistentLogin stores pl under pl.ID (the hash of the id the client
// holds). Its expiry is absolute: it is scheduled once, when old is nil.
func (t *Txn) PutPersistentLogin(old, pl *PersistentLogin) error {
	env := t.s.env
	if old != nil && (old.ID != pl.ID || !old.ExpiresAt.Equal(pl.ExpiresAt)) {
		return fmt.Errorf("persistent login id and expiry are immutable: %w", ErrInvalid)
	}
	if err := ploginRecs(env).Put(t.w, pl.ID, *pl); err != nil {
		return err
	}
	if old != nil {
		return nil
	}
	ik := userSessionKey(env, pl.UserID, "plogin", pl.ID)
	if err := t.w.Put(ik, []byte{}); err != nil {
		return err
	}
	return ScheduleExpiry(t.w, pl.ExpiresAt, ploginRecs(env).Key(pl.ID), ik)
}

// DeletePersistentLogin removes a persistent login with its index and
// expiry entries.
func (t *Txn) DeletePersistentLogin(pl *PersistentLogin) error {
	env := t.s.env
	rk := ploginRecs(env).Key(pl.ID)
	if err := CancelExpiry(t.w, pl.ExpiresAt, rk); err != nil {
		return err
	}
	if err := t.w.Delete(userSessionKey(env, pl.UserID, "plogin", pl.ID)); err != nil {
		return err
	}
	return t.w.Delete(rk)
}

// VerificationTokenByHash returns the verification or reset token stored
// under the SHA-256 of its id. An expired one is ErrExpired.
func (t *ReadTxn) VerificationTokenByHash(hash string) (*VerificationToken, error) {
	vt, err := vtokenRecs(t.s.env).Get(t.tx, hash)
	if err != nil {
		return nil, err
	}
	if !t.s.Now().Before(vt.ExpiresAt) {
		return &vt, fmt.Errorf("verification token %w", ErrExpired)
	}
	return &vt, nil
}

// PutVerificationToken stores a new verification or reset token.
func (t *Txn) PutVerificationToken(vt *VerificationToken) error {
	env := t.s.env
	if err := vtokenRecs(env).Put(t.w, vt.IDHash, *vt); err != nil {
		return err
	}
	ik := userSessionKey(env, vt.UserID, "vtoken", vt.IDHash)
	if err := t.w.Put(ik, []byte{}); err != nil {
		return err
	}
	return ScheduleExpiry(t.w, vt.ExpiresAt, vtokenRecs(env).Key(vt.IDHash), ik)
}

// DeleteVerificationToken removes a token (consuming it).
func (t *Txn) DeleteVerificationToken(vt *VerificationToken) error {
	env := t.s.env
	rk := vtokenRecs(env).Key(vt.IDHash)
	if err := CancelExpiry(t.w, vt.ExpiresAt, rk); err != nil {
		return err
	}
	if err := t.w.Delete(userSessionKey(env, vt.UserID, "vtoken", vt.IDHash)); err != nil {
		return err
	}
	return t.w.Delete(rk)
}

// RevokeUserSessions deletes every ticket and persistent login of the user
// (a password change, a deletion) and, when tokens is set, its pending
// verification and reset tokens too. It returns how many it deleted.
func (t *Txn) RevokeUserSessions(userID string, tokens bool) (int, error) {
	env := t.s.env
	type ent struct{ kind, hash string }
	var list []ent
	p := userSessionPrefix(env, userID)
	err := t.tx.Scan(p, ScanOptions{KeysOnly: true}, func(k, _ []byte) error {
		rest := k[len(p):]
		for i, b := range rest {
			if b == sep {
				list = append(list, ent{string(rest[:i]), string(rest[i+1:])})
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range list {
		switch e.kind {
		case "ticket":
			tk, err := ticketRecs(env).Get(t.tx, e.hash)
			if errors.Is(err, ErrNotFound) {
				err = t.w.Delete(userSessionKey(env, userID, e.kind, e.hash))
			} else if err == nil {
				err = t.DeleteTicket(&tk)
				n++
			}
			if err != nil {
				return n, err
			}
		case "plogin":
			pl, err := ploginRecs(env).Get(t.tx, e.hash)
			if errors.Is(err, ErrNotFound) {
				err = t.w.Delete(userSessionKey(env, userID, e.kind, e.hash))
			} else if err == nil {
				err = t.DeletePersistentLogin(&pl)
				n++
			}
			if err != nil {
				return n, err
			}
		case "vtoken":
			if !tokens {
				continue
			}
			vt, err := vtokenRecs(env).Get(t.tx, e.hash)
			if errors.Is(err, ErrNotFound) {
				err = t.w.Delete(userSessionKey(env, userID, e.kind, e.hash))
			} else if err == nil {
				err = t.DeleteVerificationToken(&vt)
				n++
			}
			if err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// Attachments: metadata under (user, name), bytes in chunks under the
// attachment id, so a large file never becomes one huge store value.

const blobChunk = 256 << 10

func attachmentKey(env Environment, userID, name string) []byte {
	return Key(nsRecord, string(env), "attachment", userID, name)
}

func attachmentPrefix(env Environment, userID string) []byte {
	return append(Key(nsRecord, string(env), "attachment", userID), sep)
}

func blobKey(env Environment, id string, chunk int) []byte {
	return Key(nsRecord, string(env), "blob", id, fmt.Sprintf("%08d", chunk))
}

func blobPrefix(env Environment, id string) []byte {
	return append(Key(nsRecord, string(env), "blob", id), sep)
}

// Attachments lists a user's attachments by name.
func (t *ReadTxn) Attachments(userID string) ([]Attachment, error) {
	out := []Attachment{}
	if checkParts([]string{userID}) != nil {
		return out, nil
	}
	err := t.tx.Scan(attachmentPrefix(t.s.env, userID), ScanOptions{}, func(_, v []byte) error {
		var a Attachment
		if err := json.Unmarshal(v, &a); err != nil {
			return fmt.Errorf("decode attachment: %w", err)
		}
		out = append(out, a)
		return nil
	})
	return out, err
}

// Attachment returns the user's attachment with the stored name.
func (t *ReadTxn) Attachment(userID, name string) (*Attachment, error) {
	if checkParts([]string{userID, name}) != nil {
		return nil, fmt.Errorf("attachment %w", ErrNotFound)
	}
	raw, err := t.tx.Get(attachmentKey(t.s.env, userID, name))
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("attachment %w", ErrNotFound)
		}
		return nil, err
	}
	var a Attachment
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("decode attachment: %w", err)
	}
	return &a, nil
}

// AttachmentData returns the bytes of an attachment.
func (t *ReadTxn) AttachmentData(a *Attachment) ([]byte, error) {
	out := make([]byte, 0, a.Size)
	err := t.tx.Scan(blobPrefix(t.s.env, a.ID), ScanOptions{}, func(_, v []byte) error {
		out = append(out, v...)
		return nil
	})
	return out, err
}

// PutAttachment stores a (replacing the user's attachment of the same
// name, bytes included) with data.
func (t *Txn) PutAttachment(a *Attachment, data []byte) error {
	if err := checkParts([]string{a.UserID, a.Name, a.ID}); err != nil {
		return err
	}
	if old, err := t.Attachment(a.UserID, a.Name); err == nil {
		if err := t.deleteBlob(old.ID); err != nil {
			return err
		}
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	for i := 0; i*blobChunk < len(data) || i == 0; i++ {
		end := min((i+1)*blobChunk, len(data))
		if err := t.w.Put(blobKey(t.s.env, a.ID, i), append([]byte{}, data[i*blobChunk:end]...)); err != nil {
			return err
		}
	}
	raw, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return t.w.Put(attachmentKey(t.s.env, a.UserID, a.Name), raw)
}

// DeleteAttachments removes every attachment of a user.
func (t *Txn) DeleteAttachments(userID string) error {
	list, err := t.Attachments(userID)
	if err != nil {
		return err
	}
	for _, a := range list {
		if err := t.deleteBlob(a.ID); err != nil {
			return err
		}
		if err := t.w.Delete(attachmentKey(t.s.env, a.UserID, a.Name)); err != nil {
			return err
		}
	}
	return nil
}

func (t *Txn) deleteBlob(id string) error {
	var keys [][]byte
	if err := t.tx.Scan(blobPrefix(t.s.env, id), ScanOptions{KeysOnly: true}, func(k, _ []byte) error {
		keys = append(keys, append([]byte(nil), k...))
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := t.w.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// DeleteOrgIfEmpty deletes the organization orgID, with its tenant settings
// in both environments and its unique claims, when it has no users and no
// applications left in either environment. It reports whether it did.
// The Crafter face calls it after deleting a tenant's profiles.
func (t *Txn) DeleteOrgIfEmpty(orgID string) (bool, error) {
	o, err := t.OrgByID(orgID)
	if err != nil {
		return false, err
	}
	for _, env := range []Environment{Sandbox, Production} {
		for _, set := range []Set{OrgUsers(env, orgID), OrgApps(env, orgID)} {
			n, err := set.Count(t.tx)
			if err != nil {
				return false, err
			}
			if n > 0 {
				return false, nil
			}
		}
	}
	if err := orgDomains.Release(t.w, "", o.Domain, o.ID); err != nil {
		return false, err
	}
	if err := orgObjectIDs.Release(t.w, "", o.ObjectID, o.ID); err != nil {
		return false, err
	}
	for _, d := range o.AllowedEmailDomains {
		if err := orgEmailDomains.Release(t.w, "", d, o.ID); err != nil {
			return false, err
		}
	}
	if err := orgList.Remove(t.w, o.ID); err != nil {
		return false, err
	}
	for _, env := range []Environment{Sandbox, Production} {
		if err := tenants(env).Delete(t.w, o.ID); err != nil {
			return false, err
		}
	}
	if err := t.s.orgs().Delete(t.w, o.ID); err != nil {
		return false, err
	}
	return true, t.Log(&Event{Code: EventOrganizationDeleted, OrgID: o.ID, TenantDomain: o.Domain})
}
