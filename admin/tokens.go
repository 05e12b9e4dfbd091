package admin

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/profile"
)

// Crafter access tokens, in the API keys section (owners over every
// organization): listed without their secret id, created (the id shown
// once), revoked, through the Crafter face's rules (master only).

// tokenActions are the tenant actions the token form offers ("*": every
// action).
var tokenActions = []string{"*", profile.ActionReadTenant, profile.ActionUpdateTenant, profile.ActionCreateTenant,
	profile.ActionDeleteTenant, profile.ActionManageProfiles, profile.ActionManageTickets}

func (c *Console) tokenRoutes(m *patternMux) {
	if c.crafter == nil {
		return
	}
	m.HandleFunc("POST /keys/tokens", c.signedIn(create, keys, c.tokenCreate))
	m.HandleFunc("POST /keys/tokens/{id}/revoke", c.signedIn(del, keys, c.tokenRevoke))
}

// tokensInto adds the environment's access tokens, the form's rows and
// choices to d, and takes out of d.Keys the pure access tokens: those that
// keep their secret and hold no Cryptr permission. A credential that is
// both (the example server's bootstrap master) stays in both lists.
func (c *Console) tokensInto(q *request, d *keysData, v *view) error {
	list, err := c.crafter.AllAccessTokens(q.ctx(), c.crafter.CredentialFor(q.svc))
	if err != nil {
		return crafterErr(err)
	}
	d.Crafter, d.Tokens, d.TokenActions = true, list, tokenActions
	d.Keys = slices.DeleteFunc(d.Keys, func(k identity.Credential) bool { return k.Secret != "" && len(k.Permissions) == 0 })
	n := 3
	for i := 0; i < maxRows; i++ {
		if v.Form.Get("tenant_"+strconv.Itoa(i)) != "" {
			n = max(n, i+2)
		}
	}
	for i := range min(n, maxRows) {
		d.TokenRows = append(d.TokenRows, i)
	}
	return nil
}

// tokenCreate creates an access token of the environment the console
// acts in and shows its id (the secret a client sends) once.
func (c *Console) tokenCreate(w http.ResponseWriter, q *request) error {
	f := q.r.PostForm
	errs := map[string]string{}
	in := profile.AccessToken{Application: strings.TrimSpace(f.Get("application")), Master: f.Get("master") == "on"}
	if in.Application == "" {
		errs["application"] = "is required"
	}
	if e := strings.TrimSpace(f.Get("expires_on")); e != "" {
		t, err := time.Parse(time.DateOnly, e)
		switch {
		case err != nil:
			errs["expires_on"] = "must be a date (YYYY-MM-DD)"
		case !t.After(c.svc.Now()):
			errs["expires_on"] = "must be a future date"
		default:
			ms := t.UnixMilli()
			in.ExpiresOn = &ms
		}
	}
	for i := 0; i < maxRows; i++ {
		s := strconv.Itoa(i)
		tenant, acts := strings.TrimSpace(f.Get("tenant_"+s)), f["actions_"+s]
		if tenant == "" && len(acts) == 0 {
			continue
		}
		if _, ok := profile.TenantDomain(tenant); tenant != "*" && !ok {
			errs["tenant_"+s] = "must be a tenant name, or * for every tenant"
			continue
		}
		p := profile.TenantPermission{Tenant: tenant, AllowedActions: []string{}}
		for _, a := range acts {
			if !slices.Contains(tokenActions, a) {
				errs["tenant_"+s] = "unknown action " + a
			} else if !slices.Contains(p.AllowedActions, a) {
				p.AllowedActions = append(p.AllowedActions, a)
			}
		}
		if len(p.AllowedActions) == 0 && errs["tenant_"+s] == "" {
			errs["tenant_"+s] = "choose at least one action"
		}
		in.TenantPermissions = append(in.TenantPermissions, p)
	}
	if len(in.TenantPermissions) == 0 && !in.Master && errs["tenant_0"] == "" {
		errs["tenant_0"] = "give at least one tenant permission, or make the token master"
	}
	if len(errs) > 0 {
		return c.keysPage(w, q, http.StatusUnprocessableEntity, view{Errors: errs, Form: f})
	}
	tok, err := c.crafter.CreateAccessToken(q.ctx(), c.crafter.CredentialFor(q.svc), in)
	if _, msg, ok := crafterField(err); ok {
		return c.keysPage(w, q, http.StatusUnprocessableEntity, view{Errors: map[string]string{"application": msg}, Form: f})
	} else if err != nil {
		return crafterErr(err)
	}
	return c.keysPage(w, q, http.StatusCreated, view{Notice: "tokens.created", Data: keysData{NewToken: tok}})
}

// tokenRevoke deletes an access token of the environment the console
// acts in, named by its credential id (never its secret id).
func (c *Console) tokenRevoke(w http.ResponseWriter, q *request) error {
	if err := c.crafter.RevokeAccessToken(q.ctx(), c.crafter.CredentialFor(q.svc), q.r.PathValue("id")); err != nil {
		return crafterErr(err)
	}
	return c.redirect(w, q, "/keys?done=tokens.revoked")
}

// Expires renders a token's expiry day ("" for none).
func (d keysData) Expires(t profile.AccessToken) string {
	if t.ExpiresOn == nil {
		return ""
	}
	return time.UnixMilli(*t.ExpiresOn).UTC().Format(time.DateOnly)
}

// TokenChecked reports whether the token form's row i allows action.
func (v *view) TokenChecked(i int, action string) bool {
	return slices.Contains(v.Form["actions_"+strconv.Itoa(i)], action)
}
