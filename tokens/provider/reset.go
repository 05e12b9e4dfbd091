package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/mail"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// "Forgot password" on the hosted login page. The rule is the identity
// core's (identity.Service.RequestPasswordReset, CheckPasswordReset,
// ResetPassword); this file only parses, calls and renders.
//
//	login page, action=forgot       the email form (same pending request)
//	login page, action=forgot_send  mails a reset link, back on the login page
//	GET  /t/{domain}/password-reset/{token}  the new-password form (consumes nothing)
//	POST /t/{domain}/password-reset/{token}  sets the password, consuming the link
//
// The browser that asked keeps the pending request's id in a cookie, so
// that after the reset it lands on the login page of that request (the
// sign-in continues with the new password); another browser gets a page
// saying the password changed.

// resetCookie holds the id of the pending request a reset was asked from.
const resetCookie = "gatehouse_reset"

// passwordsOn reports whether the login page of req offers passwords.
func (p *Provider) passwordsOn(req *authRequest) bool {
	return p.ids.Hasher() != nil && req.Flavor != flavorHeadless
}

// resetURL is the link of a reset mail, built from the base URL, in the
// tree of env.
func (p *Provider) resetURL(env identity.Environment, domain, token string) string {
	return p.base + resetPath(env, domain, token)
}

// resetPath is the path of a reset link below the base URL.
func resetPath(env identity.Environment, domain, token string) string {
	return tokens.EnvironmentPath(env) + "/t/" + url.PathEscape(domain) + "/password-reset/" + url.PathEscape(token)
}

// renderForgot shows the "forgot password" form of a pending request.
func (p *Provider) renderForgot(w http.ResponseWriter, r *http.Request, reqID string, req *authRequest, errKey string, status int) {
	tr := translations(req.Locale)
	d := &pageData{Locale: req.Locale, Title: tr["forgot_title"], OrgName: p.orgName(r.Context(), req.OrgDomain), T: tr,
		CSRF: p.csrfToken(w, r), Request: reqID, Action: p.loginAction(req), Email: r.PostFormValue("email")}
	if errKey != "" {
		d.Error = tr["err_"+errKey]
	}
	p.render(w, r, "forgot", status, d)
}

// sendReset asks the identity core for a reset link and mails it in the
// background. Known and unknown addresses get the same page (the login
// page with a notice), the same cookie and the same store work.
func (p *Provider) sendReset(w http.ResponseWriter, r *http.Request, reqID string, req *authRequest, email string) {
	ctx := r.Context()
	svc, known, ok := p.mailRequest(w, r, req, email, "reset-addr", func(problem string, status int) {
		p.renderForgot(w, r, reqID, req, problem, status)
	})
	if !ok {
		return
	}
	reset := &identity.PasswordReset{}
	var err error
	if known {
		reset, err = svc.RequestPasswordReset(ctx, identity.PasswordResetRequest{OrgDomain: req.OrgDomain, Email: email,
			ClientAddr: httpx.ClientAddress(r), ClientID: req.ClientID, TTL: p.opts.PasswordResetTTL})
	} else {
		// No organization for the address: the same send budget is
		// spent, as for a magic link.
		err = svc.AllowCodeSend(ctx, req.OrgDomain, email, httpx.ClientAddress(r))
	}
	switch {
	case errors.Is(err, identity.ErrBusy):
		p.renderForgot(w, r, reqID, req, "rate_limited", http.StatusTooManyRequests)
		return
	case err != nil:
		p.log.Error("provider: password reset request", "err", err)
		p.errorPage(w, r, req.Locale, http.StatusServiceUnavailable, "unavailable")
		return
	}
	http.SetCookie(w, p.cookie(r, resetCookie, reqID, req.ExpiresAt))
	// The same reads either way; only the background mail differs.
	orgName := p.orgName(ctx, req.OrgDomain)
	if reset.Token != "" {
		p.sendResetMail(req.Locale, reset.User.Email, orgName,
			p.resetURL(req.Env, req.OrgDomain, reset.Token), reset.ExpiresAt.Sub(p.now()))
	}
	p.renderLoginPage(w, r, reqID, req, "", "reset_sent", http.StatusOK)
}

