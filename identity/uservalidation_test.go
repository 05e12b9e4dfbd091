package identity_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestValidateUserRules: the one user rule, field by field.
func TestValidateUserRules(t *testing.T) {
	tn := &identity.Tenant{OrgID: "o", AttributeDefinitions: []identity.AttributeDefinition{
		{Name: "badge", Type: identity.MetaString, Required: true, InToken: true},
		{Name: "age", Type: identity.MetaInteger, InToken: true},
		{Name: "admin", Type: identity.MetaBoolean, InToken: true},
		{Name: "notes"}, // a Crafter definition: no MetaKey type
	}}
	valid := func() *identity.User {
		return &identity.User{ID: "u", OrgID: "o", Email: "jane@acme.test", Username: "jane@acme.test",
			Roles: []string{"admin"}, Attributes: map[string]any{"badge": "B-1"},
			Profile: identity.Profile{GivenName: "Jane"}}
	}
	cases := []struct {
		name  string
		edit  func(u *identity.User)
		field string // "" = valid
	}{
		{"valid", func(u *identity.User) {}, ""},
		{"NUL in a claim", func(u *identity.User) { u.Profile.Name = "Ja\x00ne" }, "profile.name"},
		{"NUL in the profile URL", func(u *identity.User) { u.Profile.ProfileURL = "https://a.test/\x00" }, "profile.profile"},
		{"line feed in a one-line claim", func(u *identity.User) { u.Profile.FamilyName = "Doe\n" }, "profile.family_name"},
		{"DEL in a claim", func(u *identity.User) { u.Profile.Nickname = "x\x7f" }, "profile.nickname"},
		{"C1 control in a claim", func(u *identity.User) { u.Profile.MiddleName = "x\u0085" }, "profile.middle_name"},
		{"invalid UTF-8", func(u *identity.User) { u.Profile.GivenName = "\xff" }, "profile.given_name"},
		{"line breaks in a street address", func(u *identity.User) {
			u.Profile.Address = &identity.Address{StreetAddress: "1 rue A\r\nBât. B\tporte 2"}
		}, ""},
		{"NUL in a street address", func(u *identity.User) { u.Profile.Address = &identity.Address{StreetAddress: "1\x00"} }, "profile.address.street_address"},
		{"control in a region", func(u *identity.User) { u.Profile.Address = &identity.Address{Region: "a\x01"} }, "profile.address.region"},
		{"NUL in the email", func(u *identity.User) { u.Email = "ja\x00ne@acme.test" }, "email"},
		{"not an email", func(u *identity.User) { u.Email = "jane" }, "email"},
		{"control in the username", func(u *identity.User) { u.Username = "jane\x1b" }, "username"},
		{"control in a role", func(u *identity.User) { u.Roles = []string{"ad\x00min"} }, "roles"},
		{"NUL in an attribute name", func(u *identity.User) { u.Attributes["a\x00"] = "x" }, "attributes"},
		{"NUL deep in an attribute value", func(u *identity.User) {
			u.Attributes["notes"] = map[string]any{"l": []any{"ok", "b\x00d"}}
		}, "attributes.notes"},
		{"line breaks in an attribute value", func(u *identity.User) { u.Attributes["notes"] = "a\nb" }, ""},
		{"NUL in an SSO NameID", func(u *identity.User) {
			u.SSOIdentities = []identity.SSOIdentity{{ConnectionID: "c", NameID: "n\x00"}}
		}, "sso_identities"},
		{"required MetaKey absent", func(u *identity.User) { delete(u.Attributes, "badge") }, "metadata.badge"},
		{"required MetaKey empty", func(u *identity.User) { u.Attributes["badge"] = "" }, "metadata.badge"},
		{"required MetaKey null", func(u *identity.User) { u.Attributes["badge"] = nil }, "metadata.badge"},
		{"MetaKey of the wrong type", func(u *identity.User) { u.Attributes["age"] = "old" }, "metadata.age"},
		{"integer MetaKey as text", func(u *identity.User) { u.Attributes["age"] = "42" }, ""},
		{"integer MetaKey as a JSON number", func(u *identity.User) { u.Attributes["age"] = float64(42) }, ""},
		{"boolean MetaKey as a bool", func(u *identity.User) { u.Attributes["admin"] = true }, ""},
		{"MetaKey given a list", func(u *identity.User) { u.Attributes["badge"] = []any{"x"} }, "metadata.badge"},
		{"Crafter definition with any shape", func(u *identity.User) { u.Attributes["notes"] = []any{1.0, true} }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := valid()
			c.edit(u)
			err := identity.ValidateUser(tn, u)
			if c.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, identity.ErrInvalid) || !fieldsOf(err)[c.field] {
				t.Fatalf("want %s refused, got %v", c.field, err)
			}
		})
	}
}

