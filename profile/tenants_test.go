package profile

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

var all = []AttributePermission{{Application: "*", AllowedActions: []string{"*"}}}

func TestTenantCreateRules(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	tests := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"not a slug", map[string]any{"name": "Acme Corp"}, 400, CodeOther},
		{"upper case", map[string]any{"name": "ACME"}, 400, CodeOther},
		{"empty", map[string]any{"name": ""}, 400, CodeOther},
		{"duplicate", map[string]any{"name": "acme"}, 409, CodeTenantExists},
		{"bad json", "{", 400, CodeOther},
		{"duplicate definition", map[string]any{"name": "dup", "attributeDefinitions": []any{
			map[string]any{"name": "a"}, map[string]any{"name": "a"}}}, 400, CodeOther},
		{"dotted attribute", map[string]any{"name": "dots", "attributeDefinitions": []any{map[string]any{"name": "a.b"}}}, 400, CodeOther},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r resp
			if s, ok := tc.body.(string); ok {
				r = e.serve(jsonReq("/api/1/tenant/create.json?accessTokenId="+e.master, s))
			} else {
				r = e.doJSON("/api/1/tenant/create.json", e.master, tc.body, nil)
			}
			if r.status != tc.status || r.code() != tc.code {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
		})
	}
	var n int
	e.mustOK(e.do("GET", "/api/1/tenant/count.json", e.master, nil)).json(t, &n)
	if n != 1 {
		t.Fatalf("count %d after refused creations, want 1", n)
	}
	// A tenant is an organization: the Cryptr face sees it.
	if o, err := e.id.GetOrganization(t.Context(), "acme"); err != nil || o.Domain != "acme" {
		t.Fatalf("organization: %v %v", o, err)
	}
}

func TestTenantUpdateCascade(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme", AttributeDefinition{Name: "plan", Permissions: all})
	p := e.profile("acme", "alice", url.Values{"role": {"ADMIN", "USER"}, "attributes": {`{"plan":"gold","firstName":"Al"}`}})
	// The body omits lastName and plan and the ADMIN role, and adds a
	// definition with a default.
	body := map[string]any{"name": "acme", "availableRoles": []string{"USER"}, "verifyNewProfiles": true,
		"attributeDefinitions": []any{
			map[string]any{"name": "firstName", "metadata": map[string]any{"type": "TEXT"}, "permissions": all},
			map[string]any{"name": "tier", "defaultValue": "basic", "permissions": all},
		}}
	var tn Tenant
	e.mustOK(e.doJSON("/api/1/tenant/update.json", e.master, body, nil)).json(t, &tn)
	if !tn.VerifyNewProfiles || !tn.CleanseAttributes || tn.SSOEnabled || len(tn.AttributeDefinitions) != 2 {
		t.Fatalf("tenant %+v", tn)
	}
	got := e.get(p.ID)
	if !slices.Equal(got.Roles, []string{"USER"}) {
		t.Errorf("roles %v: ADMIN should be pulled", got.Roles)
	}
	if _, ok := got.Attributes["plan"]; ok {
		t.Errorf("plan still set: %v", got.Attributes)
	}
	if got.Attributes["tier"] != "basic" || got.Attributes["firstName"] != "Al" {
		t.Errorf("attributes %v: want tier back-filled and firstName kept", got.Attributes)
	}
	// Missing tenant.
	if r := e.doJSON("/api/1/tenant/update", e.master, map[string]any{"name": "nope"}, nil); r.status != 404 || r.code() != CodeNoSuchTenant {
		t.Fatalf("update of a missing tenant: %d %s", r.status, r.body)
	}
}

