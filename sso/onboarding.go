package sso

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/mail"
	"github.com/gatehouse-id/gatehouse/sso/saml"
)

// OnboardingInput are the parameters of CreateOnboarding and
// UpdateOnboarding; nil fields are kept.
type OnboardingInput struct {
	SSOAdminEmail *string
	// ProviderType presets the provider; "" or "unset" clears it.
	ProviderType *string
	// SendEmail mails the setup link once saved.
	SendEmail bool
}

// Onboarding returns the onboarding of a connection.
func (s *Service) Onboarding(ctx context.Context, id *identity.Service, idpID string) (*Onboarding, error) {
	d, err := s.GetConnection(ctx, id, idpID)
	if err != nil {
		return nil, err
	}
	if d.Onboarding == nil {
		return nil, notFound("onboarding")
	}
	return d.Onboarding, nil
}

// CreateOnboarding creates (or replaces) the connection's onboarding for
// an administrator. The email is required.
func (s *Service) CreateOnboarding(ctx context.Context, id *identity.Service, idpID string, in OnboardingInput) (*Onboarding, error) {
	if err := mayChange(id, identity.ActionUpdate); err != nil {
		return nil, err
	}
	if in.SSOAdminEmail == nil || *in.SSOAdminEmail == "" {
		return nil, identity.Invalid("sso_admin_email", "is required")
	}
	oid, err := id.NewID()
	if err != nil {
		return nil, err
	}
	return s.saveOnboarding(ctx, id, idpID, in, func(c *Connection, old *Onboarding) *Onboarding {
		now := s.now()
		c.OnboardingID = oid
		return &Onboarding{ID: oid, ConnectionID: c.ID, State: OnboardingNotInitialized, CreatedAt: now, UpdatedAt: now}
	})
}

// UpdateOnboarding changes the administrator's email or the preset
// provider type.
func (s *Service) UpdateOnboarding(ctx context.Context, id *identity.Service, idpID string, in OnboardingInput) (*Onboarding, error) {
	if err := mayChange(id, identity.ActionUpdate); err != nil {
		return nil, err
	}
	return s.saveOnboarding(ctx, id, idpID, in, nil)
}

