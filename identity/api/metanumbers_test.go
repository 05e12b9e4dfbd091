package api_test

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/api"
)

// TestMetadataKeepsNumbers pins how the Cryptr face renders attribute
// numbers that another face stored: stored numbers come back from the
// store as json.Number (internal/kv), and a MetaData value is their text
// as sent ("12345678901234567", "1.0"), never a rounded float.
func TestMetadataKeepsNumbers(t *testing.T) {
	tn := &identity.Tenant{AttributeDefinitions: []identity.AttributeDefinition{
		{Name: "big", InToken: true, Type: identity.MetaInteger}, {Name: "one", InToken: true}, {Name: "f", InToken: true}}}
	u := &identity.User{ID: "u1", Attributes: map[string]any{
		"big": json.Number("12345678901234567"), "one": json.Number("1.0"), "f": 2.5}}
	got := map[string]string{}
	for _, m := range api.NewUser(u, tn, "acme", "gatehouse", identity.Production).Metadata {
		got[m.Key.Name] = m.Value
	}
	for k, want := range map[string]string{"big": "12345678901234567", "one": "1.0", "f": "2.5"} {
		if got[k] != want {
			t.Errorf("metadata %s = %q, want %q", k, got[k], want)
		}
	}
}
