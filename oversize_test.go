package gatehouse_test

import (
	"bufio"
	"fmt"
	"io"
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
// the face never reads. A small body that asks the same is answered
// without delay whether the route reads it ("100 Continue", then the
// answer) or refuses it unread.
func TestOversizeBodiesRefusedBeforeSent(t *testing.T) {
	f := newFixture(t, "", gatehouse.Options{Serve: gatehouse.DefaultFaces | gatehouse.Console},
		func(gh *gatehouse.Gatehouse) http.Handler { return gh.Handler() })
	org := "acme"
	routes := []struct {
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
	}
	for _, size := range []int{10 << 20, 100} {
		for _, rt := range routes {
			t.Run(fmt.Sprintf("%s/%d", rt.name, size), func(t *testing.T) {
				conn, err := net.Dial("tcp", strings.TrimPrefix(f.srv.URL, "http://"))
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(30 * time.Second)) // a hang fails, slowness does not
				fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
					rt.path, strings.TrimPrefix(f.srv.URL, "http://"), rt.ctype, size)
				br := bufio.NewReader(conn)
				res, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatal(err)
				}
				if res.StatusCode == http.StatusContinue {
					if size > 1<<20 {
						t.Fatalf("POST %s with %d bytes declared: %s, want the face's 4xx", rt.path, size, res.Status)
					}
					// A body within the limits: send it, as a client does.
					if _, err := io.WriteString(conn, strings.Repeat("a", size)); err != nil {
						t.Fatal(err)
					}
					if res, err = http.ReadResponse(br, nil); err != nil {
						t.Fatal(err)
					}
				}
				defer res.Body.Close()
				if res.StatusCode < 400 || res.StatusCode >= 500 {
					t.Fatalf("POST %s with %d bytes declared: %s, want the face's 4xx", rt.path, size, res.Status)
				}
				if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, rt.wantType) {
					t.Errorf("POST %s: %s in %q, want %s", rt.path, res.Status, ct, rt.wantType)
				}
			})
		}
	}
}
