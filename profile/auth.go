package profile

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
)

func badCredentials() *Error {
	return apiErr(http.StatusUnauthorized, CodeBadCredentials, "Invalid username and/or password")
}

func disabled(u *identity.User, tenant string) *Error {
	return apiErr(http.StatusForbidden, CodeDisabledProfile, "Profile %q of tenant %q is disabled", u.ObjectID, tenant)
}

func (s *Service) lockedErr() *Error {
	return apiErr(http.StatusForbidden, CodeOther,
		"Current account is locked for %s due to many failed attempts.", humanDuration(s.opts.LockFor))
}

func humanDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0 && d >= time.Hour:
		return plural(int(d/time.Hour), "hour")
	case d%time.Minute == 0 && d >= time.Minute:
		return plural(int(d/time.Minute), "minute")
	}
	return plural(int(d/time.Second), "second")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// lockedAt reports whether an account (known or not) with failures
// consecutive failures, the latest at last, is locked at now: the lock
// starts with the LockAfter-th failure and lasts LockFor from the latest.
func (s *Service) lockedAt(failures int, last *time.Time, now time.Time) bool {
	return failures >= s.opts.LockAfter && last != nil && now.Before(last.Add(s.opts.LockFor))
}

// forgotten reports whether failures whose latest was at last are past
// FailureWindow and count as none.
func (s *Service) forgotten(last *time.Time, now time.Time) bool {
	return last != nil && !now.Before(last.Add(s.opts.FailureWindow))
}

// unknownLogin counts the failures of a username that has no profile, so
// that it is answered exactly as an existing one would be.
type unknownLogin struct {
	Failures int       `json:"failures"`
	Last     time.Time `json:"last"`
}

func unknownRecs(env identity.Environment) identity.Records[unknownLogin] {
	return identity.Records[unknownLogin]{Env: env, Kind: "profile-unknown-login"}
}

// unknownKey is the record id of (tenant, username): a hash, so the store
// never holds the names people mistype (sometimes their passwords).
func unknownKey(orgID, username string) string {
	return identity.HashSecret(orgID + "\x00" + username)
}

// reserveUnknown counts one failure for a username without a profile and
// returns the new count, or the lockout answer. The record expires
// FailureWindow after the latest failure (SweepExpired reclaims it), so
// the table holds at most the names tried within that window.
func (s *Service) reserveUnknown(tx *identity.Txn, orgID, username string, now time.Time) (int, error) {
	recs := unknownRecs(tx.Env())
	id := unknownKey(orgID, username)
	raw := tx.RawTx()
	rec, err := recs.Get(raw, id)
	exists := err == nil
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		return 0, err
	}
	if exists && s.forgotten(&rec.Last, now) {
		rec.Failures = 0
	}
	if exists && s.lockedAt(rec.Failures, &rec.Last, now) {
		return 0, s.lockedErr()
	}
	if exists {
		if err := identity.CancelExpiry(raw, rec.Last.Add(s.opts.FailureWindow), recs.Key(id)); err != nil {
			return 0, err
		}
	}
	rec.Failures++
	rec.Last = now
	if err := recs.Put(raw, id, rec); err != nil {
		return 0, err
	}
	return rec.Failures, identity.ScheduleExpiry(raw, now.Add(s.opts.FailureWindow), recs.Key(id))
}

