package profile

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
)

// Crafter Profile error codes (the ErrorCode enum of the Java API; clients
// parse them, so no other value is ever sent).
const (
	CodeAccessTokenExists       = "ACCESS_TOKEN_EXISTS"
	CodeNoSuchAccessToken       = "NO_SUCH_ACCESS_TOKEN_ID"
	CodeAccessDenied            = "ACCESS_DENIED"
	CodeActionDenied            = "ACTION_DENIED"
	CodeNoSuchTenant            = "NO_SUCH_TENANT"
	CodeBadCredentials          = "BAD_CREDENTIALS"
	CodeDisabledProfile         = "DISABLED_PROFILE"
	CodeNoSuchProfile           = "NO_SUCH_PROFILE"
	CodeNoSuchTicket            = "NO_SUCH_TICKET"
	CodeNoSuchPersistentLogin   = "NO_SUCH_PERSISTENT_LOGIN"
	CodeNoSuchVerificationToken = "NO_SUCH_VERIFICATION_TOKEN"
	CodeInvalidEmail            = "INVALID_EMAIL_ADDRESS"
	CodePermissionError         = "PERMISSION_ERROR"
	CodeAttributeNotDefined     = "ATTRIBUTE_NOT_DEFINED"
	CodeParamDeserialization    = "PARAM_DESERIALIZATION_ERROR"
	CodeTenantExists            = "TENANT_EXISTS"
	CodeProfileExists           = "PROFILE_EXISTS"
	CodeInvalidQuery            = "INVALID_QUERY"
	CodeOther                   = "OTHER"
)

// Error is a Crafter Profile API error: an HTTP status, an error code and
// a public message (never a secret). Every error the Service returns is an
// *Error or wraps an identity sentinel that ErrorOf maps.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"errorCode"`
	Message string `json:"message"`
	// Field names the input a 400 is about, when it is one input of the
	// call ("name", "roles", "defaultValue"); it is not part of the
	// answer's JSON, and lets a form (the admin console) show the
	// message beside that input.
	Field string `json:"-"`
	// Err is the private cause, for logs.
	Err error `json:"-"`
}

// Error returns the code and message.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns the private cause.
func (e *Error) Unwrap() error { return e.Err }

func apiErr(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *Error {
	return apiErr(http.StatusBadRequest, CodeOther, format, args...)
}

// fieldErr is badRequest about one input (Error.Field).
func fieldErr(field, format string, args ...any) *Error {
	e := badRequest(format, args...)
	e.Field = field
	return e
}

func missingParam(name string) *Error {
	return badRequest("Required request parameter '%s' is not present", name)
}

func noTenant(name string) *Error {
	return apiErr(http.StatusNotFound, CodeNoSuchTenant, "No tenant with name %q found", name)
}

// isCode reports whether err is an API error with Crafter's error code.
func isCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

func noProfile(id string) *Error {
	return apiErr(http.StatusNotFound, CodeNoSuchProfile, "No profile with ID %q found", id)
}

func denied(action, tenant string) *Error {
	return apiErr(http.StatusForbidden, CodeActionDenied,
		"Current subject does not have permission to execute action %q on tenant %q", action, tenant)
}

func deniedGlobal(action string) *Error {
	return apiErr(http.StatusForbidden, CodeActionDenied,
		"Current subject does not have permission to execute global action %q", action)
}

func deniedAttr(action, attr string) *Error {
	return apiErr(http.StatusForbidden, CodeActionDenied,
		"Current subject does not have permission to execute action %q on attribute %q", action, attr)
}

func notDefined(attr, tenant string) *Error {
	return apiErr(http.StatusBadRequest, CodeAttributeNotDefined,
		"Attribute definition for attribute %q not found in tenant %q", attr, tenant)
}

// ErrorOf maps any error to the *Error the API answers: an *Error is
// returned as is; identity sentinels map to the closest Crafter status
// and code; anything else is a 500 OTHER with a generic message.
func ErrorOf(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var ie *identity.InvalidError
	switch {
	case errors.As(err, &ie):
		return &Error{Status: http.StatusBadRequest, Code: CodeOther, Message: invalidMessage(ie), Err: err}
	case errors.Is(err, identity.ErrBusy):
		return &Error{Status: http.StatusTooManyRequests, Code: CodeOther,
			Message: "Too many concurrent requests, retry later", Err: err}
	case errors.Is(err, identity.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: CodeOther, Message: "Not found", Err: err}
	case errors.Is(err, identity.ErrConflict):
		return &Error{Status: http.StatusConflict, Code: CodeOther, Message: "Conflict", Err: err}
	case errors.Is(err, identity.ErrInvalid):
		return &Error{Status: http.StatusBadRequest, Code: CodeOther, Message: "Invalid request", Err: err}
	case errors.Is(err, identity.ErrForbidden):
		return &Error{Status: http.StatusForbidden, Code: CodeActionDenied, Message: "Action denied", Err: err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeOther, Message: "Request cancelled", Err: err}
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeOther,
		Message: "Internal error while processing the request", Err: err}
}

// invalidMessage words the core's field errors as one sentence per field
// ("username must be at most 255 characters of text"), without the
// sentinel's "invalid: " prefix, which is Go's, not Crafter's, and with
// attribute fields named as Crafter names them.
func invalidMessage(ie *identity.InvalidError) string {
	if len(ie.Fields) == 0 {
		return "Invalid request"
	}
	parts := make([]string, len(ie.Fields))
	for i, f := range ie.Fields {
		// The core names a MetaKey's value metadata.<name> (Cryptr's
		// word); here it is the profile attribute <name>.
		field := f.Field
		if rest, ok := strings.CutPrefix(field, "metadata."); ok {
			field = "attributes." + rest
		}
		parts[i] = strings.TrimSpace(field + " " + f.Reason)
	}
	return strings.Join(parts, "; ")
}
