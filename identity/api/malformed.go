package api

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// Listener wraps l so that a request under /api/v2 whose target net/http
// refuses before any handler runs (a malformed escape such as "%zz" in the
// path) is answered in the Cryptr error format, 400 bad_request, instead
// of net/http's plain text. Serve the server from the returned listener
// (after any TLS layer); other targets keep net/http's answer, so it
// stacks with the Crafter face's profile.Listener.
func Listener(l net.Listener) net.Listener { return httpx.AnswerMalformedTargets(l, MalformedTarget) }

// MalformedTarget is the answer to a request line whose target does not
// parse: for a target under /api/v2, 400 with Cryptr's error JSON; any
// other is left to the caller (ok=false).
func MalformedTarget(target string) (status int, contentType string, body []byte, ok bool) {
	if i := strings.Index(target, "://"); i >= 0 { // absolute form
		rest := target[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			target = rest[j:]
		}
	}
	path, _, _ := strings.Cut(target, "?")
	if path != "/api/v2" && !strings.HasPrefix(path, "/api/v2/") {
		return 0, "", nil, false
	}
	body, err := json.Marshal(map[string]string{"error": "bad_request", "error_description": "malformed path"})
	if err != nil {
		return 0, "", nil, false
	}
	return http.StatusBadRequest, "application/json", body, true
}
