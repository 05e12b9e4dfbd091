package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/profile"
)

// tenantsRes is the resource of Crafter tenant settings in console
// permissions (the one profile.Service.CredentialFor maps to Crafter's
// tenant actions).
const tenantsRes = profile.Resource

// CrafterProfile is what the console needs of the Crafter Profile face:
// the tenant and access-token rules of *profile.Service (package
// profile), which implements it. Every call takes the access token that
// CredentialFor derives from the member's scoped identity.Service, so the
// face's own checks authorize the member as they would a Crafter client
// (a viewer may only read, a member limited to some organizations reaches
// only their tenants, only an owner over every organization is master),
// and its rules (cascades to profiles, default back-fill, validation)
// apply unchanged.
type CrafterProfile interface {
	CredentialFor(id *identity.Service) *identity.Credential
	GetTenant(ctx context.Context, c *identity.Credential, name string) (*profile.Tenant, error)
	VerifyNewProfiles(ctx context.Context, c *identity.Credential, name string, verify bool) (*profile.Tenant, error)
	AddRoles(ctx context.Context, c *identity.Credential, name string, roles []string) (*profile.Tenant, error)
	RemoveRoles(ctx context.Context, c *identity.Credential, name string, roles []string) (*profile.Tenant, error)
	AddAttributeDefinitions(ctx context.Context, c *identity.Credential, name string, defs []profile.AttributeDefinition) (*profile.Tenant, error)
	UpdateAttributeDefinitions(ctx context.Context, c *identity.Credential, name string, defs []profile.AttributeDefinition) (*profile.Tenant, error)
	RemoveAttributeDefinitions(ctx context.Context, c *identity.Credential, name string, names []string) (*profile.Tenant, error)
	CreateAccessToken(ctx context.Context, c *identity.Credential, in profile.AccessToken) (*profile.AccessToken, error)
	AllAccessTokens(ctx context.Context, c *identity.Credential) ([]profile.AccessToken, error)
	RevokeAccessToken(ctx context.Context, c *identity.Credential, credentialID string) error
}

func (c *Console) tenantRoutes(m *patternMux) {
	if c.crafter == nil {
		return
	}
	m.HandleFunc("GET /orgs/{org}/tenant", c.signedIn(read, tenantsRes, c.tenantShow))
	m.HandleFunc("POST /orgs/{org}/tenant/verify", c.signedIn(update, tenantsRes, c.tenantVerify))
	m.HandleFunc("POST /orgs/{org}/tenant/roles", c.signedIn(update, tenantsRes, c.tenantAddRoles))
	m.HandleFunc("GET /orgs/{org}/tenant/roles/remove", c.signedIn(update, tenantsRes, c.tenantRoleConfirm))
	m.HandleFunc("POST /orgs/{org}/tenant/roles/remove", c.signedIn(update, tenantsRes, c.tenantRemoveRole))
	m.HandleFunc("GET /orgs/{org}/tenant/attributes/new", c.signedIn(update, tenantsRes, c.tenantAttrNew))
	m.HandleFunc("POST /orgs/{org}/tenant/attributes", c.signedIn(update, tenantsRes, c.tenantAttrAdd))
	m.HandleFunc("GET /orgs/{org}/tenant/attribute", c.signedIn(read, tenantsRes, c.tenantAttrShow))
	m.HandleFunc("POST /orgs/{org}/tenant/attribute", c.signedIn(update, tenantsRes, c.tenantAttrUpdate))
	m.HandleFunc("GET /orgs/{org}/tenant/attribute/remove", c.signedIn(update, tenantsRes, c.tenantAttrConfirm))
	m.HandleFunc("POST /orgs/{org}/tenant/attribute/remove", c.signedIn(update, tenantsRes, c.tenantAttrRemove))
}

// Tenants reports whether the console shows Crafter tenants and access
// tokens (Options.Crafter).
func (v *view) Tenants() bool { return v.c.crafter != nil }

