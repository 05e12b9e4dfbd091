package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// Invitations: an administrator mails a user a link that signs the user
// in at the organization (identity.Service.InviteUser holds the rule;
// this file mails the link and serves it).
//
//	GET  /t/{domain}/invitation/{token}  a confirmation page (consumes nothing)
//	POST /t/{domain}/invitation/{token}  consumes the link and signs the user in
//
// The POST (CSRF token) accepts the invitation (identity.Service
// AcceptInvitation: single use, the address marked verified) and opens a
// browser session of the user at the organization's issuer, in the
// environment of the link's tree, in one transaction (the session is
// written by the acceptance's Then hook: if that write fails, the answer
// is 503 and the link stays usable), and lands the browser: on the
// application the administrator chose (identity.Application
// InvitationLanding: its default web origin, else its first web origin,
// where its own sign-in is answered from the session without asking
// again), or, without one, on a page of the organization saying the user
// is signed in.

// invitationPath is the path of an invitation link below the base URL.
func invitationPath(env identity.Environment, domain, token string) string {
	return tokens.EnvironmentPath(env) + "/t/" + url.PathEscape(domain) + "/invitation/" + url.PathEscape(token)
}

// InviteUser issues an invitation with svc (the caller's service, bound
// to the environment of the link; a scoped one applies its scope and
// needs update:users: identity.Service.InviteUser holds the rule, its
// send budget and its USER_INVITED audit event naming the actor of ctx)
// and mails the user the link in the background, in locale ("en" or
// "fr"). The returned invitation has no Token: the secret exists only in
// the mail. TTL is the link's lifetime when in.TTL is zero (default
// identity.DefaultInvitationTTL).
func (p *Provider) InviteUser(ctx context.Context, svc *identity.Service, in identity.InvitationRequest, locale string) (*identity.Invitation, error) {
	if svc == nil {
		return nil, errors.New("provider: InviteUser needs a service")
	}
	inv, err := svc.InviteUser(ctx, in)
	if err != nil {
		return nil, err
	}
	link := p.base + invitationPath(svc.Environment(), inv.OrgDomain, inv.Token)
	p.sendInviteMail(locale, inv.User.Email, p.orgName(ctx, inv.OrgDomain), link, inv.ExpiresAt.Sub(p.now()))
	out := *inv
	out.Token = ""
	return &out, nil
}

// sendInviteMail sends the invitation link in the background.
func (p *Provider) sendInviteMail(locale, to, orgName, link string, ttl time.Duration) {
	p.sendLinkMail(locale, "invite", to, orgName, link, max(1, int((ttl+time.Hour/2)/time.Hour)))
}

// invitationPage is the GET of an invitation link: a confirmation page,
// if the link is live. It consumes nothing (mail scanners follow links).
func (p *Provider) invitationPage(w http.ResponseWriter, r *http.Request) {
	locale, svc, domain, token, ok := p.linkRequest(w, r, false)
	if !ok {
		return
	}
	inv, err := svc.CheckInvitation(r.Context(), domain, token)
	if err != nil {
		p.linkRefused(w, r, locale, "invitation", err)
		return
	}
	tr := translations(locale)
	orgName := p.orgName(r.Context(), domain)
	p.render(w, r, "confirm", http.StatusOK, &pageData{Locale: locale, Title: tr["invite_title"], OrgName: orgName, T: tr,
		CSRF: p.csrfToken(w, r), Action: p.path + invitationPath(envOf(r), domain, token),
		Message: fmt.Sprintf(tr["invite_text"], orgName, inv.User.Email)})
}

// invitationPost consumes the link, signs the user in and lands the
// browser.
func (p *Provider) invitationPost(w http.ResponseWriter, r *http.Request) {
	locale, svc, domain, token, ok := p.linkRequest(w, r, true)
	if !ok {
		return
	}
	ctx := r.Context()
	env := envOf(r)
	cookie, err := p.newSecret()
	if err != nil {
		p.errorPage(w, r, locale, http.StatusServiceUnavailable, "unavailable")
		return
	}
	// The browser session is written in the transaction that consumes
	// the link: if it fails, the link stays usable.
	var s sessionRecord
	inv, err := svc.AcceptInvitation(ctx, identity.InvitationAcceptance{OrgDomain: domain, Token: token,
		Then: func(tx *identity.Txn, inv *identity.Invitation) error {
			now := p.now()
			s = sessionRecord{Env: env, OrgDomain: domain, UserID: inv.User.ID, AuthTime: now, IPS: "cryptr",
				ExpiresAt: now.Add(p.opts.SessionTTL)}
			if err := putSession(tx.KVTx(kv.Inside()), identity.HashSecret(cookie), s); err != nil {
				return &sessionWriteError{err: err}
			}
			return nil
		}})
	if swe := (*sessionWriteError)(nil); errors.As(err, &swe) {
		p.log.Error("provider: invitation session", "err", swe.err)
		p.errorPage(w, r, locale, http.StatusServiceUnavailable, "unavailable")
		return
	}
	if err != nil {
		p.linkRefused(w, r, locale, "invitation", err)
		return
	}
	p.setSessionCookie(w, r, env, cookie, s.ExpiresAt)
	if inv.LandingURL != "" {
		http.Redirect(w, r, inv.LandingURL, http.StatusSeeOther)
		return
	}
	tr := translations(locale)
	orgName := p.orgName(ctx, domain)
	p.render(w, r, "message", http.StatusOK, &pageData{Locale: locale, Title: tr["invite_done_title"], OrgName: orgName,
		T: tr, Message: fmt.Sprintf(tr["invite_done"], orgName, inv.User.Email)})
}

// sessionWriteError is a failed write of the browser session an
// invitation opens: an outage, never a refused link (whatever the store's
// error wraps).
type sessionWriteError struct{ err error }

// Error names the failed write (it does not unwrap: a store error that
// wraps ErrNotFound must not read as a spent link).
func (e *sessionWriteError) Error() string { return "invitation session: " + e.err.Error() }