// Authenticate checks a username and password and opens a ticket (§6.5).
//
// Before the password is checked, one failure is reserved on the
// profile's counter in its own transaction: N parallel guesses count N
// failures before any of them is verified, so no burst can get more than
// LockAfter guesses. A success clears the counter. After DelayAfter
// failures a wrong password is answered after FailureDelay; from the
// LockAfter-th, the account is locked for LockFor and answers 403 even to
// the right password. Failures are forgotten FailureWindow after the
// latest (Crafter kept them until a success).
//
// A username without a profile is answered like an existing one with a
// wrong password, so neither the answers nor their timing tell whether an
// account exists: its failures are counted too (per environment, tenant
// and username, under a hash, expiring after FailureWindow), with the same
// delay and the same lockout answer (a design decision: an attacker sees
// a "locked" account whether or not it exists); the password costs a
// dummy hash; and the failure is audited (reason unknown_username, the
// name not recorded) in a second transaction, as a wrong password is.
// Only a disabled profile answers differently (403 DISABLED_PROFILE), as
// in Crafter.
func (s *Service) Authenticate(ctx context.Context, c *identity.Credential, tenant, username, pw string) (*Ticket, error) {
	if err := check(c, tenant, ActionManageTickets, ActionManageProfiles, ActionReadTenant); err != nil {
		return nil, err
	}
	if username == "" {
		return nil, missingParam("username")
	}
	if pw == "" {
		return nil, missingParam("password")
	}
	d := s.dir(c)
	var user *identity.User
	var org *identity.Organization
	failures := 0
	// Reserve one failure atomically.
	err := d.Update(ctx, func(tx *identity.Txn) error {
		user, org, failures = nil, nil, 0
		o, _, err := loadTenant(&tx.ReadTxn, tenant)
		if err != nil {
			return err
		}
		org = o
		now := s.base.Now()
		u, err := tx.UserByUsername(o.ID, username)
		if errors.Is(err, identity.ErrNotFound) {
			failures, err = s.reserveUnknown(tx, o.ID, username, now)
			return err
		}
		if err != nil {
			return err
		}
		if !u.Enabled {
			return disabled(u, tenant)
		}
		n := identity.CloneUser(u)
		if s.forgotten(n.LastFailedLogin, now) {
			n.FailedLogins = 0
		}
		if s.lockedAt(n.FailedLogins, n.LastFailedLogin, now) {
			return s.lockedErr()
		}
		n.FailedLogins++
		n.LastFailedLogin = &now
		if n.FailedLogins >= s.opts.LockAfter {
			lu := now.Add(s.opts.LockFor)
			n.LockedUntil = &lu
		}
		if err := tx.ReplaceUser(u, n); err != nil {
			return err
		}
		user, failures = n, n.FailedLogins
		return nil
	})
	if err != nil {
		return nil, err
	}
	ok, rehash := false, false
	switch {
	case user != nil && user.PasswordHash != "":
		ok, rehash, err = s.hasher.Verify(ctx, pw, user.PasswordHash)
		if err != nil && !errors.Is(err, identity.ErrBusy) && !errors.Is(err, context.Canceled) {
			// A corrupt stored hash is a failed login, not a 500.
			s.log.Error("profile: verifying a stored password hash", "user", user.ID, "err", err)
			ok, err = false, nil
		}
	default:
		if dv, isDV := s.hasher.(dummyVerifier); isDV {
			err = dv.DummyVerify(ctx, pw)
		}
	}
	if err != nil {
		// The check did not happen (hasher busy, request gone): give the
		// reserved attempt back.
		s.unreserve(context.WithoutCancel(ctx), d, org.ID, username, user != nil)
		return nil, err
	}
	if !ok {
		ev := &identity.Event{Code: identity.EventPasswordLoginFailed, OrgID: org.ID, ActorID: c.ID,
			Data: map[string]any{"reason": "unknown_username", "failed_attempts": failures}}
		if user != nil {
			ev.Email, ev.ResourceOwnerID = user.Email, user.ID
			ev.Data["reason"] = "bad_password"
		}
		if err := d.Update(ctx, func(tx *identity.Txn) error { return tx.Log(ev) }); err != nil {
			return nil, err
		}
		if failures > s.opts.DelayAfter {
			if err := s.opts.Sleep(ctx, s.opts.FailureDelay); err != nil {
				return nil, err
			}
		}
		return nil, badCredentials()
	}
	newHash := ""
	if rehash {
		if h, err := s.hasher.Hash(ctx, pw); err == nil {
			newHash = h
		}
	}
	var out *Ticket
	err = d.Update(ctx, func(tx *identity.Txn) error {
		u, err := tx.UserByUsername(org.ID, username)
		if err != nil {
			return badCredentials()
		}
		n := identity.CloneUser(u)
		n.FailedLogins, n.LockedUntil = 0, nil
		if newHash != "" && u.PasswordHash == user.PasswordHash {
			n.PasswordHash = newHash
		}
		if err := tx.ReplaceUser(u, n); err != nil {
			return err
		}
		if err := tx.Log(&identity.Event{Code: identity.EventPasswordLoginSuccess, OrgID: org.ID, Email: n.Email,
			ResourceOwnerID: n.ID, ActorID: c.ID}); err != nil {
			return err
		}
		out, err = s.openTicket(tx, n, org.Domain, c, false)
		return err
	})
	return out, err
}

