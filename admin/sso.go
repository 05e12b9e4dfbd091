package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/sso"
)

// ssoConns is the resource of SSO connections in console permissions (the
// one the SSO service and its API enforce).
const ssoConns = sso.Resource

// MetadataWarning is how long before its IdP metadata expires (its
// validUntil or a signing certificate's end) a connection's pages warn.
const MetadataWarning = 30 * 24 * time.Hour

// SSOConnections is what the console needs of enterprise SSO: the
// connection methods of *sso.Service (package sso), which implements it.
// Each call gets the member's scoped identity.Service, so the SSO service
// applies the member's organizations as it does an API key's.
type SSOConnections interface {
	ListConnections(ctx context.Context, id *identity.Service, orgDomain string, keep func(orgDomain string) bool, req identity.PageRequest) (identity.Page[sso.Details], error)
	GetConnection(ctx context.Context, id *identity.Service, idpID string) (*sso.Details, error)
	CreateConnection(ctx context.Context, id *identity.Service, in sso.CreateInput) (*sso.Details, error)
	CreateOnboarding(ctx context.Context, id *identity.Service, idpID string, in sso.OnboardingInput) (*sso.Onboarding, error)
	NewSetupLink(ctx context.Context, id *identity.Service, idpID string) (string, error)
	SendInvitation(ctx context.Context, id *identity.Service, idpID string) (*sso.Onboarding, error)
	UpdateConnection(ctx context.Context, id *identity.Service, idpID string, u sso.Update) (*sso.Details, error)
}

func (c *Console) ssoRoutes(m *patternMux) {
	if c.sso == nil {
		return
	}
	m.HandleFunc("GET /orgs/{org}/sso", c.signedIn(read, ssoConns, c.ssoList))
	m.HandleFunc("POST /orgs/{org}/sso", c.signedIn(create, ssoConns, c.ssoCreate))
	m.HandleFunc("GET /orgs/{org}/sso/{idp}", c.signedIn(read, ssoConns, c.ssoShow))
	m.HandleFunc("POST /orgs/{org}/sso/{idp}/onboarding", c.signedIn(update, ssoConns, c.ssoOnboarding))
	m.HandleFunc("POST /orgs/{org}/sso/{idp}/setup-link", c.signedIn(update, ssoConns, c.ssoSetupLink))
	m.HandleFunc("POST /orgs/{org}/sso/{idp}/invite", c.signedIn(update, ssoConns, c.ssoInvite))
	m.HandleFunc("POST /orgs/{org}/sso/{idp}", c.signedIn(update, ssoConns, c.ssoUpdate))
}

// ssoRow is a connection as the pages show it.
type ssoRow struct {
	sso.Details
	// Expiry is when the IdP metadata expires (zero: none uploaded or no
	// date); Expired and Expiring say whether it is past or within
	// MetadataWarning.
	Expiry            time.Time
	Expired, Expiring bool
}

// State is the onboarding state ("" without an onboarding).
func (r ssoRow) State() string {
	if r.Onboarding == nil {
		return ""
	}
	return r.Onboarding.State
}

func (c *Console) ssoRow(d sso.Details) ssoRow {
	r := ssoRow{Details: d, Expiry: d.Connection.MetadataExpiry()}
	if !r.Expiry.IsZero() {
		now := c.svc.Now()
		r.Expired = !now.Before(r.Expiry)
		r.Expiring = !r.Expired && r.Expiry.Sub(now) < MetadataWarning
	}
	return r
}

// ssoListData is an organization's connections and the creation form.
type ssoListData struct {
	Org         *identity.Organization
	Conns       []ssoRow
	Page, Pages int
	// Apps are the organization's applications (the creation form's
	// choices of where users land), Providers the provider types.
	Apps      []identity.Application
	Providers []string
}

func (c *Console) ssoListPage(w http.ResponseWriter, q *request, status int, v view) error {
	o, err := q.svc.GetOrganization(q.ctx(), q.r.PathValue("org"))
	if err != nil {
		return err
	}
	n, _ := strconv.Atoi(q.r.URL.Query().Get("page"))
	p, err := c.sso.ListConnections(q.ctx(), q.svc, o.Domain, nil, identity.PageRequest{Page: n, PerPage: 20})
	if err != nil {
		return err
	}
	d := ssoListData{Org: o, Page: p.Page, Pages: p.TotalPages(), Providers: sso.ProviderTypes()}
	for _, x := range p.Items {
		d.Conns = append(d.Conns, c.ssoRow(x))
	}
	if q.can(create, ssoConns) {
		apps, err := q.svc.ListApplications(q.ctx(), o.Domain, identity.PageRequest{PerPage: identity.MaxPerPage})
		if err != nil {
			return err
		}
		for _, a := range apps.Items {
			if a.ApplicationType != identity.AppMachine {
				d.Apps = append(d.Apps, a)
			}
		}
	}
	v.Title, v.Data = "sso.title", d
	if v.Form == nil {
		v.Form = url.Values{"provider_type": {sso.ProviderUnset}}
	}
	if v.Notice == "" {
		v.Notice = notice(q)
	}
	c.page(w, q, status, "sso", v)
	return nil
}

