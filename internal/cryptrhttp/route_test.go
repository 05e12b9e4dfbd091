package cryptrhttp

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
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

// A Mux decodes the parameters before the endpoint: a body it cannot
// parse is a 400 and the endpoint is not reached, whether or not it reads
// parameters; a parsed body is what DecodeParams returns, and the body
// stays readable for an endpoint that reads it itself.
func TestMuxDecodesBodyFirst(t *testing.T) {
	mux := http.NewServeMux()
	cred := &identity.Credential{Permissions: []string{"*"}}
	m := NewMux(mux, "acme", func(*http.Request) (*Principal, error) {
		return &Principal{Credential: cred, Claims: TokenClaims{Permissions: []string{"*"}}}, nil
	})
	reached := 0
	m.Handle("GET /api/v2/quiet", ActionRead, ResourceUsers, HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		reached++
		WriteJSON(w, http.StatusOK, map[string]string{})
		return nil
	}))
	m.Handle("POST /api/v2/echo", ActionCreate, ResourceUsers, HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, err := DecodeParams(r)
		if err != nil {
			return err
		}
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, map[string]any{"params": p, "raw": string(raw)})
		return nil
	}))
	send := func(method, path, ct, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", ct)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, r)
		return rec
	}
	if rec := send("GET", "/api/v2/quiet", "application/x-www-form-urlencoded", `{"broken": `); rec.Code != http.StatusBadRequest || reached != 0 {
		t.Fatalf("unparseable body: %d %s (endpoint reached %d times)", rec.Code, rec.Body, reached)
	}
	if rec := send("GET", "/api/v2/quiet", "application/x-www-form-urlencoded", `a=1`); rec.Code != http.StatusOK || reached != 1 {
		t.Fatalf("form body: %d %s", rec.Code, rec.Body)
	}
	rec := send("POST", "/api/v2/echo", "application/x-www-form-urlencoded", `{"a": "b"}`)
	if want := `{"params":{"a":"b"},"raw":"{\"a\": \"b\"}"}` + "\n"; rec.Code != http.StatusOK || rec.Body.String() != want {
		t.Fatalf("echo: %d %s", rec.Code, rec.Body)
	}
}

// A body declared over MaxBodyBytes is refused (413 request_too_large)
// before any of it is read, so that net/http never sends "100 Continue"
// for it; one that turns out too large when read is refused the same way.
func TestDecodeParamsRefusesLargeBodies(t *testing.T) {
	for _, tc := range []struct {
		name     string
		declared int64
		canRead  bool
	}{
		{"declared", MaxBodyBytes + 1, false},
		{"undeclared", -1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := &watchedBody{r: strings.NewReader(strings.Repeat("a", MaxBodyBytes+1))}
			r := httptest.NewRequest(http.MethodPost, "/api/v2/organizations", body)
			r.ContentLength = tc.declared
			_, err := DecodeParams(r)
			var e *Error
			if !errors.As(err, &e) || e.Status != http.StatusRequestEntityTooLarge || e.Code != "request_too_large" {
				t.Fatalf("DecodeParams = %v, want 413 request_too_large", err)
			}
			if body.read && !tc.canRead {
				t.Error("the body declared too large was read")
			}
		})
	}
}

// watchedBody records whether it was read.
type watchedBody struct {
	r    io.Reader
	read bool
}

func (w *watchedBody) Read(p []byte) (int, error) { w.read = true; return w.r.Read(p) }
