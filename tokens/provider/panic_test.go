package provider

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// A panic in a provider endpoint is recovered (the last line: no input may
// produce a 500) and answered with the provider's 500.
func TestPanicAnswersProvider500(t *testing.T) {
	e := newEnv(t)
	e.prov.mux.HandleFunc("GET /test-panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	rec := httptest.NewRecorder()
	e.prov.ServeHTTP(rec, httptest.NewRequest("GET", "/test-panic", nil))
	const want = `{"error":"server_error"}` + "\n"
	if rec.Code != http.StatusInternalServerError || rec.Body.String() != want ||
		rec.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("answer %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
}
