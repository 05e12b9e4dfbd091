package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
)

// profileFields are the OIDC claims a caller may set, by wire name.
var profileFields = []struct {
	name string
	set  func(p *identity.Profile, v string)
}{
	{"name", func(p *identity.Profile, v string) { p.Name = v }},
	{"given_name", func(p *identity.Profile, v string) { p.GivenName = v }},
	{"family_name", func(p *identity.Profile, v string) { p.FamilyName = v }},
	{"middle_name", func(p *identity.Profile, v string) { p.MiddleName = v }},
	{"nickname", func(p *identity.Profile, v string) { p.Nickname = v }},
	{"preferred_username", func(p *identity.Profile, v string) { p.PreferredUsername = v }},
	{"picture", func(p *identity.Profile, v string) { p.Picture = v }},
	{"website", func(p *identity.Profile, v string) { p.Website = v }},
	{"gender", func(p *identity.Profile, v string) { p.Gender = v }},
	{"birthdate", func(p *identity.Profile, v string) { p.Birthdate = v }},
	{"zoneinfo", func(p *identity.Profile, v string) { p.Zoneinfo = v }},
	{"locale", func(p *identity.Profile, v string) { p.Locale = v }},
	{"phone_number", func(p *identity.Profile, v string) { p.PhoneNumber = v }},
}

var addressFields = []struct {
	names []string
	set   func(a *identity.Address, v string)
}{
	{[]string{"formatted"}, func(a *identity.Address, v string) { a.Formatted = v }},
	{[]string{"street_address"}, func(a *identity.Address, v string) { a.StreetAddress = v }},
	{[]string{"locality", "city"}, func(a *identity.Address, v string) { a.Locality = v }},
	{[]string{"region"}, func(a *identity.Address, v string) { a.Region = v }},
	{[]string{"postal_code"}, func(a *identity.Address, v string) { a.PostalCode = v }},
	{[]string{"country"}, func(a *identity.Address, v string) { a.Country = strings.ToUpper(v) }},
}

// userPatch is the parsed user input of a create or an update: only the
// fields present in the request change.
type userPatch struct {
	email    *string
	profile  []func(p *identity.Profile)
	metadata map[string]string
}

func (up *userPatch) apply(u *identity.User) {
	if up.email != nil {
		u.Email = *up.email
	}
	for _, f := range up.profile {
		f(&u.Profile)
	}
	for k, v := range up.metadata {
		if u.Attributes == nil {
			u.Attributes = map[string]any{}
		}
		u.Attributes[k] = v
	}
}

// readProfile reads the claims of rd (the top level or the "profile"
// object) into up.
func (up *userPatch) readProfile(rd *Reader) {
	if s := rd.String("email"); s != nil {
		e := strings.TrimSpace(*s)
		up.email = &e
	}
	for _, f := range profileFields {
		if s := rd.String(f.name); s != nil {
			v, set := strings.TrimSpace(*s), f.set
			up.profile = append(up.profile, func(p *identity.Profile) { set(p, v) })
		}
	}
	if rd.Has("address") {
		if raw, _ := rd.Raw("address"); raw == nil {
			up.profile = append(up.profile, func(p *identity.Profile) { p.Address = nil })
			return
		}
		ad := rd.Object("address")
		for _, f := range addressFields {
			for _, n := range f.names {
				if s := ad.String(n); s != nil {
					v, set := strings.TrimSpace(*s), f.set
					up.profile = append(up.profile, func(p *identity.Profile) {
						if p.Address == nil {
							p.Address = &identity.Address{}
						}
						set(p.Address, v)
					})
				}
			}
		}
	}
}

// readUser reads a user's fields: the claims at the top level (as the
// document's query parameters list them) and in a "profile" object (as
// its JSON samples send them), which wins; "profile" given as a string is
// the profile URL claim. "metadata" sets MetaData, as an object
// {"key": "value"} or a list [{"key": "name", "value": "..."}].
func readUser(rd *Reader, tn *identity.Tenant) *userPatch {
	up := &userPatch{}
	up.readProfile(rd)
	if raw, ok := rd.Raw("profile"); ok {
		switch x := raw.(type) {
		case string:
			// The profile URL claim; the core checks its text.
			v := strings.TrimSpace(x)
			up.profile = append(up.profile, func(p *identity.Profile) { p.ProfileURL = v })
		default:
			pr := rd.Object("profile")
			up.readProfile(pr)
			if s := pr.String("profile"); s != nil {
				v := strings.TrimSpace(*s)
				up.profile = append(up.profile, func(p *identity.Profile) { p.ProfileURL = v })
			}
		}
	}
	up.metadata = readMetadata(rd, tn)
	return up
}

