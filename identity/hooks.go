package identity

import (
	"context"
	"sync"
)

// UserDeleteHook runs inside the transaction that deletes a user, before
// the user record goes, so a package that keeps records about users
// (attachments, grants) removes them atomically with the user, whichever
// face deleted it. An error aborts the deletion.
type UserDeleteHook func(tx *Txn, u *User) error

type hooks struct {
	mu         sync.RWMutex
	userDelete []UserDeleteHook
	revokers   []SessionRevoker
	events     []EventHook
}

// EventHook observes an audit event once the transaction that wrote it
// has committed (a rolled-back write shows nothing). It runs on the
// writer's goroutine, so it must be quick and must not write to the
// store; metrics count sign-ins and token issuance with it.
type EventHook func(ctx context.Context, e Event)

// OnEvent registers a hook that observes every audit event committed by
// this service and by the services derived from it (ForEnvironment,
// Scoped). Register hooks while setting up, before serving.
func (s *Service) OnEvent(h EventHook) {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	s.hooks.events = append(s.hooks.events, h)
}

// runEventHooks hands the events a committed transaction logged to the
// event hooks.
func (s *Service) runEventHooks(ctx context.Context, logged []Event) {
	if len(logged) == 0 {
		return
	}
	s.hooks.mu.RLock()
	hs := append([]EventHook(nil), s.hooks.events...)
	s.hooks.mu.RUnlock()
	for _, e := range logged {
		for _, h := range hs {
			h(ctx, e)
		}
	}
}

// OnUserDelete registers a hook run by every user deletion of this service
// and of the services derived from it with ForEnvironment. Register hooks
// while setting up, before serving.
func (s *Service) OnUserDelete(h UserDeleteHook) {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	s.hooks.userDelete = append(s.hooks.userDelete, h)
}

func (t *Txn) runUserDeleteHooks(u *User) error {
	t.s.hooks.mu.RLock()
	hs := append([]UserDeleteHook(nil), t.s.hooks.userDelete...)
	t.s.hooks.mu.RUnlock()
	for _, h := range hs {
		if err := h(t, u); err != nil {
			return err
		}
	}
	return nil
}

// Kinds of sessions, for SessionRef.Kind. The core keeps tickets and
// persistent logins; the OIDC provider (package tokens/provider) keeps
// refresh-token families and browser sessions and registers a
// SessionRevoker for them.
const (
	// SessionTicket is a Crafter ticket (Hash: HashSecret of its id).
	SessionTicket = "ticket"
	// SessionPersistentLogin is a Crafter persistent login (Hash:
	// HashSecret of its id).
	SessionPersistentLogin = "persistent-login"
	// SessionRefreshToken is an OIDC refresh token (Hash: HashSecret of
	// the token); keeping it keeps its whole rotation family. The token
	// must be its family's newest or the one that newest replaced (see
	// package tokens/provider, "Flows").
	SessionRefreshToken = "oidc-refresh"
	// SessionBrowser is the hosted pages' browser session (Hash:
	// HashSecret of the session cookie).
	SessionBrowser = "oidc-session"
)

// SessionRef names one session: its kind and the SHA-256 (HashSecret)
// of the bearer secret that names it. The zero value names none.
type SessionRef struct {
	Kind string
	Hash string
}

// Is reports whether the session of kind with hash is r.
func (r SessionRef) Is(kind, hash string) bool {
	return r.Kind != "" && r.Kind == kind && r.Hash != "" && r.Hash == hash
}

// SessionRevoker ends the sessions of a user that a package keeps
// outside the core (OIDC refresh families, browser sessions). It runs
// inside the transaction that ends the user's sessions (a password change
// or reset, EndUserSessions), so it must write only through tx; it keeps
// the session keep names, if it is one of its own, and returns how many
// it ended. An error aborts the whole change.
type SessionRevoker interface {
	EndUserSessions(tx *Txn, u *User, keep SessionRef) (int, error)
}

// SessionRevokerFunc adapts a function to SessionRevoker.
type SessionRevokerFunc func(tx *Txn, u *User, keep SessionRef) (int, error)

// EndUserSessions calls f.
func (f SessionRevokerFunc) EndUserSessions(tx *Txn, u *User, keep SessionRef) (int, error) {
	return f(tx, u, keep)
}

// OnSessionsEnd registers a revoker run whenever this service (or one
// derived from it with ForEnvironment or WithHasher) ends a user's
// sessions. Register while setting up, before serving.
func (s *Service) OnSessionsEnd(r SessionRevoker) {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	s.hooks.revokers = append(s.hooks.revokers, r)
}

// KeepsSessionsOnPasswordChange reports Options.KeepSessionsOnPasswordChange.
func (s *Service) KeepsSessionsOnPasswordChange() bool { return s.keepSessions }

// EndUserSessions ends every session of u, of every kind, except keep:
// its tickets and persistent logins, its pending verification and reset
// tokens, and what every registered SessionRevoker keeps (OIDC refresh
// families, browser sessions). It returns how many it ended.
func (t *Txn) EndUserSessions(u *User, keep SessionRef) (int, error) {
	n, err := t.revokeUserSessions(u.ID, true, keep, false)
	if err != nil {
		return n, err
	}
	t.s.hooks.mu.RLock()
	rs := append([]SessionRevoker(nil), t.s.hooks.revokers...)
	t.s.hooks.mu.RUnlock()
	for _, r := range rs {
		k, err := r.EndUserSessions(t, u, keep)
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
