package provider

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/tokens"
)

var (
	reResetLink = regexp.MustCompile(`(http://[^\s]+/t/[a-z0-9-]+/password-reset/[A-Za-z0-9_-]{43})`)
	// reVolatile matches what differs between two renderings of one page:
	// field values (CSRF token, request id, typed email) and nonces.
	reVolatile = regexp.MustCompile(`value="[^"]*"|nonce-[^']+'|nonce="[^"]*"`)
)

// askReset opens the login page in c, follows "forgot password" and asks
// a reset for email; it returns the answer.
func (e *env) askReset(c *http.Client, email string) *resp {
	e.t.Helper()
	action, csrf, request, page := e.openLogin(c, nil)
	if !strings.Contains(page.body, `value="forgot"`) {
		e.t.Fatalf("no forgot-password button on the login page: %s", page.body)
	}
	forgot := e.postForm(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {"forgot"},
		"email": {email}})
	if forgot.status != http.StatusOK || !strings.Contains(forgot.body, `value="forgot_send"`) {
		e.t.Fatalf("forgot page: %d %s", forgot.status, forgot.body)
	}
	action, csrf, request = form(e.t, forgot.body)
	return e.postForm(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {"forgot_send"},
		"email": {email}})
}

// resetLink returns the link of the next mail, which must be a reset mail.
func (e *env) resetLink() string {
	e.t.Helper()
	m := e.takeMail()
	link := reResetLink.FindString(m.Text)
	if link == "" || !strings.Contains(m.HTML, link) || m.To[0] != userEmail {
		e.t.Fatalf("no reset link in mail to %v: %s", m.To, m.Text)
	}
	return link
}

func (e *env) setPassword(c *http.Client, link, pw, again string) *resp {
	e.t.Helper()
	page := e.get(c, link)
	if page.status != http.StatusOK {
		return page
	}
	action, csrf, _ := form(e.t, page.body)
	return e.postForm(c, e.base+action, url.Values{"csrf_token": {csrf}, "password": {pw}, "password2": {again}})
}

// TestForgotPassword: the whole path, from the login page's link to a
// sign-in with the new password; the link is single use and ends the
// user's sessions.
func TestForgotPassword(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.ids.SetPassword(ctx, e.org.Domain, e.user.ID, "old password 1234"); err != nil {
		t.Fatal(err)
	}
	// A session from before: its refresh token must not survive the reset.
	old := e.spaTokens()
	rt, _ := old["refresh_token"].(string)

	b := e.newBrowser()
	sent := e.askReset(b, userEmail)
	if sent.status != http.StatusOK || !strings.Contains(sent.body, `id="notice"`) ||
		!strings.Contains(sent.body, "we sent it a link to choose a new password") {
		t.Fatalf("reset asked: %d %s", sent.status, sent.body)
	}
	link := e.resetLink()
	if !strings.HasPrefix(link, e.base+"/t/"+e.org.Domain+"/password-reset/") {
		t.Fatalf("link %q not under the base URL", link)
	}
	// Opening the link (a mail scanner) consumes nothing.
	for range 2 {
		page := e.get(e.newBrowser(), link)
		if page.status != http.StatusOK || !strings.Contains(page.body, `autocomplete="new-password"`) ||
			!strings.Contains(page.body, userEmail) || page.header.Get("X-Frame-Options") != "DENY" {
			t.Fatalf("reset page: %d %s", page.status, page.body)
		}
	}
	// CSRF, then mismatched passwords: refused, the link stays live.
	if r := e.postForm(b, link, url.Values{"password": {"x"}, "password2": {"x"}}); r.status != http.StatusForbidden {
		t.Fatalf("reset without CSRF: %d", r.status)
	}
	if r := e.setPassword(b, link, "new password 5678", "new password 5679"); r.status != http.StatusBadRequest ||
		!strings.Contains(r.body, "The two passwords differ") {
		t.Fatalf("different passwords: %d %s", r.status, r.body)
	}
	done := e.setPassword(b, link, "new password 5678", "new password 5678")
	if done.status != http.StatusOK || !strings.Contains(done.body, "Your password was changed. Sign in with it.") ||
		!strings.Contains(done.body, `value="`+userEmail+`"`) {
		t.Fatalf("reset: %d %s", done.status, done.body)
	}
	// Single use.
	if r := e.get(e.newBrowser(), link); r.status != http.StatusBadRequest || !strings.Contains(r.body, "expired or was already used") {
		t.Fatalf("second GET: %d", r.status)
	}
	if r := e.setPassword(b, link, "again 123456789", "again 123456789"); r.status != http.StatusBadRequest {
		t.Fatalf("second use: %d", r.status)
	}
	// The old sessions ended; the sign-in continues on the same page with
	// the new password (and not the old one).
	if r := e.refresh(rt); r.status == http.StatusOK {
		t.Fatal("a refresh token from before the reset still works")
	}
	action, csrf, request := form(t, done.body)
	if r := e.postForm(b, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {"password"},
		"email": {userEmail}, "password": {"old password 1234"}}); r.status != http.StatusUnauthorized {
		t.Fatalf("old password: %d", r.status)
	}
	signed := e.postForm(b, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {"password"},
		"email": {userEmail}, "password": {"new password 5678"}})
	if signed.status != http.StatusSeeOther || signed.location(t).Query().Get("code") == "" {
		t.Fatalf("sign-in with the new password: %d %s", signed.status, signed.body)
	}
	// Audit: the request and the change.
	for _, code := range []string{identity.EventUserPasswordReset, identity.EventUserPasswordChanged} {
		p, err := e.ids.ListEvents(ctx, e.org.Domain, identity.EventFilter{Code: code}, identity.PageRequest{})
		if err != nil || len(p.Items) == 0 || p.Items[0].ResourceOwnerID != e.user.ID {
			t.Fatalf("no %s event: %v %+v", code, err, p)
		}
	}
}

