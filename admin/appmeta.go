package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// metakeys is the resource of MetaKeys in console permissions (Cryptr's
// user_metakeys, which the core enforces).
const metakeys = identity.ResourceUserMetaKeys

// JWTSamples builds the JWT samples the application page shows: the
// claims an access token and an ID token of the application carry.
// *tokens.Service (package tokens) implements it with the issuer's own
// claim code (tokens.Service.JWTSample), so the page cannot drift from
// what sign-ins get.
type JWTSamples interface {
	JWTSample(ctx context.Context, req tokens.SampleRequest) (*tokens.JWTSample, error)
}

var _ JWTSamples = (*tokens.Service)(nil)

// appExtras is what the application page shows beside the settings: the
// organization's MetaKeys and the JWT sample.
type appExtras struct {
	MetaKeys []identity.AttributeDefinition
	Types    []string
	// Sample is nil without Options.JWTSamples.
	Sample *sampleView
}

// sampleView is a JWT sample as the page shows it.
type sampleView struct {
	// User is the user the sample is for (nil: no user was chosen, and
	// resource_owner_metadata describes the MetaKeys instead of values).
	User *identity.User
	// Alg is the signing algorithm of the application's tokens.
	Alg        string
	Access, ID []claimRow
	AccessJSON string
	IDJSON     string
	// Failed reports that the sample could not be built (the host's
	// ClaimsUpdater failed, for one); the reason is logged.
	Failed bool
}

// claimRow is one decoded claim: its name, its JSON value and, for a
// time, the date it stands for.
type claimRow struct {
	Name, Value, Time string
}

