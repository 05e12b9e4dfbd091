package api_test

import (
	"context"

	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

func TestTokenEndpoint(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, secret, err := f.svc.CreateCredential(ctx, identity.Credential{Environment: identity.Sandbox,
		Permissions: []string{"read:users"}, ManagedOrgs: []string{"*"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	tests := []struct {
		name string
		body any
		want int
		code string
	}{
		{"json domain", map[string]any{"grant_type": "client_credentials", "client_id": c.ID, "client_secret": secret, "domain": account}, 200, ""},
		{"form tenant_domain", form("grant_type", "client_credentials", "client_id", c.ID, "client_secret", secret, "tenant_domain", account), 200, ""},
		{"form audience", form("grant_type", "client_credentials", "client_id", c.ID, "client_secret", secret, "audience", account), 200, ""},
		{"no account", map[string]any{"grant_type": "client_credentials", "client_id": c.ID, "client_secret": secret}, 200, ""},
		{"wrong secret", map[string]any{"grant_type": "client_credentials", "client_id": c.ID, "client_secret": secret + "x"}, 401, "invalid_client"},
		{"unknown id", map[string]any{"grant_type": "client_credentials", "client_id": "nope", "client_secret": secret}, 401, "invalid_client"},
		{"other account", map[string]any{"grant_type": "client_credentials", "client_id": c.ID, "client_secret": secret, "domain": "other"}, 401, "invalid_client"},
		{"grant type", map[string]any{"grant_type": "password", "client_id": c.ID, "client_secret": secret}, 400, "unsupported_grant_type"},
		{"missing grant", map[string]any{"client_id": c.ID, "client_secret": secret}, 400, "invalid_request"},
		{"missing secret", map[string]any{"grant_type": "client_credentials", "client_id": c.ID}, 401, "invalid_client"},
		{"wrong type", map[string]any{"grant_type": "client_credentials", "client_id": 12, "client_secret": secret}, 400, "invalid_request"},
		{"malformed json", []byte(`{"grant_type":`), 400, "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := f.json(tc.want, "POST", "/api/v2/oauth/token", "", tc.body)
			if tc.want == 200 {
				if out["token_type"] != "Bearer" || out["access_token"] == "" || out["scope"] != "read:users" {
					t.Fatalf("answer %v", out)
				}
				if out["expires_in"].(float64) != 900 {
					t.Fatalf("expires_in %v", out["expires_in"])
				}
				return
			}
			if out["error"] != tc.code {
				t.Fatalf("error %v, want %s", out["error"], tc.code)
			}
		})
	}
	t.Run("basic auth", func(t *testing.T) {
		req := strings.NewReader("grant_type=client_credentials")
		r := newRequest("POST", "/api/v2/oauth/token", req)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth(c.ID, secret)
		rec := serve(f, r)
		if rec.Code != 200 {
			t.Fatalf("basic: %d %s", rec.Code, rec.Body)
		}
	})
	// Every issued token is an audit event of the key's environment, and
	// so is the refusal of the key's wrong secret ("other account" is
	// refused after the key authenticated; an unknown id's refusal is
	// production's, the environment of the request).
	p, err := f.svc.ForEnvironment(identity.Sandbox)
	if err != nil {
		t.Fatal(err)
	}
	_ = p
	if n := f.eventCount(identity.Sandbox); n != 6 {
		t.Fatalf("sandbox events = %d, want 6 (one per issued token, one wrong secret)", n)
	}
}

// TestAuthentication: the Bearer management token is required; a 401
// carries a Bearer challenge, which names error="invalid_token" only when
// a Bearer token was sent and failed (RFC 6750 section 3.1: a request
// without one gets no error code).
func TestAuthentication(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	f.mustOrg(tok, "Misapret")
	const bare, invalid = `Bearer realm="api"`, `Bearer realm="api", error="invalid_token"`
	tests := []struct {
		name, header string
		want         int
		challenge    string
	}{
		{"none", "", 401, bare},
		{"not bearer", "Basic " + tok, 401, bare},
		{"empty bearer", "Bearer ", 401, invalid},
		{"unknown token", "Bearer abc", 401, invalid},
		{"lower-case scheme", "bearer " + tok, 200, ""},
		{"valid", "Bearer " + tok, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRequest("GET", "/api/v2/organizations/misapret", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			rec := serve(f, r)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tc.challenge {
				t.Fatalf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
		})
	}
	t.Run("expired token", func(t *testing.T) {
		f.clock.Advance(16 * 60e9)
		f.json(401, "GET", "/api/v2/organizations/misapret", tok, nil)
	})
	t.Run("deleted key", func(t *testing.T) {
		tok := f.admin()
		creds, _ := f.svc.ListCredentials(context.Background())
		last := creds[len(creds)-1]
		if err := f.svc.DeleteCredential(context.Background(), last.ID); err != nil {
			t.Fatal(err)
		}
		f.json(401, "GET", "/api/v2/organizations/misapret", tok, nil)
	})
}

func TestPermissions(t *testing.T) {
	f := newFixture(t)
	admin := f.admin()
	f.mustOrg(admin, "Misapret")
	u := f.mustUser(admin, "misapret", "jane@example.com")
	reader := f.key(identity.Production, []string{"misapret"}, "read:users", "read_many:users")
	f.json(200, "GET", "/api/v2/org/misapret/users/"+u["id"].(string), reader, nil)
	f.json(200, "GET", "/api/v2/org/misapret/users", reader, nil)
	out := f.json(403, "POST", "/api/v2/org/misapret/users", reader, map[string]any{"email": "x@example.com"})
	if out["error"] != "forbidden" {
		t.Fatalf("error %v", out)
	}
	f.json(403, "DELETE", "/api/v2/org/misapret/users/"+u["id"].(string), reader, nil)
	f.json(403, "GET", "/api/v2/org/misapret/applications", reader, nil)
	// A key limited to one organization may not create organizations.
	limited := f.key(identity.Production, []string{"misapret"})
	f.json(403, "POST", "/api/v2/organizations", limited, map[string]any{"name": "Other"})
	// It lists only its organizations.
	f.mustOrg(admin, "Other")
	list := f.json(200, "GET", "/api/v2/organizations", limited, nil)
	if data := list["data"].([]any); len(data) != 1 || data[0].(map[string]any)["domain"] != "misapret" || list["total"].(float64) != 1 {
		t.Fatalf("limited list %v", list)
	}
	all := f.json(200, "GET", "/api/v2/organizations", admin, nil)
	if all["total"].(float64) != 2 {
		t.Fatalf("admin list %v", all)
	}
}

func TestEnvironmentIsolation(t *testing.T) {
	f := newFixture(t)
	prod := f.admin()
	sandbox := f.key(identity.Sandbox, []string{"*"})
	f.mustOrg(prod, "Misapret")
	u := f.mustUser(prod, "misapret", "jane@example.com")
	id := u["id"].(string)
	if u["__environment__"] != "production" {
		t.Fatalf("environment %v", u["__environment__"])
	}
	// Organizations are account-wide; users are per environment.
	f.json(200, "GET", "/api/v2/organizations/misapret", sandbox, nil)
	f.json(404, "GET", "/api/v2/org/misapret/users/"+id, sandbox, nil)
	list := f.json(200, "GET", "/api/v2/org/misapret/users", sandbox, nil)
	if list["total"].(float64) != 0 {
		t.Fatalf("sandbox sees production users: %v", list)
	}
	su := f.mustUser(sandbox, "misapret", "jane@example.com")
	if su["__environment__"] != "sandbox" {
		t.Fatalf("environment %v", su["__environment__"])
	}
	// Asking for another environment than the key's is refused.
	f.json(403, "GET", "/api/v2/org/misapret/users/"+id+"?environment=sandbox", prod, nil)
	f.json(200, "GET", "/api/v2/org/misapret/users/"+id+"?environment=production", prod, nil)
	f.json(422, "GET", "/api/v2/org/misapret/users?environment=staging", prod, nil)
}

// A key replaced under the same id with fewer rights is seen by the next
// request, through tokens issued before (the handler caches decoded keys).
func TestNarrowedKeyTakesEffectAtOnce(t *testing.T) {
	f := newFixture(t)
	admin := f.admin()
	f.mustOrg(admin, "Misapret")
	ctx := context.Background()
	c, secret, err := f.svc.CreateCredential(ctx, identity.Credential{ID: "narrowed", Environment: identity.Production,
		Permissions: []string{"*"}, ManagedOrgs: []string{"*"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	tok := f.json(200, "POST", "/api/v2/oauth/token", "", map[string]any{"grant_type": "client_credentials",
		"client_id": c.ID, "client_secret": secret})["access_token"].(string)
	f.json(201, "POST", "/api/v2/org/misapret/users", tok, map[string]any{"email": "a@example.com"})
	if err := f.svc.DeleteCredential(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.CreateCredential(ctx, identity.Credential{ID: "narrowed", Environment: identity.Production,
		Permissions: []string{"read:users"}, ManagedOrgs: []string{"*"}}, secret); err != nil {
		t.Fatal(err)
	}
	f.json(403, "POST", "/api/v2/org/misapret/users", tok, map[string]any{"email": "b@example.com"})
	if err := f.svc.DeleteCredential(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.CreateCredential(ctx, identity.Credential{ID: "narrowed", Environment: identity.Production,
		Permissions: []string{"*"}, ManagedOrgs: []string{"other"}}, secret); err != nil {
		t.Fatal(err)
	}
	f.json(404, "GET", "/api/v2/org/misapret/users", tok, nil)
}

// A management token signed by another deployment's keys, or tampered
// with, is refused.
func TestForeignAndTamperedTokens(t *testing.T) {
	f := newFixture(t)
	other := newFixture(t)
	tok := f.admin()
	f.mustOrg(tok, "Misapret")
	foreign := other.admin()
	f.json(401, "GET", "/api/v2/organizations/misapret", foreign, nil)
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %s", tok)
	}
	sig := []byte(parts[2])
	sig[len(sig)/2] ^= 1
	f.json(401, "GET", "/api/v2/organizations/misapret", parts[0]+"."+parts[1]+"."+string(sig), nil)
	f.json(401, "GET", "/api/v2/organizations/misapret", parts[0]+"."+parts[1]+".", nil)
	f.json(200, "GET", "/api/v2/organizations/misapret", tok, nil)
}