func TestTenantRolesAndDefinitions(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	p := e.profile("acme", "alice", url.Values{"role": {"ADMIN,USER"}})
	var tn Tenant
	e.mustOK(e.do("POST", "/api/1/tenant/acme/roles/add.json", e.master, url.Values{"role": {"EDITOR", "USER"}})).json(t, &tn)
	if !slices.Equal(tn.AvailableRoles, []string{"ADMIN", "USER", "EDITOR"}) {
		t.Fatalf("roles after add %v", tn.AvailableRoles)
	}
	e.mustOK(e.do("POST", "/api/1/tenant/acme/roles/remove", e.master, url.Values{"role": {"ADMIN"}})).json(t, &tn)
	got := e.get(p.ID)
	if !slices.Equal(got.Roles, []string{"USER"}) {
		t.Fatalf("profile roles %v after tenant role removal", got.Roles)
	}
	// add: existing names skipped, defaults back-filled.
	defs := []any{
		map[string]any{"name": "firstName", "defaultValue": "X", "permissions": all},
		map[string]any{"name": "color", "defaultValue": "blue", "permissions": all},
	}
	e.mustOK(e.doJSON("/api/1/tenant/acme/attribute_definitions/add.json", e.master, defs, nil)).json(t, &tn)
	if d := tn.AttributeDefinitions[0]; d.Name != "firstName" || d.DefaultValue != nil {
		t.Fatalf("existing definition replaced: %+v", d)
	}
	got = e.get(p.ID)
	if got.Attributes["color"] != "blue" || got.Attributes["firstName"] != nil {
		t.Fatalf("back-fill: %v", got.Attributes)
	}
	// update: replaced by name, unknown ignored, no back-fill.
	upd := []any{map[string]any{"name": "lastName", "defaultValue": "Doe", "permissions": all},
		map[string]any{"name": "ghost", "permissions": all}}
	e.mustOK(e.doJSON("/api/1/tenant/acme/attribute_definitions/update", e.master, upd, nil)).json(t, &tn)
	if len(tn.AttributeDefinitions) != 3 {
		t.Fatalf("unknown definition added: %+v", tn.AttributeDefinitions)
	}
	got = e.get(p.ID)
	if _, ok := got.Attributes["lastName"]; ok {
		t.Fatal("update back-filled a default")
	}
	// remove: unset from profiles.
	e.mustOK(e.do("POST", "/api/1/tenant/acme/attribute_definitions/remove", e.master, url.Values{"attributeName": {"color"}}))
	got = e.get(p.ID)
	if _, ok := got.Attributes["color"]; ok {
		t.Fatal("removed definition still on the profile")
	}
	// verify_new_profiles needs verify.
	if r := e.do("POST", "/api/1/tenant/acme/verify_new_profiles", e.master, nil); r.status != 400 {
		t.Fatalf("verify missing: %d", r.status)
	}
	if r := e.do("POST", "/api/1/tenant/acme/verify_new_profiles", e.master, url.Values{"verify": {"maybe"}}); r.status != 400 {
		t.Fatalf("verify=maybe: %d", r.status)
	}
	e.mustOK(e.do("POST", "/api/1/tenant/acme/verify_new_profiles", e.master, url.Values{"verify": {"true"}})).json(t, &tn)
	if !tn.VerifyNewProfiles {
		t.Fatal("verifyNewProfiles not set")
	}
}

