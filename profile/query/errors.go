package query

import "fmt"

// Kind classifies a query error.
type Kind uint8

const (
	// KindSyntax means the input is not well-formed relaxed JSON.
	KindSyntax Kind = iota + 1
	// KindLimit means the input exceeds the size or nesting limit.
	KindLimit
	// KindTenant means a key ending in "tenant" was used.
	KindTenant
	// KindWhere means the $where operator was used.
	KindWhere
	// KindOperator means an unknown operator, an invalid operand or an
	// invalid field path.
	KindOperator
	// KindDenied means a validator rejected a field path.
	KindDenied
)

// String returns the name of the kind.
func (k Kind) String() string {
	switch k {
	case KindSyntax:
		return "syntax"
	case KindLimit:
		return "limit"
	case KindTenant:
		return "tenant"
	case KindWhere:
		return "where"
	case KindOperator:
		return "operator"
	case KindDenied:
		return "denied"
	default:
		return fmt.Sprintf("Kind(%d)", uint8(k))
	}
}

// Error is the error returned by Parse for every invalid query.
type Error struct {
	// Kind classifies the problem.
	Kind Kind
	// Offset is the byte offset in the source where the problem was found.
	Offset int
	// Path is the field path concerned, when there is one.
	Path string
	// Msg describes the problem, without the offset. For KindTenant,
	// KindWhere and KindDenied from WithDeniedAttributes it is the message
	// Crafter Profile uses.
	Msg string
	// Err is the underlying cause (a validator's error, a regexp error), or nil.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("query: offset %d: %s", e.Offset, e.Msg)
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Messages used by Crafter Profile for the rejections it performs.
const (
	msgTenant = `Field "tenant" is not allowed in query`
	msgWhere  = `$where operator is not allowed in query`
)

func newError(kind Kind, off int, format string, args ...any) *Error {
	return &Error{Kind: kind, Offset: off, Msg: fmt.Sprintf(format, args...)}
}
