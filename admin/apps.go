package admin

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
)

const apps = identity.ResourceApplications

// signingAlgs are the JWT algorithms an application may choose.
var signingAlgs = []string{"RS256", "ES256", "EdDSA"}

// appListData is an organization's applications.
type appListData struct {
	Org         *identity.Organization
	Apps        []identity.Application
	Page, Pages int
}

func (c *Console) appList(w http.ResponseWriter, q *request) error {
	o, err := q.svc.GetOrganization(q.ctx(), q.r.PathValue("org"))
	if err != nil {
		return err
	}
	n, _ := strconv.Atoi(q.r.URL.Query().Get("page"))
	p, err := q.svc.ListApplications(q.ctx(), o.Domain, identity.PageRequest{Page: n, PerPage: 20})
	if err != nil {
		return err
	}
	c.page(w, q, http.StatusOK, "apps", view{Title: "apps.title", Notice: notice(q),
		Data: appListData{Org: o, Apps: p.Items, Page: p.Page, Pages: p.TotalPages()}})
	return nil
}

// appData is an application's form.
type appData struct {
	Org   *identity.Organization
	App   *identity.Application // nil when creating
	Types []string
	Algs  []string
	// Secret is a client secret to show once (after creation or rotation).
	Secret string
	// Extras are the MetaKeys and the JWT sample (the page of an
	// existing application; nil elsewhere).
	Extras *appExtras
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ' ' || r == ',' }) {
		out = append(out, l)
	}
	return out
}

func appForm(a *identity.Application) url.Values {
	f := url.Values{}
	f.Set("name", a.Name)
	f.Set("description", a.Description)
	f.Set("application_type", a.ApplicationType)
	f.Set("allowed_redirect_urls", strings.Join(a.AllowedRedirectURLs, "\n"))
	f.Set("allowed_logout_urls", strings.Join(a.AllowedLogoutURLs, "\n"))
	f.Set("allowed_web_origins", strings.Join(a.AllowedWebOrigins, "\n"))
	f.Set("allowed_origins_cors", strings.Join(a.AllowedOriginsCORS, "\n"))
	f.Set("allowed_scopes", strings.Join(a.AllowedScopes, " "))
	f.Set("signing_alg", a.SigningAlg)
	if a.SigningAlg == "" {
		f.Set("signing_alg", "RS256")
	}
	return f
}

// applyAppForm sets the editable fields of the form on a.
func applyAppForm(f url.Values, a *identity.Application) {
	a.Name = strings.TrimSpace(f.Get("name"))
	a.Description = strings.TrimSpace(f.Get("description"))
	a.AllowedRedirectURLs = lines(f.Get("allowed_redirect_urls"))
	a.AllowedLogoutURLs = lines(f.Get("allowed_logout_urls"))
	a.AllowedWebOrigins = lines(f.Get("allowed_web_origins"))
	a.AllowedOriginsCORS = lines(f.Get("allowed_origins_cors"))
	a.SigningAlg = f.Get("signing_alg")
	a.AllowedScopes = strings.Fields(f.Get("allowed_scopes"))
}

func (c *Console) appData(q *request, a *identity.Application) (*appData, error) {
	o, err := q.svc.GetOrganization(q.ctx(), q.r.PathValue("org"))
	if err != nil {
		return nil, err
	}
	return &appData{Org: o, App: a, Types: identity.ApplicationTypes(), Algs: signingAlgs}, nil
}

func (c *Console) appNew(w http.ResponseWriter, q *request) error {
	d, err := c.appData(q, nil)
	if err != nil {
		return err
	}
	c.page(w, q, http.StatusOK, "app", view{Title: "apps.new", Data: d,
		Form: url.Values{"application_type": {identity.AppRegularWeb}, "signing_alg": {"RS256"}}})
	return nil
}

