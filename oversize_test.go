package gatehouse_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse"
)

// A request that declares a body over a face's limit and asks to be told
// before it sends it (Expect: 100-continue, as curl does for large
// bodies) gets the face's refusal, in the face's format, instead of
// "100 Continue" followed by a connection reset while it sends a body
// the face never reads.
func TestOversizeBodiesRefusedBeforeSent(t *testing.T) {
	f := newFixture(t, "", gatehouse.Options{Serve: gatehouse.DefaultFaces | gatehouse.Console},
		func(gh *gatehouse.Gatehouse) http.Handler { return gh.Handler() })
	org := "acme"
	for _, tc := range []struct {
		name, path, ctype string
		wantType          string
	}{
		{"cryptr api", "/api/v2/organizations", "application/json", "application/json"},
		{"crafter api", "/api/1/tenant/create.json", "application/json", "application/json"},
		{"token endpoint", "/t/" + org + "/oauth/token", "application/x-www-form-urlencoded", "application/json"},
		{"revocation", "/t/" + org + "/oauth/revoke", "application/x-www-form-urlencoded", "application/json"},
		{"hosted login", "/t/" + org + "/login", "application/x-www-form-urlencoded", "text/html"},
		{"saml acs", "/enterprise/unknown/acs", "application/x-www-form-urlencoded", "text/html"},
		{"sso portal", "/enterprise-setup/some-token", "application/x-www-form-urlencoded", "text/html"},
		{"console", "/admin/setup", "application/x-www-form-urlencoded", "text/html"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(f.srv.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(30 * time.Second)) // a hang fails, slowness does not
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
				tc.path, strings.TrimPrefix(f.srv.URL, "http://"), tc.ctype, 10<<20)
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.StatusCode < 400 || res.StatusCode >= 500 {
				t.Fatalf("POST %s with 10 MiB declared: %s first, want the face's 4xx", tc.path, res.Status)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.wantType) {
				t.Errorf("POST %s: %s in %q, want %s", tc.path, res.Status, ct, tc.wantType)
			}
			t.Logf("%s: %s", tc.path, res.Status)
		})
	}
}
