package sso

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/pages"
	"github.com/gatehouse-id/gatehouse/sso/saml"
)

// SignIn describes a successful SSO sign-in, handed to Authorizations.
type SignIn struct {
	Env          identity.Environment
	User         *identity.User
	OrgDomain    string
	ConnectionID string // the idp_id
	NameID       string
	SessionIndex string
	AuthnInstant time.Time
	// AuthnContext is the IdP's AuthnContextClassRef, if any.
	AuthnContext string
	// ProviderType is the connection's provider_type (azure_ad, okta...).
	ProviderType string
	// Created reports a user provisioned by this sign-in.
	Created bool
}

// Authorizations is what the OIDC provider (tokens/provider) offers SSO so
// that a SAML sign-in continues the authorization code flow. The provider
// keeps OAuth requests pending; SSO only carries their ids.
type Authorizations interface {
	// AuthorizeURL is where to send a browser that reached
	// /enterprise/{idp_id}/login with OAuth parameters (client_id,
	// redirect_uri, state, code_challenge...: Cryptr's era-1 SSO URL): the
	// provider's authorization endpoint for the organization, with the
	// parameters and idp_id. The provider validates them, keeps the request
	// pending, and routes it back to /enterprise/{idp_id}/login?request_id=
	// through the SSO router. env is the connection's environment: each
	// environment is its own issuer.
	AuthorizeURL(env identity.Environment, orgDomain, idpID string, params url.Values) string
	// Resume completes the pending authorization request requestID for the
	// signed-in user and writes the answer (a redirect to the application
	// with a code, or an error page).
	Resume(w http.ResponseWriter, r *http.Request, requestID string, in SignIn)
	// ResumeDefault answers a sign-in that no application started
	// (IdP-initiated, or /login without OAuth parameters): the connection's
	// default redirection names the application clientID and redirectURI.
	// The provider opens its browser session for the user before
	// redirecting, so the application's own authorization request that
	// follows completes without another SAML exchange.
	ResumeDefault(w http.ResponseWriter, r *http.Request, clientID, redirectURI string, in SignIn)
}

// spCache keeps the parsed service provider of each connection until the
// connection changes.
type spCache struct {
	mu sync.Mutex
	m  map[string]spEntry
}

type spEntry struct {
	key string // what the SP is built from: metadata hash, IdP-initiated and SHA-1 flags, SP key
	sp  *saml.ServiceProvider
	md  *saml.IdPMetadata
}

// ServiceProvider returns the SAML service provider of a connection,
// with the connection's SP key pair: AuthnRequests and logout messages are
// signed (which IdPs whose metadata has WantAuthnRequestsSigned require),
// encrypted assertions are decrypted, and the SP metadata publishes the
// certificate for signing and encryption. A connection without valid
// metadata is a *refusal with ReasonNotConfigured.
func (s *Service) ServiceProvider(ctx context.Context, c Connection) (*saml.ServiceProvider, error) {
	sp, _, err := s.serviceProvider(ctx, c)
	return sp, err
}

// serviceProvider also returns the parsed IdP metadata.
func (s *Service) serviceProvider(ctx context.Context, c Connection) (*saml.ServiceProvider, *saml.IdPMetadata, error) {
	kp, err := s.spKeyOf(ctx, c.ID)
	if err != nil {
		return nil, nil, err
	}
	key := fmt.Sprintf("%t/%t/%s/%s", c.AllowIdPInitiated, c.AllowSHA1Signatures, identity.HashSecret(c.Metadata), kp.fingerprint())
	s.sps.mu.Lock()
	e, ok := s.sps.m[c.ID]
	s.sps.mu.Unlock()
	if ok && e.key == key {
		return e.sp, e.md, nil
	}
	if c.Metadata == "" {
		return nil, nil, refuse(ReasonNotConfigured, "no IdP metadata uploaded")
	}
	md, err := saml.ParseIdPMetadata([]byte(c.Metadata), s.now())
	if err != nil {
		return nil, nil, refuse(ReasonNotConfigured, err.Error())
	}
	sp, err := saml.New(saml.Config{
		ConnectionID: c.ID, EntityID: s.EntityID(c.ID), ACSURL: s.ACSURL(c.ID),
		MetadataURL: s.MetadataURL(c.ID), SLOURL: s.SLOURL(c.ID), IdP: md,
		SPKey: kp.key, SPCert: kp.cert, UnsignedAuthnRequests: true,
		AllowIdPInitiated: c.AllowIdPInitiated, AllowSHA1Signatures: c.AllowSHA1Signatures, Clock: s.opts.Identity.Now,
		ReplayCache: s.opts.ReplayCache,
	})
	if err != nil {
		return nil, nil, refuse(ReasonNotConfigured, err.Error())
	}
	s.sps.mu.Lock()
	if s.sps.m == nil {
		s.sps.m = map[string]spEntry{}
	}
	s.sps.m[c.ID] = spEntry{key: key, sp: sp, md: md}
	s.sps.mu.Unlock()
	return sp, md, nil
}

