package gatehouse

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
)

// consolePath is where the admin console is served under the base path.
const consolePath = "/admin"

// inProcess is an http.RoundTripper that serves the requests under base
// with h, in process, and refuses any other URL. The admin console reaches
// the OIDC provider through it, so a host whose public URL does not loop
// back to itself (a proxy, a firewall, split DNS) still signs members in.
type inProcess struct {
	base string
	h    http.Handler
}

// RoundTrip serves req with the handler when its URL lies under base.
func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	u := req.URL.String()
	if u != t.base && !strings.HasPrefix(u, t.base+"/") {
		return nil, fmt.Errorf("gatehouse: in-process client: %s is not under %s", req.URL.Redacted(), t.base)
	}
	in := req.Clone(req.Context())
	in.RequestURI = req.URL.RequestURI()
	in.RemoteAddr = "127.0.0.1:0"
	if in.Body == nil {
		in.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, in)
	res := rec.Result()
	res.Request = req
	return res, nil
}
