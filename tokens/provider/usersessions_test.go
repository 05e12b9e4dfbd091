package provider

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// signedIn is one browser that signed the user in through the SPA.
type signedIn struct {
	browser  *http.Client
	refresh  string
	access   string
	cookie   string // the browser session cookie
	pending  string // a code obtained with prompt=none and not redeemed
	verifier string
}

func (e *env) signIn(seed string) signedIn {
	e.t.Helper()
	c := e.newBrowser()
	v, ch := pkce(seed)
	loc := e.magicLogin(c, e.spaAuthorize(ch, nil), userEmail)
	tr := e.exchange(loc.Query().Get("code"), v)
	if tr.status != http.StatusOK {
		e.t.Fatalf("token: %d %s", tr.status, tr.body)
	}
	m := tr.json(e.t)
	s := signedIn{browser: c, refresh: m["refresh_token"].(string), access: m["access_token"].(string), verifier: v}
	u, _ := url.Parse(e.base)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == sessionCookie {
			s.cookie = ck.Value
		}
	}
	r := e.get(c, e.spaAuthorize(ch, url.Values{"prompt": {"none"}}))
	if s.pending = r.location(e.t).Query().Get("code"); s.pending == "" || s.cookie == "" || s.refresh == "" {
		e.t.Fatalf("sign-in incomplete: code %q cookie %q refresh %q", s.pending, s.cookie, s.refresh)
	}
	return s
}

// alive reports which of a sign-in's grants still work: its refresh
// token, its browser session (prompt=none) and its pending code.
func (e *env) alive(s signedIn) (refresh, session, code bool) {
	e.t.Helper()
	code = e.exchange(s.pending, s.verifier).status == http.StatusOK
	_, ch := pkce("z")
	r := e.get(s.browser, e.spaAuthorize(ch, url.Values{"prompt": {"none"}}))
	q := r.location(e.t).Query()
	session = q.Get("code") != "" && q.Get("error") == ""
	rr := e.refresh(s.refresh)
	refresh = rr.status == http.StatusOK
	return refresh, session, code
}

// TestPasswordChangeEndsProviderSessions guards breach 4 on the provider:
// a password set by an embedder (identity.Service.SetPassword) or changed
// while signed in ends the refresh families, browser sessions and pending
// codes of the user, except the one session the change names.
func TestPasswordChangeEndsProviderSessions(t *testing.T) {
	cases := []struct {
		name             string
		change           func(e *env, attacker, victim signedIn) error
		victimRefreshes  bool
		victimHasSession bool
	}{
		{"SetPassword ends every session", func(e *env, _, _ signedIn) error {
			_, err := e.ids.SetPassword(context.Background(), e.org.Domain, e.user.ID, "a new passphrase")
			return err
		}, false, false},
		{"a change keeping the refresh token in use", func(e *env, _, v signedIn) error {
			_, err := e.ids.ChangePassword(context.Background(), identity.PasswordChange{OrgDomain: e.org.Domain,
				UserID: e.user.ID, Password: "a new passphrase",
				Keep: identity.SessionRef{Kind: identity.SessionRefreshToken, Hash: identity.HashSecret(v.refresh)}})
			return err
		}, true, false},
		{"a change keeping the browser session in use", func(e *env, _, v signedIn) error {
			_, err := e.ids.ChangePassword(context.Background(), identity.PasswordChange{OrgDomain: e.org.Domain,
				UserID: e.user.ID, Password: "a new passphrase",
				Keep: identity.SessionRef{Kind: identity.SessionBrowser, Hash: identity.HashSecret(v.cookie)}})
			return err
		}, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			attacker, victim := e.signIn("a"), e.signIn("v")
			if err := tc.change(e, attacker, victim); err != nil {
				t.Fatal(err)
			}
			if r, s, c := e.alive(attacker); r || s || c {
				t.Fatalf("attacker after the change: refresh %v, prompt=none %v, pending code %v", r, s, c)
			}
			if act := e.introspect(attacker.access); act["active"] != false {
				t.Fatalf("attacker's access token still active: %v", act)
			}
			r, s, _ := e.alive(victim)
			if r != tc.victimRefreshes || s != tc.victimHasSession {
				t.Fatalf("kept session: refresh %v (want %v), prompt=none %v (want %v)", r, tc.victimRefreshes, s, tc.victimHasSession)
			}
		})
	}
}

// TestPasswordChangeEndsUnindexedFamilies: a refresh family or browser
// session made before grants were indexed by user (an older store) is
// refused after the next password change too.
func TestPasswordChangeEndsUnindexedFamilies(t *testing.T) {
	e := newEnv(t)
	s := e.signIn("o")
	ctx := context.Background()
	if err := e.ids.Update(ctx, func(tx *identity.Txn) error {
		return userGrants(identity.Production, e.user.ID).Clear(tx.KVTx(kv.Inside()))
	}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	if _, err := e.ids.SetPassword(ctx, e.org.Domain, e.user.ID, "a new passphrase"); err != nil {
		t.Fatal(err)
	}
	if r := e.refresh(s.refresh); r.status != http.StatusBadRequest {
		t.Fatalf("unindexed family after the change: %d", r.status)
	}
	_, ch := pkce("z")
	if q := e.get(s.browser, e.spaAuthorize(ch, url.Values{"prompt": {"none"}})).location(t).Query(); q.Get("error") != errLoginRequired {
		t.Fatalf("unindexed browser session after the change: %v", q)
	}
	// A sign-in after the change refreshes.
	e.clock.Advance(time.Second)
	if r := e.refresh(e.signIn("n").refresh); r.status != http.StatusOK {
		t.Fatalf("new sign-in: %d %s", r.status, r.body)
	}
}
