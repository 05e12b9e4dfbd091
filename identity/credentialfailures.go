package identity

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// Bounds of the API_KEY_AUTHENTICATION_FAILED events the Services of one
// NewService write (LogCredentialFailure): a token bucket of
// CredentialFailureEventBurst events refilled at
// CredentialFailureEventRate per second. Anyone can send a wrong client
// secret, so at full rate a failure past the budget writes nothing
// durable: it is counted, and the next event written carries the count in
// data.suppressed.
const (
	CredentialFailureEventRate  = 10
	CredentialFailureEventBurst = 20
)

// failureBudget is the token bucket of LogCredentialFailure, shared by a
// Service and every Service derived from it (For, ForEnvironment).
type failureBudget struct {
	mu         sync.Mutex
	tokens     float64
	last       time.Time
	suppressed int
}

// take spends one event of the budget at now. ok is false when none is
// left (the failure is counted as suppressed); otherwise suppressed is the
// number of failures left unwritten since the last event written.
func (b *failureBudget) take(now time.Time) (ok bool, suppressed int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last.IsZero() {
		b.tokens = CredentialFailureEventBurst
	} else if d := now.Sub(b.last); d > 0 {
		b.tokens = min(CredentialFailureEventBurst, b.tokens+d.Seconds()*CredentialFailureEventRate)
	}
	if now.After(b.last) {
		b.last = now
	}
	if b.tokens < 1 {
		b.suppressed++
		return false, 0
	}
	b.tokens--
	suppressed, b.suppressed = b.suppressed, 0
	return true, suppressed
}

// giveBack counts as suppressed the failures of an event that could not
// be written.
func (b *failureBudget) giveBack(n int) {
	b.mu.Lock()
	b.suppressed += n
	b.mu.Unlock()
}

// maxFailedIDLen bounds the client_id a refused authentication records.
const maxFailedIDLen = 64

// LogCredentialFailure records a refused API-key authentication: client_id
// id, refused by AuthenticateCredential with authErr. The event
// (API_KEY_AUTHENTICATION_FAILED) names the presented client_id (cut to 64
// bytes) as its actor, of kind ActorAPIKey, never the secret; its
// data.reason is "unknown" (no such key), "expired" or "bad_credentials"
// (a wrong secret). It is listed in the log of the account's organization
// (Options.AccountDomain), which the account owner reads through the
// console and with a key over every organization, and, for a key that
// exists, in the logs of the organizations the key reaches, in the key's
// environment. Without an account organization, the failure of an
// unknown key is kept in the environment's log only, which no list shows.
//
// The events are bounded (CredentialFailureEventRate,
// CredentialFailureEventBurst): past the budget a failure writes nothing
// and returns nil, and the next event written holds the number left out
// in data.suppressed. Those written go through LogEvent's group commit.
func (s *Service) LogCredentialFailure(ctx context.Context, id string, authErr error) error {
	ok, suppressed := s.failures.take(s.now())
	if !ok {
		return nil
	}
	if len(id) > maxFailedIDLen {
		id = id[:maxFailedIDLen]
	}
	reason := "bad_credentials"
	if errors.Is(authErr, ErrExpired) {
		reason = "expired"
	}
	data := map[string]any{"reason": reason}
	if suppressed > 0 {
		data["suppressed"] = suppressed
	}
	svc := s
	e := &Event{Code: EventAPIKeyAuthFailed, ActorID: id, ActorKind: ActorAPIKey}
	var rec credentialRecord
	err := s.store.View(ctx, func(tx ReadTx) (err error) { rec, err = credentials().Get(tx, id); return })
	switch {
	case errors.Is(err, ErrNotFound):
		data["reason"] = "unknown"
	case err != nil:
		s.failures.giveBack(suppressed + 1)
		return err
	default:
		e = CredentialEvent(EventAPIKeyAuthFailed, &rec.Credential, nil)
		if other, err := s.ForEnvironment(rec.Environment); err == nil {
			svc = other
		}
	}
	e.Data = data
	if !slices.Contains(e.Orgs, AllOrgs) {
		e.Orgs = append(e.Orgs, AllOrgs)
	}
	if err := svc.LogEvent(ctx, e); err != nil {
		s.failures.giveBack(suppressed + 1)
		return err
	}
	return nil
}