// TestForgotPasswordElsewhere: a link opened in another browser ends on a
// page saying the password changed; French pages and mails.
func TestForgotPasswordElsewhere(t *testing.T) {
	e := newEnv(t)
	c := e.newBrowser()
	_, ch := pkce("a")
	page := e.get(c, e.spaAuthorize(ch, url.Values{"ui_locales": {"fr"}}))
	action, csrf, request := form(t, page.body)
	if !strings.Contains(page.body, "Mot de passe oublié ?") {
		t.Fatalf("French login page lacks the link: %s", page.body)
	}
	r := e.postForm(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {"forgot_send"},
		"email": {userEmail}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "nous lui avons envoyé un lien") {
		t.Fatalf("French reset: %d %s", r.status, r.body)
	}
	m := e.takeMail()
	if !strings.Contains(m.Subject, "Réinitialisez") {
		t.Fatalf("French mail subject %q", m.Subject)
	}
	link := reResetLink.FindString(m.Text)
	done := e.setPassword(e.newBrowser(), link, "brand new password", "brand new password")
	if done.status != http.StatusOK || !strings.Contains(done.body, "Go back to the application and sign in") {
		t.Fatalf("reset elsewhere: %d %s", done.status, done.body)
	}
}

// TestForgotPasswordUnknownEmailAnswersAlike: an unknown address gets the
// same page and cookie as a known one, and no mail.
func TestForgotPasswordUnknownEmailAnswersAlike(t *testing.T) {
	e := newEnv(t)
	known := e.askReset(e.newBrowser(), userEmail)
	if n := e.mailCount(); n != 1 {
		t.Fatalf("%d mails for a known address", n)
	}
	e.takeMail()
	for _, email := range []string{"ghost@acme.test", "someone@elsewhere.test"} {
		unknown := e.askReset(e.newBrowser(), email)
		if unknown.status != known.status || reVolatile.ReplaceAllString(unknown.body, "") != reVolatile.ReplaceAllString(known.body, "") {
			t.Fatalf("%s answered differently:\n%s\n----\n%s", email, unknown.body, known.body)
		}
		if (unknown.header.Get("Set-Cookie") == "") != (known.header.Get("Set-Cookie") == "") {
			t.Fatalf("%s: cookies differ", email)
		}
		if n := e.mailCount(); n != 0 {
			t.Fatalf("%d mails for %s", n, email)
		}
	}
}

// TestForgotPasswordExpiry: an expired link is refused, and stays refused.
func TestForgotPasswordExpiry(t *testing.T) {
	e := newEnv(t)
	e.askReset(e.newBrowser(), userEmail)
	link := e.resetLink()
	e.clock.Advance(identity.DefaultPasswordResetTTL + 1)
	if r := e.get(e.newBrowser(), link); r.status != http.StatusBadRequest {
		t.Fatalf("expired link GET: %d", r.status)
	}
	b := e.newBrowser()
	csrf := e.csrfOf(b)
	for range 2 {
		if r := e.postForm(b, link, url.Values{"csrf_token": {csrf}, "password": {"late password 123"},
			"password2": {"late password 123"}}); r.status != http.StatusBadRequest {
			t.Fatalf("expired link POST: %d %s", r.status, r.body)
		}
	}
	u, _ := e.ids.GetUser(context.Background(), e.org.Domain, e.user.ID)
	if u.PasswordHash != "" {
		t.Fatal("an expired link set a password")
	}
}

// csrfOf gives browser c a CSRF cookie (from a login page) and returns it.
func (e *env) csrfOf(c *http.Client) string {
	e.t.Helper()
	_, csrf, _, _ := e.openLogin(c, nil)
	return csrf
}

