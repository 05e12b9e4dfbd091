package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/cryptrhttp"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// SSOTarget names the connection an SSO sign-in would use.
type SSOTarget struct {
	// IdPID is the connection's id (Cryptr's idp_id).
	IdPID string
	// OrgDomain is the domain of the connection's organization.
	OrgDomain string
}

// SSOResolver is implemented by an SSORouter that can name the connection
// it would route a sign-in to without starting it (package sso/ssooidc's
// router does). The headless SSO challenges of the management API need it:
// without it they answer 404, as for an organization without SSO.
type SSOResolver interface {
	Resolve(ctx context.Context, req SSORequest) (SSOTarget, bool, error)
}

// SSOChallengeRequest asks for a headless SSO challenge (see
// Provider.CreateSSOChallenge). Exactly one of OrgDomain, UserEmail and
// IdPID names where the user signs in.
type SSOChallengeRequest struct {
	// Kind is "saml" or "oauth" (the endpoint's name); both use the
	// organization's enterprise connection.
	Kind string
	// RedirectURI receives the code; it must be an allowed redirect URL
	// of the application (ClientID, else the first application of the
	// organization that allows it).
	RedirectURI string
	OrgDomain   string
	UserEmail   string
	IdPID       string
	ClientID    string
	State       string
	Locale      string
}

// SSOChallenge is the answer of POST /api/v2/sso-saml-challenges and
// /api/v2/sso-oauth-challenges (the shape of Cryptr's SDKs).
type SSOChallenge struct {
	APIKeyID         string `json:"api_key_id"`
	AuthorizationURL string `json:"authorization_url"`
	Database         string `json:"database"`
	ExpiredAt        int64  `json:"expired_at"`
	RedirectURI      string `json:"redirect_uri"`
	RequestID        string `json:"request_id"`
	SAMLIdPID        string `json:"saml_idp_id"`
}

