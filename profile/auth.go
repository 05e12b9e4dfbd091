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

// lockedErr is the answer to a locked account, with the core's lock
// duration.
func (s *Service) lockedErr(d *identity.Service) *Error {
	return apiErr(http.StatusForbidden, CodeOther,
		"Current account is locked for %s due to many failed attempts.", humanDuration(d.Lockout().LockFor))
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

// Authenticate checks a username and password and opens a ticket (§6.5).
// The rule is the identity core's password login (identity.PasswordLogin:
// one lockout policy for every face, unknown usernames counted and timed
// like existing ones, parallel guesses capped); this face maps its
// outcome to Crafter's answers: a wrong password or unknown username is
// 401 BAD_CREDENTIALS, answered after FailureDelay from the
// (DelayAfter+1)-th consecutive failure; a locked account is 403 with the
// formatted message "Current account is locked for ..." (Crafter answered
// 500); a disabled profile is 403 DISABLED_PROFILE, told only to the
// right password (Crafter told it to any password, which revealed the
// profile); a full hasher is 429.
func (s *Service) Authenticate(ctx context.Context, c *identity.Credential, tenant, username, pw string) (*Ticket, error) {
	if err := check(c, tenant, ActionManageTickets, ActionManageProfiles, ActionReadTenant); err != nil {
		return nil, err
	}
	if username == "" || pw == "" {
		// No profile has an empty username, and no password is empty:
		// a failed login, counted against nothing.
		return nil, badCredentials()
	}
	d := s.dir(c)
	var domain string
	if err := d.View(ctx, func(tx *identity.ReadTxn) error {
		o, _, err := loadTenant(tx, tenant)
		if err == nil {
			domain = o.Domain
		}
		return err
	}); isCode(err, CodeNoSuchTenant) {
		// Crafter looks the profile up by tenant and username without
		// reading the tenant: no such profile, 401 (its security
		// provider then tries its next tenant; a 404 would stop it).
		return nil, badCredentials()
	} else if err != nil {
		return nil, err
	}
	user, err := d.PasswordLogin(ctx, identity.PasswordLogin{OrgDomain: domain, Username: username, Password: pw,
		ActorID: c.ID})
	var le *identity.LoginError
	switch {
	case errors.As(err, &le) && errors.Is(err, identity.ErrLocked):
		return nil, s.lockedErr(d)
	case errors.As(err, &le) && errors.Is(err, identity.ErrDisabled):
		return nil, disabled(le.User, tenant)
	case errors.As(err, &le):
		if le.Failures > s.opts.DelayAfter {
			if err := s.opts.Sleep(ctx, s.opts.FailureDelay); err != nil {
				return nil, err
			}
		}
		return nil, badCredentials()
	case errors.Is(err, identity.ErrInvalid):
		return nil, badCredentials()
	case err != nil:
		return nil, err
	}
	var out *Ticket
	err = d.Update(ctx, func(tx *identity.Txn) error {
		u, err := tx.User(user.ID)
		if err != nil {
			return badCredentials()
		}
		out, err = s.openTicket(tx, u, tenant, c, false)
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
		if err := check(c, tenantOf(v.o), ActionManageTickets); err != nil {
			return err
		}
		if !v.u.Enabled {
			return disabled(v.u, tenantOf(v.o))
		}
		out, err = s.openTicket(tx, v.u, tenantOf(v.o), c, true)
		return err
	})
	return out, err
}

// touchTicket reads a live ticket (one of a tenant the caller has no
// permission entry for is notFound: ownerTenant), checks MANAGE_TICKETS on
// its tenant and slides its idle expiry. The tombstone of a ticket whose
// profile was deleted is ownerGone when not nil (after the same checks),
// else notFound.
//
// Every read moves lastRequestTime: the answer carries the time of this
// read, as Crafter's does. The store is rewritten only when the stored
// time is TicketTouchInterval old or more, so reads under load are
// coalesced into one write per interval; no reader sees the coalescing
// (each sees its own time, nothing shows the stored one), and the idle
// expiry lags the latest read by less than the interval.
func (s *Service) touchTicket(ctx context.Context, c *identity.Credential, id string, notFound, ownerGone *Error,
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
		gone := errors.Is(err, identity.ErrOwnerDeleted)
		if !gone && (errors.Is(err, identity.ErrNotFound) || errors.Is(err, identity.ErrExpired)) {
			return nil, "", notFound
		}
		if err != nil && !gone {
			return nil, "", err
		}
		domain, err := s.ownerDomain(tx, c, tk.OrgID, notFound)
		if err != nil {
			return nil, "", err
		}
		if err := check(c, domain, ActionManageTickets); err != nil {
			return nil, "", err
		}
		if gone {
			if ownerGone != nil {
				return nil, "", ownerGone
			}
			return nil, "", notFound
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
		out = &Ticket{ID: id, Tenant: domain, ProfileID: s.userObjectID(tx, tk.UserID), LastRequestTime: ms(now)}
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
	return s.touchTicket(ctx, c, id, apiErr(http.StatusNotFound, CodeNoSuchTicket, "No ticket found for the given ID"), nil, nil)
}

// ProfileByTicket returns the profile of a live ticket (unknown or expired:
// 400 NO_SUCH_TICKET, as Crafter answers; a ticket of a deleted profile:
// 404 NO_SUCH_PROFILE, as Crafter documents, which its client reads as
// null) and slides its expiry.
func (s *Service) ProfileByTicket(ctx context.Context, c *identity.Credential, id string, attrs []string) (*Profile, error) {
	var out *Profile
	_, err := s.touchTicket(ctx, c, id, apiErr(http.StatusBadRequest, CodeNoSuchTicket, "No ticket found for the given ID"),
		apiErr(http.StatusNotFound, CodeNoSuchProfile, "No profile found for the ticket"),
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
			if err := check(c, tenantOf(o), ActionManageProfiles, ActionReadTenant); err != nil {
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

// InvalidateTicket deletes a ticket, silently if absent (or of a tenant
// the caller has no permission entry for: ownerTenant).
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
		absent := apiErr(http.StatusNotFound, CodeNoSuchTicket, "No ticket found for the given ID")
		o, err := ownerTenant(&tx.ReadTxn, c, tk.OrgID, absent)
		if errors.Is(err, absent) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := check(c, tenantOf(o), ActionManageTickets); err != nil {
			return err
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
		if err := check(c, tenantOf(v.o), ActionManageTickets); err != nil {
			return err
		}
		if !v.u.Enabled {
			return disabled(v.u, tenantOf(v.o))
		}
		now := s.base.Now()
		pl := &identity.PersistentLogin{ID: identity.HashSecret(id), OrgID: v.u.OrgID, UserID: v.u.ID, Token: token,
			CreatedAt: now, ExpiresAt: now.Add(s.opts.PersistentLoginTTL)}
		if err := tx.PutPersistentLogin(nil, pl); err != nil {
			return err
		}
		out = &PersistentLogin{ID: id, Tenant: tenantOf(v.o), ProfileID: v.u.ObjectID, Token: token, Timestamp: ms(now)}
		return tx.Log(&identity.Event{Code: identity.EventPersistentLoginCreated, OrgID: v.u.OrgID, Email: v.u.Email,
			ResourceOwnerID: v.u.ID})
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
	o, err := ownerTenant(tx, c, pl.OrgID, noLogin())
	if err != nil {
		return nil, nil, err
	}
	if err := check(c, tenantOf(o), ActionManageTickets); err != nil {
		return nil, nil, err
	}
	out := &PersistentLogin{ID: id, Tenant: tenantOf(o), Token: pl.Token, Timestamp: ms(pl.CreatedAt)}
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
		if err := tx.DeletePersistentLogin(pl); err != nil {
			return err
		}
		return tx.Log(&identity.Event{Code: identity.EventPersistentLoginDeleted, OrgID: pl.OrgID, ResourceOwnerID: pl.UserID})
	})
}