// openTicket stores a new ticket for u; logEvent writes TICKET_CREATED
// (a password login already logged PASSWORD_LOGIN_SUCCESS).
func (s *Service) openTicket(tx *identity.Txn, u *identity.User, tenant string, c *identity.Credential, logEvent bool) (*Ticket, error) {
	id, err := s.base.NewSecret()
	if err != nil {
		return nil, err
	}
	now := s.base.Now()
	tk := &identity.Ticket{IDHash: identity.HashSecret(id), OrgID: u.OrgID, UserID: u.ID, CreatedAt: now,
		LastRequestAt: now, ExpiresAt: now.Add(s.opts.TicketIdle)}
	if err := tx.PutTicket(nil, tk); err != nil {
		return nil, err
	}
	if logEvent {
		if err := tx.Log(&identity.Event{Code: identity.EventTicketCreated, OrgID: u.OrgID, Email: u.Email,
			ResourceOwnerID: u.ID, ActorID: c.ID}); err != nil {
			return nil, err
		}
	}
	return &Ticket{ID: id, Tenant: tenant, ProfileID: u.ObjectID, LastRequestTime: ms(now)}, nil
}

// CreateTicket opens a ticket for a profile authenticated elsewhere
// (social, SSO). Lockout does not apply; a disabled profile is refused.
func (s *Service) CreateTicket(ctx context.Context, c *identity.Credential, profileID string) (*Ticket, error) {
	var out *Ticket
	err := s.dir(c).Update(ctx, func(tx *identity.Txn) error {
		v, err := loadProfile(&tx.ReadTxn, c, profileID)
		if err != nil {
			return err
		}
		if err := check(c, v.o.Domain, ActionManageTickets); err != nil {
			return err
		}
		if !v.u.Enabled {
			return disabled(v.u, v.o.Domain)
		}
		out, err = s.openTicket(tx, v.u, v.o.Domain, c, true)
		return err
	})
	return out, err
}

// touchTicket reads a live ticket, checks MANAGE_TICKETS on its tenant and
// slides its idle expiry. Reads within TicketTouchInterval of the last
// one do not rewrite it (the expiry moves by at most that much less).
func (s *Service) touchTicket(ctx context.Context, c *identity.Credential, id string, notFound *Error,
	then func(tx *identity.ReadTxn, domain string, tk *identity.Ticket) error) (*Ticket, error) {
	if id == "" {
		return nil, notFound
	}
	d := s.dir(c)
	hash := identity.HashSecret(id)
	var out *Ticket
	var needTouch bool
	read := func(tx *identity.ReadTxn) (*identity.Ticket, string, error) {
		tk, err := tx.TicketByHash(hash)
		if errors.Is(err, identity.ErrNotFound) || errors.Is(err, identity.ErrExpired) {
			return nil, "", notFound
		}
		if err != nil {
			return nil, "", err
		}
		domain, err := s.orgDomain(tx, tk.OrgID)
		if err != nil {
			return nil, "", notFound
		}
		if err := check(c, domain, ActionManageTickets); err != nil {
			return nil, "", err
		}
		return tk, domain, nil
	}
	now := s.base.Now()
	err := d.View(ctx, func(tx *identity.ReadTxn) error {
		tk, domain, err := read(tx)
		if err != nil {
			return err
		}
		needTouch = now.Sub(tk.LastRequestAt) >= s.opts.TicketTouchInterval
		if then != nil {
			if err := then(tx, domain, tk); err != nil {
				return err
			}
		}
		last := tk.LastRequestAt
		if needTouch {
			last = now
		}
		out = &Ticket{ID: id, Tenant: domain, ProfileID: s.userObjectID(tx, tk.UserID), LastRequestTime: ms(last)}
		return nil
	})
	if err != nil || !needTouch {
		return out, err
	}
	err = d.Update(ctx, func(tx *identity.Txn) error {
		tk, _, err := read(&tx.ReadTxn)
		if err != nil {
			return err
		}
		n := *tk
		n.LastRequestAt, n.ExpiresAt = now, now.Add(s.opts.TicketIdle)
		return tx.PutTicket(tk, &n)
	})
	return out, err
}

