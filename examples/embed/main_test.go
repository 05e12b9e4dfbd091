package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The host's protected route refuses anonymous calls and accepts none but
// Gatehouse tokens; its own routes and the mounted face keep working.
func TestHostMountsGatehouse(t *testing.T) {
	h, cleanup, err := newHost(context.Background(), "memory:", "http://host.example")
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	srv := httptest.NewServer(h)
	defer srv.Close()

	for _, tc := range []struct {
		path, auth string
		want       int
	}{
		{"/", "", 200},
		{"/me", "", 401},
		{"/me", "Bearer not-a-jwt", 401},
		{"/api/v2/organizations", "", 401},
	} {
		req, _ := http.NewRequest("GET", srv.URL+tc.path, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s (%q) = %d, want %d", tc.path, tc.auth, resp.StatusCode, tc.want)
		}
		if tc.want == 401 && tc.path == "/me" && resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("401 without WWW-Authenticate")
		}
	}
	resp, err := http.Get(srv.URL + "/t/some-org/.well-known/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jwks struct {
		Keys []map[string]any `json:"keys"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&jwks) != nil {
		t.Fatalf("jwks: %d", resp.StatusCode)
	}
}
