package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// ConsoleSession is a signed-in session of the admin console. Its token is
// a bearer secret of 256 bits that the browser keeps in a cookie; the
// store keeps only its SHA-256 (IDHash).
type ConsoleSession struct {
	IDHash string `json:"id_hash"`
	// UserID is the console member's user id.
	UserID     string    `json:"user_id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	// ExpiresAt is the absolute end of the session.
	ExpiresAt time.Time `json:"expires_at"`
	// Idle is how long the session survives without a request.
	Idle time.Duration `json:"idle"`
}

// ConsoleSessionPolicy bounds console sessions: Idle without a request,
// Absolute from the sign-in, whatever the activity.
type ConsoleSessionPolicy struct {
	Idle     time.Duration
	Absolute time.Duration
}

// Default console session timeouts.
const (
	DefaultConsoleIdle     = 30 * time.Minute
	DefaultConsoleAbsolute = 12 * time.Hour
)

func (p ConsoleSessionPolicy) normalize() ConsoleSessionPolicy {
	if p.Idle <= 0 {
		p.Idle = DefaultConsoleIdle
	}
	if p.Absolute <= 0 {
		p.Absolute = DefaultConsoleAbsolute
	}
	if p.Idle > p.Absolute {
		p.Idle = p.Absolute
	}
	return p
}

func consoleSessions() kv.Records[ConsoleSession] {
	return kv.Records[ConsoleSession]{Kind: "console-session"}
}

// OpenConsoleSession opens a console session for the user with userID, who
// must hold a console role and be enabled (else ErrForbidden), and returns
// its token (shown once) with the session. It logs CONSOLE_SIGNED_IN.
func (s *Service) OpenConsoleSession(ctx context.Context, userID string, p ConsoleSessionPolicy) (string, *ConsoleSession, error) {
	if err := s.consoleAdmin(); err != nil {
		return "", nil, err
	}
	p = p.normalize()
	tok, err := NewSecret(s.rand)
	if err != nil {
		return "", nil, err
	}
	now := s.Now()
	cs := ConsoleSession{IDHash: HashSecret(tok), UserID: userID, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(p.Absolute), Idle: p.Idle}
	err = s.Update(ctx, func(tx *Txn) error {
		m, u, err := tx.consoleUser(userID)
		if err != nil {
			return err
		}
		if err := consoleSessions().Put(tx.w, cs.IDHash, cs); err != nil {
			return err
		}
		if err := kv.ScheduleExpiry(tx.w, cs.ExpiresAt, consoleSessions().Key(cs.IDHash)); err != nil {
			return err
		}
		return tx.Log(&Event{Code: EventConsoleSignedIn, OrgID: u.OrgID, Email: u.Email, ResourceOwnerID: u.ID,
			ActorID: u.ID, Data: map[string]any{"role": string(m.Role)}})
	})
	if err != nil {
		return "", nil, err
	}
	return tok, &cs, nil
}

// consoleUser returns the member and user of userID, or ErrForbidden when
// the user holds no console role, is not in the account's organization,
// or is disabled.
func (t *ReadTxn) consoleUser(userID string) (*ConsoleMember, *User, error) {
	forbidden := fmt.Errorf("not a console member: %w", ErrForbidden)
	if kv.CheckParts(userID) != nil {
		return nil, nil, forbidden
	}
	m, err := consoleMembers().Get(t.tx, userID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, forbidden
	} else if err != nil {
		return nil, nil, err
	}
	orgID, err := t.OrgID(t.s.account)
	if err != nil {
		return nil, nil, forbidden
	}
	u, err := t.OrgUser(orgID, userID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, forbidden
	} else if err != nil {
		return nil, nil, err
	}
	if !u.Enabled {
		return nil, nil, fmt.Errorf("console member: %w", ErrForbidden)
	}
	return &m, u, nil
}

// ConsoleSession returns the session whose token is token with its
// member's current role, and records the activity. The answer is an error
// wrapping ErrUnauthenticated for an unknown token and for a session that
// has ended: idle longer than its Idle, past its absolute ExpiresAt (these
// two also wrap ErrExpired), of a user who lost the console role, was
// disabled or deleted, or whose password changed after the sign-in. An
// ended session is deleted.
func (s *Service) ConsoleSession(ctx context.Context, token string) (*ConsoleSession, *ConsoleMember, error) {
	if err := s.consoleAdmin(); err != nil {
		return nil, nil, err
	}
	if token == "" {
		return nil, nil, fmt.Errorf("console session: %w", ErrUnauthenticated)
	}
	h := HashSecret(token)
	var (
		cs    ConsoleSession
		m     *ConsoleMember
		why   error
		touch bool
	)
	now := s.Now()
	err := s.View(ctx, func(tx *ReadTxn) error {
		var err error
		cs, err = consoleSessions().Get(tx.tx, h)
		if errors.Is(err, ErrNotFound) {
			why = fmt.Errorf("console session: %w", ErrUnauthenticated)
			return nil
		} else if err != nil {
			return err
		}
		why, m, touch = tx.checkConsoleSession(&cs, now)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if why != nil {
		if cs.IDHash != "" {
			_ = s.endConsoleSession(ctx, h, "")
		}
		return nil, nil, why
	}
	if touch {
		// Recording activity is best effort: a lost race only shortens the
		// idle window by the touch interval.
		err := s.Update(ctx, func(tx *Txn) error {
			cur, err := consoleSessions().Get(tx.w, h)
			if err != nil {
				return err
			}
			if now.After(cur.LastSeenAt) {
				cur.LastSeenAt = now
			}
			cs = cur
			return consoleSessions().Put(tx.w, h, cur)
		})
		if errors.Is(err, ErrNotFound) {
			return nil, nil, fmt.Errorf("console session: %w", ErrUnauthenticated)
		} else if err != nil {
			return nil, nil, err
		}
	}
	return &cs, m, nil
}

// checkConsoleSession returns why the session has ended (nil if it has
// not), the member, and whether its activity should be recorded.
func (t *ReadTxn) checkConsoleSession(cs *ConsoleSession, now time.Time) (error, *ConsoleMember, bool) {
	ended := func(reason string, also ...error) error {
		if len(also) > 0 {
			return fmt.Errorf("console session %s: %w, %w", reason, ErrUnauthenticated, also[0])
		}
		return fmt.Errorf("console session %s: %w", reason, ErrUnauthenticated)
	}
	if !now.Before(cs.ExpiresAt) {
		return ended("reached its absolute timeout", ErrExpired), nil, false
	}
	if !now.Before(cs.LastSeenAt.Add(cs.Idle)) {
		return ended("was idle too long", ErrExpired), nil, false
	}
	m, u, err := t.consoleUser(cs.UserID)
	if err != nil {
		return ended("has no console member"), nil, false
	}
	if u.PasswordChangedAt != nil && u.PasswordChangedAt.After(cs.CreatedAt) {
		return ended("predates a password change"), nil, false
	}
	// Record activity at most every Idle/8 (and at least every minute), so
	// a busy console does not write on every request.
	every := min(cs.Idle/8, time.Minute)
	return nil, m, now.Sub(cs.LastSeenAt) >= every
}

// EndConsoleSession ends the session whose token is token (signing out).
// An unknown token changes nothing. It logs CONSOLE_SIGNED_OUT.
func (s *Service) EndConsoleSession(ctx context.Context, token string) error {
	if err := s.consoleAdmin(); err != nil {
		return err
	}
	if token == "" {
		return nil
	}
	return s.endConsoleSession(ctx, HashSecret(token), EventConsoleSignedOut)
}

func (s *Service) endConsoleSession(ctx context.Context, h, code string) error {
	return s.Update(ctx, func(tx *Txn) error {
		cs, err := consoleSessions().Get(tx.w, h)
		if errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if err := kv.CancelExpiry(tx.w, cs.ExpiresAt, consoleSessions().Key(h)); err != nil {
			return err
		}
		if err := consoleSessions().Delete(tx.w, h); err != nil {
			return err
		}
		if code == "" {
			return nil
		}
		orgID, _ := tx.OrgID(s.account)
		return tx.Log(&Event{Code: code, OrgID: orgID, ResourceOwnerID: cs.UserID, ActorID: cs.UserID})
	})
}
