package profile

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

func TestCreateProfileRules(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme", AttributeDefinition{Name: "tier", DefaultValue: "basic", Permissions: all},
		AttributeDefinition{Name: "tags", Metadata: map[string]any{"type": "STRING_LIST"}, Permissions: all})
	e.profile("acme", "alice", nil)
	base := func(kv ...string) url.Values {
		f := url.Values{"tenantName": {"acme"}, "username": {"bob"}, "email": {"bob@example.com"}, "enabled": {"true"}}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				f.Del(kv[i])
			} else {
				f.Set(kv[i], kv[i+1])
			}
		}
		return f
	}
	tests := []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"bad email", base("email", "not-an-email"), 400, CodeInvalidEmail},
		{"missing email", base("email", ""), 400, CodeOther},
		{"missing username", base("username", ""), 400, CodeOther},
		{"missing enabled", base("enabled", ""), 400, CodeOther},
		{"bad enabled", base("enabled", "perhaps"), 400, CodeOther},
		{"attributes not JSON", base("attributes", "{nope"), 400, CodeParamDeserialization},
		{"attributes not an object", base("attributes", "[1]"), 400, CodeParamDeserialization},
		{"undefined attribute", base("attributes", `{"ghost":1}`), 400, CodeAttributeNotDefined},
		{"unknown tenant", base("tenantName", "nope"), 404, CodeNoSuchTenant},
		{"duplicate username", base("username", "alice"), 409, CodeProfileExists},
		{"duplicate email", base("email", "alice@example.com"), 409, CodeProfileExists},
		{"javascript verification url", base("verificationUrl", "javascript:alert(1)"), 400, CodeOther},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/api/1/profile/create.json", e.master, tc.form)
			if r.status != tc.status || r.code() != tc.code {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
		})
	}
	var n int
	e.mustOK(e.do("GET", "/api/1/profile/count", e.master, url.Values{"tenantName": {"acme"}})).json(t, &n)
	if n != 1 {
		t.Fatalf("%d profiles after refused creations, want 1", n)
	}
	// Defaults applied, then overridden; STRING_LIST cleansed element-wise;
	// no password means no login.
	p := e.profile("acme", "carol", url.Values{"password": {""}, "attributes": {`{"tags":["<a>","b"]}`}})
	if p.Attributes["tier"] != "basic" || !slices.Equal(p.Attributes["tags"].([]any), []any{"&lt;a&gt;", "b"}) {
		t.Fatalf("attributes %v", p.Attributes)
	}
	r := e.do("POST", "/api/1/authentication/authenticate", e.master, url.Values{"tenantName": {"acme"}, "username": {"carol"}, "password": {"x"}})
	if r.status != 401 || r.code() != CodeBadCredentials {
		t.Fatalf("login without a password: %d %s", r.status, r.body)
	}
}

func TestVerifyNewProfilesFlow(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	e.mustOK(e.do("POST", "/api/1/tenant/acme/verify_new_profiles", e.master, url.Values{"verify": {"true"}}))
	// Without a verification URL the enabled param is kept.
	if p := e.profile("acme", "plain", nil); !p.Enabled {
		t.Fatal("profile without verificationUrl disabled")
	}
	p := e.profile("acme", "alice", url.Values{"verificationUrl": {"https://app.example.com/verify?x=1"}})
	if p.Enabled || p.Verified {
		t.Fatalf("profile to verify: %+v", p)
	}
	m := e.mail.last()
	if m.Subject != "Verify Account" || m.To[0] != "alice@example.com" {
		t.Fatalf("mail %+v", m)
	}
	i := strings.Index(m.Text, "https://app.example.com/verify?x=1&tokenId=")
	if i < 0 {
		t.Fatalf("no link in %q", m.Text)
	}
	tok, _ := url.QueryUnescape(strings.Fields(m.Text[i+len("https://app.example.com/verify?x=1&tokenId="):])[0])
	if len(tok) < 43 {
		t.Fatalf("token %q shorter than 256 bits", tok)
	}
	r := e.do("POST", "/api/1/authentication/authenticate", e.master, url.Values{"tenantName": {"acme"}, "username": {"alice"}, "password": {"pw-alice"}})
	if r.status != 403 || r.code() != CodeDisabledProfile {
		t.Fatalf("login before verification: %d %s", r.status, r.body)
	}
	var v Profile
	e.mustOK(e.do("POST", "/api/1/profile/verify.json", e.master, url.Values{"verificationTokenId": {tok}})).json(t, &v)
	if !v.Enabled || !v.Verified {
		t.Fatalf("verified profile %+v", v)
	}
	// Single use.
	if r := e.do("POST", "/api/1/profile/verify.json", e.master, url.Values{"verificationTokenId": {tok}}); r.status != 404 || r.code() != CodeNoSuchVerificationToken {
		t.Fatalf("second use: %d %s", r.status, r.body)
	}
}

