package gatehouse

import (
	"encoding/json"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/profile"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// router assembles the handler of the faces that were built, on a
// private mux, behind the base path.
func (g *Gatehouse) router(portal http.Handler) http.Handler {
	mux := http.NewServeMux()
	faces := map[string]http.Handler{}
	if g.sso != nil {
		mux.Handle("/enterprise/", g.sso.Handler())
	}
	if portal != nil {
		mux.Handle("/enterprise-setup/", portal)
	}
	if g.opts.Serve&Console != 0 {
		// The console is built after this router (it reaches the provider
		// through it), so it is looked up per request.
		mux.Handle(consolePath+"/", http.StripPrefix(consolePath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			g.console.ServeHTTP(w, r)
		})))
	}
	if g.api != nil {
		mux.Handle("/api/v2/", g.api)
		faces["/api/v2"] = g.api
	}
	if g.crafter != nil {
		ch := g.crafter.Handler()
		mux.Handle(profile.BasePath+"/", ch)
		mux.Handle(profile.JavaClientBasePath+"/", ch)
		faces[profile.BasePath] = ch
	}
	if g.provider != nil {
		// The provider's JSON endpoints answer a method they do not serve
		// with an OAuth-style JSON 405, not the mux's plain-text one.
		allowed := map[string][]string{}
		for _, pattern := range g.provider.Patterns() {
			method, p, _ := strings.Cut(pattern, " ")
			if g.opts.Serve&LegacyRootURLs == 0 && legacyRootURL(p) {
				continue
			}
			mux.Handle(pattern, g.provider)
			if jsonEndpoint(p) {
				allowed[p] = append(allowed[p], method)
			}
		}
		for p, methods := range allowed {
			mux.Handle(p, methodNotAllowed(methods))
		}
	}
	// Unknown URLs in the API namespace (/api/v1 era-1 URLs, typos) are
	// JSON 404s, like the faces' own.
	mux.HandleFunc("/api/", apiNotFound)

	// apiPaths keeps the mux's redirects away from /api/; the Crafter face
	// also serves its Java client's base path (/crafter-profile/api/1), so
	// it takes both its base paths ahead of everything (Intercept).
	h := apiPaths(mux, faces, http.HandlerFunc(apiNotFound))
	if g.crafter != nil {
		h = g.crafter.Intercept(h)
	}
	if g.opts.RouteMiddleware != nil {
		h = g.opts.RouteMiddleware(h)
	}
	h = httpx.Recover(g.log, "gatehouse: panic serving request", h, writeInternalError)
	return underBase(g.basePath, g.escapedBasePath, h)
}

// underBase serves the requests under the base path with h, the path
// removed from URL.Path and URL.RawPath as http.StripPrefix does (which
// would also take /authx for /auth); any other request is a 404. decoded
// and escaped are the base path's two forms (url.URL Path and
// EscapedPath); the base path itself is served as "/".
func underBase(decoded, escaped string, h http.Handler) http.Handler {
	if decoded == "" || decoded == "/" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := cutBase(r.URL.EscapedPath(), escaped)
		p, ok2 := cutBase(r.URL.Path, decoded)
		if !ok || !ok2 {
			http.NotFound(w, r)
			return
		}
		r2 := new(http.Request)
		*r2 = *r
		r2.URL = new(*r.URL)
		r2.URL.Path, r2.URL.RawPath = p, ""
		if r.URL.RawPath != "" {
			r2.URL.RawPath = rest
		}
		h.ServeHTTP(w, r2)
	})
}

// cutBase returns p without the leading base path, "/" for the base path
// itself; ok is false when p is not under base (/authx is not under
// /auth).
func cutBase(p, base string) (string, bool) {
	rest, ok := strings.CutPrefix(p, base)
	switch {
	case !ok:
		return "", false
	case rest == "":
		return "/", true
	case rest[0] != '/':
		return "", false
	}
	return rest, true
}

