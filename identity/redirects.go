package identity

import (
	"net"
	"net/url"
	"slices"
	"strings"
)

// AllowsRedirect reports whether uri is a redirect URI of a: one of
// AllowedRedirectURLs, compared as strings, exactly. A native
// application's loopback redirect URI (http://127.0.0.1/… or
// http://[::1]/…) matches with any port (RFC 8252 §7.3: a native
// application listens on a port the system gives it at run time); its
// scheme, address, path and query still match exactly. Every face that
// redirects to an application asks this.
func (a *Application) AllowsRedirect(uri string) bool {
	if uri == "" {
		return false
	}
	if slices.Contains(a.AllowedRedirectURLs, uri) {
		return true
	}
	if a.ApplicationType != AppNative {
		return false
	}
	got, ok := loopbackRedirect(uri)
	if !ok {
		return false
	}
	for _, r := range a.AllowedRedirectURLs {
		if want, ok := loopbackRedirect(r); ok && got == want {
			return true
		}
	}
	return false
}

// loopbackRedirect returns a loopback IP redirect URI without its port
// (scheme, address, path, query), and whether uri is one: http, a
// loopback IP literal (never the name localhost, RFC 8252 §8.3), no user
// information, no fragment.
func loopbackRedirect(uri string) (string, bool) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || u.User != nil || u.Fragment != "" || strings.Contains(uri, "#") || u.Opaque != "" {
		return "", false
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil || !ip.IsLoopback() || u.Hostname() != ip.String() {
		return "", false
	}
	if p := u.Port(); p != "" {
		for _, c := range p {
			if c < '0' || c > '9' {
				return "", false
			}
		}
	}
	return "http://" + u.Hostname() + "\x00" + u.EscapedPath() + "?" + u.RawQuery, true
}

// CheckRedirectURL accepts a redirect URI of an application of type
// appType: an absolute http(s) URL (CheckURL), or, for a native
// application, a private-use URI scheme named after a domain in reverse
// order (RFC 8252 §7.1: com.example.app:/callback), whose scheme must
// hold a dot so that it cannot be a well-known one (javascript:, data:,
// file:, http:).
func CheckRedirectURL(appType, s string) string {
	r := CheckURL(s)
	if r == "" || appType != AppNative {
		return r
	}
	if len(s) > 2048 {
		return r
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || !strings.Contains(u.Scheme, ".") || u.Fragment != "" || strings.Contains(s, "#") || u.User != nil {
		return r + ", or a private-use scheme named after a reversed domain (com.example.app:/callback)"
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "javascript", "data", "file", "vbscript", "blob":
		return r
	}
	return ""
}