func (c *Console) appCreate(w http.ResponseWriter, q *request) error {
	d, err := c.appData(q, nil)
	if err != nil {
		return err
	}
	f := q.r.PostForm
	in := identity.Application{ApplicationType: f.Get("application_type")}
	applyAppForm(f, &in)
	// An application made here is the organization's own unless the
	// member asks otherwise: unscoped, it would serve every
	// organization's users (the Cryptr API's default).
	if f.Get("every_org") != "on" {
		in.OrganizationScope = d.Org.Domain
	}
	a, secret, err := q.svc.CreateApplication(q.ctx(), d.Org.Domain, in)
	if errs, ok := fieldErrors(err); ok {
		c.page(w, q, http.StatusUnprocessableEntity, "app", view{Title: "apps.new", Data: d, Form: f, Errors: errs})
		return nil
	} else if err != nil {
		return err
	}
	d.App, d.Secret = a, secret
	// The secret is shown on this answer only (no-store): no redirect.
	c.page(w, q, http.StatusCreated, "app", view{Title: "apps.settings", Data: d, Form: appForm(a), Notice: "apps.created"})
	return nil
}

func (c *Console) appShow(w http.ResponseWriter, q *request) error {
	a, err := q.svc.GetApplication(q.ctx(), q.r.PathValue("org"), q.r.PathValue("client"))
	if err != nil {
		return err
	}
	d, err := c.appData(q, a)
	if err != nil {
		return err
	}
	return c.appPage(w, q, http.StatusOK, d, view{Notice: notice(q)})
}

func (c *Console) appUpdate(w http.ResponseWriter, q *request) error {
	dom, id := q.r.PathValue("org"), q.r.PathValue("client")
	f := q.r.PostForm
	_, err := q.svc.UpdateApplication(q.ctx(), dom, id, func(a *identity.Application) error {
		applyAppForm(f, a)
		return nil
	})
	if errs, ok := fieldErrors(err); ok {
		a, gerr := q.svc.GetApplication(q.ctx(), dom, id)
		if gerr != nil {
			return gerr
		}
		d, gerr := c.appData(q, a)
		if gerr != nil {
			return gerr
		}
		f.Set("application_type", a.ApplicationType)
		return c.appPage(w, q, http.StatusUnprocessableEntity, d, view{Form: f, Errors: errs})
	} else if err != nil {
		return err
	}
	return c.redirect(w, q, "/orgs/"+url.PathEscape(dom)+"/apps/"+url.PathEscape(id)+"?done=apps.saved")
}

// appRotate gives the application a new secret and shows it once.
func (c *Console) appRotate(w http.ResponseWriter, q *request) error {
	dom, id := q.r.PathValue("org"), q.r.PathValue("client")
	secret, err := q.svc.RotateApplicationSecret(q.ctx(), dom, id)
	if _, ok := fieldErrors(err); ok {
		c.page(w, q, http.StatusUnprocessableEntity, "message", view{Title: "error.bad", Message: "apps.public"})
		return nil
	} else if err != nil {
		return err
	}
	a, err := q.svc.GetApplication(q.ctx(), dom, id)
	if err != nil {
		return err
	}
	d, err := c.appData(q, a)
	if err != nil {
		return err
	}
	d.Secret = secret
	c.page(w, q, http.StatusOK, "app", view{Title: "apps.settings", Data: d, Form: appForm(a), Notice: "apps.rotated"})
	return nil
}

func (c *Console) appDeleteConfirm(w http.ResponseWriter, q *request) error {
	a, err := q.svc.GetApplication(q.ctx(), q.r.PathValue("org"), q.r.PathValue("client"))
	if err != nil {
		return err
	}
	d, err := c.appData(q, a)
	if err != nil {
		return err
	}
	c.page(w, q, http.StatusOK, "app_delete", view{Title: "apps.delete.title", Data: d})
	return nil
}

func (c *Console) appDelete(w http.ResponseWriter, q *request) error {
	dom, id := q.r.PathValue("org"), q.r.PathValue("client")
	if q.r.PostForm.Get("confirm") != "yes" {
		return c.appDeleteConfirm(w, q)
	}
	if _, err := q.svc.DeleteApplication(q.ctx(), dom, id); err != nil {
		return err
	}
	return c.redirect(w, q, "/orgs/"+url.PathEscape(dom)+"/apps?done=apps.deleted")
}
