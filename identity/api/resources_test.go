package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

func TestOrganizations(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	o := f.json(201, "POST", "/api/v2/organizations", tok, url.Values{"name": {"Misapret"},
		"autocomplete_address": {"Lille"}, "privacy_policy_url": {"https://misapret.com/policy"},
		"allowed_email_domains[]": {"misapret.com", "misapret.fr"}})
	want := map[string]any{"domain": "misapret", "name": "Misapret", "locality": "Lille", "country_name": "FR",
		"privacy_policy_url": "https://misapret.com/policy", "__type__": "Organization", "__access__": "limited_to:misapret",
		"__managed_by__": account, "__domain__": "misapret"}
	for k, v := range want {
		if o[k] != v {
			t.Errorf("%s = %v, want %v", k, o[k], v)
		}
	}
	if o["state"] == nil || len(o["allowed_email_domains"].([]any)) != 2 {
		t.Errorf("state/allowed_email_domains: %v", o)
	}
	// Duplicate domain.
	dup := f.json(409, "POST", "/api/v2/organizations", tok, map[string]any{"name": "misapret"})
	if _, ok := fieldErrors(t, dup)["domain"]; !ok {
		t.Errorf("conflict names no field: %v", dup)
	}
	// Unknown place, missing name: 422 naming each field, nothing written.
	before := f.eventCount(identity.Production)
	bad := f.json(422, "POST", "/api/v2/organizations", tok, map[string]any{"autocomplete_address": "Nowhereville Xq",
		"country_name": "ZZ", "privacy_policy_url": "ftp://x"})
	errs := fieldErrors(t, bad)
	for _, field := range []string{"name", "autocomplete_address"} {
		if _, ok := errs[field]; !ok {
			t.Errorf("422 does not name %s: %v", field, bad)
		}
	}
	if f.eventCount(identity.Production) != before {
		t.Errorf("a refused create wrote events")
	}
	// Wrong types.
	bad = f.json(422, "POST", "/api/v2/organizations", tok, map[string]any{"name": 12, "allowed_email_domains": "x@"})
	if _, ok := fieldErrors(t, bad)["name"]; !ok {
		t.Errorf("wrong type not named: %v", bad)
	}
	// Update: the domain stays, other fields change.
	up := f.json(200, "PUT", "/api/v2/organizations/misapret", tok, map[string]any{"name": "Misapret SAS",
		"autocomplete_address": "San Francisco", "terms_of_service_url": "https://misapret.com/terms"})
	if up["domain"] != "misapret" || up["name"] != "Misapret SAS" || up["locality"] != "San Francisco" ||
		up["country_name"] != "US" || up["terms_of_service_url"] != "https://misapret.com/terms" {
		t.Errorf("update: %v", up)
	}
	// curl -d posts a form to the same URL (the document's sample).
	up = f.json(200, "POST", "/api/v2/organizations/misapret", tok, "locality=Lille&state=Nord&country_name=fr")
	if up["locality"] != "Lille" || up["state"] != "Nord" || up["country_name"] != "FR" {
		t.Errorf("form update: %v", up)
	}
	f.json(422, "PATCH", "/api/v2/organizations/misapret", tok, map[string]any{"domain": "other"})
	f.json(404, "GET", "/api/v2/organizations/nope", tok, nil)
	f.json(404, "PUT", "/api/v2/organizations/nope", tok, map[string]any{"name": "x"})
	got := f.json(200, "GET", "/api/v2/organizations/misapret", tok, nil)
	if got["name"] != "Misapret SAS" {
		t.Errorf("get: %v", got)
	}
}

