package admin

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
)

// Action and resource names of the route table (identity.ConsoleRole
// answers them).
const (
	read   = identity.ActionRead
	create = identity.ActionCreate
	update = identity.ActionUpdate
	del    = identity.ActionDelete
	orgs   = identity.ResourceOrganizations
	users  = "users"
	events = "log_events"
)

func (c *Console) routes() {
	m := &patternMux{ServeMux: http.NewServeMux()}
	m.HandleFunc("GET /{$}", c.signedIn(read, orgs, c.home))
	m.HandleFunc("GET /login", c.public(c.login))
	m.HandleFunc("GET /callback", c.public(c.callback))
	m.HandleFunc("POST /logout", c.signedIn("", "", c.logout))
	m.HandleFunc("GET /setup", c.public(c.setupForm))
	m.HandleFunc("POST /setup", c.public(c.setup))
	m.HandleFunc("GET /lang", c.public(c.switchLang))
	m.HandleFunc("POST /env", c.signedIn("", "", c.switchEnv))

	m.HandleFunc("GET /orgs", c.signedIn(read, orgs, c.orgList))
	m.HandleFunc("GET /orgs/new", c.signedIn(create, orgs, c.orgNew))
	m.HandleFunc("POST /orgs", c.signedIn(create, orgs, c.orgCreate))
	m.HandleFunc("GET /orgs/{org}", c.signedIn(read, orgs, c.orgShow))
	m.HandleFunc("POST /orgs/{org}", c.signedIn(update, orgs, c.orgUpdate))

	m.HandleFunc("GET /orgs/{org}/users", c.signedIn(read, users, c.userList))
	m.HandleFunc("GET /orgs/{org}/users/new", c.signedIn(create, users, c.userNew))
	m.HandleFunc("POST /orgs/{org}/users", c.signedIn(create, users, c.userCreate))
	m.HandleFunc("GET /orgs/{org}/users/{id}", c.signedIn(read, users, c.userShow))
	m.HandleFunc("POST /orgs/{org}/users/{id}", c.signedIn(update, users, c.userUpdate))
	m.HandleFunc("POST /orgs/{org}/users/{id}/metadata", c.signedIn(update, users, c.userMetadata))
	m.HandleFunc("POST /orgs/{org}/users/{id}/enable", c.signedIn(update, users, c.userEnable(true)))
	m.HandleFunc("POST /orgs/{org}/users/{id}/disable", c.signedIn(update, users, c.userEnable(false)))
	m.HandleFunc("POST /orgs/{org}/users/{id}/unlock", c.signedIn(update, users, c.userUnlock))
	m.HandleFunc("POST /orgs/{org}/users/{id}/end-sessions", c.signedIn(update, users, c.userEndSessions))
	m.HandleFunc("POST /orgs/{org}/users/{id}/reset-password", c.signedIn(update, users, c.userResetPassword))
	m.HandleFunc("POST /orgs/{org}/users/{id}/invite", c.signedIn(update, users, c.userInvite))
	m.HandleFunc("GET /orgs/{org}/users/{id}/delete", c.signedIn(del, users, c.userDeleteConfirm))
	m.HandleFunc("POST /orgs/{org}/users/{id}/delete", c.signedIn(del, users, c.userDelete))

	m.HandleFunc("GET /orgs/{org}/apps", c.signedIn(read, apps, c.appList))
	m.HandleFunc("GET /orgs/{org}/apps/new", c.signedIn(create, apps, c.appNew))
	m.HandleFunc("POST /orgs/{org}/apps", c.signedIn(create, apps, c.appCreate))
	m.HandleFunc("GET /orgs/{org}/apps/{client}", c.signedIn(read, apps, c.appShow))
	m.HandleFunc("POST /orgs/{org}/apps/{client}", c.signedIn(update, apps, c.appUpdate))
	m.HandleFunc("POST /orgs/{org}/apps/{client}/rotate", c.signedIn(update, apps, c.appRotate))
	m.HandleFunc("GET /orgs/{org}/apps/{client}/delete", c.signedIn(del, apps, c.appDeleteConfirm))
	m.HandleFunc("POST /orgs/{org}/apps/{client}/delete", c.signedIn(del, apps, c.appDelete))
	m.HandleFunc("POST /orgs/{org}/apps/{client}/metakeys", c.signedIn(create, metakeys, c.metaKeyCreate))
	m.HandleFunc("POST /orgs/{org}/apps/{client}/metakeys/delete", c.signedIn(del, metakeys, c.metaKeyDelete))

	m.HandleFunc("GET /keys", c.signedIn(read, keys, c.keyList))
	m.HandleFunc("POST /keys", c.signedIn(create, keys, c.keyCreate))
	m.HandleFunc("POST /keys/{id}/revoke", c.signedIn(del, keys, c.keyRevoke))

	m.HandleFunc("GET /members", c.signedIn(read, members, c.memberList))
	m.HandleFunc("POST /members", c.signedIn(create, members, c.memberGrant))
	m.HandleFunc("POST /members/{id}/revoke", c.signedIn(del, members, c.memberRevoke))

	c.ssoRoutes(m)
	c.tenantRoutes(m)
	c.tokenRoutes(m)

	m.HandleFunc("GET /orgs/{org}/events", c.signedIn(read, events, c.eventList))
	m.HandleFunc("GET /orgs/{org}/events.csv", c.signedIn(read, events, c.eventCSV))

	m.HandleFunc("/", c.public(func(w http.ResponseWriter, q *request) error {
		c.page(w, q, http.StatusNotFound, "message", view{Title: "error.notfound", Message: "error.notfound.text"})
		return nil
	}))
	c.mux, c.patterns = m.ServeMux, m.patterns
}