// crafterErr maps an error of the Crafter face to the core's sentinels,
// which fail renders: 403 forbidden, 404 not found, 409 conflict, 400
// invalid.
func crafterErr(err error) error {
	var pe *profile.Error
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Status {
	case http.StatusForbidden:
		return fmt.Errorf("%s: %w", pe.Message, identity.ErrForbidden)
	case http.StatusNotFound:
		return fmt.Errorf("%s: %w", pe.Message, identity.ErrNotFound)
	case http.StatusConflict:
		return fmt.Errorf("%s: %w", pe.Message, identity.ErrConflict)
	case http.StatusBadRequest:
		return fmt.Errorf("%s: %w", pe.Message, identity.ErrInvalid)
	}
	return err
}

// crafterField returns the message of a 400 of the Crafter face and the
// input it is about ("" when it names none).
func crafterField(err error) (field, msg string, ok bool) {
	var pe *profile.Error
	if !errors.As(err, &pe) || pe.Status != http.StatusBadRequest {
		return "", "", false
	}
	return pe.Field, pe.Message, true
}

// Attribute types the form offers (Crafter's metadata "type").
var attrTypes = []string{"TEXT", "LARGE_TEXT", "NUMBER", "BOOLEAN", "DATE", "STRING_LIST", "COMPLEX"}

// Attribute actions, in the order of the permission columns.
var attrActions = []string{profile.ActionReadAttribute, profile.ActionWriteAttribute, profile.ActionRemoveAttribute}

// maxRows bounds the permission rows a form may carry.
const maxRows = 20

// tenantData is a tenant's pages.
type tenantData struct {
	Org    *identity.Organization
	Tenant *profile.Tenant
	// Attr is the definition being edited or removed (nil: a new one);
	// Role the role being removed.
	Attr *profile.AttributeDefinition
	Role string
	// Types are the type choices, Rows the indices of permission rows.
	Types []string
	Rows  []int
	// MetaKeys are the Cryptr types (identity.MetaKeyTypes) of the
	// definitions that are MetaKeys, by name: the Crafter face shows only
	// its own type (metadata "type").
	MetaKeys map[string]string
}

// loadMetaKeys reads the Cryptr types of the tenant's MetaKeys into d
// (through the member's scoped service, as the application page does).
func (c *Console) loadMetaKeys(q *request, d *tenantData) error {
	keys, err := q.svc.ListMetaKeys(q.ctx(), d.Org.Domain)
	if err != nil {
		return err
	}
	d.MetaKeys = make(map[string]string, len(keys))
	for _, k := range keys {
		d.MetaKeys[k.Name] = k.Type
	}
	return nil
}

// tenantOf loads the organization of the path (through the member's
// scoped service: another organization is a 404, as an unknown one) and
// its tenant through the Crafter face, with the member's credential.
func (c *Console) tenantOf(q *request) (*tenantData, *identity.Credential, error) {
	o, err := q.svc.GetOrganization(q.ctx(), q.r.PathValue("org"))
	if err != nil {
		return nil, nil, err
	}
	cred := c.crafter.CredentialFor(q.svc)
	tn, err := c.crafter.GetTenant(q.ctx(), cred, profile.TenantName(o.Domain))
	if err != nil {
		return nil, nil, crafterErr(err)
	}
	return &tenantData{Org: o, Tenant: tn, Types: attrTypes}, cred, nil
}

func (c *Console) tenantPage(w http.ResponseWriter, q *request, status int, d *tenantData, v view) error {
	if err := c.loadMetaKeys(q, d); err != nil {
		return err
	}
	v.Title, v.Data = "tenant.title", d
	if v.Form == nil {
		v.Form = url.Values{}
		if d.Tenant.VerifyNewProfiles {
			v.Form.Set("verify_new_profiles", "on")
		}
	}
	if v.Notice == "" {
		v.Notice = notice(q)
	}
	c.page(w, q, status, "tenant", v)
	return nil
}

