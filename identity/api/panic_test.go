package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity/api"
)

// A panicking endpoint is recovered (the last line: no input may produce a
// 500), logged with its stack, and answered with the Cryptr JSON 500.
func TestPanicAnswersCryptr500(t *testing.T) {
	group := api.RouteGroupFunc(func(m *api.Mux) error {
		m.HandlePublic("GET /api/v2/test-panic", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			panic("boom")
		}))
		return nil
	})
	f := newFixture(t, fixtureOpts{routes: []api.RouteGroup{group}})
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v2/test-panic?client_secret=hunter2", nil))
	const want = `{"error":"internal_error","error_description":"the request failed"}` + "\n"
	if rec.Code != http.StatusInternalServerError || rec.Body.String() != want ||
		rec.Header().Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("answer %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
	logs := f.logs.String()
	for _, s := range []string{"management API handler panicked", "path=/api/v2/test-panic", "panic=boom", "stack="} {
		if !strings.Contains(logs, s) {
			t.Errorf("log lacks %q: %s", s, logs)
		}
	}
	if strings.Contains(logs, "hunter2") {
		t.Errorf("log leaks the query: %s", logs)
	}
}
