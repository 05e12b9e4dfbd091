// Package ssoapi serves the SSO connections endpoints of Cryptr's management
// API 2.0 as a route group for identity/api (api.Options.Routes), so they
// share the management face's authentication, tenant isolation, error
// format and parameter parsing (the /api/v2 route framework, which lives in
// an internal package: this package does not import identity/api).
//
// Endpoints (permissions are "action:sso_connections"):
//
//	GET   /api/v2/sso-connections                          list (paginate shape)     read_many
//	GET   /api/v2/org/{domain}/sso-connections             list for one organization read_many
//	POST  /api/v2/sso-connections                          create                    create
//	POST  /api/v2/org/{domain}/sso-connections             create                    create
//	GET   /api/v2/sso-connections/{idp_id}                 retrieve                  read
//	PUT   /api/v2/sso-connections/{idp_id}                 update (also PATCH, POST) update
//	PATCH /api/v2/sso-connections/{idp_id}/activate        activate                  update
//	PATCH /api/v2/sso-connections/{idp_id}/disable         disable                   update
//	POST  /api/v2/sso-connections/{idp_id}/admin-onboarding   create the onboarding  update
//	PUT   /api/v2/sso-connections/{idp_id}/admin-onboarding   update the onboarding  update
//	PATCH /api/v2/sso-connections/{idp_id}/reset-onboarding   reset the onboarding   update
//	POST  /api/v2/sso-connections/{idp_id}/invite-admin       send the invitation    update
//	GET   /api/v2/sso-connections/{idp_id}/default-redirection  retrieve             read
//	POST  /api/v2/sso-connections/{idp_id}/default-redirection  set                  update
//	PUT   /api/v2/sso-connections/{idp_id}/sso-user-policy      user policy (also PATCH, POST)  update
//
// Nested default_redirection and onboarding are ids unless listed in
// preload_associations (create always expands them). A connection of an
// organization the API key does not manage answers 404. "metadata" is []
// until the IdP's XML metadata is uploaded, as every sample of the
// document shows it, and then that XML, a string as the document's type
// table says (no sample shows an uploaded one). Updates take PUT, PATCH
// and POST alike (curl sends POST for -d).
package ssoapi

import (
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/cryptrhttp"
	"github.com/gatehouse-id/gatehouse/sso"
)

// Resource is the permission resource of the SSO connection endpoints
// (sso.Resource, which the service itself also enforces).
const Resource = sso.Resource

// Routes returns the route group of the SSO connection endpoints backed by
// svc.
func Routes(svc *sso.Service) cryptrhttp.RouteGroup {
	return cryptrhttp.RouteGroupFunc(func(m *cryptrhttp.Mux) error {
		h := &handler{svc: svc, account: m.AccountDomain()}
		handle := func(pattern, action string, f cryptrhttp.HandlerFunc) { m.Handle(pattern, action, Resource, f) }
		handle("GET /api/v2/sso-connections", cryptrhttp.ActionReadMany, h.list)
		handle("GET /api/v2/org/{domain}/sso-connections", cryptrhttp.ActionReadMany, h.list)
		handle("POST /api/v2/sso-connections", cryptrhttp.ActionCreate, h.create)
		handle("POST /api/v2/org/{domain}/sso-connections", cryptrhttp.ActionCreate, h.create)
		handle("GET /api/v2/sso-connections/{idp_id}", cryptrhttp.ActionRead, h.get)
		// Updates take PUT, PATCH and POST alike (what curl sends for -d).
		for _, method := range []string{"PUT", "PATCH", "POST"} {
			handle(method+" /api/v2/sso-connections/{idp_id}", cryptrhttp.ActionUpdate, h.update)
		}
		handle("PATCH /api/v2/sso-connections/{idp_id}/activate", cryptrhttp.ActionUpdate, h.activate(true))
		handle("PATCH /api/v2/sso-connections/{idp_id}/disable", cryptrhttp.ActionUpdate, h.activate(false))
		handle("POST /api/v2/sso-connections/{idp_id}/admin-onboarding", cryptrhttp.ActionUpdate, h.createOnboarding)
		handle("PUT /api/v2/sso-connections/{idp_id}/admin-onboarding", cryptrhttp.ActionUpdate, h.updateOnboarding)
		handle("PATCH /api/v2/sso-connections/{idp_id}/admin-onboarding", cryptrhttp.ActionUpdate, h.updateOnboarding)
		handle("PATCH /api/v2/sso-connections/{idp_id}/reset-onboarding", cryptrhttp.ActionUpdate, h.resetOnboarding)
		handle("POST /api/v2/sso-connections/{idp_id}/invite-admin", cryptrhttp.ActionUpdate, h.invite)
		handle("GET /api/v2/sso-connections/{idp_id}/default-redirection", cryptrhttp.ActionRead, h.getRedirection)
		handle("POST /api/v2/sso-connections/{idp_id}/default-redirection", cryptrhttp.ActionUpdate, h.setRedirection)
		for _, method := range []string{"PUT", "PATCH", "POST"} {
			handle(method+" /api/v2/sso-connections/{idp_id}/sso-user-policy", cryptrhttp.ActionUpdate, h.userPolicy)
		}
		return nil
	})
}

