package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehouse-id/gatehouse/identity"
)

var (
	// ErrClosed is returned by View and Update after Close.
	ErrClosed = errors.New("postgres store is closed")
	// ErrUnavailable is wrapped by errors that come from a lost connection,
	// a server that is down, restarting or out of connections. Nothing was
	// corrupted; the caller may retry later. These errors also match
	// identity.ErrBusy, so a face answers 503 without knowing the backend.
	ErrUnavailable = errors.New("postgres is unavailable")
	// ErrCommitUnknown is wrapped (beside ErrUnavailable) when the
	// connection was lost while the COMMIT was in flight: the transaction
	// may or may not have been applied. Update does not retry it by itself,
	// because fn need not be idempotent; the caller decides.
	ErrCommitUnknown = errors.New("postgres commit outcome unknown")
	// ErrTooManyRetries is wrapped (beside identity.ErrBusy) when an Update
	// kept losing serialization conflicts until its attempts ran out.
	ErrTooManyRetries = errors.New("postgres transaction retried too many times")
)

// unavailableError marks an error as ErrUnavailable (and identity.ErrBusy)
// while keeping the driver's error in the chain.
type unavailableError struct {
	err     error
	unknown bool
}

func (e *unavailableError) Error() string {
	if e.unknown {
		return "postgres unavailable, commit outcome unknown: " + e.err.Error()
	}
	return "postgres unavailable: " + e.err.Error()
}

func (e *unavailableError) Unwrap() error { return e.err }

func (e *unavailableError) Is(target error) bool {
	return target == ErrUnavailable || target == identity.ErrBusy || (e.unknown && target == ErrCommitUnknown)
}

// busyError marks exhausted serialization retries.
type busyError struct{ err error }

func (e *busyError) Error() string {
	return "postgres transaction retried too many times: " + e.err.Error()
}

func (e *busyError) Unwrap() error { return e.err }

func (e *busyError) Is(target error) bool {
	return target == ErrTooManyRetries || target == identity.ErrBusy
}

// SQLSTATE codes.
const (
	serializationFailure = "40001"
	deadlockDetected     = "40P01"
	// uniqueViolation answers a plain INSERT of a key that this
	// transaction read as absent and that a concurrent one inserted first:
	// the same conflict as a serialization failure, and retried the same.
	uniqueViolation = "23505"
)

// retryable reports a serialization failure or deadlock: the transaction
// was rolled back and may simply run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == serializationFailure || pe.Code == deadlockDetected || pe.Code == uniqueViolation)
}

// unavailable reports an error that comes from the connection or the
// server's state rather than from the statement.
func unavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ue *unavailableError
	if errors.As(err, &ue) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case len(pe.Code) >= 2 && pe.Code[:2] == "08": // connection exception
			return true
		case len(pe.Code) >= 2 && pe.Code[:2] == "53": // insufficient resources
			return true
		case pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // shutdown, crash, starting up
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE)
}

// classify wraps connection-level errors as ErrUnavailable and leaves the
// others unchanged.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var ue *unavailableError
	if errors.As(err, &ue) || !unavailable(err) {
		return err
	}
	return &unavailableError{err: err}
}