// spMetadata returns the SP metadata of a connection, whether or not the
// IdP metadata has been uploaded yet.
func (s *Service) spMetadata(ctx context.Context, c Connection) ([]byte, error) {
	sp, err := s.ServiceProvider(ctx, c)
	if err == nil {
		return sp.Metadata()
	}
	if _, ok := asRefusal(err); !ok {
		return nil, err
	}
	// Without IdP metadata, describe the SP with a placeholder IdP: the
	// SP's own metadata does not depend on it.
	ph, err := s.placeholderIdP()
	if err != nil {
		return nil, err
	}
	kp, err := s.spKeyOf(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	sp, err = saml.New(saml.Config{ConnectionID: c.ID, EntityID: s.EntityID(c.ID), ACSURL: s.ACSURL(c.ID),
		MetadataURL: s.MetadataURL(c.ID), SLOURL: s.SLOURL(c.ID), IdP: ph, SPKey: kp.key, SPCert: kp.cert, UnsignedAuthnRequests: true,
		ReplayCache: s.opts.ReplayCache})
	if err != nil {
		return nil, err
	}
	return sp.Metadata()
}

// loadConnection finds a connection and its environment's service.
func (s *Service) loadConnection(ctx context.Context, idpID string) (Connection, *identity.Service, error) {
	env, err := s.ConnectionEnvironment(ctx, idpID)
	if err != nil {
		return Connection{}, nil, err
	}
	id, err := s.Identity(env)
	if err != nil {
		return Connection{}, nil, err
	}
	var c Connection
	err = id.View(ctx, func(tx *identity.ReadTxn) error {
		p, err := connections(env).GetCached(tx.KV(kv.Inside()), s.conns, idpID)
		if err != nil {
			return err
		}
		if !connectionLive(tx, p) {
			return notFound("sso connection")
		}
		c = *p // the cached value is shared: hand out a copy
		return nil
	})
	return c, id, err
}

// Handler returns the SAML endpoints of every connection:
//
//	GET  /enterprise/{idp_id}/metadata  SP metadata (XML; ?download=1 as a file)
//	GET  /enterprise/{idp_id}/login     SP-initiated sign-in (AuthnRequest, HTTP-Redirect)
//	POST /enterprise/{idp_id}/acs       assertion consumer service (HTTP-POST)
//	GET, POST /enterprise/{idp_id}/slo  single logout: the IdP's LogoutRequest, or its
//	                                    LogoutResponse to ours (StartLogout)
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /enterprise/{idp_id}/metadata", s.serveMetadata)
	mux.HandleFunc("GET /enterprise/{idp_id}/login", s.serveLogin)
	mux.HandleFunc("POST /enterprise/{idp_id}/acs", s.serveACS)
	mux.HandleFunc("GET /enterprise/{idp_id}/slo", s.serveSLO)
	mux.HandleFunc("POST /enterprise/{idp_id}/slo", s.serveSLO)
	return securityHeaders(mux)
}

// securityHeaders sets the headers every SSO page carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self' https: http:; frame-ancestors 'none'; base-uri 'none'")
		next.ServeHTTP(w, r)
	})
}

