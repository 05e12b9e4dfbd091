package provider

import (
	"context"
	"crypto/subtle"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// Logout follows OIDC RP-Initiated Logout 1.0. A browser session ends at
// once only when the relying party proves the request is its own: an
// id_token_hint that we signed, for this organization, whose subject is
// the session's user (end-session), or Cryptr's slo_code handed out by the
// revocation of an SSO session's refresh token (slo-after-revoke-token).
// Without such a proof, a browser with a session gets a confirmation page
// whose form (CSRF token, same origin) ends it, so a cross-site link or
// image cannot sign anyone out. The browser goes on only to a
// post_logout_redirect_uri listed in allowed_logout_urls of the
// application the request identifies (the hint's client, else client_id),
// and only when that application serves the organization.

// SLOCodeTTL is how long a slo_code returned by Cryptr's revoke URL stays
// valid.
const SLOCodeTTL = 5 * time.Minute

// sloRecord is an unused slo_code (found by its SHA-256): the user whose
// SSO session's refresh token was revoked.
type sloRecord struct {
	Env       identity.Environment `json:"env"`
	OrgDomain string               `json:"org_domain"`
	ClientID  string               `json:"client_id"`
	UserID    string               `json:"user_id"`
	ExpiresAt time.Time            `json:"expires_at"`
}

var sloCodes = kv.Records[sloRecord]{Kind: "oidc-slo-code"}

// logoutRequest is a parsed end-session request.
type logoutRequest struct {
	env      identity.Environment // of the request's path tree
	domain   string
	clientID string // whose allowed_logout_urls apply ("" none)
	target   string // requested post-logout redirect
	state    string
	locale   string
	// proven names the session the relying party vouches for: a session
	// of that user, environment and organization ends without asking.
	proven   bool
	provEnv  identity.Environment
	provUser string
	// form is what the confirmation form posts back to end-session, at
	// action (the request's own URL path, under the base URL's path).
	form   url.Values
	action string
}

// endSession is OIDC RP-initiated logout (GET or POST /t/{domain}/logout).
func (p *Provider) endSession(w http.ResponseWriter, r *http.Request) {
	ps, err := readParams(w, r)
	if err != nil {
		p.errorPage(w, r, "", http.StatusBadRequest, "bad_request")
		return
	}
	lr := &logoutRequest{env: envOf(r), domain: r.PathValue("domain"), clientID: ps.get("client_id"),
		target: ps.get("post_logout_redirect_uri"), state: ps.get("state"),
		locale: pickLocale(r, ps.get("ui_locales"))}
	if hint := ps.get("id_token_hint"); hint != "" {
		if c := p.verifyHint(r.Context(), hint, lr.env, lr.domain); c != nil && (lr.clientID == "" || lr.clientID == c.ClientID) {
			env, _ := c.Environment()
			lr.clientID, lr.proven, lr.provEnv, lr.provUser = c.ClientID, true, env, c.Subject
		}
	}
	lr.action = p.path + tokens.EnvironmentPath(lr.env) + "/t/" + url.PathEscape(lr.domain) + "/logout"
	lr.form = url.Values{}
	for k, v := range map[string]string{"client_id": lr.clientID, "post_logout_redirect_uri": lr.target,
		"state": lr.state, "ui_locales": ps.get("ui_locales")} {
		if v != "" {
			lr.form.Set(k, v)
		}
	}
	confirmed := r.Method == http.MethodPost && ps.body["csrf_token"] != "" && p.confirmedHere(r, ps.body["csrf_token"])
	p.logout(w, r, lr, confirmed)
}

// sloAfterRevoke is Cryptr's logout hop after a revocation
// (/api/v1/tenants/{org}/{client_id}/oauth/token/slo-after-revoke-token):
// a valid slo_code ends the session of the user whose token was revoked
// and sends the browser to target_url when the application lists it in
// allowed_logout_urls; without one, the hop asks for confirmation as
// end-session does.
func (p *Provider) sloAfterRevoke(w http.ResponseWriter, r *http.Request) {
	ps, err := readParams(w, r)
	if err != nil {
		p.errorPage(w, r, "", http.StatusBadRequest, "bad_request")
		return
	}
	lr := &logoutRequest{env: envOf(r), domain: r.PathValue("domain"), clientID: r.PathValue("client_id"),
		target: ps.get("target_url"), locale: pickLocale(r, ps.get("ui_locales"))}
	if code := ps.get("slo_code"); code != "" && len(code) <= maxParamLen {
		if rec, ok := p.consumeSLOCode(r.Context(), code, lr.env, lr.domain, lr.clientID); ok {
			lr.proven, lr.provEnv, lr.provUser = true, rec.Env, rec.UserID
		}
	}
	lr.action = p.path + tokens.EnvironmentPath(lr.env) + "/api/v1/tenants/" + url.PathEscape(lr.domain) + "/" +
		url.PathEscape(lr.clientID) + "/oauth/token/slo-after-revoke-token"
	lr.form = url.Values{}
	if lr.target != "" {
		lr.form.Set("target_url", lr.target)
	}
	confirmed := r.Method == http.MethodPost && ps.body["csrf_token"] != "" && p.confirmedHere(r, ps.body["csrf_token"])
	p.logout(w, r, lr, confirmed)
}

// logout ends the browser's session when the request is proven for it or
// confirmed by the user, else shows the confirmation page; then it
// redirects to an allowed target (through the IdP's single logout for a
// session opened by SSO).
func (p *Provider) logout(w http.ResponseWriter, r *http.Request, lr *logoutRequest, confirmed bool) {
	ctx := r.Context()
	cur := p.currentSession(r)
	if cur != nil && !confirmed && !(lr.proven && lr.provUser == cur.UserID && lr.provEnv == cur.Env && lr.domain == cur.OrgDomain) {
		p.renderLogout(w, r, lr)
		return
	}
	var sess sessionRecord
	if cur != nil {
		ck, _ := r.Cookie(sessionCookieName(lr.env))
		key := identity.HashSecret(ck.Value)
		var ended sessionRecord
		err := p.ids.Update(ctx, func(tx *identity.Txn) error {
			s, err := sessions.Get(tx.KVTx(kv.Inside()), key)
			if err != nil || s.Env != lr.env {
				return nil
			}
			ended = s
			if s.SCI != "" {
				if err := ssoSessions(s.Env, s.SCI, s.UserID).Remove(tx.KVTx(kv.Inside()), key); err != nil {
					return err
				}
			}
			return sessions.Delete(tx.KVTx(kv.Inside()), key)
		})
		if err != nil {
			p.log.Warn("provider: ending session", "err", err)
		}
		sess = ended
		if sess.UserID != "" {
			p.audit(ctx, sess.Env, sess.OrgDomain, &identity.Event{Code: identity.EventLogout, ResourceOwnerID: sess.UserID})
		}
	}
	p.clearSessionCookie(w, r, lr.env)
	target := p.logoutTarget(ctx, lr)
	// A session opened by an SSO sign-in also ends at the IdP (single
	// logout), which then sends the browser on to target.
	if sess.SCI != "" && sess.SSONameID != "" && p.opts.SSOLogout != nil {
		to, ok, err := p.opts.SSOLogout.StartLogout(ctx, SSOLogoutRequest{Env: sess.Env, OrgDomain: sess.OrgDomain,
			UserID: sess.UserID, IdPID: sess.SCI, NameID: sess.SSONameID, SessionIndex: sess.SSOSessionIndex,
			ReturnTo: target, Locale: lr.locale})
		if err != nil {
			p.log.Warn("provider: single logout at the identity provider", "idp_id", sess.SCI, "err", err)
		} else if ok {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
	}
	if target != "" {
		http.Redirect(w, r, target, http.StatusFound)
		return
	}
	p.messagePage(w, r, lr.locale, http.StatusOK, "signed_out")
}

// logoutTarget returns where the browser goes after logging out: the
// requested URI with its state when the identified application lists it
// in allowed_logout_urls and serves the organization, else "".
func (p *Provider) logoutTarget(ctx context.Context, lr *logoutRequest) string {
	if lr.target == "" || lr.clientID == "" {
		return ""
	}
	app, err := p.appByClientID(ctx, lr.env, lr.clientID)
	if err != nil || !slices.Contains(app.AllowedLogoutURLs, lr.target) || !p.appServes(ctx, app, lr.env, lr.domain) {
		return ""
	}
	if lr.state != "" {
		return appendQuery(lr.target, url.Values{"state": {lr.state}})
	}
	return lr.target
}

// verifyHint returns the claims of an id_token_hint that we signed for
// organization domain in env and that expired at most MaxHintAge ago, or
// nil.
func (p *Provider) verifyHint(ctx context.Context, hint string, env identity.Environment, domain string) *tokens.Claims {
	if len(hint) > maxParamLen*16 {
		return nil
	}
	c, err := p.hints.Verify(ctx, hint)
	if err != nil || c.Tenant != domain || c.Subject == "" || c.ClientID == "" || !sameEnv(c, env) {
		return nil
	}
	return c
}

// confirmedHere reports whether a logout form was posted from our own page:
// its CSRF token matches the browser's cookie (constant time) and the
// browser, when it says so, calls it same-origin.
func (p *Provider) confirmedHere(r *http.Request, token string) bool {
	ck, err := r.Cookie(csrfCookie)
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(token)) != 1 {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(p.base)
		return err == nil && o == u.Scheme+"://"+u.Host
	}
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" {
		return s == "same-origin"
	}
	return true
}

