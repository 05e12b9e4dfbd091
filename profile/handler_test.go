package profile

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

var pngBytes = append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 100)...)

func (e *env) upload(id, partName, filename string, data []byte, extra url.Values) resp {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, vs := range extra {
		for _, v := range vs {
			_ = w.WriteField(k, v)
		}
	}
	fw, _ := w.CreateFormFile(partName, filename)
	_, _ = fw.Write(data)
	_ = w.Close()
	req := httptest.NewRequest("POST", "/api/1/profile/"+id+"/uploadAttachment.json?accessTokenId="+e.master, &b)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return e.serve(req)
}

func TestAttachments(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	p := e.profile("acme", "alice", nil)
	svg := []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
	tests := []struct {
		name, part, file string
		data             []byte
		extra            url.Values
		status           int
	}{
		{"png", "attachment", "me.png", pngBytes, nil, 200},
		{"filename param wins", "attachment", "tmp123", pngBytes, url.Values{"filename": {"avatar.png"}}, 200},
		{"svg", "attachment", "logo.svg", svg, nil, 200},
		{"exe", "attachment", "x.exe", []byte("MZ"), nil, 400},
		{"html renamed png", "attachment", "x.png", []byte("<html><script>alert(1)</script>"), nil, 400},
		{"png named jpg", "attachment", "x.jpg", pngBytes, nil, 400},
		{"no extension", "attachment", "x", pngBytes, nil, 400},
		{"wrong part", "file", "x.png", pngBytes, nil, 400},
		{"too large", "attachment", "big.png", append(pngBytes, make([]byte, 5<<20)...), nil, 413},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := e.upload(p.ID, tc.part, tc.file, tc.data, tc.extra); r.status != tc.status {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tc.status)
			}
		})
	}
	if r := e.upload("5f0000000000000000000000", "attachment", "me.png", pngBytes, nil); r.status != 404 {
		t.Fatalf("upload to a missing profile: %d", r.status)
	}
	// The Java client lists with a trailing slash before .json.
	var list []ProfileAttachment
	e.mustOK(e.do("GET", "/api/1/profile/"+p.ID+"/attachments/.json", e.master, nil)).json(t, &list)
	if len(list) != 3 {
		t.Fatalf("%d attachments, want 3", len(list))
	}
	var det ProfileAttachment
	e.mustOK(e.do("GET", "/api/1/profile/"+p.ID+"/attachment/avatar/details.json", e.master, nil)).json(t, &det)
	if det.FileName == nil || *det.FileName != "avatar" || *det.ContentType != "image/png" || det.FileSizeBytes != int64(len(pngBytes)) || *det.FileSize != "108 B" {
		t.Fatalf("details %+v", det)
	}
	var none ProfileAttachment
	e.mustOK(e.do("GET", "/api/1/profile/"+p.ID+"/attachment/nope/details", e.master, nil)).json(t, &none)
	if none.ID != nil {
		t.Fatalf("missing attachment details %+v", none)
	}
	r := e.mustOK(e.do("GET", "/api/1/profile/"+p.ID+"/attachment/logo", e.master, nil))
	if !bytes.Equal(r.body, svg) || r.header.Get("Content-Type") != "image/svg+xml" ||
		r.header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment") ||
		!strings.Contains(r.header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("svg download headers %v", r.header)
	}
	r = e.mustOK(e.do("GET", "/api/1/profile/"+p.ID+"/attachment/me.json", e.master, nil))
	if !bytes.Equal(r.body, pngBytes) || !strings.HasPrefix(r.header.Get("Content-Disposition"), "inline") {
		t.Fatalf("png download %v", r.header)
	}
	if r := e.mustOK(e.do("GET", "/api/1/profile/"+p.ID+"/attachment/nope", e.master, nil)); len(r.body) != 0 {
		t.Fatalf("missing download body %q", r.body)
	}
	// Re-upload replaces; deleting the profile removes them.
	e.mustOK(e.upload(p.ID, "attachment", "me.png", append(pngBytes, 1), nil))
	list = nil
	e.mustOK(e.do("GET", "/api/1/profile/"+p.ID+"/attachments", e.master, nil)).json(t, &list)
	if len(list) != 3 {
		t.Fatalf("%d attachments after replacing one", len(list))
	}
	e.mustOK(e.do("POST", "/api/1/profile/"+p.ID+"/delete", e.master, nil))
	if storeContains(t, e, "IHDR") || countBlobs(t, e) != 0 {
		t.Fatal("attachment bytes left after deleting the profile")
	}
}

