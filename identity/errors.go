package identity

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// Sentinel errors of the core. Every error a service or store returns wraps
// one of them (or is an *InvalidError), so a face maps it to its own status
// code with errors.Is / errors.As.
var (
	// ErrNotFound: the resource does not exist, or belongs to another
	// organization or environment (tenant isolation answers "not found").
	ErrNotFound = kv.ErrNotFound
	// ErrConflict: a unique constraint (domain, email, username, id) is taken,
	// or a compare-and-swap lost the race.
	ErrConflict = kv.ErrConflict
	// ErrInvalid: the input is invalid. Use *InvalidError for field details.
	ErrInvalid = kv.ErrInvalid
	// ErrForbidden: the caller may not perform the action.
	ErrForbidden = errors.New("forbidden")
	// ErrOwnerDeleted: a session (a ticket) outlived its user, which was
	// deleted. An error carrying it also wraps ErrNotFound, so a caller
	// that does not look for it treats the session as absent.
	ErrOwnerDeleted = errors.New("its user was deleted")
	// ErrExpired: a token, ticket, code or link has expired.
	ErrExpired = errors.New("expired")
	// ErrLocked: the account is locked after too many failed attempts.
	ErrLocked = errors.New("locked")
	// ErrUnauthenticated: credentials are missing or wrong.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrDisabled: the account or connection is disabled.
	ErrDisabled = errors.New("disabled")
	// ErrBusy: a resource limit was reached (for example the password hasher's
	// concurrency limit); the caller may retry later.
	ErrBusy = errors.New("busy")
	// ErrStoreLocked: the store file is held by another process.
	ErrStoreLocked = errors.New("store is locked by another process")
	// ErrSchemaTooNew: the store was written by a newer version of Gatehouse.
	ErrSchemaTooNew = errors.New("store schema is newer than this version supports")
)

// FieldError names one offending input field and why it was refused.
type FieldError struct {
	// Field is the field's wire name, dotted for nested fields
	// ("profile.address.country").
	Field string `json:"field"`
	// Reason says in plain words what is wrong ("is required", "must be an
	// E.164 phone number").
	Reason string `json:"reason"`
}

// InvalidError reports validation failures, one per field. It matches
// ErrInvalid with errors.Is.
type InvalidError struct {
	Fields []FieldError
}

// Error lists the fields and reasons.
func (e *InvalidError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + " " + f.Reason
	}
	return "invalid: " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// Invalid builds an *InvalidError for one field.
func Invalid(field, reason string) error {
	return &InvalidError{Fields: []FieldError{{Field: field, Reason: reason}}}
}

// Validation collects field errors while validating an input.
// The zero value is ready to use.
type Validation struct {
	fields []FieldError
}

// Add records that field is invalid for reason.
func (v *Validation) Add(field, reason string) {
	v.fields = append(v.fields, FieldError{Field: field, Reason: reason})
}

// Addf records that field is invalid, with a formatted reason.
func (v *Validation) Addf(field, format string, args ...any) {
	v.Add(field, fmt.Sprintf(format, args...))
}

// Merge adds the field errors of err (if it is an *InvalidError), with the
// field names prefixed by prefix and a dot. Other errors are recorded under
// prefix.
func (v *Validation) Merge(prefix string, err error) {
	if err == nil {
		return
	}
	var ie *InvalidError
	if errors.As(err, &ie) {
		for _, f := range ie.Fields {
			name := f.Field
			if prefix != "" {
				name = prefix + "." + name
			}
			v.Add(name, f.Reason)
		}
		return
	}
	v.Add(prefix, err.Error())
}

// Err returns nil when nothing was recorded, else an *InvalidError with the
// fields sorted by name (so messages are stable).
func (v *Validation) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	fs := append([]FieldError(nil), v.fields...)
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Field < fs[j].Field })
	return &InvalidError{Fields: fs}
}
