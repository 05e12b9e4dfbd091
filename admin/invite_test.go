package admin_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

var reInviteLink = regexp.MustCompile(`http://[^\s]+/invitation/[A-Za-z0-9_-]{43}`)

// follow opens an invitation link in a fresh browser, confirms it and
// returns the browser and the confirmation's answer.
func (h *harness) follow(link string) (*http.Client, resp) {
	h.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	b := &browser{h: h, c: c}
	page := b.get(link)
	m := reProvCSRF.FindStringSubmatch(page.body)
	if page.status != http.StatusOK || m == nil {
		h.t.Fatalf("invitation page: %d %s", page.status, page.body)
	}
	return c, b.post(link, url.Values{"csrf_token": {m[1]}})
}

// TestInviteFromUserPages: the user page mails an invitation through the
// provider with the member's scoped service: the link signs the user in
// once (the provider's session then answers an application's sign-in
// without a prompt), the event names the member; the new-user form
// creates and invites at once; a landing application is offered and
// checked by the core; a disabled user, another organization's user, a
// viewer and a spent send budget are refused and mail nothing.
func TestInviteFromUserPages(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	b, admin := h.member(identity.ConsoleAdmin, "alpha")
	u := "/orgs/alpha/users/" + h.alphaU.ID
	if r := b.get(u); !strings.Contains(r.body, u+"/invite") || strings.Contains(r.body, `name="client_id"`) {
		t.Fatalf("user page: no invite button, or a landing choice without a landing: %s", r.body)
	}
	r := b.postCSRF(u+"/invite", nil)
	if r.status != http.StatusSeeOther || !strings.HasSuffix(r.header.Get("Location"), "?done=users.invite.sent") {
		t.Fatalf("invite: %d %s", r.status, r.body)
	}
	m := h.mailTo("jane@alpha.test")
	if m == nil {
		t.Fatal("no invitation mail")
	}
	link := reInviteLink.FindString(m.Text)
	if !strings.HasPrefix(link, h.base+"/t/alpha/invitation/") {
		t.Fatalf("mail text: %s", m.Text)
	}
	ev, _ := h.ids.ListEvents(ctx, "alpha", identity.EventFilter{Code: identity.EventUserInvited}, identity.PageRequest{})
	if ev.Total != 1 || ev.Items[0].ActorID != admin.ID || ev.Items[0].ResourceOwnerID != h.alphaU.ID {
		t.Fatalf("USER_INVITED events = %+v", ev.Items)
	}
	c, done := h.follow(link)
	if done.status != http.StatusOK || !strings.Contains(done.body, "jane@alpha.test") {
		t.Fatalf("accept: %d %s", done.status, done.body)
	}
	q := url.Values{"response_type": {"code"}, "client_id": {h.alphaApp.ClientID}, "redirect_uri": {"https://alpha.test/cb"},
		"scope": {"openid email"}, "state": {"s1"}, "prompt": {"none"}}
	res, err := c.Get(h.base + "/t/alpha/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc, _ := url.Parse(res.Header.Get("Location")); loc == nil || loc.Host != "alpha.test" || loc.Query().Get("code") == "" {
		t.Fatalf("prompt=none after the invitation: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if r := b.get(link); r.status != http.StatusBadRequest {
		t.Errorf("used link: %d", r.status)
	}

	// A landing application is offered; the core refuses another
	// organization's.
	for _, a := range []*identity.Application{h.alphaApp, h.betaApp} {
		origin := "https://" + strings.TrimSuffix(a.Name, " web") + ".test"
		if _, err := h.ids.UpdateApplication(ctx, strings.TrimSuffix(a.Name, " web"), a.ClientID, func(a *identity.Application) error {
			a.AllowedWebOrigins, a.DefaultWebOrigin = []string{origin}, origin
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if r := b.get(u); !strings.Contains(r.body, `<option value="`+h.alphaApp.ClientID+`">`) || strings.Contains(r.body, h.betaApp.ClientID) {
		t.Fatalf("landing choice: %s", r.body)
	}
	off, err := h.ids.CreateUser(ctx, "alpha", identity.User{Email: "off@alpha.test", Enabled: false}, "")
	if err != nil {
		t.Fatal(err)
	}
	v, _ := h.member(identity.ConsoleViewer, "alpha")
	before := h.state()
	if r := b.postCSRF(u+"/invite", url.Values{"client_id": {h.betaApp.ClientID}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("beta's application as landing: %d", r.status)
	}
	// Another organization's user, by either path, and a user of alpha
	// disabled: refused, nothing mailed.
	for _, p := range []string{"/orgs/beta/users/" + h.betaU.ID + "/invite", "/orgs/alpha/users/" + h.betaU.ID + "/invite"} {
		if r := b.postCSRF(p, nil); r.status != http.StatusNotFound {
			t.Errorf("POST %s: %d", p, r.status)
		}
	}
	offPath := "/orgs/alpha/users/" + off.ID
	if r := b.get(offPath); r.status != http.StatusOK || strings.Contains(r.body, offPath+"/invite") {
		t.Errorf("disabled user's page offers an invitation: %d", r.status)
	}
	if r := b.postCSRF(offPath+"/invite", nil); r.status != http.StatusConflict {
		t.Errorf("disabled user: %d", r.status)
	}
	// A viewer sees no button and is refused.
	if r := v.get(u); r.status != http.StatusOK || strings.Contains(r.body, "/invite") || strings.Contains(r.body, `name="client_id"`) {
		t.Errorf("viewer's user page: %d", r.status)
	}
	if r := v.postCSRF(u+"/invite", nil); r.status != http.StatusForbidden {
		t.Errorf("viewer POST: %d", r.status)
	}
	if after := h.state(); after != before {
		t.Errorf("refused invitations changed the directory:\n%s\n%s", before, after)
	}
	if h.mailTo("jane@beta.test") != nil || h.mailTo("off@alpha.test") != nil {
		t.Error("a refused invitation was mailed")
	}

	// Create and invite at once, landing in alpha's application.
	if r := b.get("/orgs/alpha/users/new"); !strings.Contains(r.body, `name="invite"`) || !strings.Contains(r.body, h.alphaApp.ClientID) {
		t.Fatalf("new-user form: %s", r.body)
	}
	r = b.postCSRF("/orgs/alpha/users", url.Values{"email": {"new@alpha.test"}, "invite": {"on"}, "client_id": {h.alphaApp.ClientID}})
	if r.status != http.StatusSeeOther || !strings.HasSuffix(r.header.Get("Location"), "?done=users.invite.created") {
		t.Fatalf("create and invite: %d %s", r.status, r.body)
	}
	m = h.mailTo("new@alpha.test")
	if m == nil {
		t.Fatal("no mail to the new user")
	}
	if _, done := h.follow(reInviteLink.FindString(m.Text)); done.status != http.StatusSeeOther ||
		done.header.Get("Location") != "https://alpha.test" {
		t.Errorf("landing: %d %q", done.status, done.header.Get("Location"))
	}

	// A landing the core refuses: the user is created, the page says no
	// invitation was sent, and none is.
	r = b.postCSRF("/orgs/alpha/users", url.Values{"email": {"late@alpha.test"}, "invite": {"on"}, "client_id": {h.betaApp.ClientID}})
	if r.status != http.StatusSeeOther || !strings.HasSuffix(r.header.Get("Location"), "?done=users.invite.notsent") {
		t.Errorf("create with a refused landing: %d %s", r.status, r.header.Get("Location"))
	}
	if _, err := h.ids.GetUserByEmail(ctx, "alpha", "late@alpha.test"); err != nil {
		t.Errorf("the user was not created: %v", err)
	}
	if h.mailTo("late@alpha.test") != nil {
		t.Error("a refused invitation was mailed")
	}

	// The address's send budget: a burst, then 429.
	busy := false
	for i := 0; i < 10 && !busy; i++ {
		r := b.postCSRF(u+"/invite", nil)
		busy = r.status == http.StatusTooManyRequests
		if !busy && r.status != http.StatusSeeOther {
			t.Fatalf("invite %d: %d", i, r.status)
		}
	}
	if !busy {
		t.Error("ten invitations in a row were all sent")
	}
}

// TestUserSearchByMetaData: the users list finds users by a MetaData
// key=value through the core's search (identity.UserSearch.MetaKey), with
// the text query as a further condition, and keeps the condition in the
// next page's link; a condition without "=" is the field's 400.
func TestUserSearchByMetaData(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if _, err := h.ids.CreateMetaKey(ctx, "alpha", "plan", identity.MetaString, false); err != nil {
		t.Fatal(err)
	}
	if _, err := h.ids.SetUserMetadata(ctx, "alpha", h.alphaU.ID, "plan", "gold"); err != nil {
		t.Fatal(err)
	}
	for i, plan := range []string{"silver", "gold", "golden"} {
		if _, err := h.ids.CreateUser(ctx, "alpha", identity.User{Email: "u" + string(rune('a'+i)) + "@alpha.test", Enabled: true,
			Attributes: map[string]any{"plan": plan}}, ""); err != nil {
			t.Fatal(err)
		}
	}
	b := h.signedIn(h.owner.UserID)
	for _, c := range []struct {
		query      string
		want, nope []string
	}{
		{"meta=plan%3Dgold", []string{"jane@alpha.test", "ub@alpha.test"}, []string{"ua@", "uc@"}},
		{"meta=plan%3Dgold&q=jane", []string{"jane@alpha.test"}, []string{"ua@", "ub@", "uc@"}},
		{"meta=plan%3Dplatinum", nil, []string{"jane@", "ua@", "ub@", "uc@"}},
	} {
		r := b.get("/orgs/alpha/users?" + c.query)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d", c.query, r.status)
		}
		for _, w := range c.want {
			if !strings.Contains(r.body, w) {
				t.Errorf("%s: %s missing", c.query, w)
			}
		}
		for _, w := range c.nope {
			if strings.Contains(r.body, w) {
				t.Errorf("%s: %s found", c.query, w)
			}
		}
	}
	if r := b.get("/orgs/alpha/users?meta=plan%3Dgold&q=a"); !strings.Contains(r.body, `value="plan=gold"`) {
		t.Errorf("the condition is not kept in the form: %s", r.body)
	}
	// The next page keeps the condition.
	for i := 0; i < 25; i++ {
		if _, err := h.ids.CreateUser(ctx, "alpha", identity.User{Email: "g" + string(rune('a'+i)) + "@alpha.test", Enabled: true,
			Attributes: map[string]any{"plan": "gold"}}, ""); err != nil {
			t.Fatal(err)
		}
	}
	if r := b.get("/orgs/alpha/users?meta=plan%3Dgold"); !strings.Contains(r.body, "meta=plan%3dgold&amp;after=") {
		t.Errorf("next page link without the condition: %s", r.body)
	}
	if r := b.get("/orgs/alpha/users?meta=plan"); r.status != http.StatusBadRequest || !strings.Contains(r.body, `id="e-meta"`) {
		t.Errorf("meta without =: %d %s", r.status, r.body)
	}
}
