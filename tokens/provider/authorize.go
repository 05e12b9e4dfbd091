package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// defaultScope is what Cryptr's SDKs request and what a Cryptr-flavored
// request is merged with.
var defaultScope = []string{"openid", "email", "profile"}

// Bounds on request parameters.
const (
	maxParamLen  = 1024
	maxScopes    = 32
	challengeLen = 43
)

// rawAuth is an authorization request as received, before validation.
type rawAuth struct {
	domain       string
	clientID     string
	redirectURI  string
	responseType string
	scope        string
	state        string
	nonce        string
	challenge    string
	method       string
	prompt       string
	maxAge       string
	loginHint    string
	locale       string
	signType     string
	// idTokenHint is the OIDC id_token_hint: a session of another user
	// is not reused (OIDC Core §3.1.2.1).
	idTokenHint string
	// repeated names a parameter the query string repeats (RFC 6749
	// §3.1: none may be); request, requestURI and responseMode are the
	// OIDC parameters this endpoint does not support (refused, not
	// ignored: OIDC Core §6, §3.1.2.1).
	repeated     string
	request      bool
	requestURI   bool
	responseMode string
	flavor       string
	idpID        string
	email        string
	era1         bool
}

// authorizeStandard is the OIDC authorization endpoint (GET or form POST).
func (p *Provider) authorizeStandard(w http.ResponseWriter, r *http.Request) {
	ps, err := readParams(w, r)
	if err != nil {
		p.errorPage(w, r, "", http.StatusBadRequest, "bad_request")
		return
	}
	ra := rawAuth{domain: r.PathValue("domain"), flavor: flavorOIDC}
	ra.fill(ps)
	ra.responseType = ps.get("response_type")
	ra.locale = firstLocale(ps.get("ui_locales"))
	ra.idTokenHint = ps.get("id_token_hint")
	ra.repeated = repeatedParam(r.URL.Query())
	ra.request, ra.requestURI = ps.get("request") != "", ps.get("request_uri") != ""
	ra.responseMode = ps.get("response_mode")
	p.authorize(w, r, ra)
}

// authorizeEra1 is Cryptr's era-1 hosted page
// /t/{tenant}/{locale}/{state}/{signin|signup|invite}/new.
func (p *Provider) authorizeEra1(w http.ResponseWriter, r *http.Request) {
	st := r.PathValue("sign_type")
	if st != "signin" && st != "signup" && st != "invite" {
		p.errorPage(w, r, "", http.StatusNotFound, "not_found")
		return
	}
	ps := &params{r: r, body: map[string]string{}}
	ra := rawAuth{domain: r.PathValue("domain"), flavor: flavorCryptr, responseType: "code", signType: st,
		locale: r.PathValue("locale"), era1: true}
	ra.fill(ps)
	ra.state = r.PathValue("state")
	p.authorize(w, r, ra)
}

// authorizeGateway is Cryptr's gateway: /t/{tenant}/, /a/{tenant}/ (spa
// v1.4+) and / on a dedicated server, with organization|domain|org_domain,
// email, idp_id and client_state|state.
func (p *Provider) authorizeGateway(w http.ResponseWriter, r *http.Request) {
	ps := &params{r: r, body: map[string]string{}}
	q := r.URL.Query()
	if len(q) == 0 && r.PathValue("domain") == "" {
		p.errorPage(w, r, "", http.StatusNotFound, "not_found")
		return
	}
	ra := rawAuth{domain: r.PathValue("domain"), flavor: flavorCryptr, responseType: "code"}
	ra.fill(ps)
	for _, k := range []string{"organization", "org_domain", "domain"} {
		if v := q.Get(k); v != "" {
			ra.domain = v
			break
		}
	}
	if v := q.Get("client_state"); v != "" {
		ra.state = v
	}
	if ra.responseType = q.Get("response_type"); ra.responseType == "" {
		ra.responseType = "code"
	}
	ra.idpID = q.Get("idp_id")
	if ra.idpID == "" {
		ra.idpID = q.Get("idp_ids[]")
	}
	ra.email = q.Get("email")
	ra.signType = q.Get("sign_type")
	p.authorize(w, r, ra)
}

