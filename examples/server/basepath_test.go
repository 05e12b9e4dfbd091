package main

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestBaseURLWithAPath: with -base-url http://host/auth the server serves
// Gatehouse under /auth (issuers, both APIs, Cryptr's legacy URLs) and
// nothing of it at the root, while its own /healthz and /readyz stay at
// the root for probes.
func TestBaseURLWithAPath(t *testing.T) {
	h := inProcess(t, "-store", "memory:", "-addr", "127.0.0.1:1", "-base-url", "http://gatehouse.test/auth/",
		"-master-key", hMasterID+":"+hMasterSecret, "-monitoring-token", hMonitoring, "-mail-dir", t.TempDir()).Handler()
	do := func(method, path, body string) (int, string) {
		r := httptest.NewRequest(method, "http://gatehouse.test"+path, strings.NewReader(body))
		if body != "" {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	token := url.Values{"grant_type": {"client_credentials"}, "client_id": {hMasterID}, "client_secret": {hMasterSecret},
		"domain": {"gatehouse"}}.Encode()
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"default.x"}, "client_id": {"x"}}.Encode()
	for _, tc := range []struct {
		method, path, body string
		want               int
		has                string
	}{
		{"GET", "/healthz", "", 200, `"ok"`},
		{"GET", "/readyz", "", 200, `"ready"`},
		{"POST", "/auth/api/v2/oauth/token", token, 200, `"access_token"`},
		{"GET", "/auth/t/default/.well-known/openid-configuration", "", 200, `"issuer":"http://gatehouse.test/auth/t/default"`},
		{"GET", "/auth/api/1/monitoring/status.json?token=" + hMonitoring, "", 200, ""},
		{"POST", "/auth/oauth/token", refresh, 401, `"invalid_client"`},                                         // Cryptr's legacy URL, under the path
		{"POST", "/auth/oauth/token", strings.Replace(token, "domain=", "audience=", 1), 200, `"access_token"`}, // an API key there
		{"POST", "/api/v2/oauth/token", token, 404, ""},
		{"GET", "/t/default/.well-known/openid-configuration", "", 404, ""},
		{"POST", "/oauth/token", refresh, 404, ""},
	} {
		code, body := do(tc.method, tc.path, tc.body)
		if code != tc.want || !strings.Contains(body, tc.has) {
			t.Errorf("%s %s = %d %.200s, want %d with %q", tc.method, tc.path, code, body, tc.want, tc.has)
		}
	}
	var disc map[string]any
	_, body := do("GET", "/auth/t/default/.well-known/openid-configuration", "")
	if err := json.Unmarshal([]byte(body), &disc); err != nil || disc["token_endpoint"] != "http://gatehouse.test/auth/t/default/oauth/token" {
		t.Errorf("discovery under /auth: %v %v", disc["token_endpoint"], err)
	}
}
