package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/internal/testkit"
)

var reInvite = regexp.MustCompile(`(http://[^\s]+/invitation/[A-Za-z0-9_-]{43})`)

// TestInviteUser: an administrator's invitation is mailed (in the
// locale asked, the link in the environment's tree) with no secret in
// the answer; its GET consumes nothing, its POST needs the CSRF token,
// signs the user in (a browser session that answers prompt=none) and
// works once; the other environment's tree does not know it; a landing
// application sends the browser to its default web origin; a scoped
// service without the users permission sends nothing.
func TestInviteUser(t *testing.T) {
	e := newEnv(t)
	ctx := identity.WithActor(context.Background(), "console-user")
	inv, err := e.prov.InviteUser(ctx, e.ids, identity.InvitationRequest{OrgDomain: e.org.Domain, UserID: e.user.ID,
		ClientAddr: "192.0.2.1"}, "fr")
	if err != nil {
		t.Fatal(err)
	}
	if inv.Token != "" || inv.User.ID != e.user.ID {
		t.Fatalf("invitation = %+v", inv)
	}
	m := e.takeMail()
	link := reInvite.FindString(m.Text)
	if m.To[0] != userEmail || !strings.HasPrefix(link, e.base+"/t/"+e.org.Domain+"/invitation/") ||
		!strings.Contains(m.Subject, "invité") || !strings.Contains(m.HTML, link) {
		t.Fatalf("mail = %q %q", m.Subject, m.Text)
	}
	ev, _ := e.ids.ListEvents(context.Background(), e.org.Domain, identity.EventFilter{Code: identity.EventUserInvited}, identity.PageRequest{})
	if ev.Total != 1 || ev.Items[0].ActorID != "console-user" {
		t.Errorf("events = %+v", ev.Items)
	}
	c := e.newBrowser()
	var csrf string
	for i := 0; i < 2; i++ {
		page := e.get(c, link)
		if page.status != http.StatusOK || !strings.Contains(page.body, userEmail) {
			t.Fatalf("GET %d: %d %s", i, page.status, page.body)
		}
		_, csrf, _ = form(t, page.body)
	}
	if r := e.postForm(c, strings.Replace(link, e.base, e.base+"/sandbox", 1), url.Values{"csrf_token": {csrf}}); r.status != http.StatusBadRequest {
		t.Errorf("sandbox tree: %d", r.status)
	}
	if r := e.postForm(c, link, url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("POST without CSRF: %d", r.status)
	}
	done := e.postForm(c, link, url.Values{"csrf_token": {csrf}})
	if done.status != http.StatusOK || !strings.Contains(done.body, userEmail) {
		t.Fatalf("accept: %d %s", done.status, done.body)
	}
	// The browser is signed in: the application's sign-in needs no prompt.
	_, ch := pkce("i")
	r := e.get(c, e.spaAuthorize(ch, url.Values{"prompt": {"none"}}))
	if loc := r.location(t); loc.Query().Get("code") == "" || loc.Query().Get("state") != "st-1" {
		t.Fatalf("prompt=none after the invitation: %s", loc)
	}
	if r := e.postForm(c, link, url.Values{"csrf_token": {csrf}}); r.status != http.StatusBadRequest {
		t.Errorf("second use: %d", r.status)
	}
	if u, _ := e.ids.GetUser(context.Background(), e.org.Domain, e.user.ID); !u.Verified {
		t.Error("the address is not verified")
	}

	// Landing in an application: its default web origin.
	if _, err := e.ids.UpdateApplication(context.Background(), e.org.Domain, e.web.ClientID, func(a *identity.Application) error {
		a.AllowedWebOrigins, a.DefaultWebOrigin = []string{"https://web.example.test"}, "https://web.example.test"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.prov.InviteUser(ctx, e.ids, identity.InvitationRequest{OrgDomain: e.org.Domain, UserID: e.user.ID,
		ClientID: e.web.ClientID, ClientAddr: "192.0.2.1"}, "en"); err != nil {
		t.Fatal(err)
	}
	link = reInvite.FindString(e.takeMail().Text)
	c = e.newBrowser()
	_, csrf, _ = form(t, e.get(c, link).body)
	if r := e.postForm(c, link, url.Values{"csrf_token": {csrf}}); r.status != http.StatusSeeOther ||
		r.header.Get("Location") != "https://web.example.test" {
		t.Errorf("landing: %d %q", r.status, r.header.Get("Location"))
	}

	// The core's rule applies to the caller's scoped service.
	scoped, err := e.ids.For(identity.Scope{Environment: identity.Production, Orgs: []string{e.org.Domain},
		Permissions: []string{"read:users"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.prov.InviteUser(ctx, scoped, identity.InvitationRequest{OrgDomain: e.org.Domain, UserID: e.user.ID},
		"en"); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("scoped without users: %v", err)
	}
	if n := e.mailCount(); n != 0 {
		t.Errorf("%d mails after a refusal", n)
	}
}

// TestInviteUserSandbox: a sandbox service's invitation links into the
// sandbox tree, where it signs the user in; the production tree does not
// know it.
func TestInviteUserSandbox(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sb, err := e.ids.ForEnvironment(identity.Sandbox)
	if err != nil {
		t.Fatal(err)
	}
	u, err := sb.CreateUser(ctx, e.org.Domain, identity.User{Email: "sandy@acme.test", Enabled: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.prov.InviteUser(ctx, sb, identity.InvitationRequest{OrgDomain: e.org.Domain, UserID: u.ID}, "en"); err != nil {
		t.Fatal(err)
	}
	link := reInvite.FindString(e.takeMail().Text)
	if !strings.HasPrefix(link, e.base+"/sandbox/t/"+e.org.Domain+"/invitation/") {
		t.Fatalf("link %q", link)
	}
	c := e.newBrowser()
	prod := strings.Replace(link, "/sandbox", "", 1)
	if r := e.get(c, prod); r.status != http.StatusBadRequest {
		t.Errorf("production tree: %d", r.status)
	}
	_, csrf, _ := form(t, e.get(c, link).body)
	if r := e.postForm(c, prod, url.Values{"csrf_token": {csrf}}); r.status != http.StatusBadRequest {
		t.Errorf("production tree POST: %d", r.status)
	}
	if r := e.postForm(c, link, url.Values{"csrf_token": {csrf}}); r.status != http.StatusOK || !strings.Contains(r.body, "sandy@acme.test") {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	found := false
	for _, ck := range c.Jar.Cookies(mustURL(e.base + "/")) {
		found = found || ck.Name == sandboxSessionCookie
	}
	if !found {
		t.Error("no sandbox session cookie")
	}
}

// grantsInvitation issues an invitation for a new unverified user of
// e's organization through the core (the token in hand, no mail) and
// returns the user and the link.
func grantsInvitation(t *testing.T, e *grantsEnv, email string) (*identity.User, string) {
	t.Helper()
	ctx := context.Background()
	u, err := e.ids.CreateUser(ctx, e.org.Domain, identity.User{Email: email, Enabled: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := e.ids.InviteUser(ctx, identity.InvitationRequest{OrgDomain: e.org.Domain, UserID: u.ID, ClientAddr: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	return u, e.base + invitationPath(identity.Production, e.org.Domain, inv.Token)
}

// invitationBrowser returns a browser that has opened the link's
// confirmation page, and the page's CSRF token.
func invitationBrowser(t *testing.T, link string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	cs := reCSRF.FindStringSubmatch(string(body))
	if res.StatusCode != http.StatusOK || cs == nil {
		t.Fatalf("confirmation page: %d %s", res.StatusCode, body)
	}
	return c, cs[1]
}

// liveSessions counts the browser sessions of a user in env.
func liveSessions(t *testing.T, ids *identity.Service, env identity.Environment, userID string) int {
	t.Helper()
	n := 0
	err := ids.View(context.Background(), func(tx *identity.ReadTxn) error {
		raw := tx.KV(kv.Inside())
		return userGrants(env, userID).Each(raw, false, func(m string, _ []byte) error {
			id, ok := strings.CutPrefix(m, "s:")
			if !ok {
				return nil
			}
			live, err := sessions.Exists(raw, id)
			if live {
				n++
			}
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestInvitationSessionWriteFails: when the browser session cannot be
// written, the acceptance is rolled back with it (one transaction): the
// answer is 503, the link is still usable, nobody is signed in, the
// address is not verified and nothing is audited; once the store works,
// the same link signs the user in.
func TestInvitationSessionWriteFails(t *testing.T) {
	e := newGrantsEnv(t, true)
	ctx := context.Background()
	u, link := grantsInvitation(t, e, "invitee@acme.test")
	c, csrf := invitationBrowser(t, link)
	prefix := sessions.Key("")
	refuse := func(key []byte) bool { return bytes.HasPrefix(key, prefix) }
	e.store.refuse.Store(&refuse)
	res, err := formPost(c, link, url.Values{"csrf_token": {csrf}})
	e.store.refuse.Store(nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("POST with a failing session write: %d, want 503", res.StatusCode)
	}
	for _, ck := range res.Cookies() {
		if ck.Name == sessionCookie && ck.MaxAge >= 0 {
			t.Errorf("a session cookie was set: %v", ck)
		}
	}
	if n := liveSessions(t, e.ids, identity.Production, u.ID); n != 0 {
		t.Errorf("%d sessions after the failure", n)
	}
	if now, _ := e.ids.GetUser(ctx, e.org.Domain, u.ID); now.Verified {
		t.Error("the address was verified by a failed acceptance")
	}
	ev, _ := e.ids.ListEvents(ctx, e.org.Domain, identity.EventFilter{Code: identity.EventUserInvitationAccepted}, identity.PageRequest{})
	if ev.Total != 0 {
		t.Errorf("a failed acceptance was audited: %+v", ev.Items)
	}
	// The link is still usable, in the same browser.
	res, err = formPost(c, link, url.Values{"csrf_token": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("the link after the failure: %d, want 200", res.StatusCode)
	}
	if n := liveSessions(t, e.ids, identity.Production, u.ID); n != 1 {
		t.Errorf("%d sessions after the acceptance, want 1", n)
	}
	if now, _ := e.ids.GetUser(ctx, e.org.Domain, u.ID); !now.Verified {
		t.Error("the address is not verified")
	}
}

// TestInvitationConcurrentAccept: one link posted by several browsers at
// once on the bolt store (whose group commit runs concurrent writes in
// one transaction): exactly one is signed in, with exactly one session;
// the others are told the link is gone.
func TestInvitationConcurrentAccept(t *testing.T) {
	e := newGrantsEnv(t, true)
	for round := range 3 {
		u, link := grantsInvitation(t, e, fmt.Sprintf("race%d@acme.test", round))
		const n = 8
		clients, csrfs := make([]*http.Client, n), make([]string, n)
		for i := range n {
			clients[i], csrfs[i] = invitationBrowser(t, link)
		}
		status := make([]int, n)
		testkit.AtOnce(n, func(i int) {
			res, err := formPost(clients[i], link, url.Values{"csrf_token": {csrfs[i]}})
			if err != nil {
				t.Error(err)
				return
			}
			status[i] = res.StatusCode
		})
		won := 0
		for i, st := range status {
			switch st {
			case http.StatusOK:
				won++
			case http.StatusBadRequest:
			default:
				t.Errorf("round %d: POST %d: %d", round, i, st)
			}
		}
		if won != 1 {
			t.Errorf("round %d: %d browsers signed in with one link, want 1", round, won)
		}
		if s := liveSessions(t, e.ids, identity.Production, u.ID); s != 1 {
			t.Errorf("round %d: %d sessions, want 1", round, s)
		}
	}
}

// TestInvitationWrites guards the durable commits of an invitation's
// use on the bolt store: its confirmation page (GET) writes nothing, and
// its acceptance (POST: the token consumed, the address verified, the
// USER_INVITATION_ACCEPTED event and the browser session) is one write
// transaction.
func TestInvitationWrites(t *testing.T) {
	e := newGrantsEnv(t, true)
	u, link := grantsInvitation(t, e, "counted@acme.test")
	w0 := e.store.updates.Load()
	c, csrf := invitationBrowser(t, link)
	if n := e.store.updates.Load() - w0; n != 0 {
		t.Errorf("the confirmation page took %d write transactions, want 0", n)
	}
	w0 = e.store.updates.Load()
	res, err := formPost(c, link, url.Values{"csrf_token": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("accept: %d, want 200", res.StatusCode)
	}
	if n := e.store.updates.Load() - w0; n != 1 {
		t.Errorf("an acceptance took %d write transactions, want 1", n)
	}
	if s := liveSessions(t, e.ids, identity.Production, u.ID); s != 1 {
		t.Errorf("%d sessions, want 1", s)
	}
}
