package admin

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/profile"
)

const keys = identity.ResourceAPIKeys

// API key access levels the console offers.
var keyAccess = map[string][]string{
	"full":     {identity.PermAll},
	"readonly": {identity.ActionRead + ":*", identity.ActionReadMany + ":*"},
}

// keysData is the API keys page.
type keysData struct {
	Keys []identity.Credential
	// New is the key just created, with its secret (shown once).
	New    *identity.Credential
	Secret string
	// Crafter access tokens (Options.Crafter): Crafter is set when the
	// section is shown; NewToken is the token just created, with its id
	// (shown once); TokenRows and TokenActions shape the creation form.
	Crafter      bool
	Tokens       []profile.AccessToken
	NewToken     *profile.AccessToken
	TokenRows    []int
	TokenActions []string
}

func (c *Console) keysPage(w http.ResponseWriter, q *request, status int, v view) error {
	list, err := q.svc.ListCredentials(q.ctx())
	if err != nil {
		return err
	}
	d, _ := v.Data.(keysData)
	d.Keys = list
	if v.Form == nil {
		v.Form = url.Values{"access": {"readonly"}}
	}
	if c.crafter != nil {
		if err := c.tokensInto(q, &d, &v); err != nil {
			return err
		}
	}
	v.Title, v.Data = "keys.title", d
	if v.Notice == "" {
		v.Notice = notice(q)
	}
	c.page(w, q, status, "keys", v)
	return nil
}

func (c *Console) keyList(w http.ResponseWriter, q *request) error {
	return c.keysPage(w, q, http.StatusOK, view{})
}

// keyCreate creates an API key of the environment the console acts in and
// shows its secret once.
func (c *Console) keyCreate(w http.ResponseWriter, q *request) error {
	f := q.r.PostForm
	errs := map[string]string{}
	name := strings.TrimSpace(f.Get("name"))
	if name == "" {
		errs["name"] = "is required"
	}
	perms, ok := keyAccess[f.Get("access")]
	if !ok {
		errs["access"] = "must be full or readonly"
	}
	orgs := lines(f.Get("orgs"))
	if len(orgs) == 0 {
		orgs = []string{identity.AllOrgs}
	}
	for _, d := range orgs {
		if d != identity.AllOrgs && identity.CheckDomain(d) != "" {
			errs["orgs"] = "must be organization domains, or * for every organization: " + d
		}
	}
	if len(errs) > 0 {
		return c.keysPage(w, q, http.StatusUnprocessableEntity, view{Errors: errs, Form: f})
	}
	cred, secret, err := q.svc.CreateCredential(q.ctx(), identity.Credential{Name: name, Permissions: perms,
		ManagedOrgs: orgs, Environment: q.env}, "")
	if e, ok := fieldErrors(err); ok {
		return c.keysPage(w, q, http.StatusUnprocessableEntity, view{Errors: e, Form: f})
	} else if err != nil {
		return err
	}
	return c.keysPage(w, q, http.StatusCreated, view{Notice: "keys.created", Data: keysData{New: cred, Secret: secret}})
}

// keyRevoke deletes an API key of the environment the console acts in.
func (c *Console) keyRevoke(w http.ResponseWriter, q *request) error {
	id := q.r.PathValue("id")
	// An unknown id (or another environment's) is a 404, not a silent
	// success as DeleteCredential's Crafter rule would answer.
	if _, err := q.svc.GetCredential(q.ctx(), id); err != nil {
		return err
	}
	if err := q.svc.DeleteCredential(q.ctx(), id); err != nil {
		return err
	}
	return c.redirect(w, q, "/keys?done=keys.revoked")
}