func (c *Console) tenantShow(w http.ResponseWriter, q *request) error {
	d, _, err := c.tenantOf(q)
	if err != nil {
		return err
	}
	return c.tenantPage(w, q, http.StatusOK, d, view{})
}

// tenantPath is the console path of an organization's tenant page.
func tenantPath(d *tenantData) string { return "/orgs/" + url.PathEscape(d.Org.Domain) + "/tenant" }

func (c *Console) tenantVerify(w http.ResponseWriter, q *request) error {
	d, cred, err := c.tenantOf(q)
	if err != nil {
		return err
	}
	if _, err := c.crafter.VerifyNewProfiles(q.ctx(), cred, d.Tenant.Name, q.r.PostForm.Get("verify_new_profiles") == "on"); err != nil {
		return crafterErr(err)
	}
	return c.redirect(w, q, tenantPath(d)+"?done=tenant.verify.saved")
}

func (c *Console) tenantAddRoles(w http.ResponseWriter, q *request) error {
	d, cred, err := c.tenantOf(q)
	if err != nil {
		return err
	}
	f := q.r.PostForm
	roles := strings.FieldsFunc(f.Get("roles"), func(r rune) bool { return r == '\n' || r == '\r' || r == ',' })
	for i := range roles {
		roles[i] = strings.TrimSpace(roles[i])
	}
	roles = slices.DeleteFunc(roles, func(s string) bool { return s == "" })
	if len(roles) == 0 {
		return c.tenantPage(w, q, http.StatusUnprocessableEntity, d, view{Form: f, Errors: map[string]string{"roles": "is required"}})
	}
	_, err = c.crafter.AddRoles(q.ctx(), cred, d.Tenant.Name, roles)
	if _, msg, ok := crafterField(err); ok {
		return c.tenantPage(w, q, http.StatusUnprocessableEntity, d, view{Form: f, Errors: map[string]string{"roles": msg}})
	} else if err != nil {
		return crafterErr(err)
	}
	return c.redirect(w, q, tenantPath(d)+"?done=tenant.roles.added")
}

// tenantRole reads the role of a removal (a query or form value) and
// checks that the tenant lists it.
func tenantRole(d *tenantData, role string) bool {
	d.Role = role
	return role != "" && slices.Contains(d.Tenant.AvailableRoles, role)
}

func (c *Console) tenantRoleConfirm(w http.ResponseWriter, q *request) error {
	d, _, err := c.tenantOf(q)
	if err != nil {
		return err
	}
	if !tenantRole(d, q.r.URL.Query().Get("role")) {
		return fmt.Errorf("role: %w", identity.ErrNotFound)
	}
	c.page(w, q, http.StatusOK, "tenant_remove", view{Title: "tenant.role.remove.title", Data: d})
	return nil
}

func (c *Console) tenantRemoveRole(w http.ResponseWriter, q *request) error {
	d, cred, err := c.tenantOf(q)
	if err != nil {
		return err
	}
	f := q.r.PostForm
	if !tenantRole(d, f.Get("role")) {
		return c.tenantPage(w, q, http.StatusUnprocessableEntity, d, view{Errors: map[string]string{"role": "is not a role of this tenant"}})
	}
	if f.Get("confirm") != "yes" {
		c.page(w, q, http.StatusUnprocessableEntity, "tenant_remove", view{Title: "tenant.role.remove.title", Data: d,
			Errors: map[string]string{"confirm": "confirm the removal"}})
		return nil
	}
	if _, err := c.crafter.RemoveRoles(q.ctx(), cred, d.Tenant.Name, []string{d.Role}); err != nil {
		return crafterErr(err)
	}
	return c.redirect(w, q, tenantPath(d)+"?done=tenant.roles.removed")
}