func countBlobs(t *testing.T, e *env) int {
	n := 0
	_ = e.id.Backend(kv.Inside()).View(t.Context(), func(tx identity.ReadTx) error {
		return tx.Scan(kv.Key('r', "production", "blob"), identity.ScanOptions{KeysOnly: true}, func(_, _ []byte) error {
			n++
			return nil
		})
	})
	return n
}

func TestAccessTokens(t *testing.T) {
	e := newEnv(t)
	body := map[string]any{"id": "b4d44030-d0af-11e3-9c1a-0800200c9a66", "application": "engine", "master": false,
		"tenantPermissions": []any{map[string]any{"tenant": "*", "allowedActions": []string{"READ_TENANT"}}}}
	var tok AccessToken
	e.mustOK(e.doJSON("/api/1/access_token/create.json", e.master, body, nil)).json(t, &tok)
	if tok.ID != body["id"] || tok.Application != "engine" || tok.ExpiresOn != nil {
		t.Fatalf("token %+v", tok)
	}
	if r := e.doJSON("/api/1/access_token/create.json", e.master, body, nil); r.status != 409 || r.code() != CodeAccessTokenExists {
		t.Fatalf("duplicate: %d %s", r.status, r.body)
	}
	var gen AccessToken
	e.mustOK(e.doJSON("/api/1/access_token/create", e.master, map[string]any{"application": "x"}, nil)).json(t, &gen)
	if len(gen.ID) < 43 {
		t.Fatalf("generated id %q shorter than 256 bits", gen.ID)
	}
	// The new token works and reads tenants (none yet).
	if r := e.do("GET", "/api/1/tenant/count", tok.ID, nil); r.status != 200 || string(r.body) != "0" {
		t.Fatalf("count with the new token: %d %s", r.status, r.body)
	}
	var list []AccessToken
	e.mustOK(e.do("GET", "/api/1/access_token/all", e.master, nil)).json(t, &list)
	if len(list) != 3 {
		t.Fatalf("%d tokens, want 3", len(list))
	}
	if r := e.do("GET", "/api/1/access_token/no-such-token-id-xx", e.master, nil); r.status != 404 || r.code() != CodeNoSuchAccessToken {
		t.Fatalf("missing token: %d %s", r.status, r.body)
	}
	e.mustOK(e.do("POST", "/api/1/access_token/"+tok.ID+"/delete", e.master, nil))
	e.mustOK(e.do("POST", "/api/1/access_token/"+tok.ID+"/delete", e.master, nil))
	if r := e.do("GET", "/api/1/tenant/count", tok.ID, nil); r.status != 403 || r.code() != CodeAccessDenied {
		t.Fatalf("deleted token still works: %d", r.status)
	}
	if r := e.doJSON("/api/1/access_token/create", e.master, map[string]any{"id": "short"}, nil); r.status != 400 {
		t.Fatalf("short id: %d", r.status)
	}
}

func TestMonitoring(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		path, token string
		status      int
		code        string
	}{
		{"/api/1/monitoring/status.json", "", 400, CodeOther},
		{"/api/1/monitoring/status.json", "wrong", 401, CodeAccessDenied},
		{"/api/1/monitoring/status.json", "monitor-secret-123", 200, ""},
		{"/api/1/monitoring/memory", "monitor-secret-123", 200, ""},
		{"/api/1/monitoring/version", "monitor-secret-123", 200, ""},
	}
	for _, tc := range tests {
		r := e.do("GET", tc.path, "", url.Values{"token": {tc.token}})
		if r.status != tc.status || (tc.code != "" && r.code() != tc.code) {
			t.Errorf("%s %q: %d %s", tc.path, tc.token, r.status, r.body)
		}
	}
	var m Memory
	e.mustOK(e.do("GET", "/api/1/monitoring/memory", "", url.Values{"token": {"monitor-secret-123"}})).json(t, &m)
	if m.TotalJvmMemory <= 0 {
		t.Fatalf("memory %+v", m)
	}
	// Unconfigured token: refused.
	s2, _ := New(Options{SyncMail: true, Identity: e.id})
	w := httptest.NewRecorder()
	s2.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/api/1/monitoring/status?token=", nil))
	if w.Code != 400 {
		t.Fatalf("unconfigured monitoring: %d", w.Code)
	}
	w = httptest.NewRecorder()
	s2.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/api/1/monitoring/status?token=anything", nil))
	if w.Code != 401 {
		t.Fatalf("unconfigured monitoring with a token: %d", w.Code)
	}
	// A host that keeps only the token's hash.
	hash := identity.HashSecret("hashed-token")
	s3, _ := New(Options{SyncMail: true, Identity: e.id, MonitoringAuth: func(_ context.Context, tok string) bool {
		return identity.SecretMatches(tok, hash)
	}})
	for tok, want := range map[string]int{"hashed-token": 200, "other": 401} {
		w = httptest.NewRecorder()
		s3.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/api/1/monitoring/version.json?token="+tok, nil))
		if w.Code != want {
			t.Errorf("MonitoringAuth with %q: %d, want %d", tok, w.Code, want)
		}
	}
}

