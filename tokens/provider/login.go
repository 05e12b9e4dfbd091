package provider

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/mail"
)

// Cookie names. Each environment has its own browser session, so signing
// in to the sandbox does not replace (or serve) the production session.
const (
	sessionCookie        = "gatehouse_session"
	sandboxSessionCookie = "gatehouse_sandbox_session"
	csrfCookie           = "gatehouse_csrf"
)

// sessionCookieName returns the name of env's browser-session cookie.
func sessionCookieName(env identity.Environment) string {
	if env == identity.Sandbox {
		return sandboxSessionCookie
	}
	return sessionCookie
}

// currentSession returns the browser session of r in the environment of
// its path tree, if any and unexpired. A session opened before sessions were indexed by user (an older store)
// and before the user's latest password change is ignored, as the change
// would have ended it.
func (p *Provider) currentSession(r *http.Request) *sessionRecord {
	env := envOf(r)
	ck, err := r.Cookie(sessionCookieName(env))
	if err != nil || ck.Value == "" || len(ck.Value) > 200 {
		return nil
	}
	var s sessionRecord
	hash := identity.HashSecret(ck.Value)
	err = p.ids.View(r.Context(), func(tx *identity.ReadTxn) (err error) {
		s, err = sessions.Get(tx.KV(kv.Inside()), hash)
		return err
	})
	if err != nil || s.Env != env || !p.now().Before(s.ExpiresAt) {
		return nil
	}
	if u, err := p.userOf(r.Context(), s.Env, s.OrgDomain, s.UserID); err == nil {
		if stale, err := p.predatesPasswordChange(r.Context(), s.Env, u, "s:"+hash, s.AuthTime); err != nil || stale {
			return nil
		}
	}
	return &s
}

func (p *Provider) cookie(r *http.Request, name, value string, exp time.Time) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: p.path + "/", Expires: exp, HttpOnly: true,
		Secure: p.secure || r.TLS != nil, SameSite: http.SameSiteLaxMode}
}

func (p *Provider) setSessionCookie(w http.ResponseWriter, r *http.Request, env identity.Environment, value string, exp time.Time) {
	http.SetCookie(w, p.cookie(r, sessionCookieName(env), value, exp))
}

func (p *Provider) clearSessionCookie(w http.ResponseWriter, r *http.Request, env identity.Environment) {
	c := p.cookie(r, sessionCookieName(env), "", time.Unix(0, 0))
	c.MaxAge = -1
	http.SetCookie(w, c)
}

// csrfToken returns the browser's CSRF token, setting the cookie when the
// browser has none (double-submit: every form echoes it).
func (p *Provider) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(csrfCookie); err == nil && len(ck.Value) == 43 {
		return ck.Value
	}
	v, err := p.newSecret()
	if err != nil {
		return ""
	}
	http.SetCookie(w, p.cookie(r, csrfCookie, v, time.Time{}))
	// Later reads in this request see the new value.
	r.AddCookie(&http.Cookie{Name: csrfCookie, Value: v})
	return v
}

// checkCSRF compares the form's token with the cookie in constant time.
func checkCSRF(r *http.Request) bool {
	ck, err := r.Cookie(csrfCookie)
	if err != nil || len(ck.Value) != 43 {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue("csrf_token"))) == 1
}

// loadRequest reads a pending authorization request by its id.
func (p *Provider) loadRequest(ctx context.Context, reqID string) (*authRequest, error) {
	if reqID == "" || len(reqID) > 100 {
		return nil, errRequestGone
	}
	var req authRequest
	err := p.ids.View(ctx, func(tx *identity.ReadTxn) (err error) {
		req, err = authRequests.Get(tx.KV(kv.Inside()), identity.HashSecret(reqID))
		return err
	})
	if errors.Is(err, identity.ErrNotFound) || (err == nil && (req.Done || !p.now().Before(req.ExpiresAt))) {
		return nil, errRequestGone
	}
	if err != nil {
		return nil, err
	}
	return &req, nil
}