// patternMux is a ServeMux that remembers its patterns (Patterns).
type patternMux struct {
	*http.ServeMux
	patterns []string
}

func (m *patternMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.HandleFunc(pattern, h)
}

// Patterns lists the console's routes ("GET /orgs/{org}/users", ...), as
// they are matched after the host strips the console's prefix, so a test
// can hold every route to a case.
func (c *Console) Patterns() []string { return slices.Clone(c.patterns) }

// orgListData is the organization list.
type orgListData struct {
	Query string
	Orgs  []identity.Organization
	// Page numbers when listing, a cursor when searching.
	Page, Pages int
	Total       int
	Next        string
}

func (c *Console) orgList(w http.ResponseWriter, q *request) error {
	qs := q.r.URL.Query()
	d := orgListData{Query: strings.TrimSpace(qs.Get("q"))}
	if d.Query != "" {
		p, err := q.svc.SearchOrganizations(q.ctx(), identity.OrgSearch{Query: d.Query, After: qs.Get("after"), Limit: 20})
		if errs, ok := fieldErrors(err); ok {
			c.page(w, q, http.StatusBadRequest, "orgs", view{Title: "orgs.title", Errors: errs, Data: d})
			return nil
		} else if err != nil {
			return err
		}
		d.Orgs, d.Next = p.Orgs, p.Next
	} else {
		n, _ := strconv.Atoi(qs.Get("page"))
		p, err := q.svc.ListOrganizations(q.ctx(), identity.PageRequest{Page: n, PerPage: 20})
		if err != nil {
			return err
		}
		d.Orgs, d.Page, d.Pages, d.Total = p.Items, p.Page, p.TotalPages(), p.Total
	}
	c.page(w, q, http.StatusOK, "orgs", view{Title: "orgs.title", Data: d})
	return nil
}

func (c *Console) orgNew(w http.ResponseWriter, q *request) error {
	c.page(w, q, http.StatusOK, "org_form", view{Title: "orgs.new", Form: url.Values{}, Data: (*identity.Organization)(nil)})
	return nil
}

