package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// Password login: one rule for every face (the hosted login page, the
// Crafter authenticate call, an embedder's own form).
//
// Lockout policy (Options.LockAfter, LockFor, FailureWindow): the
// LockAfter-th consecutive failure locks the identifier for LockFor from
// that failure; while locked, every attempt (even with the right password)
// is refused with ErrLocked and no password is checked. Once the lock has
// passed, the count is kept, so one more failure locks again at once (as
// in Crafter); a success clears it, and failures are forgotten
// FailureWindow after the latest one.
//
// One failure is reserved on the counter, in its own transaction, before
// the password is checked: N parallel guesses count N failures before any
// of them is verified, so no burst gets more than LockAfter checks. An
// attempt whose password could not be checked (a full hasher, a cancelled
// request) gives its reservation back.
//
// An identifier that names no user (or names one in an unknown
// organization) is counted exactly like an existing one, under the
// SHA-256 of (organization, kind, identifier) so the store never holds the
// names people mistype, and its password costs a dummy hash: neither the
// answer, the count at which it locks, nor the time it takes tells whether
// the account exists. A user without a password and a disabled user are
// counted the same way; a disabled user is told ErrDisabled only after
// the right password (Crafter answered DISABLED_PROFILE before checking
// it, which told anyone that the profile existed).

// Lockout defaults (Options.LockAfter, LockFor, FailureWindow).
const (
	DefaultLockAfter     = 10
	DefaultLockFor       = 10 * time.Minute
	DefaultFailureWindow = 24 * time.Hour
)

// LockoutPolicy is the password lockout policy a Service applies.
type LockoutPolicy struct {
	// LockAfter consecutive failures lock the identifier.
	LockAfter int
	// LockFor is how long a lock lasts from the failure that set it.
	LockFor time.Duration
	// FailureWindow: failures are forgotten this long after the latest.
	FailureWindow time.Duration
}

// Lockout returns the service's lockout policy (with defaults applied).
func (s *Service) Lockout() LockoutPolicy { return s.lockout }

// PasswordLogin is a password sign-in to one organization of the
// service's environment. Exactly one of Email and Username names the
// person.
type PasswordLogin struct {
	// OrgDomain is the organization's domain.
	OrgDomain string
	// Email identifies the user by email address (case-insensitive).
	Email string
	// Username identifies the user by username (the Crafter face).
	Username string
	// Password is the password presented.
	Password string
	// ClientID and ActorID are recorded in the audit events (the OAuth
	// client of the hosted page, the credential of an API call).
	ClientID string
	ActorID  string
	// Before, when set, runs first in the transaction that counts the
	// attempt (before the password is checked), so that a face's own
	// limit (a client address's attempts) shares that commit. If it
	// fails, nothing is counted and PasswordLogin returns its error
	// unchanged.
	Before func(tx *Txn) error
	// Then, when set, runs in the transaction that records a successful
	// login (failures reset, PASSWORD_LOGIN_SUCCESS logged), with the
	// signed-in user, so that a face writes what the sign-in opens (a
	// browser session, an authorization code) in the same commit instead
	// of one more. If it fails, the success is recorded without its
	// writes and PasswordLogin returns its error unchanged.
	Then func(tx *Txn, u *User) error
}

// LoginError is the error of a refused password login. It wraps
// ErrUnauthenticated (wrong password, unknown identifier), ErrLocked or
// ErrDisabled; match it with errors.Is and read the details with
// errors.As.
type LoginError struct {
	// Err is ErrUnauthenticated, ErrLocked or ErrDisabled.
	Err error
	// Failures is the number of consecutive failures counted, this one
	// included (ErrUnauthenticated), for a face that slows answers down.
	Failures int
	// LockedUntil is when the lock ends (ErrLocked).
	LockedUntil time.Time
	// User is the disabled user (ErrDisabled only: the password was
	// right).
	User *User
}

// Error describes the refusal without naming the account.
func (e *LoginError) Error() string {
	if errors.Is(e.Err, ErrLocked) {
		return fmt.Sprintf("password login: %v until %s", e.Err, e.LockedUntil.UTC().Format(time.RFC3339))
	}
	return "password login: " + e.Err.Error()
}

