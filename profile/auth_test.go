package profile

import (
	"bytes"
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/password"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/store/bolt"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

func (e *env) login(user, pw string) resp {
	return e.do("POST", "/api/1/authentication/authenticate.json", e.master,
		url.Values{"tenantName": {"acme"}, "username": {user}, "password": {pw}})
}

func TestLockout(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	e.profile("acme", "alice", nil)
	for i := 1; i <= 10; i++ {
		r := e.login("alice", "wrong")
		if r.status != 401 || r.code() != CodeBadCredentials {
			t.Fatalf("attempt %d: %d %s", i, r.status, r.body)
		}
		e.sleepM.Lock()
		slept := len(e.sleeps)
		e.sleepM.Unlock()
		if want := max(0, i-2); slept != want {
			t.Fatalf("after %d failures %d delays, want %d (1 s after the 2nd)", i, slept, want)
		}
	}
	if e.sleeps[0] != time.Second {
		t.Fatalf("delay %v, want 1s", e.sleeps[0])
	}
	// Locked: even the right password is refused, with 403 and a message.
	r := e.login("alice", "pw-alice")
	if r.status != 403 || !bytes.Contains(r.body, []byte("locked for 10 minutes")) {
		t.Fatalf("locked account: %d %s", r.status, r.body)
	}
	e.clock.add(9 * time.Minute)
	if r := e.login("alice", "pw-alice"); r.status != 403 {
		t.Fatalf("after 9 min: %d", r.status)
	}
	e.clock.add(61 * time.Second)
	if r := e.login("alice", "pw-alice"); r.status != 200 {
		t.Fatalf("after the lock: %d %s", r.status, r.body)
	}
	// The success reset the counter: two failures cost no delay.
	n := len(e.sleeps)
	e.login("alice", "x")
	e.login("alice", "x")
	if len(e.sleeps) != n {
		t.Fatal("counter not reset by the success")
	}
	// Unknown usernames cost a dummy verification (enum_test.go checks
	// that they are counted like existing ones).
	d := e.hasher.dummies
	if r := e.login("nobody", "x"); r.status != 401 || e.hasher.dummies != d+1 {
		t.Fatalf("unknown user: %d, dummies %d", r.status, e.hasher.dummies)
	}
	// Lockout applies in other organizations independently.
	if r := e.login("alice", "pw-alice"); r.status != 200 {
		t.Fatalf("login: %d", r.status)
	}
}

func TestLockoutParallel(t *testing.T) {
	t.Run("memory", func(t *testing.T) { lockoutParallel(t, newEnv(t)) })
	t.Run("bolt", func(t *testing.T) {
		st, err := bolt.Open(context.Background(), filepath.Join(t.TempDir(), "g.db"), bolt.WithNoSync())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		lockoutParallel(t, newEnvOn(t, st))
	})
}

func lockoutParallel(t *testing.T, e *env) {
	e.tenant("acme")
	e.profile("acme", "alice", nil)
	before := e.hasher.verifys
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.login("alice", "wrong")
			if r.status != 401 && r.status != 403 {
				t.Errorf("parallel attempt: %d %s", r.status, r.body)
			}
		}()
	}
	wg.Wait()
	if got := e.hasher.verifys - before; got > 10 {
		t.Fatalf("%d passwords checked in a burst of 40, want at most 10", got)
	}
	if r := e.login("alice", "pw-alice"); r.status != 403 {
		t.Fatalf("account not locked after the burst: %d", r.status)
	}
}

