package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A panic outside the faces is recovered and answered with the server's
// JSON 500.
func TestPanicAnswersServer500(t *testing.T) {
	a := &app{log: slog.New(slog.DiscardHandler), mux: http.NewServeMux()}
	a.mux.HandleFunc("GET /test-panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/test-panic", nil))
	const want = `{"error":"internal_error"}` + "\n"
	if rec.Code != http.StatusInternalServerError || rec.Body.String() != want {
		t.Fatalf("answer %d %q", rec.Code, rec.Body.String())
	}
}
