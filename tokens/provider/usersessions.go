package provider

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// What the provider keeps for a user (refresh-token families, browser
// sessions, unredeemed authorization codes) is indexed by user, so that
// the identity core can end all of it when the user's password changes
// (identity.Txn.EndUserSessions calls endUserSessions, registered by New
// with identity.Service.OnSessionsEnd).
//
// Index members are "f:"+family id, "s:"+SHA-256 of a session cookie and
// "c:"+SHA-256 of a code. Members whose record is gone (expired, ended,
// swept) are pruned a few at a time as members are added (indexGrant), so
// the index stays near the size of the user's live grants at a bounded
// cost per sign-in.

// userGrants is the index of one user's grants in env. It keeps no count
// (nothing reads one): a grant then writes its member's page alone.
func userGrants(env identity.Environment, userID string) kv.Set {
	return kv.Set{Env: string(env), Parts: []string{"oidc-user-grants", userID}, Uncounted: true}
}

// grantExists reports whether the record an index member names exists.
func grantExists(tx identity.ReadTx, member string) (bool, error) {
	kind, id, ok := strings.Cut(member, ":")
	if !ok {
		return false, nil
	}
	switch kind {
	case "f":
		return families.Exists(tx, id)
	case "s":
		return sessions.Exists(tx, id)
	case "c":
		return codes.Exists(tx, id)
	}
	return false, nil
}

// pruneSample is how many index members of each kind indexGrant checks
// per addition.
const pruneSample = 2

// indexGrant adds member to the user's index and prunes members whose
// record is gone among the pruneSample members of each kind (family,
// session, code) that follow the new member's id: a bounded cost per
// sign-in however many grants the user holds, while stale members, sampled
// from random points (ids are random), are removed about as fast as they
// appear. endUserSessions skips a member whose record is gone, so a stale
// one left for a while is harmless.
func indexGrant(tx identity.Tx, env identity.Environment, userID, member string) error {
	if userID == "" {
		return nil
	}
	set := userGrants(env, userID)
	_, id, _ := strings.Cut(member, ":")
	for _, kind := range []string{"c:", "f:", "s:"} {
		sample, err := set.After(tx, kind+id, false, pruneSample)
		if err != nil {
			return err
		}
		for _, m := range sample {
			if m == member || !strings.HasPrefix(m, kind) {
				continue
			}
			ok, err := grantExists(tx, m)
			if err != nil {
				return err
			}
			if !ok {
				if err := set.Remove(tx, m); err != nil {
					return err
				}
			}
		}
	}
	return set.Add(tx, member, nil)
}

// endUserSessions is the provider's identity.SessionRevoker: inside the
// core's transaction it revokes every refresh family of u (its refresh
// tokens stop working, introspection reports its access tokens inactive),
// ends its browser sessions (prompt=none then needs a new sign-in) and
// deletes its unredeemed codes. keep may name a refresh token (its family
// stays) or a browser session (it stays).
func (p *Provider) endUserSessions(tx *identity.Txn, u *identity.User, keep identity.SessionRef) (int, error) {
	raw := tx.KVTx(kv.Inside())
	env := tx.Env()
	keepFamily, keepToken := "", ""
	if keep.Kind == identity.SessionRefreshToken && keep.Hash != "" {
		// A token made before ordered secrets is keyed by this hash; a
		// newer one is recognized by its family (familyRecord.names).
		keepToken = keep.Hash
		rec, err := refreshes.Get(raw, keep.Hash)
		if err != nil && !errors.Is(err, identity.ErrNotFound) {
			return 0, err
		}
		if err == nil && rec.UserID == u.ID && rec.Env == env {
			keepFamily = rec.FamilyID
		}
	}
	set := userGrants(env, u.ID)
	var members []string
	if err := set.Each(raw, false, func(m string, _ []byte) error {
		members = append(members, m)
		return nil
	}); err != nil {
		return 0, err
	}
	now := p.now()
	n := 0
	for _, m := range members {
		kind, id, _ := strings.Cut(m, ":")
		switch kind {
		case "f":
			if id == keepFamily {
				continue
			}
			fam, err := families.Get(raw, id)
			if errors.Is(err, identity.ErrNotFound) {
				break
			}
			if err != nil {
				return n, err
			}
			if fam.UserID != u.ID {
				break
			}
			if fam.names(keepToken) {
				continue
			}
			if fam.RevokedAt == nil {
				n++
			}
			if err := revokeFamily(raw, id, now, "password_changed"); err != nil {
				return n, err
			}
		case "s":
			if keep.Is(identity.SessionBrowser, id) {
				continue
			}
			s, err := sessions.Get(raw, id)
			if errors.Is(err, identity.ErrNotFound) {
				break
			}
			if err != nil {
				return n, err
			}
			if s.UserID != u.ID || s.Env != env {
				break
			}
			if s.SCI != "" {
				if err := ssoSessions(s.Env, s.SCI, s.UserID).Remove(raw, id); err != nil {
					return n, err
				}
			}
			if err := sessions.Delete(raw, id); err != nil {
				return n, err
			}
			n++
		case "c":
			c, err := codes.Get(raw, id)
			if errors.Is(err, identity.ErrNotFound) {
				break
			}
			if err != nil {
				return n, err
			}
			if c.UserID != u.ID || c.Env != env || c.Used {
				// A used code's family is indexed on its own.
				break
			}
			if err := codes.Delete(raw, id); err != nil {
				return n, err
			}
			n++
		}
		if err := set.Remove(raw, m); err != nil {
			return n, err
		}
	}
	return n, nil
}

// predatesPasswordChange reports whether a grant (an index member) whose
// sign-in was at authTime was made before the user's latest password
// change and is not in the user's index: a grant made before grants were
// indexed (an older version of Gatehouse), which endUserSessions could not
// reach. Such a grant is refused as if it had been revoked. Indexed grants
// that outlived a change were kept on purpose (PasswordChange.Keep).
func (p *Provider) predatesPasswordChange(ctx context.Context, env identity.Environment, u *identity.User, member string,
	authTime time.Time) (bool, error) {
	if u.PasswordChangedAt == nil || !authTime.Before(*u.PasswordChangedAt) || p.ids.KeepsSessionsOnPasswordChange() {
		return false, nil
	}
	indexed := false
	err := p.ids.View(ctx, func(tx *identity.ReadTxn) (err error) {
		indexed, err = userGrants(env, u.ID).Has(tx.KV(kv.Inside()), member)
		return err
	})
	return !indexed, err
}
