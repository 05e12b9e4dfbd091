package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// Golden tests: our answers against the document's response samples,
// field by field. Ids and times are compared by shape, __managed_by__ and
// the account in __access__ against our account domain; every other value
// must be equal. Fields we add must be documented fields of the type.

var (
	uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	timeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$`)
)

// documented lists, per __type__, the fields of the document's type tables
// (and Cryptr's SDKs) that a sample may leave out.
var documented = map[string][]string{
	"Organization": {"privacy_policy_url", "terms_of_service_url", "inserted_at", "updated_at", "allowed_email_domains"},
	"User":         {"__environment__", "avatar_hexa_color", "inserted_at", "updated_at"},
	"Profile":      {"__environment__", "picture", "profile", "website", "nickname"},
	"Address":      {"__environment__", "locality"},
	"Application": {"allowed_logout_urls", "allowed_origins_cors", "allowed_redirect_urls", "allowed_web_origins",
		"default_origin_cors", "default_redirect_uri_after_login", "default_redirect_uri_after_logout", "default_web_origin",
		"id", "inserted_at", "updated_at", "organization_domain_scope"},
	"MetaKey":  {"__environment__"},
	"MetaData": {"__environment__"},
}

func loadGolden(t *testing.T, name string) any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// compare reports every difference between a sample and our answer.
// skip lists sample paths the document gets wrong, with the reason.
func compare(path string, sample, got any, skip map[string]string, errs *[]string) {
	if _, ok := skip[path]; ok {
		return
	}
	fail := func(format string, args ...any) { *errs = append(*errs, path+": "+fmt.Sprintf(format, args...)) }
	key := path[strings.LastIndexByte(path, '.')+1:]
	switch key {
	case "id", "client_id", "resource_owner_id":
		switch s := sample.(type) {
		case float64:
			if _, ok := got.(float64); !ok {
				fail("want a number, got %v", got)
			}
		case string:
			g, ok := got.(string)
			if !ok || (uuidRE.MatchString(s) && !uuidRE.MatchString(g)) {
				fail("want a UUID, got %v", got)
			}
		}
		return
	case "inserted_at", "updated_at":
		if g, ok := got.(string); !ok || !timeRE.MatchString(g) {
			fail("want a time like 2021-10-18T10:02:31, got %v", got)
		}
		return
	case "__managed_by__":
		if got != account {
			fail("want the account %q, got %v", account, got)
		}
		return
	case "__access__":
		if s, _ := sample.(string); strings.HasPrefix(s, "all_organizations_of:") {
			sample = "all_organizations_of:" + account
		}
	}
	switch s := sample.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			fail("want an object, got %v", got)
			return
		}
		for k, v := range s {
			gv, ok := g[k]
			if !ok {
				if _, skipped := skip[path+"."+k]; !skipped {
					fail("field %q missing", k)
				}
				continue
			}
			compare(path+"."+k, v, gv, skip, errs)
		}
		typ, _ := g["__type__"].(string)
		var extra []string
		for k := range g {
			if _, ok := s[k]; ok {
				continue
			}
			if !contains(documented[typ], k) {
				extra = append(extra, k)
			}
		}
		sort.Strings(extra)
		if len(extra) > 0 {
			fail("undocumented fields %v on %s", extra, typ)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(s) {
			fail("want %d items, got %v", len(s), got)
			return
		}
		for i := range s {
			compare(fmt.Sprintf("%s[%d]", path, i), s[i], g[i], skip, errs)
		}
	default:
		if fmt.Sprint(sample) != fmt.Sprint(got) {
			fail("want %v, got %v", sample, got)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func checkGolden(t *testing.T, name string, got map[string]any, skip map[string]string) {
	t.Helper()
	var errs []string
	compare("$", loadGolden(t, name), got, skip, &errs)
	for _, e := range errs {
		t.Errorf("%s %s", name, e)
	}
}

// profileOf returns the writable profile of a sample user.
func profileOf(t *testing.T, name string) map[string]any {
	u := loadGolden(t, name).(map[string]any)
	p := map[string]any{}
	for k, v := range u["profile"].(map[string]any) {
		if !strings.HasPrefix(k, "__") {
			p[k] = v
		}
	}
	return p
}

func TestGoldenOrganizations(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	created := f.json(201, "POST", "/api/v2/organizations", tok, "name=Misapret&locality=Lille&state=Nord&country_name=FR")
	checkGolden(t, "org_create", created, nil)
	checkGolden(t, "org_get", f.json(200, "GET", "/api/v2/organizations/misapret", tok, nil), nil)
	checkGolden(t, "org_list", f.json(200, "GET", "/api/v2/organizations", tok, nil), nil)
	updated := f.json(200, "PUT", "/api/v2/organizations/misapret", tok,
		"locality=San+Francisco&state=Californie&country_name=US")
	checkGolden(t, "org_update", updated, nil)
}

func TestGoldenUsers(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	f.mustOrg(tok, "Misapret")
	for _, name := range []string{"user_create", "user_get", "user_by_email", "user_update"} {
		t.Run(name, func(t *testing.T) {
			p := profileOf(t, name)
			created := f.json(201, "POST", "/api/v2/org/misapret/users", tok,
				map[string]any{"domain": "misapret", "environment": "production", "profile": p})
			id := created["id"].(string)
			var got map[string]any
			switch name {
			case "user_create":
				got = created
			case "user_get":
				got = f.json(200, "GET", "/api/v2/org/misapret/users/"+id+"?environment=production", tok, nil)
			case "user_by_email":
				got = f.json(200, "GET", "/api/v2/org/misapret/user-by-email/"+p["email"].(string), tok, nil)
			case "user_update":
				got = f.json(200, "PUT", "/api/v2/org/misapret/users/"+id, tok, map[string]any{"profile": map[string]any{"locale": "fr"}})
			}
			checkGolden(t, name, got, nil)
			// No user sample writes null: an unset claim is left out.
			noNulls(t, name+" $", got)
			f.json(200, "DELETE", "/api/v2/org/misapret/users/"+id, tok, nil)
		})
	}
}

// noNulls fails on any null in v: the user samples leave unset fields
// out rather than writing null.
func noNulls(t *testing.T, path string, v any) {
	t.Helper()
	switch x := v.(type) {
	case nil:
		t.Errorf("%s is null; the samples leave unset fields out", path)
	case map[string]any:
		for k, e := range x {
			noNulls(t, path+"."+k, e)
		}
	case []any:
		for i, e := range x {
			noNulls(t, fmt.Sprintf("%s[%d]", path, i), e)
		}
	}
}

// TestGoldenUserUnsetClaims: a user with only an email is the sample's
// shape with every unset claim left out (no null, no empty address).
func TestGoldenUserUnsetClaims(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	f.mustOrg(tok, "Misapret")
	created := f.json(201, "POST", "/api/v2/org/misapret/users", tok, map[string]any{"profile": map[string]any{"email": "janis.joplin@example.com"}})
	got := f.json(200, "GET", "/api/v2/org/misapret/users/"+created["id"].(string), tok, nil)
	noNulls(t, "$", got)
	sample := loadGolden(t, "user_get").(map[string]any)
	skip := map[string]string{}
	for k := range sample["profile"].(map[string]any) {
		if !strings.HasPrefix(k, "__") && k != "email" {
			skip["$.profile."+k] = "not set on this user: left out, as the samples leave out what a user lacks"
		}
	}
	checkGolden(t, "user_get", got, skip)
}

func TestGoldenSetUserMetadata(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	f.mustOrg(tok, "Misapret")
	f.json(201, "POST", "/api/v2/org/misapret/token-customization/user-metakey", tok,
		map[string]any{"user_metakey": map[string]any{"name": "displayname", "required": false, "type": "string"}})
	p := profileOf(t, "user_set_metadata")
	p["email"] = "email@your-domain.co"
	u := f.json(201, "POST", "/api/v2/org/misapret/users", tok, map[string]any{"profile": p})
	got := f.json(200, "PATCH", "/api/v2/org/misapret/token-customization/set-user-metadata", tok,
		map[string]any{"user_id": u["id"], "key_name": "displayname", "key_value": "awesome-astronaut"})
	checkGolden(t, "user_set_metadata", got, map[string]string{
		"$.profile.__type__":     "this sample writes profile in lower case; the User samples write Profile, which we follow",
		"$.profile.address.city": "this sample names the locality city; the User and Address samples name it locality, which we follow",
		"$.profile.email":        "email@your_domain.co is not a valid address (underscore in the domain); we use email@your-domain.co",
	})
}

func TestGoldenApplications(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	f.mustOrg(tok, "Misapret")
	a := f.json(201, "POST", "/api/v2/org/misapret/applications", tok, map[string]any{
		"allowed_logout_urls": []string{"http://localhost:3000"}, "allowed_origins_cors": []string{"http://localhost:3000"},
		"allowed_redirect_urls": []string{"http://localhost:3000"}, "allowed_web_origins": []string{"http://localhost:3000"},
		"application_type": "react", "name": "App of Misapret", "description": "Everything to deal with bank",
		"organization_domain_scope": "misapret"})
	checkGolden(t, "app_list", f.json(200, "GET", "/api/v2/org/misapret/applications", tok, nil), nil)
	up := f.json(200, "PUT", "/api/v2/org/misapret/applications/"+a["client_id"].(string), tok, map[string]any{"application_type": "angular"})
	checkGolden(t, "app_update", up, nil)
}

func TestGoldenMetaKeyDelete(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	f.mustOrg(tok, "Shark Academy")
	f.json(201, "POST", "/api/v2/org/shark-academy/token-customization/user-metakey", tok,
		map[string]any{"user_metakey": map[string]any{"name": "my user metakey", "required": false, "type": "string"}})
	got := f.json(200, "DELETE", "/api/v2/org/shark-academy/token-customization/user-metakey", tok,
		map[string]any{"key_name": "my user metakey"})
	checkGolden(t, "metakey_delete", got, nil)
}

func TestGoldenLogEvents(t *testing.T) {
	f := newFixture(t)
	// Organizations are created through production (both environments
	// share them); the events are the sandbox's.
	f.mustOrg(f.admin(), "Shark Academy")
	tok := f.key(identity.Sandbox, []string{"*"})
	sandbox, err := f.svc.ForEnvironment(identity.Sandbox)
	if err != nil {
		t.Fatal(err)
	}
	o, err := sandbox.GetOrganization(context.Background(), "shark-academy")
	if err != nil {
		t.Fatal(err)
	}
	sample := loadGolden(t, "event_list").(map[string]any)["data"].([]any)
	// Log the sample's events oldest first, as the SSO flow would.
	for i := len(sample) - 1; i >= 0; i-- {
		e := sample[i].(map[string]any)
		if err := sandbox.LogEvent(context.Background(), &identity.Event{Code: e["event_code"].(string), OrgID: o.ID,
			ClientID: e["client_id"].(string), Email: e["email"].(string), ResourceOwnerID: e["resource_owner_id"].(string),
			SAMLIdPID: e["saml_identity_provider_id"].(string)}); err != nil {
			t.Fatal(err)
		}
	}
	got := f.json(200, "GET", "/api/v2/org/shark-academy/log-events?code=SSO_END_USER_SAML_SUCCESS&per_page=12&s=code%2Bdesc", tok, nil)
	checkGolden(t, "event_list", got, nil)
}

// TestCompareDetectsDifferences keeps the golden comparison honest.
func TestCompareDetectsDifferences(t *testing.T) {
	sample := map[string]any{"__type__": "Organization", "name": "Misapret", "id": "bbc39a5a-905c-4def-90e6-605ed7b27098",
		"inserted_at": "2021-10-18T10:02:31", "data": []any{map[string]any{"a": 1.0}}}
	good := map[string]any{"__type__": "Organization", "name": "Misapret", "id": "017f72e5-7a20-7001-b8c6-dc158c317ca2",
		"inserted_at": "2022-03-10T08:15:16", "data": []any{map[string]any{"a": 1.0}}, "privacy_policy_url": nil}
	var errs []string
	compare("$", sample, good, nil, &errs)
	if len(errs) != 0 {
		t.Fatalf("equal answers differ: %v", errs)
	}
	bad := []map[string]any{
		{"__type__": "Organization", "name": "Other", "id": good["id"], "inserted_at": good["inserted_at"], "data": good["data"]},
		{"__type__": "Organization", "name": "Misapret", "id": "12", "inserted_at": good["inserted_at"], "data": good["data"]},
		{"__type__": "Organization", "name": "Misapret", "id": good["id"], "inserted_at": "2022-03-10T08:15:16Z", "data": good["data"]},
		{"__type__": "Organization", "name": "Misapret", "id": good["id"], "inserted_at": good["inserted_at"], "data": []any{}},
		{"__type__": "Organization", "id": good["id"], "inserted_at": good["inserted_at"], "data": good["data"]},
		{"__type__": "Organization", "name": "Misapret", "id": good["id"], "inserted_at": good["inserted_at"], "data": good["data"], "secret": 1},
	}
	for i, b := range bad {
		errs = nil
		compare("$", sample, b, nil, &errs)
		if len(errs) == 0 {
			t.Errorf("case %d: difference not detected", i)
		}
	}
}
