package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// Sessions and per-user secrets: tickets, persistent logins, verification
// tokens and profile attachments (their metadata; blobs are below). Each record is kept under the SHA-256 of
// its bearer secret (never the secret itself) in the transaction's
// environment, with a per-user index entry so that a password change can
// revoke every session of the user, and an expiry entry so SweepExpired
// reclaims it. Readers check expiry themselves: the sweeper runs late.

func ticketRecs(env Environment) kv.Records[Ticket] {
	return kv.Records[Ticket]{Env: string(env), Kind: "ticket"}
}
func ploginRecs(env Environment) kv.Records[PersistentLogin] {
	return kv.Records[PersistentLogin]{Env: string(env), Kind: "persistent-login"}
}

// ploginRecord is the stored form of a persistent login: its token
// sealed (ploginRecs reads the same records without it).
type ploginRecord struct {
	PersistentLogin
	SealedToken []byte `json:"sealed_token,omitempty"`
	// LegacyToken is the clear token of stores written before sealing;
	// openSecrets seals it.
	LegacyToken string `json:"token,omitempty"`
}

func ploginStored(env Environment) kv.Records[ploginRecord] {
	return kv.Records[ploginRecord]{Env: string(env), Kind: "persistent-login"}
}
func vtokenRecs(env Environment) kv.Records[VerificationToken] {
	return kv.Records[VerificationToken]{Env: string(env), Kind: "verification-token"}
}

// userSessionKey is the index entry of one session of a user.
func userSessionKey(env Environment, userID, kind, hash string) []byte {
	return kv.Key(kv.NSRecord, kv.EnvPart(string(env)), "user-session", userID, kind, hash)
}

func userSessionPrefix(env Environment, userID string) []byte {
	return append(kv.Key(kv.NSRecord, kv.EnvPart(string(env)), "user-session", userID), kv.Sep)
}

// TicketByHash returns the ticket stored under the SHA-256 hash of its id
// (see HashSecret). A ticket whose ExpiresAt has passed is ErrExpired even
// if the sweeper has not removed it yet; the tombstone of a ticket whose
// user was deleted (Ticket.UserDeleted) is an error wrapping both
// ErrOwnerDeleted and ErrNotFound, returned with the tombstone (its
// OrgID tells which tenant may learn that).
func (t *ReadTxn) TicketByHash(hash string) (*Ticket, error) {
	tk, err := ticketRecs(t.s.env).Get(t.tx, hash)
	if err != nil {
		return nil, err
	}
	if !t.s.Now().Before(tk.ExpiresAt) {
		return &tk, fmt.Errorf("ticket %w", ErrExpired)
	}
	if tk.UserDeleted {
		return &tk, fmt.Errorf("ticket: %w, %w", ErrOwnerDeleted, ErrNotFound)
	}
	return &tk, nil
}

