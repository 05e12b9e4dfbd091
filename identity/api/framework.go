package api

import (
	"context"
	"net/http"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/cryptrhttp"
)

// The route framework and wire format of /api/v2 live in an internal
// package shared with the other packages that serve /api/v2 routes
// (sso/ssoapi, tokens/provider), so that no face imports another. The
// names below keep this package's API for hosts and route groups.

// Error is an HTTP error of the management API: a status, a machine code,
// a message, and for invalid input the offending fields. Handlers return
// it (or an identity error, which WriteError maps) and WriteError renders
// it as
//
//	{"error": code, "error_description": message, "errors": {field: [reasons]}}
type Error = cryptrhttp.Error

// Params are a request's parameters: the query string merged with the
// body, the body winning (see DecodeParams).
type Params = cryptrhttp.Params

// Reader reads typed fields from Params and collects a field error for
// every value of the wrong type or shape.
type Reader = cryptrhttp.Reader

// Envelope holds the fields that every resource of the API carries.
type Envelope = cryptrhttp.Envelope

// Time is a timestamp written in TimeFormat.
type Time = cryptrhttp.Time

// ListShape selects the keys of a list answer.
type ListShape = cryptrhttp.ListShape

// PageInfo is the pagination object of a list answer.
type PageInfo = cryptrhttp.PageInfo

// Deleted is the answer of a delete.
type Deleted = cryptrhttp.Deleted

// HandlerFunc is an endpoint that returns an error instead of writing it:
// a non-nil error is written with WriteError (if nothing was written yet).
type HandlerFunc = cryptrhttp.HandlerFunc

// RouteGroup adds endpoints to a Handler through a Mux, as the SSO
// connections endpoints (package sso/ssoapi) do.
type RouteGroup = cryptrhttp.RouteGroup

// RouteGroupFunc adapts a function to RouteGroup.
type RouteGroupFunc = cryptrhttp.RouteGroupFunc

// Mux registers endpoints of a Handler. Patterns are http.ServeMux
// patterns with a method ("GET /api/v2/sso-connections/{idp_id}").
type Mux = cryptrhttp.Mux

// Principal is the authenticated caller of a management request.
type Principal = cryptrhttp.Principal

// GrantFunc serves a grant_type that a route group adds to POST
// /api/v2/oauth/token (Mux.HandleGrant).
type GrantFunc = cryptrhttp.GrantFunc

// TokenClaims are what a verified management token says.
type TokenClaims = cryptrhttp.TokenClaims

// MaxBodyBytes bounds a request body; a larger one is refused with 413.
const MaxBodyBytes = cryptrhttp.MaxBodyBytes

// TimeFormat is how the API writes inserted_at and updated_at: UTC, to the
// second, without a zone suffix ("2021-10-18T10:02:31").
const TimeFormat = cryptrhttp.TimeFormat

// List shapes (see WriteList).
const (
	// Pagination writes "pagination" and "total" (organizations, users,
	// MetaKeys).
	Pagination = cryptrhttp.Pagination
	// PaginationTotalCount writes "pagination" and "total_count"
	// (applications).
	PaginationTotalCount = cryptrhttp.PaginationTotalCount
	// Paginate writes "paginate" and "total_count" (SSO connections, log
	// events).
	Paginate = cryptrhttp.Paginate
)

// Errorf returns an *Error with status, code and a formatted message.
func Errorf(status int, code, format string, args ...any) *Error {
	return cryptrhttp.Errorf(status, code, format, args...)
}

// NotFound is the answer for unknown resources and for resources of
// organizations the caller does not manage (tenant isolation).
func NotFound() *Error { return cryptrhttp.NotFound() }

// Forbidden is the answer when the credential lacks a permission.
func Forbidden(msg string) *Error { return cryptrhttp.Forbidden(msg) }

// Unauthorized is the answer for a missing, malformed, expired or revoked
// management token.
func Unauthorized(msg string) *Error { return cryptrhttp.Unauthorized(msg) }

// BadRequest is the answer for a request that cannot be parsed.
func BadRequest(msg string) *Error { return cryptrhttp.BadRequest(msg) }

// InvalidParams builds a 422 answer naming one field and why it is wrong.
func InvalidParams(field, reason string) *Error { return cryptrhttp.InvalidParams(field, reason) }

// AsError maps any error to an *Error; ok is false for an internal
// failure (503 with a generic message).
func AsError(err error) (e *Error, ok bool) { return cryptrhttp.AsError(err) }

// WriteError writes err as a JSON error answer (see Error and AsError).
func WriteError(w http.ResponseWriter, r *http.Request, err error) { cryptrhttp.WriteError(w, r, err) }

// DecodeParams reads the query string and the body of r. A malformed JSON
// or form body is a 400 *Error, a body over MaxBodyBytes a 413, an
// unsupported content type a 415.
func DecodeParams(r *http.Request) (Params, error) { return cryptrhttp.DecodeParams(r) }

// WriteJSON writes v as a JSON answer with status. HTML characters are not
// escaped, so URLs read naturally.
func WriteJSON(w http.ResponseWriter, status int, v any) { cryptrhttp.WriteJSON(w, status, v) }

// LimitedTo is the __access__ value of a record of one organization.
func LimitedTo(domain string) string { return cryptrhttp.LimitedTo(domain) }

// AllOrganizationsOf is the __access__ value of an account-wide record.
func AllOrganizationsOf(account string) string { return cryptrhttp.AllOrganizationsOf(account) }

// OrgEnvelope is the envelope of a record of organization domain in env,
// managed by account.
func OrgEnvelope(typ, domain, account string, env identity.Environment) Envelope {
	return cryptrhttp.OrgEnvelope(typ, domain, account, env)
}

// NewPageInfo computes the pagination of page req over total items.
func NewPageInfo(req identity.PageRequest, total int) PageInfo {
	return cryptrhttp.NewPageInfo(req, total)
}

// WriteList writes a 200 list answer in the given shape.
func WriteList[T any](w http.ResponseWriter, shape ListShape, items []T, req identity.PageRequest, total int) {
	cryptrhttp.WriteList(w, shape, items, req, total)
}

// NewDeleted wraps a deleted resource.
func NewDeleted(resource any) Deleted { return cryptrhttp.NewDeleted(resource) }

// PageSlice returns the page req of items (already sorted) and the total.
func PageSlice[T any](items []T, req identity.PageRequest) ([]T, int) {
	return cryptrhttp.PageSlice(items, req)
}

// PrincipalFrom returns the caller of an authenticated request (set by
// the routes registered with Mux.Handle).
func PrincipalFrom(ctx context.Context) (*Principal, bool) { return cryptrhttp.PrincipalFrom(ctx) }