// loginPost handles the forms of the hosted login page.
func (p *Provider) loginPost(w http.ResponseWriter, r *http.Request) {
	r.Body = httpx.LimitBody(w, r, maxBody)
	if err := r.ParseForm(); err != nil {
		p.errorPage(w, r, "", http.StatusBadRequest, "bad_request")
		return
	}
	reqID := r.PostFormValue("request")
	req, err := p.loadRequest(r.Context(), reqID)
	if err != nil {
		if errors.Is(err, errRequestGone) {
			p.errorPage(w, r, pickLocale(r, ""), http.StatusBadRequest, "request_gone")
		} else {
			p.log.Error("provider: loading authorization request", "err", err)
			p.errorPage(w, r, pickLocale(r, ""), http.StatusServiceUnavailable, "unavailable")
		}
		return
	}
	if req.Env != envOf(r) || req.SSOChallenge {
		// A request of the other environment is unknown in this tree; a
		// headless SSO challenge completes only through its connection.
		p.errorPage(w, r, pickLocale(r, ""), http.StatusBadRequest, "request_gone")
		return
	}
	if !checkCSRF(r) {
		p.errorPage(w, r, req.Locale, http.StatusForbidden, "csrf")
		return
	}
	if d := r.PathValue("domain"); d != "" && req.OrgDomain != "" && d != req.OrgDomain {
		p.errorPage(w, r, req.Locale, http.StatusBadRequest, "request_gone")
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	switch r.PostFormValue("action") {
	case "magic":
		p.sendMagic(w, r, reqID, req, email)
	case "code":
		p.enterCode(w, r, reqID, req)
	case "password":
		p.passwordLogin(w, r, reqID, req, email)
	case "sso":
		p.ssoLogin(w, r, reqID, req, email)
	case "forgot", "forgot_send", "back":
		if !p.passwordsOn(req) {
			p.renderLogin(w, r, reqID, req, "", http.StatusBadRequest)
		} else if a := r.PostFormValue("action"); a == "forgot" {
			p.renderForgot(w, r, reqID, req, "", http.StatusOK)
		} else if a == "forgot_send" {
			p.sendReset(w, r, reqID, req, email)
		} else {
			p.renderLogin(w, r, reqID, req, "", http.StatusOK)
		}
	default:
		p.renderLogin(w, r, reqID, req, "", http.StatusBadRequest)
	}
}

// resolveOrg fixes the organization of a gateway request from the email's
// domain (only organizations that list the domain as theirs).
func (p *Provider) resolveOrg(ctx context.Context, req *authRequest, email string) (bool, error) {
	if req.OrgDomain != "" {
		return true, nil
	}
	svc, err := p.envService(req.Env)
	if err != nil {
		return false, err
	}
	org, err := svc.OrgForEmailDomain(ctx, identity.EmailDomain(email))
	if errors.Is(err, identity.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	app, err := p.appByClientID(ctx, req.Env, req.ClientID)
	if err != nil || !p.appServes(ctx, app, req.Env, org.Domain) {
		return false, nil
	}
	req.OrgDomain = org.Domain
	return true, nil
}

// sendMagic emails a magic link and a 6-digit code, then shows the code
// form. Known and unknown addresses get the same page and the same store
// work; only the mail (sent in the background) differs.
func (p *Provider) sendMagic(w http.ResponseWriter, r *http.Request, reqID string, req *authRequest, email string) {
	ctx := r.Context()
	// The client address's send limit is counted in the transaction that
	// stores the link (below).
	svc, known, ok := p.mailRequest(w, r, req, email, "", func(problem string, status int) {
		p.renderLogin(w, r, reqID, req, problem, status)
	})
	if !ok {
		return
	}
	var user *identity.User
	var err error
	if known {
		user, err = svc.GetUserByEmail(ctx, req.OrgDomain, email)
		if err != nil && !errors.Is(err, identity.ErrNotFound) {
			p.errorPage(w, r, req.Locale, http.StatusServiceUnavailable, "unavailable")
			return
		}
		if err != nil || !user.Enabled {
			user = nil
		}
	}
	// Who gets a mail: an enabled user, or, when the request signs up
	// (sign_type=signup or a find-or-create challenge), an address the
	// organization's sign-up policy admits (identity.Service.MaySignUp).
	// A refused sign-up gets the same page as an unknown account.
	mailable := known && user != nil
	if known && user == nil && req.signsUp() {
		if mailable, err = svc.MaySignUp(ctx, req.OrgDomain, email); err != nil {
			p.errorPage(w, r, req.Locale, http.StatusServiceUnavailable, "unavailable")
			return
		}
	}
	token, err := p.newSecret()
	var digits string
	if err == nil {
		digits, err = p.newDigits()
	}
	if err != nil {
		p.errorPage(w, r, req.Locale, http.StatusInternalServerError, "unavailable")
		return
	}
	now := p.now()
	exp := now.Add(p.opts.MagicLinkTTL)
	reqHash := identity.HashSecret(reqID)
	// One transaction either way, one commit: the client address's send
	// limit, the address's send budget (the identity core's: per
	// organization and email, with a bounded cooldown per client address,
	// so that nobody can stop another person's mail for long), the request
	// update, and for a mailable address the link and its audit event.
	// Every attempt counts against the client address: a send that the
	// budget refuses, or whose request is gone, commits that count alone.
	addr := httpx.ClientAddress(r)
	var refused error
	err = svc.Update(ctx, func(tx *identity.Txn) error {
		raw := tx.KVTx(kv.Inside())
		refused = nil
		ok, _, err := p.rate().Take(raw, "ml-addr\x00"+addr, p.opts.AddressSendLimit, now)
		if err != nil {
			return err
		}
		if !ok {
			return errTooManyRequests
		}
		if err := tx.AllowCodeSend(req.OrgDomain, email, addr); errors.Is(err, identity.ErrBusy) {
			refused = err
			return nil
		} else if err != nil {
			return err
		}
		stored, err := authRequests.Get(raw, reqHash)
		if err != nil || stored.Done {
			refused = errRequestGone
			return nil
		}
		stored.OrgDomain = req.OrgDomain
		stored.MagicEmail = email
		stored.MagicCodeHash = identity.HashSecret(reqHash + ":" + digits)
		stored.MagicExpires = exp
		stored.MagicAttempts = 0
		if err := authRequests.Put(raw, reqHash, stored); err != nil {
			return err
		}
		*req = stored
		if !mailable {
			return nil
		}
		if err := put(raw, magicLinks, identity.HashSecret(token), magicLinkRecord{RequestHash: reqHash, Email: email,
			ExpiresAt: exp}, exp); err != nil {
			return err
		}
		org, err := tx.Org(req.OrgDomain)
		if err != nil {
			return err
		}
		return tx.Log(&identity.Event{Code: identity.EventMagicLinkSent, OrgID: org.ID, TenantDomain: req.OrgDomain,
			ClientID: req.ClientID, Email: email})
	})
	if err == nil {
		err = refused
	}
	if errors.Is(err, errTooManyRequests) || errors.Is(err, identity.ErrBusy) {
		p.renderLogin(w, r, reqID, req, "rate_limited", http.StatusTooManyRequests)
		return
	}
	if errors.Is(err, errRequestGone) {
		p.errorPage(w, r, req.Locale, http.StatusBadRequest, "request_gone")
		return
	}
	if err != nil {
		p.log.Error("provider: storing magic link", "err", err)
		p.errorPage(w, r, req.Locale, http.StatusServiceUnavailable, "unavailable")
		return
	}
	if mailable {
		// A known user's mail goes to its stored address, not to the
		// address as typed (which may differ in case only): the
		// mailbox the account was proven with, exactly.
		to := email
		if user != nil {
			to = user.Email
		}
		link := p.magicLinkURL(req.Env, token)
		p.sendMail(req.Locale, to, p.orgName(ctx, req.OrgDomain), link, digits)
	}
	p.renderCode(w, r, reqID, req, "", http.StatusOK)
}

// sendMail sends the magic-link mail in the background, so that the answer
// does not reveal whether a mail was sent.
func (p *Provider) sendMail(locale, to, orgName, link, digits string) {
	tr := translations(locale)
	m := mail.Message{From: p.opts.MailFrom, To: []string{to},
		Subject: fmt.Sprintf(tr["mail_subject"], orgName),
		Text:    fmt.Sprintf(tr["mail_text"], orgName, link, digits, int(p.opts.MagicLinkTTL/time.Minute))}
	minutes := int(p.opts.MagicLinkTTL / time.Minute)
	html, err := p.mailHTML(locale, fmt.Sprintf(tr["mail_intro"], orgName), link, tr["mail_button"], tr["mail_code"], digits,
		fmt.Sprintf(tr["mail_footer"], minutes))
	if err == nil {
		m.HTML = html
	}
	p.deliver(m)
}

// deliver sends m in the background, so that the answer does not reveal
// whether a mail was sent.
func (p *Provider) deliver(m mail.Message) {
	p.mailWG.Add(1)
	go func() {
		defer p.mailWG.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := p.opts.Mailer.Send(ctx, m); err != nil {
			p.log.Error("provider: sending mail", "mail_subject", m.Subject, "err", err)
		}
	}()
}

// enterCode checks the 6-digit code of the magic-link mail.
func (p *Provider) enterCode(w http.ResponseWriter, r *http.Request, reqID string, req *authRequest) {
	ctx := r.Context()
	digits := strings.TrimSpace(r.PostFormValue("code"))
	reqHash := identity.HashSecret(reqID)
	now := p.now()
	var ok, exhausted bool
	var email string
	svc, err := p.envService(req.Env)
	if err != nil {
		p.errorPage(w, r, req.Locale, http.StatusServiceUnavailable, "unavailable")
		return
	}
	// A right code of an existing, enabled and verified user signs in in
	// the transaction that checks it (one commit: the attempt, the
	// success event, the session, the code and the request's end); any
	// other sign-in goes through the core's SignInWithEmail afterwards
	// (finishMagic).
	c, err := p.prepareCompletion(req, reqID, authn{ips: "cryptr",
		event: &identity.Event{Code: identity.EventMagicLinkSuccess, ClientID: req.ClientID}})
	if err != nil {
		p.errorPage(w, r, req.Locale, http.StatusInternalServerError, "unavailable")
		return
	}
	signedIn := false
	err = svc.Update(ctx, func(tx *identity.Txn) error {
		raw := tx.KVTx(kv.Inside())
		ok, exhausted, signedIn = false, false, false
		stored, err := authRequests.Get(raw, reqHash)
		if err != nil || stored.Done {
			return errRequestGone
		}
		if stored.MagicCodeHash == "" || !now.Before(stored.MagicExpires) || stored.MagicAttempts >= p.opts.MaxCodeAttempts {
			exhausted = true
			return nil
		}
		// The guess budget of the address (identity core: at most
		// CodeGuessLimit wrong codes per hour, whatever the resends) is
		// spent in this transaction; once it is gone, no code works.
		right := len(digits) == 6 && identity.SecretMatches(reqHash+":"+digits, stored.MagicCodeHash)
		accepted, err := tx.CheckEmailCode(stored.OrgDomain, stored.MagicEmail, right)
		if errors.Is(err, identity.ErrLocked) {
			exhausted = true
			return nil
		}
		if err != nil {
			return err
		}
		stored.MagicAttempts++
		if accepted {
			ok, email = true, stored.MagicEmail
			stored.MagicCodeHash = ""
		}
		*req = stored
		if err := authRequests.Put(raw, reqHash, stored); err != nil {
			return err
		}
		if !accepted {
			return logIn(tx, stored.OrgDomain, &identity.Event{Code: identity.EventMagicLinkFailed,
				ClientID: stored.ClientID, Email: stored.MagicEmail, Data: map[string]any{"reason": "bad_code"}})
		}
		u, err := tx.EmailSignInUser(stored.OrgDomain, stored.MagicEmail)
		if errors.Is(err, identity.ErrNotFound) {
			return nil // finishMagic, after this commit
		}
		if err != nil {
			return err
		}
		signedIn = true
		return c.write(tx, u)
	})
	if errors.Is(err, errRequestGone) {
		p.errorPage(w, r, req.Locale, http.StatusBadRequest, "request_gone")
		return
	}
	if errors.Is(err, identity.ErrForbidden) {
		p.errorPage(w, r, req.Locale, http.StatusForbidden, "denied")
		return
	}
	if err != nil {
		p.errorPage(w, r, req.Locale, http.StatusServiceUnavailable, "unavailable")
		return
	}
	if exhausted {
		p.renderLogin(w, r, reqID, req, "code_expired", http.StatusBadRequest)
		return
	}
	if !ok {
		p.renderCode(w, r, reqID, req, "bad_code", http.StatusBadRequest)
		return
	}
	if signedIn {
		p.answerCompletion(w, r, c, nil)
		return
	}
	p.finishMagic(w, r, reqID, req, email)
}

// finishMagic signs in (or up) the owner of a proven email address.
func (p *Provider) finishMagic(w http.ResponseWriter, r *http.Request, reqID string, req *authRequest, email string) {
	ctx := r.Context()
	user, err := p.magicUser(ctx, req, email)
	if err != nil {
		p.audit(ctx, req.Env, req.OrgDomain, &identity.Event{Code: identity.EventMagicLinkFailed, ClientID: req.ClientID,
			Email: email, Data: map[string]any{"reason": err.Error()}})
		p.errorPage(w, r, req.Locale, http.StatusForbidden, "denied")
		return
	}
	p.complete(w, r, req, reqID, user, authn{ips: "cryptr",
		event: &identity.Event{Code: identity.EventMagicLinkSuccess, ClientID: req.ClientID}})
}

var errNoAccount = errors.New("no enabled account")

// signsUp reports whether the request may create the user it signs in
// (sign_type=signup or a find-or-create challenge), subject to the
// organization's sign-up policy.
func (req *authRequest) signsUp() bool { return req.SignType == "signup" || req.FindOrCreate }

// magicUser finds the user of a proven email through the identity core,
// which creates it when the request signs up and the organization's
// sign-up policy allows it, and marks the address verified. Every refusal
// is errNoAccount, answered with one page.
func (p *Provider) magicUser(ctx context.Context, req *authRequest, email string) (*identity.User, error) {
	svc, err := p.envService(req.Env)
	if err != nil {
		return nil, err
	}
	u, err := svc.SignInWithEmail(ctx, req.OrgDomain, email, req.signsUp())
	if err != nil {
		return nil, errNoAccount
	}
	return u, nil
}

// magicLinkConfirm is the GET of a magic link: a confirmation page whose
// POST signs in. Mail scanners that open links consume nothing.
func (p *Provider) magicLinkConfirm(w http.ResponseWriter, r *http.Request) {
	locale := pickLocale(r, "")
	token := r.PathValue("token")
	rec, req, err := p.lookupMagic(r.Context(), token)
	if err == nil && req.Env != envOf(r) {
		err = errRequestGone
	}
	if err != nil {
		p.errorPage(w, r, locale, http.StatusBadRequest, "link_gone")
		return
	}
	p.renderConfirm(w, r, req.Locale, rec.Email, p.orgName(r.Context(), req.OrgDomain))
}

func (p *Provider) lookupMagic(ctx context.Context, token string) (*magicLinkRecord, *authRequest, error) {
	if len(token) != 43 {
		return nil, nil, errRequestGone
	}
	var rec magicLinkRecord
	var req authRequest
	err := p.ids.View(ctx, func(tx *identity.ReadTxn) (err error) {
		if rec, err = magicLinks.Get(tx.KV(kv.Inside()), identity.HashSecret(token)); err != nil {
			return err
		}
		req, err = authRequests.Get(tx.KV(kv.Inside()), rec.RequestHash)
		return err
	})
	if err != nil || !p.now().Before(rec.ExpiresAt) || req.Done {
		return nil, nil, errRequestGone
	}
	return &rec, &req, nil
}

// magicLinkConsume is the POST of the confirmation page: it consumes the
// link atomically and signs the user in.
func (p *Provider) magicLinkConsume(w http.ResponseWriter, r *http.Request) {
	locale := pickLocale(r, "")
	r.Body = httpx.LimitBody(w, r, maxBody)
	if err := r.ParseForm(); err != nil || !checkCSRF(r) {
		p.errorPage(w, r, locale, http.StatusForbidden, "csrf")
		return
	}
	token := r.PathValue("token")
	if len(token) != 43 {
		p.errorPage(w, r, locale, http.StatusBadRequest, "link_gone")
		return
	}
	hash := identity.HashSecret(token)
	now := p.now()
	env := envOf(r)
	var rec magicLinkRecord
	var req authRequest
	// refused is the private reason a known link of this environment is
	// refused (audited; the page says only that the link is gone).
	refused := ""
	svc, err := p.envService(env)
	if err != nil {
		p.errorPage(w, r, locale, http.StatusServiceUnavailable, "unavailable")
		return
	}
	// An existing, enabled and verified user signs in in the transaction
	// that consumes the link (one commit: the link gone, the success
	// event, the session, the code and the request's end); any other
	// sign-in goes through the core's SignInWithEmail afterwards.
	c, err := p.prepareCompletion(&req, "", authn{ips: "cryptr", event: &identity.Event{Code: identity.EventMagicLinkSuccess}})
	if err != nil {
		p.errorPage(w, r, locale, http.StatusInternalServerError, "unavailable")
		return
	}
	signedIn := false
	err = svc.Update(r.Context(), func(tx *identity.Txn) (err error) {
		refused, signedIn = "", false
		raw := tx.KVTx(kv.Inside())
		if rec, err = magicLinks.Get(raw, hash); err != nil {
			return errRequestGone
		}
		// A link of the other environment is unknown in this tree, and
		// stays usable where it belongs.
		if req, err = authRequests.Get(raw, rec.RequestHash); err == nil && req.Env != env {
			return errRequestGone
		}
		if err := magicLinks.Delete(raw, hash); err != nil {
			return err
		}
		if !now.Before(rec.ExpiresAt) {
			refused = "link_expired"
			return errRequestGone
		}
		if req, err = authRequests.Get(raw, rec.RequestHash); err != nil || req.Done {
			refused = "request_gone"
			return errRequestGone
		}
		u, err := tx.EmailSignInUser(req.OrgDomain, rec.Email)
		if errors.Is(err, identity.ErrNotFound) {
			return nil // finishMagicByHash, after this commit
		}
		if err != nil {
			return err
		}
		c.reqHash, c.a.event.ClientID, signedIn = rec.RequestHash, req.ClientID, true
		return c.write(tx, u)
	})
	if errors.Is(err, errRequestGone) {
		if refused != "" && req.Env == env && req.OrgDomain != "" {
			p.audit(r.Context(), env, req.OrgDomain, &identity.Event{Code: identity.EventMagicLinkFailed,
				ClientID: req.ClientID, Email: rec.Email, Data: map[string]any{"reason": refused}})
		}
		p.errorPage(w, r, locale, http.StatusBadRequest, "link_gone")
		return
	}
	if err != nil {
		p.errorPage(w, r, locale, http.StatusServiceUnavailable, "unavailable")
		return
	}
	if signedIn {
		p.answerCompletion(w, r, c, nil)
		return
	}
	// complete marks the request done by the hash of its id; the link knows
	// only the hash, so finish through it.
	p.finishMagicByHash(w, r, rec.RequestHash, &req, rec.Email)
}

// finishMagicByHash is finishMagic for a request known by its hash.
func (p *Provider) finishMagicByHash(w http.ResponseWriter, r *http.Request, reqHash string, req *authRequest, email string) {
	ctx := r.Context()
	user, err := p.magicUser(ctx, req, email)
	if err != nil {
		p.audit(ctx, req.Env, req.OrgDomain, &identity.Event{Code: identity.EventMagicLinkFailed, ClientID: req.ClientID,
			Email: email, Data: map[string]any{"reason": err.Error()}})
		p.errorPage(w, r, req.Locale, http.StatusForbidden, "denied")
		return
	}
	// The request is marked done in the transaction that stores the code
	// and audits the sign-in: a second consumer (the code on another
	// device) then finds it gone.
	c, err := p.prepareCompletion(req, "", authn{ips: "cryptr", reqHash: reqHash,
		event: &identity.Event{Code: identity.EventMagicLinkSuccess, ClientID: req.ClientID}})
	if err != nil {
		p.errorPage(w, r, req.Locale, http.StatusInternalServerError, "unavailable")
		return
	}
	svc, err := p.envService(req.Env)
	if err == nil {
		err = svc.Update(ctx, func(tx *identity.Txn) error { return c.write(tx, user) })
	}
	if errors.Is(err, errRequestGone) {
		p.errorPage(w, r, req.Locale, http.StatusBadRequest, "link_gone")
		return
	}
	p.answerCompletion(w, r, c, err)
}

// passwordLogin checks a password through the identity core's password
// login (one lockout policy for every face; unknown addresses, users
// without a password and disabled users are counted and answered like a
// wrong password, so the page never tells whether an account exists).
func (p *Provider) passwordLogin(w http.ResponseWriter, r *http.Request, reqID string, req *authRequest, email string) {
	ctx := r.Context()
	pw := r.PostFormValue("password")
	if p.ids.Hasher() == nil || email == "" || pw == "" {
		p.renderLogin(w, r, reqID, req, "bad_credentials", http.StatusBadRequest)
		return
	}
	if _, err := p.resolveOrg(ctx, req, email); err != nil {
		p.errorPage(w, r, req.Locale, http.StatusServiceUnavailable, "unavailable")
		return
	}
	svc, err := p.envService(req.Env)
	if err != nil {
		p.errorPage(w, r, req.Locale, http.StatusServiceUnavailable, "unavailable")
		return
	}
	// The code, the browser session and the request's end are written in
	// the transaction that records the successful login: one commit.
	c, err := p.prepareCompletion(req, reqID, authn{ips: "cryptr"})
	if err != nil {
		p.errorPage(w, r, req.Locale, http.StatusInternalServerError, "unavailable")
		return
	}
	_, err = svc.PasswordLogin(ctx, identity.PasswordLogin{OrgDomain: req.OrgDomain, Email: email, Password: pw,
		ClientID: req.ClientID, Then: c.write, Before: func(tx *identity.Txn) error {
			// The client address's attempts are counted with the
			// identifier's, in one commit.
			ok, _, err := p.rate().Take(tx.KVTx(kv.Inside()), "pw-addr\x00"+httpx.ClientAddress(r),
				p.opts.AddressSendLimit, p.now())
			if err == nil && !ok {
				err = errTooManyRequests
			}
			return err
		}})
	switch {
	case errors.Is(err, errTooManyRequests):
		p.renderLogin(w, r, reqID, req, "rate_limited", http.StatusTooManyRequests)
		return
	case errors.Is(err, identity.ErrLocked):
		p.renderLogin(w, r, reqID, req, "locked", http.StatusForbidden)
		return
	case errors.Is(err, identity.ErrBusy):
		p.renderLogin(w, r, reqID, req, "busy", http.StatusTooManyRequests)
		return
	case errors.Is(err, identity.ErrUnauthenticated), errors.Is(err, identity.ErrDisabled), errors.Is(err, identity.ErrInvalid):
		p.renderLogin(w, r, reqID, req, "bad_credentials", http.StatusUnauthorized)
		return
	case err != nil && !errors.Is(err, errRequestGone):
		p.log.Error("provider: password login", "err", err)
		p.errorPage(w, r, req.Locale, http.StatusServiceUnavailable, "unavailable")
		return
	}
	p.answerCompletion(w, r, c, err)
}

// ssoLogin hands the sign-in to enterprise SSO by the email's domain.
func (p *Provider) ssoLogin(w http.ResponseWriter, r *http.Request, reqID string, req *authRequest, email string) {
	if p.opts.SSORouter == nil {
		p.renderLogin(w, r, reqID, req, "", http.StatusBadRequest)
		return
	}
	if identity.CheckEmail(email) != "" {
		p.renderLogin(w, r, reqID, req, "bad_email", http.StatusBadRequest)
		return
	}
	u, ok, err := p.opts.SSORouter.Route(r.Context(), SSORequest{Env: req.Env, OrgDomain: req.OrgDomain, Email: email,
		IdPID: req.IdPID, RequestID: reqID, Locale: req.Locale})
	if err != nil {
		p.log.Error("provider: SSO routing", "err", err)
		p.errorPage(w, r, req.Locale, http.StatusServiceUnavailable, "unavailable")
		return
	}
	if !ok {
		p.renderLogin(w, r, reqID, req, "no_sso", http.StatusOK)
		return
	}
	if pu, err := url.Parse(u); err != nil || pu.Scheme == "" && !strings.HasPrefix(u, "/") {
		p.errorPage(w, r, req.Locale, http.StatusServiceUnavailable, "unavailable")
		return
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// Authenticated describes a user that another component (enterprise SSO)
// authenticated for a pending authorization request.
type Authenticated struct {
	// Env is the environment of the sign-in (the SSO connection's). When
	// set, Resume refuses a pending request of another environment.
	Env identity.Environment
	// User is the signed-in user, in the request's organization and
	// environment.
	User *identity.User
	// IdentityProvider is the ips claim (for example "azure_ad").
	IdentityProvider string
	// SSOConnectionID is the sci claim (the connection's idp_id).
	SSOConnectionID string
	// SSONameID and SSOSessionIndex are the IdP's NameID and
	// SessionIndex for the user. The browser session keeps them, so that
	// ending it can log the user out of the IdP too (Options.SSOLogout).
	SSONameID       string
	SSOSessionIndex string
}

// Resume completes the pending authorization request requestID (the
// SSORequest.RequestID the router received) for a user authenticated
// elsewhere, and sends the browser back to the application with a code.
// The code, the browser session and the tokens belong to the request's
// environment (its issuer); a sign-in of another environment (a.Env) is
// refused like an unknown request, and so is a sign-in through another
// connection than the one a headless SSO challenge names.
func (p *Provider) Resume(w http.ResponseWriter, r *http.Request, requestID string, a Authenticated) {
	req, err := p.loadRequest(r.Context(), requestID)
	if err != nil || a.User == nil || (a.Env != "" && a.Env != req.Env) ||
		(req.SSOChallenge && (a.SSOConnectionID == "" || a.SSOConnectionID != req.IdPID)) {
		p.errorPage(w, r, pickLocale(r, ""), http.StatusBadRequest, "request_gone")
		return
	}
	if req.OrgDomain == "" {
		svc, err := p.envService(req.Env)
		if err == nil {
			err = svc.View(r.Context(), func(tx *identity.ReadTxn) error {
				o, err := tx.OrgByID(a.User.OrgID)
				if err == nil {
					req.OrgDomain = o.Domain
				}
				return err
			})
		}
		if err != nil {
			p.errorPage(w, r, req.Locale, http.StatusBadRequest, "request_gone")
			return
		}
	}
	p.complete(w, r, req, requestID, a.User, authn{ips: a.IdentityProvider, sci: a.SSOConnectionID,
		ssoNameID: a.SSONameID, ssoSessionIndex: a.SSOSessionIndex})
}

// OpenSession opens the provider's browser session in env for a user that
// another component authenticated without a pending authorization request
// (an IdP-initiated SSO sign-in): the application's next authorization
// request at env's issuer then completes silently (prompt=none works); the
// other environment's issuer does not see it. It sets env's session cookie
// on w; the caller redirects afterwards.
func (p *Provider) OpenSession(w http.ResponseWriter, r *http.Request, env identity.Environment, orgDomain string, a Authenticated) error {
	if a.User == nil || orgDomain == "" || !env.Valid() || (a.Env != "" && a.Env != env) {
		return fmt.Errorf("provider: OpenSession needs a user, an organization and one environment: %w", identity.ErrInvalid)
	}
	value, err := p.newSecret()
	if err != nil {
		return err
	}
	now := p.now()
	ips := a.IdentityProvider
	if ips == "" {
		ips = "cryptr"
	}
	s := sessionRecord{Env: env, OrgDomain: orgDomain, UserID: a.User.ID, AuthTime: now, IPS: ips,
		SCI: a.SSOConnectionID, SSONameID: a.SSONameID, SSOSessionIndex: a.SSOSessionIndex,
		ExpiresAt: now.Add(p.opts.SessionTTL)}
	err = p.ids.Update(r.Context(), func(tx *identity.Txn) error {
		return putSession(tx.KVTx(kv.Inside()), identity.HashSecret(value), s)
	})
	if err != nil {
		return err
	}
	p.setSessionCookie(w, r, env, value, s.ExpiresAt)
	return nil
}

// allow counts one event of kind for key (a client address) in the
// current RateWindow and reports whether it stays within limit.
func (p *Provider) allow(ctx context.Context, kind, key string, limit int) (bool, error) {
	ok := false
	err := p.ids.Update(ctx, func(tx *identity.Txn) (err error) {
		ok, _, err = p.rate().Take(tx.KVTx(kv.Inside()), kind+"\x00"+key, limit, p.now())
		return err
	})
	return ok, err
}

// rate is the provider's per-address counter (kind oidc-rate).
func (p *Provider) rate() kv.Window { return kv.Window{Kind: rateKind, Size: p.opts.RateWindow} }

// retryAfter is the number of seconds until the current rate window ends.
func (p *Provider) retryAfter() int {
	now := p.now()
	return kv.RetryAfter(now, now.Truncate(p.opts.RateWindow).Add(p.opts.RateWindow))
}

// orgName returns the display name of an organization (its domain when
// unknown).
func (p *Provider) orgName(ctx context.Context, domain string) string {
	if domain == "" {
		return ""
	}
	o, err := p.ids.GetOrganization(ctx, domain)
	if err != nil || o.Name == "" {
		return domain
	}
	return o.Name
}

// mailRequest runs the checks every mailed link (magic link, password
// reset) passes before its send budget: a well-formed email (else refuse
// "bad_email", 400), the client address's send limit in bucket (else
// refuse "rate_limited", 429; an empty bucket leaves the count to the
// caller's own transaction), the organization the request names for the
// address (known reports whether there is one) and the identity service
// of the request's environment. A store failure answers the error page.
// ok is false when an answer was written.
func (p *Provider) mailRequest(w http.ResponseWriter, r *http.Request, req *authRequest, email, bucket string,
	refuse func(problem string, status int)) (svc *identity.Service, known, ok bool) {
	ctx := r.Context()
	if identity.CheckEmail(email) != "" {
		refuse("bad_email", http.StatusBadRequest)
		return nil, false, false
	}
	if bucket != "" {
		allowed, err := p.allow(ctx, bucket, httpx.ClientAddress(r), p.opts.AddressSendLimit)
		if err != nil {
			p.log.Error("provider: rate limit", "err", err)
			p.errorPage(w, r, req.Locale, http.StatusServiceUnavailable, "unavailable")
			return nil, false, false
		}
		if !allowed {
			refuse("rate_limited", http.StatusTooManyRequests)
			return nil, false, false
		}
	}
	var err error
	if known, err = p.resolveOrg(ctx, req, email); err == nil {
		svc, err = p.envService(req.Env)
	}
	if err != nil {
		p.errorPage(w, r, req.Locale, http.StatusServiceUnavailable, "unavailable")
		return nil, false, false
	}
	return svc, known, true
}
