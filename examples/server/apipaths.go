package main

import (
	"encoding/json"
	"net/http"
	"path"
	"strings"
)

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
