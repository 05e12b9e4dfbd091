package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
)

// orgInput reads the writable fields of an organization.
func orgInput(rd *Reader) identity.OrganizationInput {
	return identity.OrganizationInput{
		Name:                rd.String("name"),
		Locality:            rd.String("locality"),
		State:               rd.String("state"),
		CountryName:         upper(rd.String("country_name")),
		PrivacyPolicyURL:    rd.String("privacy_policy_url"),
		TermsOfServiceURL:   rd.String("terms_of_service_url"),
		AllowedEmailDomains: rd.Strings("allowed_email_domains"),
		OpenSignup:          rd.Bool("open_signup"),
		AutocompleteAddress: rd.String("autocomplete_address"),
	}
}

func upper(s *string) *string {
	if s == nil {
		return nil
	}
	u := strings.ToUpper(strings.TrimSpace(*s))
	return &u
}

func (h *Handler) listOrgs(w http.ResponseWriter, r *http.Request) error {
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
	page, err := p.Service.ListOrganizations(r.Context(), req)
	if err != nil {
		return err
	}
	out := make([]Organization, len(page.Items))
	for i := range page.Items {
		out[i] = NewOrganization(&page.Items[i], h.account)
	}
	WriteList(w, Pagination, out, req, page.Total)
	return nil
}

func (h *Handler) createOrg(w http.ResponseWriter, r *http.Request) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	rd, err := params(r, p)
	if err != nil {
		return err
	}
	// The core names every invalid field, the missing name included.
	in := orgInput(rd)
	if err := rd.Err(); err != nil {
		return err
	}
	o, err := p.Service.CreateOrganization(r.Context(), in)
	if err != nil {
		if errors.Is(err, identity.ErrConflict) {
			return &Error{Status: http.StatusConflict, Code: "conflict",
				Message: "an organization with this domain already exists",
				Fields:  map[string][]string{"domain": {"has already been taken"}}}
		}
		return err
	}
	WriteJSON(w, http.StatusCreated, NewOrganization(o, h.account))
	return nil
}

func (h *Handler) getOrg(w http.ResponseWriter, r *http.Request) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	if _, err := params(r, p); err != nil {
		return err
	}
	o, err := p.Service.GetOrganization(r.Context(), r.PathValue("domain"))
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, NewOrganization(o, h.account))
	return nil
}

func (h *Handler) updateOrg(w http.ResponseWriter, r *http.Request) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	rd, err := params(r, p)
	if err != nil {
		return err
	}
	domain := r.PathValue("domain")
	if d := rd.String("domain"); d != nil && *d != "" && *d != domain {
		rd.Invalid("domain", "cannot be changed")
	}
	in := orgInput(rd)
	if err := rd.Err(); err != nil {
		return err
	}
	o, err := p.Service.UpdateOrganization(r.Context(), domain, in)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, NewOrganization(o, h.account))
	return nil
}
