package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzHandler throws random methods, paths, headers and bodies at the
// handler, authenticated or not: no answer may be a 5xx, no panic may be
// recovered, and every answer is JSON.
func FuzzHandler(f *testing.F) {
	fx := newFixture(f)
	tok := fx.admin()
	fx.mustOrg(tok, "Misapret")
	u := fx.mustUser(tok, "misapret", "jane@example.com")
	fx.json(201, "POST", "/api/v2/org/misapret/token-customization/user-metakey", tok, map[string]any{"name": "team", "type": "integer"})
	uid := u["id"].(string)
	seeds := []struct{ method, path, ct, body string }{
		{"GET", "/api/v2/organizations", "", ""},
		{"POST", "/api/v2/organizations", "application/json", `{"name":"Acme","autocomplete_address":"Paris"}`},
		{"PUT", "/api/v2/organizations/misapret", "application/x-www-form-urlencoded", "name=X&allowed_email_domains[]=a.com"},
		{"POST", "/api/v2/org/misapret/users", "application/json", `{"profile":{"email":"a@b.co","address":{"city":1}}}`},
		{"PATCH", "/api/v2/org/misapret/users/" + uid, "application/x-www-form-urlencoded", "profile[address][country]=fr&metadata[team]=3"},
		{"DELETE", "/api/v2/org/misapret/users/" + uid, "", ""},
		{"GET", "/api/v2/org/misapret/user-by-email/jane%40example.com", "", ""},
		{"POST", "/api/v2/org/misapret/applications", "application/x-www-form-urlencoded", "name=a&application_type=vue&allowed_redirect_urls[]=x"},
		{"PATCH", "/api/v2/org/misapret/token-customization/set-user-metadata", "application/json", `{"user_id":"` + uid + `","key_name":"team","key_value":[1]}`},
		{"DELETE", "/api/v2/org/misapret/token-customization/user-metakey", "application/json", `{"key_name":{"a":1}}`},
		{"GET", "/api/v2/org/misapret/log-events?page=99999999999999999999&per_page=-3&code=%00", "", ""},
		{"GET", "/api/v2/org/misapret/token-customization/sample?expiration_in_seconds=9999999999", "", ""},
		{"POST", "/api/v2/oauth/token", "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id[]=1"},
		{"BREW", "/api/v2/../../etc/passwd", "multipart/form-data; boundary=x", "--x\r\n"},
		{"GET", "/api/v2/org/%ff/users", "text/plain", "\x00\xff"},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.ct, s.body, true)
		f.Add(s.method, s.path, s.ct, s.body, false)
	}
	f.Fuzz(func(t *testing.T, method, path, ct, body string, auth bool) {
		if !validMethod(method) || !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t#") {
			return
		}
		r, err := http.NewRequest(method, "http://example.com"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		r.RequestURI = path
		if ct != "" && !strings.ContainsAny(ct, "\r\n") {
			r.Header.Set("Content-Type", ct)
		}
		if auth {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		logLen := fx.logs.Len()
		rec := httptest.NewRecorder()
		fx.h.ServeHTTP(rec, r)
		if rec.Code >= 500 {
			t.Fatalf("%s %s (%q, %q): %d %s", method, path, ct, body, rec.Code, rec.Body)
		}
		if logs := fx.logs.String()[logLen:]; strings.Contains(logs, "panicked") {
			t.Fatalf("%s %s: a panic was recovered: %s", method, path, logs)
		}
		if method != "HEAD" && !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			t.Fatalf("%s %s: %d with content type %q", method, path, rec.Code, rec.Header().Get("Content-Type"))
		}
	})
}

func validMethod(m string) bool {
	if m == "" || len(m) > 16 {
		return false
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}