// attrForm fills the definition form from a definition.
func attrForm(a *profile.AttributeDefinition) url.Values {
	f := url.Values{}
	f.Set("name", a.Name)
	if t, ok := a.Metadata["type"].(string); ok {
		f.Set("type", t)
	}
	if l, ok := a.Metadata["label"].(string); ok {
		f.Set("label", l)
	}
	if o, ok := a.Metadata["displayOrder"]; ok && o != nil {
		f.Set("display_order", fmt.Sprint(o))
	}
	if a.DefaultValue != nil {
		switch v := a.DefaultValue.(type) {
		case string:
			f.Set("default_value", v)
		case []any:
			var items []string
			for _, x := range v {
				items = append(items, fmt.Sprint(x))
			}
			f.Set("default_value", strings.Join(items, "\n"))
		default:
			if b, err := json.Marshal(v); err == nil {
				f.Set("default_value", string(b))
			}
		}
	}
	if a.Indexed {
		f.Set("indexed", "on")
	}
	for i, p := range a.Permissions {
		n := strconv.Itoa(i)
		f.Set("app_"+n, p.Application)
		for _, act := range p.AllowedActions {
			if act == "*" {
				f["perm_"+n] = slices.Clone(attrActions)
				break
			}
			f.Add("perm_"+n, act)
		}
	}
	return f
}