func (c *Console) ssoList(w http.ResponseWriter, q *request) error {
	return c.ssoListPage(w, q, http.StatusOK, view{})
}

// ssoCreate creates a connection with its onboarding, and mails the setup
// link when asked.
func (c *Console) ssoCreate(w http.ResponseWriter, q *request) error {
	o, err := q.svc.GetOrganization(q.ctx(), q.r.PathValue("org"))
	if err != nil {
		return err
	}
	f := q.r.PostForm
	in := sso.CreateInput{OrgDomain: o.Domain, ApplicationID: strings.TrimSpace(f.Get("application_id")),
		ProviderType: f.Get("provider_type"), SSOAdminEmail: strings.TrimSpace(f.Get("sso_admin_email")),
		SendEmail: f.Get("send_email") == "on"}
	d, err := c.sso.CreateConnection(q.ctx(), q.svc, in)
	if d != nil {
		// Created; only the invitation may have failed.
		done := "sso.created"
		if err != nil {
			c.log.Warn("admin console: sso invitation not sent", "org", o.Domain, "idp_id", d.Connection.ID, "err", err)
			done = "sso.created.notsent"
		} else if in.SendEmail {
			done = "sso.created.sent"
		}
		return c.redirect(w, q, ssoPath(o.Domain, d.Connection.ID)+"?done="+done)
	}
	errs, ok := fieldErrors(err)
	if !ok && errors.Is(err, identity.ErrNotFound) {
		// The organization was found above: what is unknown is the
		// application (or it is another organization's).
		errs, ok = map[string]string{"application_id": "is not an application of this organization"}, true
	}
	if ok {
		return c.ssoListPage(w, q, http.StatusUnprocessableEntity, view{Errors: errs, Form: f})
	}
	return err
}

func ssoPath(domain, idpID string) string {
	return "/orgs/" + url.PathEscape(domain) + "/sso/" + url.PathEscape(idpID)
}

// ssoData is a connection's page.
type ssoData struct {
	Org  *identity.Organization
	Conn ssoRow
	// Link is a setup link just created (shown on this answer only).
	Link string
	// Policies are the user policies a connection may have.
	Policies []string
}

// ssoForm fills the settings form from a connection.
func ssoForm(c *sso.Connection) url.Values {
	f := url.Values{"seats_limit": {strconv.Itoa(c.SeatsLimit)}, "user_security_type": {c.UserSecurityType}}
	if c.Active {
		f.Set("active", "on")
	}
	return f
}

// ssoUpdate changes a connection's state, seats and user policy through
// the SSO service (which needs update:sso_connections and the
// organization in the member's scope). Bad input answers the page with
// the field's message and changes nothing.
func (c *Console) ssoUpdate(w http.ResponseWriter, q *request) error {
	d, err := c.loadConnection(q)
	if err != nil {
		return err
	}
	f := q.r.PostForm
	active := f.Get("active") == "on"
	policy := f.Get("user_security_type")
	u := sso.Update{Active: &active, UserSecurityType: &policy}
	seats := strings.TrimSpace(f.Get("seats_limit"))
	if seats == "" {
		seats = "0"
	}
	n, err := strconv.Atoi(seats)
	if err != nil {
		// Not a number: nothing is sent to the service (which checks the
		// range and the policy), so nothing changes.
		c.ssoPage(w, q, http.StatusUnprocessableEntity, d, view{Form: f,
			Errors: map[string]string{"seats_limit": "must be a whole number (0 for no limit)"}})
		return nil
	}
	u.SeatsLimit = &n
	_, err = c.sso.UpdateConnection(q.ctx(), q.svc, d.Conn.Connection.ID, u)
	if errs, ok := fieldErrors(err); ok {
		c.ssoPage(w, q, http.StatusUnprocessableEntity, d, view{Errors: errs, Form: f})
		return nil
	} else if err != nil {
		return err
	}
	return c.redirect(w, q, ssoPath(d.Org.Domain, d.Conn.Connection.ID)+"?done=sso.saved")
}

// loadConnection reads the organization and the connection of the path:
// another organization's connection is not found, as an unknown one.
func (c *Console) loadConnection(q *request) (*ssoData, error) {
	o, err := q.svc.GetOrganization(q.ctx(), q.r.PathValue("org"))
	if err != nil {
		return nil, err
	}
	d, err := c.sso.GetConnection(q.ctx(), q.svc, q.r.PathValue("idp"))
	if err != nil {
		return nil, err
	}
	if d.Connection.OrgDomain != o.Domain {
		return nil, fmt.Errorf("sso connection: %w", identity.ErrNotFound)
	}
	return &ssoData{Org: o, Conn: c.ssoRow(*d)}, nil
}