func (s *Service) serveMetadata(w http.ResponseWriter, r *http.Request) {
	c, _, err := s.loadConnection(r.Context(), r.PathValue("idp_id"))
	if err != nil {
		s.page(w, r, http.StatusNotFound, "not_found")
		return
	}
	xml, err := s.spMetadata(r.Context(), c)
	if err != nil {
		s.log.Error("sso: SP metadata", "idp_id", c.ID, "err", err)
		s.page(w, r, http.StatusServiceUnavailable, "unavailable")
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	if r.URL.Query().Get("download") != "" {
		w.Header().Set("Content-Disposition", `attachment; filename="`+c.ID+`-sp-metadata.xml"`)
	}
	_, _ = w.Write(xml)
}

// cookie names and the browser binding of AuthnRequests.
const authnCookie = "gh_saml_req"

func (s *Service) secureCookies() bool { return s.base.Scheme == "https" }

func (s *Service) setAuthnCookie(w http.ResponseWriter, idpID, value string, maxAge int) {
	ck := &http.Cookie{Name: authnCookie, Value: value, Path: s.BasePath() + "/enterprise/" + idpID + "/", HttpOnly: true, MaxAge: maxAge}
	if s.secureCookies() {
		// The ACS receives a cross-site POST from the IdP.
		ck.Secure, ck.SameSite = true, http.SameSiteNoneMode
	} else {
		ck.SameSite = http.SameSiteLaxMode
	}
	http.SetCookie(w, ck)
}

func (s *Service) serveLogin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, id, err := s.loadConnection(ctx, r.PathValue("idp_id"))
	if err != nil {
		s.page(w, r, http.StatusNotFound, "not_found")
		return
	}
	if !c.Active {
		s.fail(ctx, id, c, nil, ReasonConnectionDisabled, "sign-in started on a disabled connection")
		s.page(w, r, http.StatusForbidden, "failed")
		return
	}
	q := r.URL.Query()
	if q.Get("client_id") != "" && s.opts.Authorizations != nil {
		// Cryptr's era-1 URL: the provider validates the OAuth request
		// and sends the browser back here with its request id.
		q.Del("request_id")
		http.Redirect(w, r, s.opts.Authorizations.AuthorizeURL(id.Environment(), c.OrgDomain, c.ID, q), http.StatusFound)
		return
	}
	pending := q.Get("request_id")
	if len(pending) > 256 {
		s.page(w, r, http.StatusBadRequest, "bad_request")
		return
	}
	if ok, retry, err := s.allowAuthnRequest(ctx, r); err != nil {
		s.log.Error("sso: AuthnRequest rate limit", "idp_id", c.ID, "err", err)
		s.page(w, r, http.StatusServiceUnavailable, "unavailable")
		return
	} else if !ok {
		s.tooManyRequests(w, r, retry)
		return
	}
	if err := s.startAuthn(ctx, w, r, c, id, pending, false); err != nil {
		if rf, ok := asRefusal(err); ok {
			s.fail(ctx, id, c, nil, rf.reason, rf.detail)
			s.page(w, r, http.StatusForbidden, "failed")
			return
		}
		s.log.Error("sso: start sign-in", "idp_id", c.ID, "err", err)
		s.page(w, r, http.StatusServiceUnavailable, "unavailable")
	}
}

// startAuthn sends the browser to the IdP with a new AuthnRequest whose id
// is stored and bound to the browser by a cookie.
func (s *Service) startAuthn(ctx context.Context, w http.ResponseWriter, r *http.Request, c Connection, id *identity.Service, pending string, adminTest bool) error {
	sp, err := s.ServiceProvider(ctx, c)
	if err != nil {
		return err
	}
	req, err := sp.NewAuthnRequest("")
	if err != nil {
		return err
	}
	secret, err := identity.NewSecret(id.Rand())
	if err != nil {
		return err
	}
	exp := s.now().Add(s.opts.AuthnRequestTTL)
	err = s.opts.Identity.Backend(kv.Inside()).Update(ctx, func(tx identity.Tx) error {
		return putExpiring(tx, authnRequests, identity.HashSecret(secret), authnRequest{
			RequestID: req.ID, ConnectionID: c.ID, Env: id.Environment(), Pending: pending,
			AdminTest: adminTest, ExpiresAt: exp}, exp)
	})
	if err != nil {
		return err
	}
	if !adminTest {
		if err := id.LogEvent(ctx, &identity.Event{Code: identity.EventSSOSAMLStarted, OrgID: c.OrgID, SAMLIdPID: c.ID}); err != nil {
			return err
		}
	}
	s.setAuthnCookie(w, c.ID, secret, int(s.opts.AuthnRequestTTL/time.Second))
	http.Redirect(w, r, req.URL, http.StatusFound)
	return nil
}