// rowsOf returns the indices of the permission rows to show: every row
// the form holds and two empty ones, at most maxRows.
func rowsOf(f url.Values) []int {
	n := 0
	for i := 0; i < maxRows; i++ {
		s := strconv.Itoa(i)
		if f.Get("app_"+s) != "" || len(f["perm_"+s]) > 0 {
			n = i + 1
		}
	}
	n = min(n+2, maxRows)
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// attrInput reads the definition form: the metadata of old (when
// editing) with the type, label and display order of the form; the
// default value as the type reads it; the permissions row by row.
func attrInput(f url.Values, old *profile.AttributeDefinition) (profile.AttributeDefinition, map[string]string) {
	errs := map[string]string{}
	d := profile.AttributeDefinition{Name: strings.TrimSpace(f.Get("name")), Metadata: map[string]any{},
		Indexed: f.Get("indexed") == "on", Permissions: []profile.AttributePermission{}}
	if old != nil {
		d.Name = old.Name
		d.Metadata = maps.Clone(old.Metadata)
		if d.Metadata == nil {
			d.Metadata = map[string]any{}
		}
	}
	typ := f.Get("type")
	switch {
	case typ == "":
		delete(d.Metadata, "type")
	case slices.Contains(attrTypes, typ) || (old != nil && old.Metadata["type"] == typ):
		d.Metadata["type"] = typ
	default:
		errs["type"] = "must be one of " + strings.Join(attrTypes, ", ")
	}
	if l := strings.TrimSpace(f.Get("label")); l != "" {
		d.Metadata["label"] = l
	} else {
		delete(d.Metadata, "label")
	}
	if o := strings.TrimSpace(f.Get("display_order")); o != "" {
		n, err := strconv.Atoi(o)
		if err != nil || n < 0 {
			errs["display_order"] = "must be a whole number, 0 or more"
		}
		d.Metadata["displayOrder"] = n
	} else {
		delete(d.Metadata, "displayOrder")
	}
	if raw := f.Get("default_value"); strings.TrimSpace(raw) != "" {
		v, msg := defaultValue(typ, raw)
		if msg != "" {
			errs["default_value"] = msg
		}
		d.DefaultValue = v
	}
	for i := 0; i < maxRows; i++ {
		s := strconv.Itoa(i)
		app, acts := strings.TrimSpace(f.Get("app_"+s)), f["perm_"+s]
		if app == "" && len(acts) == 0 {
			continue
		}
		if app == "" || len(app) > 255 || strings.ContainsFunc(app, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			errs["app_"+s] = "must be an application name (at most 255 characters), or * for every application"
			continue
		}
		p := profile.AttributePermission{Application: app, AllowedActions: []string{}}
		for _, a := range acts {
			if !slices.Contains(attrActions, a) {
				errs["app_"+s] = "unknown action " + a
			} else if !slices.Contains(p.AllowedActions, a) {
				p.AllowedActions = append(p.AllowedActions, a)
			}
		}
		d.Permissions = append(d.Permissions, p)
	}
	return d, errs
}

// defaultValue reads a default value as the attribute's type holds it: a
// number, true or false, a list (one item per line), a JSON document for
// COMPLEX, else the text itself. The message says what is wrong.
func defaultValue(typ, raw string) (any, string) {
	s := strings.TrimSpace(raw)
	switch typ {
	case "NUMBER":
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return nil, "must be a number"
		}
		return json.Number(s), ""
	case "BOOLEAN":
		b, err := strconv.ParseBool(s)
		if err != nil || (s != "true" && s != "false") {
			return nil, "must be true or false"
		}
		return b, ""
	case "STRING_LIST":
		var out []any
		for _, l := range strings.Split(raw, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
		return out, ""
	case "COMPLEX":
		var v any
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil || dec.More() {
			return nil, "must be a JSON value"
		}
		return v, ""
	}
	return raw, ""
}

// attrPage renders the definition form (new when d.Attr is nil).
func (c *Console) attrPage(w http.ResponseWriter, q *request, status int, d *tenantData, v view) error {
	v.Title, v.Data = "tenant.attr.new", d
	if d.Attr != nil {
		if err := c.loadMetaKeys(q, d); err != nil {
			return err
		}
		v.Title = "tenant.attr.edit"
		if t, ok := d.Attr.Metadata["type"].(string); ok && t != "" && !slices.Contains(d.Types, t) {
			d.Types = append(slices.Clone(d.Types), t)
		}
	}
	if v.Form == nil {
		v.Form = url.Values{"perm_0": attrActions[:2], "app_0": {"*"}}
		if d.Attr != nil {
			v.Form = attrForm(d.Attr)
		}
	}
	d.Rows = rowsOf(v.Form)
	if v.Notice == "" {
		v.Notice = notice(q)
	}
	c.page(w, q, status, "tenant_attr", v)
	return nil
}

func (c *Console) tenantAttrNew(w http.ResponseWriter, q *request) error {
	d, _, err := c.tenantOf(q)
	if err != nil {
		return err
	}
	return c.attrPage(w, q, http.StatusOK, d, view{})
}

// attrErr shows a refusal of the Crafter face on the definition form,
// beside the input it names.
func (c *Console) attrErr(w http.ResponseWriter, q *request, d *tenantData, f url.Values, err error) error {
	field, msg, ok := crafterField(err)
	if !ok {
		return crafterErr(err)
	}
	switch field {
	case "defaultValue":
		field = "default_value"
	case "name", "":
		field = "name"
	}
	return c.attrPage(w, q, http.StatusUnprocessableEntity, d, view{Form: f, Errors: map[string]string{field: msg}})
}

func (c *Console) tenantAttrAdd(w http.ResponseWriter, q *request) error {
	d, cred, err := c.tenantOf(q)
	if err != nil {
		return err
	}
	f := q.r.PostForm
	def, errs := attrInput(f, nil)
	if def.Name == "" {
		errs["name"] = "is required"
	} else if slices.ContainsFunc(d.Tenant.AttributeDefinitions, func(a profile.AttributeDefinition) bool { return a.Name == def.Name }) {
		// The face skips a name it has; the form says so.
		errs["name"] = "is already defined: edit that definition instead"
	}
	if len(errs) > 0 {
		return c.attrPage(w, q, http.StatusUnprocessableEntity, d, view{Form: f, Errors: errs})
	}
	if _, err := c.crafter.AddAttributeDefinitions(q.ctx(), cred, d.Tenant.Name, []profile.AttributeDefinition{def}); err != nil {
		return c.attrErr(w, q, d, f, err)
	}
	return c.redirect(w, q, tenantPath(d)+"?done=tenant.attr.added")
}

// tenantAttr finds the definition named name in d.
func tenantAttr(d *tenantData, name string) error {
	for i := range d.Tenant.AttributeDefinitions {
		if a := &d.Tenant.AttributeDefinitions[i]; a.Name == name {
			d.Attr = a
			return nil
		}
	}
	return fmt.Errorf("attribute definition: %w", identity.ErrNotFound)
}

func (c *Console) tenantAttrShow(w http.ResponseWriter, q *request) error {
	d, _, err := c.tenantOf(q)
	if err != nil {
		return err
	}
	if err := tenantAttr(d, q.r.URL.Query().Get("name")); err != nil {
		return err
	}
	return c.attrPage(w, q, http.StatusOK, d, view{})
}

func (c *Console) tenantAttrUpdate(w http.ResponseWriter, q *request) error {
	d, cred, err := c.tenantOf(q)
	if err != nil {
		return err
	}
	f := q.r.PostForm
	if err := tenantAttr(d, f.Get("name")); err != nil {
		return err
	}
	def, errs := attrInput(f, d.Attr)
	if len(errs) > 0 {
		return c.attrPage(w, q, http.StatusUnprocessableEntity, d, view{Form: f, Errors: errs})
	}
	if _, err := c.crafter.UpdateAttributeDefinitions(q.ctx(), cred, d.Tenant.Name, []profile.AttributeDefinition{def}); err != nil {
		return c.attrErr(w, q, d, f, err)
	}
	return c.redirect(w, q, tenantPath(d)+"?done=tenant.attr.saved")
}

func (c *Console) tenantAttrConfirm(w http.ResponseWriter, q *request) error {
	d, _, err := c.tenantOf(q)
	if err != nil {
		return err
	}
	if err := tenantAttr(d, q.r.URL.Query().Get("name")); err != nil {
		return err
	}
	c.page(w, q, http.StatusOK, "tenant_remove", view{Title: "tenant.attr.remove.title", Data: d})
	return nil
}

func (c *Console) tenantAttrRemove(w http.ResponseWriter, q *request) error {
	d, cred, err := c.tenantOf(q)
	if err != nil {
		return err
	}
	f := q.r.PostForm
	if err := tenantAttr(d, f.Get("name")); err != nil {
		return err
	}
	if f.Get("confirm") != "yes" {
		c.page(w, q, http.StatusUnprocessableEntity, "tenant_remove", view{Title: "tenant.attr.remove.title", Data: d,
			Errors: map[string]string{"confirm": "confirm the removal"}})
		return nil
	}
	if _, err := c.crafter.RemoveAttributeDefinitions(q.ctx(), cred, d.Tenant.Name, []string{d.Attr.Name}); err != nil {
		return crafterErr(err)
	}
	return c.redirect(w, q, tenantPath(d)+"?done=tenant.attr.removed")
}

// AttrType is a definition's type as the pages show it: Crafter's
// metadata "type" ("" if none).
func (d *tenantData) AttrType(a profile.AttributeDefinition) string {
	if t, ok := a.Metadata["type"].(string); ok {
		return t
	}
	return ""
}

// MetaKeyType is the Cryptr type of the definition named name if it is a
// MetaKey (string, integer, boolean, ...), else "".
func (d *tenantData) MetaKeyType(name string) string { return d.MetaKeys[name] }

// AttrLabel is a definition's label ("" if none).
func (d *tenantData) AttrLabel(a profile.AttributeDefinition) string {
	l, _ := a.Metadata["label"].(string)
	return l
}

// Default renders a definition's default value ("" if none).
func (d *tenantData) Default(a profile.AttributeDefinition) string {
	if a.DefaultValue == nil {
		return ""
	}
	if s, ok := a.DefaultValue.(string); ok {
		return s
	}
	b, err := json.Marshal(a.DefaultValue)
	if err != nil {
		return fmt.Sprint(a.DefaultValue)
	}
	return string(b)
}

// Checked reports whether the permission row i of the form allows action.
func (v *view) Checked(i int, action string) bool {
	return slices.Contains(v.Form["perm_"+strconv.Itoa(i)], action)
}

// Actions are the attribute actions of the permission columns.
func (d *tenantData) Actions() []string { return attrActions }