func TestListPagination(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	for _, n := range []string{"A one", "B two", "C three"} {
		f.mustOrg(tok, n)
	}
	l := f.json(200, "GET", "/api/v2/organizations?per_page=2", tok, nil)
	pg := l["pagination"].(map[string]any)
	data := l["data"].([]any)
	if len(data) != 2 || l["total"].(float64) != 3 || pg["total_pages"].(float64) != 2 || pg["next_page"].(float64) != 2 ||
		pg["prev_page"].(float64) != 0 || pg["current_page"].(float64) != 1 {
		t.Fatalf("page 1: %v", l)
	}
	if data[0].(map[string]any)["domain"] != "c-three" {
		t.Fatalf("not most recent first: %v", data)
	}
	// current_page is a synonym of page.
	l = f.json(200, "GET", "/api/v2/organizations?per_page=2&current_page=2", tok, nil)
	pg = l["pagination"].(map[string]any)
	// next_page of the last page is the last page (the organization
	// sample shows next_page 1 on its only page).
	if len(l["data"].([]any)) != 1 || pg["prev_page"].(float64) != 1 || pg["next_page"].(float64) != 2 {
		t.Fatalf("page 2: %v", l)
	}
	l = f.json(200, "GET", "/api/v2/organizations?per_page=1000", tok, nil)
	if l["pagination"].(map[string]any)["per_page"].(float64) != identity.MaxPerPage {
		t.Fatalf("per_page not capped: %v", l["pagination"])
	}
	l = f.json(200, "GET", "/api/v2/organizations", tok, nil)
	if l["pagination"].(map[string]any)["per_page"].(float64) != 8 {
		t.Fatalf("default per_page: %v", l["pagination"])
	}
	for _, q := range []string{"page=x", "per_page=1.5"} {
		f.json(422, "GET", "/api/v2/organizations?"+q, tok, nil)
	}
}

func TestUsers(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	f.mustOrg(tok, "Misapret")
	// The document's JSON sample: profile object with an address using "city".
	u := f.json(201, "POST", "/api/v2/org/misapret/users", tok, map[string]any{
		"domain": "misapret", "environment": "production",
		"profile": map[string]any{
			"address": map[string]any{"__type__": "Address", "formatted": "165 avenue de Bretagne 59000 Lille, France",
				"street_address": "165 avenue de Bretagne", "city": "Lille", "region": "Nord", "postal_code": "59000", "country": "FR"},
			"given_name": "Janis", "family_name": "Joplin", "name": "Janis Joplin", "nickname": "Jany",
			"profile": "http://www.example.com/profile", "phone_number": "+1-555-415-1337",
			"picture": "http://www.example.com/avatar.jpeg", "website": "http://www.example.com",
			"email": "janis.joplin@example.com", "gender": "female", "birthdate": "1943-01-19",
			"zoneinfo": "America/Los_Angeles", "locale": "fr"}})
	id := u["id"].(string)
	p := u["profile"].(map[string]any)
	if p["email"] != "janis.joplin@example.com" || p["profile"] != "http://www.example.com/profile" || p["__type__"] != "Profile" {
		t.Fatalf("profile: %v", p)
	}
	if a := p["address"].(map[string]any); a["locality"] != "Lille" || a["__type__"] != "Address" {
		t.Fatalf("address: %v", a)
	}
	// Form encoding with bracketed keys.
	u2 := f.json(201, "POST", "/api/v2/org/misapret/users", tok,
		"email=jane%40example.com&profile[given_name]=Jane&profile[address][country]=fr")
	if u2["profile"].(map[string]any)["given_name"] != "Jane" ||
		u2["profile"].(map[string]any)["address"].(map[string]any)["country"] != "FR" {
		t.Fatalf("form user: %v", u2)
	}
	// Retrieve by id and by email (case-insensitive).
	f.json(200, "GET", "/api/v2/org/misapret/users/"+id, tok, nil)
	byEmail := f.json(200, "GET", "/api/v2/org/misapret/user-by-email/Janis.Joplin@example.com", tok, nil)
	if byEmail["id"] != id {
		t.Fatalf("by email: %v", byEmail)
	}
	f.json(404, "GET", "/api/v2/org/misapret/user-by-email/nobody@example.com", tok, nil)
	f.json(404, "GET", "/api/v2/org/misapret/users/00000000-0000-0000-0000-000000000000", tok, nil)
	// Duplicate email: 409 naming the field.
	dup := f.json(409, "POST", "/api/v2/org/misapret/users", tok, map[string]any{"email": "JANIS.joplin@example.com"})
	if _, ok := fieldErrors(t, dup)["email"]; !ok {
		t.Fatalf("409: %v", dup)
	}
	// Invalid input: every field named, nothing written.
	before := f.eventCount(identity.Production)
	bad := f.json(422, "POST", "/api/v2/org/misapret/users", tok, map[string]any{"profile": map[string]any{
		"email": "not-an-email", "birthdate": "1943-13-45", "gender": "x", "phone_number": "abc", "given_name": 3}})
	errs := fieldErrors(t, bad)
	for _, field := range []string{"email", "profile.birthdate", "profile.gender", "profile.phone_number", "profile.given_name"} {
		if _, ok := errs[field]; !ok {
			t.Errorf("422 does not name %s: %v", field, errs)
		}
	}
	f.json(422, "POST", "/api/v2/org/misapret/users", tok, map[string]any{"profile": map[string]any{"given_name": "No email"}})
	if f.eventCount(identity.Production) != before {
		t.Fatalf("refused creates wrote events")
	}
	// Malformed JSON.
	f.json(400, "POST", "/api/v2/org/misapret/users", tok, []byte(`{"email": "x@example.com",`))
	f.json(400, "POST", "/api/v2/org/misapret/users", tok, []byte(`["email"]`))
	// Update: a partial change, the profile URL sent flat as the document's sample does.
	up := f.json(200, "PUT", "/api/v2/org/misapret/users/"+id, tok, "profile=https%3A%2F%2Ffranksinatra.com")
	if up["profile"].(map[string]any)["profile"] != "https://franksinatra.com" || up["profile"].(map[string]any)["given_name"] != "Janis" {
		t.Fatalf("update: %v", up)
	}
	up = f.json(200, "PATCH", "/api/v2/org/misapret/users/"+id, tok, map[string]any{"profile": map[string]any{"nickname": "JJ", "address": nil}})
	if up["profile"].(map[string]any)["nickname"] != "JJ" || up["profile"].(map[string]any)["address"] != nil {
		t.Fatalf("update 2: %v", up)
	}
	f.json(422, "PATCH", "/api/v2/org/misapret/users/"+id, tok, map[string]any{"profile": map[string]any{"zoneinfo": "Mars/Base"}})
	f.json(409, "PATCH", "/api/v2/org/misapret/users/"+id, tok, map[string]any{"email": "jane@example.com"})
	// List, most recent first.
	l := f.json(200, "GET", "/api/v2/org/misapret/users", tok, nil)
	if l["total"].(float64) != 2 || l["data"].([]any)[0].(map[string]any)["id"] != u2["id"] || l["pagination"] == nil {
		t.Fatalf("list: %v", l)
	}
	// Delete.
	del := f.json(200, "DELETE", "/api/v2/org/misapret/users/"+id, tok, nil)
	if del["deleted"] != true || del["type"] != "__Deleted__" || del["resource"].(map[string]any)["id"] != id {
		t.Fatalf("delete: %v", del)
	}
	f.json(404, "GET", "/api/v2/org/misapret/users/"+id, tok, nil)
	f.json(404, "DELETE", "/api/v2/org/misapret/users/"+id, tok, nil)
	f.json(404, "GET", "/api/v2/org/nope/users", tok, nil)
}

