package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestBodyNeverIgnored: on every endpoint, a body that is neither a JSON
// object nor a form is refused with a 400 in Cryptr's error format, and
// nothing changes; a JSON object sent under a form label is read as JSON.
func TestBodyNeverIgnored(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	f.mustOrg(tok, "Misapret")
	uid := f.mustUser(tok, "misapret", "jane@misapret.com")["id"].(string)
	cid := f.mustApp(tok, "misapret")["client_id"].(string)
	fill := strings.NewReplacer("{domain}", "misapret", "{user_id}", uid, "{client_id}", cid, "{email}", "jane@misapret.com")
	bodies := []struct{ ct, body string }{
		{"application/x-www-form-urlencoded", `{ "name": "x"`},       // broken JSON labelled a form
		{"application/x-www-form-urlencoded", `{ { "name": "x" } }`}, // the MetaKey list sample's body
		{"application/x-www-form-urlencoded", `just some words`},     // not name=value pairs
		{"application/x-www-form-urlencoded", `a=1&=2`},              // a pair without a name
		{"application/json", `["a"]`},                                // JSON, not an object
		{"application/json", `"text"`},                               // idem
		{"application/json", `{"a":`},                                // broken JSON
		{"application/json", `not json at all`},                      // neither JSON nor a form
		{"", `hello`},                                                // no label
		{"text/plain", `{"a": 1} trailing`},                          // data after the object
		{"multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\n\r\nx\r\n--b--\r\n"}, // a file
	}
	before := f.eventCount(identity.Production)
	for _, pattern := range f.h.Patterns() {
		method, path, _ := strings.Cut(pattern, " ")
		path = fill.Replace(path)
		for _, b := range bodies {
			r := httptest.NewRequest(method, path, strings.NewReader(b.body))
			if b.ct != "" {
				r.Header.Set("Content-Type", b.ct)
			}
			r.Header.Set("Authorization", "Bearer "+tok)
			rec := serve(f, r)
			if rec.Code != http.StatusBadRequest {
				t.Errorf("%s %q (%s): %d, want 400: %s", pattern, b.body, b.ct, rec.Code, rec.Body)
				continue
			}
			var e map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e["error"] == nil || e["error_description"] == nil {
				t.Errorf("%s %q: not an error answer: %s", pattern, b.body, rec.Body)
			}
		}
	}
	if after := f.eventCount(identity.Production); after != before {
		t.Errorf("refused bodies wrote %d events", after-before)
	}
	// A JSON object is JSON whatever the label.
	for _, ct := range []string{"application/x-www-form-urlencoded", "text/plain", "", "application/octet-stream", "application/vnd.api+json"} {
		r := httptest.NewRequest("PUT", "/api/v2/org/misapret/users/"+uid, strings.NewReader(`{"profile": {"nickname": "nick-`+ct+`"}}`))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		r.Header.Set("Authorization", "Bearer "+tok)
		rec := serve(f, r)
		var u map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &u)
		if rec.Code != http.StatusOK || u["profile"].(map[string]any)["nickname"] != "nick-"+ct {
			t.Errorf("JSON labelled %q: %d %s", ct, rec.Code, rec.Body)
		}
	}
	// A form under a JSON label is a form (the update-user sample).
	r := httptest.NewRequest("PUT", "/api/v2/org/misapret/users/"+uid, strings.NewReader(`profile[nickname]=formed&locale=fr`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+tok)
	if rec := serve(f, r); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"nickname":"formed"`) ||
		!strings.Contains(rec.Body.String(), `"locale":"fr"`) {
		t.Errorf("form labelled JSON: %d %s", rec.Code, rec.Body)
	}
}

// TestUpdateMethods: every update the document shows takes POST (what
// curl sends for -d), PUT and PATCH alike, and each changes the resource.
func TestUpdateMethods(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	f.mustOrg(tok, "Misapret")
	f.json(201, "POST", "/api/v2/org/misapret/token-customization/user-metakey", tok, map[string]any{"name": "team"})
	uid := f.mustUser(tok, "misapret", "jane@misapret.com")["id"].(string)
	cid := f.mustApp(tok, "misapret")["client_id"].(string)
	for _, method := range []string{"POST", "PUT", "PATCH"} {
		v := "v-" + strings.ToLower(method)
		if o := f.json(200, method, "/api/v2/organizations/misapret", tok, "locality="+v); o["locality"] != v {
			t.Errorf("%s organization: %v", method, o)
		}
		if u := f.json(200, method, "/api/v2/org/misapret/users/"+uid, tok, "given_name="+v); u["profile"].(map[string]any)["given_name"] != v {
			t.Errorf("%s user: %v", method, u)
		}
		if a := f.json(200, method, "/api/v2/org/misapret/applications/"+cid, tok, "description="+v); a["description"] != v {
			t.Errorf("%s application: %v", method, a)
		}
		u := f.json(200, method, "/api/v2/org/misapret/token-customization/set-user-metadata", tok,
			"user_id="+uid+"&key_name=team&key_value="+v)
		if md := u["metadata"].([]any); len(md) != 1 || md[0].(map[string]any)["value"] != v {
			t.Errorf("%s user metadata: %v", method, u)
		}
	}
}

// TestSinglePageNextPage pins next_page on a list's only page for every
// "pagination" list (the organization and application samples show 1);
// the "paginate" lists (log events here, SSO connections in package sso)
// show 0.
func TestSinglePageNextPage(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	f.mustOrg(tok, "Misapret")
	f.mustUser(tok, "misapret", "jane@misapret.com")
	f.mustApp(tok, "misapret")
	f.json(201, "POST", "/api/v2/org/misapret/token-customization/user-metakey", tok, map[string]any{"name": "team"})
	for path, want := range map[string][2]float64{
		"/api/v2/organizations":                                 {1, 0},
		"/api/v2/org/misapret/users":                            {1, 0},
		"/api/v2/org/misapret/applications":                     {1, 0},
		"/api/v2/org/misapret/token-customization/user-metakey": {1, 0},
		"/api/v2/org/misapret/users?page=3":                     {1, 1},
		"/api/v2/org/misapret/log-events":                       {0, 0},
	} {
		l := f.json(200, "GET", path, tok, nil)
		pg, ok := l["pagination"].(map[string]any)
		if !ok {
			pg = l["paginate"].(map[string]any)
		}
		if pg["next_page"] != want[0] || pg["prev_page"] != want[1] || pg["total_pages"] != 1.0 {
			t.Errorf("%s: %v, want next_page %v prev_page %v", path, pg, want[0], want[1])
		}
	}
}

// TestUncleanPathsNotFound: a path that is not canonical is a JSON 404
// from the handler itself, never served as the path it cleans to.
func TestUncleanPathsNotFound(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	f.mustOrg(tok, "Misapret")
	uid := f.mustUser(tok, "misapret", "jane@misapret.com")["id"].(string)
	for _, tc := range []struct{ method, path, raw string }{
		{"GET", "/api/v2/org/../organizations", ""},
		{"GET", "/api/v2/../", "/api/v2/%2e%2e/"},
		{"GET", "/api/v2/./organizations", ""},
		{"GET", "/api/v2//organizations", ""},
		{"DELETE", "/api/v2/org/misapret/users/x/../" + uid, ""},
		{"GET", "/api/v2/organizations/misapret/.", ""},
	} {
		r := httptest.NewRequest(tc.method, "/", nil)
		r.URL.Path, r.URL.RawPath = tc.path, tc.raw
		r.Header.Set("Authorization", "Bearer "+tok)
		rec := serve(f, r)
		if rec.Code != http.StatusNotFound || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") ||
			!strings.Contains(rec.Body.String(), `"error":"not_found"`) {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, rec.Code, rec.Body)
		}
	}
	f.json(200, "GET", "/api/v2/org/misapret/users/"+uid, tok, nil)
}
