package cryptrhttp

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// WriteError logs an internal failure on the request's logger (WithLogger)
// and answers the generic 503; a client error is not logged.
func TestWriteErrorLogsOnTheRequestLogger(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		status  int
		wantLog bool
	}{
		{name: "internal", err: errors.New("disk on fire"), status: http.StatusServiceUnavailable, wantLog: true},
		{name: "client", err: NotFound(), status: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			r := httptest.NewRequest("GET", "/api/v2/x", nil)
			r = r.WithContext(WithLogger(r.Context(), slog.New(slog.NewTextHandler(&logs, nil))))
			rec := httptest.NewRecorder()
			WriteError(rec, r, tt.err)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if got := strings.Contains(logs.String(), "disk on fire"); got != tt.wantLog {
				t.Fatalf("logged %v, want %v: %q", got, tt.wantLog, logs.String())
			}
			if strings.Contains(rec.Body.String(), "disk on fire") {
				t.Fatalf("the cause leaks to the client: %s", rec.Body.String())
			}
		})
	}
	if Logger(httptest.NewRequest("GET", "/", nil).Context()) != slog.Default() {
		t.Error("Logger without WithLogger is not slog.Default()")
	}
}

// A Mux refuses a request its Authenticator refuses, before the endpoint.
func TestMuxAuthenticates(t *testing.T) {
	mux := http.NewServeMux()
	m := NewMux(mux, "acme", func(*http.Request) (*Principal, error) { return nil, Unauthorized("no token") })
	m.Handle("GET /api/v2/org/{domain}/x", ActionRead, ResourceUsers, HandlerFunc(func(http.ResponseWriter, *http.Request) error {
		t.Error("endpoint reached without authentication")
		return nil
	}))
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v2/org/beta/x", nil))
	const want = `{"error":"unauthorized","error_description":"no token"}` + "\n"
	if rec.Code != http.StatusUnauthorized || rec.Body.String() != want || rec.Header().Get("Www-Authenticate") == "" {
		t.Fatalf("answer %d %q", rec.Code, rec.Body.String())
	}
	if got := m.Patterns(); len(got) != 1 || got[0] != "GET /api/v2/org/{domain}/x" || m.AccountDomain() != "acme" {
		t.Fatalf("patterns %v, account %q", got, m.AccountDomain())
	}
}