// scalarString reads a scalar JSON or form value as a string.
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		if x {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

// readMetadata reads the "metadata" field: its names must be MetaKeys of
// the organization (the core checks the values against their types).
func readMetadata(rd *Reader, tn *identity.Tenant) map[string]string {
	raw, ok := rd.Raw("metadata")
	if !ok || raw == nil {
		return nil
	}
	vals := map[string]string{}
	switch x := raw.(type) {
	case Params:
		for k, v := range x {
			s, ok := scalarString(v)
			if !ok {
				rd.Invalid("metadata."+k, "must be a string")
				continue
			}
			vals[k] = s
		}
	case []any:
		for _, e := range x {
			item, ok := e.(Params)
			if !ok {
				rd.Invalid("metadata", "must be a list of {key, value} objects")
				return nil
			}
			var name string
			switch k := item["key"].(type) {
			case string:
				name = k
			case Params:
				name, _ = k["name"].(string)
			}
			val, ok := scalarString(item["value"])
			if name == "" || !ok {
				rd.Invalid("metadata", "must be a list of {key, value} objects")
				return nil
			}
			vals[name] = val
		}
	case string:
		if x != "" {
			rd.Invalid("metadata", "must be an object or a list")
		}
		return nil
	default:
		rd.Invalid("metadata", "must be an object or a list")
		return nil
	}
	for k := range vals {
		d, ok := tn.Definition(k)
		if !ok || !d.InToken {
			rd.Invalid("metadata."+k, "is not a MetaKey of this organization")
			delete(vals, k)
		}
	}
	return vals
}

// userView reads a user of the organization and its directory settings in
// one transaction.
func userView(r *http.Request, p *Principal, find func(tx *identity.ReadTxn, orgID string) (*identity.User, error)) (*identity.User, *identity.Tenant, error) {
	var u *identity.User
	var tn *identity.Tenant
	err := p.Service.View(r.Context(), func(tx *identity.ReadTxn) error {
		orgID, err := tx.OrgID(r.PathValue("domain"))
		if err != nil {
			return err
		}
		if u, err = find(tx, orgID); err != nil {
			return err
		}
		if len(u.Attributes) == 0 {
			return nil // no MetaData to render
		}
		tn, err = tx.Tenant(orgID)
		return err
	})
	return u, tn, err
}

func (h *Handler) renderUser(p *Principal, r *http.Request, u *identity.User, tn *identity.Tenant) User {
	return NewUser(u, tn, r.PathValue("domain"), h.account, p.Environment())
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	if r.URL.RawQuery != "" {
		if _, err := params(r, p); err != nil {
			return err
		}
	}
	id := r.PathValue("user_id")
	return h.writeUserView(w, r, p, func(tx *identity.ReadTxn, orgID string) (*identity.User, error) {
		return tx.OrgUser(orgID, id)
	})
}

// writeUserView answers 200 with the user find reads in the caller's
// organization.
func (h *Handler) writeUserView(w http.ResponseWriter, r *http.Request, p *Principal,
	find func(tx *identity.ReadTxn, orgID string) (*identity.User, error)) error {
	u, tn, err := userView(r, p, find)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, h.renderUser(p, r, u, tn))
	return nil
}

func (h *Handler) getUserByEmail(w http.ResponseWriter, r *http.Request) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	if _, err := params(r, p); err != nil {
		return err
	}
	email := r.PathValue("email")
	return h.writeUserView(w, r, p, func(tx *identity.ReadTxn, orgID string) (*identity.User, error) {
		return tx.UserByEmail(orgID, email)
	})
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) error {
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
	page, err := p.Service.ListUsers(r.Context(), domain, req)
	if err != nil {
		return err
	}
	tn, err := p.Service.GetTenant(r.Context(), domain)
	if err != nil {
		return err
	}
	out := make([]User, len(page.Items))
	for i := range page.Items {
		out[i] = h.renderUser(p, r, &page.Items[i], tn)
	}
	WriteList(w, Pagination, out, req, page.Total)
	return nil
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	rd, err := params(r, p)
	if err != nil {
		return err
	}
	domain := r.PathValue("domain")
	tn, err := p.Service.GetTenant(r.Context(), domain)
	if err != nil {
		return err
	}
	up := readUser(rd, tn)
	if up.email == nil || *up.email == "" {
		rd.Invalid("email", "is required")
	}
	var in identity.User
	up.apply(&in)
	in.Enabled = true
	if rd.Err() != nil {
		// Name every field error in one answer: what the core's user rule
		// says about the fields that did parse too.
		cand := in
		if cand.Username == "" {
			cand.Username = cand.Email
		}
		mergeNew(rd, identity.CheckUser(&cand))
	}
	if err := rd.Err(); err != nil {
		return err
	}
	u, err := p.Service.CreateUser(r.Context(), domain, in, "")
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusCreated, h.renderUser(p, r, u, tn))
	return nil
}

// mergeNew records err's field errors on the fields rd has not named yet.
func mergeNew(rd *Reader, err error) {
	var inv *identity.InvalidError
	if !errors.As(err, &inv) {
		return
	}
	named := map[string]bool{}
	var have *identity.InvalidError
	if errors.As(rd.Err(), &have) {
		for _, f := range have.Fields {
			named[f.Field] = true
		}
	}
	for _, f := range inv.Fields {
		if !named[f.Field] {
			rd.Invalid(f.Field, f.Reason)
		}
	}
}

func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	rd, err := params(r, p)
	if err != nil {
		return err
	}
	domain := r.PathValue("domain")
	tn, err := p.Service.GetTenant(r.Context(), domain)
	if err != nil {
		return err
	}
	up := readUser(rd, tn)
	if err := rd.Err(); err != nil {
		return err
	}
	u, err := p.Service.UpdateUser(r.Context(), domain, r.PathValue("user_id"), func(u *identity.User) error {
		if up.email != nil && u.Username == u.Email {
			// The username follows the email unless it was set apart.
			u.Username = *up.email
		}
		up.apply(u)
		if u.Profile.Address != nil && *u.Profile.Address == (identity.Address{}) {
			u.Profile.Address = nil
		}
		return nil
	})
	if err != nil {
		return err
	}
	if tn2, err := p.Service.GetTenant(r.Context(), domain); err == nil {
		tn = tn2
	}
	WriteJSON(w, http.StatusOK, h.renderUser(p, r, u, tn))
	return nil
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	if _, err := params(r, p); err != nil {
		return err
	}
	domain := r.PathValue("domain")
	tn, err := p.Service.GetTenant(r.Context(), domain)
	if err != nil {
		return err
	}
	u, err := p.Service.DeleteUser(r.Context(), domain, r.PathValue("user_id"))
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, NewDeleted(h.renderUser(p, r, u, tn)))
	return nil
}