// repeatedParam returns the name of a defined parameter q holds more than
// once, client_id and redirect_uri first (their repetition is answered
// on a page, never redirected), or "".
// The parameters are those OAuth 2.0 and OpenID Connect define: none
// may be repeated (RFC 6749 §3.1); others (a client's own, a tracking
// parameter) are ignored, repeated or not.
func repeatedParam(q url.Values) string {
	for _, k := range [...]string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
		"code_challenge", "code_challenge_method", "prompt", "max_age", "login_hint", "id_token_hint", "ui_locales",
		"response_mode", "request", "request_uri", "display", "acr_values", "claims"} {
		if len(q[k]) > 1 {
			return k
		}
	}
	return ""
}

func (ra *rawAuth) fill(ps *params) {
	ra.clientID = ps.get("client_id")
	ra.redirectURI = ps.get("redirect_uri")
	ra.scope = ps.get("scope")
	if ra.state == "" {
		ra.state = ps.get("state")
	}
	ra.nonce = ps.get("nonce")
	ra.challenge = ps.get("code_challenge")
	ra.method = ps.get("code_challenge_method")
	ra.prompt = ps.get("prompt")
	ra.maxAge = ps.get("max_age")
	ra.loginHint = ps.get("login_hint")
	if ra.locale == "" {
		ra.locale = ps.get("locale")
	}
}

func firstLocale(uiLocales string) string {
	for _, l := range strings.Fields(uiLocales) {
		if l = normLocale(l); l != "" {
			return l
		}
	}
	return ""
}