func TestUpdateProfile(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	p := e.profile("acme", "alice", url.Values{"role": {"ADMIN", "USER"}, "attributes": {`{"firstName":"A"}`}})
	var got Profile
	e.mustOK(e.do("POST", "/api/1/profile/"+p.ID+"/update.json", e.master, url.Values{"attributes": {`{"lastName":"<i>B</i>"}`},
		"email": {"al@example.com"}, "attributeToReturn": {"lastName"}})).json(t, &got)
	if got.Email != "al@example.com" || len(got.Attributes) != 1 || got.Attributes["lastName"] != "&lt;i&gt;B&lt;/i&gt;" {
		t.Fatalf("update: %+v", got)
	}
	full := e.get(p.ID)
	if full.Attributes["firstName"] != "A" || !slices.Equal(full.Roles, []string{"ADMIN", "USER"}) || full.Username != "alice" {
		t.Fatalf("merge lost fields: %+v", full)
	}
	// role= clears roles; enabled=false disables.
	e.mustOK(e.do("POST", "/api/1/profile/"+p.ID+"/update", e.master, url.Values{"role": {""}, "enabled": {"false"}}))
	if full = e.get(p.ID); len(full.Roles) != 0 || full.Enabled {
		t.Fatalf("after role= enabled=false: %+v", full)
	}
	// attributes/update: no cleansing; $none projection.
	got = Profile{}
	e.mustOK(e.doJSON("/api/1/profile/"+p.ID+"/attributes/update.json", e.master, map[string]any{"firstName": "<b>"},
		url.Values{"attributeToReturn": {"$none"}})).json(t, &got)
	if len(got.Attributes) != 0 {
		t.Fatalf("$none returned %v", got.Attributes)
	}
	if full = e.get(p.ID); full.Attributes["firstName"] != "<b>" {
		t.Fatalf("attributes/update cleansed: %v", full.Attributes)
	}
	var attrs map[string]any
	e.mustOK(e.do("GET", "/api/1/profile/"+p.ID+"/attributes.json", e.master, url.Values{"attributesToReturn": {"firstName,lastName"}})).json(t, &attrs)
	if len(attrs) != 2 {
		t.Fatalf("attributes %v", attrs)
	}
	e.mustOK(e.do("POST", "/api/1/profile/"+p.ID+"/roles/add", e.master, url.Values{"role": {"X", "Y"}}))
	e.mustOK(e.do("POST", "/api/1/profile/"+p.ID+"/roles/remove", e.master, url.Values{"role": {"X"}}))
	e.mustOK(e.do("POST", "/api/1/profile/"+p.ID+"/enable", e.master, nil))
	if full = e.get(p.ID); !slices.Equal(full.Roles, []string{"Y"}) || !full.Enabled {
		t.Fatalf("roles/enable: %+v", full)
	}
	// Username taken: 409 and nothing changes.
	e.profile("acme", "bob", nil)
	if r := e.do("POST", "/api/1/profile/"+p.ID+"/update", e.master, url.Values{"username": {"bob"}, "email": {"new@example.com"}}); r.status != 409 {
		t.Fatalf("rename to a taken username: %d %s", r.status, r.body)
	}
	if full = e.get(p.ID); full.Username != "alice" || full.Email != "al@example.com" {
		t.Fatalf("refused update changed the profile: %+v", full)
	}
	for _, id := range []string{"nope", "5f0000000000000000000000", "../../etc"} {
		if r := e.do("POST", "/api/1/profile/"+url.PathEscape(id)+"/enable", e.master, nil); r.status != 404 || r.code() != CodeNoSuchProfile {
			t.Fatalf("enable %q: %d %s", id, r.status, r.body)
		}
	}
	e.mustOK(e.do("POST", "/api/1/profile/"+p.ID+"/delete", e.master, nil))
	e.mustOK(e.do("POST", "/api/1/profile/"+p.ID+"/delete", e.master, nil))
	if r := e.do("GET", "/api/1/profile/"+p.ID, e.master, nil); r.status != 404 {
		t.Fatalf("deleted profile: %d", r.status)
	}
}

