package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAPIPathsAnswerJSON: every path under /api/ answers JSON in its face's
// error format, never http.ServeMux's HTML redirect to the cleaned path
// (a 307 for "..", "." and "//", a 301 for a subtree root without its
// slash). The requests carry their raw path (r.URL.Path as a client that
// does not clean paths sends it).
func TestAPIPathsAnswerJSON(t *testing.T) {
	hx := newHarness(t, "memory:")
	for _, tc := range []struct {
		method, target string
		cryptr         bool // answered in Cryptr's error format
	}{
		{"GET", "/api/v2/org/../x", true},
		{"GET", "/api/v2/%2e%2e/", true},
		{"GET", "/api/v2/%2E%2E/organizations", true},
		{"GET", "/api/v2/./organizations", true},
		{"GET", "/api/v2//organizations", true},
		{"POST", "/api/v2/org/" + hx.org + "/../" + hx.org + "/users", true},
		{"DELETE", "/api/v2/org/" + hx.org + "/users/" + hx.userID + "/..", true},
		{"GET", "/api/v2/organizations/", true},
		{"GET", "/api/v2", true},
		{"POST", "/api/v2", true},
		{"GET", "/api", true},
		{"GET", "/api/1", false},
		{"GET", "/api//v2/organizations", true},
		{"GET", "/api/../api/v2/organizations", true},
		{"GET", "/api/v1/../v2/organizations", true},
		{"GET", "/api/nothing/..", true},
		{"GET", "/api/1/profile/../tenant", false},
		{"GET", "/api/1/%2e%2e/x", false},
	} {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "http://gatehouse.test/", nil)
			r.URL.Path = strings.NewReplacer("%2e", ".", "%2E", ".").Replace(tc.target)
			r.URL.RawPath = tc.target
			r.RequestURI = tc.target
			r.Header.Set("Authorization", "Bearer "+hx.mgmt)
			w := httptest.NewRecorder()
			hx.h.ServeHTTP(w, r)
			if w.Code != http.StatusNotFound && w.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 404 or 400 (Location %q): %s", w.Code, w.Header().Get("Location"), w.Body)
			}
			if loc := w.Header().Get("Location"); loc != "" {
				t.Fatalf("redirect to %q", loc)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("content type %q: %s", ct, w.Body)
			}
			var body map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("not a JSON object: %s", w.Body)
			}
			if _, ok := body["error"].(string); tc.cryptr && (!ok || body["error_description"] == nil) {
				t.Fatalf("not Cryptr's error format: %s", w.Body)
			}
		})
	}
}
