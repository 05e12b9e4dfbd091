package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
)

func (h *Handler) listMetaKeys(w http.ResponseWriter, r *http.Request) error {
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
	keys, err := p.Service.ListMetaKeys(r.Context(), domain)
	if err != nil {
		return err
	}
	items, total := PageSlice(keys, req)
	out := make([]MetaKey, len(items))
	for i := range items {
		out[i] = NewMetaKey(&items[i], domain, h.account, p.Environment())
	}
	WriteList(w, Pagination, out, req, total)
	return nil
}

func (h *Handler) createMetaKey(w http.ResponseWriter, r *http.Request) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	rd, err := params(r, p)
	if err != nil {
		return err
	}
	// The document nests the fields under "user_metakey"; flat fields
	// are accepted too.
	src := rd
	if rd.Has("user_metakey") {
		src = rd.Object("user_metakey")
	}
	name, typ, required := src.String("name"), src.String("type"), src.Bool("required")
	if name == nil || strings.TrimSpace(*name) == "" {
		src.Invalid("name", "is required")
	}
	if err := rd.Err(); err != nil {
		return err
	}
	t := ""
	if typ != nil {
		t = *typ
	}
	domain := r.PathValue("domain")
	d, err := p.Service.CreateMetaKey(r.Context(), domain, *name, t, required != nil && *required)
	if err != nil {
		if identity.ConflictField(err) == "name" {
			return &Error{Status: http.StatusConflict, Code: "conflict", Message: "a MetaKey with this name already exists",
				Fields: map[string][]string{src.Field("name"): {"has already been taken"}}}
		}
		var inv *identity.InvalidError
		if errors.As(err, &inv) {
			// Named where the request put them (user_metakey.name).
			for _, f := range inv.Fields {
				src.Invalid(f.Field, f.Reason)
			}
			return rd.Err()
		}
		return err
	}
	WriteJSON(w, http.StatusCreated, NewMetaKey(d, domain, h.account, p.Environment()))
	return nil
}

func (h *Handler) deleteMetaKey(w http.ResponseWriter, r *http.Request) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	rd, err := params(r, p)
	if err != nil {
		return err
	}
	name := rd.String("key_name")
	if name == nil || *name == "" {
		rd.Invalid("key_name", "is required")
	}
	if err := rd.Err(); err != nil {
		return err
	}
	domain := r.PathValue("domain")
	d, err := p.Service.DeleteMetaKey(r.Context(), domain, *name)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, NewDeleted(NewMetaKey(d, domain, h.account, p.Environment())))
	return nil
}

func (h *Handler) setUserMetadata(w http.ResponseWriter, r *http.Request) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	rd, err := params(r, p)
	if err != nil {
		return err
	}
	userID, keyName := rd.String("user_id"), rd.String("key_name")
	var value string
	raw, ok := rd.Raw("key_value")
	switch {
	case !ok || raw == nil:
		rd.Invalid("key_value", "is required")
	default:
		if value, ok = scalarString(raw); !ok {
			rd.Invalid("key_value", "must be a string")
		}
	}
	if userID == nil || *userID == "" {
		rd.Invalid("user_id", "is required")
	}
	if keyName == nil || *keyName == "" {
		rd.Invalid("key_name", "is required")
	}
	if err := rd.Err(); err != nil {
		return err
	}
	domain := r.PathValue("domain")
	u, err := p.Service.SetUserMetadata(r.Context(), domain, *userID, *keyName, value)
	if err != nil {
		return err
	}
	tn, err := p.Service.GetTenant(r.Context(), domain)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, NewUser(u, tn, domain, h.account, p.Environment()))
	return nil
}
