package sso_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/testkit"
)

// TestDocumentCurlSamples replays the document's SSO connection samples
// that send a body exactly as curl sends them (testkit.ParseCurl), with
// the placeholders filled in, and checks that each did what the document
// says: no sample answers 2xx having ignored its body.
func TestDocumentCurlSamples(t *testing.T) {
	f := newFixture(t)
	idp := ""
	fill := func(line string) string {
		return strings.NewReplacer(":idp_id", idp, "your_api_key_generated_token", f.token, "your_api_key_token", f.token,
			`"front_app_client_id"`, `"`+f.app.ClientID+`"`, `"organization_id": "organization_id"`, `"organization_id": "`+f.org.ID+`"`,
			"81a81b21-93b9-441b-a861-a33dc8c06fea", f.app.ClientID, "1cad5a97-457c-4a7b-940c-07f5aa22b7f3", f.org.ID,
			// The redirection must be one of the application's redirect URLs.
			"http://localhost:3000", appURI,
		).Replace(line)
	}
	get := func() map[string]any {
		return f.json(f.do("GET", "/api/v2/sso-connections/"+idp+"?preload_associations=onboarding,default_redirection", f.token, nil), http.StatusOK)
	}
	for _, tc := range []struct {
		line   int // where the sample is in the document
		cmd    string
		status int
		check  func(t *testing.T, got map[string]any)
	}{
		{817, `curl --request POST 'https://${YOUR_CRYPTR_SERVICE_URL}/api/v2/sso-connections' --header 'Authorization: Bearer your_api_key_generated_token' --header 'Content-Type: application/json' --data-raw '{ "application_id": "front_app_client_id", "sso_admin_email": "it_sso_person@sso.client.com", "organization_id": "organization_id" }'`,
			201, func(t *testing.T, got map[string]any) {
				idp, _ = got["id"].(string)
				if got["__domain__"] != f.org.Domain || got["onboarding"].(map[string]any)["sso_admin_email"] != "it_sso_person@sso.client.com" {
					t.Errorf("connection not created as sent: %v", got)
				}
			}},
		{988, `curl -X PUT 'https://${YOUR_CRYPTR_SERVICE_URL}/api/v2/sso-connections/:idp_id' \ --header 'Authorization: Bearer your_api_key_generated_token' \ --header 'Content-Type: application/json' \ --data-raw '{ "seats_limit": 99 }'`,
			200, func(t *testing.T, _ map[string]any) {
				if c := get(); c["seats_limit"] != 99.0 {
					t.Errorf("seats_limit not updated: %v", c)
				}
			}},
		{1070, `curl -X PUT 'https://${YOUR_CRYPTR_SERVICE_URL}/api/v2/sso-connections/:idp_id/admin-onboarding' --header 'Authorization: Bearer your_api_key_generated_token' --header 'Content-Type: application/json' --data-raw '{ "sso_admin_email": "new_it_guy@sample.co", "provider_type": "okta" }'`,
			200, func(t *testing.T, _ map[string]any) {
				if o := get()["onboarding"].(map[string]any); o["sso_admin_email"] != "new_it_guy@sample.co" || o["provider_type"] != "okta" {
					t.Errorf("onboarding not updated: %v", o)
				}
			}},
		{1120, `curl -X POST 'http://${YOUR_CRYPTR_SERVICE_URL}/api/v2/sso-connections/:idp_id/default-redirection' \ --header 'Authorization: Bearer your_api_key_token' \ --header 'Content-Type: application/json' \ --data-raw '{ "application_id": "81a81b21-93b9-441b-a861-a33dc8c06fea", "organization_id": "1cad5a97-457c-4a7b-940c-07f5aa22b7f3", "uri": "http://localhost:3000" }'`,
			201, func(t *testing.T, _ map[string]any) {
				if d := get()["default_redirection"].(map[string]any); d["uri"] != appURI || d["app_id"] != f.app.ClientID {
					t.Errorf("default redirection not set: %v", d)
				}
			}},
		{1226, `curl -X PUT 'https://${YOUR_CRYPTR_SERVICE_URL}/api/v2/sso-connections/:idp_id/sso-user-policy' \ --header 'Authorization: Bearer your_api_key_generated_token' \ --header 'Content-Type: application/json' \ --data-raw '{ "user_security_type": "user_registered" }'`,
			200, func(t *testing.T, _ map[string]any) {
				if c := get(); c["user_security_type"] != "user_registered" {
					t.Errorf("user policy not updated: %v", c)
				}
			}},
	} {
		c, err := testkit.ParseCurl(fill(tc.cmd))
		if err != nil {
			t.Fatalf("line %d: %v", tc.line, err)
		}
		r, err := c.Request("/api/v2/")
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		f.mux.ServeHTTP(rec, r)
		if rec.Code != tc.status {
			t.Errorf("line %d: status %d, want %d: %s", tc.line, rec.Code, tc.status, rec.Body)
			continue
		}
		var got map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatalf("line %d: not JSON: %s", tc.line, rec.Body)
		}
		tc.check(t, got)
	}
}