// renderLogout shows the confirmation page; its form posts the request's
// parameters back to end-session.
func (p *Provider) renderLogout(w http.ResponseWriter, r *http.Request, lr *logoutRequest) {
	tr := logoutTranslations(lr.locale)
	org := p.orgName(r.Context(), lr.domain)
	d := &pageData{Locale: lr.locale, Title: tr["logout_title"], OrgName: org, T: tr, CSRF: p.csrfToken(w, r),
		Action: lr.action, Message: tr["logout_text"]}
	for _, k := range slices.Sorted(maps.Keys(lr.form)) {
		d.Hidden = append(d.Hidden, hiddenField{Name: k, Value: lr.form.Get(k)})
	}
	p.render(w, r, "logout", http.StatusOK, d)
}

// hiddenField is a hidden input of a page's form.
type hiddenField struct{ Name, Value string }

var logoutText = map[string]map[string]string{
	"en": {"logout_title": "Sign out", "logout_text": "Do you want to sign out?", "logout_button": "Sign out"},
	"fr": {"logout_title": "Déconnexion", "logout_text": "Voulez-vous vous déconnecter ?", "logout_button": "Se déconnecter"},
}

func logoutTranslations(locale string) map[string]string {
	t := maps.Clone(translations(locale))
	texts, ok := logoutText[locale]
	if !ok {
		texts = logoutText["en"]
	}
	maps.Copy(t, texts)
	return t
}