// takeAuthnRequest consumes the AuthnRequest bound to this browser for
// connection idpID, if any.
func (s *Service) takeAuthnRequest(ctx context.Context, r *http.Request, idpID string) (*authnRequest, error) {
	ck, err := r.Cookie(authnCookie)
	if err != nil || ck.Value == "" || len(ck.Value) > 128 {
		return nil, nil
	}
	var ar authnRequest
	err = s.opts.Identity.Backend(kv.Inside()).Update(ctx, func(tx identity.Tx) (err error) {
		ar, err = takeRecord(tx, authnRequests, identity.HashSecret(ck.Value))
		return err
	})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if ar.ConnectionID != idpID || !s.now().Before(ar.ExpiresAt) {
		return nil, nil
	}
	return &ar, nil
}

// errReplayed rolls back the provisioning transaction of an assertion
// that was already claimed.
var errReplayed = errors.New("sso: assertion already used")

// acsBodySlack is what an ACS body may hold beyond the SAMLResponse value
// (RelayState, field names).
const acsBodySlack = 4096

func (s *Service) serveACS(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, id, err := s.loadConnection(ctx, r.PathValue("idp_id"))
	if err != nil {
		s.page(w, r, http.StatusNotFound, "not_found")
		return
	}
	ar, err := s.takeAuthnRequest(ctx, r, c.ID)
	if err != nil {
		s.log.Error("sso: read AuthnRequest", "idp_id", c.ID, "err", err)
		s.page(w, r, http.StatusServiceUnavailable, "unavailable")
		return
	}
	s.setAuthnCookie(w, c.ID, "", -1)
	adminTest := ar != nil && ar.AdminTest
	failed := func(reason, detail string) {
		if adminTest {
			s.recordTest(ctx, id, c, nil, reason, detail)
			http.Redirect(w, r, s.BaseURL()+"/enterprise-setup/test-result", http.StatusSeeOther)
			return
		}
		s.fail(ctx, id, c, nil, reason, detail)
		s.page(w, r, http.StatusForbidden, "failed")
	}
	if !c.Active && !adminTest {
		failed(ReasonConnectionDisabled, "response received for a disabled connection")
		return
	}
	sp, err := s.ServiceProvider(ctx, c)
	if err != nil {
		if rf, ok := asRefusal(err); ok {
			failed(rf.reason, rf.detail)
			return
		}
		failed(ReasonNotConfigured, err.Error())
		return
	}
	r.Body = httpx.LimitBody(w, r, int64(sp.MaxEncodedBytes()+acsBodySlack))
	if err := r.ParseForm(); err != nil {
		failed(string(saml.ReasonTooLarge), "the request body could not be read: "+err.Error())
		return
	}
	var ids []string
	if ar != nil {
		ids = []string{ar.RequestID}
	}
	samlFailed := func(err error) {
		var se *saml.Error
		if errors.As(err, &se) {
			reason, detail := string(se.Reason), se.Detail
			if se.Reason == saml.ReasonInResponseTo && ar == nil {
				reason, detail = ReasonNoRequest, "no AuthnRequest is bound to this browser ("+se.Detail+")"
			}
			failed(reason, detail)
			return
		}
		failed(string(saml.ReasonInvalid), err.Error())
	}
	// Every check but the replay claim; the default store-backed cache
	// claims in the provisioning transaction below (one commit), any other
	// cache here.
	a, err := sp.VerifyResponse(ctx, r.PostForm.Get("SAMLResponse"), s.ACSURL(c.ID), ids)
	claimInTx := err == nil && s.replayInTx != nil && !adminTest
	if err == nil && !claimInTx {
		err = sp.Claim(ctx, a)
	}
	if err != nil {
		samlFailed(err)
		return
	}
	if adminTest {
		s.recordTest(ctx, id, c, a, "", "")
		http.Redirect(w, r, s.BaseURL()+"/enterprise-setup/test-result", http.StatusSeeOther)
		return
	}
	var u *identity.User
	created, replayed := false, false
	var claimErr error
	err = id.Update(ctx, func(tx *identity.Txn) (err error) {
		if claimInTx {
			ok, err := s.replayInTx.claimIn(tx.KVTx(kv.Inside()), c.ID, a.AssertionID, a.ReplayUntil)
			if claimErr = err; err != nil {
				return err
			}
			if replayed = !ok; replayed {
				return errReplayed
			}
		}
		u, created, err = s.provision(tx, c, a)
		if err != nil {
			return err
		}
		return tx.Log(&identity.Event{Code: identity.EventSSOSAMLSuccess, OrgID: c.OrgID, SAMLIdPID: c.ID,
			Email: u.Email, ResourceOwnerID: u.ID, Data: map[string]any{"created": created}})
	})
	if err != nil {
		if replayed {
			failed(string(saml.ReasonReplay), fmt.Sprintf("assertion %q was already used", a.AssertionID))
			return
		}
		if claimInTx {
			// The refused sign-in rolled the claim back: claim on its own,
			// so that the assertion cannot be presented again.
			if cerr := sp.Claim(context.WithoutCancel(ctx), a); cerr != nil {
				s.log.Warn("sso: claim a refused assertion", "idp_id", c.ID, "err", cerr)
			}
		}
		if rf, ok := asRefusal(err); ok {
			failed(rf.reason, rf.detail)
			return
		}
		if claimErr != nil {
			s.log.Error("sso: replay cache", "idp_id", c.ID, "err", err)
			failed(string(saml.ReasonReplayCacheError), err.Error())
			return
		}
		s.log.Error("sso: provisioning", "idp_id", c.ID, "err", err)
		failed(ReasonStoreError, err.Error())
		return
	}
	in := SignIn{Env: id.Environment(), User: u, OrgDomain: c.OrgDomain, ConnectionID: c.ID, NameID: a.NameID,
		SessionIndex: a.SessionIndex, AuthnInstant: a.AuthnInstant, AuthnContext: a.AuthnContextClassRef, ProviderType: c.ProviderType, Created: created}
	s.continueFlow(ctx, w, r, id, c, ar, in)
}

