package cryptrhttp

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
)

func multipartReader(body []byte, boundary string) *multipart.Reader {
	if boundary == "" {
		return nil
	}
	return multipart.NewReader(bytes.NewReader(body), boundary)
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// WriteJSON writes v as a JSON answer with status. HTML characters are not
// escaped, so URLs read naturally.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 64<<10 {
			bufPool.Put(buf)
		}
	}()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only unsupported values (a programming error) get here.
		buf.Reset()
		buf.WriteString(`{"error":"temporarily_unavailable","error_description":"the answer could not be encoded"}` + "\n")
		status = http.StatusServiceUnavailable
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// TimeFormat is how the API writes inserted_at and updated_at: UTC, to the
// second, without a zone suffix ("2021-10-18T10:02:31"), as the document's
// samples do.
const TimeFormat = "2006-01-02T15:04:05"

// Time is a timestamp written in TimeFormat.
type Time time.Time

// MarshalJSON writes the time in TimeFormat, or null for the zero time.
func (t Time) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	if tt.IsZero() {
		return []byte("null"), nil
	}
	b := make([]byte, 0, len(TimeFormat)+2)
	b = append(b, '"')
	b = tt.UTC().AppendFormat(b, TimeFormat)
	return append(b, '"'), nil
}

// Envelope holds the fields that every resource of the API carries.
// Embed it first in a resource struct; empty fields are left out.
type Envelope struct {
	// Access is "limited_to:{org_domain}" for records of one organization,
	// "all_organizations_of:{account_domain}" for account-wide ones.
	Access string `json:"__access__,omitempty"`
	// Database is the environment as Cryptr's applications write it
	// ("sandbox" or "default"); only Application uses it.
	Database string `json:"__database__,omitempty"`
	// Domain is the organization that owns the record.
	Domain string `json:"__domain__,omitempty"`
	// Environment is "sandbox" or "production".
	Environment string `json:"__environment__,omitempty"`
	// ManagedBy is the account domain that manages the record.
	ManagedBy string `json:"__managed_by__,omitempty"`
	// Type is the resource kind ("Organization", "User", "List", ...).
	Type string `json:"__type__"`
}

// LimitedTo is the __access__ value of a record of one organization.
func LimitedTo(domain string) string { return "limited_to:" + domain }

// AllOrganizationsOf is the __access__ value of an account-wide record.
func AllOrganizationsOf(account string) string { return "all_organizations_of:" + account }

// OrgEnvelope is the envelope of a record of organization domain in env,
// managed by account.
func OrgEnvelope(typ, domain, account string, env identity.Environment) Envelope {
	return Envelope{Access: LimitedTo(domain), Domain: domain, Environment: string(env), ManagedBy: account, Type: typ}
}

// ListShape selects the keys of a list answer: the document's endpoints
// differ.
type ListShape int

const (
	// Pagination writes "pagination" and "total" (organizations, users,
	// MetaKeys).
	Pagination ListShape = iota
	// PaginationTotalCount writes "pagination" and "total_count"
	// (applications).
	PaginationTotalCount
	// Paginate writes "paginate" and "total_count" (SSO connections, log
	// events).
	Paginate
)

// PageInfo is the pagination object of a list answer. prev_page of the
// first page is 0; next_page of the last page depends on the endpoint, as
// in the document's samples (see ListShape.PageInfo).
type PageInfo struct {
	CurrentPage int `json:"current_page"`
	NextPage    int `json:"next_page"`
	PerPage     int `json:"per_page"`
	PrevPage    int `json:"prev_page"`
	TotalPages  int `json:"total_pages"`
}

// NewPageInfo computes the pagination of page req over total items, a
// missing next page being 0 (the Paginate shape's rule; see
// ListShape.PageInfo).
func NewPageInfo(req identity.PageRequest, total int) PageInfo {
	req = req.Normalize()
	pages := 1
	if total > 0 {
		pages = (total + req.PerPage - 1) / req.PerPage
	}
	pi := PageInfo{CurrentPage: req.Page, PerPage: req.PerPage, TotalPages: pages}
	if req.Page < pages {
		pi.NextPage = req.Page + 1
	}
	if req.Page > 1 {
		pi.PrevPage = min(req.Page-1, pages)
	}
	return pi
}

// PageInfo computes the pagination of page req over total items as the
// document's samples of the shape write it. prev_page of the first page is
// 0 in every shape. next_page never points past the last page: on the
// last page it is 0 for Paginate (the SSO connection and log event
// samples) and the last page itself for Pagination and
// PaginationTotalCount (the organization and application samples show
// next_page 1 on their only page).
func (s ListShape) PageInfo(req identity.PageRequest, total int) PageInfo {
	pi := NewPageInfo(req, total)
	if s != Paginate && pi.NextPage == 0 {
		pi.NextPage = pi.TotalPages
	}
	return pi
}

type listPagination[T any] struct {
	Type       string   `json:"__type__"`
	Data       []T      `json:"data"`
	Pagination PageInfo `json:"pagination"`
	Total      int      `json:"total"`
}

type listPaginationCount[T any] struct {
	Type       string   `json:"__type__"`
	Data       []T      `json:"data"`
	Pagination PageInfo `json:"pagination"`
	TotalCount int      `json:"total_count"`
}

type listPaginate[T any] struct {
	Type       string   `json:"__type__"`
	Data       []T      `json:"data"`
	Paginate   PageInfo `json:"paginate"`
	TotalCount int      `json:"total_count"`
}

// WriteList writes a 200 list answer {"__type__": "List", "data": items,
// <pagination key>: ..., <total key>: total} in the given shape.
func WriteList[T any](w http.ResponseWriter, shape ListShape, items []T, req identity.PageRequest, total int) {
	if items == nil {
		items = []T{}
	}
	pi := shape.PageInfo(req, total)
	switch shape {
	case PaginationTotalCount:
		WriteJSON(w, http.StatusOK, listPaginationCount[T]{"List", items, pi, total})
	case Paginate:
		WriteJSON(w, http.StatusOK, listPaginate[T]{"List", items, pi, total})
	default:
		WriteJSON(w, http.StatusOK, listPagination[T]{"List", items, pi, total})
	}
}

// Deleted is the answer of a delete: {"deleted": true, "resource": ...,
// "type": "__Deleted__"}.
type Deleted struct {
	Deleted  bool   `json:"deleted"`
	Resource any    `json:"resource"`
	Type     string `json:"type"`
}

// NewDeleted wraps a deleted resource.
func NewDeleted(resource any) Deleted {
	return Deleted{Deleted: true, Resource: resource, Type: "__Deleted__"}
}

// PageSlice returns the page req of items (already sorted) and the total.
func PageSlice[T any](items []T, req identity.PageRequest) ([]T, int) {
	req = req.Normalize()
	total := len(items)
	off := req.Offset()
	if off >= total || off < 0 {
		return []T{}, total
	}
	end := min(off+req.PerPage, total)
	return items[off:end], total
}
