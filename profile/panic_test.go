package profile

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// The recovery of the Crafter face answers a panic with a Crafter JSON
// 500 (the last line: no input may produce one).
func TestPanicAnswersCrafter500(t *testing.T) {
	h := httpx.Recover(slog.New(slog.DiscardHandler), "profile: panic serving request",
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			panic("boom")
		}), writeInternalError)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/1/tenant/all.json", nil))
	const want = `{"errorCode":"OTHER","message":"Internal error while processing the request"}`
	if rec.Code != http.StatusInternalServerError || rec.Body.String() != want ||
		rec.Header().Get("Content-Type") != "application/json;charset=UTF-8" ||
		rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("answer %d %v %q", rec.Code, rec.Header(), rec.Body.String())
	}
}