type handler struct {
	svc     *sso.Service
	account string
}

// request is an authenticated call with its parameters.
type request struct {
	p  *cryptrhttp.Principal
	rd *cryptrhttp.Reader
}

func (h *handler) begin(r *http.Request) (*request, error) {
	p, ok := cryptrhttp.PrincipalFrom(r.Context())
	if !ok {
		return nil, cryptrhttp.Unauthorized("authentication required")
	}
	ps, err := cryptrhttp.DecodeParams(r)
	if err != nil {
		return nil, err
	}
	rd := ps.Reader()
	if s := rd.String("environment"); s != nil && *s != "" {
		env, err := identity.ParseEnvironment(*s)
		if err != nil {
			rd.Invalid("environment", "must be sandbox or production")
		} else if env != p.Environment() {
			return nil, cryptrhttp.Forbidden("this API key belongs to the " + string(p.Environment()) + " environment")
		}
	}
	return &request{p: p, rd: rd}, nil
}

// connection loads the connection of the path through the caller's scoped
// service (one of an organization the caller does not manage is not
// found).
func (h *handler) connection(r *http.Request, q *request) (*sso.Details, error) {
	return h.svc.GetConnection(r.Context(), q.p.Service, r.PathValue("idp_id"))
}

// preload reads preload_associations (a list, or a comma-separated string).
func preload(rd *cryptrhttp.Reader) map[string]bool {
	out := map[string]bool{}
	if l := rd.Strings("preload_associations"); l != nil {
		for _, v := range *l {
			for _, x := range strings.Split(v, ",") {
				out[strings.TrimSpace(x)] = true
			}
		}
	}
	return out
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) error {
	q, err := h.begin(r)
	if err != nil {
		return err
	}
	req := q.rd.Page()
	pre := preload(q.rd)
	if err := q.rd.Err(); err != nil {
		return err
	}
	domain := r.PathValue("domain")
	if domain == "" {
		if s := q.rd.String("org_domain"); s != nil && *s != "" {
			domain = *s
		}
	}
	page, err := h.svc.ListConnections(r.Context(), q.p.Service, domain, nil, req)
	if err != nil {
		return err
	}
	items := make([]Connection, 0, len(page.Items))
	for i := range page.Items {
		items = append(items, h.render(&page.Items[i], pre, q.p.Environment()))
	}
	cryptrhttp.WriteList(w, cryptrhttp.Paginate, items, identity.PageRequest{Page: page.Page, PerPage: page.PerPage}, page.Total)
	return nil
}

