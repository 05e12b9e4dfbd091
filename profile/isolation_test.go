package profile

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// A profile deleted through the other face (identity.Service.DeleteUser,
// as the Cryptr API does) loses its attachments and tickets with it.
func TestDeleteThroughCoreRemovesAttachmentsAndSessions(t *testing.T) {
	e := newEnvWith(t, memory.New(), nil)
	e.tenant("acme")
	p := e.profile("acme", "alice", nil)
	e.mustOK(e.upload(p.ID, "attachment", "avatar.png", pngBytes, nil))
	tr := e.mustOK(e.do("POST", "/api/1/authentication/ticket/create.json", e.master, url.Values{"profileId": {p.ID}}))
	var tk struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(tr.body, &tk); err != nil || tk.ID == "" {
		t.Fatalf("ticket: %s %v", tr.body, err)
	}
	ticket := tk.ID

	ctx := context.Background()
	var userID string
	if err := e.svc.base.View(ctx, func(tx *identity.ReadTxn) error {
		u, err := tx.UserByObjectID(p.ID)
		if err == nil {
			userID = u.ID
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.base.DeleteUser(ctx, "acme", userID); err != nil {
		t.Fatal(err)
	}
	err := e.svc.base.View(ctx, func(tx *identity.ReadTxn) error {
		list, err := tx.Attachments(userID)
		if err != nil {
			return err
		}
		if len(list) != 0 {
			t.Errorf("attachments left: %+v", list)
		}
		if _, err := tx.TicketByHash(identity.HashSecret(ticket)); err == nil {
			t.Error("ticket left")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A token without any permission on a tenant gets 404 for its profiles, as
// for a missing id (tenant isolation); a token that reaches the tenant but
// lacks the action still gets Crafter's 403.
func TestOtherTenantsProfileIsNotFound(t *testing.T) {
	e := newEnvWith(t, memory.New(), nil)
	e.tenant("acme")
	e.tenant("globex")
	p := e.profile("globex", "bob", nil)
	onlyAcme := e.token(identity.Credential{Application: "app",
		TenantPermissions: []identity.TenantPermission{{Tenant: "acme", AllowedActions: []string{"*"}}}})
	readOnly := e.token(identity.Credential{Application: "app",
		TenantPermissions: []identity.TenantPermission{{Tenant: "globex", AllowedActions: []string{"READ_TENANT"}}}})
	for _, tc := range []struct {
		tok    string
		status int
		code   string
	}{
		{onlyAcme, 404, CodeNoSuchProfile},
		{readOnly, 403, CodeActionDenied},
		{e.master, 200, ""},
	} {
		r := e.do("GET", "/api/1/profile/"+p.ID+".json", tc.tok, nil)
		if r.status != tc.status || (tc.code != "" && !strings.Contains(string(r.body), tc.code)) {
			t.Errorf("status %d body %s, want %d %s", r.status, r.body, tc.status, tc.code)
		}
		if tc.status == 404 && strings.Contains(string(r.body), "globex") {
			t.Errorf("404 names the other tenant: %s", r.body)
		}
	}
}