// sendResetMail sends the reset link in the background.
func (p *Provider) sendResetMail(locale, to, orgName, link string, ttl time.Duration) {
	p.sendLinkMail(locale, "reset", to, orgName, link, int((ttl+time.Minute/2)/time.Minute))
}

// sendLinkMail sends a mailed link in the background: the messages of
// kind ("reset", "invite": the translations kind_mail_subject, _text,
// _intro, _button and _footer), whose text and footer give its lifetime n
// (in the unit those messages name).
func (p *Provider) sendLinkMail(locale, kind, to, orgName, link string, n int) {
	tr := translations(locale)
	product := p.pages.Look().ProductName()
	m := mail.Message{From: p.opts.MailFrom, To: []string{to},
		Subject: fmt.Sprintf(tr[kind+"_mail_subject"], orgName, product),
		Text:    fmt.Sprintf(tr[kind+"_mail_text"], orgName, link, n)}
	html, err := p.mailHTML(locale, fmt.Sprintf(tr[kind+"_mail_intro"], orgName), link, tr[kind+"_mail_button"], "", "",
		fmt.Sprintf(tr[kind+"_mail_footer"], n))
	if err == nil {
		m.HTML = html
	}
	p.deliver(m)
}

// renderReset shows the new-password form of a reset link.
func (p *Provider) renderReset(w http.ResponseWriter, r *http.Request, locale, domain, token, email, errKey string, status int) {
	tr := translations(locale)
	d := &pageData{Locale: locale, Title: tr["reset_title"], OrgName: p.orgName(r.Context(), domain), T: tr,
		CSRF: p.csrfToken(w, r), Action: p.path + resetPath(envOf(r), domain, token), Email: email,
		Message: fmt.Sprintf(tr["reset_intro"], email)}
	if errKey != "" {
		d.Error = tr["err_"+errKey]
	}
	p.render(w, r, "reset", status, d)
}

// resetPage is the GET of a reset link: the form, if the link is live.
// It consumes nothing (mail scanners follow links).
func (p *Provider) resetPage(w http.ResponseWriter, r *http.Request) {
	locale, svc, domain, token, ok := p.linkRequest(w, r, false)
	if !ok {
		return
	}
	u, err := svc.CheckPasswordReset(r.Context(), domain, token)
	if err != nil {
		p.linkRefused(w, r, locale, "password reset", err)
		return
	}
	p.renderReset(w, r, locale, domain, token, u.Email, "", http.StatusOK)
}

// linkRefused answers a mailed link (a reset, an invitation) that cannot
// be used: unknown, used, foreign and expired links alike; what names the
// link in the log of an unexpected failure.
func (p *Provider) linkRefused(w http.ResponseWriter, r *http.Request, locale, what string, err error) {
	if errors.Is(err, identity.ErrNotFound) || errors.Is(err, identity.ErrExpired) {
		p.errorPage(w, r, locale, http.StatusBadRequest, "link_gone")
		return
	}
	p.log.Error("provider: mailed link", "detail", what, "err", err)
	p.errorPage(w, r, locale, http.StatusServiceUnavailable, "unavailable")
}

// linkRequest is the prologue of a mailed link's page (GET) or form
// (post: the form parsed with its CSRF check): the locale, the
// environment's service and the link's organization and token; false when
// it has answered.
func (p *Provider) linkRequest(w http.ResponseWriter, r *http.Request, post bool) (locale string, svc *identity.Service, domain, token string, ok bool) {
	locale = pickLocale(r, "")
	if post {
		r.Body = httpx.LimitBody(w, r, maxBody)
		if err := r.ParseForm(); err != nil || !checkCSRF(r) {
			p.errorPage(w, r, locale, http.StatusForbidden, "csrf")
			return locale, nil, "", "", false
		}
	}
	svc, err := p.envService(envOf(r))
	if err != nil {
		p.errorPage(w, r, locale, http.StatusServiceUnavailable, "unavailable")
		return locale, nil, "", "", false
	}
	return locale, svc, r.PathValue("domain"), r.PathValue("token"), true
}

