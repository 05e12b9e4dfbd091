package profile

import (
	"bytes"
	"context"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// snapshot returns every key and value of the store.
func snapshot(t *testing.T, e *env) []string {
	var out []string
	err := e.id.Backend(kv.Inside()).View(context.Background(), func(tx identity.ReadTx) error {
		return tx.Scan(nil, identity.ScanOptions{}, func(k, v []byte) error {
			out = append(out, string(k)+"="+string(v))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// TestBadInputChangesNothing sends refused requests of every kind and
// checks that the store is byte-for-byte unchanged and that each answer is
// a clear 4xx with a Crafter error body.
func TestBadInputChangesNothing(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme", AttributeDefinition{Name: "ro", Permissions: []AttributePermission{{Application: "*", AllowedActions: []string{"READ_ATTRIBUTE"}}}})
	p := e.profile("acme", "alice", nil)
	e.profile("acme", "bob", nil)
	reader := e.token(identity.Credential{Application: "r",
		TenantPermissions: []identity.TenantPermission{{Tenant: "*", AllowedActions: []string{"READ_TENANT"}}}})
	before := snapshot(t, e)
	type req struct {
		method, path, tok string
		form              url.Values
		json              string
	}
	reqs := []req{
		{"POST", "/api/1/profile/create", e.master, url.Values{"tenantName": {"acme"}, "username": {"x"}, "email": {"bad"}, "enabled": {"true"}}, ""},
		{"POST", "/api/1/profile/create", e.master, url.Values{"tenantName": {"acme"}, "username": {"x"}, "email": {"x@example.com"}, "enabled": {"true"}, "attributes": {`{"ro":1}`}}, ""},
		{"POST", "/api/1/profile/create", reader, url.Values{"tenantName": {"acme"}, "username": {"x"}, "email": {"x@example.com"}, "enabled": {"true"}}, ""},
		{"POST", "/api/1/profile/" + p.ID + "/update", e.master, url.Values{"username": {"bob"}}, ""},
		{"POST", "/api/1/profile/" + p.ID + "/update", e.master, url.Values{"email": {"bob@example.com"}}, ""},
		{"POST", "/api/1/profile/" + p.ID + "/update", e.master, url.Values{"attributes": {`{"ro":"x"}`}, "email": {"new@example.com"}}, ""},
		{"POST", "/api/1/profile/" + p.ID + "/update", e.master, url.Values{"role": {strings.Repeat("r", 300)}}, ""},
		{"POST", "/api/1/profile/" + p.ID + "/attributes/remove", e.master, url.Values{"attributeName": {"ro"}}, ""},
		{"POST", "/api/1/profile/" + p.ID + "/attributes/update", e.master, nil, `{"ghost":1}`},
		{"POST", "/api/1/profile/" + p.ID + "/attributes/update", e.master, nil, `[1,2]`},
		{"POST", "/api/1/profile/" + p.ID + "/delete", reader, nil, ""},
		{"POST", "/api/1/tenant/acme/delete", reader, nil, ""},
		{"POST", "/api/1/tenant/update", e.master, nil, `{"name":"acme","availableRoles":[""]}`},
		{"POST", "/api/1/tenant/update", e.master, nil, `{"name":"acme","attributeDefinitions":[{"name":""}]}`},
		{"POST", "/api/1/tenant/acme/attribute_definitions/add", e.master, nil, `[{"name":"a.b"}]`},
		{"POST", "/api/1/tenant/acme/roles/add", e.master, url.Values{"role": {"bad\x01role"}}, ""},
		{"POST", "/api/1/tenant/create", e.master, nil, `{"name":"Bad Name"}`},
		{"POST", "/api/1/access_token/create", reader, nil, `{"application":"x"}`},
		{"POST", "/api/1/profile/verify", e.master, url.Values{"verificationTokenId": {"nope"}}, ""},
		{"POST", "/api/1/profile/change_password", e.master, url.Values{"resetTokenId": {"nope"}, "newPassword": {"x"}}, ""},
		{"POST", "/api/1/profile/" + p.ID + "/reset_password", e.master, url.Values{"resetPasswordUrl": {"javascript:alert(1)"}}, ""},
		{"POST", "/api/1/authentication/ticket/create", e.master, url.Values{"profileId": {"5f0000000000000000000000"}}, ""},
		{"POST", "/api/1/authentication/persistent_login/nope/refresh_token", e.master, nil, ""},
		{"POST", "/api/1/authentication/authenticate", reader, url.Values{"tenantName": {"acme"}, "username": {"alice"}, "password": {"x"}}, ""},
		// An unknown username is not here: it is counted and audited like
		// a wrong password, so that it cannot be told apart (auth.go).
		{"POST", "/api/1/authentication/authenticate", e.master, url.Values{"tenantName": {"nope"}, "username": {"nobody"}, "password": {"x"}}, ""},
	}
	for _, rq := range reqs {
		var r resp
		if rq.json != "" {
			r = e.serve(jsonReq(rq.path+"?accessTokenId="+url.QueryEscape(rq.tok), rq.json))
		} else {
			r = e.do(rq.method, rq.path, rq.tok, rq.form)
		}
		if r.status < 400 || r.status >= 500 || r.code() == "" {
			t.Errorf("%s %s %v: %d %s, want a 4xx with an error code", rq.method, rq.path, rq.form, r.status, r.body)
		}
	}
	// An upload of a non-image.
	var b bytes.Buffer
	b.WriteString("--x\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"a.png\"\r\n\r\nnot a png\r\n--x--\r\n")
	hr := httptest.NewRequest("POST", "/api/1/profile/"+p.ID+"/uploadAttachment?accessTokenId="+e.master, &b)
	hr.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	if r := e.serve(hr); r.status != 400 {
		t.Errorf("upload of a non-image: %d", r.status)
	}
	after := snapshot(t, e)
	if strings.Join(before, "\n") != strings.Join(after, "\n") {
		for i := 0; i < len(after) || i < len(before); i++ {
			if i >= len(before) || i >= len(after) || before[i] != after[i] {
				t.Fatalf("store changed by refused requests; first difference near %q", safe(after, i))
			}
		}
	}
}

func safe(list []string, i int) string {
	if i < len(list) {
		if len(list[i]) > 120 {
			return list[i][:120]
		}
		return list[i]
	}
	return "(end)"
}

// TestMalformedJSONBodyNamesJSONKinds: a JSON body of the wrong shape is a
// 400 OTHER whose message says, in JSON's terms, what was expected where
// (the attribute-definition sample of the document sends one object where
// the endpoint takes an array; a number too large for its field), never
// a Go type name; a null body is refused as Spring refuses a missing
// required body. Nothing changes.
func TestMalformedJSONBodyNamesJSONKinds(t *testing.T) {
	e := newEnv(t)
	p := e.profile(e.tenant("acme").Name, "alice", nil)
	before := snapshot(t, e)
	cases := []struct {
		name, path, body, want string
	}{
		{"definitions: one object", "/api/1/tenant/acme/attribute_definitions/add",
			`{"name":"Nickname","metadata":[],"permissions":[],"defaultValue":null}`, "Malformed JSON body: the body must be a JSON array"},
		{"definitions: metadata as a list", "/api/1/tenant/acme/attribute_definitions/add",
			`[{"name":"nickname","metadata":[]}]`, `Malformed JSON body: field "metadata" must be a JSON object`},
		{"attributes: a list", "/api/1/profile/" + p.ID + "/attributes/update",
			`["x"]`, "Malformed JSON body: the body must be a JSON object"},
		{"access token: master as a string", "/api/1/access_token/create",
			`{"application":"x","master":"yes"}`, `Malformed JSON body: field "master" must be true or false`},
		{"access token: expiresOn as a string", "/api/1/access_token/create",
			`{"application":"x","expiresOn":"soon"}`, `Malformed JSON body: field "expiresOn" must be a number`},
		{"access token: expiresOn past 64 bits", "/api/1/access_token/create",
			`{"application":"x","expiresOn":1e30}`, `Malformed JSON body: field "expiresOn" must be an integer of at most 64 bits`},
		{"access token: expiresOn with a fraction", "/api/1/access_token/create",
			`{"application":"x","expiresOn":1.5}`, `Malformed JSON body: field "expiresOn" must be an integer of at most 64 bits`},
		{"access token: null", "/api/1/access_token/create", `null`, "Malformed JSON body: the body must not be null"},
		{"definitions: null", "/api/1/tenant/acme/attribute_definitions/add", ` null `, "Malformed JSON body: the body must not be null"},
		{"attributes: null", "/api/1/profile/" + p.ID + "/attributes/update", `null`, "Malformed JSON body: the body must not be null"},
		{"tenant: roles as a string", "/api/1/tenant/update",
			`{"name":"acme","availableRoles":"USER"}`, `Malformed JSON body: field "availableRoles" must be a JSON array`},
		{"tenant: a definition's metadata as a list", "/api/1/tenant/update",
			`{"name":"acme","attributeDefinitions":[{"name":"n","metadata":[]}]}`, `Malformed JSON body: field "attributeDefinitions.metadata" must be a JSON object`},
		{"tenant: name as a number", "/api/1/tenant/create",
			`{"name":5}`, `Malformed JSON body: field "name" must be a string`},
	}
	for _, c := range cases {
		r := e.serve(jsonReq(c.path+"?accessTokenId="+url.QueryEscape(e.master), c.body))
		var got struct{ ErrorCode, Message string }
		r.json(t, &got)
		if r.status != 400 || got.ErrorCode != CodeOther || got.Message != c.want {
			t.Errorf("%s: %d %s %q, want 400 OTHER %q", c.name, r.status, got.ErrorCode, got.Message, c.want)
		}
		if strings.Contains(got.Message, "profile.") || strings.Contains(got.Message, "interface") {
			t.Errorf("%s: the message names a Go type: %q", c.name, got.Message)
		}
	}
	if after := snapshot(t, e); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Fatal("a refused body changed the store")
	}
}

// TestCoreValidationMessages: a value the identity core refuses is a 400
// OTHER whose message names the field (an attribute as attributes.<name>,
// though the core, for a MetaKey, says metadata.<name>) and the reason in
// a sentence, without the Go sentinel's "invalid: " prefix, and changes
// nothing.
func TestCoreValidationMessages(t *testing.T) {
	e := newEnv(t)
	p := e.profile(e.tenant("acme").Name, "alice", nil)
	// A MetaKey of the Cryptr face is an attribute here, its type checked
	// by the core.
	if _, err := e.id.CreateMetaKey(context.Background(), "acme", "age", "integer", false); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, e)
	long := strings.Repeat("u", 300)
	cases := []struct {
		name, path string
		form       url.Values
		want       string
	}{
		{"create: username too long", "/api/1/profile/create",
			url.Values{"tenantName": {"acme"}, "username": {long}, "email": {"x@example.com"}, "enabled": {"true"}},
			"username must be at most 255 characters of text"},
		{"update: username too long", "/api/1/profile/" + p.ID + "/update",
			url.Values{"username": {long}}, "username must be at most 255 characters of text"},
		{"update: control character in username", "/api/1/profile/" + p.ID + "/update",
			url.Values{"username": {"a\x01b"}}, "username must not contain control characters"},
		{"roles/add: control character", "/api/1/profile/" + p.ID + "/roles/add",
			url.Values{"role": {"a\x01b"}}, "roles must not contain control characters"},
		{"update: control character in an attribute", "/api/1/profile/" + p.ID + "/update",
			url.Values{"attributes": {`{"firstName":"a\u0001b"}`}}, "attributes.firstName must not contain control characters"},
		{"update: a MetaKey attribute of the wrong type", "/api/1/profile/" + p.ID + "/update",
			url.Values{"attributes": {`{"age":"old"}`}}, "attributes.age must be an integer"},
		{"update: a MetaKey attribute as an object", "/api/1/profile/" + p.ID + "/update",
			url.Values{"attributes": {`{"age":{"years":3}}`}}, "attributes.age must be one value of type integer"},
	}
	for _, c := range cases {
		r := e.do("POST", c.path, e.master, c.form)
		var got struct{ ErrorCode, Message string }
		r.json(t, &got)
		if r.status != 400 || got.ErrorCode != CodeOther || got.Message != c.want {
			t.Errorf("%s: %d %s %q, want 400 OTHER %q", c.name, r.status, got.ErrorCode, got.Message, c.want)
		}
	}
	if after := snapshot(t, e); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Fatal("a refused request changed the store")
	}
}

// TestFormBodyOnJSONEndpoint: an endpoint that reads a JSON body answers
// a form body with 415 OTHER naming the content type (Spring's answer),
// while a JSON text under a form label, as curl -d sends it, is read.
func TestFormBodyOnJSONEndpoint(t *testing.T) {
	e := newEnv(t)
	p := e.profile(e.tenant("acme").Name, "alice", nil)
	before := snapshot(t, e)
	q := "?accessTokenId=" + url.QueryEscape(e.master)
	cases := []struct {
		name, path, ctype, body string
	}{
		{"attributes as a form", "/api/1/profile/" + p.ID + "/attributes/update", "application/x-www-form-urlencoded", "firstName=Al"},
		{"tenant as a form", "/api/1/tenant/create", "application/x-www-form-urlencoded", "name=beta"},
		{"definitions as a form", "/api/1/tenant/acme/attribute_definitions/add", "application/x-www-form-urlencoded", "name=nick"},
		{"token as multipart", "/api/1/access_token/create", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"application\"\r\n\r\nx\r\n--x--\r\n"},
		{"empty form", "/api/1/tenant/update", "application/x-www-form-urlencoded", ""},
	}
	for _, c := range cases {
		req := httptest.NewRequest("POST", c.path+q, strings.NewReader(c.body))
		req.Header.Set("Content-Type", c.ctype)
		r := e.serve(req)
		if r.status != 415 || r.code() != CodeOther || !strings.Contains(string(r.body), "send a JSON body as application/json") {
			t.Errorf("%s: %d %s", c.name, r.status, r.body)
		}
	}
	if after := snapshot(t, e); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Fatal("a refused body changed the store")
	}
	req := httptest.NewRequest("POST", "/api/1/profile/"+p.ID+"/attributes/update"+q, strings.NewReader(`{"firstName":"Al"}`))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r := e.serve(req); r.status != 200 || !strings.Contains(string(r.body), `"firstName":"Al"`) {
		t.Fatalf("JSON under a form label: %d %s", r.status, r.body)
	}
}