func TestTenantDelete(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	p := e.profile("acme", "alice", nil)
	e.mustOK(e.do("POST", "/api/1/tenant/acme/delete.json", e.master, nil))
	if r := e.do("GET", "/api/1/tenant/acme", e.master, nil); r.status != 404 || r.code() != CodeNoSuchTenant {
		t.Fatalf("deleted tenant: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/1/profile/"+p.ID, e.master, nil); r.status != 404 {
		t.Fatalf("profile of a deleted tenant: %d", r.status)
	}
	e.mustOK(e.do("POST", "/api/1/tenant/acme/delete.json", e.master, nil)) // silent
	e.tenant("acme")                                                        // the name is free again
}

func TestPermissions(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	e.tenant("beta")
	p := e.profile("acme", "alice", nil)
	tok := func(perms ...identity.TenantPermission) string {
		return e.token(identity.Credential{Application: "app", TenantPermissions: perms})
	}
	tp := func(tenant string, acts ...string) identity.TenantPermission {
		return identity.TenantPermission{Tenant: tenant, AllowedActions: acts}
	}
	engine := tok(tp("*", "READ_TENANT", "MANAGE_PROFILES", "MANAGE_TICKETS"))
	firstMatch := tok(tp("acme", "READ_TENANT"), tp("*", "*")) // acme entry wins: no MANAGE_PROFILES on acme
	noRead := tok(tp("*", "MANAGE_PROFILES"))
	acmeOnly := tok(tp("acme", "*"))
	tests := []struct {
		name, method, path, tok string
		form                    url.Values
		status                  int
		code                    string
	}{
		{"no token", "GET", "/api/1/tenant/acme", "", nil, 403, CodeAccessDenied},
		{"unknown token", "GET", "/api/1/tenant/acme", "nope-nope-nope-nope", nil, 403, CodeAccessDenied},
		{"engine reads profile", "GET", "/api/1/profile/" + p.ID, engine, nil, 200, ""},
		{"engine cannot delete tenant", "POST", "/api/1/tenant/acme/delete", engine, nil, 403, CodeActionDenied},
		{"first match wins", "GET", "/api/1/profile/" + p.ID, firstMatch, nil, 403, CodeActionDenied},
		{"first match still reads tenant", "GET", "/api/1/tenant/acme", firstMatch, nil, 200, ""},
		{"first match: other tenants via *", "GET", "/api/1/tenant/beta", firstMatch, nil, 200, ""},
		{"implicit READ_TENANT", "GET", "/api/1/profile/" + p.ID, noRead, nil, 403, CodeActionDenied},
		{"missing profile is 404 whatever the rights", "GET", "/api/1/profile/5f0000000000000000000000", noRead, nil, 404, CodeNoSuchProfile},
		{"tenant-scoped token", "GET", "/api/1/profile/" + p.ID, acmeOnly, nil, 200, ""},
		{"tenant-scoped token, other tenant", "GET", "/api/1/tenant/beta", acmeOnly, nil, 403, CodeActionDenied},
		{"global count needs *", "GET", "/api/1/tenant/count", acmeOnly, nil, 403, CodeActionDenied},
		{"global all via *", "GET", "/api/1/tenant/all", engine, nil, 200, ""},
		{"master only: list tokens", "GET", "/api/1/access_token/all", engine, nil, 403, CodeActionDenied},
		{"master only: get token", "GET", "/api/1/access_token/" + engine, engine, nil, 403, CodeActionDenied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, tc.tok, tc.form)
			if r.status != tc.status || (tc.code != "" && r.code() != tc.code) {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
		})
	}
	if r := e.doJSON("/api/1/tenant/create", engine, map[string]any{"name": "gamma"}, nil); r.status != 403 || r.code() != CodeActionDenied {
		t.Fatalf("engine created a tenant: %d %s", r.status, r.body)
	}
	// Expired token.
	exp := e.clock.now().Add(-time1)
	old := e.token(identity.Credential{Application: "old", ExpiresAt: &exp,
		TenantPermissions: []identity.TenantPermission{tp("*", "*")}})
	if r := e.do("GET", "/api/1/tenant/acme", old, nil); r.status != 403 || r.code() != CodeAccessDenied {
		t.Fatalf("expired token: %d %s", r.status, r.body)
	}
}