// claimRows decodes claims into rows sorted by name, and indented JSON.
func claimRows(c *tokens.Claims) ([]claimRow, string, error) {
	b, err := c.MarshalJSON()
	if err != nil {
		return nil, "", err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, "", fmt.Errorf("sample claims: %w", err)
	}
	rows := make([]claimRow, 0, len(m))
	for k, v := range m {
		r := claimRow{Name: k, Value: string(v)}
		switch k {
		case "iat", "exp", "auth_time", "updated_at":
			var n int64
			if json.Unmarshal(v, &n) == nil && n > 0 {
				r.Time = time.Unix(n, 0).UTC().Format("2006-01-02 15:04:05") + " UTC"
			}
		}
		if len(v) > 0 && v[0] == '{' {
			var ind bytes.Buffer
			if json.Indent(&ind, v, "", "  ") == nil {
				r.Value = ind.String()
			}
		}
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
	var ind bytes.Buffer
	if err := json.Indent(&ind, b, "", "  "); err != nil {
		return nil, "", fmt.Errorf("sample claims: %w", err)
	}
	return rows, ind.String(), nil
}

// loadExtras reads the MetaKeys and builds the sample of the
// application (for the user whose email is sampleUser, if any). A
// sampleUser that names no user of the organization is a field message
// ("sample_user").
func (c *Console) loadExtras(q *request, d *appData, sampleUser string) (map[string]string, error) {
	keys, err := q.svc.ListMetaKeys(q.ctx(), d.Org.Domain)
	if err != nil {
		return nil, err
	}
	d.Extras = &appExtras{MetaKeys: keys, Types: identity.MetaKeyTypes()}
	if c.samples == nil || d.App == nil {
		return nil, nil
	}
	var errs map[string]string
	req := tokens.SampleRequest{Env: q.env, OrgDomain: d.Org.Domain, App: d.App}
	if sampleUser != "" {
		u, err := q.svc.GetUserByEmail(q.ctx(), d.Org.Domain, sampleUser)
		switch {
		case err == nil:
			req.User = u
		case errors.Is(err, identity.ErrNotFound) || errors.Is(err, identity.ErrInvalid):
			errs = map[string]string{"sample_user": "is not the email of a user of this organization"}
		default:
			return nil, err
		}
	}
	v := &sampleView{User: req.User, Alg: d.App.SigningAlg}
	if v.Alg == "" {
		v.Alg = "RS256"
	}
	d.Extras.Sample = v
	s, err := c.samples.JWTSample(q.ctx(), req)
	if err != nil {
		// The host's ClaimsUpdater may refuse (it runs as for a real
		// token): the page says so, the reason goes to the log.
		c.log.Warn("admin console: the JWT sample could not be built", "org", d.Org.Domain,
			"client_id", d.App.ClientID, "err", err)
		v.Failed = true
		return errs, nil
	}
	if v.Access, v.AccessJSON, err = claimRows(s.AccessTokenClaims); err != nil {
		return nil, err
	}
	if v.ID, v.IDJSON, err = claimRows(s.IDTokenClaims); err != nil {
		return nil, err
	}
	return errs, nil
}

// appPage renders the application page with its MetaKeys and sample.
func (c *Console) appPage(w http.ResponseWriter, q *request, status int, d *appData, v view) error {
	sampleUser := strings.TrimSpace(q.r.URL.Query().Get("sample_user"))
	errs, err := c.loadExtras(q, d, sampleUser)
	if err != nil {
		return err
	}
	if v.Form == nil {
		v.Form = appForm(d.App)
	}
	if sampleUser != "" {
		v.Form.Set("sample_user", sampleUser)
	}
	if errs != nil {
		if v.Errors == nil {
			v.Errors = map[string]string{}
		}
		for k, e := range errs {
			v.Errors[k] = e
		}
		if status == http.StatusOK {
			status = http.StatusBadRequest
		}
	}
	v.Title, v.Data = "apps.settings", d
	c.page(w, q, status, "app", v)
	return nil
}

// loadApp reads the organization and the application of the path.
func (c *Console) loadApp(q *request) (*appData, error) {
	a, err := q.svc.GetApplication(q.ctx(), q.r.PathValue("org"), q.r.PathValue("client"))
	if err != nil {
		return nil, err
	}
	return c.appData(q, a)
}

func appPath(domain, clientID string) string {
	return "/orgs/" + url.PathEscape(domain) + "/apps/" + url.PathEscape(clientID)
}

// metaKeyCreate adds a MetaKey to the application's organization (name,
// type, required) through the core, which checks the name, the type and
// the member's permission.
func (c *Console) metaKeyCreate(w http.ResponseWriter, q *request) error {
	d, err := c.loadApp(q)
	if err != nil {
		return err
	}
	f := q.r.PostForm
	_, err = q.svc.CreateMetaKey(q.ctx(), d.Org.Domain, f.Get("metakey_name"), f.Get("metakey_type"), f.Get("metakey_required") == "on")
	var errs map[string]string
	status := http.StatusUnprocessableEntity
	if fe, ok := fieldErrors(err); ok {
		errs = map[string]string{}
		for k, v := range fe {
			errs["metakey_"+k] = v
		}
	} else if identity.ConflictField(err) == "name" {
		errs, status = map[string]string{"metakey_name": "a MetaKey with this name already exists"}, http.StatusConflict
	} else if err != nil {
		return err
	}
	if errs != nil {
		form := appForm(d.App)
		for _, k := range []string{"metakey_name", "metakey_type", "metakey_required"} {
			form.Set(k, f.Get(k))
		}
		return c.appPage(w, q, status, d, view{Errors: errs, Form: form})
	}
	return c.redirect(w, q, appPath(d.Org.Domain, d.App.ClientID)+"?done=metakeys.created#metakeys")
}

// metaKeyDelete removes a MetaKey, and its value from every user of the
// organization, after a confirmation page.
func (c *Console) metaKeyDelete(w http.ResponseWriter, q *request) error {
	d, err := c.loadApp(q)
	if err != nil {
		return err
	}
	name := q.r.PostForm.Get("metakey_name")
	keys, err := q.svc.ListMetaKeys(q.ctx(), d.Org.Domain)
	if err != nil {
		return err
	}
	var key *identity.AttributeDefinition
	for i := range keys {
		if keys[i].Name == name {
			key = &keys[i]
		}
	}
	if key == nil {
		c.page(w, q, http.StatusNotFound, "message", view{Title: "error.notfound", Message: "error.notfound.text"})
		return nil
	}
	if q.r.PostForm.Get("confirm") != "yes" {
		d.Extras = &appExtras{MetaKeys: []identity.AttributeDefinition{*key}}
		c.page(w, q, http.StatusOK, "metakey_delete", view{Title: "metakeys.delete.title", Data: d})
		return nil
	}
	if _, err := q.svc.DeleteMetaKey(q.ctx(), d.Org.Domain, name); err != nil {
		return err
	}
	return c.redirect(w, q, appPath(d.Org.Domain, d.App.ClientID)+"?done=metakeys.deleted#metakeys")
}

// Samples reports whether the application page shows a JWT sample.
func (v *view) Samples() bool { return v.c.samples != nil }

// tokenView is one token of a sample (the template's loop).
type tokenView struct {
	ID, Title string
	Rows      []claimRow
	JSON      string
}

// Tokens lists the access token and the ID token of the sample.
func (s *sampleView) Tokens() []tokenView {
	return []tokenView{{ID: "access", Title: "sample.access", Rows: s.Access, JSON: s.AccessJSON},
		{ID: "id", Title: "sample.id", Rows: s.ID, JSON: s.IDJSON}}
}
