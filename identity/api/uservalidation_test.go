package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestUserNULInProfile: a NUL in `profile` on user create and update is a
// 422 in Cryptr's error format naming the field, never a 500, and nothing
// is written (breach 9).
func TestUserNULInProfile(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	f.mustOrg(tok, "Acme")
	user := f.mustUser(tok, "acme", "jane@acme.test")
	before := f.eventCount(identity.Production)
	cases := []struct {
		name, method, path string
		body               map[string]any
		field              string
	}{
		{"create, profile as a string", "POST", "/api/v2/org/acme/users",
			map[string]any{"email": "a@acme.test", "profile": "https://a.test/\x00"}, "profile.profile"},
		{"create, profile.profile", "POST", "/api/v2/org/acme/users",
			map[string]any{"email": "b@acme.test", "profile": map[string]any{"profile": "https://b.test/\x00"}}, "profile.profile"},
		{"update, profile as a string", "PUT", "/api/v2/org/acme/users/" + user["id"].(string),
			map[string]any{"profile": "\x00"}, "profile.profile"},
		{"create, control character", "POST", "/api/v2/org/acme/users",
			map[string]any{"email": "c@acme.test", "profile": "https://c.test/\x1b"}, "profile.profile"},
	}
	for _, c := range cases {
		r := f.do(c.method, c.path, tok, c.body)
		if r.Code != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %s", c.name, r.Code, r.Body.String())
			continue
		}
		body := f.json(422, c.method, c.path, tok, c.body)
		if body["error"] != "invalid_params" {
			t.Errorf("%s: %v", c.name, body)
		}
		if _, ok := fieldErrors(t, body)[c.field]; !ok {
			t.Errorf("%s: 422 does not name %s: %v", c.name, c.field, body)
		}
	}
	if f.eventCount(identity.Production) != before {
		t.Fatal("a refused write logged events")
	}
}

// TestUserMetadataTypeFromCore: MetaKey types are checked by the core and
// answered in Cryptr's format.
func TestUserMetadataTypeFromCore(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	f.mustOrg(tok, "Acme")
	f.json(201, "POST", "/api/v2/org/acme/token-customization/user-metakey", tok,
		map[string]any{"name": "age", "type": "integer"})
	body := f.json(422, "POST", "/api/v2/org/acme/users", tok,
		map[string]any{"email": "a@acme.test", "metadata": map[string]any{"age": "old"}})
	if _, ok := fieldErrors(t, body)["metadata.age"]; !ok {
		t.Fatalf("422 does not name metadata.age: %v", body)
	}
	f.json(201, "POST", "/api/v2/org/acme/users", tok,
		map[string]any{"email": "b@acme.test", "metadata": map[string]any{"age": "42"}})
}

// TestUserErrorsNameCryptrFieldsOnly: a Cryptr user has no username (the
// core stores the email there), so a missing or invalid email is answered
// under "email" alone, on create and on update, and nothing is written.
func TestUserErrorsNameCryptrFieldsOnly(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	f.mustOrg(tok, "Acme")
	user := f.mustUser(tok, "acme", "jane@acme.test")
	long := strings.Repeat("a", 300) + "@acme.test"
	cases := []struct {
		name, method, path string
		body               any
		reason             string
	}{
		{"create, no body", "POST", "/api/v2/org/acme/users", nil, "is required"},
		{"create, empty email", "POST", "/api/v2/org/acme/users", map[string]any{"email": ""}, "is required"},
		{"create, email too long", "POST", "/api/v2/org/acme/users", map[string]any{"email": long}, "must be at most 254 characters"},
		{"create, control character", "POST", "/api/v2/org/acme/users", map[string]any{"email": "a\x01b@acme.test"}, "must not contain control characters"},
		{"update, empty email", "PUT", "/api/v2/org/acme/users/" + user["id"].(string), map[string]any{"email": ""}, "is required"},
		{"update, email too long", "PUT", "/api/v2/org/acme/users/" + user["id"].(string), map[string]any{"email": long}, "must be at most 254 characters"},
	}
	before := f.eventCount(identity.Production)
	for _, c := range cases {
		body := f.json(http.StatusUnprocessableEntity, c.method, c.path, tok, c.body)
		errs := fieldErrors(t, body)
		if len(errs) != 1 {
			t.Errorf("%s: want only the email named, got %v", c.name, errs)
		}
		reasons, _ := errs["email"].([]any)
		if len(reasons) != 1 || reasons[0] != c.reason {
			t.Errorf("%s: email reasons %v, want [%q]", c.name, errs["email"], c.reason)
		}
		if strings.Contains(body["error_description"].(string), "username") {
			t.Errorf("%s: description names a username: %v", c.name, body)
		}
	}
	if f.eventCount(identity.Production) != before {
		t.Fatal("a refused write logged events")
	}
	got := f.json(http.StatusOK, "GET", "/api/v2/org/acme/users/"+user["id"].(string), tok, nil)
	if p, _ := got["profile"].(map[string]any); p["email"] != "jane@acme.test" {
		t.Fatalf("the user changed: %v", got)
	}
}