func TestAttributePermissions(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme",
		AttributeDefinition{Name: "secret", Permissions: []AttributePermission{{Application: "admin", AllowedActions: []string{"*"}}}},
		AttributeDefinition{Name: "public", Permissions: []AttributePermission{
			{Application: "app", AllowedActions: []string{"READ_ATTRIBUTE"}}, {Application: "*", AllowedActions: []string{"*"}}}},
	)
	admin := e.token(identity.Credential{Application: "admin",
		TenantPermissions: []identity.TenantPermission{{Tenant: "*", AllowedActions: []string{"*"}}}})
	var p Profile
	e.mustOK(e.do("POST", "/api/1/profile/create", admin, url.Values{"tenantName": {"acme"}, "username": {"alice"},
		"email": {"alice@example.com"}, "enabled": {"true"}, "attributes": {`{"secret":"s","public":"p"}`}})).json(t, &p)
	app := e.token(identity.Credential{Application: "app",
		TenantPermissions: []identity.TenantPermission{{Tenant: "*", AllowedActions: []string{"*"}}}})
	var got Profile
	e.mustOK(e.do("GET", "/api/1/profile/"+p.ID, app, nil)).json(t, &got)
	if _, ok := got.Attributes["secret"]; ok || got.Attributes["public"] != "p" {
		t.Fatalf("read filtering: %v", got.Attributes)
	}
	// Write: public is read-only for app (first match), secret not allowed.
	r := e.doJSON("/api/1/profile/"+p.ID+"/attributes/update.json", app, map[string]any{"public": "x"}, nil)
	if r.status != 403 || r.code() != CodeActionDenied {
		t.Fatalf("write denied: %d %s", r.status, r.body)
	}
	r = e.doJSON("/api/1/profile/"+p.ID+"/attributes/update.json", app, map[string]any{"nope": "x"}, nil)
	if r.status != 400 || r.code() != CodeAttributeNotDefined {
		t.Fatalf("undefined: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/api/1/profile/"+p.ID+"/attributes/remove", app, url.Values{"attributeName": {"public"}})
	if r.status != 403 {
		t.Fatalf("remove denied: %d %s", r.status, r.body)
	}
	// Queries on an unreadable attribute are refused.
	r = e.do("GET", "/api/1/profile/by_query", app, url.Values{"tenantName": {"acme"}, "query": {"{attributes.secret: 's'}"}})
	if r.status != 400 || r.code() != CodeInvalidQuery {
		t.Fatalf("query on unreadable attribute: %d %s", r.status, r.body)
	}
	// Sorting on it is refused too (the order would reveal the values).
	r = e.do("GET", "/api/1/profile/range", app, url.Values{"tenantName": {"acme"}, "sortBy": {"attributes.secret.x"}})
	if r.status != 400 || r.code() != CodeInvalidQuery {
		t.Fatalf("sort on unreadable attribute: %d %s", r.status, r.body)
	}
	// Nothing changed.
	got = Profile{}
	e.mustOK(e.do("GET", "/api/1/profile/"+p.ID, admin, nil)).json(t, &got)
	if got.Attributes["public"] != "p" || got.Attributes["secret"] != "s" {
		t.Fatalf("attributes changed by refused calls: %v", got.Attributes)
	}
	_ = http.StatusOK
}

func TestEnsureDefaultTenant(t *testing.T) {
	e := newEnv(t)
	for i, want := range []bool{true, false} {
		created, err := e.svc.EnsureDefaultTenant(t.Context(), identity.Production)
		if err != nil || created != want {
			t.Fatalf("call %d: %v %v, want %v", i, created, err, want)
		}
	}
	var tn Tenant
	e.mustOK(e.do("GET", "/api/1/tenant/default.json", e.master, nil)).json(t, &tn)
	if len(tn.AvailableRoles) != 4 || len(tn.AttributeDefinitions) != 6 || !tn.CleanseAttributes {
		t.Fatalf("default tenant %+v", tn)
	}
	var n int
	e.mustOK(e.do("GET", "/api/1/profile/count", e.master, url.Values{"tenantName": {"default"}})).json(t, &n)
	if n != 0 {
		t.Fatal("the default tenant came with profiles")
	}
}