// continueFlow hands a successful sign-in to the OIDC provider.
func (s *Service) continueFlow(ctx context.Context, w http.ResponseWriter, r *http.Request, id *identity.Service, c Connection, ar *authnRequest, in SignIn) {
	if s.opts.Authorizations == nil {
		s.page(w, r, http.StatusOK, "signed_in")
		return
	}
	if ar != nil && ar.Pending != "" {
		s.opts.Authorizations.Resume(w, r, ar.Pending, in)
		return
	}
	rd, err := defaultRedirectionOf(ctx, id, c)
	if err != nil {
		s.fail(ctx, id, c, in.User, ReasonAuthorization, "no default redirection: "+err.Error())
		s.page(w, r, http.StatusForbidden, "failed")
		return
	}
	s.opts.Authorizations.ResumeDefault(w, r, rd.AppID, rd.URI, in)
}

// defaultRedirectionOf reads the default redirection of c, a connection
// the caller has just read in scope: one record, not the connection's
// details again.
func defaultRedirectionOf(ctx context.Context, id *identity.Service, c Connection) (*Redirection, error) {
	if c.DefaultRedirectionID == "" {
		return nil, notFound("default redirection")
	}
	var out Redirection
	err := id.View(ctx, func(tx *identity.ReadTxn) error {
		var err error
		out, err = redirections(tx.Env()).Get(tx.KV(kv.Inside()), c.DefaultRedirectionID)
		return err
	})
	if isNotFound(err) {
		return nil, notFound("default redirection")
	}
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// fail writes an SSO_END_USER_SAML_FAILED event with the reason.
func (s *Service) fail(ctx context.Context, id *identity.Service, c Connection, u *identity.User, reason, detail string) {
	e := &identity.Event{Code: identity.EventSSOSAMLFailed, OrgID: c.OrgID, SAMLIdPID: c.ID,
		Data: map[string]any{"reason": reason, "detail": truncate(detail, 1024)}}
	if u != nil {
		e.ResourceOwnerID, e.Email = u.ID, u.Email
	}
	if err := id.LogEvent(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("sso: log failed sign-in", "idp_id", c.ID, "reason", reason, "err", err)
	}
}

// recordTest stores the outcome of an administrator's test sign-in in the
// onboarding and the audit log.
func (s *Service) recordTest(ctx context.Context, id *identity.Service, c Connection, a *saml.Assertion, reason, detail string) {
	ctx = context.WithoutCancel(ctx)
	e := &identity.Event{OrgID: c.OrgID, SAMLIdPID: c.ID}
	var err error
	if a != nil {
		m := mapAttributes(a)
		e.Code, e.Email = identity.EventSSOAdminTestSuccess, m.email
		e.Data = map[string]any{"name_id": truncate(a.NameID, 256)}
		summary := "NameID " + truncate(a.NameID, 256)
		if m.email != "" {
			summary += ", email " + truncate(m.email, 256)
		}
		_, err = s.advanceOnboardingTest(ctx, id, c.ID, OnboardingCompleted, StepDone, "", summary)
	} else {
		e.Code = identity.EventSSOAdminTestFailed
		e.Data = map[string]any{"reason": reason, "detail": truncate(detail, 1024)}
		_, err = s.advanceOnboardingTest(ctx, id, c.ID, OnboardingTestFailed, StepTestSignIn, reason+": "+truncate(detail, 1024), "")
	}
	if err != nil {
		s.log.Error("sso: record test sign-in", "idp_id", c.ID, "err", err)
	}
	if err := id.LogEvent(ctx, e); err != nil {
		s.log.Error("sso: log test sign-in", "idp_id", c.ID, "err", err)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// StartAdminTest starts a test sign-in from the onboarding portal: the
// result is recorded in the onboarding (state, last test error) instead of
// signing anyone in, and the browser comes back to
// /enterprise-setup/test-result.
func (s *Service) StartAdminTest(ctx context.Context, w http.ResponseWriter, r *http.Request, ps *PortalSession) error {
	id, err := s.Identity(ps.Env)
	if err != nil {
		return err
	}
	var c Connection
	if err := id.View(ctx, func(tx *identity.ReadTxn) (err error) {
		if c, err = connections(ps.Env).Get(tx.KV(kv.Inside()), ps.ConnectionID); err == nil && !connectionLive(tx, &c) {
			err = notFound("sso connection")
		}
		return err
	}); err != nil {
		return err
	}
	err = s.startAuthn(ctx, w, r, c, id, "", true)
	if rf, ok := asRefusal(err); ok {
		s.recordTest(ctx, id, c, nil, rf.reason, rf.detail)
		return err
	}
	return err
}

func (s *Service) serveSLO(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, id, err := s.loadConnection(ctx, r.PathValue("idp_id"))
	if err != nil {
		s.page(w, r, http.StatusNotFound, "not_found")
		return
	}
	sp, err := s.ServiceProvider(ctx, c)
	if err != nil {
		s.page(w, r, http.StatusForbidden, "failed")
		return
	}
	r.Body = httpx.LimitBody(w, r, int64(sp.MaxEncodedBytes()+acsBodySlack))
	// A form that cannot be read is refused by the SAML layer below, with
	// its reason; here only the kind of message matters.
	_ = r.ParseForm()
	if sloParam(r, "SAMLResponse") != "" {
		// The IdP's answer to our LogoutRequest (SP-initiated).
		s.serveLogoutResponse(w, r, c, id, sp)
		return
	}
	lr, err := sp.ParseLogoutRequest(ctx, r, s.SLOURL(c.ID))
	if err != nil {
		reason, detail := string(saml.ReasonInvalid), err.Error()
		var se *saml.Error
		if errors.As(err, &se) {
			reason, detail = string(se.Reason), se.Detail
		}
		s.fail(ctx, id, c, nil, reason, "logout request: "+detail)
		s.page(w, r, http.StatusForbidden, "failed")
		return
	}
	if ender, ok := s.opts.Authorizations.(SessionEnder); ok {
		var u *identity.User
		_ = id.View(ctx, func(tx *identity.ReadTxn) (err error) {
			u, err = tx.UserBySSOIdentity(c.ID, lr.NameID)
			return err
		})
		if u != nil {
			if err := ender.EndSSOSessions(ctx, id.Environment(), u.ID, c.ID); err != nil {
				s.log.Error("sso: end sessions on logout", "idp_id", c.ID, "err", err)
			}
		}
	}
	to, err := sp.LogoutResponseURL(lr.ID, r.FormValue("RelayState"))
	if err != nil {
		s.page(w, r, http.StatusOK, "signed_out")
		return
	}
	http.Redirect(w, r, to, http.StatusFound)
}

// sloParam reads a parameter of a single logout message (HTTP-POST form
// or HTTP-Redirect query).
func sloParam(r *http.Request, name string) string {
	if v := r.PostForm.Get(name); v != "" {
		return v
	}
	return r.URL.Query().Get(name)
}

// SessionEnder is optionally implemented by Authorizations: an
// IdP-initiated logout ends the user's sessions opened through the
// connection.
type SessionEnder interface {
	EndSSOSessions(ctx context.Context, env identity.Environment, userID, idpID string) error
}

// End-user pages: short, bilingual, never naming the reason; rendered in
// the shared look (pages.PageSSOMessage).

type pageText struct{ En, EnText, Fr, FrText string }

// endUserPage is what the end-user page receives (documented in package
// pages for template overrides).
type endUserPage struct {
	pageText
	// Nonce is the page's CSP nonce.
	Nonce string
}

// Frame is what the shared layout reads.
func (p *endUserPage) Frame() pages.Frame {
	return pages.Frame{Lang: "en", Title: p.En, Nonce: p.Nonce, SkipLabel: "Skip to content"}
}

var endUserPages = map[string]pageText{
	"failed":      {"Authentication failed", "Your sign-in could not be completed. Please try again or contact your administrator.", "Échec de l'authentification", "La connexion n'a pas pu aboutir. Réessayez ou contactez votre administrateur."},
	"not_found":   {"Not found", "This sign-in link does not exist.", "Introuvable", "Ce lien de connexion n'existe pas."},
	"bad_request": {"Invalid request", "The application sent an invalid sign-in request.", "Requête invalide", "L'application a envoyé une demande de connexion invalide."},
	"unavailable": {"Service unavailable", "Please try again in a moment.", "Service indisponible", "Réessayez dans un instant."},
	"signed_in":   {"Signed in", "You are signed in.", "Connecté", "Vous êtes connecté."},
	"signed_out":  {"Signed out", "You are signed out.", "Déconnecté", "Vous êtes déconnecté."},
	"too_many_requests": {"Too many requests", "Too many sign-in requests came from your network. Wait a few minutes and try again.",
		"Trop de demandes", "Trop de demandes de connexion proviennent de votre réseau. Patientez quelques minutes et réessayez."},
}

func (s *Service) page(w http.ResponseWriter, _ *http.Request, status int, name string) {
	d := &endUserPage{pageText: endUserPages[name], Nonce: pages.NewNonce()}
	if err := s.pages.Render(w, status, pages.PageSSOMessage, d, ""); err != nil {
		s.log.Error("sso: rendering page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

// placeholderIdP is IdP metadata for building an SP before the real one is
// uploaded (only the SP's own metadata is read from it). Its certificate is
// generated once per Service and its key thrown away.
func (s *Service) placeholderIdP() (*saml.IdPMetadata, error) {
	s.placeholderOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			s.placeholderErr = err
			return
		}
		now := s.now()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "placeholder"},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(100 * 365 * 24 * time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			s.placeholderErr = err
			return
		}
		xml := fmt.Sprintf(`<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="urn:gatehouse:placeholder-idp">
<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>%s</X509Certificate></X509Data></KeyInfo></KeyDescriptor>
<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://placeholder.invalid/sso"/>
</IDPSSODescriptor></EntityDescriptor>`, base64.StdEncoding.EncodeToString(der))
		s.placeholder, s.placeholderErr = saml.ParseIdPMetadata([]byte(xml), now)
	})
	return s.placeholder, s.placeholderErr
}