// legacyRootURL reports whether a provider path (of either environment's
// tree) is one of Cryptr's URLs outside the issuer tree: the gateways /
// and /a/{domain}/, /oauth/token and /oauth/revoke, the era-2 token URL
// /org/{domain}/oauth2/token and the era-1 /api/v1/tenants/... URLs.
func legacyRootURL(p string) bool {
	if rest, ok := strings.CutPrefix(p, tokens.SandboxPath); ok && strings.HasPrefix(rest, "/") {
		p = rest
	}
	return p == "/{$}" || strings.HasPrefix(p, "/a/") || strings.HasPrefix(p, "/oauth/") ||
		strings.HasPrefix(p, "/api/v1/") || p == "/org/{domain}/oauth2/token"
}

// jsonEndpoint reports whether a provider path is a JSON API (token,
// revocation, introspection, userinfo, keys, discovery, Cryptr's era-1 URLs)
// rather than a browser page.
func jsonEndpoint(path string) bool {
	if strings.HasSuffix(path, "/slo-after-revoke-token") { // a browser hop
		return false
	}
	return strings.HasPrefix(path, "/api/") || strings.Contains(path, "/oauth") ||
		strings.HasSuffix(path, "/userinfo") || strings.Contains(path, "/.well-known")
}

// methodNotAllowed answers 405 in the OAuth error format, with Allow.
func methodNotAllowed(methods []string) http.Handler {
	allow := append([]string(nil), methods...)
	if slices.Contains(allow, http.MethodGet) && !slices.Contains(allow, http.MethodHead) {
		allow = append(allow, http.MethodHead)
	}
	slices.Sort(allow)
	allowHeader := strings.Join(allow, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allowHeader)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusMethodNotAllowed)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request",
			"error_description": "method not allowed; use " + allowHeader})
	})
}

// apiPaths keeps http.ServeMux's redirects away from the API namespace.
// The mux answers a path that is not canonical ("..", "." or empty
// segments: /api/v2/org/../x, /api/v2//organizations) and a subtree root
// without its slash (/api, /api/v2) with an HTML redirect; an API client
// must get JSON instead. Such a path under /api/ is served, as it is, by
// the face whose prefix it starts with (faces maps "/api/v2" to the
// Cryptr face, which answers it with a JSON 404), else by notFound; it is
// never served as the path it cleans to. Every other request goes to mux.
func apiPaths(mux *http.ServeMux, faces map[string]http.Handler, notFound http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if (p != "/api" && !strings.HasPrefix(p, "/api/")) || (canonical(p) && !slashRedirect(mux, r)) {
			mux.ServeHTTP(w, r)
			return
		}
		for prefix, face := range faces {
			if p == prefix || strings.HasPrefix(p, prefix+"/") {
				face.ServeHTTP(w, r)
				return
			}
		}
		notFound.ServeHTTP(w, r)
	})
}

// slashRedirect reports whether mux would redirect r's path (which has
// no trailing slash) to the same path with one: the pattern mux picks is
// that path with a slash.
func slashRedirect(mux *http.ServeMux, r *http.Request) bool {
	p := r.URL.Path
	if strings.HasSuffix(p, "/") {
		return false
	}
	_, pattern := mux.Handler(r)
	if i := strings.IndexByte(pattern, '/'); i >= 0 {
		pattern = pattern[i:]
	}
	return pattern == p+"/"
}

// canonical reports whether http.ServeMux would serve p without
// redirecting: p is its own cleaned form (a trailing slash kept).
func canonical(p string) bool {
	np := path.Clean(p)
	if strings.HasSuffix(p, "/") && np != "/" {
		np += "/"
	}
	return np == p
}

// apiNotFound answers unknown URLs in the API namespace (/api/v1 era-1
// URLs, typos) with a JSON 404 in Cryptr's error format, like the faces'
// own.
func apiNotFound(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNotFound)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": "not_found", "error_description": "no such API endpoint"})
}

// writeInternalError is the answer to a request whose handler panicked
// outside the faces (which answer in their own format).
func writeInternalError(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, `{"error":"internal_error"}`, http.StatusInternalServerError)
}
