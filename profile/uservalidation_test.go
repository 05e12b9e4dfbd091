package profile

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestProfileUserRule: the Crafter face gets the core's user rule (required
// MetaKeys, MetaKey types, no NUL or control characters), answered in
// Crafter's error format, and a refused write creates nothing.
func TestProfileUserRule(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	ctx := context.Background()
	if _, err := e.id.CreateMetaKey(ctx, "acme", "age", "integer", false); err != nil {
		t.Fatal(err)
	}
	create := func(username string, attrs string) resp {
		f := url.Values{"tenantName": {"acme"}, "username": {username}, "email": {username + "@example.com"},
			"enabled": {"true"}}
		if attrs != "" {
			f.Set("attributes", attrs)
		}
		return e.do("POST", "/api/1/profile/create.json", e.master, f)
	}
	cases := []struct {
		name, attrs, field string
	}{
		{"NUL in an attribute", `{"firstName":"Ja\u0000ne"}`, "attributes.firstName"},
		{"control character in an attribute", `{"lastName":"\u001b[2J"}`, "attributes.lastName"},
		{"MetaKey of the wrong type", `{"age":"old"}`, "attributes.age"},
	}
	for i, c := range cases {
		r := create("u"+string(rune('a'+i)), c.attrs)
		if r.status != http.StatusBadRequest || r.code() != CodeOther || !strings.Contains(string(r.body), c.field) {
			t.Errorf("%s: %d %s", c.name, r.status, r.body)
		}
	}
	// The username follows the core's text rule too (the face used to
	// refuse only NUL and 0x01).
	if r := e.do("POST", "/api/1/profile/create.json", e.master, url.Values{"tenantName": {"acme"},
		"username": {"esc\x1bape"}, "email": {"esc@example.com"}, "enabled": {"true"}}); r.status != http.StatusBadRequest || r.code() != CodeOther || !strings.Contains(string(r.body), "username") {
		t.Errorf("username with a control character: %d %s", r.status, r.body)
	}
	e.mustOK(create("typed", `{"age":42}`))
	// A required MetaKey: a profile without it is refused, as through the
	// Cryptr face.
	if _, err := e.id.CreateMetaKey(ctx, "acme", "badge", "string", true); err != nil {
		t.Fatal(err)
	}
	if r := create("nobadge", ""); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "attributes.badge") {
		t.Fatalf("required MetaKey bypassed through Crafter: %d %s", r.status, r.body)
	}
	e.mustOK(create("badged", `{"badge":"B-1"}`))
	page, err := e.id.ListUsers(ctx, "acme", identity.PageRequest{})
	if err != nil || page.Total != 2 {
		t.Fatalf("%d profiles (%v), want 2", page.Total, err)
	}
}
