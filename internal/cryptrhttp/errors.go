package cryptrhttp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// Error is an HTTP error of the management API: a status, a machine code,
// a message, and for invalid input the offending fields. Handlers return
// it (or an identity error, which WriteError maps) and WriteError renders
// it as
//
//	{"error": code, "error_description": message, "errors": {field: [reasons]}}
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Code is the machine-readable error code ("invalid_params",
	// "not_found", ...).
	Code string
	// Message is a human-readable description, safe to show to the caller.
	Message string
	// Fields maps each offending field (dotted for nested ones) to the
	// reasons it was refused; only for 409 and 422 answers.
	Fields map[string][]string
	// Header holds extra response headers (WWW-Authenticate, Allow).
	Header http.Header
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with status, code and a formatted message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// NotFound is the answer for unknown resources and for resources of
// organizations the caller does not manage (tenant isolation).
func NotFound() *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "resource not found"}
}

// Forbidden is the answer when the credential lacks a permission.
func Forbidden(msg string) *Error {
	return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: msg}
}

// Unauthorized is the answer for a missing, malformed, expired or revoked
// management token.
func Unauthorized(msg string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: msg,
		Header: http.Header{"Www-Authenticate": {`Bearer realm="api", error="invalid_token"`}}}
}

// BadRequest is the answer for a request that cannot be parsed (malformed
// JSON, a broken form body).
func BadRequest(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: msg}
}

// InvalidParams builds a 422 answer naming one field and why it is wrong.
func InvalidParams(field, reason string) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_params",
		Message: field + " " + reason, Fields: map[string][]string{field: {reason}}}
}

// errorBody is the JSON form of an *Error.
type errorBody struct {
	Error       string              `json:"error"`
	Description string              `json:"error_description"`
	Errors      map[string][]string `json:"errors,omitempty"`
}

// AsError maps any error to an *Error: an *Error is returned as is,
// identity errors get their status (*identity.InvalidError and ErrInvalid
// 422, ErrNotFound 404, ErrConflict 409, ErrForbidden/ErrDisabled/ErrLocked
// 403, ErrUnauthenticated/ErrExpired 401, ErrBusy 503). Anything else is an
// internal failure: 503 with a generic message (the cause is for logs
// only), and ok is false.
func AsError(err error) (e *Error, ok bool) {
	if errors.As(err, &e) {
		return e, true
	}
	var inv *identity.InvalidError
	switch {
	case errors.As(err, &inv):
		out := &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_params", Fields: map[string][]string{}}
		msgs := make([]string, 0, len(inv.Fields))
		for _, f := range inv.Fields {
			name := f.Field
			if name == "" {
				name = "params"
			}
			out.Fields[name] = append(out.Fields[name], f.Reason)
			msgs = append(msgs, name+" "+f.Reason)
		}
		out.Message = strings.Join(msgs, "; ")
		if out.Message == "" {
			out.Message = "invalid parameters"
		}
		return out, true
	case errors.Is(err, identity.ErrInvalid):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_params", Message: "invalid parameters"}, true
	case errors.Is(err, identity.ErrNotFound):
		return NotFound(), true
	case errors.Is(err, identity.ErrConflict):
		field := identity.ConflictField(err)
		out := &Error{Status: http.StatusConflict, Code: "conflict", Message: "resource already exists"}
		if field != "" {
			out.Message = field + " has already been taken"
			out.Fields = map[string][]string{field: {"has already been taken"}}
		}
		return out, true
	case errors.Is(err, identity.ErrForbidden), errors.Is(err, identity.ErrDisabled), errors.Is(err, identity.ErrLocked):
		return Forbidden("forbidden"), true
	case errors.Is(err, identity.ErrUnauthenticated), errors.Is(err, identity.ErrExpired):
		return Unauthorized("invalid or expired credentials"), true
	case errors.Is(err, identity.ErrBusy):
		return &Error{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable",
			Message: "the server is busy, retry later", Header: http.Header{"Retry-After": {"1"}}}, true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable",
			Message: "the request was cancelled"}, true
	}
	return &Error{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable",
		Message: "the request could not be completed, retry later", Header: http.Header{"Retry-After": {"1"}}}, false
}

// WriteError writes err as a JSON error answer (see Error and AsError).
// Errors that are not client errors are logged with the logger of the
// request's context (WithLogger; slog.Default() when there is none).
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := AsError(err)
	if !ok {
		Logger(r.Context()).LogAttrs(r.Context(), slog.LevelError, "management API request failed",
			slog.String("method", r.Method), slog.String("path", httpx.LoggedPath(r)), slog.Any("err", err))
	}
	for k, vs := range e.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	body := errorBody{Error: e.Code, Description: e.Message, Errors: e.Fields}
	if body.Error == "" {
		body.Error = strings.ToLower(strings.ReplaceAll(http.StatusText(e.Status), " ", "_"))
	}
	WriteJSON(w, e.Status, body)
}