func TestApplications(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	f.mustOrg(tok, "Misapret")
	// Form body with allowed_*[] lists.
	a := f.json(201, "POST", "/api/v2/org/misapret/applications", tok, strings.Join([]string{
		"name=App+of+Misapret", "application_type=react", "description=Everything+to+deal+with+bank",
		"allowed_redirect_urls[]=http://localhost:3000", "allowed_redirect_urls[]=http://localhost:3001",
		"allowed_origins_cors[]=http://localhost:3000", "allowed_web_origins[]=http://localhost:3000",
		"allowed_logout_urls[]=http://localhost:3000"}, "&"))
	cid := a["client_id"].(string)
	if a["__database__"] != "default" || a["__type__"] != "Application" || len(a["allowed_redirect_urls"].([]any)) != 2 ||
		a["client_secret"] != nil || a["__access__"] != "all_organizations_of:"+account {
		t.Fatalf("create: %v", a)
	}
	// A machine application gets a client secret, shown once.
	m := f.json(201, "POST", "/api/v2/org/misapret/applications", tok, map[string]any{"name": "Backend", "application_type": "machine"})
	if s, _ := m["client_secret"].(string); len(s) < 43 {
		t.Fatalf("machine secret: %v", m)
	}
	if g := f.json(200, "GET", "/api/v2/org/misapret/applications/"+m["client_id"].(string), tok, nil); g["client_secret"] != nil {
		t.Fatalf("secret shown again: %v", g)
	}
	// Required fields of a browser application.
	bad := f.json(422, "POST", "/api/v2/org/misapret/applications", tok, map[string]any{"application_type": "vue",
		"allowed_redirect_urls": []string{"not a url"}})
	errs := fieldErrors(t, bad)
	for _, field := range []string{"name", "allowed_redirect_urls", "allowed_origins_cors", "allowed_web_origins", "allowed_logout_urls"} {
		if _, ok := errs[field]; !ok {
			t.Errorf("422 does not name %s: %v", field, errs)
		}
	}
	f.json(422, "POST", "/api/v2/org/misapret/applications", tok, map[string]any{"name": "x", "application_type": "cobol"})
	// Update (the document's sample: only the type).
	up := f.json(200, "PUT", "/api/v2/org/misapret/applications/"+cid, tok, map[string]any{"application_type": "angular"})
	if up["application_type"] != "angular" || up["name"] != "App of Misapret" {
		t.Fatalf("update: %v", up)
	}
	f.json(422, "PUT", "/api/v2/org/misapret/applications/"+cid, tok, map[string]any{"application_type": "machine"})
	l := f.json(200, "GET", "/api/v2/org/misapret/applications", tok, nil)
	if l["total_count"].(float64) != 2 || l["pagination"] == nil {
		t.Fatalf("list: %v", l)
	}
	f.json(404, "GET", "/api/v2/org/misapret/applications/nope", tok, nil)
}