func TestSortAndPaging(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	for _, n := range []string{"carol", "alice", "dave", "bob"} {
		e.profile("acme", n, url.Values{"attributes": {`{"firstName":"` + strings.ToUpper(n) + `"}`}})
	}
	names := func(form url.Values) []string {
		t.Helper()
		form.Set("tenantName", "acme")
		var list []Profile
		e.mustOK(e.do("GET", "/api/1/profile/range.json", e.master, form)).json(t, &list)
		var out []string
		for _, p := range list {
			out = append(out, p.Username)
		}
		return out
	}
	tests := []struct {
		name string
		form url.Values
		want []string
	}{
		{"natural order", url.Values{}, []string{"carol", "alice", "dave", "bob"}},
		{"missing sortOrder is descending", url.Values{"sortBy": {"username"}}, []string{"dave", "carol", "bob", "alice"}},
		{"ASC", url.Values{"sortBy": {"username"}, "sortOrder": {"ASC"}}, []string{"alice", "bob", "carol", "dave"}},
		{"dotted path", url.Values{"sortBy": {"attributes.firstName"}, "sortOrder": {"ASC"}}, []string{"alice", "bob", "carol", "dave"}},
		{"count alone is ignored", url.Values{"count": {"1"}}, []string{"carol", "alice", "dave", "bob"}},
		{"start and count", url.Values{"sortBy": {"username"}, "sortOrder": {"ASC"}, "start": {"1"}, "count": {"2"}}, []string{"bob", "carol"}},
		{"start alone", url.Values{"start": {"3"}}, []string{"bob"}},
		{"start past the end", url.Values{"start": {"9"}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := names(tc.form); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	for _, bad := range []url.Values{{"sortOrder": {"UP"}}, {"start": {"-1"}}, {"start": {"x"}}} {
		bad.Set("tenantName", "acme")
		if r := e.do("GET", "/api/1/profile/range", e.master, bad); r.status != 400 {
			t.Errorf("%v: %d", bad, r.status)
		}
	}
}

func TestQueries(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme", AttributeDefinition{Name: "plan", Indexed: true, Permissions: all},
		AttributeDefinition{Name: "city", Permissions: all})
	e.tenant("beta", AttributeDefinition{Name: "plan", Indexed: true, Permissions: all})
	e.profile("acme", "alice", url.Values{"role": {"ADMIN"}, "attributes": {`{"plan":"gold","city":"Paris"}`}})
	e.profile("acme", "bob", url.Values{"attributes": {`{"plan":"free","city":"Lyon"}`}})
	e.profile("acme", "carol", url.Values{"role": {"ADMIN"}, "attributes": {`{"plan":["gold","beta"]}`}})
	e.profile("beta", "alice", url.Values{"attributes": {`{"plan":"gold"}`}})
	count := func(path string, form url.Values) (int, resp) {
		form.Set("tenantName", "acme")
		r := e.do("GET", path, e.master, form)
		var list []Profile
		if r.status == 200 {
			r.json(t, &list)
		}
		return len(list), r
	}
	tests := []struct {
		name   string
		path   string
		form   url.Values
		want   int
		status int
		code   string
	}{
		{"by_query username", "/api/1/profile/by_query", url.Values{"query": {"{username: 'alice'}"}}, 1, 200, ""},
		{"by_query email (index, exact case)", "/api/1/profile/by_query", url.Values{"query": {`{"email": "BOB@example.com"}`}}, 0, 200, ""},
		{"by_query indexed attribute", "/api/1/profile/by_query", url.Values{"query": {"{attributes.plan: 'gold'}"}}, 2, 200, ""},
		{"by_query $in", "/api/1/profile/by_query", url.Values{"query": {"{attributes.plan: {$in: ['free','beta']}}"}}, 2, 200, ""},
		{"by_query regex", "/api/1/profile/by_query", url.Values{"query": {"{username: {$regex: '.*O.*', $options: 'i'}}"}}, 2, 200, ""},
		{"by_query $or", "/api/1/profile/by_query", url.Values{"query": {"{$or: [{roles: 'ADMIN'}, {attributes.city: 'Lyon'}]}"}}, 3, 200, ""},
		{"by_query paging", "/api/1/profile/by_query", url.Values{"query": {"{}"}, "start": {"1"}, "count": {"1"}}, 1, 200, ""},
		{"$where refused", "/api/1/profile/by_query", url.Values{"query": {"{$where: 'sleep(1000)'}"}}, 0, 400, CodeInvalidQuery},
		{"tenant refused", "/api/1/profile/by_query", url.Values{"query": {"{tenant: 'beta'}"}}, 0, 400, CodeInvalidQuery},
		{"syntax error", "/api/1/profile/by_query", url.Values{"query": {"{username: "}}, 0, 400, CodeInvalidQuery},
		{"unknown operator", "/api/1/profile/by_query", url.Values{"query": {"{username: {$foo: 1}}"}}, 0, 400, CodeInvalidQuery},
		{"missing query", "/api/1/profile/by_query", url.Values{}, 0, 400, CodeOther},
		{"by_role", "/api/1/profile/by_role", url.Values{"role": {"ADMIN"}}, 2, 200, ""},
		{"by_existing_attribute", "/api/1/profile/by_existing_attribute", url.Values{"attributeName": {"city"}}, 2, 200, ""},
		{"by_attribute_value indexed", "/api/1/profile/by_attribute_value", url.Values{"attributeName": {"plan"}, "attributeValue": {"gold"}}, 2, 200, ""},
		{"by_attribute_value scan", "/api/1/profile/by_attribute_value", url.Values{"attributeName": {"city"}, "attributeValue": {"Paris"}}, 1, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, r := count(tc.path, tc.form)
			if r.status != tc.status || (tc.code != "" && r.code() != tc.code) || n != tc.want {
				t.Fatalf("got %d profiles, %d %s; want %d, %d %s", n, r.status, r.body, tc.want, tc.status, tc.code)
			}
		})
	}
	var n int
	e.mustOK(e.do("GET", "/api/1/profile/count_by_query", e.master, url.Values{"tenantName": {"acme"}, "query": {"{roles: 'ADMIN'}"}})).json(t, &n)
	if n != 2 {
		t.Fatalf("count_by_query %d", n)
	}
	var one Profile
	e.mustOK(e.do("GET", "/api/1/profile/one_by_query", e.master, url.Values{"tenantName": {"acme"}, "query": {"{attributes.city: 'Lyon'}"}})).json(t, &one)
	if one.Username != "bob" {
		t.Fatalf("one_by_query %+v", one)
	}
	if r := e.do("GET", "/api/1/profile/one_by_query", e.master, url.Values{"tenantName": {"acme"}, "query": {"{username: 'zed'}"}}); r.status != 404 {
		t.Fatalf("one_by_query without match: %d", r.status)
	}
	var byName Profile
	e.mustOK(e.do("GET", "/api/1/profile/by_username", e.master, url.Values{"tenantName": {"beta"}, "username": {"alice"}})).json(t, &byName)
	if byName.Tenant != "beta" {
		t.Fatalf("by_username %+v", byName)
	}
	var ids []Profile
	e.mustOK(e.do("GET", "/api/1/profile/by_ids", e.master, url.Values{"id": {byName.ID + "," + one.ID + ",5f0000000000000000000000"},
		"sortBy": {"username"}})).json(t, &ids)
	if len(ids) != 2 || ids[0].Username != "bob" {
		t.Fatalf("by_ids %+v", ids)
	}
}

func TestScanPrefilter(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme", AttributeDefinition{Name: "dept", Permissions: all})
	e.profile("acme", "a", url.Values{"attributes": {`{"dept":"R&D <x>"}`}})
	e.profile("acme", "b", url.Values{"attributes": {`{"dept":["sales","ops"]}`}})
	e.profile("acme", "c", url.Values{"attributes": {`{"dept":"opsx"}`}})
	tests := []struct {
		query string
		want  int
	}{
		{`{attributes.dept: 'R&D <x>'}`, 1},
		{`{attributes.dept: 'ops'}`, 1},
		{`{attributes.dept: {$in: ['ops', 'opsx']}}`, 2},
		{`{attributes.dept: 'op'}`, 0},
	}
	for _, tc := range tests {
		var list []Profile
		e.mustOK(e.do("GET", "/api/1/profile/by_query", e.master, url.Values{"tenantName": {"acme"}, "query": {tc.query}})).json(t, &list)
		if len(list) != tc.want {
			t.Errorf("%s: %d profiles, want %d", tc.query, len(list), tc.want)
		}
	}
	if needlesFor([]any{"a/b"}) != nil || needlesFor([]any{"é"}) != nil || needlesFor([]any{int64(1)}) != nil {
		t.Error("needle for a value an encoder may escape")
	}
	if n := needlesFor([]any{"abc"}); len(n) != 1 || n[0] != "abc" || !hasNeedle([]byte(`{"x":"abc"}`), n) || hasNeedle([]byte(`{"x":"abcd"}`), n) {
		t.Errorf("needles %q", n)
	}
}

// TestDocumentParameterNames: the parameter names of the Crafter Profile
// 4.5 document are read beside the code's names (which the Java client
// sends): roles for role on a profile's roles/add and roles/remove,
// attributesName for attributeName on attributes/remove, and
// attributesToReturn for attributeToReturn.
func TestDocumentParameterNames(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	p := e.profile("acme", "alice", url.Values{"attributes": {`{"firstName":"Alice","lastName":"Liddell"}`}})
	cases := []struct {
		name, path string
		form       url.Values
		check      func(Profile) bool
	}{
		{"roles/add roles=", "/api/1/profile/" + p.ID + "/roles/add.json",
			url.Values{"roles": {"APP_TEST,APP_REPORT"}},
			func(got Profile) bool { return strings.Join(got.Roles, ",") == "APP_TEST,APP_REPORT" }},
		{"roles/add role= and roles=", "/api/1/profile/" + p.ID + "/roles/add.json",
			url.Values{"role": {"A"}, "roles": {"B"}},
			func(got Profile) bool { return strings.Join(got.Roles, ",") == "APP_TEST,APP_REPORT,A,B" }},
		{"roles/remove roles=", "/api/1/profile/" + p.ID + "/roles/remove.json",
			url.Values{"roles": {"APP_TEST", "A"}},
			func(got Profile) bool { return strings.Join(got.Roles, ",") == "APP_REPORT,B" }},
		{"attributes/remove attributesName= with attributesToReturn=", "/api/1/profile/" + p.ID + "/attributes/remove.json",
			url.Values{"attributesName": {"lastName"}, "attributesToReturn": {"firstName,lastName"}},
			func(got Profile) bool {
				_, ln := got.Attributes["lastName"]
				return got.Attributes["firstName"] == "Alice" && !ln
			}},
	}
	for _, c := range cases {
		r := e.do("POST", c.path, e.master, c.form)
		if r.status != 200 {
			t.Errorf("%s: %d %s", c.name, r.status, r.body)
			continue
		}
		var got Profile
		r.json(t, &got)
		if !c.check(got) {
			t.Errorf("%s: %+v", c.name, got)
		}
	}
	// Without any of the names the parameter is still required, named as
	// the code names it.
	r := e.do("POST", "/api/1/profile/"+p.ID+"/roles/add.json", e.master, nil)
	if r.status != 400 || !strings.Contains(string(r.body), "'role'") {
		t.Errorf("no role: %d %s", r.status, r.body)
	}
}

// TestListingsOfUnknownTenant: Crafter's listings and its count read the
// profiles by tenant name and never the tenant, so a tenant that does not
// exist lists [] and counts 0 (§1: nothing found on a list endpoint is
// []); the query endpoints, which need the tenant's attribute
// definitions, and every endpoint for a token without a permission for
// the tenant, answer as before.
func TestListingsOfUnknownTenant(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme", AttributeDefinition{Name: "city", Permissions: all})
	e.profile("acme", "alice", url.Values{"attributes": {`{"city":"Paris"}`}})
	other := e.token(identity.Credential{Application: "app",
		TenantPermissions: []identity.TenantPermission{{Tenant: "acme", AllowedActions: []string{"*"}}}})
	tests := []struct {
		path   string
		form   url.Values
		body   string
		status int
		code   string
	}{
		{"/api/1/profile/count", nil, "0", 200, ""},
		{"/api/1/profile/range", nil, "[]", 200, ""},
		{"/api/1/profile/by_role", url.Values{"role": {"ADMIN"}}, "[]", 200, ""},
		{"/api/1/profile/by_existing_attribute", url.Values{"attributeName": {"city"}}, "[]", 200, ""},
		{"/api/1/profile/by_attribute_value", url.Values{"attributeName": {"city"}, "attributeValue": {"Paris"}}, "[]", 200, ""},
		{"/api/1/profile/by_query", url.Values{"query": {"{}"}}, "", 404, CodeNoSuchTenant},
		{"/api/1/profile/count_by_query", url.Values{"query": {"{}"}}, "", 404, CodeNoSuchTenant},
		{"/api/1/profile/by_username", url.Values{"username": {"alice"}}, "", 404, CodeNoSuchProfile},
	}
	if r := e.do("GET", "/api/1/profile/by_username", e.master, url.Values{"tenantName": {"acme"}, "username": {""}}); r.status != 404 || r.code() != CodeNoSuchProfile {
		t.Fatalf("by_username with an empty username: %d %s", r.status, r.body)
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			for _, tenant := range []string{"nosuch", "-Not-A-Tenant-"} {
				form := url.Values{"tenantName": {tenant}}
				for k, v := range tc.form {
					form[k] = v
				}
				r := e.do("GET", tc.path, e.master, form)
				if r.status != tc.status || (tc.code != "" && r.code() != tc.code) ||
					(tc.body != "" && strings.TrimSpace(string(r.body)) != tc.body) {
					t.Fatalf("tenant %q: %d %s; want %d %s %s", tenant, r.status, r.body, tc.status, tc.code, tc.body)
				}
				// A token limited to acme is refused the unknown
				// tenant, as any tenant not its own.
				if r := e.do("GET", tc.path, other, form); r.status != 403 || r.code() != CodeActionDenied {
					t.Fatalf("limited token, tenant %q: %d %s", tenant, r.status, r.body)
				}
			}
		})
	}
}

