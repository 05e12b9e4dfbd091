package provider

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestIntrospectionFollowsTheUser: introspection, like userinfo and the
// refresh grant, stops vouching for the tokens of a disabled or deleted
// user; disabling ended them, so enabling the user again brings none back
// (whichever face disabled it: here UpdateUser, as Crafter's update does);
// machine tokens (no user) stay active.
func TestIntrospectionFollowsTheUser(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	toks := e.spaTokens()
	at, rt := toks["access_token"].(string), toks["refresh_token"].(string)
	setEnabled := func(on bool) {
		t.Helper()
		if _, err := e.ids.UpdateUser(ctx, e.org.Domain, e.user.ID, func(u *identity.User) error {
			u.Enabled = on
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	want := func(state string, active bool) {
		t.Helper()
		for _, tok := range []string{at, rt} {
			if got := e.introspect(tok)["active"]; got != active {
				t.Fatalf("%s: introspection says active=%v, want %v", state, got, active)
			}
		}
	}
	want("enabled", true)
	setEnabled(false)
	want("disabled", false)
	setEnabled(true)
	want("enabled again", false)
	if _, err := e.ids.DeleteUser(ctx, e.org.Domain, e.user.ID); err != nil {
		t.Fatal(err)
	}
	want("deleted", false)

	auth := url.Values{"client_id": {e.machine.ClientID}, "client_secret": {e.macSecret}}
	form := url.Values{"grant_type": {"client_credentials"}}
	for k, v := range auth {
		form[k] = v
	}
	r := e.postForm(http.DefaultClient, e.issuer()+"/oauth/token", form)
	if r.status != http.StatusOK {
		t.Fatalf("client_credentials: %d %s", r.status, r.body)
	}
	in := url.Values{"token": {r.json(t)["access_token"].(string)}}
	for k, v := range auth {
		in[k] = v
	}
	ans := e.postForm(http.DefaultClient, e.issuer()+"/oauth/introspect", in)
	if ans.status != http.StatusOK || ans.json(t)["active"] != true {
		t.Fatalf("machine token: %d %s", ans.status, ans.body)
	}
}