func TestTokenCustomization(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	f.mustOrg(tok, "Misapret")
	u := f.mustUser(tok, "misapret", "jane@example.com")
	id := u["id"].(string)
	k := f.json(201, "POST", "/api/v2/org/misapret/token-customization/user-metakey", tok,
		map[string]any{"user_metakey": map[string]any{"name": "displayname", "required": false, "type": "STRING"}})
	if k["type"] != "string" || k["__type__"] != "MetaKey" || k["name"] != "displayname" {
		t.Fatalf("metakey: %v", k)
	}
	f.json(201, "POST", "/api/v2/org/misapret/token-customization/user-metakey", tok, "name=age&type=integer")
	dup := f.json(409, "POST", "/api/v2/org/misapret/token-customization/user-metakey", tok, map[string]any{"name": "age"})
	if _, ok := fieldErrors(t, dup)["name"]; !ok {
		t.Fatalf("409: %v", dup)
	}
	f.json(422, "POST", "/api/v2/org/misapret/token-customization/user-metakey", tok, map[string]any{"name": "x", "type": "blob"})
	f.json(422, "POST", "/api/v2/org/misapret/token-customization/user-metakey", tok, map[string]any{"type": "string"})
	l := f.json(200, "GET", "/api/v2/org/misapret/token-customization/user-metakey", tok, nil)
	if l["total"].(float64) != 2 {
		t.Fatalf("list: %v", l)
	}
	// Set metadata; the value is checked against the key's type.
	got := f.json(200, "PATCH", "/api/v2/org/misapret/token-customization/set-user-metadata", tok,
		map[string]any{"user_id": id, "key_name": "displayname", "key_value": "awesome-astronaut"})
	md := got["metadata"].([]any)
	if len(md) != 1 || md[0].(map[string]any)["value"] != "awesome-astronaut" ||
		md[0].(map[string]any)["id"] != identity.MetaDataID(id, "displayname") ||
		md[0].(map[string]any)["key"].(map[string]any)["name"] != "displayname" {
		t.Fatalf("metadata: %v", got)
	}
	f.json(200, "PATCH", "/api/v2/org/misapret/token-customization/set-user-metadata", tok,
		map[string]any{"user_id": id, "key_name": "age", "key_value": 42})
	bad := f.json(422, "PATCH", "/api/v2/org/misapret/token-customization/set-user-metadata", tok,
		map[string]any{"user_id": id, "key_name": "age", "key_value": "forty"})
	if _, ok := fieldErrors(t, bad)["key_value"]; !ok {
		t.Fatalf("type not checked: %v", bad)
	}
	f.json(422, "PATCH", "/api/v2/org/misapret/token-customization/set-user-metadata", tok,
		map[string]any{"user_id": id, "key_name": "unknown", "key_value": "x"})
	f.json(422, "PATCH", "/api/v2/org/misapret/token-customization/set-user-metadata", tok, map[string]any{})
	f.json(404, "PATCH", "/api/v2/org/misapret/token-customization/set-user-metadata", tok,
		map[string]any{"user_id": "nope", "key_name": "age", "key_value": "1"})
	// A required key is enforced on new users; metadata may be given at creation.
	f.json(201, "POST", "/api/v2/org/misapret/token-customization/user-metakey", tok,
		map[string]any{"name": "department", "type": "string", "required": "true"})
	req := f.json(422, "POST", "/api/v2/org/misapret/users", tok, map[string]any{"email": "bob@example.com"})
	if _, ok := fieldErrors(t, req)["metadata.department"]; !ok {
		t.Fatalf("required key not enforced: %v", req)
	}
	f.json(422, "POST", "/api/v2/org/misapret/users", tok, map[string]any{"email": "bob@example.com",
		"metadata": map[string]any{"department": "R&D", "age": "old"}})
	bob := f.json(201, "POST", "/api/v2/org/misapret/users", tok, map[string]any{"email": "bob@example.com",
		"metadata": []any{map[string]any{"key": "department", "value": "R&D"}}})
	if len(bob["metadata"].([]any)) != 1 {
		t.Fatalf("metadata at creation: %v", bob)
	}
	// Remove a key: its values go with it.
	del := f.json(200, "DELETE", "/api/v2/org/misapret/token-customization/user-metakey", tok, map[string]any{"key_name": "displayname"})
	if del["deleted"] != true || del["type"] != "__Deleted__" || del["resource"].(map[string]any)["name"] != "displayname" {
		t.Fatalf("delete: %v", del)
	}
	after := f.json(200, "GET", "/api/v2/org/misapret/users/"+id, tok, nil)
	for _, m := range after["metadata"].([]any) {
		if m.(map[string]any)["key"].(map[string]any)["name"] == "displayname" {
			t.Fatalf("value of a removed key survives: %v", after)
		}
	}
	f.json(404, "DELETE", "/api/v2/org/misapret/token-customization/user-metakey?key_name=displayname", tok, nil)
	f.json(422, "DELETE", "/api/v2/org/misapret/token-customization/user-metakey", tok, nil)
}

