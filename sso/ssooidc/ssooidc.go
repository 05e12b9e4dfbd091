// Package ssooidc connects enterprise SSO (package sso) to the OIDC provider
// (package tokens/provider): the provider's "continue with SSO" routing
// (home-realm discovery by email domain, or the idp_id a client names) goes
// to sso.Service.Route, and a successful SAML sign-in resumes the provider's
// pending authorization request.
//
// The two services refer to each other, so wire them in this order:
//
//	bridge := ssooidc.NewBridge(baseURL)
//	ssoSvc, _ := sso.New(sso.Options{..., Authorizations: bridge})
//	prov, _ := provider.New(provider.Options{..., SSORouter: ssooidc.Router(ssoSvc),
//		SSOLogout: ssooidc.Logout(ssoSvc)})
//	bridge.Bind(prov)
package ssooidc

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/sso"
	"github.com/gatehouse-id/gatehouse/tokens"
	"github.com/gatehouse-id/gatehouse/tokens/provider"
)

// Router adapts sso.Service.Route to the provider's SSORouter. It is also
// a provider.SSOResolver (sso.Service.Resolve), which the headless SSO
// challenges of the management API need.
func Router(s *sso.Service) provider.SSORouter { return router{s} }

type router struct{ s *sso.Service }

func routeRequest(req provider.SSORequest) sso.RouteRequest {
	return sso.RouteRequest{Env: req.Env, OrgDomain: req.OrgDomain, Email: req.Email, IdPID: req.IdPID,
		RequestID: req.RequestID}
}

// Route implements provider.SSORouter.
func (r router) Route(ctx context.Context, req provider.SSORequest) (string, bool, error) {
	return r.s.Route(ctx, routeRequest(req))
}

// Resolve implements provider.SSOResolver.
func (r router) Resolve(ctx context.Context, req provider.SSORequest) (provider.SSOTarget, bool, error) {
	t, ok, err := r.s.Resolve(ctx, routeRequest(req))
	return provider.SSOTarget{IdPID: t.IdPID, OrgDomain: t.OrgDomain}, ok, err
}

// Bridge implements sso.Authorizations with a provider.Provider bound
// after both are built.
type Bridge struct {
	base string
	p    atomic.Pointer[provider.Provider]
}

// NewBridge returns an unbound Bridge for the service at baseURL.
func NewBridge(baseURL string) *Bridge {
	return &Bridge{base: strings.TrimRight(baseURL, "/")}
}

// Bind sets the provider that completes sign-ins.
func (b *Bridge) Bind(p *provider.Provider) { b.p.Store(p) }

// AuthorizeURL implements sso.Authorizations: the organization's gateway in
// the connection's environment (GET /t/{domain}/, or /sandbox/t/{domain}/
// for a sandbox connection), which accepts Cryptr's parameters and idp_id.
func (b *Bridge) AuthorizeURL(env identity.Environment, orgDomain, idpID string, params url.Values) string {
	q := url.Values{}
	for k, v := range params {
		q[k] = append([]string(nil), v...)
	}
	q.Del("idp_ids[]")
	q.Set("idp_id", idpID)
	return b.base + tokens.EnvironmentPath(env) + "/t/" + url.PathEscape(orgDomain) + "/?" + q.Encode()
}

// Resume implements sso.Authorizations through provider.Provider.Resume.
func (b *Bridge) Resume(w http.ResponseWriter, r *http.Request, requestID string, in sso.SignIn) {
	p := b.p.Load()
	if p == nil {
		http.Error(w, "authentication failed", http.StatusServiceUnavailable)
		return
	}
	p.Resume(w, r, requestID, authenticated(in))
}

// ResumeDefault implements sso.Authorizations for sign-ins no application
// started (IdP-initiated): the provider has no pending request to complete,
// so it opens its browser session for the user (provider.OpenSession) in
// the connection's environment, which only that environment's issuer
// serves, and
// the browser goes to the default redirection's URI, where the
// application's own authorization request completes silently (prompt=none
// works, and no second SAML exchange happens).
func (b *Bridge) ResumeDefault(w http.ResponseWriter, r *http.Request, _, redirectURI string, in sso.SignIn) {
	p := b.p.Load()
	if p == nil {
		http.Error(w, "authentication failed", http.StatusServiceUnavailable)
		return
	}
	if err := p.OpenSession(w, r, in.Env, in.OrgDomain, authenticated(in)); err != nil {
		http.Error(w, "authentication failed", http.StatusServiceUnavailable)
		return
	}
	http.Redirect(w, r, redirectURI, http.StatusSeeOther)
}

// EndSSOSessions implements sso.SessionEnder: a logout request from the
// IdP ends the provider's browser sessions that the connection opened for
// the user.
func (b *Bridge) EndSSOSessions(ctx context.Context, env identity.Environment, userID, idpID string) error {
	p := b.p.Load()
	if p == nil {
		return errors.New("ssooidc: no provider bound")
	}
	return p.EndSSOSessions(ctx, env, userID, idpID)
}

func authenticated(in sso.SignIn) provider.Authenticated {
	return provider.Authenticated{Env: in.Env, User: in.User, IdentityProvider: in.ProviderType,
		SSOConnectionID: in.ConnectionID, SSONameID: in.NameID, SSOSessionIndex: in.SessionIndex}
}

// Logout adapts sso.Service.StartLogout to the provider's SSOLogout, so
// that ending a browser session opened by an SSO sign-in (end-session,
// Cryptr's slo-after-revoke-token) logs the user out of the IdP too.
func Logout(s *sso.Service) provider.SSOLogout {
	return provider.SSOLogoutFunc(func(ctx context.Context, req provider.SSOLogoutRequest) (string, bool, error) {
		return s.StartLogout(ctx, sso.LogoutStart{Env: req.Env, IdPID: req.IdPID, UserID: req.UserID,
			NameID: req.NameID, SessionIndex: req.SessionIndex, ReturnTo: req.ReturnTo})
	})
}

var (
	_ provider.SSOResolver = router{}
	_ sso.Authorizations   = (*Bridge)(nil)
	_ sso.SessionEnder     = (*Bridge)(nil)
)
