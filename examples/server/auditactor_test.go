package main

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// auditEvent is a log event as GET …/log-events answers it.
type auditEvent struct {
	Code         string         `json:"event_code"`
	ClientID     *string        `json:"client_id"`
	TenantDomain string         `json:"tenant_domain"`
	Actor        *auditActor    `json:"actor"`
	Data         map[string]any `json:"data"`
}

type auditActor struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
}

// logEvents reads an organization's events of code through the Cryptr
// API with a management token, as an account does.
func (hx *harness) logEvents(mgmt, domain, code string) []auditEvent {
	hx.t.Helper()
	w := hx.do("GET", "/api/v2/org/"+domain+"/log-events?per_page=100&code="+code, "", nil, "Authorization", "Bearer "+mgmt)
	if w.Code != 200 {
		hx.t.Fatalf("log events of %s: %d %s", domain, w.Code, w.Body)
	}
	var list struct {
		Data []auditEvent `json:"data"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil {
		hx.t.Fatal(err)
	}
	return list.Data
}

// apiKey creates a Cryptr API key limited to domains and returns its
// management token.
func (hx *harness) apiKey(id string, domains []string, perms ...string) string {
	hx.t.Helper()
	secret := id + "-secret-0123456789abcdef"
	if _, _, err := hx.a.envs[identity.Production].CreateCredential(context.Background(),
		identity.Credential{ID: id, ManagedOrgs: domains, Permissions: perms}, secret); err != nil {
		hx.t.Fatal(err)
	}
	tok := hx.must(200, "POST", "/api/v2/oauth/token", "application/x-www-form-urlencoded",
		url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}.Encode())
	return tok["access_token"].(string)
}

// TestAuditEventsNameTheirCredential: a write made through a Cryptr API
// key or a Crafter access token records that credential (its id and
// kind, never its secret) as the actor of its event, and an access
// token's creation names the token that created it, not the new one.
// The events are read back through GET …/log-events; another
// organization's key cannot read them.
func TestAuditEventsNameTheirCredential(t *testing.T) {
	hx := newHarness(t, "memory:")
	ctx := context.Background()
	prod := hx.a.envs[identity.Production]
	appCred, err := prod.CredentialBySecret(ctx, hx.appToken)
	if err != nil {
		t.Fatal(err)
	}
	beta := hx.must(201, "POST", "/api/v2/organizations", "application/json", `{"name":"Beta"}`,
		"Authorization", "Bearer "+hx.mgmt)["domain"].(string)
	acmeKey := hx.apiKey("acme-key", []string{hx.org}, "*")
	betaKey := hx.apiKey("beta-key", []string{beta}, "read_many:log_events")

	cases := []struct {
		name   string
		write  func()
		code   string
		want   auditActor
		secret string // must not be the actor id
	}{
		{"Cryptr API key creates a user", func() {
			hx.must(201, "POST", "/api/v2/org/"+hx.org+"/users", "application/json",
				`{"profile":{"email":"key@acme.test"}}`, "Authorization", "Bearer "+acmeKey)
		}, identity.EventUserCreated, auditActor{"acme-key", "api_key"}, ""},
		{"Cryptr API key creates an application", func() {
			hx.must(201, "POST", "/api/v2/org/"+hx.org+"/applications", "application/json",
				`{"name":"m2m","application_type":"machine"}`, "Authorization", "Bearer "+acmeKey)
		}, identity.EventApplicationCreated, auditActor{"acme-key", "api_key"}, ""},
		{"Cryptr API key creates an SSO connection", func() {
			orgID := hx.must(200, "GET", "/api/v2/organizations/"+hx.org, "", "", "Authorization", "Bearer "+acmeKey)["id"].(string)
			hx.must(201, "POST", "/api/v2/sso-connections", "application/json", `{"organization_id":"`+orgID+
				`","application_id":"`+hx.webID+`","sso_admin_email":"it2@acme.test"}`, "Authorization", "Bearer "+acmeKey)
		}, identity.EventSSOConnectionCreated, auditActor{"acme-key", "api_key"}, ""},
		{"Crafter access token disables a profile", func() {
			hx.must(200, "POST", "/api/1/profile/"+hx.profile+"/disable.json", "application/x-www-form-urlencoded",
				url.Values{"accessTokenId": {hx.appToken}}.Encode())
		}, identity.EventUserDisabled, auditActor{appCred.ID, "access_token"}, hx.appToken},
		{"Crafter access token creates a profile", func() {
			hx.must(200, "POST", "/api/1/profile/create.json", "application/x-www-form-urlencoded",
				url.Values{"accessTokenId": {hx.appToken}, "tenantName": {hx.org}, "username": {"carol"},
					"password": {bobPassword}, "email": {"carol@acme.test"}, "enabled": {"true"}}.Encode())
		}, identity.EventUserCreated, auditActor{appCred.ID, "access_token"}, hx.appToken},
		{"Crafter master token creates an access token", func() {
			hx.must(200, "POST", "/api/1/access_token/create.json?accessTokenId="+hMasterSecret, "application/json",
				`{"application":"acme-app","master":false,"tenantPermissions":[{"tenant":"`+hx.org+`","allowedActions":["*"]}]}`)
		}, identity.EventCredentialCreated, auditActor{hMasterID, "access_token"}, hMasterSecret},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.write()
			evs := hx.logEvents(hx.mgmt, hx.org, c.code)
			if len(evs) == 0 {
				t.Fatalf("no %s event in %s's log", c.code, hx.org)
			}
			got := evs[0] // most recent first
			if got.Actor == nil || *got.Actor != c.want {
				t.Errorf("%s actor = %+v, want %+v", c.code, got.Actor, c.want)
			}
			if got.Actor != nil && c.secret != "" && got.Actor.ID == c.secret {
				t.Errorf("%s names the credential's secret as its actor", c.code)
			}
			if got.TenantDomain != hx.org {
				t.Errorf("%s tenant_domain = %q, want %q", c.code, got.TenantDomain, hx.org)
			}
		})
	}

	// Isolation: the beta key reads its own organization's log, where
	// none of acme's events are, and acme's log is not found for it.
	for _, e := range hx.logEvents(betaKey, beta, "") {
		for _, c := range cases {
			if e.Actor != nil && *e.Actor == c.want || e.TenantDomain != beta {
				t.Errorf("beta's log shows an event of acme: %+v", e)
			}
		}
	}
	if w := hx.do("GET", "/api/v2/org/"+hx.org+"/log-events", "", nil, "Authorization", "Bearer "+betaKey); w.Code != 404 {
		t.Errorf("beta's key reads acme's log: %d %s", w.Code, w.Body)
	}
}
