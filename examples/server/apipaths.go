package main

import (
	"encoding/json"
	"net/http"
	"path"
	"strings"
)

// apiPaths keeps http.ServeMux's path cleaning away from the API
// namespace. The mux answers a path that is not canonical ("..", "." or
// empty segments: /api/v2/org/../x, /api/v2//organizations) and a subtree
// root without its slash (/api/v2) with an HTML redirect; an API client
// must get JSON instead. Such a path under /api/ is served, as it is, by
// the face whose prefix it starts with (faces maps "/api/v2" to the
// Cryptr face, which answers it with a JSON 404), else by notFound; it is
// never served as the path it cleans to. Every other request goes to mux.
func apiPaths(mux http.Handler, faces map[string]http.Handler, notFound http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p != "/api" && !strings.HasPrefix(p, "/api/") {
			mux.ServeHTTP(w, r)
			return
		}
		root, isRoot := faces[p]
		switch {
		case isRoot:
			root.ServeHTTP(w, r)
		case canonical(p):
			mux.ServeHTTP(w, r)
		default:
			for prefix, face := range faces {
				if strings.HasPrefix(p, prefix+"/") {
					face.ServeHTTP(w, r)
					return
				}
			}
			notFound.ServeHTTP(w, r)
		}
	})
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
