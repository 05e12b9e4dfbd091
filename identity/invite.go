package identity

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Invitations: an administrator mails a user a link that signs the user
// in at the organization, once. The one rule every face uses.
//
// InviteUser is an administrator's write: on a scoped Service it needs
// the organization in scope (else ErrNotFound, as an unknown one) and
// the update:users permission (else ErrForbidden). It refuses a disabled
// user (ErrDisabled) and an unknown or foreign one (ErrNotFound, alike),
// spends the address's email send budget (the one magic links, codes and
// reset mails share, see AllowCodeSend; a spent budget is a
// *CodeBudgetError wrapping ErrBusy), and stores a single-use invitation
// token (256 random bits; only its SHA-256 is kept, indexed by user so
// that ending the user's sessions, a password change or the deletion
// ends it) with a USER_INVITED audit event naming the actor of ctx
// (WithActor), all in one transaction.
//
// CheckInvitation reads a token without consuming it (the GET of the
// link: mail scanners follow links). AcceptInvitation consumes it
// atomically: the second use of a link is ErrNotFound. It marks the
// address verified (the user proved it by opening the mail) and writes
// USER_INVITATION_ACCEPTED in the same transaction, and the face's Then
// hook writes what signs the user in (a browser session) in that
// transaction too: one commit, and a hook that fails rolls all of it
// back (the link stays usable, nobody is signed in). A token of another
// organization or environment, or whose user is gone or disabled, is
// ErrNotFound; an expired one ErrExpired.

// Lifetimes of invitation tokens.
const (
	// DefaultInvitationTTL is how long an invitation link lives unless
	// the face asks for less.
	DefaultInvitationTTL = 24 * time.Hour
	// MaxInvitationTTL is the longest an invitation link may live: an
	// administrator's mail may wait in the inbox longer than a magic link
	// (10 minutes), not longer than a verification token (Crafter's rule).
	MaxInvitationTTL = 24 * time.Hour
)

// PurposeInvite is the purpose of an invitation token (VerificationToken).
const PurposeInvite = "invite"

// InvitationRequest asks InviteUser for an invitation.
type InvitationRequest struct {
	// OrgDomain is the organization of the user.
	OrgDomain string
	// UserID is the user to invite.
	UserID string
	// ClientID, when set, is the application the user lands in once the
	// link has signed them in: an application of the Service's
	// environment that serves the organization and has a web origin to
	// land on (Application.InvitationLanding), else ErrInvalid on
	// "client_id". Empty: the organization's hosted page.
	ClientID string
	// ClientAddr is the administrator's client address (the send
	// budget's cooldown is per client address).
	ClientAddr string
	// TTL is the link's lifetime (default DefaultInvitationTTL, at most
	// MaxInvitationTTL).
	TTL time.Duration
}

// Invitation is an issued invitation (InviteUser) or one read by its
// token (CheckInvitation, AcceptInvitation).
type Invitation struct {
	// Token is the secret to put in the mailed link (InviteUser only;
	// shown once, never stored).
	Token string
	// OrgDomain is the organization the link signs in at.
	OrgDomain string
	// User is the invited user.
	User *User
	// ClientID is the application the user lands in ("" for the
	// organization's hosted page) and LandingURL its web origin
	// (Application.InvitationLanding).
	ClientID, LandingURL string
	// ExpiresAt is when the link expires.
	ExpiresAt time.Time
}

