package profile

import "strings"

// Patterns returns the route table of the API: one "METHOD path" per
// endpoint, relative to BasePath, with "*" for a path parameter
// ("GET profile/*/attributes"). Each path is also served with a ".json"
// suffix. A test that must cover every endpoint (the isolation matrix of
// the example server) walks this list, so a new route cannot be missed.
func (s *Service) Patterns() []string {
	out := make([]string, 0, len(routes))
	for _, r := range routes {
		out = append(out, r.method+" "+strings.Join(r.pattern, "/"))
	}
	return out
}
