package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestRootTokenURLServesAPIKeys: Cryptr's newer documents get a
// management token from the service's root /oauth/token
// (client_credentials with client_id, client_secret and audience = the
// account domain). There an API key gets the same management token as at
// /api/v2/oauth/token, form or JSON; a wrong secret is invalid_client and
// no token; a machine application still gets its own access token; an
// organization's token URL and the sandbox tree never serve API keys.
func TestRootTokenURLServesAPIKeys(t *testing.T) {
	const id, secret = "root-token-admin", "root-token-secret-0123456789abcdef"
	h := inProcess(t, "-store", "memory:", "-master-key", id+":"+secret, "-monitoring-token",
		"root-token-monitoring-0123456789", "-mail-dir", t.TempDir()).Handler()
	do := func(method, path, ctype, body, bearer string) (int, map[string]any) {
		r := httptest.NewRequest(method, "http://gatehouse.test"+path, strings.NewReader(body))
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		if bearer != "" {
			r.Header.Set("Authorization", "Bearer "+bearer)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var m map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &m)
		return w.Code, m
	}
	const form = "application/x-www-form-urlencoded"
	key := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret},
		"audience": {"gatehouse"}}
	code, tok := do("POST", "/oauth/token", form, key.Encode(), "")
	mgmt, _ := tok["access_token"].(string)
	if code != 200 || mgmt == "" {
		t.Fatalf("API key at /oauth/token: %d %v", code, tok)
	}
	if code, body := do("GET", "/api/v2/organizations", "", "", mgmt); code != 200 {
		t.Fatalf("its token on the management API: %d %v", code, body)
	}
	js := `{"grant_type":"client_credentials","client_id":"` + id + `","client_secret":"` + secret + `","audience":"gatehouse"}`
	if code, tok := do("POST", "/oauth/token", "application/json", js, ""); code != 200 || tok["access_token"] == nil {
		t.Fatalf("JSON at /oauth/token: %d %v", code, tok)
	}
	bad := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {"wrong-secret-0123456789"},
		"audience": {"gatehouse"}}
	if code, tok := do("POST", "/oauth/token", form, bad.Encode(), ""); code != 401 || tok["error"] != "invalid_client" ||
		tok["access_token"] != nil {
		t.Fatalf("wrong secret: %d %v", code, tok)
	}

	// A machine application is still served as one.
	_, org := do("POST", "/api/v2/organizations", "application/json", `{"name":"Root Co"}`, mgmt)
	domain, _ := org["domain"].(string)
	_, app := do("POST", "/api/v2/org/"+domain+"/applications", "application/json",
		`{"name":"Root machine","application_type":"machine"}`, mgmt)
	appID, _ := app["client_id"].(string)
	appSecret, _ := app["client_secret"].(string)
	if appID == "" || appSecret == "" {
		t.Fatalf("machine application: %v", app)
	}
	mc := url.Values{"grant_type": {"client_credentials"}, "client_id": {appID}, "client_secret": {appSecret}}
	code, tok = do("POST", "/oauth/token", form, mc.Encode(), "")
	if at, _ := tok["access_token"].(string); code != 200 || at == "" || at == mgmt {
		t.Fatalf("machine application at /oauth/token: %d %v", code, tok)
	}
	if code, body := do("GET", "/api/v2/organizations", "", "", tok["access_token"].(string)); code != 401 {
		t.Fatalf("an application's token opened the management API: %d %v", code, body)
	}

	// Nowhere else: an organization's token URL, and the sandbox tree.
	for _, path := range []string{"/t/" + domain + "/oauth/token", "/sandbox/oauth/token"} {
		if code, tok := do("POST", path, form, key.Encode(), ""); code != 401 || tok["error"] != "invalid_client" {
			t.Errorf("API key at %s: %d %v", path, code, tok)
		}
	}
}

// inProcess builds the example server from command-line args, without
// listening; it is closed when t ends.
func inProcess(t *testing.T, args ...string) *app {
	t.Helper()
	cfg, err := parseConfig(args, noenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a, err := build(context.Background(), cfg, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}
