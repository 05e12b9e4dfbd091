package profile

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/password"
	"github.com/gatehouse-id/gatehouse/mail"
)

// newVerificationToken stores a fresh single-use token for u living
// VerificationTTL (24 hours by default) and returns its id (shown once:
// only its hash is kept). The token rule is the core's
// (identity.Txn.IssueUserToken), shared with the hosted pages' reset.
func (s *Service) newVerificationToken(tx *identity.Txn, u *identity.User) (string, error) {
	return tx.IssueUserToken(u, identity.PurposeVerify, s.opts.VerificationTTL)
}

// checkLinkBase refuses link bases that are not absolute http(s) URLs, so
// an email never carries a javascript: or relative link.
func checkLinkBase(param, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(raw) > 2048 {
		return badRequest("Parameter '%s' must be an absolute http(s) URL", param)
	}
	return nil
}

// linkWith appends tokenId=<id> to base, as Crafter does.
func linkWith(base, token string) string {
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "tokenId=" + url.QueryEscape(token)
}

// sendLink emails a link (see send).
func (s *Service) sendLink(ctx context.Context, to, subject, intro, link string) {
	s.send(ctx, mail.Message{From: s.opts.MailFrom, To: []string{to}, Subject: subject,
		Text: intro + "\n\n" + link + "\n",
		HTML: "<p>" + htmlEscape(intro) + "</p><p><a href=\"" + htmlEscape(link) + "\">" + htmlEscape(link) + "</a></p>"})
}

func htmlEscape(s string) string { return escape(s) }

func vtokenJSON(id string, vt *identity.VerificationToken, tenant, profileID string) *VerificationToken {
	return &VerificationToken{ID: id, Tenant: tenant, ProfileID: profileID, Timestamp: ms(vt.CreatedAt)}
}

func noToken() *Error {
	return apiErr(http.StatusNotFound, CodeNoSuchVerificationToken, "No verification token found for the given ID")
}

// loadToken reads an unexpired token with its user, org and tenant and
// checks MANAGE_PROFILES on the token's tenant; a token of a tenant the
// caller has no permission entry for is unknown (ownerTenant).
func loadToken(tx *identity.ReadTxn, c *identity.Credential, id string) (*identity.VerificationToken, *view, error) {
	if id == "" {
		return nil, nil, noToken()
	}
	vt, err := tx.VerificationTokenByHash(identity.PurposeVerify, identity.HashSecret(id))
	if errors.Is(err, identity.ErrNotFound) || errors.Is(err, identity.ErrExpired) {
		return nil, nil, noToken()
	}
	if err != nil {
		return nil, nil, err
	}
	o, err := ownerTenant(tx, c, vt.OrgID, noToken())
	if err != nil {
		return nil, nil, err
	}
	if err := check(c, tenantOf(o), ActionManageProfiles); err != nil {
		return nil, nil, err
	}
	u, err := tx.User(vt.UserID)
	if err != nil {
		return nil, nil, noToken()
	}
	tn, err := tx.Tenant(o.ID)
	if err != nil {
		return nil, nil, err
	}
	return vt, &view{u: u, o: o, tn: tn}, nil
}

// CreateVerificationToken creates a token for a profile without sending
// mail (for applications that send their own).
func (s *Service) CreateVerificationToken(ctx context.Context, c *identity.Credential, profileID string) (*VerificationToken, error) {
	var out *VerificationToken
	err := s.dir(c).Update(ctx, func(tx *identity.Txn) error {
		v, err := loadProfile(&tx.ReadTxn, c, profileID)
		if err != nil {
			return err
		}
		id, err := s.newVerificationToken(tx, v.u)
		if err != nil {
			return err
		}
		vt, err := tx.VerificationTokenByHash(identity.PurposeVerify, identity.HashSecret(id))
		if err != nil {
			return err
		}
		out = vtokenJSON(id, vt, tenantOf(v.o), v.u.ObjectID)
		return tx.Log(&identity.Event{Code: identity.EventVerificationTokenCreated, OrgID: v.u.OrgID, Email: v.u.Email,
			ResourceOwnerID: v.u.ID})
	})
	return out, err
}

// GetVerificationToken returns an unexpired token.
func (s *Service) GetVerificationToken(ctx context.Context, c *identity.Credential, id string) (*VerificationToken, error) {
	var out *VerificationToken
	err := s.dir(c).View(ctx, func(tx *identity.ReadTxn) error {
		vt, v, err := loadToken(tx, c, id)
		if err != nil {
			return err
		}
		out = vtokenJSON(id, vt, tenantOf(v.o), v.u.ObjectID)
		return nil
	})
	return out, err
}

// DeleteVerificationToken deletes a token, silently if absent.
func (s *Service) DeleteVerificationToken(ctx context.Context, c *identity.Credential, id string) error {
	return s.dir(c).Update(ctx, func(tx *identity.Txn) error {
		vt, v, err := loadToken(&tx.ReadTxn, c, id)
		var ae *Error
		if errors.As(err, &ae) && ae.Code == CodeNoSuchVerificationToken {
			return nil
		}
		if err != nil {
			return err
		}
		if err := tx.DeleteVerificationToken(vt); err != nil {
			return err
		}
		return tx.Log(&identity.Event{Code: identity.EventVerificationTokenDeleted, OrgID: v.u.OrgID, Email: v.u.Email,
			ResourceOwnerID: v.u.ID})
	})
}