// resetPost sets the new password and continues the sign-in.
func (p *Provider) resetPost(w http.ResponseWriter, r *http.Request) {
	locale, svc, domain, token, ok := p.linkRequest(w, r, true)
	if !ok {
		return
	}
	ctx := r.Context()
	env := envOf(r)
	u, err := svc.CheckPasswordReset(ctx, domain, token)
	if err != nil {
		p.linkRefused(w, r, locale, "password reset", err)
		return
	}
	pw := r.PostFormValue("password")
	if pw == "" || pw != r.PostFormValue("password2") {
		p.renderReset(w, r, locale, domain, token, u.Email, "passwords_differ", http.StatusBadRequest)
		return
	}
	u, err = svc.ResetPassword(ctx, identity.PasswordResetCompletion{OrgDomain: domain, Token: token, Password: pw})
	switch {
	case errors.Is(err, identity.ErrInvalid):
		p.renderReset(w, r, locale, domain, token, "", "bad_password", http.StatusBadRequest)
		return
	case errors.Is(err, identity.ErrBusy):
		p.renderReset(w, r, locale, domain, token, "", "busy", http.StatusTooManyRequests)
		return
	case err != nil:
		p.linkRefused(w, r, locale, "password reset", err)
		return
	}
	p.afterReset(w, r, env, domain, locale, u)
}

// afterReset sends the browser that asked for the reset back to its
// pending request's login page; any other browser is told to sign in.
func (p *Provider) afterReset(w http.ResponseWriter, r *http.Request, env identity.Environment, domain, locale string, u *identity.User) {
	ck, err := r.Cookie(resetCookie)
	if err == nil && ck.Value != "" {
		clear := p.cookie(r, resetCookie, "", time.Unix(0, 0))
		clear.MaxAge = -1
		http.SetCookie(w, clear)
		if req, err := p.loadRequest(r.Context(), ck.Value); err == nil && req.Env == env && req.OrgDomain == domain &&
			!req.SSOChallenge {
			// The login page prefills the address it was reset for.
			r.PostForm.Set("email", u.Email)
			p.renderLoginPage(w, r, ck.Value, req, "", "password_changed_sign_in", http.StatusOK)
			return
		}
	}
	p.messagePage(w, r, locale, http.StatusOK, "password_changed")
}

// SendPasswordReset mails the user of orgDomain with email, in env, a link
// to the hosted page that sets a new password, as the "forgot password"
// page does (identity.Service.RequestPasswordReset: the address's send
// budget, a single-use token, an audit event naming the actor of ctx,
// identity.WithActor). An administrator's face (the admin console) calls
// it for a user it has found; clientAddr is the administrator's address
// (the budget's cooldown). An address that is no enabled user's sends
// nothing and is not an error; a spent budget is an error wrapping
// identity.ErrBusy. The mail goes in the background, in locale ("en" or
// "fr").
func (p *Provider) SendPasswordReset(ctx context.Context, env identity.Environment, orgDomain, email, locale, clientAddr string) error {
	svc, err := p.envService(env)
	if err != nil {
		return err
	}
	reset, err := svc.RequestPasswordReset(ctx, identity.PasswordResetRequest{OrgDomain: orgDomain, Email: email,
		ClientAddr: clientAddr, TTL: p.opts.PasswordResetTTL})
	if err != nil {
		return err
	}
	if reset.Token != "" {
		p.sendResetMail(locale, reset.User.Email, p.orgName(ctx, orgDomain),
			p.resetURL(env, orgDomain, reset.Token), reset.ExpiresAt.Sub(p.now()))
	}
	return nil
}
