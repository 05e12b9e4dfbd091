package testkit

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
)

// HostHome and HostPage are what the host routes of MountAt answer, so a
// test can tell a host page from a face's.
const (
	HostHome = "host home"
	HostPage = "host page"
)

// MountAt returns a host's ServeMux with two routes of its own (GET /{$}
// answering HostHome, GET /host/page answering HostPage) and the face h
// under prefix, mounted the way Gatehouse documents it: with
// mux.Handle(prefix+"/", http.StripPrefix(prefix, h)). With prefix "" the
// face takes "/" (the host's GET /{$} still wins at the root).
func MountAt(prefix string, h http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, HostHome) })
	mux.HandleFunc("GET /host/page", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, HostPage) })
	if prefix == "" {
		mux.Handle("/", h)
	} else {
		mux.Handle(prefix+"/", http.StripPrefix(prefix, h))
	}
	return mux
}

// Transport is an http.RoundTripper that serves the requests for Host
// in-process with Handler, as a server would (RequestURI, RemoteAddr and a
// non-nil body set), so a client with a cookie jar talks to a handler at a
// made-up host name ("gh.test") without a listener. Requests for another
// host fail.
type Transport struct {
	Host    string
	Handler http.Handler
}

// RoundTrip serves req with t.Handler.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != t.Host {
		return nil, fmt.Errorf("testkit: no route to host %q (only %q)", req.URL.Host, t.Host)
	}
	in := req.Clone(req.Context())
	in.RequestURI = req.URL.RequestURI()
	in.RemoteAddr = "192.0.2.10:40000"
	in.Host = req.URL.Host
	if in.Body == nil {
		in.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	t.Handler.ServeHTTP(rec, in)
	res := rec.Result()
	res.Request = req
	return res, nil
}

// Client returns a client of t with jar (nil for none) that does not
// follow redirects.
func (t *Transport) Client(jar http.CookieJar) *http.Client {
	return &http.Client{Transport: t, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var linkRE = regexp.MustCompile(`(?i)\b(href|action|src)\s*=\s*"([^"]*)"`)

// Links returns the URLs an HTML page emits in href, action and src
// attributes (unescaped), except fragments ("#main") and data: URLs.
func Links(page string) []string {
	var out []string
	for _, m := range linkRE.FindAllStringSubmatch(page, -1) {
		u := html.UnescapeString(m[2])
		if strings.HasPrefix(u, "#") || strings.HasPrefix(u, "data:") {
			continue
		}
		out = append(out, u)
	}
	return out
}

// Under reports whether u, a URL a face emitted, lies under the face's
// base URL base ("http://gh.test/auth"): either base + "/…" or, as a path,
// base's path + "/…". A URL of another origin (an IdP, a relying party) is
// reported as foreign.
func Under(base, u string) (under, foreign bool) {
	if strings.HasPrefix(u, base+"/") || strings.HasPrefix(u, base+"?") {
		return true, false
	}
	if i := strings.Index(base, "://"); i >= 0 {
		origin, path := base, ""
		if j := strings.Index(base[i+3:], "/"); j >= 0 {
			origin, path = base[:i+3+j], base[i+3+j:]
		}
		if strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//") {
			return strings.HasPrefix(u, path+"/"), false
		}
		if !strings.HasPrefix(u, origin+"/") && u != origin {
			return false, true
		}
	}
	return false, false
}
