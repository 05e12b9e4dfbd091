package profile

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/testkit"
)

// TestMountUnderPrefix serves the Crafter face under a path prefix the
// host strips with http.StripPrefix, beside the host's own routes: a
// tenant, a profile, a sign-in (authenticate) and its ticket work under
// both base paths, an unknown path is the face's JSON 404, and the host's
// routes stay the host's. The face emits no URL of its own (its mail links
// are built from the client's verificationUrl and resetPasswordUrl).
func TestMountUnderPrefix(t *testing.T) {
	for _, prefix := range []string{"", "/auth", "/a/b"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			e := newEnv(t)
			e.h = testkit.MountAt(prefix, e.svc.Handler())
			for _, base := range []string{prefix + BasePath, prefix + JavaClientBasePath} {
				name := "t" + strings.NewReplacer("/", "", "-", "").Replace(base)
				var tn Tenant
				e.mustOK(e.doJSON(base+"/tenant/create.json", e.master, map[string]any{"name": name,
					"availableRoles": []string{"USER"}}, nil)).json(t, &tn)
				if tn.Name != name {
					t.Fatalf("tenant %+v", tn)
				}
				var p Profile
				e.mustOK(e.do("POST", base+"/profile/create.json", e.master, url.Values{"tenantName": {name},
					"username": {"ada"}, "password": {"pw-ada"}, "email": {"ada@example.com"}, "enabled": {"true"},
					"verificationUrl": {"http://gh.test" + prefix + "/verify"}})).json(t, &p)
				var tk Ticket
				e.mustOK(e.do("POST", base+"/authentication/authenticate.json", e.master, url.Values{"tenantName": {name},
					"username": {"ada"}, "password": {"pw-ada"}})).json(t, &tk)
				if tk.ID == "" || tk.ProfileID != p.ID {
					t.Fatalf("ticket %+v for profile %s", tk, p.ID)
				}
				e.mustOK(e.do("GET", base+"/authentication/ticket/"+tk.ID+".json", e.master, nil))
				r := e.do("GET", base+"/no/such/endpoint.json", e.master, nil)
				if r.status != http.StatusNotFound || !strings.Contains(string(r.body), `"errorCode"`) {
					t.Errorf("unknown path under %s: %d %s, want the face's JSON 404", base, r.status, r.body)
				}
			}
			if prefix != "" {
				if r := e.do("GET", "/", "", nil); string(r.body) != testkit.HostHome {
					t.Errorf("GET / = %d %s, want the host's page", r.status, r.body)
				}
				if r := e.do("GET", BasePath+"/tenant/count", e.master, nil); r.status != http.StatusNotFound ||
					strings.Contains(string(r.body), `"errorCode"`) {
					t.Errorf("the face answered outside its prefix: %d %s", r.status, r.body)
				}
			}
			if r := e.do("GET", "/host/page", "", nil); string(r.body) != testkit.HostPage {
				t.Errorf("GET /host/page = %d %s, want the host's page", r.status, r.body)
			}
		})
	}
}