func (c *Console) ssoPage(w http.ResponseWriter, q *request, status int, d *ssoData, v view) {
	v.Title, v.Data = "sso.connection", d
	d.Policies = sso.UserSecurityTypes()
	// The page has two forms: the one posted keeps what was typed, the
	// other shows what is stored.
	form := url.Values{}
	for k, vs := range v.Form {
		form[k] = vs
	}
	if _, posted := form["seats_limit"]; !posted {
		for k, vs := range ssoForm(&d.Conn.Connection) {
			form[k] = vs
		}
	}
	if _, posted := form["sso_admin_email"]; !posted && d.Conn.Onboarding != nil {
		form.Set("sso_admin_email", d.Conn.Onboarding.SSOAdminEmail)
	}
	v.Form = form
	if v.Notice == "" {
		v.Notice = notice(q)
	}
	c.page(w, q, status, "sso_conn", v)
}

func (c *Console) ssoShow(w http.ResponseWriter, q *request) error {
	d, err := c.loadConnection(q)
	if err != nil {
		return err
	}
	c.ssoPage(w, q, http.StatusOK, d, view{})
	return nil
}

// ssoOnboarding creates (or starts over) the connection's onboarding for
// an IT administrator, and mails the setup link when asked.
func (c *Console) ssoOnboarding(w http.ResponseWriter, q *request) error {
	d, err := c.loadConnection(q)
	if err != nil {
		return err
	}
	f := q.r.PostForm
	email := strings.TrimSpace(f.Get("sso_admin_email"))
	_, err = c.sso.CreateOnboarding(q.ctx(), q.svc, d.Conn.Connection.ID, sso.OnboardingInput{SSOAdminEmail: &email})
	if errs, ok := fieldErrors(err); ok {
		c.ssoPage(w, q, http.StatusUnprocessableEntity, d, view{Errors: errs, Form: f})
		return nil
	} else if err != nil {
		return err
	}
	if f.Get("send_email") == "on" {
		return c.ssoSend(w, q, d)
	}
	return c.redirect(w, q, ssoPath(d.Org.Domain, d.Conn.Connection.ID)+"?done=sso.onboarding.created")
}

// ssoSetupLink creates a setup link and shows it once, to copy.
func (c *Console) ssoSetupLink(w http.ResponseWriter, q *request) error {
	d, err := c.loadConnection(q)
	if err != nil {
		return err
	}
	if d.Conn.Onboarding == nil {
		c.page(w, q, http.StatusConflict, "message", view{Title: "error.conflict", Message: "sso.onboarding.none"})
		return nil
	}
	link, err := c.sso.NewSetupLink(q.ctx(), q.svc, d.Conn.Connection.ID)
	if err != nil {
		return err
	}
	d.Link = link
	// The link is shown on this answer only (no-store): no redirect.
	c.ssoPage(w, q, http.StatusOK, d, view{Notice: "sso.link.created"})
	return nil
}

// ssoInvite mails the administrator a new setup link.
func (c *Console) ssoInvite(w http.ResponseWriter, q *request) error {
	d, err := c.loadConnection(q)
	if err != nil {
		return err
	}
	return c.ssoSend(w, q, d)
}

func (c *Console) ssoSend(w http.ResponseWriter, q *request, d *ssoData) error {
	if d.Conn.Onboarding == nil {
		c.page(w, q, http.StatusConflict, "message", view{Title: "error.conflict", Message: "sso.onboarding.none"})
		return nil
	}
	_, err := c.sso.SendInvitation(q.ctx(), q.svc, d.Conn.Connection.ID)
	switch {
	case errors.Is(err, sso.ErrNoMailer):
		c.page(w, q, http.StatusConflict, "message", view{Title: "error.conflict", Message: "sso.nomailer"})
		return nil
	case errors.Is(err, identity.ErrInvalid):
		c.page(w, q, http.StatusUnprocessableEntity, "message", view{Title: "error.bad", Message: "sso.noemail"})
		return nil
	case err != nil:
		return err
	}
	return c.redirect(w, q, ssoPath(d.Org.Domain, d.Conn.Connection.ID)+"?done=sso.invited")
}

// *sso.Service is the implementation the root package wires.
var _ SSOConnections = (*sso.Service)(nil)

// SSO reports whether the console shows SSO connections.
func (v *view) SSO() bool { return v.c.sso != nil }

// expiryView is a connection's metadata expiry in a page (the "expiry"
// template).
type expiryView struct {
	V *view
	R ssoRow
}