// newSLOCode stores a slo_code for the user of a revoked SSO session's
// refresh token and returns it.
func (p *Provider) newSLOCode(ctx context.Context, rec sloRecord) (string, error) {
	code, err := p.newSecret()
	if err != nil {
		return "", err
	}
	rec.ExpiresAt = p.now().Add(SLOCodeTTL)
	err = p.ids.Update(ctx, func(tx *identity.Txn) error {
		return put(tx.KVTx(kv.Inside()), sloCodes, identity.HashSecret(code), rec, rec.ExpiresAt)
	})
	if err != nil {
		return "", err
	}
	return code, nil
}

// consumeSLOCode uses up a slo_code of organization domain and client in
// env.
func (p *Provider) consumeSLOCode(ctx context.Context, code string, env identity.Environment, domain, clientID string) (sloRecord, bool) {
	var out sloRecord
	ok := false
	key := identity.HashSecret(code)
	err := p.ids.Update(ctx, func(tx *identity.Txn) error {
		rec, err := sloCodes.Get(tx.KVTx(kv.Inside()), key)
		if errors.Is(err, identity.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if rec.Env != env || rec.OrgDomain != domain || rec.ClientID != clientID {
			return nil
		}
		if err := sloCodes.Delete(tx.KVTx(kv.Inside()), key); err != nil {
			return err
		}
		out, ok = rec, p.now().Before(rec.ExpiresAt)
		return nil
	})
	if err != nil {
		p.log.Warn("provider: slo_code", "err", err)
		return sloRecord{}, false
	}
	return out, ok
}