// PutTicket stores tk (keyed by tk.IDHash), replacing old (nil for a new
// ticket) and moving its expiry entry to tk.ExpiresAt.
func (t *Txn) PutTicket(old, tk *Ticket) error {
	env := t.s.env
	rk := ticketRecs(env).Key(tk.IDHash)
	if old != nil {
		if err := kv.CancelExpiry(t.w, old.ExpiresAt, rk); err != nil {
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
	return kv.ScheduleExpiry(t.w, tk.ExpiresAt, rk, ik)
}

// DeleteTicket removes a ticket with its index and expiry entries.
func (t *Txn) DeleteTicket(tk *Ticket) error {
	env := t.s.env
	rk := ticketRecs(env).Key(tk.IDHash)
	if err := kv.CancelExpiry(t.w, tk.ExpiresAt, rk); err != nil {
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
	rec, err := ploginStored(t.s.env).Get(t.tx, hash)
	if err != nil {
		return nil, err
	}
	pl := rec.PersistentLogin
	switch {
	case rec.SealedToken != nil:
		if pl.Token, err = t.s.secrets.openString(rec.SealedToken, ploginAAD(t.s.env, hash)); err != nil {
			return nil, fmt.Errorf("persistent login token: %w", err)
		}
	case rec.LegacyToken != "":
		pl.Token = rec.LegacyToken
	}
	if !t.s.Now().Before(pl.ExpiresAt) {
		return &pl, fmt.Errorf("persistent login %w", ErrExpired)
	}
	return &pl, nil
}

// PutPersistentLogin stores pl under pl.ID (the hash of the id the client
// holds), its token sealed. Its expiry is absolute: it is scheduled once, when old is nil.
func (t *Txn) PutPersistentLogin(old, pl *PersistentLogin) error {
	env := t.s.env
	if old != nil && (old.ID != pl.ID || !old.ExpiresAt.Equal(pl.ExpiresAt)) {
		return fmt.Errorf("persistent login id and expiry are immutable: %w", ErrInvalid)
	}
	rec := ploginRecord{PersistentLogin: *pl}
	if pl.Token != "" {
		sealed, err := t.s.secrets.sealString(pl.Token, ploginAAD(env, pl.ID))
		if err != nil {
			return err
		}
		rec.SealedToken = sealed
	}
	if err := ploginStored(env).Put(t.w, pl.ID, rec); err != nil {
		return err
	}
	if old != nil {
		return nil
	}
	ik := userSessionKey(env, pl.UserID, "plogin", pl.ID)
	if err := t.w.Put(ik, []byte{}); err != nil {
		return err
	}
	return kv.ScheduleExpiry(t.w, pl.ExpiresAt, ploginRecs(env).Key(pl.ID), ik)
}

// DeletePersistentLogin removes a persistent login with its index and
// expiry entries.
func (t *Txn) DeletePersistentLogin(pl *PersistentLogin) error {
	env := t.s.env
	rk := ploginRecs(env).Key(pl.ID)
	if err := kv.CancelExpiry(t.w, pl.ExpiresAt, rk); err != nil {
		return err
	}
	if err := t.w.Delete(userSessionKey(env, pl.UserID, "plogin", pl.ID)); err != nil {
		return err
	}
	return t.w.Delete(rk)
}

// VerificationTokenByHash returns the token of purpose (PurposeVerify,
// PurposeReset, PurposeInvite) stored under the SHA-256 of its id. A
// token of another purpose is ErrNotFound, as an unknown one: each face
// spends only the tokens it issues. An expired one is ErrExpired (with the
// token, so the caller may name it).
func (t *ReadTxn) VerificationTokenByHash(purpose, hash string) (*VerificationToken, error) {
	vt, err := vtokenRecs(t.s.env).Get(t.tx, hash)
	if err != nil {
		return nil, err
	}
	if vt.Purpose != purpose {
		return nil, fmt.Errorf("verification token %w", ErrNotFound)
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
	return kv.ScheduleExpiry(t.w, vt.ExpiresAt, vtokenRecs(env).Key(vt.IDHash), ik)
}

// DeleteVerificationToken removes a token (consuming it).
func (t *Txn) DeleteVerificationToken(vt *VerificationToken) error {
	env := t.s.env
	rk := vtokenRecs(env).Key(vt.IDHash)
	if err := kv.CancelExpiry(t.w, vt.ExpiresAt, rk); err != nil {
		return err
	}
	if err := t.w.Delete(userSessionKey(env, vt.UserID, "vtoken", vt.IDHash)); err != nil {
		return err
	}
	return t.w.Delete(rk)
}

// emailChanged is the rule of an address change, run by ReplaceUser in
// the write that changes it: whoever holds the old mailbox (a former
// employee, a mistyped address) loses every link mailed there. The
// user's pending invitation, password reset and verification tokens
// (Crafter's verification and reset tokens among them) are deleted, so
// each face answers them as unknown links; magic links and email codes
// name the address, not the user, and no longer find this one. u's
// address is not verified unless this write marks it so (old.Verified
// false, u.Verified true). The user's sessions are not ended.
func (t *Txn) emailChanged(old, u *User) error {
	if old.Verified {
		u.Verified = false
	}
	if u.AwaitsVerification == nil {
		// The new address is unverified, but the account does not
		// wait for it: verifying it enables nothing.
		no := false
		u.AwaitsVerification = &no
	}
	_, err := t.dropUserTokens(u.ID)
	return err
}

// dropUserTokens deletes every pending verification, reset and
// invitation token of the user (not its sessions) and returns how many.
func (t *Txn) dropUserTokens(userID string) (int, error) {
	env := t.s.env
	p := append(kv.Key(kv.NSRecord, kv.EnvPart(string(env)), "user-session", userID, "vtoken"), kv.Sep)
	var hashes []string
	if err := t.tx.Scan(p, ScanOptions{KeysOnly: true}, func(k, _ []byte) error {
		hashes = append(hashes, string(k[len(p):]))
		return nil
	}); err != nil {
		return 0, err
	}
	n := 0
	for _, h := range hashes {
		dropped, err := t.dropUserToken(userID, h)
		if dropped {
			n++
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// dropUserToken deletes the user's verification token with hash (its
// index entry alone when the token is already gone) and reports whether
// a token was deleted.
func (t *Txn) dropUserToken(userID, hash string) (bool, error) {
	env := t.s.env
	vt, err := vtokenRecs(env).Get(t.tx, hash)
	if errors.Is(err, ErrNotFound) {
		return false, t.w.Delete(userSessionKey(env, userID, "vtoken", hash))
	} else if err != nil {
		return false, err
	}
	return true, t.DeleteVerificationToken(&vt)
}

// RevokeUserSessions deletes every ticket and persistent login of the user
// (a deletion) and, when tokens is set, its pending verification and reset
// tokens too. It returns how many it deleted. It ends only the sessions
// the core keeps; EndUserSessions ends those of every kind.
func (t *Txn) RevokeUserSessions(userID string, tokens bool) (int, error) {
	return t.revokeUserSessions(userID, tokens, SessionRef{}, false)
}

// revokeUserSessions is RevokeUserSessions keeping the session keep; when
// userDeleted, tickets become tombstones (Ticket.UserDeleted) until their
// expiry instead of disappearing.
func (t *Txn) revokeUserSessions(userID string, tokens bool, keep SessionRef, userDeleted bool) (int, error) {
	env := t.s.env
	type ent struct{ kind, hash string }
	var list []ent
	p := userSessionPrefix(env, userID)
	err := t.tx.Scan(p, ScanOptions{KeysOnly: true}, func(k, _ []byte) error {
		rest := k[len(p):]
		for i, b := range rest {
			if b == kv.Sep {
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
			if keep.Is(SessionTicket, e.hash) {
				continue
			}
			tk, err := ticketRecs(env).Get(t.tx, e.hash)
			switch {
			case errors.Is(err, ErrNotFound):
				err = t.w.Delete(userSessionKey(env, userID, e.kind, e.hash))
			case err == nil && tk.UserDeleted:
			case err == nil && userDeleted:
				tomb := tk
				tomb.UserDeleted = true
				err = t.PutTicket(&tk, &tomb)
				n++
			case err == nil:
				err = t.DeleteTicket(&tk)
				n++
			}
			if err != nil {
				return n, err
			}
		case "plogin":
			if keep.Is(SessionPersistentLogin, e.hash) {
				continue
			}
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
			dropped, err := t.dropUserToken(userID, e.hash)
			if dropped {
				n++
			}
			if err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// Attachments: metadata under (user, name). The bytes live in a blob
// store chosen by the face (see package blob); the default keeps them in
// this store, in chunks under the blob id (PutBlob), so a large file never
// becomes one huge store value and can be read a chunk at a time.

func attachmentKey(env Environment, userID, name string) []byte {
	return kv.Key(kv.NSRecord, kv.EnvPart(string(env)), "attachment", userID, name)
}

func attachmentPrefix(env Environment, userID string) []byte {
	return append(kv.Key(kv.NSRecord, kv.EnvPart(string(env)), "attachment", userID), kv.Sep)
}

// Attachments lists a user's attachments by name.
func (t *ReadTxn) Attachments(userID string) ([]Attachment, error) {
	out := []Attachment{}
	if kv.CheckParts(userID) != nil {
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
	if kv.CheckParts(userID, name) != nil {
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

// PutAttachment stores the metadata a, replacing the user's attachment of
// the same name, and returns the replaced one (nil if none). The bytes are
// the caller's: it stores the new blob and deletes the replaced one's.
func (t *Txn) PutAttachment(a *Attachment) (*Attachment, error) {
	if err := checkParts(a.UserID, a.Name, a.ID); err != nil {
		return nil, err
	}
	old, err := t.Attachment(a.UserID, a.Name)
	if errors.Is(err, ErrNotFound) {
		old, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	return old, t.w.Put(attachmentKey(t.s.env, a.UserID, a.Name), raw)
}

// DeleteAttachments removes the metadata of every attachment of a user and
// returns what it removed; the caller deletes their blobs.
func (t *Txn) DeleteAttachments(userID string) ([]Attachment, error) {
	list, err := t.Attachments(userID)
	if err != nil {
		return nil, err
	}
	for _, a := range list {
		if err := t.w.Delete(attachmentKey(t.s.env, a.UserID, a.Name)); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// DeleteOrgIfEmpty deletes the organization orgID, with its tenant settings
// in both environments and its unique claims, when it has no users and no
// applications left in either environment. It reports whether it did.
// The Crafter face calls it after deleting a tenant's profiles, in the
// same transaction. Deleting a tenant may delete the organization record,
// which both environments share, so only production may: on a
// sandbox-bound transaction it is an error wrapping ErrForbidden, and the
// caller's transaction (with whatever it deleted before) is rolled back.
func (t *Txn) DeleteOrgIfEmpty(orgID string) (bool, error) {
	if err := t.s.orgWritable(); err != nil {
		return false, err
	}
	o, err := t.OrgByID(orgID)
	if err != nil {
		return false, err
	}
	for _, env := range []Environment{Sandbox, Production} {
		for _, set := range []kv.Set{orgUsers(env, orgID), orgApps(env, orgID)} {
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
	narrowed, err := t.orgLeavesCredentials(o.Domain)
	if err != nil {
		return false, err
	}
	apps, err := t.orgLeavesApps(o.Domain)
	if err != nil {
		return false, err
	}
	members, err := t.orgLeavesConsoleMembers(o.Domain)
	if err != nil {
		return false, err
	}
	// The organization's own log is out of reach once its domain is
	// released: the event is also listed in the account organization's
	// log (AllOrgs), where the account reads who deleted what.
	return true, t.Log(&Event{Code: EventOrganizationDeleted, OrgID: o.ID, TenantDomain: o.Domain, Orgs: []string{AllOrgs},
		Data: map[string]any{"credentials_narrowed": narrowed, "applications_narrowed": apps, "console_members_narrowed": members}})
}

// tenantLeaves returns Crafter tenant permissions without the grants of
// the tenant named name, and whether any changed: the token keeps what a
// "*" entry gives every tenant, and loses what it was given over the
// deleted one. The first entry whose tenant matches decides (Crafter's
// rule), so a denial of name (no actions) that a later "*" entry would
// otherwise stand in for is kept: the sweep never widens a token.
func tenantLeaves(perms []TenantPermission, name string) ([]TenantPermission, bool) {
	var out []TenantPermission
	changed := false
	for i, p := range perms {
		if p.Tenant != name {
			out = append(out, p)
			continue
		}
		wildcardAfter := slices.ContainsFunc(perms[i+1:], func(q TenantPermission) bool { return q.Tenant == "*" || q.Tenant == "" })
		if wildcardAfter && len(p.AllowedActions) == 0 {
			out = append(out, p)
			continue
		}
		changed = true
	}
	return out, changed
}

// orgLeavesApps takes a deleted organization's domain out of the
// applications of other organizations that name it, in both
// environments, and returns how many it changed: a domain in ServedOrgs
// is dropped, and an application whose OrganizationScope is the domain
// serves no organization any more (an empty ServedOrgs), so that none
// serves the organization that takes the domain next. It reads every
// application, in one scan per environment: deleting an organization is
// rare, and nothing indexes applications by the organizations they
// serve.
func (t *Txn) orgLeavesApps(domain string) (int, error) {
	n := 0
	for _, env := range credentialEnvs {
		var changed []Application
		if err := apps(env).Scan(t.tx, func(_ string, a Application) error {
			served := a.ServedOrgs
			if served != nil {
				served = slices.DeleteFunc(slices.Clone(served), func(d string) bool { return d == domain })
			}
			if a.OrganizationScope == domain {
				served = []string{}
			}
			if len(served) != len(a.ServedOrgs) || (served == nil) != (a.ServedOrgs == nil) {
				a.ServedOrgs = served
				changed = append(changed, a)
			}
			return nil
		}); err != nil {
			return n, err
		}
		for _, a := range changed {
			if err := apps(env).Put(t.w, a.ID, a); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// orgLeavesConsoleMembers takes a deleted organization's domain out of
// the console members limited to it and returns how many it changed. A
// member whose only organization it was loses its role (an empty list
// would mean every organization).
func (t *Txn) orgLeavesConsoleMembers(domain string) (int, error) {
	ids, err := consoleMemberList.Page(t.tx, false, 0, 0)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		m, err := consoleMembers().Get(t.tx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return n, err
		}
		if m.AllOrgs() || !slices.Contains(m.Orgs, domain) {
			continue
		}
		n++
		m.Orgs = slices.DeleteFunc(m.Orgs, func(d string) bool { return d == domain })
		if len(m.Orgs) > 0 {
			m.UpdatedAt = t.s.Now()
			if err := consoleMembers().Put(t.w, id, m); err != nil {
				return n, err
			}
			continue
		}
		if err := consoleMembers().Delete(t.w, id); err != nil {
			return n, err
		}
		if err := consoleMemberList.Remove(t.w, id); err != nil {
			return n, err
		}
		accountID, _ := orgDomains.Lookup(t.tx, "", t.s.account)
		if err := t.Log(&Event{Code: EventConsoleRoleRevoked, OrgID: accountID, Email: m.Email, ResourceOwnerID: id,
			Data: map[string]any{"role": string(m.Role), "reason": "organization_deleted"}}); err != nil {
			return n, err
		}
	}
	return n, nil
}

// orgLeavesCredentials takes a deleted organization's domain out of every
// credential that names it, in both environments (an API key's
// ManagedOrgs; an access token's tenant permissions, which name the
// tenant, TenantName of the domain: see tenantLeaves), and returns how
// many it changed. A domain is a name: another organization may take it
// later, and a credential granted over the deleted one must not reach
// its successor. A credential left with no organization reaches none
// (Scope.Manages); one over every organization (AllOrgs, Crafter's "*")
// is unchanged.
func (t *Txn) orgLeavesCredentials(domain string) (int, error) {
	n := 0
	for _, env := range credentialEnvs {
		ids, err := credentialList(env).Page(t.tx, false, 0, 0)
		if err != nil {
			return n, err
		}
		for _, id := range ids {
			rec, err := credentials().Get(t.tx, id)
			if errors.Is(err, ErrNotFound) {
				continue
			} else if err != nil {
				return n, err
			}
			orgs := slices.DeleteFunc(slices.Clone(rec.ManagedOrgs), func(d string) bool { return d == domain })
			perms, changed := tenantLeaves(rec.TenantPermissions, TenantName(domain))
			if len(orgs) == len(rec.ManagedOrgs) && !changed {
				continue
			}
			rec.ManagedOrgs, rec.TenantPermissions = orgs, perms
			if err := credentials().Put(t.w, id, rec); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// UserSession is one live session of a user that the core keeps: a
// Crafter ticket (Kind SessionTicket) or persistent login (Kind
// SessionPersistentLogin). It carries no secret. Sessions a package keeps
// outside the core (OIDC refresh families, browser sessions) are not
// listed; EndSessions ends them all.
type UserSession struct {
	Kind      string    `json:"kind"`
	CreatedAt time.Time `json:"created_at"`
	// LastUsedAt is a ticket's last request (zero for a persistent
	// login, whose uses are not recorded).
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// MaxListedSessions bounds how many sessions ListUserSessions returns.
const MaxListedSessions = 100

// ListUserSessions returns the live tickets and persistent logins of a
// user of orgDomain, newest first (at most MaxListedSessions), and the
// number of live ones. An organization outside the service's scope, or a
// user of another organization, is ErrNotFound.
func (s *Service) ListUserSessions(ctx context.Context, orgDomain, userID string) ([]UserSession, int, error) {
	var out []UserSession
	err := s.View(ctx, func(tx *ReadTxn) error {
		orgID, err := tx.OrgID(orgDomain)
		if err != nil {
			return err
		}
		if _, err := tx.OrgUser(orgID, userID); err != nil {
			return err
		}
		env, now := s.env, s.Now()
		p := userSessionPrefix(env, userID)
		return tx.tx.Scan(p, ScanOptions{KeysOnly: true}, func(k, _ []byte) error {
			kind, hash, ok := bytes.Cut(k[len(p):], []byte{kv.Sep})
			if !ok {
				return nil
			}
			var us UserSession
			switch string(kind) {
			case "ticket":
				tk, err := ticketRecs(env).Get(tx.tx, string(hash))
				if errors.Is(err, ErrNotFound) || (err == nil && tk.UserDeleted) {
					return nil
				} else if err != nil {
					return err
				}
				us = UserSession{Kind: SessionTicket, CreatedAt: tk.CreatedAt, LastUsedAt: tk.LastRequestAt, ExpiresAt: tk.ExpiresAt}
			case "plogin":
				pl, err := ploginRecs(env).Get(tx.tx, string(hash))
				if errors.Is(err, ErrNotFound) {
					return nil
				} else if err != nil {
					return err
				}
				us = UserSession{Kind: SessionPersistentLogin, CreatedAt: pl.CreatedAt, ExpiresAt: pl.ExpiresAt}
			default:
				return nil
			}
			if now.Before(us.ExpiresAt) {
				out = append(out, us)
			}
			return nil
		})
	})
	if err != nil {
		return nil, 0, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	n := len(out)
	if n > MaxListedSessions {
		out = out[:MaxListedSessions]
	}
	return out, n, nil
}