func TestLogEvents(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	f.mustOrg(tok, "Misapret")
	a := f.mustApp(tok, "misapret")
	u := f.mustUser(tok, "misapret", "jane@example.com")
	f.json(200, "PUT", "/api/v2/org/misapret/users/"+u["id"].(string), tok, map[string]any{"given_name": "J"})
	l := f.json(200, "GET", "/api/v2/org/misapret/log-events", tok, nil)
	data := l["data"].([]any)
	if l["paginate"] == nil || l["total_count"].(float64) != 4 || len(data) != 4 {
		t.Fatalf("list: %v", l)
	}
	codes := []string{}
	for _, e := range data {
		codes = append(codes, e.(map[string]any)["event_code"].(string))
	}
	if strings.Join(codes, ",") != "USER_UPDATED,USER_CREATED,APPLICATION_CREATED,ORGANIZATION_CREATED" {
		t.Fatalf("order: %v", codes)
	}
	first := data[0].(map[string]any)
	if first["email"] != "jane@example.com" || first["tenant_domain"] != "misapret" || first["database"] != "default" ||
		first["client_id"] != nil || first["__type__"] != "Event" {
		t.Fatalf("event: %v", first)
	}
	byCode := f.json(200, "GET", "/api/v2/org/misapret/log-events?code=USER_CREATED&s=code%2Bdesc", tok, nil)
	if byCode["total_count"].(float64) != 1 {
		t.Fatalf("code filter: %v", byCode)
	}
	byClient := f.json(200, "GET", "/api/v2/org/misapret/log-events?client_id="+a["client_id"].(string), tok, nil)
	if byClient["total_count"].(float64) != 1 || byClient["data"].([]any)[0].(map[string]any)["event_code"] != "APPLICATION_CREATED" {
		t.Fatalf("client filter: %v", byClient)
	}
	none := f.json(200, "GET", "/api/v2/org/misapret/log-events?saml_identity_provider_id=misapret_x", tok, nil)
	if none["total_count"].(float64) != 0 {
		t.Fatalf("idp filter: %v", none)
	}
	f.json(422, "GET", "/api/v2/org/misapret/log-events?code=NOPE", tok, nil)
	page := f.json(200, "GET", "/api/v2/org/misapret/log-events?per_page=3&page=2", tok, nil)
	if len(page["data"].([]any)) != 1 || page["paginate"].(map[string]any)["total_pages"].(float64) != 2 {
		t.Fatalf("page 2: %v", page)
	}
}