// TestIndexFollowsDefinitions flips an attribute's Indexed flag and
// removes it, checking the index holds exactly the profiles that have the
// value while indexed and nothing otherwise.
func TestIndexFollowsDefinitions(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme", AttributeDefinition{Name: "dept", Permissions: all})
	p := e.profile("acme", "alice", url.Values{"attributes": {`{"dept":["rd","ops"]}`}})
	e.profile("acme", "bob", url.Values{"attributes": {`{"dept":"rd"}`}})
	var orgID string
	_ = e.id.View(t.Context(), func(tx *identity.ReadTxn) error { o, err := tx.Org("acme"); orgID = o.ID; return err })
	count := func(v string) int {
		set, _ := identity.AttributeUsers(kv.Inside(), identity.Production, orgID, "dept", v)
		n := 0
		_ = e.id.View(t.Context(), func(tx *identity.ReadTxn) (err error) { n, err = set.Count(tx.KV(kv.Inside())); return })
		return n
	}
	setIndexed := func(on bool) {
		e.mustOK(e.doJSON("/api/1/tenant/acme/attribute_definitions/update", e.master,
			[]any{map[string]any{"name": "dept", "indexed": on, "permissions": all}}, nil))
	}
	byValue := func() int {
		var list []Profile
		e.mustOK(e.do("GET", "/api/1/profile/by_attribute_value", e.master, url.Values{"tenantName": {"acme"},
			"attributeName": {"dept"}, "attributeValue": {"rd"}})).json(t, &list)
		return len(list)
	}
	if count("rd") != 0 || byValue() != 2 {
		t.Fatal("unindexed attribute has index entries, or the scan misses")
	}
	setIndexed(true)
	if count("rd") != 2 || count("ops") != 1 || byValue() != 2 {
		t.Fatalf("after indexing: rd=%d ops=%d", count("rd"), count("ops"))
	}
	e.mustOK(e.doJSON("/api/1/profile/"+p.ID+"/attributes/update", e.master, map[string]any{"dept": "ops"}, nil))
	if count("rd") != 1 || count("ops") != 1 || byValue() != 1 {
		t.Fatalf("after an update: rd=%d ops=%d", count("rd"), count("ops"))
	}
	setIndexed(false)
	if count("rd") != 0 || count("ops") != 0 || byValue() != 1 {
		t.Fatal("index entries left after unindexing")
	}
	setIndexed(true)
	e.mustOK(e.do("POST", "/api/1/tenant/acme/attribute_definitions/remove", e.master, url.Values{"attributeName": {"dept"}}))
	if count("rd") != 0 || count("ops") != 0 {
		t.Fatal("index entries left after removing the definition")
	}
}

