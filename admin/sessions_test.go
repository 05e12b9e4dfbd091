package admin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestUserSessionsListed: the user page lists the user's live tickets and
// persistent logins beside "End all sessions", which ends them.
func TestUserSessionsListed(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	b := h.signedIn(h.owner.UserID)
	page := "/orgs/alpha/users/" + h.alphaU.ID
	if r := b.get(page); r.status != http.StatusOK || !strings.Contains(r.body, "No open ticket or persistent login.") {
		t.Fatalf("user page without sessions: %d %s", r.status, r.body)
	}
	now := h.clock.Now()
	used := now.Add(-3 * time.Minute)
	err := h.ids.Update(ctx, func(tx *identity.Txn) error {
		if err := tx.PutTicket(nil, &identity.Ticket{IDHash: identity.HashSecret("t1"), OrgID: h.alphaU.OrgID,
			UserID: h.alphaU.ID, CreatedAt: now.Add(-time.Hour), LastRequestAt: used, ExpiresAt: now.Add(time.Hour)}); err != nil {
			return err
		}
		return tx.PutPersistentLogin(nil, &identity.PersistentLogin{ID: identity.HashSecret("p1"), OrgID: h.alphaU.OrgID,
			UserID: h.alphaU.ID, Token: "secret-token", CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)})
	})
	if err != nil {
		t.Fatal(err)
	}
	r := b.get(page)
	for _, want := range []string{"Crafter ticket", "Persistent login (remember me)", used.UTC().Format("2006-01-02 15:04"),
		now.Add(24 * time.Hour).UTC().Format("2006-01-02 15:04")} {
		if !strings.Contains(r.body, want) {
			t.Errorf("user page lacks %q", want)
		}
	}
	if strings.Contains(r.body, "secret-token") || strings.Contains(r.body, identity.HashSecret("t1")) {
		t.Error("the page shows a session secret or its hash")
	}
	if r := b.postCSRF(page+"/end-sessions", nil); r.status != http.StatusSeeOther {
		t.Fatalf("end sessions: %d", r.status)
	}
	if r := b.get(page); strings.Contains(r.body, "Crafter ticket") || !strings.Contains(r.body, "No open ticket or persistent login.") {
		t.Errorf("sessions listed after ending them: %s", r.body)
	}
}
