package main

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHostileBodies sends oversized, deeply nested and malformed bodies to
// a write endpoint of every face: each is a clear 4xx in the face's format,
// never a 5xx or a hang.
func TestHostileBodies(t *testing.T) {
	hx := newHarness(t, "memory:")
	big := bytes.Repeat([]byte("a"), 12<<20)
	deep := []byte(strings.Repeat("[", 200000) + strings.Repeat("]", 200000))
	deepObj := []byte(`{"name":` + strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000) + "}")
	bodies := []struct {
		name, ct string
		body     []byte
	}{
		{"12 MiB JSON string", "application/json", append(append([]byte(`{"name":"`), big...), `"}`...)},
		{"12 MiB form", "application/x-www-form-urlencoded", append([]byte("name="), big...)},
		{"12 MiB multipart", "multipart/form-data; boundary=X", append(append([]byte("--X\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"a.png\"\r\n\r\n"), big...), "\r\n--X--\r\n"...)},
		{"deep array", "application/json", deep},
		{"deep object", "application/json", deepObj},
		{"many form keys", "application/x-www-form-urlencoded", []byte(strings.Repeat("a[]=1&", 500000))},
		{"bad percent", "application/x-www-form-urlencoded", []byte("name=%zz&email=%")},
		{"truncated multipart", "multipart/form-data; boundary=X", []byte("--X\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nabc")},
		{"NUL bytes", "application/json", []byte("{\"name\":\"a\x00b\"}")},
	}
	auth := []string{"Authorization", "Bearer " + hx.mgmt}
	targets := []struct {
		method, path string
		hdr          []string
	}{
		{"POST", "/api/v2/organizations", auth},
		{"POST", "/api/v2/org/" + hx.org + "/users", auth},
		{"PUT", "/api/v2/org/" + hx.org + "/applications/" + hx.spaID, auth},
		{"POST", "/api/v2/oauth/token", nil},
		{"POST", "/api/1/profile/create.json?accessTokenId=" + hx.appToken, nil},
		{"POST", "/api/1/tenant/create.json?accessTokenId=" + hMasterSecret, nil},
		{"POST", "/api/1/profile/" + hx.profile + "/uploadAttachment.json?accessTokenId=" + hx.appToken, nil},
		{"POST", "/t/" + hx.org + "/oauth/token", nil},
		{"POST", "/t/" + hx.org + "/login", nil},
		{"POST", "/enterprise/" + hx.org + "_x/acs", nil},
		{"POST", "/enterprise-setup/metadata", nil},
	}
	for _, tg := range targets {
		for _, b := range bodies {
			r := httptest.NewRequest(tg.method, "http://gatehouse.test"+tg.path, bytes.NewReader(b.body))
			r.Header.Set("Content-Type", b.ct)
			for i := 0; i+1 < len(tg.hdr); i += 2 {
				r.Header.Set(tg.hdr[i], tg.hdr[i+1])
			}
			r.RequestURI = strings.TrimPrefix(r.URL.String(), "http://gatehouse.test")
			before := hx.logs.Len()
			w := httptest.NewRecorder()
			hx.h.ServeHTTP(w, r)
			checkAnswer(t, r, w)
			if w.Code < 400 && b.name != "NUL bytes" {
				t.Errorf("%s %s with %s: %d %.200s", tg.method, tg.path, b.name, w.Code, w.Body)
			}
			if strings.Contains(hx.logs.String()[before:], "panic") {
				t.Errorf("%s %s with %s: a panic was recovered", tg.method, tg.path, b.name)
			}
		}
	}
}

// TestWrongMethodOnOAuthEndpoints: the OAuth JSON endpoints answer a wrong
// method with a JSON 405 naming the allowed ones, as their clients expect.
func TestWrongMethodOnOAuthEndpoints(t *testing.T) {
	hx := newHarness(t, "memory:")
	for _, c := range []struct{ method, path, allow string }{
		{"GET", "/t/" + hx.org + "/oauth/token", "POST"},
		{"PUT", "/oauth/token", "POST"},
		{"DELETE", "/t/" + hx.org + "/userinfo", "GET"},
		{"POST", "/t/" + hx.org + "/.well-known/openid-configuration", "GET"},
		{"GET", "/api/v1/tenants/" + hx.org + "/" + hx.spaID + "/oauth/token/revoke", "POST"},
	} {
		w := hx.do(c.method, c.path, "", nil)
		var e map[string]string
		if w.Code != 405 || json.Unmarshal(w.Body.Bytes(), &e) != nil || e["error"] == "" ||
			!strings.Contains(w.Header().Get("Allow"), c.allow) {
			t.Errorf("%s %s: %d Allow %q %s", c.method, c.path, w.Code, w.Header().Get("Allow"), w.Body)
		}
	}
	// Unknown URLs in the API namespace are JSON 404s.
	for _, p := range []string{"/api/v1/tenants/", "/api/v3/organizations", "/api/v1/nope"} {
		if w := hx.do("GET", p, "", nil); w.Code != 404 || !json.Valid(w.Body.Bytes()) {
			t.Errorf("GET %s: %d %q", p, w.Code, w.Body)
		}
	}
	// Browser pages keep the mux's behaviour; a served method is unaffected.
	if w := hx.do("GET", "/t/"+hx.org+"/.well-known/openid-configuration", "", nil); w.Code != 200 {
		t.Errorf("discovery: %d", w.Code)
	}
}
