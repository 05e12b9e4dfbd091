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

// TestSandboxCannotDeleteATenant (issue 10, matrix): a tenant is an
// organization, which both environments share, so a sandbox master gets
// 403 ACTION_DENIED for tenant/{name}/delete and nothing changes: the
// organization, its production profiles and the sandbox's own profiles
// are all still there. A production master may delete it.
func TestSandboxCannotDeleteATenant(t *testing.T) {
	e := newEnv(t)
	master := []identity.TenantPermission{{Tenant: "*", AllowedActions: []string{"*"}}}
	sandbox := e.token(identity.Credential{Application: "sandbox-admin", Master: true, TenantPermissions: master,
		Environment: identity.Sandbox})
	e.tenant("acme")
	prod := e.profile("acme", "alice", nil)
	r := e.do("POST", "/api/1/profile/create.json", sandbox, url.Values{"tenantName": {"acme"}, "username": {"sam"},
		"email": {"sam@acme.test"}, "password": {"sandbox sam's password"}, "enabled": {"true"}})
	e.mustOK(r)
	var sam Profile
	r.json(t, &sam)

	if r := e.do("POST", "/api/1/tenant/acme/delete.json", sandbox, nil); r.status != 403 || r.code() != CodeActionDenied {
		t.Fatalf("a sandbox master deleting a tenant: %d %s, want 403 %s", r.status, r.body, CodeActionDenied)
	}
	e.mustOK(e.do("GET", "/api/1/tenant/acme.json", e.master, nil))
	e.mustOK(e.do("GET", "/api/1/profile/"+prod.ID+".json", e.master, nil))
	e.mustOK(e.do("GET", "/api/1/profile/"+sam.ID+".json", sandbox, nil))

	e.mustOK(e.do("POST", "/api/1/tenant/acme/delete.json", e.master, nil))
	if r := e.do("GET", "/api/1/profile/"+prod.ID+".json", e.master, nil); r.status != 404 {
		t.Errorf("a production master's tenant delete left its profile: %d %s", r.status, r.body)
	}
}