// orgInput reads the organization form.
func orgInput(f url.Values, creating bool) identity.OrganizationInput {
	str := func(k string) *string { v := f.Get(k); return &v }
	var domains []string
	for _, d := range strings.FieldsFunc(f.Get("allowed_email_domains"), func(r rune) bool {
		return r == '\n' || r == '\r' || r == ',' || r == ' ' || r == '\t'
	}) {
		domains = append(domains, d)
	}
	open := f.Get("open_signup") == "on"
	in := identity.OrganizationInput{Name: str("name"), Locality: str("locality"), State: str("state"),
		CountryName: str("country_name"), PrivacyPolicyURL: str("privacy_policy_url"),
		TermsOfServiceURL: str("terms_of_service_url"), AllowedEmailDomains: &domains, OpenSignup: &open}
	if creating && f.Get("name") == "" {
		in.Name = nil
	}
	if place := strings.TrimSpace(f.Get("autocomplete_address")); place != "" {
		// The core fills city, state and country from the place name.
		in.AutocompleteAddress = &place
		in.Locality, in.State, in.CountryName = nil, nil, nil
	}
	return in
}

func (c *Console) orgCreate(w http.ResponseWriter, q *request) error {
	f := q.r.PostForm
	o, err := q.svc.CreateOrganization(q.ctx(), orgInput(f, true))
	if errs, ok := fieldErrors(err); ok {
		c.page(w, q, http.StatusUnprocessableEntity, "org_form", view{Title: "orgs.new", Errors: errs, Form: f,
			Data: (*identity.Organization)(nil)})
		return nil
	}
	if isConflict(err) {
		c.page(w, q, http.StatusConflict, "org_form", view{Title: "orgs.new", Form: f, Data: (*identity.Organization)(nil),
			Errors: map[string]string{"name": "an organization with this domain already exists"}})
		return nil
	}
	if err != nil {
		return err
	}
	return c.redirect(w, q, "/orgs/"+url.PathEscape(o.Domain)+"?done=orgs.created")
}

func (c *Console) orgShow(w http.ResponseWriter, q *request) error {
	o, err := q.svc.GetOrganization(q.ctx(), q.r.PathValue("org"))
	if err != nil {
		return err
	}
	c.page(w, q, http.StatusOK, "org_form", view{Title: "orgs.settings", Form: orgForm(o), Data: o, Notice: notice(q)})
	return nil
}

// orgForm fills the form from an organization.
func orgForm(o *identity.Organization) url.Values {
	f := url.Values{}
	f.Set("name", o.Name)
	f.Set("locality", o.Locality)
	f.Set("state", o.State)
	f.Set("country_name", o.CountryName)
	f.Set("privacy_policy_url", o.PrivacyPolicyURL)
	f.Set("terms_of_service_url", o.TermsOfServiceURL)
	f.Set("allowed_email_domains", strings.Join(o.AllowedEmailDomains, "\n"))
	if o.OpenSignup {
		f.Set("open_signup", "on")
	}
	return f
}

func (c *Console) orgUpdate(w http.ResponseWriter, q *request) error {
	domain := q.r.PathValue("org")
	f := q.r.PostForm
	o, err := q.svc.UpdateOrganization(q.ctx(), domain, orgInput(f, false))
	if errs, ok := fieldErrors(err); ok {
		cur, gerr := q.svc.GetOrganization(q.ctx(), domain)
		if gerr != nil {
			return gerr
		}
		c.page(w, q, http.StatusUnprocessableEntity, "org_form", view{Title: "orgs.settings", Errors: errs, Form: f, Data: cur})
		return nil
	}
	if err != nil {
		return err
	}
	return c.redirect(w, q, "/orgs/"+url.PathEscape(o.Domain)+"?done=orgs.saved")
}

// notice returns the message key of a change just made ("done"), when it
// is one of the console's.
func notice(q *request) string {
	k := q.r.URL.Query().Get("done")
	if _, ok := catalog["en"][k]; ok && strings.Contains(k, ".") {
		return k
	}
	return ""
}