// TestStoredDefinitionNameRoundTrips: the attribute-name rule is the
// core's (identity.CheckAttributeName, also a MetaKey's), so a new
// definition with a dot or a leading '$' is refused; a definition stored
// under such a name before the rule (a MetaKey "a.b" made through the
// Cryptr face) keeps it: the tenant read and written back, or the
// definition updated, is not refused for it.
func TestStoredDefinitionNameRoundTrips(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	ctx := context.Background()
	if err := e.id.Update(ctx, func(tx *identity.Txn) error {
		o, err := tx.Org("acme")
		if err != nil {
			return err
		}
		tn, err := tx.Tenant(o.ID)
		if err != nil {
			return err
		}
		tn.AttributeDefinitions = append(tn.AttributeDefinitions, identity.AttributeDefinition{ID: "legacy-dot",
			Name: "a.b", Type: identity.MetaString, InToken: true,
			Permissions: []identity.AttributePermission{{Application: "*", AllowedActions: []string{"*"}}}})
		return tx.PutTenant(tn)
	}); err != nil {
		t.Fatal(err)
	}
	var tn map[string]any
	e.mustOK(e.do("GET", "/api/1/tenant/acme.json", e.master, nil)).json(t, &tn)
	cases := []struct {
		name, path string
		body       any
		status     int
	}{
		{"tenant written back as read", "/api/1/tenant/update.json", tn, 200},
		{"stored definition updated", "/api/1/tenant/acme/attribute_definitions/update.json",
			[]map[string]any{{"name": "a.b", "metadata": map[string]any{"label": "A B"}}}, 200},
		{"new definition with a dot", "/api/1/tenant/acme/attribute_definitions/add.json",
			[]map[string]any{{"name": "c.d"}}, 400},
		{"new definition with '$'", "/api/1/tenant/acme/attribute_definitions/add.json",
			[]map[string]any{{"name": "$set"}}, 400},
		{"new tenant with a dot", "/api/1/tenant/create.json",
			map[string]any{"name": "beta", "attributeDefinitions": []map[string]any{{"name": "a.b"}}}, 400},
	}
	for _, c := range cases {
		r := e.doJSON(c.path, e.master, c.body, nil)
		if r.status != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, r.status, r.body, c.status)
		}
	}
	var after Tenant
	e.mustOK(e.do("GET", "/api/1/tenant/acme.json", e.master, nil)).json(t, &after)
	names := []string{}
	for _, d := range after.AttributeDefinitions {
		names = append(names, d.Name)
	}
	if strings.Join(names, ",") != "firstName,lastName,a.b" {
		t.Fatalf("definitions %v", names)
	}
}

// TestAttributeDefinitionsBounded (the attacker's test): a tenant holds at
// most identity.MaxAttributeDefinitions definitions, whichever way they
// come (tenant create and update, add, update): every profile read and
// write consults them, and a write that compared each new definition with
// each stored one held the store's writer for seconds. Past the bound the
// answer is 400 and nothing changes; up to it, all is kept.
func TestAttributeDefinitionsBounded(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	defs := func(from, n int) string {
		var b strings.Builder
		b.WriteString("[")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"name":"a%d"}`, from+i)
		}
		b.WriteString("]")
		return b.String()
	}
	max := identity.MaxAttributeDefinitions
	post := func(path, body string) resp {
		return e.serve(jsonReq(path+"?accessTokenId="+url.QueryEscape(e.master), body))
	}
	var tn Tenant
	e.mustOK(e.do("GET", "/api/1/tenant/acme", e.master, nil)).json(t, &tn)
	have := len(tn.AttributeDefinitions) // the tenant's own
	if r := post("/api/1/tenant/acme/attribute_definitions/add", defs(0, max-have-10)); r.status != 200 {
		t.Fatalf("add %d: %d %s", max-have-10, r.status, r.body)
	}
	before := snapshot(t, e)
	for _, c := range []struct{ name, path, body string }{
		{"add past the bound", "/api/1/tenant/acme/attribute_definitions/add", defs(max, 11)},
		{"update with more than the bound", "/api/1/tenant/acme/attribute_definitions/update", defs(0, max+1)},
		{"tenant update with more than the bound", "/api/1/tenant/update", `{"name":"acme","attributeDefinitions":` + defs(0, max+1) + `}`},
		{"tenant create with more than the bound", "/api/1/tenant/create", `{"name":"beta","attributeDefinitions":` + defs(0, max+1) + `}`},
	} {
		if r := post(c.path, c.body); r.status != 400 {
			t.Errorf("%s: %d %s", c.name, r.status, r.body)
		}
	}
	if after := snapshot(t, e); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Fatal("a refused request changed the store")
	}
	if r := post("/api/1/tenant/acme/attribute_definitions/add", defs(max, 10)); r.status != 200 {
		t.Fatalf("add up to the bound: %d %s", r.status, r.body)
	}
	if r := post("/api/1/tenant/acme/attribute_definitions/update", defs(0, max-have)); r.status != 200 {
		t.Fatalf("update of all: %d %s", r.status, r.body)
	}
}
