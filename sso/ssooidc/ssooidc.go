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
//	prov, _ := provider.New(provider.Options{..., SSORouter: ssooidc.Router(ssoSvc)})
//	bridge.Bind(prov)
package ssooidc

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/gatehouse-id/gatehouse/sso"
	"github.com/gatehouse-id/gatehouse/tokens/provider"
)

// Router adapts sso.Service.Route to the provider's SSORouter.
func Router(s *sso.Service) provider.SSORouter {
	return provider.SSORouterFunc(func(ctx context.Context, req provider.SSORequest) (string, bool, error) {
		return s.Route(ctx, sso.RouteRequest{Env: req.Env, OrgDomain: req.OrgDomain, Email: req.Email,
			IdPID: req.IdPID, RequestID: req.RequestID})
	})
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

// AuthorizeURL implements sso.Authorizations: the organization's gateway
// (GET /t/{domain}/), which accepts Cryptr's parameters and idp_id.
func (b *Bridge) AuthorizeURL(orgDomain, idpID string, params url.Values) string {
	q := url.Values{}
	for k, v := range params {
		q[k] = append([]string(nil), v...)
	}
	q.Del("idp_ids[]")
	q.Set("idp_id", idpID)
	return b.base + "/t/" + url.PathEscape(orgDomain) + "/?" + q.Encode()
}

// Resume implements sso.Authorizations through provider.Provider.Resume.
func (b *Bridge) Resume(w http.ResponseWriter, r *http.Request, requestID string, in sso.SignIn) {
	p := b.p.Load()
	if p == nil {
		http.Error(w, "authentication failed", http.StatusServiceUnavailable)
		return
	}
	p.Resume(w, r, requestID, provider.Authenticated{User: in.User, IdentityProvider: in.ProviderType,
		SSOConnectionID: in.ConnectionID})
}

// ResumeDefault implements sso.Authorizations for sign-ins no application
// started (IdP-initiated): the provider has no pending request to complete,
// so the browser goes to the default redirection's URI, where the
// application starts its own sign-in; the SAML round trip that follows is
// silent because the IdP session is open. (When the provider offers a way
// to open its browser session for an authenticated user, use it here so
// that the application's sign-in needs no second SAML exchange.)
func (b *Bridge) ResumeDefault(w http.ResponseWriter, r *http.Request, _, redirectURI string, _ sso.SignIn) {
	http.Redirect(w, r, redirectURI, http.StatusSeeOther)
}

var _ sso.Authorizations = (*Bridge)(nil)