// Unwrap returns the sentinel.
func (e *LoginError) Unwrap() error { return e.Err }

// dummyVerifier is implemented by password.Hasher: it spends the time of
// one Verify, for identifiers without a usable hash.
type dummyVerifier interface {
	DummyVerify(ctx context.Context, password string) error
}

// loginCounter is the failure count of an identifier without a user.
type loginCounter struct {
	Failures int       `json:"failures"`
	Last     time.Time `json:"last"`
}

func loginCounters(env Environment) kv.Records[loginCounter] {
	return kv.Records[loginCounter]{Env: string(env), Kind: "login-failures"}
}

// counterKey is the record id of an identifier without a user: a hash, so
// the store never holds what people mistype (sometimes their password).
func counterKey(org, kind, ident string) string {
	return HashSecret(org + "\x00" + kind + "\x00" + ident)
}

// lockEnd returns when the lock of an identifier with failures
// consecutive failures, the latest at last, ends (zero: not locked at now).
func (p LockoutPolicy) lockEnd(failures int, last, lockedUntil *time.Time, now time.Time) time.Time {
	var end time.Time
	if failures >= p.LockAfter && last != nil {
		end = last.Add(p.LockFor)
	}
	if lockedUntil != nil && lockedUntil.After(end) {
		end = *lockedUntil
	}
	if !now.Before(end) {
		return time.Time{}
	}
	return end
}

// forgotten reports whether failures whose latest was at last count as
// none at now.
func (p LockoutPolicy) forgotten(last *time.Time, now time.Time) bool {
	return last != nil && !now.Before(last.Add(p.FailureWindow))
}

// loginTarget is what the reservation found.
type loginTarget struct {
	user     *User // nil: no user with that identifier
	orgID    string
	failures int
}

