package api_test

import (
	"net/http"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestLogEventsShowTheOrganizationsKeys: an organization's log-events
// list the events of the API keys that reach it (created, management
// token issued), not those of another organization's key.
func TestLogEventsShowTheOrganizationsKeys(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	f.mustOrg(tok, "Alpha")
	f.mustOrg(tok, "Beta")
	alphaTok := f.key(identity.Production, []string{"alpha"}, "read_many:log_events")
	f.key(identity.Production, []string{"beta"}, "read_many:log_events")
	l := f.json(http.StatusOK, "GET", "/api/v2/org/alpha/log-events?per_page=50", alphaTok, nil)
	codes := map[string]int{}
	for _, e := range l["data"].([]any) {
		ev := e.(map[string]any)
		codes[ev["event_code"].(string)]++
		if ev["tenant_domain"] != "alpha" {
			t.Errorf("event of alpha's log with tenant_domain %v", ev["tenant_domain"])
		}
	}
	// Alpha's key: created, then its token; the beta key's events are
	// absent, and so are the all-organizations admin key's.
	if codes[identity.EventCredentialCreated] != 1 || codes[identity.EventAPIKeyTokenIssued] != 1 {
		t.Fatalf("alpha's log: %v (%v)", codes, l)
	}
	beta := f.json(http.StatusOK, "GET", "/api/v2/org/beta/log-events?code=CREDENTIAL_CREATED", tok, nil)
	if beta["total_count"].(float64) != 1 {
		t.Fatalf("beta's key events: %v", beta)
	}
	f.json(http.StatusNotFound, "GET", "/api/v2/org/beta/log-events", alphaTok, nil)
}
