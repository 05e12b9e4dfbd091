package provider

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
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
