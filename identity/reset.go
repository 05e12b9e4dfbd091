package identity

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Password reset ("forgot password"): the one rule every face uses.
//
// RequestPasswordReset spends the address's email send budget (the one
// magic links and codes share, see AllowCodeSend) and, for an enabled
// user of the organization, stores a single-use reset token (256 random
// bits; only its SHA-256 is kept) with a USER_PASSWORD_RESET_REQUESTED
// audit event. Known and unknown addresses run the same single
// transaction and get the same answer, a *PasswordReset; only its Token
// differs (empty when there is nobody to mail), so the face sends the
// mail in the background and answers alike. CheckPasswordReset reads a
// token without consuming it (the GET of the link: mail scanners follow
// links). ResetPassword consumes the token and sets the password under
// the core's password rules (see ChangePassword): it ends every session
// of the user, with the user's other pending reset tokens
// (SetPasswordHash), and writes USER_PASSWORD_CHANGED in the same
// transaction.

// Lifetimes of reset tokens.
const (
	DefaultPasswordResetTTL = time.Hour
	// MaxPasswordResetTTL is the longest a reset token may live
	// (Crafter's rule for verification and reset tokens).
	MaxPasswordResetTTL = 24 * time.Hour
)

// PasswordResetRequest asks for a reset link (see RequestPasswordReset).
type PasswordResetRequest struct {
	// OrgDomain is the organization.
	OrgDomain string
	// Email is the address typed on the "forgot password" page.
	Email string
	// ClientAddr is the client address of the request (the send budget's
	// cooldown is per client address).
	ClientAddr string
	// ClientID is the application the user was signing in to (audit).
	ClientID string
	// TTL is the token's lifetime (default DefaultPasswordResetTTL, at
	// most MaxPasswordResetTTL).
	TTL time.Duration
}

// PasswordReset is the outcome of RequestPasswordReset.
type PasswordReset struct {
	// Token is the secret to put in the mailed link; empty when the
	// address belongs to no enabled user of the organization (nothing is
	// to be sent, and the face answers exactly as if it were).
	Token string
	// User is the user the token resets (nil with an empty Token).
	User *User
	// ExpiresAt is when the token expires.
	ExpiresAt time.Time
}