func TestRouting(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	tests := []struct {
		name, method, path string
		status             int
	}{
		{"with .json", "GET", "/api/1/tenant/acme.json", 200},
		{"without .json", "GET", "/api/1/tenant/acme", 200},
		{"relative to the mount", "GET", "/tenant/acme", 200},
		{"literal wins over variable", "GET", "/api/1/tenant/count.json", 200},
		{"wrong method", "POST", "/api/1/tenant/acme", 405},
		{"unknown path", "GET", "/api/1/nothing/here", 404},
		{"HEAD", "HEAD", "/api/1/tenant/acme", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := e.do(tc.method, tc.path, e.master, nil); r.status != tc.status {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tc.status)
			}
		})
	}
	// Parameters from the query string of a POST with a form body.
	req := httptest.NewRequest("POST", "/api/1/tenant/acme/roles/add.json?accessTokenId="+e.master, strings.NewReader("role=A&role=B,C"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r := e.serve(req)
	if r.status != 200 || !strings.Contains(string(r.body), `"A","B","C"`) {
		t.Fatalf("mixed params: %d %s", r.status, r.body)
	}
	if r.header.Get("Content-Type") != "application/json;charset=UTF-8" {
		t.Fatalf("content type %q", r.header.Get("Content-Type"))
	}
}

func TestEnvironmentIsolation(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	p := e.profile("acme", "alice", nil)
	sandbox := e.token(identity.Credential{Application: "a", Environment: identity.Sandbox,
		TenantPermissions: []identity.TenantPermission{{Tenant: "*", AllowedActions: []string{"*"}}}})
	if r := e.do("GET", "/api/1/profile/"+p.ID, sandbox, nil); r.status != 404 {
		t.Fatalf("a sandbox token reads a production profile: %d", r.status)
	}
	var n int
	e.mustOK(e.do("GET", "/api/1/profile/count", sandbox, url.Values{"tenantName": {"acme"}})).json(t, &n)
	if n != 0 {
		t.Fatalf("sandbox count %d", n)
	}
	_ = http.StatusOK
}

// TestMethodNotAllowedNamesAllow: a path served for other methods answers
// 405 OTHER in Crafter's format with the Allow header listing them (RFC
// 9110 requires it; Spring sends it), GET routes also allowing HEAD.
func TestMethodNotAllowedNamesAllow(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		method, path, allow string
	}{
		{"PUT", "/api/1/tenant/acme", "GET, HEAD"},
		{"DELETE", "/api/1/tenant/acme.json", "GET, HEAD"},
		{"GET", "/api/1/tenant/acme/delete", "POST"},
		{"GET", "/api/1/authentication/ticket/abc/invalidate", "POST"},
		{"POST", "/api/1/profile/update", "GET, HEAD"}, // the path of GET /profile/{id}
		{"PATCH", "/crafter-profile/api/1/access_token/all", "GET, HEAD"},
		{"POST", "/api/1/monitoring/status", "GET, HEAD"},
	}
	for _, c := range cases {
		r := e.serve(httptest.NewRequest(c.method, c.path+"?accessTokenId="+e.master, nil))
		if r.status != 405 || r.code() != CodeOther {
			t.Errorf("%s %s: %d %s, want 405 OTHER", c.method, c.path, r.status, r.body)
		}
		if got := r.header.Get("Allow"); got != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
		}
	}
	// A path no route serves is 404, without Allow.
	if r := e.serve(httptest.NewRequest("PUT", "/api/1/nope?accessTokenId="+e.master, nil)); r.status != 404 || r.header.Get("Allow") != "" {
		t.Errorf("unknown path: %d Allow %q", r.status, r.header.Get("Allow"))
	}
}
