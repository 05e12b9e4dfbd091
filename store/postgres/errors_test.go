package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehouse-id/gatehouse/identity"
)

func TestErrorClassification(t *testing.T) {
	pg := func(code string) error { return fmt.Errorf("query: %w", &pgconn.PgError{Code: code}) }
	tests := []struct {
		name               string
		err                error
		retry, unavailable bool
	}{
		{"serialization failure", pg("40001"), true, false},
		{"deadlock", pg("40P01"), true, false},
		// Only Put's plain INSERT of a key its transaction read as absent
		// meets a unique violation (upserts do not): a concurrent insert
		// of that key, which a run on a new snapshot resolves.
		{"unique violation", pg("23505"), true, false},
		{"syntax error", pg("42601"), false, false},
		{"connection failure", pg("08006"), false, true},
		{"too many connections", pg("53300"), false, true},
		{"admin shutdown", pg("57P01"), false, true},
		{"crash shutdown", pg("57P02"), false, true},
		{"starting up", pg("57P03"), false, true},
		{"query canceled", pg("57014"), false, false},
		{"eof", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), false, true},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), false, true},
		{"refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), false, true},
		{"canceled", fmt.Errorf("query: %w", context.Canceled), false, false},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), false, false},
		{"other", errors.New("boom"), false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := retryable(tc.err); got != tc.retry {
				t.Errorf("retryable = %v, want %v", got, tc.retry)
			}
			if got := unavailable(tc.err); got != tc.unavailable {
				t.Errorf("unavailable = %v, want %v", got, tc.unavailable)
			}
			c := classify(tc.err)
			if got := errors.Is(c, ErrUnavailable) && errors.Is(c, identity.ErrBusy); got != tc.unavailable {
				t.Errorf("classify wraps ErrUnavailable and ErrBusy = %v, want %v", got, tc.unavailable)
			}
			if !errors.Is(c, tc.err) {
				t.Errorf("classify lost the original error: %v", c)
			}
			if errors.Is(c, ErrCommitUnknown) {
				t.Error("classify marked the error as an unknown commit")
			}
		})
	}
}

func TestErrorWrappers(t *testing.T) {
	inner := &pgconn.PgError{Code: "40001"}
	busy := &busyError{err: inner}
	if !errors.Is(busy, ErrTooManyRetries) || !errors.Is(busy, identity.ErrBusy) || errors.Is(busy, ErrUnavailable) {
		t.Errorf("busyError matches wrong sentinels: %v", busy)
	}
	var pe *pgconn.PgError
	if !errors.As(busy, &pe) || pe.Code != "40001" {
		t.Error("busyError hides the PostgreSQL error")
	}
	unknown := &unavailableError{err: io.ErrUnexpectedEOF, unknown: true}
	if !errors.Is(unknown, ErrCommitUnknown) || !errors.Is(unknown, ErrUnavailable) || !errors.Is(unknown, identity.ErrBusy) {
		t.Errorf("an unknown commit matches wrong sentinels: %v", unknown)
	}
	if errors.Is(&unavailableError{err: io.EOF}, ErrCommitUnknown) {
		t.Error("a plain outage claims the commit outcome is unknown")
	}
}