// RequestPasswordReset spends the send budget of (OrgDomain, Email) and,
// when the address is an enabled user's, issues a reset token (see the
// rule above). An invalid address is ErrInvalid; a spent budget is a
// *CodeBudgetError wrapping ErrBusy; an unknown organization is
// ErrNotFound.
func (s *Service) RequestPasswordReset(ctx context.Context, in PasswordResetRequest) (*PasswordReset, error) {
	if msg := CheckEmail(in.Email); msg != "" {
		return nil, Invalid("email", msg)
	}
	ttl := in.TTL
	if ttl <= 0 {
		ttl = DefaultPasswordResetTTL
	}
	ttl = min(ttl, MaxPasswordResetTTL)
	var out *PasswordReset
	err := s.Update(ctx, func(tx *Txn) error {
		out = &PasswordReset{}
		orgID, err := tx.OrgID(in.OrgDomain)
		if err != nil {
			return err
		}
		if err := tx.spendSendBudget(in.OrgDomain, in.Email, in.ClientAddr); err != nil {
			return err
		}
		u, err := tx.UserByEmail(orgID, in.Email)
		if errors.Is(err, ErrNotFound) || (err == nil && !u.Enabled) {
			return nil
		}
		if err != nil {
			return err
		}
		token, err := tx.IssueUserToken(u, PurposeReset, ttl)
		if err != nil {
			return err
		}
		out.Token, out.User, out.ExpiresAt = token, u, s.Now().Add(ttl)
		return tx.Log(&Event{Code: EventUserPasswordReset, OrgID: orgID, TenantDomain: in.OrgDomain, ClientID: in.ClientID,
			Email: u.Email, ResourceOwnerID: u.ID})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// IssueUserToken stores a new single-use token of purpose (PurposeVerify
// or PurposeReset) for u, living ttl, and returns it: 256 random bits,
// shown once, stored as its SHA-256 and indexed by user, so a password
// change or deletion ends it (EndUserSessions).
func (t *Txn) IssueUserToken(u *User, purpose string, ttl time.Duration) (string, error) {
	if purpose != PurposeVerify && purpose != PurposeReset {
		return "", Invalid("purpose", "must be verify or reset")
	}
	if ttl <= 0 {
		return "", Invalid("ttl", "must be positive")
	}
	token, err := t.s.NewSecret()
	if err != nil {
		return "", err
	}
	now := t.s.Now()
	vt := &VerificationToken{IDHash: HashSecret(token), OrgID: u.OrgID, UserID: u.ID, Purpose: purpose,
		CreatedAt: now, ExpiresAt: now.Add(ttl)}
	return token, t.PutVerificationToken(vt)
}

// resetToken reads a live reset token of organization orgDomain with its
// enabled user. A token of another purpose or organization, or whose user
// is gone or disabled, is ErrNotFound; an expired one ErrExpired.
func (t *ReadTxn) resetToken(orgDomain, token string) (*VerificationToken, *User, error) {
	if token == "" || len(token) > 200 {
		return nil, nil, fmt.Errorf("reset token %w", ErrNotFound)
	}
	orgID, err := t.OrgID(orgDomain)
	if err != nil {
		return nil, nil, fmt.Errorf("reset token %w", ErrNotFound)
	}
	vt, err := t.VerificationTokenByHash(PurposeReset, HashSecret(token))
	if err != nil && !errors.Is(err, ErrExpired) {
		return nil, nil, fmt.Errorf("reset token %w", ErrNotFound)
	}
	if vt == nil || vt.OrgID != orgID {
		return nil, nil, fmt.Errorf("reset token %w", ErrNotFound)
	}
	if err != nil {
		return vt, nil, err
	}
	u, err := t.OrgUser(orgID, vt.UserID)
	if err != nil || !u.Enabled {
		return nil, nil, fmt.Errorf("reset token %w", ErrNotFound)
	}
	return vt, u, nil
}

// CheckPasswordReset returns the user a live reset token of the
// organization resets, without consuming it. An unknown, used or foreign
// token is ErrNotFound; an expired one ErrExpired.
func (s *Service) CheckPasswordReset(ctx context.Context, orgDomain, token string) (*User, error) {
	var u *User
	err := s.View(ctx, func(tx *ReadTxn) (err error) {
		_, u, err = tx.resetToken(orgDomain, token)
		return err
	})
	return u, err
}

// PasswordResetCompletion sets a new password with a reset token (see
// ResetPassword).
type PasswordResetCompletion struct {
	// OrgDomain is the organization of the link.
	OrgDomain string
	// Token is the secret of the mailed link.
	Token string
	// Password is the new password.
	Password string
	// ClientID is the application the reset was asked from, if known
	// (audit).
	ClientID string
}

// ResetPassword consumes a reset token and sets the user's new password
// under the core's password rules (a hasher is configured; the password
// is not empty and at most 1024 bytes: ErrInvalid otherwise, and the
// token stays usable). It ends every session of the user and the user's
// other reset tokens, and writes USER_PASSWORD_CHANGED, in one
// transaction. A token used already, unknown or foreign is ErrNotFound; an
// expired one is ErrExpired (and is deleted).
func (s *Service) ResetPassword(ctx context.Context, in PasswordResetCompletion) (*User, error) {
	if in.Password == "" {
		return nil, Invalid("password", "is required")
	}
	// Only spend a hash for a live token.
	if _, err := s.CheckPasswordReset(ctx, in.OrgDomain, in.Token); err != nil {
		if errors.Is(err, ErrExpired) {
			s.dropExpiredReset(ctx, in.OrgDomain, in.Token)
		}
		return nil, err
	}
	hash, err := s.hashPassword(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	var out *User
	err = s.Update(ctx, func(tx *Txn) error {
		vt, old, err := tx.resetToken(in.OrgDomain, in.Token)
		if err != nil {
			return err
		}
		if err := tx.DeleteVerificationToken(vt); err != nil {
			return err
		}
		u := cloneUser(old)
		if err := tx.SetPasswordHash(u, hash, SessionRef{}); err != nil {
			return err
		}
		if err := tx.ReplaceUser(old, u); err != nil {
			return err
		}
		out = u
		return tx.Log(&Event{Code: EventUserPasswordChanged, OrgID: u.OrgID, TenantDomain: in.OrgDomain,
			ClientID: in.ClientID, Email: u.Email, ResourceOwnerID: u.ID, ActorID: u.ID,
			Data: map[string]any{"via": "reset_link"}})
	})
	return out, err
}

// dropExpiredReset deletes an expired reset token (the sweeper would
// too; deleting it now makes every later use ErrNotFound).
func (s *Service) dropExpiredReset(ctx context.Context, orgDomain, token string) {
	_ = s.Update(ctx, func(tx *Txn) error {
		vt, _, err := tx.resetToken(orgDomain, token)
		if vt == nil || !errors.Is(err, ErrExpired) {
			return nil
		}
		return tx.DeleteVerificationToken(vt)
	})
}