// countdownCtx is a context whose Err turns Canceled after n calls: a
// caller that goes away while a search runs.
type countdownCtx struct {
	context.Context
	n int
}

func (c *countdownCtx) Err() error {
	if c.n--; c.n < 0 {
		return context.Canceled
	}
	return nil
}

// TestSearchStopsWhenTheCallerGoes: a search over a tenant's profiles
// stops when its request's context ends (a query over large profiles may
// take seconds; before, it ran on after the client had gone).
func TestSearchStopsWhenTheCallerGoes(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	for i := range 300 {
		e.profile("acme", fmt.Sprintf("u%03d", i), nil)
	}
	ctx := &countdownCtx{Context: context.Background(), n: 2}
	_, err := e.svc.ProfilesByQuery(ctx, superCred, "acme", "{}", Sort{}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("search with its caller gone: %v", err)
	}
	list, err := e.svc.ProfilesByQuery(context.Background(), superCred, "acme", "{}", Sort{}, nil)
	if err != nil || len(list) != 300 {
		t.Fatalf("search: %d profiles, %v", len(list), err)
	}
}

// TestVerifyDoesNotUndoADisable (the attacker's test): a profile an
// administrator disabled after it was verified stays disabled when a
// verification or reset token of it is consumed at verify, whichever
// token the user can still get mailed; a profile waiting for its first
// verification is enabled by it, as in Crafter.
func TestVerifyDoesNotUndoADisable(t *testing.T) {
	tokenOf := func(t *testing.T, e *env, id, kind string) string {
		t.Helper()
		if kind == "reset" {
			e.mustOK(e.do("POST", "/api/1/profile/"+id+"/reset_password.json", e.master, url.Values{"resetPasswordUrl": {"https://app.example.com/reset"}}))
			m := e.mail.last()
			u, err := url.Parse(strings.TrimSpace(m.Text[strings.Index(m.Text, "https://"):]))
			if err != nil || u.Query().Get("tokenId") == "" {
				t.Fatalf("reset mail %q", m.Text)
			}
			return u.Query().Get("tokenId")
		}
		var vt VerificationToken
		e.mustOK(e.do("POST", "/api/1/profile/"+id+"/verification_token/create.json", e.master, nil)).json(t, &vt)
		return vt.ID
	}
	for _, kind := range []string{"verification", "reset"} {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t)
			e.tenant("acme")
			p := e.profile("acme", "alice", nil)
			// Verified once, then disabled by an administrator.
			var v Profile
			e.mustOK(e.do("POST", "/api/1/profile/verify.json", e.master, url.Values{"verificationTokenId": {tokenOf(t, e, p.ID, "verification")}})).json(t, &v)
			if !v.Enabled || !v.Verified {
				t.Fatalf("first verification %+v", v)
			}
			e.mustOK(e.do("POST", "/api/1/profile/"+p.ID+"/disable", e.master, nil))
			e.mustOK(e.do("POST", "/api/1/profile/verify.json", e.master, url.Values{"verificationTokenId": {tokenOf(t, e, p.ID, kind)}})).json(t, &v)
			if v.Enabled || !v.Verified {
				t.Fatalf("verify answered %+v, want disabled", v)
			}
			if got := e.get(p.ID); got.Enabled {
				t.Fatalf("stored profile enabled again: %+v", got)
			}
			r := e.do("POST", "/api/1/authentication/authenticate", e.master, url.Values{"tenantName": {"acme"}, "username": {"alice"}, "password": {"pw-alice"}})
			if r.status != 403 || r.code() != CodeDisabledProfile {
				t.Fatalf("login of the disabled profile: %d %s", r.status, r.body)
			}
			// The administrator's enable still works.
			e.mustOK(e.do("POST", "/api/1/profile/"+p.ID+"/enable", e.master, nil))
			if got := e.get(p.ID); !got.Enabled {
				t.Fatalf("enable: %+v", got)
			}
		})
	}
}

