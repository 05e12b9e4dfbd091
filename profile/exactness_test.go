package profile

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// allPerm lets every application do everything with an attribute.
var allPerm = []AttributePermission{{Application: "*", AllowedActions: []string{"*"}}}

// TestAttributeNumbersExact pins that attribute numbers are stored and
// answered as sent (a float64 made 12345678901234567 into
// 12345678901234568 and 1.0 into 1), through the attributes parameter,
// the JSON update, storage, the index and the query comparisons.
func TestAttributeNumbersExact(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme",
		AttributeDefinition{Name: "big", Permissions: allPerm, Indexed: true},
		AttributeDefinition{Name: "one", Permissions: allPerm},
		AttributeDefinition{Name: "list", Permissions: allPerm},
		AttributeDefinition{Name: "x", Permissions: allPerm},
		AttributeDefinition{Name: "dflt", Permissions: allPerm, DefaultValue: json.Number("2.50")})
	p := e.profile("acme", "alice", url.Values{"attributes": {`{"big":12345678901234567,"one":1.0,"list":[1.10,2e3]}`}})
	e.profile("acme", "bob", url.Values{"attributes": {`{"big":12345678901234568,"one":2}`}})
	want := []string{`"big":12345678901234567`, `"one":1.0`, `"list":[1.10,2e3]`, `"dflt":2.50`}
	check := func(what string, body []byte) {
		t.Helper()
		for _, w := range want {
			if !bytes.Contains(body, []byte(w)) {
				t.Errorf("%s: %s lacks %s", what, body, w)
			}
		}
	}
	check("get", e.mustOK(e.do("GET", "/api/1/profile/"+p.ID+".json", e.master, nil)).body)
	r := e.mustOK(e.doJSON("/api/1/profile/"+p.ID+"/attributes/update.json", e.master,
		json.RawMessage(`{"one":1.0,"x":-0.0}`), nil))
	want = append(want, `"x":-0.0`)
	check("update", r.body)
	check("attributes", e.mustOK(e.do("GET", "/api/1/profile/"+p.ID+"/attributes.json", e.master, nil)).body)

	for _, tc := range []struct {
		query string
		n     int
	}{
		{`{"attributes.big": 12345678901234567}`, 1}, // index candidates share a key: matched exactly
		{`{"attributes.big": 12345678901234568}`, 1},
		{`{"attributes.big": {"$gt": 12345678901234567}}`, 1},
		{`{"attributes.big": {"$gte": 12345678901234567}}`, 2},
		{`{"attributes.one": 1}`, 1},
		{`{"attributes.one": {"$lt": 1.5}}`, 1},
		{`{"attributes.dflt": 2.5}`, 2},
	} {
		var got []Profile
		e.mustOK(e.do("GET", "/api/1/profile/by_query.json", e.master,
			url.Values{"tenantName": {"acme"}, "query": {tc.query}})).json(t, &got)
		if len(got) != tc.n {
			t.Errorf("by_query %s: %d profiles, want %d", tc.query, len(got), tc.n)
		}
	}
	// The definition's default value keeps its text too.
	r = e.mustOK(e.do("GET", "/api/1/tenant/acme.json", e.master, nil))
	if !strings.Contains(string(r.body), `"defaultValue":2.50`) {
		t.Errorf("tenant: %s", r.body)
	}
}

// crafterTenant is Crafter's Tenant with its fields only: decoding with
// DisallowUnknownFields behaves like the Java client's mapper.
type crafterTenant struct {
	ID                   string   `json:"id"`
	Name                 string   `json:"name"`
	VerifyNewProfiles    bool     `json:"verifyNewProfiles"`
	AvailableRoles       []string `json:"availableRoles"`
	SSOEnabled           bool     `json:"ssoEnabled"`
	CleanseAttributes    bool     `json:"cleanseAttributes"`
	AttributeDefinitions []struct {
		Name         string                `json:"name"`
		Metadata     map[string]any        `json:"metadata"`
		DefaultValue any                   `json:"defaultValue"`
		Permissions  []AttributePermission `json:"permissions"`
	} `json:"attributeDefinitions"`
}

func strictTenant(t *testing.T, body []byte) crafterTenant {
	t.Helper()
	var ct crafterTenant
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ct); err != nil {
		t.Fatalf("a strict Crafter client cannot read %s: %v", body, err)
	}
	return ct
}

// TestExtensionsOnlyWhenAsked pins that "indexed" (a Gatehouse extension)
// stays out of Crafter-shaped answers unless the caller passes
// gatehouseExtensions=true, and that writing back a definition without it
// keeps the index.
func TestExtensionsOnlyWhenAsked(t *testing.T) {
	e := newEnv(t)
	defs := []any{map[string]any{"name": "dept", "indexed": true, "permissions": allPerm}}
	r := e.mustOK(e.doJSON("/api/1/tenant/create.json", e.master, map[string]any{"name": "acme",
		"availableRoles": []string{"USER"}, "attributeDefinitions": defs}, nil))
	strictTenant(t, r.body)
	indexed := func() bool {
		t.Helper()
		var tn Tenant
		e.mustOK(e.do("GET", "/api/1/tenant/acme.json", e.master, url.Values{ExtensionsParam: {"true"}})).json(t, &tn)
		return tn.AttributeDefinitions[0].Indexed
	}
	for _, path := range []string{"/api/1/tenant/acme.json", "/api/1/tenant/all.json"} {
		r := e.mustOK(e.do("GET", path, e.master, nil))
		if strings.Contains(string(r.body), "indexed") {
			t.Errorf("%s without %s: %s", path, ExtensionsParam, r.body)
		}
	}
	if !indexed() {
		t.Fatal("indexed not answered to a caller that asks")
	}
	// A Crafter client writes back what it read (no "indexed"): the index stays.
	ct := strictTenant(t, e.mustOK(e.do("GET", "/api/1/tenant/acme.json", e.master, nil)).body)
	strictTenant(t, e.mustOK(e.doJSON("/api/1/tenant/update.json", e.master, ct, nil)).body)
	strictTenant(t, e.mustOK(e.doJSON("/api/1/tenant/acme/attribute_definitions/update.json", e.master, ct.AttributeDefinitions, nil)).body)
	if !indexed() {
		t.Fatal("writing back a definition without indexed dropped the index")
	}
	// An explicit false turns it off; the answer asked for shows it.
	r = e.mustOK(e.doJSON("/api/1/tenant/acme/attribute_definitions/update.json", e.master,
		[]any{map[string]any{"name": "dept", "indexed": false, "permissions": allPerm}}, url.Values{ExtensionsParam: {"true"}}))
	if indexed() {
		t.Fatalf("indexed:false ignored: %s", r.body)
	}
}