// TestForgotPasswordBudget: the identity core's send budget per address
// bounds reset mails (shared with magic links): after the burst, the same
// client is refused until the cooldown.
func TestForgotPasswordBudget(t *testing.T) {
	e := newEnv(t)
	for i := range identity.DefaultCodeSendBurst {
		if r := e.askReset(e.newBrowser(), userEmail); r.status != http.StatusOK {
			t.Fatalf("send %d: %d", i+1, r.status)
		}
	}
	r := e.askReset(e.newBrowser(), userEmail)
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many attempts") {
		t.Fatalf("send beyond the budget: %d %s", r.status, r.body)
	}
	if n := e.mailCount(); n != identity.DefaultCodeSendBurst {
		t.Fatalf("%d mails sent, want %d", n, identity.DefaultCodeSendBurst)
	}
	e.clock.Advance(identity.DefaultCodeSendCooldown + 1)
	if r := e.askReset(e.newBrowser(), userEmail); r.status != http.StatusOK {
		t.Fatalf("after the cooldown: %d", r.status)
	}
}

// TestForgotPasswordOnlyWithPasswords: without a password hasher the
// login page has no forgot-password path.
func TestForgotPasswordOnlyWithPasswords(t *testing.T) {
	e := newEnv(t)
	e.prov.ids = e.ids.WithHasher(nil)
	c := e.newBrowser()
	action, csrf, request, page := e.openLogin(c, nil)
	if strings.Contains(page.body, `value="forgot"`) {
		t.Fatal("forgot-password link without passwords")
	}
	for _, a := range []string{"forgot", "forgot_send"} {
		r := e.postForm(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {a},
			"email": {userEmail}})
		if r.status != http.StatusBadRequest {
			t.Fatalf("action %s without passwords: %d", a, r.status)
		}
	}
	if n := e.mailCount(); n != 0 {
		t.Fatalf("%d mails", n)
	}
}

// TestForgotPasswordUnderPrefix: mounted under a path, the reset mail's
// link, the forms and the cookies of the forgot-password path lie under
// the base URL, and following them resets the password and continues the
// sign-in, in both environments' trees.
func TestForgotPasswordUnderPrefix(t *testing.T) {
	for _, env := range []identity.Environment{identity.Production, identity.Sandbox} {
		t.Run(string(env), func(t *testing.T) {
			e := newPrefixEnv(t, "/auth")
			app := e.spa
			if env == identity.Sandbox {
				app = e.sbSPA
			}
			svc, err := e.ids.ForEnvironment(env)
			if err != nil {
				t.Fatal(err)
			}
			if u, err := svc.GetUserByEmail(context.Background(), e.org.Domain, userEmail); err != nil || !u.Enabled {
				t.Fatalf("user in %s: %v", env, err)
			}
			_, challenge := pkce("r")
			authURL := e.base + tokens.EnvironmentPath(env) + "/t/" + e.org.Domain + "/authorize?" + url.Values{
				"response_type": {"code"}, "client_id": {app.ClientID}, "redirect_uri": {spaRedirect}, "scope": {"openid"},
				"code_challenge": {challenge}, "code_challenge_method": {"S256"}}.Encode()
			c := e.browser()
			page := e.call(c, "GET", authURL, nil)
			action, csrf, request := form(t, page.body)
			sent := e.call(c, "POST", abs(t, authURL, action), url.Values{"csrf_token": {csrf}, "request": {request},
				"action": {"forgot_send"}, "email": {userEmail}})
			if sent.status != http.StatusOK || !strings.Contains(sent.body, `id="notice"`) {
				t.Fatalf("reset asked: %d %s", sent.status, sent.body)
			}
			_ = e.prov.Close()
			e.mu.Lock()
			link := ""
			if len(e.mails) > 0 {
				link = reResetLink.FindString(e.mails[len(e.mails)-1].Text)
			}
			e.mu.Unlock()
			if want := e.base + tokens.EnvironmentPath(env) + "/t/" + e.org.Domain + "/password-reset/"; !strings.HasPrefix(link, want) {
				t.Fatalf("reset link %q, want it under %s", link, want)
			}
			rp := e.call(c, "GET", link, nil)
			raction, rcsrf, _ := form(t, rp.body)
			if abs(t, link, raction) != link {
				t.Errorf("reset form posts to %q, not to the link %q", raction, link)
			}
			done := e.call(c, "POST", abs(t, link, raction), url.Values{"csrf_token": {rcsrf}, "password": {"prefixed new password"},
				"password2": {"prefixed new password"}})
			if done.status != http.StatusOK || !strings.Contains(done.body, "Your password was changed. Sign in with it.") {
				t.Fatalf("reset: %d %s", done.status, done.body)
			}
			action, csrf, request = form(t, done.body)
			signed := e.call(c, "POST", abs(t, link, action), url.Values{"csrf_token": {csrf}, "request": {request},
				"action": {"password"}, "email": {userEmail}, "password": {"prefixed new password"}})
			if signed.status != http.StatusSeeOther || signed.location(t).Query().Get("code") == "" {
				t.Fatalf("sign-in after the reset: %d %s", signed.status, signed.body)
			}
		})
	}
}