// TestVerifyAfterAnAddressChange (the attacker's test): a verified
// profile an administrator disabled stays disabled after its address
// changes (which clears verified) and a new token is consumed at verify;
// a profile created disabled, which Crafter's verify enables, still is.
func TestVerifyAfterAnAddressChange(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	verify := func(id string) Profile {
		t.Helper()
		var vt VerificationToken
		e.mustOK(e.do("POST", "/api/1/profile/"+id+"/verification_token/create.json", e.master, nil)).json(t, &vt)
		var v Profile
		e.mustOK(e.do("POST", "/api/1/profile/verify.json", e.master, url.Values{"verificationTokenId": {vt.ID}})).json(t, &v)
		return v
	}
	p := e.profile("acme", "carol", nil)
	verify(p.ID)
	e.mustOK(e.do("POST", "/api/1/profile/"+p.ID+"/disable", e.master, nil))
	e.mustOK(e.do("POST", "/api/1/profile/"+p.ID+"/update", e.master, url.Values{"email": {"carol2@example.com"}}))
	if g := e.get(p.ID); g.Verified || g.Enabled {
		t.Fatalf("after the address change: %+v", g)
	}
	if v := verify(p.ID); v.Enabled || !v.Verified {
		t.Fatalf("verify after the address change answered %+v, want verified and still disabled", v)
	}
	// Created disabled (an application that mails its own verification):
	// verify enables it, as Crafter's does.
	q := e.profile("acme", "dave", url.Values{"enabled": {"false"}})
	if v := verify(q.ID); !v.Enabled || !v.Verified {
		t.Fatalf("a profile created disabled after verify: %+v", v)
	}
	// Then disabled by an administrator: a new token does not undo it.
	e.mustOK(e.do("POST", "/api/1/profile/"+q.ID+"/disable", e.master, nil))
	if v := verify(q.ID); v.Enabled {
		t.Fatalf("verify undid the disable: %+v", v)
	}
}

