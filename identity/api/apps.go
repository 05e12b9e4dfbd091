package api

import (
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
)

// appPatch reads the writable fields of an application; only present
// fields change.
func appPatch(rd *Reader) func(a *identity.Application) {
	var fns []func(a *identity.Application)
	str := func(name string, set func(a *identity.Application, v string)) {
		if s := rd.String(name); s != nil {
			v := strings.TrimSpace(*s)
			fns = append(fns, func(a *identity.Application) { set(a, v) })
		}
	}
	list := func(name string, set func(a *identity.Application, v []string)) {
		if l := rd.Strings(name); l != nil {
			v := make([]string, 0, len(*l))
			for _, s := range *l {
				if s = strings.TrimSpace(s); s != "" {
					v = append(v, s)
				}
			}
			fns = append(fns, func(a *identity.Application) { set(a, v) })
		}
	}
	str("name", func(a *identity.Application, v string) { a.Name = v })
	str("description", func(a *identity.Application, v string) { a.Description = v })
	str("application_type", func(a *identity.Application, v string) { a.ApplicationType = strings.ToLower(v) })
	str("default_origin_cors", func(a *identity.Application, v string) { a.DefaultOriginCORS = v })
	str("default_web_origin", func(a *identity.Application, v string) { a.DefaultWebOrigin = v })
	str("default_redirect_uri_after_login", func(a *identity.Application, v string) { a.DefaultRedirectURIAfterLogin = v })
	str("default_redirect_uri_after_logout", func(a *identity.Application, v string) { a.DefaultRedirectURIAfterLogout = v })
	str("organization_domain_scope", func(a *identity.Application, v string) { a.OrganizationScope = v })
	// Gatehouse's extension: the JWT algorithm of the application's tokens
	// (RS256, ES256 or EdDSA; "" or null goes back to the default, RS256).
	str("signing_alg", func(a *identity.Application, v string) { a.SigningAlg = v })
	list("allowed_redirect_urls", func(a *identity.Application, v []string) { a.AllowedRedirectURLs = v })
	list("allowed_origins_cors", func(a *identity.Application, v []string) { a.AllowedOriginsCORS = v })
	list("allowed_web_origins", func(a *identity.Application, v []string) { a.AllowedWebOrigins = v })
	list("allowed_logout_urls", func(a *identity.Application, v []string) { a.AllowedLogoutURLs = v })
	// Gatehouse's extension: the only scopes the application's tokens may
	// carry beside OpenID Connect's own ([] or null: any scope); a list,
	// or one space-separated string as OAuth writes scopes.
	list("allowed_scopes", func(a *identity.Application, v []string) {
		a.AllowedScopes = strings.Fields(strings.Join(v, " "))
	})
	return func(a *identity.Application) {
		for _, f := range fns {
			f(a)
		}
	}
}

// browserApp reports whether t is a single-page application type, for
// which the document requires the four URL lists.
func browserApp(t string) bool {
	return t == identity.AppReact || t == identity.AppVue || t == identity.AppAngular
}

func (h *Handler) listApps(w http.ResponseWriter, r *http.Request) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	rd, err := params(r, p)
	if err != nil {
		return err
	}
	req := rd.Page()
	if err := rd.Err(); err != nil {
		return err
	}
	domain := r.PathValue("domain")
	page, err := p.Service.ListApplications(r.Context(), domain, req)
	if err != nil {
		return err
	}
	out := make([]Application, len(page.Items))
	for i := range page.Items {
		out[i] = NewApplication(&page.Items[i], domain, h.account, p.Environment())
	}
	WriteList(w, PaginationTotalCount, out, req, page.Total)
	return nil
}

func (h *Handler) createApp(w http.ResponseWriter, r *http.Request) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	rd, err := params(r, p)
	if err != nil {
		return err
	}
	var in identity.Application
	appPatch(rd)(&in)
	if in.Name == "" {
		rd.Invalid("name", "is required")
	}
	switch {
	case in.ApplicationType == "":
		rd.Invalid("application_type", "is required")
	case browserApp(in.ApplicationType):
		for _, f := range []struct {
			name string
			list []string
		}{{"allowed_redirect_urls", in.AllowedRedirectURLs}, {"allowed_origins_cors", in.AllowedOriginsCORS},
			{"allowed_web_origins", in.AllowedWebOrigins}, {"allowed_logout_urls", in.AllowedLogoutURLs}} {
			if len(f.list) == 0 {
				rd.Invalid(f.name, "is required for "+in.ApplicationType+" applications")
			}
		}
	case in.ApplicationType == identity.AppRegularWeb || in.ApplicationType == identity.AppNative:
		if len(in.AllowedRedirectURLs) == 0 {
			rd.Invalid("allowed_redirect_urls", "is required for "+in.ApplicationType+" applications")
		}
	}
	if in.ApplicationType != "" {
		rd.Merge("", identity.CheckApplication(&in))
	}
	if err := rd.Err(); err != nil {
		return err
	}
	domain := r.PathValue("domain")
	a, secret, err := p.Service.CreateApplication(r.Context(), domain, in)
	if err != nil {
		return err
	}
	out := NewApplication(a, domain, h.account, p.Environment())
	out.ClientSecret = secret
	WriteJSON(w, http.StatusCreated, out)
	return nil
}

func (h *Handler) getApp(w http.ResponseWriter, r *http.Request) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	if _, err := params(r, p); err != nil {
		return err
	}
	domain := r.PathValue("domain")
	a, err := p.Service.GetApplication(r.Context(), domain, r.PathValue("client_id"))
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, NewApplication(a, domain, h.account, p.Environment()))
	return nil
}

func (h *Handler) updateApp(w http.ResponseWriter, r *http.Request) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	rd, err := params(r, p)
	if err != nil {
		return err
	}
	patch := appPatch(rd)
	if err := rd.Err(); err != nil {
		return err
	}
	domain := r.PathValue("domain")
	a, err := p.Service.UpdateApplication(r.Context(), domain, r.PathValue("client_id"), func(a *identity.Application) error {
		public := a.Public()
		patch(a)
		if a.Public() != public {
			return identity.Invalid("application_type", "cannot change between public (react, vue, angular, native) and confidential (regular_web, machine) types")
		}
		return nil
	})
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, NewApplication(a, domain, h.account, p.Environment()))
	return nil
}