func (h *handler) create(w http.ResponseWriter, r *http.Request) error {
	q, err := h.begin(r)
	if err != nil {
		return err
	}
	in := sso.CreateInput{OrgDomain: r.PathValue("domain")}
	if s := q.rd.String("organization_id"); s != nil {
		in.OrgID = *s
	}
	if in.OrgDomain == "" {
		for _, k := range []string{"org_domain", "organization_domain", "domain"} {
			if s := q.rd.String(k); s != nil && *s != "" {
				in.OrgDomain = *s
				break
			}
		}
	}
	for _, k := range []string{"application_id", "client_id"} {
		if s := q.rd.String(k); s != nil && *s != "" {
			in.ApplicationID = *s
			break
		}
	}
	if s := q.rd.String("uri"); s != nil {
		in.RedirectURI = *s
	}
	if s := q.rd.String("provider_type"); s != nil {
		in.ProviderType = *s
	}
	if s := q.rd.String("sso_admin_email"); s != nil {
		in.SSOAdminEmail = *s
	}
	if b := q.rd.Bool("send_email"); b != nil {
		in.SendEmail = *b
	}
	if err := q.rd.Err(); err != nil {
		return err
	}
	d, err := h.svc.CreateConnection(r.Context(), q.p.Service, in)
	if err != nil {
		if d == nil {
			return err
		}
		// Created, but the invitation failed: report it.
		return cryptrhttp.Errorf(http.StatusBadGateway, "invitation_not_sent", "the connection %s was created but the invitation could not be sent", d.Connection.ID)
	}
	cryptrhttp.WriteJSON(w, http.StatusCreated, h.render(d, map[string]bool{"default_redirection": true, "onboarding": true}, q.p.Environment()))
	return nil
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) error {
	q, err := h.begin(r)
	if err != nil {
		return err
	}
	pre := preload(q.rd)
	if err := q.rd.Err(); err != nil {
		return err
	}
	d, err := h.connection(r, q)
	if err != nil {
		return err
	}
	cryptrhttp.WriteJSON(w, http.StatusOK, h.render(d, pre, q.p.Environment()))
	return nil
}

func (h *handler) update(w http.ResponseWriter, r *http.Request) error {
	q, err := h.begin(r)
	if err != nil {
		return err
	}
	var u sso.Update
	u.Active = q.rd.Bool("active")
	u.DefaultRedirectionID = q.rd.String("default_redirection_id")
	u.Metadata = q.rd.String("metadata")
	u.ProviderType = q.rd.String("provider_type")
	u.SeatsLimit = q.rd.Int("seats_limit")
	if q.rd.Has("seats_limit") && u.SeatsLimit == nil {
		if v, _ := q.rd.Raw("seats_limit"); v == nil {
			zero := 0 // null: no limit
			u.SeatsLimit = &zero
		}
	}
	u.UserSecurityType = q.rd.String("user_security_type")
	u.AllowIdPInitiated = q.rd.Bool("allow_idp_initiated")
	u.AllowSHA1Signatures = q.rd.Bool("allow_sha1_signatures")
	pre := preload(q.rd)
	if err := q.rd.Err(); err != nil {
		return err
	}
	d, err := h.svc.UpdateConnection(r.Context(), q.p.Service, r.PathValue("idp_id"), u)
	if err != nil {
		return err
	}
	cryptrhttp.WriteJSON(w, http.StatusOK, h.render(d, pre, q.p.Environment()))
	return nil
}

func (h *handler) activate(active bool) cryptrhttp.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		q, err := h.begin(r)
		if err != nil {
			return err
		}
		d, err := h.svc.SetActive(r.Context(), q.p.Service, r.PathValue("idp_id"), active)
		if err != nil {
			return err
		}
		cryptrhttp.WriteJSON(w, http.StatusOK, h.render(d, preload(q.rd), q.p.Environment()))
		return nil
	}
}

func onboardingInput(rd *cryptrhttp.Reader) sso.OnboardingInput {
	var in sso.OnboardingInput
	in.SSOAdminEmail = rd.String("sso_admin_email")
	if in.SSOAdminEmail == nil {
		in.SSOAdminEmail = rd.String("it_admin_email")
	}
	in.ProviderType = rd.String("provider_type")
	if b := rd.Bool("send_email"); b != nil {
		in.SendEmail = *b
	}
	return in
}

func (h *handler) createOnboarding(w http.ResponseWriter, r *http.Request) error {
	return h.onboarding(w, r, http.StatusCreated, func(q *request, in sso.OnboardingInput) (*sso.Onboarding, error) {
		return h.svc.CreateOnboarding(r.Context(), q.p.Service, r.PathValue("idp_id"), in)
	})
}

