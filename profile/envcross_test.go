package profile

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestAccessTokensStayInTheirEnvironment guards breach 1 of issue 10: a
// master access token of one environment must neither list, read nor
// delete the access tokens of the other (the production master secret was
// listed to a sandbox master). Each direction is tried; the other
// environment's tokens answer exactly like unknown ones.
func TestAccessTokensStayInTheirEnvironment(t *testing.T) {
	master := []identity.TenantPermission{{Tenant: "*", AllowedActions: []string{"*"}}}
	tests := []struct {
		name          string
		attacker, own identity.Environment
	}{
		{"sandbox master against production", identity.Sandbox, identity.Production},
		{"production master against sandbox", identity.Production, identity.Sandbox},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			victimMaster := e.token(identity.Credential{Application: "victim-admin", Master: true,
				TenantPermissions: master, Environment: tc.own})
			victimApp := e.token(identity.Credential{Application: "victim-engine",
				TenantPermissions: master, Environment: tc.own})
			attacker := e.token(identity.Credential{Application: "attacker-admin", Master: true,
				TenantPermissions: master, Environment: tc.attacker})

			// The list shows only the attacker's own environment.
			var list []AccessToken
			e.mustOK(e.do("GET", "/api/1/access_token/all.json", attacker, nil)).json(t, &list)
			for _, tok := range list {
				if tok.ID == victimMaster || tok.ID == victimApp || strings.HasPrefix(tok.Application, "victim") {
					t.Fatalf("the %s master lists a %s token: %+v", tc.attacker, tc.own, tok)
				}
			}
			if !listed(list, attacker) {
				t.Fatalf("the list misses the caller's own token: %+v", list)
			}

			// Get and delete answer like an unknown id.
			for _, id := range []string{victimMaster, victimApp} {
				if r := e.do("GET", "/api/1/access_token/"+id+".json", attacker, nil); r.status != 404 || r.code() != CodeNoSuchAccessToken {
					t.Fatalf("get of a %s token: %d %s", tc.own, r.status, r.body)
				}
				e.mustOK(e.do("POST", "/api/1/access_token/"+id+"/delete.json", attacker, nil))
			}

			// Nothing changed: the victims' tokens still work and still list.
			for _, id := range []string{victimMaster, victimApp} {
				if r := e.do("GET", "/api/1/tenant/count.json", id, nil); r.status != 200 {
					t.Fatalf("a %s token stopped working after the attack: %d %s", tc.own, r.status, r.body)
				}
			}
			var own []AccessToken
			e.mustOK(e.do("GET", "/api/1/access_token/all.json", victimMaster, url.Values{})).json(t, &own)
			if !listed(own, victimMaster) || !listed(own, victimApp) || listed(own, attacker) {
				t.Fatalf("the %s list after the attack: %+v", tc.own, own)
			}
		})
	}
}

func listed(list []AccessToken, id string) bool {
	for _, tok := range list {
		if tok.ID == id {
			return true
		}
	}
	return false
}
