package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestCrafterPathsAnswerJSON sends raw requests to the running server:
// both Crafter base paths are served, and a doubled slash, a dot segment
// or a malformed escape under them is the face's JSON error (net/http's
// ServeMux would redirect the first two, and net/http itself answers the
// last in plain text before any handler).
func TestCrafterPathsAnswerJSON(t *testing.T) {
	base, _, _ := startServer(t, "-store", "bolt:"+filepath.Join(t.TempDir(), "g.db"), "-monitoring-token", hMonitoring)
	addr := strings.TrimPrefix(base, "http://")
	for _, tc := range []struct {
		target string
		status int
		want   string
	}{
		{"/api/1/monitoring/version.json?token=" + hMonitoring, 200, `"packageVersion"`},
		{"/crafter-profile/api/1/monitoring/version.json?token=" + hMonitoring, 200, `"packageVersion"`},
		{"/api/1/profile//attributes", 404, `"errorCode":"OTHER"`},
		{"/crafter-profile/api/1/profile//attributes", 404, `"errorCode":"OTHER"`},
		{"/api/1/profile/../tenant/x", 404, `"errorCode":"OTHER"`},
		{"/api/1/profile/%zz", 400, `"message":"Malformed path"`},
		{"/crafter-profile/api/1/profile/%zz/attributes", 400, `"message":"Malformed path"`},
		{"/api/v2/org/%zz/users", 400, `"error":"bad_request"`},
		{"/api/v2/%zz", 400, `"error_description":"malformed path"`},
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(c, "GET "+tc.target+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		c.Close()
		if res.StatusCode != tc.status || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") ||
			!strings.Contains(string(b), tc.want) {
			t.Errorf("%s: %d %s %s; want %d with %s", tc.target, res.StatusCode, res.Header.Get("Content-Type"), b, tc.status, tc.want)
		}
	}
}

// TestCrafterNumbersThroughCryptr sets numeric attributes through the
// Crafter face, reads them back as sent, and reads the same (shared)
// user through the Cryptr face, which still answers it (its metadata
// shows token MetaKeys only; identity/api's TestMetadataKeepsNumbers pins
// how it renders a stored number).
func TestCrafterNumbersThroughCryptr(t *testing.T) {
	hx := newHarness(t, "memory:")
	hx.must(200, "POST", "/api/1/tenant/"+hx.org+"/attribute_definitions/add.json?accessTokenId="+hx.appToken, "application/json",
		`[{"name":"big","metadata":{},"permissions":[{"application":"*","allowedActions":["*"]}]},`+
			`{"name":"one","metadata":{},"permissions":[{"application":"*","allowedActions":["*"]}]}]`)
	hx.must(200, "POST", "/api/1/profile/"+hx.profile+"/attributes/update.json?accessTokenId="+hx.appToken, "application/json",
		`{"big":12345678901234567,"one":1.0}`)
	w := hx.do("GET", "/api/1/profile/"+hx.profile+".json?accessTokenId="+hx.appToken, "", nil)
	if !strings.Contains(w.Body.String(), `"big":12345678901234567`) || !strings.Contains(w.Body.String(), `"one":1.0`) {
		t.Fatalf("Crafter face: %s", w.Body)
	}
	w = hx.do("GET", "/api/v2/org/"+hx.org+"/user-by-email/bob@acme.test", "", nil, "Authorization", "Bearer "+hx.mgmt)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"email":"bob@acme.test"`) {
		t.Fatalf("Cryptr face: %d %s", w.Code, w.Body)
	}
}