// PasswordLogin checks a password and returns the signed-in user. A
// refusal is a *LoginError; ErrBusy (the hasher is full) and a cancelled
// context count no failure. A hash in a legacy format or with old
// parameters is replaced after a successful check. The outcome is
// audited (PASSWORD_LOGIN_SUCCESS or PASSWORD_LOGIN_FAILED, USER_LOCKED).
func (s *Service) PasswordLogin(ctx context.Context, in PasswordLogin) (*User, error) {
	kind, ident := "email", NormalizeEmail(in.Email)
	if in.Username != "" {
		kind, ident = "username", in.Username
	}
	if ident == "" || in.Password == "" || (in.Email != "" && in.Username != "") {
		return nil, fmt.Errorf("password login needs one identifier and a password: %w", ErrInvalid)
	}
	if s.hasher == nil {
		return nil, errors.New("identity: password login needs Options.Hasher")
	}
	tg, err := s.reserveFailure(ctx, in.OrgDomain, kind, ident, in.Before)
	if le := (*LoginError)(nil); errors.As(err, &le) && errors.Is(err, ErrLocked) {
		if lerr := s.refusePassword(ctx, in, tg, kind, "locked"); lerr != nil {
			return nil, lerr
		}
	}
	if err != nil {
		return nil, err
	}
	ok, rehash := false, false
	if tg.user != nil && tg.user.PasswordHash != "" {
		ok, rehash, err = s.hasher.Verify(ctx, in.Password, tg.user.PasswordHash)
		if err != nil && !errors.Is(err, ErrBusy) && ctx.Err() == nil {
			// A corrupt stored hash is a failed login, not an outage.
			s.log.Error("identity: verifying a stored password hash", "user_id", tg.user.ID, "err", err)
			ok, err = false, nil
		}
	} else if dv, isDV := s.hasher.(dummyVerifier); isDV {
		err = dv.DummyVerify(ctx, in.Password)
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		s.releaseFailure(context.WithoutCancel(ctx), tg, in.OrgDomain, kind, ident)
		return nil, err
	}
	if !ok {
		reason := "unknown_" + kind
		if tg.user != nil {
			reason = "bad_password"
		}
		if err := s.refusePassword(ctx, in, tg, kind, reason); err != nil {
			return nil, err
		}
		return nil, &LoginError{Err: ErrUnauthenticated, Failures: tg.failures}
	}
	if !tg.user.Enabled {
		if err := s.refusePassword(ctx, in, tg, kind, "disabled"); err != nil {
			return nil, err
		}
		return nil, &LoginError{Err: ErrDisabled, Failures: tg.failures, User: tg.user}
	}
	newHash := ""
	if rehash {
		if h, err := s.hasher.Hash(ctx, in.Password); err == nil {
			newHash = h
		}
	}
	var out *User
	var thenErr error
	succeed := func(tx *Txn, then func(tx *Txn, u *User) error) error {
		thenErr = nil
		u, err := tx.OrgUser(tg.orgID, tg.user.ID)
		if err != nil {
			return &LoginError{Err: ErrUnauthenticated, Failures: tg.failures}
		}
		if u.PasswordHash != tg.user.PasswordHash {
			// The password changed while it was being checked.
			return &LoginError{Err: ErrUnauthenticated, Failures: tg.failures}
		}
		n := cloneUser(u)
		n.FailedLogins, n.LastFailedLogin, n.LockedUntil = 0, nil, nil
		if newHash != "" {
			n.PasswordHash = newHash
		}
		if err := tx.ReplaceUser(u, n); err != nil {
			return err
		}
		out = n
		if err := tx.Log(&Event{Code: EventPasswordLoginSuccess, OrgID: n.OrgID, TenantDomain: in.OrgDomain,
			ClientID: in.ClientID, ActorID: in.ActorID, Email: n.Email, ResourceOwnerID: n.ID}); err != nil {
			return err
		}
		if then != nil {
			if err := then(tx, n); err != nil {
				thenErr = err
				return err
			}
		}
		return nil
	}
	err = s.Update(ctx, func(tx *Txn) error { return succeed(tx, in.Then) })
	if failed := thenErr; failed != nil {
		// The login succeeded, the face's writes did not: record the
		// success alone.
		if err := s.Update(ctx, func(tx *Txn) error { return succeed(tx, nil) }); err != nil {
			return nil, err
		}
		return nil, failed
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// refusePassword audits a refused password login (PASSWORD_LOGIN_FAILED
// with its private reason: unknown_email, unknown_username, bad_password,
// disabled or locked) and logs it. An attempt on an unknown organization
// has no audit log to write to; it is only logged.
func (s *Service) refusePassword(ctx context.Context, in PasswordLogin, tg loginTarget, kind, reason string) error {
	ev := &Event{Code: EventPasswordLoginFailed, OrgID: tg.orgID, ClientID: in.ClientID, ActorID: in.ActorID,
		Data: map[string]any{"reason": reason, "failed_attempts": tg.failures}}
	if tg.user != nil {
		ev.Email, ev.ResourceOwnerID = tg.user.Email, tg.user.ID
	}
	ev.TenantDomain = in.OrgDomain
	if tg.orgID == "" {
		s.logRefusal(ctx, ev)
		return nil
	}
	return s.LogEvent(context.WithoutCancel(ctx), ev)
}

// reserveFailure counts one failure for the identifier, atomically, or
// returns the lockout refusal (with the target known so far, for its
// audit event). before, when set, runs first in the same transaction,
// and its writes commit even when the identifier is locked (a locked
// attempt still counts for the face).
func (s *Service) reserveFailure(ctx context.Context, orgDomain, kind, ident string, before func(*Txn) error) (loginTarget, error) {
	var tg loginTarget
	var locked error
	err := s.Update(ctx, func(tx *Txn) error {
		locked = nil
		if before != nil {
			if err := before(tx); err != nil {
				return err
			}
		}
		err := s.reserve(tx, &tg, orgDomain, kind, ident)
		if le := (*LoginError)(nil); before != nil && errors.As(err, &le) {
			// Nothing of the reservation was written: commit before's.
			locked = err
			return nil
		}
		return err
	})
	if err == nil {
		err = locked
	}
	return tg, err
}

// reserve is reserveFailure's work in tx, after before.
func (s *Service) reserve(tx *Txn, tgp *loginTarget, orgDomain, kind, ident string) error {
	tg := loginTarget{}
	defer func() { *tgp = tg }()
	now := s.Now()
	org, err := tx.Org(orgDomain)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	var u *User
	scope := "domain:" + orgDomain
	if org != nil {
		tg.orgID, scope = org.ID, org.ID
		if kind == "email" {
			u, err = tx.UserByEmail(org.ID, ident)
		} else {
			u, err = tx.UserByUsername(org.ID, ident)
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	if u == nil {
		tg.failures, err = s.reserveUnknown(tx, counterKey(scope, kind, ident), now)
		return err
	}
	n := cloneUser(u)
	if s.lockout.forgotten(n.LastFailedLogin, now) {
		n.FailedLogins, n.LockedUntil = 0, nil
	}
	if end := s.lockout.lockEnd(n.FailedLogins, n.LastFailedLogin, n.LockedUntil, now); !end.IsZero() {
		tg.user, tg.failures = u, n.FailedLogins
		return &LoginError{Err: ErrLocked, Failures: n.FailedLogins, LockedUntil: end}
	}
	n.FailedLogins++
	n.LastFailedLogin = &now
	if n.FailedLogins >= s.lockout.LockAfter {
		lu := now.Add(s.lockout.LockFor)
		n.LockedUntil = &lu
		if err := tx.Log(&Event{Code: EventUserLocked, OrgID: n.OrgID, TenantDomain: orgDomain, Email: n.Email,
			ResourceOwnerID: n.ID}); err != nil {
			return err
		}
	}
	if err := tx.ReplaceUser(u, n); err != nil {
		return err
	}
	tg.user, tg.failures = n, n.FailedLogins
	return nil
}

// reserveUnknown counts one failure for an identifier without a user. The
// record expires FailureWindow after the latest failure.
func (s *Service) reserveUnknown(tx *Txn, id string, now time.Time) (int, error) {
	recs := loginCounters(s.env)
	rec, err := recs.Get(tx.tx, id)
	exists := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return 0, err
	}
	if exists && s.lockout.forgotten(&rec.Last, now) {
		rec.Failures = 0
	}
	if exists {
		if end := s.lockout.lockEnd(rec.Failures, &rec.Last, nil, now); !end.IsZero() {
			return 0, &LoginError{Err: ErrLocked, Failures: rec.Failures, LockedUntil: end}
		}
		if err := kv.CancelExpiry(tx.w, rec.Last.Add(s.lockout.FailureWindow), recs.Key(id)); err != nil {
			return 0, err
		}
	}
	rec.Failures++
	rec.Last = now
	if err := recs.Put(tx.w, id, rec); err != nil {
		return 0, err
	}
	return rec.Failures, kv.ScheduleExpiry(tx.w, now.Add(s.lockout.FailureWindow), recs.Key(id))
}

// releaseFailure gives back a failure reserved for an attempt whose
// password was never checked.
func (s *Service) releaseFailure(ctx context.Context, tg loginTarget, orgDomain, kind, ident string) {
	err := s.Update(ctx, func(tx *Txn) error {
		if tg.user == nil {
			scope := tg.orgID
			if scope == "" {
				scope = "domain:" + orgDomain
			}
			recs := loginCounters(s.env)
			id := counterKey(scope, kind, ident)
			rec, err := recs.Get(tx.tx, id)
			if errors.Is(err, ErrNotFound) || err == nil && rec.Failures == 0 {
				return nil
			}
			if err != nil {
				return err
			}
			rec.Failures--
			return recs.Put(tx.w, id, rec)
		}
		u, err := tx.OrgUser(tg.orgID, tg.user.ID)
		if err != nil || u.FailedLogins == 0 {
			return err
		}
		n := cloneUser(u)
		n.FailedLogins--
		if n.FailedLogins < s.lockout.LockAfter {
			n.LockedUntil = nil
		}
		return tx.ReplaceUser(u, n)
	})
	if err != nil {
		s.log.Warn("identity: releasing a login attempt", "err", err)
	}
}
