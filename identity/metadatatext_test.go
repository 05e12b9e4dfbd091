package identity_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestTokenMetadataIsText guards resource_owner_metadata's one form: a
// MetaKey's value is text in a token (Cryptr's MetaData value is a
// string) whichever face wrote it and in whatever JSON type, so a client
// never sees a claim change type; an unset value is absent.
func TestTokenMetadataIsText(t *testing.T) {
	cases := []struct {
		name  string
		value any
		want  any // nil: absent
	}{
		{"Crafter number", float64(42), "42"},
		{"Cryptr text", "42", "42"},
		{"large number", float64(1e6), "1000000"},
		{"fraction", 2.5, "2.5"},
		{"boolean", true, "true"},
		{"list", []any{"a", "b"}, `["a","b"]`},
		{"object", map[string]any{"k": "v"}, `{"k":"v"}`},
		{"null", nil, nil},
	}
	tn := &identity.Tenant{AttributeDefinitions: []identity.AttributeDefinition{
		{Name: "age", Type: identity.MetaInteger, InToken: true}, {Name: "private"}}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := &identity.User{Attributes: map[string]any{"age": tc.value, "private": "x"}}
			want := map[string]any{}
			if tc.want != nil {
				want["age"] = tc.want
			}
			if got := identity.TokenMetadata(tn, u); !reflect.DeepEqual(got, want) {
				t.Errorf("TokenMetadata = %#v, want %#v", got, want)
			}
		})
	}

	// Through the service: the same key written by each face reads alike.
	ctx := context.Background()
	svc, _ := newService(t)
	org := mustOrg(t, svc, "Acme")
	if _, err := svc.CreateMetaKey(ctx, org.Domain, "seats", identity.MetaInteger, false); err != nil {
		t.Fatal(err)
	}
	u, err := svc.CreateUser(ctx, org.Domain, identity.User{Email: "a@acme.test", Attributes: map[string]any{"seats": float64(42)}}, "")
	if err != nil {
		t.Fatal(err)
	}
	tn2, err := svc.GetTenant(ctx, org.Domain)
	if err != nil {
		t.Fatal(err)
	}
	byCrafter := identity.TokenMetadata(tn2, u)["seats"]
	if u, err = svc.SetUserMetadata(ctx, org.Domain, u.ID, "seats", "42"); err != nil {
		t.Fatal(err)
	}
	if byCryptr := identity.TokenMetadata(tn2, u)["seats"]; byCrafter != "42" || byCryptr != "42" {
		t.Errorf("seats: %#v written as a number, %#v written as text; want \"42\" both", byCrafter, byCryptr)
	}
}

// ExampleMetaDataText shows MetaData values as Cryptr and the tokens show
// them.
func ExampleMetaDataText() {
	for _, v := range []any{"R&D", float64(42), true, []any{"a"}, nil} {
		fmt.Printf("%q\n", identity.MetaDataText(v))
	}
	// Output:
	// "R&D"
	// "42"
	// "true"
	// "[\"a\"]"
	// ""
}
