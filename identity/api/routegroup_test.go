package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/api"
)

// A route group added by another package gets the same authentication,
// tenant isolation, permission checks and helpers.
func TestRouteGroup(t *testing.T) {
	group := api.RouteGroupFunc(func(m *api.Mux) error {
		m.Handle("GET /api/v2/sso-connections", "read_many", "sso_connections", api.HandlerFunc(
			func(w http.ResponseWriter, r *http.Request) error {
				p, ok := api.PrincipalFrom(r.Context())
				if !ok {
					t.Error("no principal")
				}
				rd := mustParams(r).Reader()
				req := rd.Page()
				if err := rd.Err(); err != nil {
					return err
				}
				api.WriteList(w, api.Paginate, []string{string(p.Environment())}, req, 1)
				return nil
			}))
		m.Handle("GET /api/v2/org/{domain}/sso-connections", "read_many", "sso_connections", api.HandlerFunc(
			func(w http.ResponseWriter, r *http.Request) error {
				return identity.ErrNotFound
			}))
		return nil
	})
	f := newFixture(t, fixtureOpts{routes: []api.RouteGroup{group}})
	tok := f.admin()
	out := f.json(200, "GET", "/api/v2/sso-connections?per_page=3", tok, nil)
	if out["paginate"].(map[string]any)["per_page"].(float64) != 3 || out["total_count"].(float64) != 1 {
		t.Fatalf("list: %v", out)
	}
	f.json(401, "GET", "/api/v2/sso-connections", "", nil)
	f.json(422, "GET", "/api/v2/sso-connections?page=x", tok, nil)
	limited := f.key(identity.Production, []string{"*"}, "read:users")
	f.json(403, "GET", "/api/v2/sso-connections", limited, nil)
	other := f.key(identity.Production, []string{"alpha"})
	f.json(404, "GET", "/api/v2/org/beta/sso-connections", other, nil)
	// A group whose pattern clashes with the handler's is an error, not a panic.
	_, err := api.New(api.Options{Service: f.svc, Tokens: api.Tokens(nil), Routes: []api.RouteGroup{
		api.RouteGroupFunc(func(m *api.Mux) error {
			m.HandlePublic("POST /api/v2/oauth/token", http.NotFoundHandler())
			return nil
		})}})
	if err == nil || !strings.Contains(err.Error(), "registering routes") {
		t.Fatalf("clash: %v", err)
	}
}

func mustParams(r *http.Request) api.Params {
	p, err := api.DecodeParams(r)
	if err != nil {
		return api.Params{}
	}
	return p
}

// TestRouteGroupGrant: a grant a route group adds to POST
// /api/v2/oauth/token is served only for a valid management token, whose
// caller (environment, scope) it receives; without the group the grant is
// unsupported, and client_credentials stays the endpoint's own.
func TestRouteGroupGrant(t *testing.T) {
	var got *api.Principal
	group := api.RouteGroupFunc(func(m *api.Mux) error {
		m.HandleGrant("authorization_code", func(w http.ResponseWriter, r *http.Request, p *api.Principal, ps api.Params) error {
			got = p
			code, _ := ps["code"].(string)
			api.WriteJSON(w, http.StatusOK, map[string]string{"code": code, "env": string(p.Environment())})
			return nil
		})
		return nil
	})
	bare := newFixture(t)
	out := bare.json(400, "POST", "/api/v2/oauth/token", bare.admin(), "grant_type=authorization_code&code=c")
	if out["error"] != "unsupported_grant_type" {
		t.Fatalf("without the group: %v", out)
	}

	f := newFixture(t, fixtureOpts{routes: []api.RouteGroup{group}})
	for _, tc := range []struct {
		name, token, body string
		status            int
		err               string
	}{
		{"no token", "", "grant_type=authorization_code&code=c", 401, "invalid_client"},
		{"bad token", "not-a-token", "grant_type=authorization_code&code=c", 401, "invalid_client"},
		{"unsupported", f.admin(), "grant_type=password&code=c", 400, "unsupported_grant_type"},
	} {
		got = nil
		out := f.json(tc.status, "POST", "/api/v2/oauth/token", tc.token, tc.body)
		if out["error"] != tc.err || got != nil {
			t.Errorf("%s: %v (grant called: %v)", tc.name, out, got != nil)
		}
	}
	sandbox := f.key(identity.Sandbox, []string{"*"})
	out = f.json(200, "POST", "/api/v2/oauth/token", sandbox, "grant_type=authorization_code&code=c1")
	if out["code"] != "c1" || out["env"] != "sandbox" || got == nil || got.Service.Environment() != identity.Sandbox {
		t.Fatalf("grant: %v", out)
	}
	// The Kotlin SDK's validateSsoChallenge sends the code without grant_type.
	out = f.json(200, "POST", "/api/v2/oauth/token", f.admin(), "code=c2")
	if out["code"] != "c2" || out["env"] != "production" {
		t.Fatalf("grant without grant_type: %v", out)
	}
	// A grant registered twice is an error, not a panic.
	_, err := api.New(api.Options{Service: f.svc, Tokens: api.Tokens(nil), Routes: []api.RouteGroup{group, group}})
	if err == nil {
		t.Fatal("a grant registered twice was accepted")
	}
}