func TestDisabledAndTickets(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	p := e.profile("acme", "alice", nil)
	var tk Ticket
	e.mustOK(e.login("alice", "pw-alice")).json(t, &tk)
	if len(tk.ID) < 43 || tk.ProfileID != p.ID || tk.Tenant != "acme" {
		t.Fatalf("ticket %+v", tk)
	}
	// Sliding idle expiry, checked at read time.
	for i := 0; i < 3; i++ {
		e.clock.add(14 * time.Minute)
		e.mustOK(e.do("GET", "/api/1/authentication/ticket/"+tk.ID+".json", e.master, nil))
	}
	e.clock.add(14 * time.Minute)
	var got Profile
	e.mustOK(e.do("GET", "/api/1/profile/by_ticket", e.master, url.Values{"ticketId": {tk.ID}})).json(t, &got)
	e.clock.add(15*time.Minute + time.Second)
	if r := e.do("GET", "/api/1/authentication/ticket/"+tk.ID, e.master, nil); r.status != 404 || r.code() != CodeNoSuchTicket {
		t.Fatalf("idle ticket: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/1/profile/by_ticket", e.master, url.Values{"ticketId": {tk.ID}}); r.status != 400 || r.code() != CodeNoSuchTicket {
		t.Fatalf("by_ticket of an idle ticket: %d %s", r.status, r.body)
	}
	// The sweeper reclaims it.
	if n, err := e.svc.Sweep(context.Background()); err != nil || n == 0 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	// Invalidate.
	var tk2 Ticket
	e.mustOK(e.do("POST", "/api/1/authentication/ticket/create", e.master, url.Values{"profileId": {p.ID}})).json(t, &tk2)
	e.mustOK(e.do("POST", "/api/1/authentication/ticket/"+tk2.ID+"/invalidate", e.master, nil))
	e.mustOK(e.do("POST", "/api/1/authentication/ticket/"+tk2.ID+"/invalidate", e.master, nil))
	if r := e.do("GET", "/api/1/authentication/ticket/"+tk2.ID, e.master, nil); r.status != 404 {
		t.Fatalf("invalidated ticket: %d", r.status)
	}
	// Disabled profiles cannot log in or get tickets.
	e.mustOK(e.do("POST", "/api/1/profile/"+p.ID+"/disable", e.master, nil))
	for _, r := range []resp{e.login("alice", "pw-alice"),
		e.do("POST", "/api/1/authentication/ticket/create", e.master, url.Values{"profileId": {p.ID}}),
		e.do("POST", "/api/1/authentication/persistent_login/create", e.master, url.Values{"profileId": {p.ID}})} {
		if r.status != 403 || r.code() != CodeDisabledProfile {
			t.Fatalf("disabled: %d %s", r.status, r.body)
		}
	}
}

func TestPersistentLogin(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	p := e.profile("acme", "alice", nil)
	var pl PersistentLogin
	e.mustOK(e.do("POST", "/api/1/authentication/persistent_login/create.json", e.master, url.Values{"profileId": {p.ID}})).json(t, &pl)
	if pl.ProfileID != p.ID || len(pl.Token) < 43 || len(pl.ID) < 43 {
		t.Fatalf("login %+v", pl)
	}
	var got PersistentLogin
	e.clock.add(14 * 24 * time.Hour)
	e.mustOK(e.do("POST", "/api/1/authentication/persistent_login/"+pl.ID+"/refresh_token", e.master, nil)).json(t, &got)
	if got.Token == pl.Token || got.ID != pl.ID {
		t.Fatalf("refresh did not rotate the token: %+v", got)
	}
	got = PersistentLogin{}
	e.mustOK(e.do("GET", "/api/1/authentication/persistent_login/"+pl.ID, e.master, nil)).json(t, &got)
	if got.Timestamp != pl.Timestamp {
		t.Fatal("refresh moved the timestamp")
	}
	e.clock.add(24*time.Hour + time.Second) // absolute 15 days
	if r := e.do("GET", "/api/1/authentication/persistent_login/"+pl.ID, e.master, nil); r.status != 404 || r.code() != CodeNoSuchPersistentLogin {
		t.Fatalf("expired login: %d %s", r.status, r.body)
	}
	e.mustOK(e.do("POST", "/api/1/authentication/persistent_login/"+pl.ID+"/delete", e.master, nil))
}

func TestResetAndChangePassword(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	p := e.profile("acme", "alice", nil)
	var tk Ticket
	e.mustOK(e.login("alice", "pw-alice")).json(t, &tk)
	var pl PersistentLogin
	e.mustOK(e.do("POST", "/api/1/authentication/persistent_login/create", e.master, url.Values{"profileId": {p.ID}})).json(t, &pl)
	if r := e.do("POST", "/api/1/profile/"+p.ID+"/reset_password", e.master, url.Values{"resetPasswordUrl": {"ftp://x"}}); r.status != 400 {
		t.Fatalf("ftp reset url: %d", r.status)
	}
	e.mustOK(e.do("POST", "/api/1/profile/"+p.ID+"/reset_password.json", e.master, url.Values{"resetPasswordUrl": {"https://app.example.com/reset"}}))
	m := e.mail.last()
	u, err := url.Parse(strings.TrimSpace(m.Text[strings.Index(m.Text, "https://"):]))
	if err != nil || m.Subject != "Reset Password" {
		t.Fatalf("mail %+v", m)
	}
	tokID := u.Query().Get("tokenId")
	if tokID == "" {
		t.Fatalf("no token in %q", m.Text)
	}
	// Tokens are stored hashed: the raw id is nowhere in the store.
	if storeContains(t, e, tokID) || storeContains(t, e, tk.ID) {
		t.Fatal("a bearer secret is stored in clear")
	}
	// Token lifetime: 24 h.
	e.clock.add(23 * time.Hour)
	var vt VerificationToken
	e.mustOK(e.do("GET", "/api/1/profile/verification_token/"+tokID, e.master, nil)).json(t, &vt)
	if vt.ProfileID != p.ID {
		t.Fatalf("token %+v", vt)
	}
	e.clock.add(-23 * time.Hour)
	e.mustOK(e.do("POST", "/api/1/profile/change_password.json", e.master, url.Values{"resetTokenId": {tokID}, "newPassword": {"n3w-pass"}}))
	if r := e.do("POST", "/api/1/profile/change_password.json", e.master, url.Values{"resetTokenId": {tokID}, "newPassword": {"again"}}); r.status != 404 {
		t.Fatalf("token reused: %d", r.status)
	}
	// Sessions revoked, new password works, owner notified.
	if r := e.do("GET", "/api/1/authentication/ticket/"+tk.ID, e.master, nil); r.status != 404 {
		t.Fatalf("ticket survived the password change: %d", r.status)
	}
	if r := e.do("GET", "/api/1/authentication/persistent_login/"+pl.ID, e.master, nil); r.status != 404 {
		t.Fatalf("persistent login survived the password change: %d", r.status)
	}
	if r := e.login("alice", "n3w-pass"); r.status != 200 {
		t.Fatalf("new password: %d %s", r.status, r.body)
	}
	if e.mail.last().Subject != "Password changed" {
		t.Fatal("no notification of the password change")
	}
	// Expired tokens are 404.
	var vt2 VerificationToken
	e.mustOK(e.do("POST", "/api/1/profile/"+p.ID+"/verification_token/create", e.master, nil)).json(t, &vt2)
	e.clock.add(24*time.Hour + time.Second)
	if r := e.do("GET", "/api/1/profile/verification_token/"+vt2.ID, e.master, nil); r.status != 404 {
		t.Fatalf("expired token: %d", r.status)
	}
	e.mustOK(e.do("POST", "/api/1/profile/verification_token/"+vt2.ID+"/delete", e.master, nil))
}

func storeContains(t *testing.T, e *env, secret string) bool {
	found := false
	err := e.id.Backend(kv.Inside()).View(context.Background(), func(tx identity.ReadTx) error {
		return tx.Scan(nil, identity.ScanOptions{}, func(k, v []byte) error {
			if bytes.Contains(k, []byte(secret)) || bytes.Contains(v, []byte(secret)) {
				found = true
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestRealHasher runs a login with argon2id and a legacy Crafter hash
// that is upgraded on success.
func TestRealHasher(t *testing.T) {
	id, err := identity.NewService(identity.Options{Store: memory.New()})
	if err != nil {
		t.Fatal(err)
	}
	h := password.New()
	svc, err := New(Options{SyncMail: true, Identity: id, Hasher: h})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := &identity.Credential{Application: "a", Environment: identity.Production,
		TenantPermissions: []identity.TenantPermission{{Tenant: "*", AllowedActions: []string{"*"}}}}
	if _, err := svc.CreateTenant(ctx, c, TenantInput{Name: "default"}); err != nil {
		t.Fatal(err)
	}
	p, err := svc.CreateProfile(ctx, c, NewProfile{Tenant: "default", Username: "admin", Email: "admin@example.com", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	// Import the Crafter hash of "admin".
	err = id.Update(ctx, func(tx *identity.Txn) error {
		u, err := tx.UserByObjectID(p.ID)
		if err != nil {
			return err
		}
		n := identity.CloneUser(u)
		n.PasswordHash = "4rQ8a67wAk1GRwIqHix5kYw1MORa49o83Y7zXQhBqT0=|j4vsWtPbYjO3LfSiQcnGlw=="
		return tx.ReplaceUser(u, n)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, c, "default", "admin", "admin"); err != nil {
		t.Fatal(err)
	}
	var hash string
	_ = id.View(ctx, func(tx *identity.ReadTxn) error {
		u, _ := tx.UserByObjectID(p.ID)
		hash = u.PasswordHash
		return nil
	})
	if !bytes.HasPrefix([]byte(hash), []byte("$argon2id$")) {
		t.Fatalf("legacy hash not upgraded: %q", hash)
	}
	if _, err := svc.Authenticate(ctx, c, "default", "admin", "admin"); err != nil {
		t.Fatalf("login with the upgraded hash: %v", err)
	}
	if _, err := svc.Authenticate(ctx, c, "default", "admin", "nope"); ErrorOf(err).Code != CodeBadCredentials {
		t.Fatalf("wrong password: %v", err)
	}
}

type busyHasher struct{ fakeHasher }

func (b *busyHasher) Verify(context.Context, string, string) (bool, bool, error) {
	return false, false, identity.ErrBusy
}

// TestBusyHasher: a full hasher answers 429 and does not count a failure.
func TestBusyHasher(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	p := e.profile("acme", "alice", nil)
	busy, _ := New(Options{Identity: e.id, Hasher: &busyHasher{}})
	defer busy.Close()
	e.h = busy.Handler()
	for i := 0; i < 12; i++ {
		if r := e.login("alice", "pw-alice"); r.status != 429 {
			t.Fatalf("busy hasher: %d %s", r.status, r.body)
		}
	}
	e.h = e.svc.Handler()
	if r := e.login("alice", "pw-alice"); r.status != 200 {
		t.Fatalf("after 12 busy answers the account is locked: %d %s", r.status, r.body)
	}
	_ = p
}

// TestAuthenticateEmptyOrUnknown: Crafter's login form sends a blank field
// as "password=" and its security provider moves to its next tenant only
// on 401. An empty username or password, or a tenant that does not exist,
// is 401 BAD_CREDENTIALS (Crafter looks the profile up by tenant and
// username and finds none), writes nothing and counts no failure; only an
// absent parameter is 400.
func TestAuthenticateEmptyOrUnknown(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	e.profile("acme", "alice", nil)
	nopw := e.profile("acme", "nopw", url.Values{"password": nil})
	if nopw.ID == "" {
		t.Fatal("profile without password not created")
	}
	tests := []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"empty password", url.Values{"tenantName": {"acme"}, "username": {"alice"}, "password": {""}}, 401, CodeBadCredentials},
		{"empty password, no password set", url.Values{"tenantName": {"acme"}, "username": {"nopw"}, "password": {""}}, 401, CodeBadCredentials},
		{"empty username", url.Values{"tenantName": {"acme"}, "username": {""}, "password": {"pw-alice"}}, 401, CodeBadCredentials},
		{"both empty", url.Values{"tenantName": {"acme"}, "username": {""}, "password": {""}}, 401, CodeBadCredentials},
		{"unknown tenant", url.Values{"tenantName": {"nosuch"}, "username": {"alice"}, "password": {"pw-alice"}}, 401, CodeBadCredentials},
		{"tenant name no tenant can have", url.Values{"tenantName": {"-Bad-"}, "username": {"alice"}, "password": {"pw-alice"}}, 401, CodeBadCredentials},
		{"password absent", url.Values{"tenantName": {"acme"}, "username": {"alice"}}, 400, CodeOther},
		{"username absent", url.Values{"tenantName": {"acme"}, "password": {"pw-alice"}}, 400, CodeOther},
		{"tenant empty", url.Values{"tenantName": {""}, "username": {"alice"}, "password": {"pw-alice"}}, 400, CodeOther},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, e)
			r := e.do("POST", "/api/1/authentication/authenticate.json", e.master, tc.form)
			if r.status != tc.status || r.code() != tc.code {
				t.Fatalf("%d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
			if after := snapshot(t, e); strings.Join(after, "\n") != strings.Join(before, "\n") {
				t.Fatal("a refused login changed the store")
			}
		})
	}
	// None of them counted: nine wrong passwords still do not lock alice.
	for i := range 9 {
		if r := e.login("alice", "wrong"); r.status != 401 {
			t.Fatalf("wrong password %d: %d %s", i+1, r.status, r.body)
		}
	}
	if r := e.login("alice", "pw-alice"); r.status != 200 {
		t.Fatalf("right password after 9 failures: %d %s", r.status, r.body)
	}
	// A token limited to another tenant learns nothing about this one.
	other := e.token(identity.Credential{Application: "app",
		TenantPermissions: []identity.TenantPermission{{Tenant: "other", AllowedActions: []string{"MANAGE_TICKETS"}}}})
	for _, tenant := range []string{"acme", "nosuch"} {
		r := e.do("POST", "/api/1/authentication/authenticate.json", other,
			url.Values{"tenantName": {tenant}, "username": {"alice"}, "password": {""}})
		if r.status != 403 || r.code() != CodeActionDenied {
			t.Fatalf("token of another tenant, tenant %s: %d %s", tenant, r.status, r.body)
		}
	}
}

// TestLimitedMasterCannotManageTokens (the attacker's test): access tokens
// reach every tenant and their ids are their secrets (the host's master
// credential's among them), so only a master token over every tenant and
// action manages them (identity.Credential.MasterOverAll). A master token
// limited to one tenant, or to some actions, could list them all and mint
// a wider one; now each access-token route is 403 ACTION_DENIED to it and
// nothing changes.
func TestLimitedMasterCannotManageTokens(t *testing.T) {
	e := newEnv(t)
	e.tenant("alpha")
	e.tenant("beta")
	limited := map[string]string{
		"one tenant": e.token(identity.Credential{Application: "alpha-master", Master: true,
			TenantPermissions: []identity.TenantPermission{{Tenant: "alpha", AllowedActions: []string{"*"}}}}),
		"some actions": e.token(identity.Credential{Application: "reader-master", Master: true,
			TenantPermissions: []identity.TenantPermission{{Tenant: "*", AllowedActions: []string{"READ_TENANT"}}}}),
	}
	before := snapshot(t, e)
	for name, tok := range limited {
		for _, r := range []resp{
			e.do("GET", "/api/1/access_token/all.json", tok, nil),
			e.do("GET", "/api/1/access_token/"+url.PathEscape(e.master)+".json", tok, nil),
			e.doJSON("/api/1/access_token/create.json", tok, map[string]any{"application": "wider", "master": true,
				"tenantPermissions": []map[string]any{{"tenant": "*", "allowedActions": []string{"*"}}}}, nil),
			e.do("POST", "/api/1/access_token/"+url.PathEscape(e.master)+"/delete.json", tok, nil),
		} {
			if r.status != 403 || r.code() != CodeActionDenied || strings.Contains(string(r.body), e.master) {
				t.Errorf("%s: %d %s", name, r.status, r.body)
			}
		}
	}
	if after := snapshot(t, e); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Fatal("a refused request changed the store")
	}
	if r := e.do("GET", "/api/1/access_token/all.json", e.master, nil); r.status != 200 {
		t.Fatalf("the full master: %d %s", r.status, r.body)
	}
}

// TestDisableEndsSessions (the attacker's test): disabling a profile
// through the Crafter API ends its tickets and persistent logins, as the
// core's rule for every face says (identity.Txn.ReplaceUser); enabling it
// again brings none back. Before, both stayed usable while the profile
// was disabled, and everything came back on enable.
func TestDisableEndsSessions(t *testing.T) {
	for _, disable := range []string{"disable", "update"} {
		t.Run(disable, func(t *testing.T) {
			e := newEnv(t)
			e.tenant("acme")
			p := e.profile("acme", "alice", nil)
			var tk Ticket
			e.mustOK(e.login("alice", "pw-alice")).json(t, &tk)
			var pl PersistentLogin
			e.mustOK(e.do("POST", "/api/1/authentication/persistent_login/create.json", e.master, url.Values{"profileId": {p.ID}})).json(t, &pl)
			if disable == "disable" {
				e.mustOK(e.do("POST", "/api/1/profile/"+p.ID+"/disable", e.master, nil))
			} else {
				e.mustOK(e.do("POST", "/api/1/profile/"+p.ID+"/update", e.master, url.Values{"enabled": {"false"}}))
			}
			e.mustOK(e.do("POST", "/api/1/profile/"+p.ID+"/enable", e.master, nil))
			if r := e.do("GET", "/api/1/authentication/ticket/"+tk.ID+".json", e.master, nil); r.status != 404 {
				t.Errorf("ticket after disable and enable: %d %s", r.status, r.body)
			}
			if r := e.do("POST", "/api/1/authentication/persistent_login/"+pl.ID+"/refresh_token", e.master, nil); r.status != 404 {
				t.Errorf("persistent login after disable and enable: %d %s", r.status, r.body)
			}
		})
	}
}