func (s *Service) saveOnboarding(ctx context.Context, id *identity.Service, idpID string, in OnboardingInput, create func(c *Connection, old *Onboarding) *Onboarding) (*Onboarding, error) {
	var v identity.Validation
	if in.SSOAdminEmail != nil && *in.SSOAdminEmail != "" {
		if msg := identity.CheckEmail(*in.SSOAdminEmail); msg != "" {
			v.Add("sso_admin_email", msg)
		}
	}
	if in.ProviderType != nil && *in.ProviderType != "" && !validProviderType(*in.ProviderType) {
		v.Add("provider_type", "must be one of "+strings.Join(ProviderTypes(), ", "))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *Onboarding
	_, err := s.mutate(ctx, id, idpID, func(tx *identity.Txn, c *Connection) (string, map[string]any, error) {
		env := tx.Env()
		var o *Onboarding
		if cur, err := onboardings(env).Get(tx.KV(kv.Inside()), c.OnboardingID); err == nil {
			o = &cur
		} else if !isNotFound(err) {
			return "", nil, err
		}
		if create != nil {
			o = create(c, o)
		} else if o == nil {
			return "", nil, notFound("onboarding")
		}
		if in.SSOAdminEmail != nil {
			email := strings.TrimSpace(*in.SSOAdminEmail)
			if !strings.EqualFold(email, o.SSOAdminEmail) {
				// Links and sessions sent to the former address no
				// longer open the portal.
				o.AccessEpoch++
			}
			o.SSOAdminEmail = email
		}
		if in.ProviderType != nil {
			p := *in.ProviderType
			if p == ProviderUnset {
				p = ""
			}
			o.ProviderType = p
			if p != "" {
				c.ProviderType = p
			}
		}
		o.UpdatedAt = s.now()
		if err := onboardings(env).Put(tx.KVTx(kv.Inside()), o.ID, *o); err != nil {
			return "", nil, err
		}
		out = o
		return identity.EventSSOOnboardingUpdated, map[string]any{"onboarding_id": o.ID}, nil
	})
	if err != nil {
		return nil, err
	}
	if in.SendEmail {
		return s.SendInvitation(ctx, id, idpID)
	}
	return out, nil
}

// ResetOnboarding starts the onboarding over: the provider type is cleared,
// the state and tutorial step go back to the beginning; the
// administrator's email is kept.
func (s *Service) ResetOnboarding(ctx context.Context, id *identity.Service, idpID string) (*Onboarding, error) {
	if err := mayChange(id, identity.ActionUpdate); err != nil {
		return nil, err
	}
	var out *Onboarding
	_, err := s.mutate(ctx, id, idpID, func(tx *identity.Txn, c *Connection) (string, map[string]any, error) {
		o, err := onboardings(tx.Env()).Get(tx.KV(kv.Inside()), c.OnboardingID)
		if err != nil {
			return "", nil, err
		}
		o.ProviderType, o.State, o.TutorialStep, o.LastTestError = "", OnboardingNotInitialized, StepChooseProvider, ""
		o.AccessEpoch++ // every setup link and portal session ends
		o.UpdatedAt = s.now()
		if err := onboardings(tx.Env()).Put(tx.KVTx(kv.Inside()), o.ID, o); err != nil {
			return "", nil, err
		}
		out = &o
		return identity.EventSSOOnboardingUpdated, map[string]any{"onboarding_id": o.ID, "reset": true}, nil
	})
	return out, err
}

// SendInvitation mails the administrator a new single-use setup link to the
// onboarding portal. It fails when the connection has no onboarding or the
// onboarding no email.
func (s *Service) SendInvitation(ctx context.Context, id *identity.Service, idpID string) (*Onboarding, error) {
	if err := mayChange(id, identity.ActionUpdate); err != nil {
		return nil, err
	}
	return s.sendInvitation(ctx, id, idpID)
}

// sendInvitation is SendInvitation once the permission is checked.
func (s *Service) sendInvitation(ctx context.Context, id *identity.Service, idpID string) (*Onboarding, error) {
	o, err := s.Onboarding(ctx, id, idpID)
	if err != nil {
		return nil, err
	}
	if s.opts.Mailer == nil {
		return nil, ErrNoMailer
	}
	if o.SSOAdminEmail == "" {
		return nil, identity.Invalid("sso_admin_email", "the onboarding has no administrator email")
	}
	// A new invitation replaces the earlier ones: their links, and the
	// portal sessions they opened, end.
	link, err := s.newSetupLink(ctx, id, idpID, true)
	if err != nil {
		return nil, err
	}
	d, err := s.GetConnection(ctx, id, idpID)
	if err != nil {
		return nil, err
	}
	if s.opts.LogSetupLinks {
		s.log.InfoContext(ctx, "sso: onboarding setup link (development: LogSetupLinks)",
			"env", string(id.Environment()), "org", d.Connection.OrgDomain, "idp_id", idpID, "setup_url", link)
	}
	msg := invitationMessage(s.opts.MailFrom, o.SSOAdminEmail, d.Connection.OrgDomain, link, s.opts.SetupLinkTTL)
	if err := s.opts.Mailer.Send(ctx, msg); err != nil {
		return nil, fmt.Errorf("send invitation: %w", err)
	}
	var out *Onboarding
	_, err = s.mutate(ctx, id, idpID, func(tx *identity.Txn, c *Connection) (string, map[string]any, error) {
		cur, err := onboardings(tx.Env()).Get(tx.KV(kv.Inside()), c.OnboardingID)
		if err != nil {
			return "", nil, err
		}
		now := s.now()
		cur.InvitationSentAt = &now
		if cur.State == OnboardingNotInitialized {
			cur.State = OnboardingInvitationSent
		}
		cur.UpdatedAt = now
		if err := onboardings(tx.Env()).Put(tx.KVTx(kv.Inside()), cur.ID, cur); err != nil {
			return "", nil, err
		}
		out = &cur
		return identity.EventSSOOnboardingSent, map[string]any{"onboarding_id": cur.ID}, nil
	})
	return out, err
}

func invitationMessage(from, to, org, link string, ttl time.Duration) mail.Message {
	if from == "" {
		from = "no-reply@localhost"
	}
	hours := int(ttl / time.Hour)
	text := fmt.Sprintf(`Hello,

You have been asked to set up single sign-on (SAML) for %[1]s.
Open this link to start; it works once and expires in %[2]d hours:

%[3]s

If you did not expect this message, ignore it.

---

Bonjour,

Vous êtes invité(e) à configurer l'authentification unique (SAML) pour %[1]s.
Ouvrez ce lien pour commencer ; il ne fonctionne qu'une fois et expire dans %[2]d heures :

%[3]s

Si vous n'attendiez pas ce message, ignorez-le.
`, org, hours, link)
	return mail.Message{From: from, To: []string{to},
		Subject: "Set up single sign-on for " + org + " / Configurer l'authentification unique", Text: text}
}

// NewSetupLink creates a single-use setup link to the connection's
// onboarding portal and returns its URL. Only the hash of its secret is
// stored. The link opens the connection's configuration, so its creation
// is audited (SSO_ONBOARDING_UPDATED with setup_link "created"). Earlier
// links keep working; SendInvitation, a new administrator email and
// ResetOnboarding end them (Onboarding.AccessEpoch).
func (s *Service) NewSetupLink(ctx context.Context, id *identity.Service, idpID string) (string, error) {
	if err := mayChange(id, identity.ActionUpdate); err != nil {
		return "", err
	}
	return s.newSetupLink(ctx, id, idpID, false)
}

// newSetupLink is NewSetupLink once the permission is checked; renew
// first moves the onboarding's AccessEpoch on, ending every earlier link
// and portal session.
func (s *Service) newSetupLink(ctx context.Context, id *identity.Service, idpID string, renew bool) (string, error) {
	secret, err := identity.NewSecret(id.Rand())
	if err != nil {
		return "", err
	}
	exp := s.now().Add(s.opts.SetupLinkTTL)
	err = id.Update(ctx, func(tx *identity.Txn) error {
		c, err := connectionInScope(&tx.ReadTxn, idpID)
		if err != nil {
			return err
		}
		raw := tx.KVTx(kv.Inside())
		oid, epoch, err := accessOf(raw, tx.Env(), idpID)
		if err != nil {
			return err
		}
		if renew && oid != "" {
			o, err := onboardings(tx.Env()).Get(raw, oid)
			if err != nil {
				return err
			}
			o.AccessEpoch++
			epoch = o.AccessEpoch
			if err := onboardings(tx.Env()).Put(raw, oid, o); err != nil {
				return err
			}
		}
		if err := putExpiring(raw, setupLinks, identity.HashSecret(secret), setupLink{
			ConnectionID: idpID, Env: tx.Env(), ExpiresAt: exp, OnboardingID: oid, Epoch: epoch}, exp); err != nil {
			return err
		}
		return tx.Log(&identity.Event{Code: identity.EventSSOOnboardingUpdated, OrgID: c.OrgID, SAMLIdPID: c.ID,
			Data: map[string]any{"setup_link": "created", "expires_at": exp.UTC().Format(time.RFC3339)}})
	})
	if err != nil {
		return "", err
	}
	return s.BaseURL() + "/enterprise-setup/" + secret, nil
}

// PortalSession is an IT administrator's session in the onboarding portal:
// it gives access to one connection only.
type PortalSession struct {
	ConnectionID string
	Env          identity.Environment
	ExpiresAt    time.Time
	// CSRFHash is the SHA-256 of the session's CSRF token.
	CSRFHash string
}

// RedeemSetupLink consumes a setup link (once) and opens a portal session.
// It returns the session's secret (the cookie value) and CSRF token. An
// unknown, used or expired link is ErrNotFound / ErrExpired.
func (s *Service) RedeemSetupLink(ctx context.Context, secret string) (sessionSecret, csrf string, ps *PortalSession, err error) {
	if secret == "" || len(secret) > 128 {
		return "", "", nil, notFound("setup link")
	}
	sessionSecret, err = identity.NewSecret(s.opts.Identity.Rand())
	if err != nil {
		return "", "", nil, err
	}
	csrf, err = identity.NewSecret(s.opts.Identity.Rand())
	if err != nil {
		return "", "", nil, err
	}
	now := s.now()
	spent := false
	err = s.opts.Identity.Backend(kv.Inside()).Update(ctx, func(tx identity.Tx) error {
		spent = false
		l, err := takeRecord(tx, setupLinks, identity.HashSecret(secret))
		if err != nil {
			return err
		}
		if !now.Before(l.ExpiresAt) {
			return fmt.Errorf("setup link: %w", identity.ErrExpired)
		}
		// A link the onboarding has moved past (a new invitation, a new
		// administrator email, a reset) is spent, as a used one: taken
		// (the commit deletes it) and refused.
		ok, err := accessCurrent(tx, l.Env, l.ConnectionID, l.OnboardingID, l.Epoch)
		if err != nil {
			return err
		}
		if spent = !ok; spent {
			return nil
		}
		exp := now.Add(s.opts.PortalSessionTTL)
		ps = &PortalSession{ConnectionID: l.ConnectionID, Env: l.Env, ExpiresAt: exp, CSRFHash: identity.HashSecret(csrf)}
		return putExpiring(tx, portalSessions, identity.HashSecret(sessionSecret), portalSession{
			ConnectionID: ps.ConnectionID, Env: ps.Env, CSRFHash: ps.CSRFHash, ExpiresAt: exp,
			OnboardingID: l.OnboardingID, Epoch: l.Epoch}, exp)
	})
	if err == nil && spent {
		err = notFound("setup link")
	}
	if err != nil {
		return "", "", nil, err
	}
	// Mark the onboarding as started.
	if id, e := s.Identity(ps.Env); e == nil {
		_, _ = s.advanceOnboarding(ctx, id, ps.ConnectionID, OnboardingStarted, -1, "")
	}
	return sessionSecret, csrf, ps, nil
}

// PortalSession returns the live portal session of a cookie secret.
func (s *Service) PortalSession(ctx context.Context, sessionSecret string) (*PortalSession, error) {
	if sessionSecret == "" || len(sessionSecret) > 128 {
		return nil, notFound("portal session")
	}
	var ps portalSession
	err := s.opts.Identity.Backend(kv.Inside()).View(ctx, func(tx identity.ReadTx) (err error) {
		ps, err = portalSessions.Get(tx, identity.HashSecret(sessionSecret))
		if err != nil {
			return err
		}
		// A session the onboarding has moved past is over.
		ok, err := accessCurrent(tx, ps.Env, ps.ConnectionID, ps.OnboardingID, ps.Epoch)
		if err == nil && !ok {
			err = notFound("portal session")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if !s.now().Before(ps.ExpiresAt) {
		return nil, fmt.Errorf("portal session: %w", identity.ErrExpired)
	}
	return &PortalSession{ConnectionID: ps.ConnectionID, Env: ps.Env, ExpiresAt: ps.ExpiresAt, CSRFHash: ps.CSRFHash}, nil
}

// EndPortalSession deletes a portal session.
func (s *Service) EndPortalSession(ctx context.Context, sessionSecret string) error {
	return s.opts.Identity.Backend(kv.Inside()).Update(ctx, func(tx identity.Tx) error {
		return portalSessions.Delete(tx, identity.HashSecret(sessionSecret))
	})
}

// stateRank orders onboarding states so progress never goes backwards
// (except test_failed, which a new failure may set after a success is
// undone by new metadata).
func stateRank(s string) int {
	for i, x := range OnboardingStates() {
		if x == s {
			return i
		}
	}
	return -1
}

// advanceOnboarding moves the onboarding forward to state (never back,
// except between test_failed and completed) and to step (when step >= 0
// and further than the current one). testErr is recorded with
// test_failed.
func (s *Service) advanceOnboarding(ctx context.Context, id *identity.Service, idpID, state string, step int, testErr string) (*Onboarding, error) {
	return s.advanceOnboardingTest(ctx, id, idpID, state, step, testErr, "")
}

// advanceOnboardingTest is advanceOnboarding that also records the summary
// of a successful test sign-in.
func (s *Service) advanceOnboardingTest(ctx context.Context, id *identity.Service, idpID, state string, step int, testErr, testOK string) (*Onboarding, error) {
	var out *Onboarding
	_, err := s.mutate(ctx, id, idpID, func(tx *identity.Txn, c *Connection) (string, map[string]any, error) {
		o, err := onboardings(tx.Env()).Get(tx.KV(kv.Inside()), c.OnboardingID)
		if err != nil {
			return "", nil, err
		}
		switch {
		case state == OnboardingTestFailed || state == OnboardingCompleted:
			o.State = state
		case state == OnboardingMetadataUploaded && (o.State == OnboardingTestFailed || o.State == OnboardingCompleted):
			// New metadata must be tested again.
			o.State = state
		case stateRank(state) > stateRank(o.State):
			o.State = state
		}
		if state == OnboardingTestFailed || state == OnboardingCompleted || state == OnboardingMetadataUploaded {
			o.LastTestError, o.LastTestResult = testErr, testOK
		}
		if step > o.TutorialStep {
			o.TutorialStep = step
		}
		o.UpdatedAt = s.now()
		if err := onboardings(tx.Env()).Put(tx.KVTx(kv.Inside()), o.ID, o); err != nil {
			return "", nil, err
		}
		out = &o
		return "", nil, nil
	})
	return out, err
}

// ChooseProvider records the administrator's provider choice.
func (s *Service) ChooseProvider(ctx context.Context, id *identity.Service, idpID, providerType string) (*Onboarding, error) {
	if !validProviderType(providerType) || providerType == ProviderUnset {
		return nil, identity.Invalid("provider_type", "must be one of "+strings.Join(ProviderTypes()[:len(ProviderTypes())-1], ", "))
	}
	if _, err := s.UpdateOnboarding(ctx, id, idpID, OnboardingInput{ProviderType: &providerType}); err != nil {
		return nil, err
	}
	return s.advanceOnboarding(ctx, id, idpID, OnboardingProviderTypeChosen, StepConfigureIdP, "")
}

// SetTutorialStep records that the administrator reached step.
func (s *Service) SetTutorialStep(ctx context.Context, id *identity.Service, idpID string, step int) (*Onboarding, error) {
	return s.advanceOnboarding(ctx, id, idpID, "", step, "")
}

// UploadMetadata validates and stores IdP metadata from the portal. The
// error of invalid metadata is an *identity.InvalidError whose message is
// written for the administrator. Warnings (an expiring certificate, no
// logout endpoint) come back with the parsed metadata.
func (s *Service) UploadMetadata(ctx context.Context, id *identity.Service, idpID string, xml []byte) (*saml.IdPMetadata, error) {
	md, err := saml.ParseIdPMetadata(xml, s.now())
	if err != nil {
		return nil, identity.Invalid("metadata", err.Error())
	}
	text := string(xml)
	if _, err := s.UpdateConnection(ctx, id, idpID, Update{Metadata: &text}); err != nil {
		return nil, err
	}
	if _, err := s.advanceOnboarding(ctx, id, idpID, OnboardingMetadataUploaded, StepTestSignIn, ""); err != nil {
		return nil, err
	}
	return md, nil
}
