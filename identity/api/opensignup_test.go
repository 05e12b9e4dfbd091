package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestOpenSignupOnlyWhenSet: the Gatehouse extension open_signup stays out
// of Cryptr-shaped organizations unless it is on.
func TestOpenSignupOnlyWhenSet(t *testing.T) {
	for _, on := range []bool{false, true} {
		b, err := json.Marshal(NewOrganization(&identity.Organization{Domain: "acme", OpenSignup: on}, "acct"))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(b), `"open_signup":true`); got != on || !on && strings.Contains(string(b), "open_signup") {
			t.Fatalf("open_signup %v: %s", on, b)
		}
	}
}
