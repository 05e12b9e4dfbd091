package httpx

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestClientAddress(t *testing.T) {
	tests := []struct {
		name, remote string
		header       http.Header
		want         string
	}{
		{name: "ipv4 with port", remote: "192.0.2.1:1234", want: "192.0.2.1"},
		{name: "ipv6 with port: its /64", remote: "[2001:db8::1]:443", want: "2001:db8::/64"},
		{name: "another address of the same /64", remote: "[2001:db8:0:0:ffff:1:2:3]:80", want: "2001:db8::/64"},
		{name: "another /64", remote: "[2001:db8:0:1::1]:80", want: "2001:db8:0:1::/64"},
		{name: "ipv6 with a zone", remote: "[fe80::1%eth0]:80", want: "fe80::/64"},
		{name: "ipv6 loopback", remote: "[::1]:80", want: "::/64"},
		{name: "ipv4-mapped ipv6", remote: "[::ffff:192.0.2.5]:80", want: "192.0.2.5"},
		{name: "not an address", remote: "pipe:1", want: "pipe"},
		{name: "no port", remote: "192.0.2.7", want: "192.0.2.7"},
		{name: "empty", remote: "", want: ""},
		{name: "proxy headers ignored", remote: "192.0.2.1:1234", want: "192.0.2.1",
			header: http.Header{"X-Forwarded-For": {"198.51.100.9"}, "X-Real-Ip": {"198.51.100.9"},
				"Forwarded": {"for=198.51.100.9"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for k, v := range tt.header {
				r.Header[k] = v
			}
			if got := ClientAddress(r); got != tt.want {
				t.Errorf("ClientAddress(%q) = %q, want %q", tt.remote, got, tt.want)
			}
		})
	}
}

func TestRecover(t *testing.T) {
	answer := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error":"face_format"}`))
	}
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantStatus int
		wantBody   string
		wantLog    bool
	}{
		{name: "no panic", handler: func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) },
			wantStatus: http.StatusOK, wantBody: "ok"},
		{name: "panic before writing gets the face's answer",
			handler:    func(http.ResponseWriter, *http.Request) { panic("boom") },
			wantStatus: http.StatusInternalServerError, wantBody: `{"error":"face_format"}`, wantLog: true},
		{name: "panic after writing adds nothing",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusAccepted)
				_, _ = w.Write([]byte("partial"))
				panic("boom")
			},
			wantStatus: http.StatusAccepted, wantBody: "partial", wantLog: true},
		{name: "panic after a header only adds nothing",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusNoContent)
				panic("boom")
			},
			wantStatus: http.StatusNoContent, wantLog: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			h := Recover(log, "face panicked", tt.handler, answer)
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("POST", "/api/x?client_secret=hunter2", nil)
			req.Header.Set("Authorization", "Bearer s3cr3t")
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus || rec.Body.String() != tt.wantBody {
				t.Errorf("answer %d %q, want %d %q", rec.Code, rec.Body.String(), tt.wantStatus, tt.wantBody)
			}
			out := logs.String()
			if !tt.wantLog {
				if out != "" {
					t.Errorf("unexpected log %q", out)
				}
				return
			}
			for _, want := range []string{"face panicked", "method=POST", "path=/api/x", "panic=boom", "stack=", "httpx_test.go"} {
				if !strings.Contains(out, want) {
					t.Errorf("log lacks %q: %s", want, out)
				}
			}
			for _, secret := range []string{"hunter2", "s3cr3t"} {
				if strings.Contains(out, secret) {
					t.Errorf("log leaks %q: %s", secret, out)
				}
			}
		})
	}
}

func TestRecoverAbortHandler(t *testing.T) {
	h := Recover(slog.New(slog.DiscardHandler), "x",
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }),
		func(http.ResponseWriter, *http.Request) { t.Error("answer called for ErrAbortHandler") })
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler re-panicked", v)
		}
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
}

func TestRecoverResponseController(t *testing.T) {
	// The wrapped writer stays reachable, so http.ResponseController
	// features (Flush) keep working behind Recover.
	h := Recover(nil, "x", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
	}), func(http.ResponseWriter, *http.Request) {})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if !rec.Flushed {
		t.Error("not flushed")
	}
}

func TestLoggedPathHidesSecrets(t *testing.T) {
	tests := []struct {
		name, pattern, path, want string
	}{
		{"pattern ignored", "GET /magic-link/verify/{token}", "/magic-link/verify/AAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/magic-link/verify/{redacted}"},
		{"secret segment", "", "/t/acme/magic-link/verify/q8Yf0Zb3kTn2Vd9LxW1cRs7u", "/t/acme/magic-link/verify/{redacted}"},
		{"uuid kept", "", "/api/v2/users/0192e4c1-7f3a-7b2e-9c41-5d6e7f8a9b0c", "/api/v2/users/0192e4c1-7f3a-7b2e-9c41-5d6e7f8a9b0c"},
		{"short segments kept", "", "/t/acme/oauth/token", "/t/acme/oauth/token"},
		{"setup link", "", "/auth/enterprise-setup/Zm9vYmFyYmF6cXV4cXV1eHF1dXg", "/auth/enterprise-setup/{redacted}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tt.path, nil)
			r.Pattern = tt.pattern
			if got := LoggedPath(r); got != tt.want {
				t.Errorf("LoggedPath(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

// LimitBody refuses a body declared over the limit at its first read,
// reading nothing and closing the connection after the answer, bounds
// every other body like http.MaxBytesReader, and closes the connection
// after answering a request that asked for "100 Continue"; over HTTP/2,
// where closing would end every stream of the client, it closes nothing.
func TestLimitBody(t *testing.T) {
	for _, tc := range []struct {
		name     string
		body     string
		declared int64 // Content-Length; -1: unknown (chunked)
		read     int   // bytes read before the error
		tooLarge bool
		close    bool
		expect   bool // Expect: 100-continue
		h2       bool // over HTTP/2
	}{
		{"declared within", "12345", 5, 5, false, false, false, false},
		{"declared within, expecting 100 Continue", "12345", 5, 5, false, true, true, false},
		{"declared over", "1234567", 7, 0, true, true, false, false},
		{"undeclared within", "12345", -1, 5, false, false, false, false},
		{"undeclared over", "1234567", -1, 5, true, false, false, false},
		{"declared over, HTTP/2", "1234567", 7, 0, true, false, false, true},
		{"expecting 100 Continue, HTTP/2", "12345", 5, 5, false, false, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &countingReader{r: strings.NewReader(tc.body)}
			r := httptest.NewRequest(http.MethodPost, "/", io.NopCloser(src))
			r.ContentLength = tc.declared
			if tc.expect {
				r.Header.Set("Expect", "100-continue")
			}
			if tc.h2 {
				r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0
			}
			w := httptest.NewRecorder()
			b, err := io.ReadAll(LimitBody(w, r, 5))
			var mbe *http.MaxBytesError
			if got := errors.As(err, &mbe); got != tc.tooLarge || (err != nil && !got) {
				t.Fatalf("ReadAll = %q, %v; want too large: %t", b, err, tc.tooLarge)
			}
			if len(b) != tc.read {
				t.Errorf("read %d bytes, want %d", len(b), tc.read)
			}
			if tc.declared > 5 && src.n != 0 {
				t.Errorf("%d bytes of a body declared too large were read", src.n)
			}
			if got := w.Header().Get("Connection") == "close"; got != tc.close {
				t.Errorf("Connection: close = %t, want %t", got, tc.close)
			}
		})
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
