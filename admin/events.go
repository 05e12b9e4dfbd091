package admin

import (
	"encoding/csv"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// eventData is the audit-log page.
type eventData struct {
	Org    *identity.Organization
	Events []identity.Event
	Codes  []string
	Page   int
	Pages  int
	Total  int
	// Query is the filter's query string (for the pages and the export),
	// already encoded.
	Query template.URL
}

// eventFilter reads the filter form; bad values are field messages.
func eventFilter(qs url.Values) (identity.EventFilter, map[string]string) {
	f := identity.EventFilter{Code: strings.TrimSpace(qs.Get("code")), ActorID: strings.TrimSpace(qs.Get("actor"))}
	errs := map[string]string{}
	if f.Code != "" && !slices.Contains(identity.EventCodes(), f.Code) {
		errs["code"] = "is not a known event code"
	}
	if len(f.ActorID) > 200 {
		errs["actor"] = "must be at most 200 characters"
	}
	day := func(field string) time.Time {
		v := strings.TrimSpace(qs.Get(field))
		if v == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			errs[field] = "must be a date YYYY-MM-DD"
		}
		return t
	}
	f.Since = day("since")
	if u := day("until"); !u.IsZero() {
		f.Until = u.Add(24*time.Hour - time.Nanosecond)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Until.Before(f.Since) {
		errs["until"] = "must not be before the start"
	}
	if len(errs) == 0 {
		errs = nil
	}
	return f, errs
}

func (c *Console) eventList(w http.ResponseWriter, q *request) error {
	o, err := q.svc.GetOrganization(q.ctx(), q.r.PathValue("org"))
	if err != nil {
		return err
	}
	qs := q.r.URL.Query()
	d := eventData{Org: o, Codes: identity.EventCodes()}
	slices.Sort(d.Codes)
	filter, errs := eventFilter(qs)
	form := url.Values{}
	for _, k := range []string{"code", "actor", "since", "until"} {
		if v := qs.Get(k); v != "" {
			form.Set(k, v)
		}
	}
	d.Query = template.URL(form.Encode()) // #nosec: url.Values.Encode escapes every value
	if errs != nil {
		c.page(w, q, http.StatusBadRequest, "events", view{Title: "events.title", Errors: errs, Form: qs, Data: d})
		return nil
	}
	n, _ := strconv.Atoi(qs.Get("page"))
	p, err := q.svc.ListEvents(q.ctx(), o.Domain, filter, identity.PageRequest{Page: n, PerPage: 50})
	if err != nil {
		return err
	}
	d.Events, d.Page, d.Pages, d.Total = p.Items, p.Page, p.TotalPages(), p.Total
	c.page(w, q, http.StatusOK, "events", view{Title: "events.title", Form: qs, Data: d})
	return nil
}

// eventCSV exports the filtered audit log as CSV.
func (c *Console) eventCSV(w http.ResponseWriter, q *request) error {
	o, err := q.svc.GetOrganization(q.ctx(), q.r.PathValue("org"))
	if err != nil {
		return err
	}
	filter, errs := eventFilter(q.r.URL.Query())
	if errs != nil {
		http.Error(w, "bad filter", http.StatusBadRequest)
		return nil
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+o.Domain+`-audit.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "time", "event_code", "organization", "actor_id", "email", "resource_owner_id", "client_id", "saml_identity_provider_id", "data", "actor_kind"})
	err = q.svc.ExportEvents(q.ctx(), o.Domain, filter, func(e *identity.Event) error {
		data := ""
		if len(e.Data) > 0 {
			b, _ := json.Marshal(e.Data)
			data = string(b)
		}
		return cw.Write([]string{strconv.FormatInt(e.ID, 10), e.CreatedAt.UTC().Format(time.RFC3339), e.Code,
			e.TenantDomain, csvSafe(e.ActorID), csvSafe(e.Email), e.ResourceOwnerID, csvSafe(e.ClientID), csvSafe(e.SAMLIdPID), csvSafe(data), e.ActorKind})
	})
	cw.Flush()
	if err != nil {
		c.log.Error("admin console: CSV export", "err", err)
	}
	return nil
}

// csvSafe defuses spreadsheet formulas (CSV injection): a cell that
// starts with = + - @ or a control character gets a leading quote.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