func (h *handler) updateOnboarding(w http.ResponseWriter, r *http.Request) error {
	return h.onboarding(w, r, http.StatusOK, func(q *request, in sso.OnboardingInput) (*sso.Onboarding, error) {
		return h.svc.UpdateOnboarding(r.Context(), q.p.Service, r.PathValue("idp_id"), in)
	})
}

func (h *handler) resetOnboarding(w http.ResponseWriter, r *http.Request) error {
	return h.onboarding(w, r, http.StatusOK, func(q *request, _ sso.OnboardingInput) (*sso.Onboarding, error) {
		return h.svc.ResetOnboarding(r.Context(), q.p.Service, r.PathValue("idp_id"))
	})
}

func (h *handler) invite(w http.ResponseWriter, r *http.Request) error {
	return h.onboarding(w, r, http.StatusCreated, func(q *request, _ sso.OnboardingInput) (*sso.Onboarding, error) {
		o, err := h.svc.SendInvitation(r.Context(), q.p.Service, r.PathValue("idp_id"))
		if _, ok := cryptrhttp.AsError(err); err != nil && !ok {
			return nil, cryptrhttp.Errorf(http.StatusBadGateway, "invitation_not_sent", "the invitation could not be sent")
		}
		return o, err
	})
}

func (h *handler) onboarding(w http.ResponseWriter, r *http.Request, status int, fn func(q *request, in sso.OnboardingInput) (*sso.Onboarding, error)) error {
	q, err := h.begin(r)
	if err != nil {
		return err
	}
	in := onboardingInput(q.rd)
	if err := q.rd.Err(); err != nil {
		return err
	}
	o, err := fn(q, in)
	if err != nil {
		return err
	}
	cryptrhttp.WriteJSON(w, status, h.renderOnboarding(o, q.p.Environment()))
	return nil
}

func (h *handler) getRedirection(w http.ResponseWriter, r *http.Request) error {
	q, err := h.begin(r)
	if err != nil {
		return err
	}
	d, err := h.connection(r, q)
	if err != nil {
		return err
	}
	if d.Redirection == nil {
		return cryptrhttp.NotFound()
	}
	cryptrhttp.WriteJSON(w, http.StatusOK, h.renderRedirection(d.Redirection, q.p.Environment()))
	return nil
}

func (h *handler) setRedirection(w http.ResponseWriter, r *http.Request) error {
	q, err := h.begin(r)
	if err != nil {
		return err
	}
	var app, org, uri string
	for _, k := range []string{"application_id", "client_id", "app_id"} {
		if s := q.rd.String(k); s != nil && *s != "" {
			app = *s
			break
		}
	}
	if s := q.rd.String("organization_id"); s != nil {
		org = *s
	}
	if s := q.rd.String("uri"); s != nil {
		uri = *s
	}
	if err := q.rd.Err(); err != nil {
		return err
	}
	rd, err := h.svc.SetDefaultRedirection(r.Context(), q.p.Service, r.PathValue("idp_id"), app, org, uri)
	if err != nil {
		return err
	}
	cryptrhttp.WriteJSON(w, http.StatusCreated, h.renderRedirection(rd, q.p.Environment()))
	return nil
}

func (h *handler) userPolicy(w http.ResponseWriter, r *http.Request) error {
	q, err := h.begin(r)
	if err != nil {
		return err
	}
	t := q.rd.String("user_security_type")
	seats := q.rd.Int("seats_limit")
	if t == nil || *t == "" {
		q.rd.Invalid("user_security_type", "is required")
	}
	if err := q.rd.Err(); err != nil {
		return err
	}
	d, err := h.svc.UpdateConnection(r.Context(), q.p.Service, r.PathValue("idp_id"), sso.Update{UserSecurityType: t, SeatsLimit: seats})
	if err != nil {
		return err
	}
	cryptrhttp.WriteJSON(w, http.StatusOK, h.render(d, preload(q.rd), q.p.Environment()))
	return nil
}