// InviteUser issues an invitation for a user of the organization (see
// the rule above).
func (s *Service) InviteUser(ctx context.Context, in InvitationRequest) (*Invitation, error) {
	if err := s.mayWrite(in.OrgDomain, ActionUpdate, ResourceUsers); err != nil {
		return nil, err
	}
	ttl := in.TTL
	if ttl <= 0 {
		ttl = DefaultInvitationTTL
	}
	ttl = min(ttl, MaxInvitationTTL)
	var out *Invitation
	err := s.withOrgUser(ctx, in.OrgDomain, in.UserID, func(tx *Txn, orgID string, u *User) error {
		if !u.Enabled {
			return fmt.Errorf("user %s: %w", u.ID, ErrDisabled)
		}
		out = &Invitation{OrgDomain: in.OrgDomain, User: u}
		if in.ClientID != "" {
			landing, err := tx.invitationLanding(in.ClientID, in.OrgDomain)
			if err != nil {
				return err
			}
			out.ClientID, out.LandingURL = in.ClientID, landing
		}
		if err := tx.spendSendBudget(in.OrgDomain, u.Email, in.ClientAddr); err != nil {
			return err
		}
		token, err := s.NewSecret()
		if err != nil {
			return err
		}
		now := s.Now()
		vt := &VerificationToken{IDHash: HashSecret(token), OrgID: orgID, UserID: u.ID, Purpose: PurposeInvite,
			ClientID: out.ClientID, CreatedAt: now, ExpiresAt: now.Add(ttl)}
		if err := tx.PutVerificationToken(vt); err != nil {
			return err
		}
		out.Token, out.ExpiresAt = token, vt.ExpiresAt
		return tx.Log(&Event{Code: EventUserInvited, OrgID: orgID, TenantDomain: in.OrgDomain, ClientID: out.ClientID,
			Email: u.Email, ResourceOwnerID: u.ID, Data: map[string]any{"expires_at": vt.ExpiresAt.Unix()}})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// InvitationLanding is where an invitation naming the application lands
// the signed-in user: its default web origin, else its first allowed web
// origin; "" when it has neither (it cannot be an invitation's landing).
// The application's own sign-in, started there, is then answered from
// the browser session the invitation opened.
func (a *Application) InvitationLanding() string {
	if a.DefaultWebOrigin != "" {
		return a.DefaultWebOrigin
	}
	if len(a.AllowedWebOrigins) > 0 {
		return a.AllowedWebOrigins[0]
	}
	return ""
}

// invitationLanding returns the landing of the application clientID
// (Application.InvitationLanding), which must serve orgDomain in this
// environment.
func (t *ReadTxn) invitationLanding(clientID, orgDomain string) (string, error) {
	bad := Invalid("client_id", "must be an application of the organization with a web origin")
	if len(clientID) > 200 {
		return "", bad
	}
	a, err := t.appByClientID(clientID)
	if errors.Is(err, ErrNotFound) {
		return "", bad
	} else if err != nil {
		return "", err
	}
	ok, err := t.servedBy(a, orgDomain)
	if err != nil {
		return "", err
	}
	if !ok || a.InvitationLanding() == "" {
		return "", bad
	}
	return a.InvitationLanding(), nil
}

// invitationToken reads a live invitation token of organization orgDomain
// with its enabled user. A token of another purpose or organization, or
// whose user is gone or disabled, is ErrNotFound; an expired one
// ErrExpired (with the token, so it can be deleted).
func (t *ReadTxn) invitationToken(orgDomain, token string) (*VerificationToken, *User, error) {
	gone := fmt.Errorf("invitation %w", ErrNotFound)
	if token == "" || len(token) > 200 {
		return nil, nil, gone
	}
	orgID, err := t.OrgID(orgDomain)
	if err != nil {
		return nil, nil, gone
	}
	vt, err := t.VerificationTokenByHash(PurposeInvite, HashSecret(token))
	if err != nil && !errors.Is(err, ErrExpired) {
		return nil, nil, gone
	}
	if vt == nil || vt.OrgID != orgID {
		return nil, nil, gone
	}
	if err != nil {
		return vt, nil, fmt.Errorf("invitation %w", ErrExpired)
	}
	u, err := t.OrgUser(orgID, vt.UserID)
	if err != nil || !u.Enabled {
		return nil, nil, gone
	}
	return vt, u, nil
}

// invitationOf describes a live token.
func (t *ReadTxn) invitationOf(orgDomain string, vt *VerificationToken, u *User) *Invitation {
	inv := &Invitation{OrgDomain: orgDomain, User: u, ClientID: vt.ClientID, ExpiresAt: vt.ExpiresAt}
	if vt.ClientID != "" {
		// The application may have changed since: without a landing it
		// still serves, the user lands on the hosted page.
		inv.LandingURL, _ = t.invitationLanding(vt.ClientID, orgDomain)
	}
	return inv
}

// CheckInvitation returns the invitation of a live token of the
// organization without consuming it. An unknown, used or foreign token
// (or one whose user is gone or disabled) is ErrNotFound; an expired one
// ErrExpired.
func (s *Service) CheckInvitation(ctx context.Context, orgDomain, token string) (*Invitation, error) {
	var out *Invitation
	err := s.View(ctx, func(tx *ReadTxn) error {
		vt, u, err := tx.invitationToken(orgDomain, token)
		if err != nil {
			return err
		}
		out = tx.invitationOf(orgDomain, vt, u)
		return nil
	})
	return out, err
}

// InvitationAcceptance asks AcceptInvitation to accept an invitation.
type InvitationAcceptance struct {
	// OrgDomain is the organization of the link.
	OrgDomain string
	// Token is the link's secret.
	Token string
	// Then, when set, runs last in the transaction that consumes the
	// token (after the address is marked verified and
	// USER_INVITATION_ACCEPTED is logged), with the invitation as
	// accepted, so that a face writes what the acceptance opens (a
	// browser session) in the same commit instead of one more. If it
	// fails, nothing is written: the token stays live, the address as it
	// was, no event; AcceptInvitation returns its error unchanged. It
	// may run more than once when the store runs the transaction again,
	// so it writes only through tx.
	Then func(tx *Txn, inv *Invitation) error
}

// AcceptInvitation consumes a live invitation token of the organization,
// marks the user's address verified, writes USER_INVITATION_ACCEPTED and
// runs in.Then, in one transaction, and returns the invitation with the
// user as it now is. Errors are CheckInvitation's (an expired token is
// deleted, and Then does not run) or in.Then's.
func (s *Service) AcceptInvitation(ctx context.Context, in InvitationAcceptance) (*Invitation, error) {
	var out *Invitation
	expired := false
	err := s.Update(ctx, func(tx *Txn) error {
		out, expired = nil, false
		vt, old, err := tx.invitationToken(in.OrgDomain, in.Token)
		if errors.Is(err, ErrExpired) {
			expired = true
			return tx.DeleteVerificationToken(vt)
		}
		if err != nil {
			return err
		}
		if err := tx.DeleteVerificationToken(vt); err != nil {
			return err
		}
		u := old
		if !old.Verified {
			u = cloneUser(old)
			u.Verified, u.UpdatedAt = true, s.Now()
			if err := tx.ReplaceUser(old, u); err != nil {
				return err
			}
		}
		inv := tx.invitationOf(in.OrgDomain, vt, u)
		if err := tx.Log(&Event{Code: EventUserInvitationAccepted, OrgID: u.OrgID, TenantDomain: in.OrgDomain,
			ClientID: vt.ClientID, Email: u.Email, ResourceOwnerID: u.ID, ActorID: u.ID}); err != nil {
			return err
		}
		if in.Then != nil {
			if err := in.Then(tx, inv); err != nil {
				return err
			}
		}
		out = inv
		return nil
	})
	if err == nil && expired {
		err = fmt.Errorf("invitation %w", ErrExpired)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}
