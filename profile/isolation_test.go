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

// TestForeignIDsAnswerAsUnknown (issue 10, matrix): a token with no
// permission on the tenant that owns a verification token, ticket or
// persistent login gets exactly the answer of an unknown id (status and
// body) on every route that takes such an id, and its deletes and
// invalidations change nothing; a token that reaches the tenant without
// the action still gets Crafter's 403.
func TestForeignIDsAnswerAsUnknown(t *testing.T) {
	e := newEnvWith(t, memory.New(), nil)
	e.tenant("acme")
	e.tenant("globex")
	p := e.profile("globex", "bob", nil)
	onlyAcme := e.token(identity.Credential{Application: "app",
		TenantPermissions: []identity.TenantPermission{{Tenant: "acme", AllowedActions: []string{"*"}}}})
	readOnly := e.token(identity.Credential{Application: "app",
		TenantPermissions: []identity.TenantPermission{{Tenant: "globex", AllowedActions: []string{"READ_TENANT"}}}})
	var vt, tk, pl struct {
		ID string `json:"id"`
	}
	e.mustOK(e.do("POST", "/api/1/profile/"+p.ID+"/verification_token/create.json", e.master, nil)).json(t, &vt)
	e.mustOK(e.do("POST", "/api/1/authentication/ticket/create.json", e.master, url.Values{"profileId": {p.ID}})).json(t, &tk)
	e.mustOK(e.do("POST", "/api/1/authentication/persistent_login/create.json", e.master, url.Values{"profileId": {p.ID}})).json(t, &pl)
	const unknown = "unknownIdAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	type req struct {
		method, path string
		form         url.Values
	}
	cases := []struct {
		name string
		mk   func(id string) req
	}{
		{"verify", func(id string) req {
			return req{"POST", "/api/1/profile/verify.json", url.Values{"verificationTokenId": {id}}}
		}},
		{"change_password", func(id string) req {
			return req{"POST", "/api/1/profile/change_password.json", url.Values{"resetTokenId": {id}, "newPassword": {"owned password 123"}}}
		}},
		{"get verification token", func(id string) req {
			return req{"GET", "/api/1/profile/verification_token/" + id + ".json", nil}
		}},
		{"delete verification token", func(id string) req {
			return req{"POST", "/api/1/profile/verification_token/" + id + "/delete.json", nil}
		}},
		{"by_ticket", func(id string) req { return req{"GET", "/api/1/profile/by_ticket.json", url.Values{"ticketId": {id}}} }},
		{"get ticket", func(id string) req { return req{"GET", "/api/1/authentication/ticket/" + id + ".json", nil} }},
		{"invalidate ticket", func(id string) req {
			return req{"POST", "/api/1/authentication/ticket/" + id + "/invalidate.json", nil}
		}},
		{"get persistent login", func(id string) req {
			return req{"GET", "/api/1/authentication/persistent_login/" + id + ".json", nil}
		}},
		{"refresh persistent login", func(id string) req {
			return req{"POST", "/api/1/authentication/persistent_login/" + id + "/refresh_token.json", nil}
		}},
		{"delete persistent login", func(id string) req {
			return req{"POST", "/api/1/authentication/persistent_login/" + id + "/delete.json", nil}
		}},
	}
	idOf := map[string]string{"verify": vt.ID, "change_password": vt.ID, "get verification token": vt.ID,
		"delete verification token": vt.ID, "by_ticket": tk.ID, "get ticket": tk.ID, "invalidate ticket": tk.ID,
		"get persistent login": pl.ID, "refresh persistent login": pl.ID, "delete persistent login": pl.ID}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			send := func(tok, id string) resp {
				r := tc.mk(id)
				form := url.Values{"tenantName": {"globex"}}
				for k, v := range r.form {
					form[k] = v
				}
				return e.do(r.method, r.path, tok, form)
			}
			u := send(onlyAcme, unknown)
			f := send(onlyAcme, idOf[tc.name])
			if f.status != u.status || strings.ReplaceAll(string(f.body), idOf[tc.name], unknown) != string(u.body) {
				t.Errorf("foreign id: %d %s; unknown id: %d %s", f.status, f.body, u.status, u.body)
			}
			if strings.Contains(string(f.body), "globex") {
				t.Errorf("the answer names the other tenant: %s", f.body)
			}
			if r := send(readOnly, idOf[tc.name]); r.status != 403 || r.code() != CodeActionDenied {
				t.Errorf("a token reaching the tenant without the action: %d %s, want 403 %s", r.status, r.body, CodeActionDenied)
			}
		})
	}
	// Nothing changed: the victim's token, ticket and login still work
	// for the master, and the password is unchanged.
	e.mustOK(e.do("GET", "/api/1/profile/verification_token/"+vt.ID+".json", e.master, nil))
	e.mustOK(e.do("GET", "/api/1/authentication/ticket/"+tk.ID+".json", e.master, nil))
	var got struct {
		Token string `json:"token"`
	}
	e.mustOK(e.do("GET", "/api/1/authentication/persistent_login/"+pl.ID+".json", e.master, nil)).json(t, &got)
	if p2 := e.get(p.ID); p2.Verified {
		t.Errorf("the profile was verified by a foreign token: %+v", p2)
	}
}