// TestOrgDeletionSweepsTenantPermissions (the attacker's test): deleting
// a tenant takes its grants out of the access tokens that name it, by
// its tenant name (an encoded one included), and never widens a token: an
// entry that denied the tenant before a "*" entry still denies its
// successor; a grant before a "*" entry goes, leaving what "*" gives
// every tenant.
func TestOrgDeletionSweepsTenantPermissions(t *testing.T) {
	cases := []struct {
		name  string
		perms []identity.TenantPermission
	}{
		{"encoded tenant name", []identity.TenantPermission{{Tenant: "my_site", AllowedActions: []string{"*"}}}},
		{"a denial before *", []identity.TenantPermission{{Tenant: "orgd", AllowedActions: []string{}}, {Tenant: "*", AllowedActions: []string{"*"}}}},
		{"a grant before a narrower *", []identity.TenantPermission{{Tenant: "orgd", AllowedActions: []string{"*"}}, {Tenant: "*", AllowedActions: []string{"READ_TENANT"}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			tenant := c.perms[0].Tenant
			e.tenant(tenant)
			tok := e.token(identity.Credential{Application: "x", TenantPermissions: c.perms})
			create := func(user string) int {
				return e.do("POST", "/api/1/profile/create.json", tok, url.Values{"tenantName": {tenant}, "username": {user},
					"password": {"pw-" + user}, "email": {user + "@d.test"}, "enabled": {"true"}}).status
			}
			before := create("z0")
			e.mustOK(e.do("POST", "/api/1/tenant/"+tenant+"/delete", e.master, nil))
			e.tenant(tenant)
			if got := create("z1"); got == 200 {
				t.Fatalf("the token reaches the successor tenant (before the deletion: %d)", before)
			}
		})
	}
}