func TestUnknownRoutes(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	rec := f.do("GET", "/api/v2/nothing", tok, nil)
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `"not_found"`) {
		t.Fatalf("404: %d %s", rec.Code, rec.Body)
	}
	rec = f.do("DELETE", "/api/v2/organizations", tok, nil)
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") == "" ||
		!strings.Contains(rec.Body.String(), `"method_not_allowed"`) {
		t.Fatalf("405: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	rec = f.do("POST", "/api/v2/organizations", tok, nil)
	if rec.Code != 422 {
		t.Fatalf("empty body: %d", rec.Code)
	}
	r := newRequest("POST", "/api/v2/organizations", strings.NewReader("<xml/>"))
	r.Header.Set("Content-Type", "application/xml")
	r.Header.Set("Authorization", "Bearer "+tok)
	if rec := serve(f, r); rec.Code != http.StatusUnsupportedMediaType {
		t.Fatalf("415: %d", rec.Code)
	}
	r = newRequest("POST", "/api/v2/organizations", strings.NewReader(`{"name":"`+strings.Repeat("a", 2<<20)+`"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+tok)
	if rec := serve(f, r); rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("413: %d", rec.Code)
	}
}

func TestJWTSample(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	f.mustOrg(tok, "Shark Academy")
	u := f.mustUser(tok, "shark-academy", "jane@example.com")
	f.json(201, "POST", "/api/v2/org/shark-academy/token-customization/user-metakey", tok, map[string]any{"name": "team"})
	s := f.json(200, "GET", "/api/v2/org/shark-academy/token-customization/sample?expiration_in_seconds=31536000&user_id="+u["id"].(string), tok, nil)
	if s["__type__"] != "__JwtSamples__" || s["__domain__"] != "shark-academy" || strings.Count(s["access_token_jwt"].(string), ".") != 2 {
		t.Fatalf("sample: %v", s)
	}
	if len(s["access_token_keys"].([]any)) == 0 || len(s["id_token_keys"].([]any)) == 0 {
		t.Fatalf("keys: %v", s)
	}
	f.json(200, "GET", "/api/v2/org/shark-academy/token-customization/sample?expired=true", tok, nil)
	f.json(422, "GET", "/api/v2/org/shark-academy/token-customization/sample?expiration_in_seconds=0", tok, nil)
	f.json(422, "GET", "/api/v2/org/shark-academy/token-customization/sample?expired=maybe", tok, nil)
	f.json(404, "GET", "/api/v2/org/shark-academy/token-customization/sample?user_id=nope", tok, nil)
	f.json(404, "GET", "/api/v2/org/nope/token-customization/sample", tok, nil)
}

// TestApplicationSigningAlg: signing_alg is Gatehouse's extension field:
// set at creation or by an update, validated (422 naming the field, and
// nothing changes), and absent from answers unless set.
func TestApplicationSigningAlg(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	f.mustOrg(tok, "Misapret")
	const path = "/api/v2/org/misapret/applications"
	plain := f.json(201, "POST", path, tok, map[string]any{"name": "Plain", "application_type": "machine"})
	if _, ok := plain["signing_alg"]; ok {
		t.Fatalf("signing_alg present though never set: %v", plain)
	}
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		a := f.json(201, "POST", path, tok, map[string]any{"name": "App " + alg, "application_type": "machine", "signing_alg": alg})
		if a["signing_alg"] != alg {
			t.Fatalf("create %s: %v", alg, a)
		}
		if g := f.json(200, "GET", path+"/"+a["client_id"].(string), tok, nil); g["signing_alg"] != alg {
			t.Fatalf("read %s back: %v", alg, g)
		}
	}
	before := f.json(200, "GET", path, tok, nil)["total_count"]
	for _, bad := range []any{"HS256", "es256", "none", "RS512", 256, true} {
		e := f.json(422, "POST", path, tok, map[string]any{"name": "Bad", "application_type": "machine", "signing_alg": bad})
		if _, ok := fieldErrors(t, e)["signing_alg"]; !ok {
			t.Errorf("422 for %v does not name signing_alg: %v", bad, e)
		}
	}
	if after := f.json(200, "GET", path, tok, nil)["total_count"]; after != before {
		t.Fatalf("a refused creation created something: %v then %v", before, after)
	}
	cid := plain["client_id"].(string)
	if up := f.json(200, "PUT", path+"/"+cid, tok, map[string]any{"signing_alg": "EdDSA"}); up["signing_alg"] != "EdDSA" {
		t.Fatalf("update to EdDSA: %v", up)
	}
	f.json(422, "PUT", path+"/"+cid, tok, map[string]any{"signing_alg": "HS256"})
	if g := f.json(200, "GET", path+"/"+cid, tok, nil); g["signing_alg"] != "EdDSA" {
		t.Fatalf("a refused update changed the algorithm: %v", g)
	}
	up := f.json(200, "PATCH", path+"/"+cid, tok, map[string]any{"signing_alg": nil})
	if _, ok := up["signing_alg"]; ok {
		t.Fatalf("null did not go back to the default: %v", up)
	}
	app, err := f.svc.GetApplication(context.Background(), "misapret", cid)
	if err != nil || app.SigningAlg != "" {
		t.Fatalf("stored algorithm after reset: %q %v", app.SigningAlg, err)
	}
}

// TestIntegerParamMessages: an integer parameter answers 422 naming the
// field with what is wrong: not an integer, or (for a number past 32
// bits) the bound it passes, never "must be an integer" for an integer.
func TestIntegerParamMessages(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	f.mustOrg(tok, "Acme")
	cases := []struct {
		path, field, reason string
	}{
		{"/api/v2/organizations?per_page=99999999999", "per_page", "must be at most 2147483647"},
		{"/api/v2/organizations?page=99999999999", "page", "must be at most 2147483647"},
		{"/api/v2/organizations?current_page=-99999999999", "current_page", "must be at least -2147483648"},
		{"/api/v2/organizations?per_page=1.5", "per_page", "must be an integer"},
		{"/api/v2/org/acme/users?page=x", "page", "must be an integer"},
		{"/api/v2/org/acme/token-customization/sample?expiration_in_seconds=999999999999", "expiration_in_seconds", "must be at most 2147483647"},
		{"/api/v2/org/acme/token-customization/sample?expiration_in_seconds=0", "expiration_in_seconds", "must be between 1 and 31622400"},
	}
	for _, c := range cases {
		body := f.json(http.StatusUnprocessableEntity, "GET", c.path, tok, nil)
		reasons, _ := fieldErrors(t, body)[c.field].([]any)
		if len(reasons) != 1 || reasons[0] != c.reason {
			t.Errorf("%s: %s reasons %v, want [%q]", c.path, c.field, reasons, c.reason)
		}
	}
}

// TestPageBelowOneIsTheFirstPage: a list "should never return an error"
// (the document, of organizations, users and applications): a page below
// 1 is the first page and a per_page below 1 the default (8).
func TestPageBelowOneIsTheFirstPage(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	for i := range 10 {
		f.mustOrg(tok, fmt.Sprintf("Org %d", i))
	}
	for _, q := range []string{"page=0", "page=-1", "current_page=0", "per_page=0", "per_page=-5", "page=0&per_page=0"} {
		body := f.json(http.StatusOK, "GET", "/api/v2/organizations?"+q, tok, nil)
		data, _ := body["data"].([]any)
		pg, _ := body["pagination"].(map[string]any)
		if len(data) != 8 || pg["current_page"] != float64(1) || pg["per_page"] != float64(8) {
			t.Errorf("%s: %d organizations, pagination %v", q, len(data), pg)
		}
	}
}

// TestCreateOrganizationSampleURL: the create-organization samples post to
// /api/v2/organizations/{domain}; for a domain that does not exist that is
// an update of nothing, 404, and no organization appears (creation is
// POST /api/v2/organizations with a name).
func TestCreateOrganizationSampleURL(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	for _, body := range []string{
		`autocomplete_address=San Francisco&privacy_policy_url=https://misapret.com/policy`,
		`locality=Lille&state=Hauts-de-France&country_name=FR&privacy_policy_url=https://misapret.com/policy`,
		`name=Misapret&locality=Lille`,
	} {
		if got := f.json(http.StatusNotFound, "POST", "/api/v2/organizations/misapret", tok, body); got["error"] != "not_found" {
			t.Errorf("%s: %v", body, got)
		}
	}
	f.json(http.StatusNotFound, "GET", "/api/v2/organizations/misapret", tok, nil)
	f.json(http.StatusCreated, "POST", "/api/v2/organizations", tok, `name=Misapret&locality=Lille`)
	f.json(http.StatusOK, "POST", "/api/v2/organizations/misapret", tok, `locality=Lens`)
}

// TestMetaKeyNameIsAnAttributeName: a MetaKey is an attribute definition
// of the organization's directory, which the Crafter face also serves, so
// its name follows the one rule of identity.CheckAttributeName (no dot: a
// Crafter query reads attributes.a.b as a path) on top of the MetaKey's
// own charset; a refused name is a 422 naming the field where the request
// put it (user_metakey.name), and nothing is created.
func TestMetaKeyNameIsAnAttributeName(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	f.mustOrg(tok, "Acme")
	const path = "/api/v2/org/acme/token-customization/user-metakey"
	cases := []struct {
		name   string
		status int
		reason string
	}{
		{"my user metakey", 201, ""},
		{"urn:oid-2:x_y", 201, ""},
		{"a.b", 422, "must not contain dots or control characters"},
		{"user.department", 422, "must not contain dots or control characters"},
		{"$set", 422, "must not start with '$'"},
		{"a/b", 422, "must be 1 to 64 letters, digits, spaces or _ : -, starting with a letter, digit or _"},
	}
	for _, c := range cases {
		body := f.json(c.status, "POST", path, tok, map[string]any{"user_metakey": map[string]any{"name": c.name, "type": "string"}})
		if c.status == 201 {
			continue
		}
		errs := fieldErrors(t, body)
		reasons, _ := errs["user_metakey.name"].([]any)
		if len(errs) != 1 || len(reasons) != 1 || reasons[0] != c.reason {
			t.Errorf("%q: %v, want [%q]", c.name, body["errors"], c.reason)
		}
	}
	list := f.json(200, "GET", path, tok, nil)
	if n := len(list["data"].([]any)); n != 2 {
		t.Fatalf("%d MetaKeys, want the 2 valid ones: %v", n, list["data"])
	}
}

// TestApplicationAccessOfALimitedKey: an application a key limited to some
// organizations creates serves only those (identity.Application.
// ServedOrgs), and its __access__ says so; it is all_organizations_of the
// account only when it serves them all.
func TestApplicationAccessOfALimitedKey(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	for _, n := range []string{"Alpha", "Beta", "Gamma"} {
		f.mustOrg(tok, n)
	}
	cases := []struct {
		name, token, access, scope string
	}{
		{"account key", tok, "all_organizations_of:" + account, ""},
		{"key of alpha", f.key(identity.Production, []string{"alpha"}), "limited_to:alpha", ""},
		{"key of alpha and beta", f.key(identity.Production, []string{"alpha", "beta"}), "limited_to:alpha,beta", ""},
		{"key of alpha and beta, scoped to beta", f.key(identity.Production, []string{"alpha", "beta"}), "limited_to:beta", "beta"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := map[string]any{"name": "App", "application_type": "machine"}
			if c.scope != "" {
				in["organization_domain_scope"] = c.scope
			}
			a := f.json(201, "POST", "/api/v2/org/alpha/applications", c.token, in)
			if a["__access__"] != c.access {
				t.Fatalf("created: __access__ %v, want %s", a["__access__"], c.access)
			}
			got := f.json(200, "GET", "/api/v2/org/alpha/applications/"+a["id"].(string), tok, nil)
			if got["__access__"] != c.access {
				t.Fatalf("read back: __access__ %v, want %s", got["__access__"], c.access)
			}
		})
	}
}

// TestApplicationAllowedScopes: allowed_scopes (Gatehouse's extension) is
// set as a list or one space-separated string, answered when set and
// absent otherwise (the answer keeps Cryptr's shape), cleared with [] or
// null, and refused (422) when a scope is not a scope token.
func TestApplicationAllowedScopes(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	f.mustOrg(tok, "Acme")
	a := f.json(201, "POST", "/api/v2/org/acme/applications", tok, map[string]any{"name": "m", "application_type": "machine"})
	if _, ok := a["allowed_scopes"]; ok {
		t.Fatalf("unset allowed_scopes answered: %v", a)
	}
	path := "/api/v2/org/acme/applications/" + a["id"].(string)
	for _, tc := range []struct {
		body any
		want []any
	}{
		{map[string]any{"allowed_scopes": []string{"invoices:read", "invoices:write"}}, []any{"invoices:read", "invoices:write"}},
		{map[string]any{"allowed_scopes": "invoices:read  reports"}, []any{"invoices:read", "reports"}},
		{map[string]any{"allowed_scopes": []string{}}, nil},
		{"allowed_scopes[]=a&allowed_scopes[]=b", []any{"a", "b"}},
		{map[string]any{"allowed_scopes": nil}, nil},
	} {
		got := f.json(200, "PUT", path, tok, tc.body)
		if v, _ := got["allowed_scopes"].([]any); !reflect.DeepEqual(v, tc.want) {
			t.Errorf("%v: allowed_scopes %v, want %v", tc.body, got["allowed_scopes"], tc.want)
		}
	}
	before := f.json(200, "GET", path, tok, nil)
	for _, bad := range []any{map[string]any{"allowed_scopes": []string{`a"b`}}, map[string]any{"allowed_scopes": []any{1}}} {
		f.json(422, "PUT", path, tok, bad)
	}
	if after := f.json(200, "GET", path, tok, nil); !reflect.DeepEqual(before, after) {
		t.Fatalf("a refused update changed the application: %v → %v", before, after)
	}
}