// GetTicket returns a live ticket and slides its expiry.
func (s *Service) GetTicket(ctx context.Context, c *identity.Credential, id string) (*Ticket, error) {
	return s.touchTicket(ctx, c, id, apiErr(http.StatusNotFound, CodeNoSuchTicket, "No ticket found for the given ID"), nil)
}

// ProfileByTicket returns the profile of a live ticket (unknown or expired:
// 400 NO_SUCH_TICKET, as Crafter answers) and slides its expiry.
func (s *Service) ProfileByTicket(ctx context.Context, c *identity.Credential, id string, attrs []string) (*Profile, error) {
	var out *Profile
	_, err := s.touchTicket(ctx, c, id, apiErr(http.StatusBadRequest, CodeNoSuchTicket, "No ticket found for the given ID"),
		func(tx *identity.ReadTxn, _ string, tk *identity.Ticket) error {
			o, err := tx.OrgByID(tk.OrgID)
			if err != nil {
				return err
			}
			u, err := tx.User(tk.UserID)
			if errors.Is(err, identity.ErrNotFound) {
				return apiErr(http.StatusNotFound, CodeNoSuchProfile, "No profile found for the ticket")
			}
			if err != nil {
				return err
			}
			if err := check(c, o.Domain, ActionManageProfiles, ActionReadTenant); err != nil {
				return err
			}
			tn, err := tx.Tenant(o.ID)
			if err != nil {
				return err
			}
			out, err = render(c, &view{u: u, o: o, tn: tn}, attrs, true)
			return err
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// InvalidateTicket deletes a ticket, silently if absent.
func (s *Service) InvalidateTicket(ctx context.Context, c *identity.Credential, id string) error {
	if id == "" {
		return nil
	}
	return s.dir(c).Update(ctx, func(tx *identity.Txn) error {
		tk, err := tx.TicketByHash(identity.HashSecret(id))
		if tk == nil {
			if errors.Is(err, identity.ErrNotFound) {
				return nil
			}
			return err
		}
		o, err := tx.OrgByID(tk.OrgID)
		if err == nil {
			if err := check(c, o.Domain, ActionManageTickets); err != nil {
				return err
			}
		}
		if err := tx.DeleteTicket(tk); err != nil {
			return err
		}
		return tx.Log(&identity.Event{Code: identity.EventTicketInvalidated, OrgID: tk.OrgID,
			ResourceOwnerID: tk.UserID, ActorID: c.ID})
	})
}

// ---- persistent logins (§6.4) ----

func noLogin() *Error {
	return apiErr(http.StatusNotFound, CodeNoSuchPersistentLogin, "No persistent login found for the given ID")
}

// CreatePersistentLogin opens a remember-me login for an enabled profile.
func (s *Service) CreatePersistentLogin(ctx context.Context, c *identity.Credential, profileID string) (*PersistentLogin, error) {
	id, err := s.base.NewSecret()
	if err != nil {
		return nil, err
	}
	token, err := s.base.NewSecret()
	if err != nil {
		return nil, err
	}
	var out *PersistentLogin
	err = s.dir(c).Update(ctx, func(tx *identity.Txn) error {
		v, err := loadProfile(&tx.ReadTxn, c, profileID)
		if err != nil {
			return err
		}
		if err := check(c, v.o.Domain, ActionManageTickets); err != nil {
			return err
		}
		if !v.u.Enabled {
			return disabled(v.u, v.o.Domain)
		}
		now := s.base.Now()
		pl := &identity.PersistentLogin{ID: identity.HashSecret(id), OrgID: v.u.OrgID, UserID: v.u.ID, Token: token,
			CreatedAt: now, ExpiresAt: now.Add(s.opts.PersistentLoginTTL)}
		if err := tx.PutPersistentLogin(nil, pl); err != nil {
			return err
		}
		out = &PersistentLogin{ID: id, Tenant: v.o.Domain, ProfileID: v.u.ObjectID, Token: token, Timestamp: ms(now)}
		return nil
	})
	return out, err
}

func (s *Service) loadLogin(tx *identity.ReadTxn, c *identity.Credential, id string) (*identity.PersistentLogin, *PersistentLogin, error) {
	if id == "" {
		return nil, nil, noLogin()
	}
	pl, err := tx.PersistentLoginByHash(identity.HashSecret(id))
	if errors.Is(err, identity.ErrNotFound) || errors.Is(err, identity.ErrExpired) {
		return nil, nil, noLogin()
	}
	if err != nil {
		return nil, nil, err
	}
	o, err := tx.OrgByID(pl.OrgID)
	if err != nil {
		return nil, nil, noLogin()
	}
	if err := check(c, o.Domain, ActionManageTickets); err != nil {
		return nil, nil, err
	}
	out := &PersistentLogin{ID: id, Tenant: o.Domain, Token: pl.Token, Timestamp: ms(pl.CreatedAt)}
	if u, err := tx.User(pl.UserID); err == nil {
		out.ProfileID = u.ObjectID
	}
	return pl, out, nil
}

// GetPersistentLogin returns a live persistent login.
func (s *Service) GetPersistentLogin(ctx context.Context, c *identity.Credential, id string) (*PersistentLogin, error) {
	var out *PersistentLogin
	err := s.dir(c).View(ctx, func(tx *identity.ReadTxn) (err error) {
		_, out, err = s.loadLogin(tx, c, id)
		return err
	})
	return out, err
}

// RefreshPersistentLogin replaces the login's token; its lifetime stays
// absolute.
func (s *Service) RefreshPersistentLogin(ctx context.Context, c *identity.Credential, id string) (*PersistentLogin, error) {
	token, err := s.base.NewSecret()
	if err != nil {
		return nil, err
	}
	var out *PersistentLogin
	err = s.dir(c).Update(ctx, func(tx *identity.Txn) error {
		pl, view, err := s.loadLogin(&tx.ReadTxn, c, id)
		if err != nil {
			return err
		}
		n := *pl
		n.Token = token
		if err := tx.PutPersistentLogin(pl, &n); err != nil {
			return err
		}
		view.Token = token
		out = view
		return tx.Log(&identity.Event{Code: identity.EventPersistentLoginUsed, OrgID: pl.OrgID,
			ResourceOwnerID: pl.UserID, ActorID: c.ID})
	})
	return out, err
}

// DeletePersistentLogin deletes a persistent login, silently if absent.
func (s *Service) DeletePersistentLogin(ctx context.Context, c *identity.Credential, id string) error {
	return s.dir(c).Update(ctx, func(tx *identity.Txn) error {
		pl, _, err := s.loadLogin(&tx.ReadTxn, c, id)
		var ae *Error
		if errors.As(err, &ae) && ae.Code == CodeNoSuchPersistentLogin {
			return nil
		}
		if err != nil {
			return err
		}
		return tx.DeletePersistentLogin(pl)
	})
}

// unreserve returns a failure reserved by Authenticate whose password was
// never checked, on the profile's counter (known) or the unknown
// username's.
func (s *Service) unreserve(ctx context.Context, d *identity.Service, orgID, username string, known bool) {
	err := d.Update(ctx, func(tx *identity.Txn) error {
		if !known {
			recs := unknownRecs(tx.Env())
			id := unknownKey(orgID, username)
			rec, err := recs.Get(tx.RawTx(), id)
			if errors.Is(err, identity.ErrNotFound) || err == nil && rec.Failures == 0 {
				return nil
			}
			if err != nil {
				return err
			}
			rec.Failures--
			return recs.Put(tx.RawTx(), id, rec)
		}
		u, err := tx.UserByUsername(orgID, username)
		if err != nil || u.FailedLogins == 0 {
			return err
		}
		n := identity.CloneUser(u)
		n.FailedLogins--
		if n.FailedLogins < s.opts.LockAfter {
			n.LockedUntil = nil
		}
		return tx.ReplaceUser(u, n)
	})
	if err != nil {
		s.log.Warn("profile: releasing a login attempt", "err", err)
	}
}