// authorize validates a request and either completes it from the browser
// session, answers prompt=none, hands it to SSO, or shows the login page.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request, ra rawAuth) {
	ctx := r.Context()
	locale := pickLocale(r, ra.locale)
	for _, v := range []string{ra.domain, ra.clientID, ra.redirectURI, ra.state, ra.nonce, ra.challenge, ra.scope,
		ra.loginHint, ra.email, ra.idpID, ra.prompt, ra.maxAge, ra.method} {
		if len(v) > maxParamLen {
			p.errorPage(w, r, locale, http.StatusBadRequest, "bad_request")
			return
		}
	}
	// 1. Checks that decide whether the redirect URI can be trusted: their
	// failures are shown here, never redirected.
	if ra.repeated == "client_id" || ra.repeated == "redirect_uri" {
		p.errorPage(w, r, locale, http.StatusBadRequest, "bad_request")
		return
	}
	if ra.domain != "" && !p.orgExists(ctx, ra.domain) {
		p.errorPage(w, r, locale, http.StatusNotFound, "unknown_org")
		return
	}
	// The path tree names the environment; an application of the other
	// environment is unknown here.
	env := envOf(r)
	// An application that does not serve the organization is unknown at
	// its issuer (identity.Service.ApplicationFor): the same page, never
	// a redirect.
	app, err := p.appFor(ctx, env, ra.clientID, ra.domain)
	if err == nil && ra.domain == "" && app.OrganizationScope != "" && !p.appServes(ctx, app, env, app.OrganizationScope) {
		err = identity.ErrNotFound
	}
	if err != nil {
		if !errors.Is(err, identity.ErrNotFound) {
			p.log.Error("provider: application lookup", "err", err)
			p.errorPage(w, r, locale, http.StatusServiceUnavailable, "unavailable")
			return
		}
		p.errorPage(w, r, locale, http.StatusBadRequest, "unknown_client")
		return
	}
	redirect := ra.redirectURI
	if redirect == "" && ra.flavor != flavorOIDC {
		redirect = app.DefaultRedirectURIAfterLogin
	}
	if redirect == "" || !app.AllowsRedirect(redirect) {
		p.errorPage(w, r, locale, http.StatusBadRequest, "bad_redirect_uri")
		return
	}
	fail := func(code, desc string) {
		p.redirectError(w, r, redirect, env, ra.flavor, ra.domain, ra.state, code, desc)
	}
	// 2. Everything else is answered on the redirect URI (RFC 6749 §4.1.2.1).
	switch {
	case ra.repeated != "":
		fail(errInvalidRequest, "parameter "+ra.repeated+" is repeated")
		return
	case ra.request:
		fail(errRequestNotSupported, "request objects are not supported")
		return
	case ra.requestURI:
		fail(errRequestURINotSupported, "request_uri is not supported")
		return
	case ra.responseMode != "" && ra.responseMode != "query":
		fail(errInvalidRequest, "response_mode "+ra.responseMode+" is not supported: the code is returned in the query")
		return
	}
	if ra.responseType != "code" {
		if ra.responseType == "" {
			fail(errInvalidRequest, "response_type is required")
		} else {
			fail(errUnsupportedResponseType, "only the authorization code flow (response_type=code) is supported")
		}
		return
	}
	if app.ApplicationType == identity.AppMachine {
		fail(errUnauthorizedClient, "machine applications use the client_credentials grant")
		return
	}
	if ra.domain == "" && app.OrganizationScope != "" {
		// An application of one organization needs no home-realm discovery.
		ra.domain = app.OrganizationScope
	}
	switch {
	case ra.challenge == "" && ra.method != "":
		fail(errInvalidRequest, "code_challenge_method without code_challenge")
		return
	case ra.challenge != "" && ra.method != "S256":
		// RFC 7636 §4.3: a missing method means plain, which is refused.
		fail(errInvalidRequest, "code_challenge_method must be S256")
		return
	case ra.challenge != "" && !validChallenge(ra.challenge):
		fail(errInvalidRequest, "code_challenge must be the base64url SHA-256 of the verifier (43 characters)")
		return
	case ra.challenge == "" && app.Public():
		fail(errInvalidRequest, "PKCE (code_challenge with S256) is required for public clients")
		return
	}
	prompts := strings.Fields(ra.prompt)
	if slices.Contains(prompts, "none") && len(prompts) > 1 {
		fail(errInvalidRequest, "prompt=none cannot be combined with other values")
		return
	}
	maxAge := -1
	if ra.maxAge != "" {
		n, err := strconv.Atoi(ra.maxAge)
		if err != nil || n < 0 {
			fail(errInvalidRequest, "max_age must be a non-negative integer")
			return
		}
		maxAge = n
	}
	scopes := strings.Fields(ra.scope)
	if ra.flavor == flavorCryptr {
		scopes = mergeScopes(defaultScope, scopes)
	}
	if len(scopes) > maxScopes {
		fail(errInvalidScope, "too many scopes")
		return
	}
	scopes = mergeScopes(nil, scopes)
	if sc := app.RefusedScope(scopes); sc != "" {
		fail(errInvalidScope, fmt.Sprintf("the application may not ask for the scope %q", sc))
		return
	}
	requestID, err := p.newUUID()
	if err != nil {
		p.errorPage(w, r, locale, http.StatusInternalServerError, "unavailable")
		return
	}
	req := &authRequest{Env: env, OrgDomain: ra.domain, ClientID: app.ClientID, RedirectURI: redirect, Scopes: scopes,
		State: ra.state, Nonce: ra.nonce, Challenge: ra.challenge, Prompt: ra.prompt, MaxAge: maxAge,
		LoginHint: ra.loginHint, Locale: locale, SignType: ra.signType, Flavor: ra.flavor, IdPID: ra.idpID,
		RequestID: requestID, Era1: ra.era1, ExpiresAt: p.now().Add(DefaultAuthRequestTTL)}
	if req.LoginHint == "" {
		req.LoginHint = ra.email
	}
	// 3. The browser session.
	sess := p.currentSession(r)
	usable := sess != nil && sess.Env == env &&
		(sess.OrgDomain == ra.domain || ra.domain == "" && p.appServes(ctx, app, env, sess.OrgDomain)) &&
		(maxAge < 0 || !p.now().After(sess.AuthTime.Add(time.Duration(maxAge)*time.Second)))
	var user *identity.User
	if usable {
		user, err = p.sessionUser(ctx, sess)
		usable = err == nil && user != nil && user.Enabled
		if usable && req.LoginHint != "" && strings.Contains(req.LoginHint, "@") &&
			!strings.EqualFold(identity.NormalizeEmail(req.LoginHint), identity.NormalizeEmail(user.Email)) {
			usable = false
		}
		// An id_token_hint names the user the client expects: a session
		// of anyone else, or a hint we cannot verify as an ID token of
		// this organization, is not reused (prompt=none: login_required).
		if usable && ra.idTokenHint != "" {
			if c := p.verifyHint(ctx, ra.idTokenHint, env, sess.OrgDomain); c == nil || c.Subject != user.ID {
				usable = false
			}
		}
	}
	if slices.Contains(prompts, "none") {
		if !usable {
			fail(errLoginRequired, "the user is not signed in")
			return
		}
		req.OrgDomain = sess.OrgDomain
		p.complete(w, r, req, "", user, authn{ips: sess.IPS, sci: sess.SCI, authTime: sess.AuthTime, reuse: true})
		return
	}
	if usable && !slices.Contains(prompts, "login") {
		req.OrgDomain = sess.OrgDomain
		p.complete(w, r, req, "", user, authn{ips: sess.IPS, sci: sess.SCI, authTime: sess.AuthTime, reuse: true})
		return
	}
	// 4. A new sign-in: keep the request and show the login page (or go
	// straight to SSO when the client named a connection). Stored requests
	// are bounded per client address, so that a loop of GETs cannot fill
	// the store: the address's count and the request are one commit.
	reqID, err := p.newSecret()
	if err == nil {
		err = p.ids.Update(ctx, func(tx *identity.Txn) error {
			raw := tx.KVTx(kv.Inside())
			ok, _, err := p.rate().Take(raw, "authz-addr\x00"+httpx.ClientAddress(r), p.opts.AuthorizeRequestLimit, p.now())
			if err != nil {
				return err
			}
			if !ok {
				return errTooManyRequests
			}
			return put(raw, authRequests, identity.HashSecret(reqID), *req, req.ExpiresAt)
		})
	}
	if errors.Is(err, errTooManyRequests) {
		w.Header().Set("Retry-After", strconv.Itoa(p.retryAfter()))
		p.errorPage(w, r, locale, http.StatusTooManyRequests, "too_many_requests")
		return
	}
	if err != nil {
		p.log.Error("provider: storing authorization request", "err", err)
		p.errorPage(w, r, locale, http.StatusServiceUnavailable, "unavailable")
		return
	}
	if req.IdPID != "" && p.opts.SSORouter != nil {
		if u, ok, err := p.opts.SSORouter.Route(ctx, SSORequest{Env: env, OrgDomain: req.OrgDomain, IdPID: req.IdPID,
			Email: req.LoginHint, RequestID: reqID, Locale: locale}); err == nil && ok {
			http.Redirect(w, r, u, http.StatusFound)
			return
		}
	}
	p.renderLogin(w, r, reqID, req, "", http.StatusOK)
}

