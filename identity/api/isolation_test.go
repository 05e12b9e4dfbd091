package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestTenantIsolation checks that a key managing organization A gets 404
// on every organization-B resource, on every endpoint, and writes nothing;
// the same requests made by a key that manages B are not 404 (so the
// check can fail).
func TestTenantIsolation(t *testing.T) {
	f := newFixture(t)
	admin := f.admin()
	f.mustOrg(admin, "Alpha")
	f.mustOrg(admin, "Beta")
	ua := f.mustUser(admin, "alpha", "a@alpha.com")["id"].(string)
	ub := f.mustUser(admin, "beta", "b@beta.com")["id"].(string)
	aa := f.mustApp(admin, "alpha")["client_id"].(string)
	ab := f.mustApp(admin, "beta")["client_id"].(string)
	for _, d := range []string{"alpha", "beta"} {
		f.json(201, "POST", "/api/v2/org/"+d+"/token-customization/user-metakey", admin, map[string]any{"name": "team"})
	}
	_ = aa
	keyA := f.key(identity.Production, []string{"alpha"})
	keyB := f.key(identity.Production, []string{"beta"})

	type req struct {
		method, path string
		body         any
	}
	userBody := map[string]any{"email": "new@beta.com"}
	appBody := map[string]any{"name": "x", "application_type": "machine"}
	// Requests on organization B's resources, through B's paths.
	onB := map[string][]req{
		"GET /api/v2/organizations/{domain}":                               {{"GET", "/api/v2/organizations/beta", nil}},
		"PUT /api/v2/organizations/{domain}":                               {{"PUT", "/api/v2/organizations/beta", map[string]any{"name": "Beta 2"}}},
		"PATCH /api/v2/organizations/{domain}":                             {{"PATCH", "/api/v2/organizations/beta", map[string]any{"name": "Beta 2"}}},
		"POST /api/v2/organizations/{domain}":                              {{"POST", "/api/v2/organizations/beta", map[string]any{"name": "Beta 2"}}},
		"GET /api/v2/org/{domain}/users":                                   {{"GET", "/api/v2/org/beta/users", nil}},
		"POST /api/v2/org/{domain}/users":                                  {{"POST", "/api/v2/org/beta/users", userBody}},
		"GET /api/v2/org/{domain}/users/{user_id}":                         {{"GET", "/api/v2/org/beta/users/" + ub, nil}},
		"PUT /api/v2/org/{domain}/users/{user_id}":                         {{"PUT", "/api/v2/org/beta/users/" + ub, map[string]any{"given_name": "x"}}},
		"PATCH /api/v2/org/{domain}/users/{user_id}":                       {{"PATCH", "/api/v2/org/beta/users/" + ub, map[string]any{"given_name": "x"}}},
		"POST /api/v2/org/{domain}/users/{user_id}":                        {{"POST", "/api/v2/org/beta/users/" + ub, map[string]any{"given_name": "x"}}},
		"DELETE /api/v2/org/{domain}/users/{user_id}":                      {{"DELETE", "/api/v2/org/beta/users/" + ub, nil}},
		"GET /api/v2/org/{domain}/user-by-email/{email}":                   {{"GET", "/api/v2/org/beta/user-by-email/b@beta.com", nil}},
		"GET /api/v2/org/{domain}/applications":                            {{"GET", "/api/v2/org/beta/applications", nil}},
		"POST /api/v2/org/{domain}/applications":                           {{"POST", "/api/v2/org/beta/applications", appBody}},
		"GET /api/v2/org/{domain}/applications/{client_id}":                {{"GET", "/api/v2/org/beta/applications/" + ab, nil}},
		"PUT /api/v2/org/{domain}/applications/{client_id}":                {{"PUT", "/api/v2/org/beta/applications/" + ab, map[string]any{"name": "y"}}},
		"PATCH /api/v2/org/{domain}/applications/{client_id}":              {{"PATCH", "/api/v2/org/beta/applications/" + ab, map[string]any{"name": "y"}}},
		"POST /api/v2/org/{domain}/applications/{client_id}":               {{"POST", "/api/v2/org/beta/applications/" + ab, map[string]any{"name": "y"}}},
		"GET /api/v2/org/{domain}/token-customization/user-metakey":        {{"GET", "/api/v2/org/beta/token-customization/user-metakey", nil}},
		"POST /api/v2/org/{domain}/token-customization/user-metakey":       {{"POST", "/api/v2/org/beta/token-customization/user-metakey", map[string]any{"name": "k2"}}},
		"DELETE /api/v2/org/{domain}/token-customization/user-metakey":     {{"DELETE", "/api/v2/org/beta/token-customization/user-metakey", map[string]any{"key_name": "team"}}},
		"PATCH /api/v2/org/{domain}/token-customization/set-user-metadata": {{"PATCH", "/api/v2/org/beta/token-customization/set-user-metadata", map[string]any{"user_id": ub, "key_name": "team", "key_value": "x"}}},
		"PUT /api/v2/org/{domain}/token-customization/set-user-metadata":   {{"PUT", "/api/v2/org/beta/token-customization/set-user-metadata", map[string]any{"user_id": ub, "key_name": "team", "key_value": "x"}}},
		"POST /api/v2/org/{domain}/token-customization/set-user-metadata":  {{"POST", "/api/v2/org/beta/token-customization/set-user-metadata", map[string]any{"user_id": ub, "key_name": "team", "key_value": "x"}}},
		"GET /api/v2/org/{domain}/log-events":                              {{"GET", "/api/v2/org/beta/log-events", nil}},
		"GET /api/v2/org/{domain}/token-customization/sample":              {{"GET", "/api/v2/org/beta/token-customization/sample?user_id=" + ub, nil}},
	}
	// B's resources reached through A's paths.
	throughA := []req{
		{"GET", "/api/v2/org/alpha/users/" + ub, nil},
		{"PUT", "/api/v2/org/alpha/users/" + ub, map[string]any{"given_name": "x"}},
		{"POST", "/api/v2/org/alpha/users/" + ub, map[string]any{"given_name": "x"}},
		{"DELETE", "/api/v2/org/alpha/users/" + ub, nil},
		{"GET", "/api/v2/org/alpha/user-by-email/b@beta.com", nil},
		{"GET", "/api/v2/org/alpha/applications/" + ab, nil},
		{"PUT", "/api/v2/org/alpha/applications/" + ab, map[string]any{"name": "y"}},
		{"POST", "/api/v2/org/alpha/applications/" + ab, map[string]any{"name": "y"}},
		{"PATCH", "/api/v2/org/alpha/token-customization/set-user-metadata", map[string]any{"user_id": ub, "key_name": "team", "key_value": "x"}},
		{"GET", "/api/v2/org/alpha/token-customization/sample?user_id=" + ub, nil},
		{"GET", "/api/v2/org/alpha/token-customization/sample?application_id=" + ab, nil},
	}
	// Every endpoint with an organization in its path is covered.
	for _, p := range f.h.Patterns() {
		if strings.Contains(p, "{domain}") {
			if _, ok := onB[p]; !ok {
				t.Errorf("endpoint %s has no isolation case", p)
			}
		}
	}
	before := f.eventCount(identity.Production)
	for pattern, reqs := range onB {
		for _, r := range reqs {
			if rec := f.do(r.method, r.path, keyA, r.body); rec.Code != http.StatusNotFound {
				t.Errorf("%s (%s %s) with A's key: %d, want 404: %s", pattern, r.method, r.path, rec.Code, rec.Body)
			}
		}
	}
	for _, r := range throughA {
		if rec := f.do(r.method, r.path, keyA, r.body); rec.Code != http.StatusNotFound {
			t.Errorf("%s %s with A's key: %d, want 404: %s", r.method, r.path, rec.Code, rec.Body)
		}
	}
	if after := f.eventCount(identity.Production); after != before {
		t.Fatalf("refused requests wrote %d events", after-before)
	}
	// Control: B's own key reaches the same resources (reads only, so the
	// ids stay valid).
	for pattern, reqs := range onB {
		for _, r := range reqs {
			if r.method != "GET" {
				continue
			}
			if rec := f.do(r.method, r.path, keyB, r.body); rec.Code != http.StatusOK {
				t.Errorf("%s with B's key: %d: %s", pattern, rec.Code, rec.Body)
			}
		}
	}
	// And A's key works on A.
	f.json(200, "GET", "/api/v2/org/alpha/users/"+ua, keyA, nil)
}
