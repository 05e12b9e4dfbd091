package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
)

func (h *Handler) listEvents(w http.ResponseWriter, r *http.Request) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	rd, err := params(r, p)
	if err != nil {
		return err
	}
	req := rd.Page()
	var f identity.EventFilter
	if s := rd.String("code"); s != nil && *s != "" {
		f.Code = strings.ToUpper(strings.TrimSpace(*s))
		if !slices.Contains(identity.EventCodes(), f.Code) {
			rd.Invalid("code", "must be one of "+strings.Join(identity.EventCodes(), ", "))
		}
	}
	if s := rd.String("client_id"); s != nil {
		f.ClientID = strings.TrimSpace(*s)
	}
	if s := rd.String("saml_identity_provider_id"); s != nil {
		f.SAMLIdPID = strings.TrimSpace(*s)
	}
	// "s" (sort) is accepted and ignored: events are listed most recent
	// first.
	_ = rd.String("s")
	if err := rd.Err(); err != nil {
		return err
	}
	domain := r.PathValue("domain")
	page, err := p.Service.ListEvents(r.Context(), domain, f, req)
	if err != nil {
		return err
	}
	out := make([]Event, len(page.Items))
	for i := range page.Items {
		out[i] = NewEvent(&page.Items[i], domain, h.account, p.Environment())
	}
	WriteList(w, Paginate, out, req, page.Total)
	return nil
}