// TestUserRuleOnEveryWrite: a direct embedder call (Txn.InsertUser,
// Txn.ReplaceUser) gets the same rule as the services, and a refused write
// changes nothing.
func TestUserRuleOnEveryWrite(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	o := mustOrg(t, s, "Alpha")
	u, err := s.CreateUser(ctx, o.Domain, identity.User{Email: "a@example.com"}, "")
	if err != nil {
		t.Fatal(err)
	}
	// Embedder insert with a NUL, and without a required MetaKey.
	insert := func(edit func(u *identity.User)) error {
		return s.Update(ctx, func(tx *identity.Txn) error {
			nu, err := s.NewUser(o.ID)
			if err != nil {
				return err
			}
			nu.Email, nu.Username = "new@example.com", "new@example.com"
			edit(nu)
			return tx.InsertUser(nu)
		})
	}
	if err := insert(func(u *identity.User) { u.Profile.Name = "x\x00" }); !fieldsOf(err)["profile.name"] {
		t.Fatalf("embedder insert with NUL: %v", err)
	}
	if _, err := s.UpdateUser(ctx, o.Domain, u.ID, func(u *identity.User) error {
		u.Profile.ProfileURL = "https://x.test/\x00"
		return nil
	}); !fieldsOf(err)["profile.profile"] {
		t.Fatalf("update with NUL: %v", err)
	}
	if got, _ := s.GetUser(ctx, o.Domain, u.ID); got.Profile.ProfileURL != "" {
		t.Fatal("a refused update wrote")
	}
	// A required MetaKey made after the user exists does not block its
	// other changes, but its value, once given, cannot be removed.
	if _, err := s.CreateMetaKey(ctx, o.Domain, "badge", identity.MetaString, true); err != nil {
		t.Fatal(err)
	}
	if err := insert(func(*identity.User) {}); !fieldsOf(err)["metadata.badge"] {
		t.Fatalf("embedder insert without a required MetaKey: %v", err)
	}
	if _, err := s.UpdateUser(ctx, o.Domain, u.ID, func(u *identity.User) error { u.Profile.Name = "A"; return nil }); err != nil {
		t.Fatalf("an older user lacking a new required key: %v", err)
	}
	if _, err := s.SetUserMetadata(ctx, o.Domain, u.ID, "badge", "B-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateUser(ctx, o.Domain, u.ID, func(u *identity.User) error { delete(u.Attributes, "badge"); return nil }); !fieldsOf(err)["metadata.badge"] {
		t.Fatalf("removing a required value: %v", err)
	}
	if err := s.Update(ctx, func(tx *identity.Txn) error {
		old, err := tx.OrgUser(o.ID, u.ID)
		if err != nil {
			return err
		}
		n := identity.CloneUser(old)
		n.Attributes["badge"] = ""
		return tx.ReplaceUser(old, n)
	}); !fieldsOf(err)["metadata.badge"] {
		t.Fatalf("embedder replace emptying a required value: %v", err)
	}
	// Deleting the required key removes its values.
	if _, err := s.DeleteMetaKey(ctx, o.Domain, "badge"); err != nil {
		t.Fatalf("delete a required MetaKey: %v", err)
	}
	if got, _ := s.GetUser(ctx, o.Domain, u.ID); got.Attributes["badge"] != nil {
		t.Fatal("value of a deleted MetaKey kept")
	}
	// Types are checked whoever writes.
	if _, err := s.CreateMetaKey(ctx, o.Domain, "age", identity.MetaInteger, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateUser(ctx, o.Domain, u.ID, func(u *identity.User) error { u.Attributes["age"] = "old"; return nil }); !fieldsOf(err)["metadata.age"] {
		t.Fatalf("typed MetaKey: %v", err)
	}
}

// TestMetaValuesTakeTheirType: the text a face writes for a typed MetaKey
// is stored in the MetaKey's JSON type, whichever way it is written
// (SetUserMetadata, a user's attributes on create); text that is not a
// value of the type is refused, not stored.
func TestMetaValuesTakeTheirType(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	o := mustOrg(t, s, "Typed")
	for _, k := range [][2]string{{"i", "integer"}, {"n", "number"}, {"b", "boolean"}, {"s", "string"}, {"d", "date"}} {
		if _, err := s.CreateMetaKey(ctx, o.Domain, k[0], k[1], false); err != nil {
			t.Fatal(err)
		}
	}
	u, err := s.CreateUser(ctx, o.Domain, identity.User{Email: "t@typed.test", Attributes: map[string]any{"i": "7"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if u.Attributes["i"] != json.Number("7") {
		t.Fatalf("created with i = %#v, want json.Number 7", u.Attributes["i"])
	}
	for _, tc := range []struct {
		key, text string
		want      any // nil: refused
	}{
		{"i", "42", json.Number("42")},
		{"i", "-042", json.Number("-42")},
		{"i", "4.2", nil},
		{"n", "1.50", json.Number("1.50")},
		{"n", "1e3", json.Number("1e3")},
		{"n", "0x1p-2", json.Number("0.25")},
		{"n", "NaN", nil},
		{"n", "Inf", nil},
		{"b", "true", true},
		{"b", "false", false},
		{"b", "TRUE", nil},
		{"s", "42", "42"},
		{"d", "2026-12-04", "2026-12-04"},
	} {
		got, err := s.SetUserMetadata(ctx, o.Domain, u.ID, tc.key, tc.text)
		if tc.want == nil {
			if err == nil {
				t.Errorf("%s = %q accepted as %#v", tc.key, tc.text, got.Attributes[tc.key])
			}
			continue
		}
		if err != nil {
			t.Errorf("%s = %q: %v", tc.key, tc.text, err)
			continue
		}
		if v := got.Attributes[tc.key]; v != tc.want {
			t.Errorf("%s = %q stored as %#v, want %#v", tc.key, tc.text, v, tc.want)
		}
		read, err := s.GetUser(ctx, o.Domain, u.ID)
		if err != nil || read.Attributes[tc.key] != tc.want {
			t.Errorf("%s = %q read back as %#v (%v), want %#v", tc.key, tc.text, read.Attributes[tc.key], err, tc.want)
		}
	}
}