func validChallenge(s string) bool {
	if len(s) != challengeLen {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// mergeScopes appends extra to base without duplicates, keeping order.
func mergeScopes(base, extra []string) []string {
	out := make([]string, 0, len(base)+len(extra))
	for _, s := range append(append([]string(nil), base...), extra...) {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// redirectError sends the browser back to a registered redirect URI with an
// RFC 6749 error.
func (p *Provider) redirectError(w http.ResponseWriter, r *http.Request, redirect string, env identity.Environment,
	flavor, domain, state, code, desc string) {
	q := url.Values{"error": {code}, "error_description": {desc}}
	if state != "" {
		q.Set("state", state)
	}
	if flavor == flavorOIDC && domain != "" {
		q.Set("iss", p.Issuer(env, domain))
	}
	http.Redirect(w, r, appendQuery(redirect, q), http.StatusFound)
}

// appendQuery adds q to the query of u (a registered redirect URI).
func appendQuery(u string, q url.Values) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + q.Encode()
}

// authn describes how the user authenticated.
type authn struct {
	ips, sci string
	// ssoNameID and ssoSessionIndex name the IdP session (SSO sign-ins).
	ssoNameID, ssoSessionIndex string
	authTime                   time.Time
	// reuse: the browser session was reused (no new session is opened).
	reuse bool
	// reqHash names the stored request by its hash (a magic link knows
	// only the hash), when complete gets no request id.
	reqHash string
	// event is the sign-in's audit event, written with the code (its
	// user, organization and tenant are filled in).
	event *identity.Event
}

// complete issues an authorization code for req and sends the browser back
// to the application. reqID, when set, names the stored request, which is
// marked done in the same transaction (a.reqHash names it by its hash);
// a.event, when set, is audited in that transaction too: the code, the
// browser session, the request's end and the sign-in's event are one
// commit, made before the browser is answered.
func (p *Provider) complete(w http.ResponseWriter, r *http.Request, req *authRequest, reqID string,
	user *identity.User, a authn) {
	c, err := p.prepareCompletion(req, reqID, a)
	if err != nil {
		p.errorPage(w, r, req.Locale, http.StatusInternalServerError, "unavailable")
		return
	}
	svc, err := p.envService(req.Env)
	if err == nil {
		err = svc.Update(r.Context(), func(tx *identity.Txn) error { return c.write(tx, user) })
	}
	p.answerCompletion(w, r, c, err)
}

// completion is a sign-in's end, prepared outside any transaction (its
// secrets drawn), written by write in a transaction (complete's, or the
// one that checks the credential) and answered by answerCompletion.
type completion struct {
	req                    *authRequest
	reqHash                string
	a                      authn
	code, authzID, session string
	now                    time.Time
	// sessionTTL and codeTTL are the provider's lifetimes.
	sessionTTL, codeTTL time.Duration
}

// opensSession reports whether the sign-in opens a browser session (a
// headless challenge and a reused session do not).
func (c *completion) opensSession() bool { return c.session != "" && c.req.Flavor != flavorHeadless }

// prepareCompletion draws the code, the authorization id and the browser
// session of a sign-in. req may be filled later, before write (a magic
// link finds its request in the transaction that consumes it).
func (p *Provider) prepareCompletion(req *authRequest, reqID string, a authn) (*completion, error) {
	c := &completion{req: req, reqHash: a.reqHash, a: a, now: p.now(), sessionTTL: p.opts.SessionTTL,
		codeTTL: p.opts.CodeTTL}
	if reqID != "" {
		c.reqHash = identity.HashSecret(reqID)
	}
	var err error
	if c.code, err = p.newOrderedSecret(); err != nil {
		return nil, err
	}
	if c.authzID, err = p.newUUID(); err != nil {
		return nil, err
	}
	if !a.reuse {
		if c.session, err = p.newSecret(); err != nil {
			return nil, err
		}
	}
	if c.a.authTime.IsZero() {
		c.a.authTime = c.now
	}
	if c.a.ips == "" {
		c.a.ips = "cryptr"
	}
	return c, nil
}

// write marks the request done (errRequestGone when it is gone or done
// already), stores the browser session and the code of user, and logs the
// sign-in's event, in tx.
func (c *completion) write(tx *identity.Txn, user *identity.User) error {
	req, a, now := c.req, c.a, c.now
	// The core's rule: the user belongs to the request's organization,
	// which the application serves (an org-less request took its
	// organization from the user, in Resume).
	if err := tx.CheckSignIn(req.ClientID, req.OrgDomain, user); err != nil {
		return err
	}
	raw := tx.KVTx(kv.Inside())
	if c.reqHash != "" {
		stored, err := authRequests.Get(raw, c.reqHash)
		if err != nil || stored.Done {
			return errRequestGone
		}
		stored.Done = true
		if err := authRequests.Put(raw, c.reqHash, stored); err != nil {
			return err
		}
	}
	if c.opensSession() {
		s := sessionRecord{Env: req.Env, OrgDomain: req.OrgDomain, UserID: user.ID, AuthTime: a.authTime,
			IPS: a.ips, SCI: a.sci, SSONameID: a.ssoNameID, SSOSessionIndex: a.ssoSessionIndex,
			ExpiresAt: now.Add(c.sessionTTL)}
		if err := putSession(raw, identity.HashSecret(c.session), s); err != nil {
			return err
		}
	}
	rec := codeRecord{Env: req.Env, OrgDomain: req.OrgDomain, ClientID: req.ClientID, RedirectURI: req.RedirectURI,
		Scopes: req.Scopes, Nonce: req.Nonce, State: req.State, Challenge: req.Challenge, AuthorizationID: c.authzID,
		RequestID: req.RequestID, Flavor: req.Flavor, UserID: user.ID, AuthTime: a.authTime, IPS: a.ips, SCI: a.sci,
		ExpiresAt: now.Add(c.codeTTL)}
	hash := secretKey(c.code)
	if err := put(raw, codes, hash, rec, rec.ExpiresAt.Add(MaxCodeTTL)); err != nil {
		return err
	}
	if err := indexGrant(raw, req.Env, user.ID, "c:"+hash); err != nil {
		return err
	}
	if a.event == nil {
		return nil
	}
	ev := *a.event
	ev.ResourceOwnerID, ev.Email = user.ID, user.Email
	return logIn(tx, req.OrgDomain, &ev)
}

// logIn logs e in tx for the organization domain, as Service.LogEvent
// does on its own (an unknown domain leaves the event without
// organization).
func logIn(tx *identity.Txn, domain string, e *identity.Event) error {
	e.OrgID, e.TenantDomain = "", domain
	if org, err := tx.Org(domain); err == nil {
		e.OrgID = org.ID
	} else if errors.Is(err, identity.ErrNotFound) {
		e.TenantDomain = ""
	} else {
		return err
	}
	return tx.Log(e)
}

// answerCompletion answers the browser once the completion is written
// (err nil): the session cookie and the redirect to the application
// with the code; otherwise the error page.
func (p *Provider) answerCompletion(w http.ResponseWriter, r *http.Request, c *completion, err error) {
	req := c.req
	if errors.Is(err, errRequestGone) {
		p.errorPage(w, r, req.Locale, http.StatusBadRequest, "request_gone")
		return
	}
	if errors.Is(err, identity.ErrForbidden) {
		// A user of another organization, or an organization the
		// application does not serve: nothing was written, and the
		// application gets nothing.
		p.log.Warn("provider: sign-in refused", "org", req.OrgDomain, "client_id", req.ClientID, "err", err)
		p.errorPage(w, r, req.Locale, http.StatusForbidden, "denied")
		return
	}
	if err != nil {
		p.log.Error("provider: issuing authorization code", "err", err)
		p.errorPage(w, r, req.Locale, http.StatusServiceUnavailable, "unavailable")
		return
	}
	if c.opensSession() {
		p.setSessionCookie(w, r, req.Env, c.session, c.now.Add(p.opts.SessionTTL))
	}
	q := url.Values{"code": {c.code}}
	if req.State != "" {
		q.Set("state", req.State)
	}
	switch req.Flavor {
	case flavorOIDC:
		q.Set("iss", p.Issuer(req.Env, req.OrgDomain))
	case flavorCryptr, flavorHeadless:
		q.Set("authorization_id", c.authzID)
		q.Set("authorization_code", c.code)
		q.Set("organization_domain", req.OrgDomain)
		if !req.Era1 {
			q.Set("request_id", req.RequestID)
		}
	}
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther
	}
	http.Redirect(w, r, appendQuery(req.RedirectURI, q), status)
}

var errRequestGone = errors.New("authorization request gone")

// errTooManyRequests is a client address's rate limit, reached inside a
// transaction (which it rolls back).
var errTooManyRequests = errors.New("too many requests from this address")

// sessionUser loads the user of a browser session.
func (p *Provider) sessionUser(ctx context.Context, s *sessionRecord) (*identity.User, error) {
	svc, err := p.envService(s.Env)
	if err != nil {
		return nil, err
	}
	return svc.GetUser(ctx, s.OrgDomain, s.UserID)
}