// VerifyProfile consumes a verification token: the profile becomes
// verified, and enabled if it waited for this verification. A verified
// profile that was disabled stays disabled (identity.Txn.VerifyAddress;
// Crafter enabled it, so a disabled user could enable itself with any
// token mailed to it).
func (s *Service) VerifyProfile(ctx context.Context, c *identity.Credential, tokenID string, attrs []string) (*Profile, error) {
	var out *Profile
	err := s.dir(c).Update(ctx, func(tx *identity.Txn) error {
		vt, v, err := loadToken(&tx.ReadTxn, c, tokenID)
		if err != nil {
			return err
		}
		if err := check(c, tenantOf(v.o), ActionReadTenant); err != nil {
			return err
		}
		if err := tx.DeleteVerificationToken(vt); err != nil {
			return err
		}
		u, err := tx.VerifyAddress(v.u)
		if err != nil {
			return err
		}
		if err := tx.Log(&identity.Event{Code: identity.EventUserVerified, OrgID: u.OrgID, Email: u.Email,
			ResourceOwnerID: u.ID, ActorID: c.ID}); err != nil {
			return err
		}
		v.u = u
		out, err = render(c, v, attrs, true)
		return err
	})
	return out, err
}

// ResetPassword creates a reset token for a profile and emails
// resetPasswordUrl?tokenId=<id>. The password is unchanged.
func (s *Service) ResetPassword(ctx context.Context, c *identity.Credential, profileID, resetURL string, attrs []string) (*Profile, error) {
	if resetURL == "" {
		return nil, missingParam("resetPasswordUrl")
	}
	if err := checkLinkBase("resetPasswordUrl", resetURL); err != nil {
		return nil, err
	}
	var out *Profile
	var token, email string
	err := s.dir(c).Update(ctx, func(tx *identity.Txn) error {
		v, err := loadProfile(&tx.ReadTxn, c, profileID)
		if err != nil {
			return err
		}
		if token, err = s.newVerificationToken(tx, v.u); err != nil {
			return err
		}
		email = v.u.Email
		if err := tx.Log(&identity.Event{Code: identity.EventUserPasswordReset, OrgID: v.u.OrgID, Email: email,
			ResourceOwnerID: v.u.ID, ActorID: c.ID}); err != nil {
			return err
		}
		out, err = render(c, v, attrs, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.sendLink(ctx, email, "Reset Password", "To choose a new password, follow this link:", linkWith(resetURL, token))
	return out, nil
}

// ChangePassword consumes a reset (or verification) token and sets a new
// password; the owner is told by email. It is the recovery path, so every
// session of the profile ends, of every kind: tickets, persistent logins,
// OIDC refresh tokens and browser sessions of the hosted pages, and
// pending reset tokens. Crafter (§6.2) kept tickets and persistent logins
// alive; Gatehouse departs from it because a reset exists for an account
// whose password someone else may know, and that someone's sessions must
// not outlive it. identity.Options.KeepSessionsOnPasswordChange restores
// Crafter's rule.
func (s *Service) ChangePassword(ctx context.Context, c *identity.Credential, tokenID, newPassword string, attrs []string) (*Profile, error) {
	if tokenID == "" {
		return nil, missingParam("resetTokenId")
	}
	if newPassword == "" {
		return nil, missingParam("newPassword")
	}
	if len(newPassword) > password.MaxPasswordLen {
		return nil, badRequest("Password must be at most %d bytes", password.MaxPasswordLen)
	}
	d := s.dir(c)
	// Only spend a hash for a live token.
	if err := d.View(ctx, func(tx *identity.ReadTxn) error {
		_, _, err := loadToken(tx, c, tokenID)
		return err
	}); err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		return nil, err
	}
	var out *Profile
	var email string
	err = d.Update(ctx, func(tx *identity.Txn) error {
		vt, v, err := loadToken(&tx.ReadTxn, c, tokenID)
		if err != nil {
			return err
		}
		if err := tx.DeleteVerificationToken(vt); err != nil {
			return err
		}
		u := identity.CloneUser(v.u)
		if err := setPassword(tx, u, hash); err != nil {
			return err
		}
		if err := tx.ReplaceUser(v.u, u); err != nil {
			return err
		}
		if err := tx.Log(&identity.Event{Code: identity.EventUserPasswordChanged, OrgID: u.OrgID, Email: u.Email,
			ResourceOwnerID: u.ID, ActorID: c.ID}); err != nil {
			return err
		}
		v.u, email = u, u.Email
		out, err = render(c, v, attrs, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.send(ctx, mail.Message{From: s.opts.MailFrom, To: []string{email}, Subject: "Password changed",
		Text: "The password of your account was changed. If you did not do this, reset your password now.\n"})
	return out, nil
}
