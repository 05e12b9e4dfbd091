package profile

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// TestNoSecretInClearAtRest guards breach 8 of issue 10 on the Crafter
// face: after creating an access token, using the master token and
// opening (and rotating) a persistent login, no secret a client holds
// appears in the store's keys or values, in clear, hex or base64. The
// face still returns them where Crafter's API does.
func TestNoSecretInClearAtRest(t *testing.T) {
	st := memory.New()
	e := newEnvOn(t, st)
	e.tenant("acme")
	p := e.profile("acme", "alice", nil)
	var tok AccessToken
	e.mustOK(e.doJSON("/api/1/access_token/create.json", e.master, map[string]any{"application": "engine",
		"tenantPermissions": []any{map[string]any{"tenant": "*", "allowedActions": []string{"*"}}}}, nil)).json(t, &tok)
	var pl, rotated PersistentLogin
	e.mustOK(e.do("POST", "/api/1/authentication/persistent_login/create.json", tok.ID, url.Values{"profileId": {p.ID}})).json(t, &pl)
	e.mustOK(e.do("POST", "/api/1/authentication/persistent_login/"+pl.ID+"/refresh_token.json", tok.ID, nil)).json(t, &rotated)
	var tk Ticket
	e.mustOK(e.do("POST", "/api/1/authentication/ticket/create.json", tok.ID, url.Values{"profileId": {p.ID}})).json(t, &tk)

	// The face still answers with them.
	var list []AccessToken
	e.mustOK(e.do("GET", "/api/1/access_token/all.json", e.master, nil)).json(t, &list)
	if !listed(list, e.master) || !listed(list, tok.ID) {
		t.Fatalf("access tokens: %+v", list)
	}
	var got PersistentLogin
	e.mustOK(e.do("GET", "/api/1/authentication/persistent_login/"+pl.ID+".json", tok.ID, nil)).json(t, &got)
	if got.Token != rotated.Token {
		t.Fatalf("persistent login token %q, want %q", got.Token, rotated.Token)
	}

	secrets := map[string]string{"master access token": e.master, "access token": tok.ID,
		"persistent login id": pl.ID, "persistent login token": pl.Token, "rotated token": rotated.Token, "ticket": tk.ID}
	err := st.View(context.Background(), func(tx identity.ReadTx) error {
		n := 0
		err := tx.Scan(nil, identity.ScanOptions{}, func(k, v []byte) error {
			n++
			for what, s := range secrets {
				for _, form := range []string{s, hex.EncodeToString([]byte(s)), base64.StdEncoding.EncodeToString([]byte(s))} {
					if bytes.Contains(k, []byte(form)) || bytes.Contains(v, []byte(form)) {
						t.Errorf("the %s is in the store at %q", what, k)
					}
				}
			}
			return nil
		})
		if n < 10 {
			t.Fatalf("the scan saw %d entries", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
