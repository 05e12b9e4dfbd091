package provider

import (
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/cryptrhttp"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// APIRoutes returns the management endpoints of the provider, to pass in
// api.Options.Routes (package identity/api), each for a management token
// with create:users on the organization:
//
//   - POST /api/v2/magic-link-challenge, a headless magic link;
//   - POST /api/v2/sso-saml-challenges and /api/v2/sso-oauth-challenges,
//     a headless SSO challenge (see CreateSSOChallenge);
//   - grant_type=authorization_code at POST /api/v2/oauth/token: the code
//     of a headless challenge, exchanged with the management token in the
//     key's environment (the provider's /oauth/token takes it too, in the
//     environment of its URL: /sandbox/oauth/token for a sandbox key).
func (p *Provider) APIRoutes() cryptrhttp.RouteGroup {
	return cryptrhttp.RouteGroupFunc(func(m *cryptrhttp.Mux) error {
		m.Handle("POST /api/v2/magic-link-challenge", cryptrhttp.ActionCreate, cryptrhttp.ResourceUsers, cryptrhttp.HandlerFunc(p.magicChallenge))
		m.Handle("POST /api/v2/sso-saml-challenges", cryptrhttp.ActionCreate, cryptrhttp.ResourceUsers, p.ssoChallenge("saml"))
		m.Handle("POST /api/v2/sso-oauth-challenges", cryptrhttp.ActionCreate, cryptrhttp.ResourceUsers, p.ssoChallenge("oauth"))
		m.HandleGrant("authorization_code", p.headlessGrant)
		return nil
	})
}

// MagicLinkChallenge is the answer of POST /api/v2/magic-link-challenge.
type MagicLinkChallenge struct {
	Type             string  `json:"__type__"`
	Domain           string  `json:"__domain__"`
	Environment      string  `json:"__environment__"`
	Code             *string `json:"code"`
	EmailAddress     string  `json:"email_address"`
	FindOrCreateUser bool    `json:"find_or_create_user"`
	MagicLink        string  `json:"magic_link"`
	RequestID        string  `json:"request_id"`
	ExpiredAt        int64   `json:"expired_at"`
}

// magicChallenge creates a headless magic link: the caller's backend mails
// it; opening it and confirming redirects to redirect_uri with a code that
// the backend exchanges at /oauth/token with its management token.
func (p *Provider) magicChallenge(w http.ResponseWriter, r *http.Request) error {
	pr, ok := cryptrhttp.PrincipalFrom(r.Context())
	if !ok {
		return cryptrhttp.Unauthorized("a management token is required")
	}
	ps, err := cryptrhttp.DecodeParams(r)
	if err != nil {
		return err
	}
	rd := ps.Reader()
	email, redirect, orgDomain, clientID, state := "", "", "", "", ""
	if v := rd.String("user_email"); v != nil {
		email = *v
	}
	if v := rd.String("redirect_uri"); v != nil {
		redirect = *v
	}
	if v := rd.String("org_domain"); v != nil {
		orgDomain = *v
	}
	if v := rd.String("client_id"); v != nil {
		clientID = *v
	}
	if v := rd.String("state"); v != nil {
		state = *v
	}
	foc := false
	if v := rd.Bool("find_or_create_user"); v != nil {
		foc = *v
	}
	if err := rd.Err(); err != nil {
		return err
	}
	if msg := identity.CheckEmail(email); email == "" || msg != "" {
		return cryptrhttp.InvalidParams("user_email", "must be a valid email address")
	}
	if redirect == "" {
		return cryptrhttp.InvalidParams("redirect_uri", "is required")
	}
	svc, env := pr.Service, pr.Environment()
	ctx := r.Context()
	if orgDomain == "" {
		org, err := svc.OrgForEmailDomain(ctx, identity.EmailDomain(email))
		if errors.Is(err, identity.ErrNotFound) {
			return cryptrhttp.InvalidParams("org_domain", "is required: no organization owns this email domain")
		}
		if err != nil {
			return err
		}
		orgDomain = org.Domain
	}
	if err := pr.Authorize(orgDomain, cryptrhttp.ActionCreate, cryptrhttp.ResourceUsers); err != nil {
		return err
	}
	var app *identity.Application
	if clientID != "" {
		// An application that does not serve the organization is unknown
		// here, exactly like a client id that does not exist.
		a, err := svc.ApplicationFor(ctx, clientID, orgDomain)
		if errors.Is(err, identity.ErrNotFound) {
			return cryptrhttp.InvalidParams("client_id", "unknown application")
		}
		if err != nil {
			return err
		}
		app = a
	} else {
		page, err := svc.ListApplications(ctx, orgDomain, identity.PageRequest{Page: 1, PerPage: 100})
		if err != nil {
			return err
		}
		for i := range page.Items {
			if page.Items[i].AllowsRedirect(redirect) && p.appServes(ctx, &page.Items[i], env, orgDomain) {
				app = &page.Items[i]
				break
			}
		}
	}
	if app == nil || !app.AllowsRedirect(redirect) {
		return cryptrhttp.InvalidParams("redirect_uri", "is not an allowed redirect URL of an application of the organization")
	}
	u, err := svc.GetUserByEmail(ctx, orgDomain, email)
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		return err
	}
	if !foc && (u == nil || !u.Enabled) {
		return cryptrhttp.InvalidParams("user_email", "no enabled user has this email; set find_or_create_user to create one")
	}
	if foc && u == nil {
		// The organization's sign-up policy applies to a user the link
		// would create (identity.Service.SignInWithEmail checks it again).
		ok, err := svc.MaySignUp(ctx, orgDomain, email)
		if err != nil {
			return err
		}
		if !ok {
			return cryptrhttp.InvalidParams("user_email", "is outside the organization's allowed email domains and it has no open sign-up")
		}
	}
	reqID, err := p.newSecret()
	if err != nil {
		return err
	}
	token, err := p.newSecret()
	if err != nil {
		return err
	}
	requestID, err := p.newUUID()
	if err != nil {
		return err
	}
	now := p.now()
	exp := now.Add(p.opts.MagicLinkTTL)
	req := authRequest{Env: env, OrgDomain: orgDomain, ClientID: app.ClientID, RedirectURI: redirect,
		Scopes: defaultScope, State: state, MaxAge: -1, Locale: pickLocale(r, ""), Flavor: flavorHeadless,
		RequestID: requestID, FindOrCreate: foc, ExpiresAt: exp}
	reqHash := identity.HashSecret(reqID)
	err = svc.Update(ctx, func(tx *identity.Txn) error {
		raw := tx.KVTx(kv.Inside())
		if err := put(raw, authRequests, reqHash, req, exp); err != nil {
			return err
		}
		if err := put(raw, magicLinks, identity.HashSecret(token), magicLinkRecord{RequestHash: reqHash, Email: email,
			ExpiresAt: exp}, exp); err != nil {
			return err
		}
		org, err := tx.Org(orgDomain)
		if err != nil {
			return err
		}
		return tx.Log(&identity.Event{Code: identity.EventMagicLinkSent, OrgID: org.ID, TenantDomain: orgDomain,
			ClientID: app.ClientID, Email: email, ActorID: pr.Credential.ID})
	})
	if err != nil {
		return err
	}
	cryptrhttp.WriteJSON(w, http.StatusCreated, MagicLinkChallenge{Type: "MagicLinkChallenge", Domain: orgDomain,
		Environment: string(env), EmailAddress: email, FindOrCreateUser: foc,
		MagicLink: p.magicLinkURL(env, token), RequestID: requestID, ExpiredAt: exp.Unix()})
	return nil
}