// CreateSSOChallenge creates a headless SSO challenge for the API key cred
// (svc is the identity service scoped to it, identity.Service.Scoped): the
// caller's backend hands AuthorizationURL to the user, who signs in at the
// organization's identity provider; the browser then goes to RedirectURI
// with a code that only a management token of an API key managing the
// organization, in the same environment, can exchange (once). The
// challenge opens one sign-in through the connection it names, and only
// that one: the hosted login page refuses it, and a sign-in through
// another connection cannot complete it.
//
// An organization, email domain or connection that is unknown, outside
// the key's scope or of the other environment is ErrNotFound alike.
func (p *Provider) CreateSSOChallenge(ctx context.Context, svc *identity.Service, cred *identity.Credential,
	in SSOChallengeRequest) (*SSOChallenge, error) {
	if svc == nil || cred == nil {
		return nil, fmt.Errorf("provider: a scoped service and its credential are required: %w", identity.ErrInvalid)
	}
	var v identity.Validation
	named := 0
	for _, s := range []string{in.OrgDomain, in.UserEmail, in.IdPID} {
		if s != "" {
			named++
		}
	}
	if named != 1 {
		v.Add("org_domain", "exactly one of org_domain, user_email and idp_id is required")
	}
	if in.UserEmail != "" && identity.CheckEmail(in.UserEmail) != "" {
		v.Add("user_email", "must be a valid email address")
	}
	if in.RedirectURI == "" {
		v.Add("redirect_uri", "is required")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	env := svc.Environment()
	resolver, ok := p.opts.SSORouter.(SSOResolver)
	if !ok {
		return nil, fmt.Errorf("no enterprise SSO is configured: %w", identity.ErrNotFound)
	}
	org := in.OrgDomain
	if in.UserEmail != "" {
		o, err := svc.OrgForEmailDomain(ctx, identity.EmailDomain(in.UserEmail))
		if err != nil {
			return nil, err
		}
		org = o.Domain
	}
	if org != "" {
		// The scoped service answers ErrNotFound for an organization the
		// key does not manage.
		if _, err := svc.GetOrganization(ctx, org); err != nil {
			return nil, err
		}
	}
	target, ok, err := resolver.Resolve(ctx, SSORequest{Env: env, OrgDomain: org, IdPID: in.IdPID, Email: in.UserEmail})
	if err != nil {
		return nil, err
	}
	if !ok || target.IdPID == "" || (org != "" && target.OrgDomain != org) {
		return nil, fmt.Errorf("no active SSO connection: %w", identity.ErrNotFound)
	}
	org = target.OrgDomain
	if _, err := svc.GetOrganization(ctx, org); err != nil {
		return nil, err // a connection of an organization outside the scope
	}
	app, err := headlessApp(ctx, svc, org, in.ClientID, in.RedirectURI)
	if err != nil {
		return nil, err
	}
	reqID, err := p.newSecret()
	if err != nil {
		return nil, err
	}
	requestID, err := p.newUUID()
	if err != nil {
		return nil, err
	}
	exp := p.now().Add(DefaultAuthRequestTTL)
	req := authRequest{Env: env, OrgDomain: org, ClientID: app.ClientID, RedirectURI: in.RedirectURI,
		Scopes: defaultScope, State: in.State, MaxAge: -1, Locale: in.Locale, Flavor: flavorHeadless,
		IdPID: target.IdPID, SSOChallenge: true, LoginHint: in.UserEmail, RequestID: requestID, ExpiresAt: exp}
	err = svc.Update(ctx, func(tx *identity.Txn) error {
		return put(tx.KVTx(kv.Inside()), authRequests, identity.HashSecret(reqID), req, exp)
	})
	if err != nil {
		return nil, err
	}
	kind := in.Kind
	if kind != "oauth" {
		kind = "saml"
	}
	u := p.base + tokens.EnvironmentPath(env) + "/org/" + url.PathEscape(org) + "/oauth2/" + kind + "?" +
		url.Values{"request_id": {reqID}}.Encode()
	return &SSOChallenge{APIKeyID: cred.ID, AuthorizationURL: u, Database: env.DBS(), ExpiredAt: exp.Unix(),
		RedirectURI: in.RedirectURI, RequestID: requestID, SAMLIdPID: target.IdPID}, nil
}

// headlessApp returns the application a headless challenge completes for:
// clientID when given (ErrInvalid when it does not serve the organization
// or does not allow redirect), else the first application of the
// organization, as svc sees it, that allows redirect.
func headlessApp(ctx context.Context, svc *identity.Service, org, clientID, redirect string) (*identity.Application, error) {
	if clientID != "" {
		a, err := svc.ApplicationFor(ctx, clientID, org)
		if errors.Is(err, identity.ErrNotFound) {
			return nil, identity.Invalid("client_id", "unknown application")
		}
		if err != nil {
			return nil, err
		}
		if !a.AllowsRedirect(redirect) {
			return nil, identity.Invalid("redirect_uri", "is not an allowed redirect URL of the application")
		}
		return a, nil
	}
	page, err := svc.ListApplications(ctx, org, identity.PageRequest{Page: 1, PerPage: 100})
	if err != nil {
		return nil, err
	}
	for i := range page.Items {
		if !page.Items[i].AllowsRedirect(redirect) {
			continue
		}
		if ok, err := svc.ApplicationServes(ctx, &page.Items[i], org); err == nil && ok {
			return &page.Items[i], nil
		}
	}
	return nil, identity.Invalid("redirect_uri", "is not an allowed redirect URL of an application of the organization")
}

// ssoChallenge serves POST /api/v2/sso-saml-challenges and
// /api/v2/sso-oauth-challenges: it parses, calls CreateSSOChallenge and
// renders.
func (p *Provider) ssoChallenge(kind string) cryptrhttp.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		pr, ok := cryptrhttp.PrincipalFrom(r.Context())
		if !ok {
			return cryptrhttp.Unauthorized("a management token is required")
		}
		ps, err := cryptrhttp.DecodeParams(r)
		if err != nil {
			return err
		}
		rd := ps.Reader()
		in := SSOChallengeRequest{Kind: kind, Locale: pickLocale(r, "")}
		for name, dst := range map[string]*string{"redirect_uri": &in.RedirectURI, "org_domain": &in.OrgDomain,
			"user_email": &in.UserEmail, "idp_id": &in.IdPID, "client_id": &in.ClientID, "state": &in.State} {
			if s := rd.String(name); s != nil {
				*dst = *s
			}
		}
		if s := rd.String("locale"); s != nil && normLocale(*s) != "" {
			in.Locale = normLocale(*s)
		}
		if err := rd.Err(); err != nil {
			return err
		}
		ch, err := p.CreateSSOChallenge(r.Context(), pr.Service, pr.Credential, in)
		if err != nil {
			return err
		}
		cryptrhttp.WriteJSON(w, http.StatusCreated, ch)
		return nil
	}
}

// ssoChallengeStart serves the authorization URL of a headless SSO
// challenge, GET /org/{domain}/oauth2/saml (and .../oauth) ?request_id=:
// it sends the browser to the challenge's connection. The challenge
// stays pending until that sign-in completes it (once).
func (p *Provider) ssoChallengeStart(w http.ResponseWriter, r *http.Request) {
	reqID := r.URL.Query().Get("request_id")
	req, err := p.loadRequest(r.Context(), reqID)
	if err != nil || !req.SSOChallenge || req.Env != envOf(r) || req.OrgDomain != r.PathValue("domain") {
		if err != nil && !errors.Is(err, errRequestGone) {
			p.log.Error("provider: loading an SSO challenge", "err", err)
		}
		p.errorPage(w, r, pickLocale(r, ""), http.StatusBadRequest, "request_gone")
		return
	}
	if p.opts.SSORouter == nil {
		p.errorPage(w, r, req.Locale, http.StatusServiceUnavailable, "unavailable")
		return
	}
	u, ok, err := p.opts.SSORouter.Route(r.Context(), SSORequest{Env: req.Env, OrgDomain: req.OrgDomain,
		IdPID: req.IdPID, Email: req.LoginHint, RequestID: reqID, Locale: req.Locale})
	if err != nil || !ok {
		if err != nil {
			p.log.Error("provider: SSO routing", "err", err)
		}
		p.errorPage(w, r, req.Locale, http.StatusServiceUnavailable, "unavailable")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u, http.StatusFound)
}

// headlessScopeAnswer is how the answer of a code exchanged with a
// management token writes scope: a JSON array, as the Kotlin SDK's
// ChallengeResponse reads it.
func headlessScopeAnswer(out map[string]any, scopes []string) {
	if scopes == nil {
		scopes = []string{}
	}
	out["scope"] = slices.Clone(scopes)
}
