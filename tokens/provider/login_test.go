package provider

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/password"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// openLogin opens the SPA's login page in a fresh browser.
func (e *env) openLogin(c *http.Client, extra url.Values) (action, csrf, request string, page *resp) {
	e.t.Helper()
	_, ch := pkce("a")
	page = e.get(c, e.spaAuthorize(ch, extra))
	if page.status != http.StatusOK {
		e.t.Fatalf("login page: %d %s", page.status, page.body)
	}
	action, csrf, request = form(e.t, page.body)
	return
}

func TestLoginPageHeadersAndAccessibility(t *testing.T) {
	e := newEnv(t)
	_, _, _, page := e.openLogin(e.newBrowser(), nil)
	h := page.header
	if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") ||
		!strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("CSP %q", h.Get("Content-Security-Policy"))
	}
	if h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", h)
	}
	for _, want := range []string{`<html lang="en">`, `<label for="email">`, `id="email"`, `type="email"`, "Acme Corp",
		`<label for="password">`, `name="csrf_token"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page.body, "<script") {
		t.Error("the login page must work without JavaScript")
	}
	if strings.Contains(page.body, `value="sso"`) {
		t.Error("SSO button shown without an SSORouter")
	}
	for _, c := range page.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, csrfCookie) && (!strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Lax")) {
			t.Errorf("csrf cookie %q", c)
		}
	}
}

func TestLocales(t *testing.T) {
	e := newEnv(t)
	_, ch := pkce("a")
	fr := e.get(e.newBrowser(), e.spaAuthorize(ch, nil), "Accept-Language", "fr-FR,fr;q=0.9,en;q=0.5")
	if !strings.Contains(fr.body, `lang="fr"`) || !strings.Contains(fr.body, "Adresse e-mail") {
		t.Fatalf("French page expected: %s", fr.body)
	}
	en := e.get(e.newBrowser(), e.spaAuthorize(ch, url.Values{"ui_locales": {"en"}}), "Accept-Language", "fr")
	if !strings.Contains(en.body, `lang="en"`) {
		t.Fatal("ui_locales=en ignored")
	}
	q := url.Values{"client_id": {e.spa.ClientID}, "redirect_uri": {spaRedirect}, "scope": {"openid"},
		"code_challenge_method": {"S256"}, "code_challenge": {ch}}
	era1 := e.get(e.newBrowser(), e.base+"/t/"+e.org.Domain+"/fr/some-state/signin/new?"+q.Encode())
	if era1.status != 200 || !strings.Contains(era1.body, "Connexion") {
		t.Fatalf("era-1 French page: %d", era1.status)
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	c := e.newBrowser()
	action, csrf, request, _ := e.openLogin(c, nil)
	for name, f := range map[string]url.Values{
		"missing": {"request": {request}, "action": {"magic"}, "email": {userEmail}},
		"wrong":   {"csrf_token": {strings.Repeat("A", 43)}, "request": {request}, "action": {"magic"}, "email": {userEmail}},
	} {
		if r := e.postForm(c, e.base+action, f); r.status != http.StatusForbidden {
			t.Errorf("%s token: %d", name, r.status)
		}
	}
	// Another browser (no cookie) with the right token value fails too.
	if r := e.postForm(e.newBrowser(), e.base+action, url.Values{"csrf_token": {csrf}, "request": {request},
		"action": {"magic"}, "email": {userEmail}}); r.status != http.StatusForbidden {
		t.Errorf("cross-browser: %d", r.status)
	}
	if e.mailCount() != 0 {
		t.Fatal("mail sent despite CSRF failure")
	}
}

// TestMagicLinkScanner: GET never consumes the link; the POST does, once.
func TestMagicLinkScanner(t *testing.T) {
	e := newEnv(t)
	c := e.newBrowser()
	action, csrf, request, _ := e.openLogin(c, nil)
	e.postForm(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {"magic"}, "email": {userEmail}})
	m := e.takeMail()
	link := reLink.FindString(m.Text)
	if !strings.Contains(m.HTML, link) || m.From != "login@acme.test" || m.To[0] != userEmail {
		t.Fatalf("mail %+v", m)
	}
	scanner := e.newBrowser()
	for i := 0; i < 3; i++ {
		if r := e.get(scanner, link); r.status != http.StatusOK || r.header.Get("Location") != "" {
			t.Fatalf("GET %d: %d", i, r.status)
		}
	}
	confirm := e.get(c, link)
	_, csrf2, _ := form(t, confirm.body)
	done := e.postForm(c, link, url.Values{"csrf_token": {csrf2}})
	if done.status != http.StatusSeeOther || done.location(t).Query().Get("code") == "" {
		t.Fatalf("POST: %d %s", done.status, done.body)
	}
	again := e.postForm(c, link, url.Values{"csrf_token": {csrf2}})
	if again.status != http.StatusBadRequest || again.header.Get("Location") != "" {
		t.Fatalf("second POST: %d", again.status)
	}
	if r := e.get(scanner, link); r.status != http.StatusBadRequest {
		t.Fatalf("GET after use: %d", r.status)
	}
	// The 6-digit code of the same mail no longer works either.
	digits := reDigits.FindStringSubmatch(m.Text)[1]
	if r := e.postForm(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {"code"},
		"code": {digits}}); r.status == http.StatusSeeOther {
		t.Fatal("code usable after the link")
	}
}

func TestMagicLinkExpiry(t *testing.T) {
	e := newEnv(t)
	c := e.newBrowser()
	action, csrf, request, _ := e.openLogin(c, nil)
	e.postForm(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {"magic"}, "email": {userEmail}})
	link := reLink.FindString(e.takeMail().Text)
	e.clock.Advance(DefaultMagicLinkTTL + time.Second)
	confirm := e.get(c, link)
	if confirm.status != http.StatusBadRequest {
		t.Fatalf("expired link GET: %d", confirm.status)
	}
	if r := e.postForm(c, link, url.Values{"csrf_token": {csrf}}); r.status != http.StatusBadRequest {
		t.Fatalf("expired link POST: %d", r.status)
	}
}

var reHidden = regexp.MustCompile(`value="[A-Za-z0-9_-]{43}"`)

// TestSameAnswerForUnknownEmail: the page is identical (but for the
// per-request secrets) and no mail goes to an unknown address.
func TestSameAnswerForUnknownEmail(t *testing.T) {
	e := newEnv(t)
	send := func(email string) string {
		c := e.newBrowser()
		action, csrf, request, _ := e.openLogin(c, nil)
		r := e.postForm(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {"magic"}, "email": {email}})
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d", email, r.status)
		}
		body := reHidden.ReplaceAllString(r.body, "")
		return regexp.MustCompile(`nonce="[^"]+"`).ReplaceAllString(body, "")
	}
	known := send(userEmail)
	unknown := send("nobody@acme.test")
	otherDomain := send("nobody@elsewhere.test")
	if known != unknown || known != otherDomain {
		t.Fatalf("answers differ:\n%s\n----\n%s", known, unknown)
	}
	if n := e.mailCount(); n != 1 {
		t.Fatalf("%d mails, want 1 (known address only)", n)
	}
	// The code form of an unknown address accepts nothing.
	c := e.newBrowser()
	action, csrf, request, _ := e.openLogin(c, nil)
	e.postForm(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {"magic"}, "email": {"ghost@acme.test"}})
	if r := e.postForm(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {"code"}, "code": {"000000"}}); r.status == http.StatusSeeOther {
		t.Fatal("unknown address signed in")
	}
}

func TestEmailCodeAttempts(t *testing.T) {
	e := newEnv(t)
	c := e.newBrowser()
	action, csrf, request, _ := e.openLogin(c, nil)
	e.postForm(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {"magic"}, "email": {userEmail}})
	digits := reDigits.FindStringSubmatch(e.takeMail().Text)[1]
	wrong := "000000"
	if digits == wrong {
		wrong = "111111"
	}
	post := func(code string) *resp {
		return e.postForm(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {"code"}, "code": {code}})
	}
	for i := 0; i < DefaultMaxCodeAttempts; i++ {
		if r := post(wrong); r.status != http.StatusBadRequest {
			t.Fatalf("wrong code %d: %d", i, r.status)
		}
	}
	if r := post(digits); r.status == http.StatusSeeOther {
		t.Fatal("right code accepted after the attempt limit")
	}
	// A fresh request: the right code signs in, from any device.
	c2 := e.newBrowser()
	action, csrf, request, _ = e.openLogin(c2, nil)
	e.postForm(c2, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {"magic"}, "email": {userEmail}})
	digits = reDigits.FindStringSubmatch(e.takeMail().Text)[1]
	r := e.postForm(c2, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {"code"}, "code": {digits}})
	if r.status != http.StatusSeeOther || r.location(t).Query().Get("code") == "" {
		t.Fatalf("right code: %d %s", r.status, r.body)
	}
}

func TestMagicLinkRateLimits(t *testing.T) {
	burst := identity.DefaultCodeSendBurst
	e := newEnv(t, func(o *Options) { o.AddressSendLimit = burst + 2 })
	send := func(email string) int {
		c := e.newBrowser()
		action, csrf, request, _ := e.openLogin(c, nil)
		return e.postForm(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {"magic"},
			"email": {email}}).status
	}
	for i := 0; i < burst; i++ {
		if s := send(userEmail); s != 200 {
			t.Fatalf("send %d refused: %d", i+1, s)
		}
	}
	if s := send(userEmail); s != http.StatusTooManyRequests {
		t.Fatalf("per-email limit: %d", s)
	}
	if send("a@acme.test") != 200 {
		t.Fatal("other address refused")
	}
	// The client address reached its limit (every attempt counts).
	if s := send("b@acme.test"); s != http.StatusTooManyRequests {
		t.Fatalf("per-address limit: %d", s)
	}
	e.clock.Advance(DefaultRateWindow)
	if send(userEmail) != 200 {
		t.Fatal("limit not reset after the window")
	}
}

func TestPasswordLoginAndLockout(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.ids.SetPassword(ctx, e.org.Domain, e.user.ID, "correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
	try := func(pw string) *resp {
		c := e.newBrowser()
		action, csrf, request, _ := e.openLogin(c, nil)
		return e.postForm(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {"password"},
			"email": {userEmail}, "password": {pw}})
	}
	if r := try("correct horse battery staple"); r.status != http.StatusSeeOther {
		t.Fatalf("right password: %d %s", r.status, r.body)
	}
	for i := 0; i < identity.DefaultLockAfter-3; i++ {
		if r := try("nope"); r.status != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", r.status)
		}
	}
	// Parallel wrong guesses cannot exceed the limit: at most LockAfter
	// wrong passwords are ever checked (answered 401). A guess answered
	// busy (503: the hasher was full, as on a loaded machine) gives its
	// reserved failure back and checked nothing, so the lock may need
	// more guesses, never more checked ones.
	checked := identity.DefaultLockAfter - 3
	statuses := make([]int, 4)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Add(1)
		go func() { defer wg.Done(); statuses[i] = try("nope").status }()
	}
	wg.Wait()
	for _, st := range statuses {
		switch st {
		case http.StatusUnauthorized:
			checked++
		case http.StatusForbidden, http.StatusServiceUnavailable:
		default:
			t.Fatalf("parallel guess: %d", st)
		}
	}
	for range 20 {
		u, _ := e.ids.GetUser(ctx, e.org.Domain, e.user.ID)
		if u.LockedUntil != nil {
			break
		}
		if r := try("nope"); r.status == http.StatusUnauthorized {
			checked++
		}
	}
	if checked > identity.DefaultLockAfter {
		t.Fatalf("%d wrong passwords checked, limit %d", checked, identity.DefaultLockAfter)
	}
	u, _ := e.ids.GetUser(ctx, e.org.Domain, e.user.ID)
	if u.LockedUntil == nil {
		t.Fatalf("not locked after %d failures", u.FailedLogins)
	}
	if r := try("correct horse battery staple"); r.status != http.StatusForbidden {
		t.Fatalf("locked account, right password: %d", r.status)
	}
	// An unknown user gets the same answer as a wrong password.
	c := e.newBrowser()
	action, csrf, request, _ := e.openLogin(c, nil)
	r := e.postForm(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {"password"},
		"email": {"ghost@acme.test"}, "password": {"x"}})
	if r.status != http.StatusUnauthorized {
		t.Fatalf("unknown user: %d", r.status)
	}
	e.clock.Advance(identity.DefaultLockFor + time.Second)
	if r := try("correct horse battery staple"); r.status != http.StatusSeeOther {
		t.Fatalf("after the lock: %d", r.status)
	}
	// A legacy (Crafter) hash is verified, then replaced by argon2id.
	legacy := password.CrafterHash("old secret", []byte("saltsaltsaltsalt"))
	if _, err := e.ids.UpdateUser(ctx, e.org.Domain, e.user.ID, func(u *identity.User) error {
		u.PasswordHash = legacy
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if r := try("old secret"); r.status != http.StatusSeeOther {
		t.Fatalf("legacy hash login: %d", r.status)
	}
	u, _ = e.ids.GetUser(ctx, e.org.Domain, e.user.ID)
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Fatalf("legacy hash not upgraded: %q", u.PasswordHash)
	}
}

// TestSessions: prompt=none, max_age, prompt=login, login_hint, logout.
func TestSessions(t *testing.T) {
	e := newEnv(t)
	c := e.newBrowser()
	v, ch := pkce("a")
	loc := e.magicLogin(c, e.spaAuthorize(ch, nil), userEmail)
	if r := e.exchange(loc.Query().Get("code"), v); r.status != 200 {
		t.Fatal(r.body)
	}
	var sessCookie string
	for _, ck := range c.Jar.Cookies(mustURL(e.base)) {
		if ck.Name == sessionCookie {
			sessCookie = ck.Value
		}
	}
	if sessCookie == "" {
		t.Fatal("no session cookie")
	}
	silent := func(extra url.Values) *resp { return e.get(c, e.spaAuthorize(ch, extra)) }
	// prompt=none with a session: a code at once.
	r := silent(url.Values{"prompt": {"none"}})
	if r.status != http.StatusFound || r.location(t).Query().Get("code") == "" {
		t.Fatalf("prompt=none with session: %d %s", r.status, r.header.Get("Location"))
	}
	// The ID token of a silent sign-in carries the original auth_time.
	tr := e.exchange(r.location(t).Query().Get("code"), v).json(t)
	if tr["id_token"] == nil {
		t.Fatal("no id token")
	}
	// No prompt: silent too.
	if r := silent(nil); r.status != http.StatusFound || r.location(t).Query().Get("code") == "" {
		t.Fatalf("silent sign-in: %d", r.status)
	}
	// prompt=login shows the page.
	if r := silent(url.Values{"prompt": {"login"}}); r.status != http.StatusOK {
		t.Fatalf("prompt=login: %d", r.status)
	}
	// login_hint for someone else shows the page.
	if r := silent(url.Values{"login_hint": {"other@acme.test"}}); r.status != http.StatusOK {
		t.Fatalf("login_hint mismatch: %d", r.status)
	}
	if r := silent(url.Values{"login_hint": {"other@acme.test"}}); !strings.Contains(r.body, `value="other@acme.test"`) {
		t.Fatal("login_hint not prefilled")
	}
	// max_age.
	e.clock.Advance(2 * time.Minute)
	if r := silent(url.Values{"max_age": {"600"}}); r.status != http.StatusFound {
		t.Fatalf("max_age satisfied: %d", r.status)
	}
	if r := silent(url.Values{"max_age": {"60"}}); r.status != http.StatusOK {
		t.Fatalf("max_age exceeded: %d", r.status)
	}
	if r := silent(url.Values{"max_age": {"60"}, "prompt": {"none"}}); r.location(t).Query().Get("error") != errLoginRequired {
		t.Fatal("prompt=none with max_age exceeded")
	}
	// The session store keeps only a hash of the cookie.
	err := e.ids.View(context.Background(), func(tx *identity.ReadTxn) error {
		if _, err := sessions.Get(tx.KV(kv.Inside()), sessCookie); err == nil {
			t.Error("session stored under the raw cookie value")
		}
		_, err := sessions.Get(tx.KV(kv.Inside()), identity.HashSecret(sessCookie))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Logout without an ID token hint: a confirmation page, and the
	// session lives until its form is posted; then no redirect to an
	// unlisted URL, session ended.
	q := url.Values{"client_id": {e.spa.ClientID}, "post_logout_redirect_uri": {"https://evil.test/"}}
	r = e.get(c, e.issuer()+"/logout?"+q.Encode())
	if r.status != http.StatusOK || r.header.Get("Location") != "" {
		t.Fatalf("logout to unlisted URL: %d %s", r.status, r.header.Get("Location"))
	}
	if r := silent(url.Values{"prompt": {"none"}}); r.location(t).Query().Get("code") == "" {
		t.Fatal("a logout link without a hint ended the session")
	}
	action, csrf, _ := form(t, r.body)
	q.Set("csrf_token", csrf)
	r = e.postForm(c, e.base+action, q)
	if r.status != http.StatusOK || r.header.Get("Location") != "" {
		t.Fatalf("confirmed logout to unlisted URL: %d %s", r.status, r.header.Get("Location"))
	}
	if r := silent(url.Values{"prompt": {"none"}}); r.location(t).Query().Get("error") != errLoginRequired {
		t.Fatal("session survived logout")
	}
	// Logout with an ID token hint to a listed URL redirects with state.
	r = e.get(c, e.issuer()+"/logout?"+url.Values{"id_token_hint": {tr["id_token"].(string)},
		"post_logout_redirect_uri": {logoutURL}, "state": {"bye"}}.Encode())
	if r.status != http.StatusFound || r.header.Get("Location") != logoutURL+"?state=bye" {
		t.Fatalf("logout redirect: %d %q", r.status, r.header.Get("Location"))
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// TestSignupAndSSORouter: sign_type=signup creates the user; the SSO
// button routes by email.
func TestSignupAndSSORouter(t *testing.T) {
	var got SSORequest
	e := newEnv(t, func(o *Options) {
		o.SSORouter = SSORouterFunc(func(_ context.Context, req SSORequest) (string, bool, error) {
			got = req
			if identity.EmailDomain(req.Email) == "bigco.test" {
				return "http://sso.test/start?req=1", true, nil
			}
			return "", false, nil
		})
	})
	_, ch := pkce("a")
	q := url.Values{"client_id": {e.spa.ClientID}, "redirect_uri": {spaRedirect}, "scope": {"openid"},
		"code_challenge_method": {"S256"}, "code_challenge": {ch}}
	loc := e.magicLogin(e.newBrowser(), e.base+"/t/"+e.org.Domain+"/en/st-9/signup/new?"+q.Encode(), "new.person@acme.test")
	if loc.Query().Get("state") != "st-9" || loc.Query().Get("authorization_id") == "" || loc.Query().Has("request_id") {
		t.Fatalf("cryptr callback %s", loc)
	}
	u, err := e.ids.GetUserByEmail(context.Background(), e.org.Domain, "new.person@acme.test")
	if err != nil || !u.Verified {
		t.Fatalf("signup user %+v %v", u, err)
	}
	c := e.newBrowser()
	action, csrf, request, page := e.openLogin(c, nil)
	if !strings.Contains(page.body, `value="sso"`) {
		t.Fatal("no SSO button")
	}
	r := e.postForm(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {"sso"}, "email": {"x@bigco.test"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "http://sso.test/start?req=1" || got.RequestID != request {
		t.Fatalf("sso: %d %q %+v", r.status, r.header.Get("Location"), got)
	}
	r = e.postForm(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {"sso"}, "email": {"x@small.test"}})
	if r.status != http.StatusOK || r.header.Get("Location") != "" {
		t.Fatalf("no sso: %d", r.status)
	}
	// The SSO side resumes the request.
	rec := httptestRecorder()
	req, _ := http.NewRequest("GET", e.base+"/sso/done", nil)
	e.prov.Resume(rec, req, request, Authenticated{User: e.user, IdentityProvider: "okta", SSOConnectionID: "acme_1"})
	if rec.Code != http.StatusFound || !strings.HasPrefix(rec.Header().Get("Location"), spaRedirect+"?") {
		t.Fatalf("resume: %d %s", rec.Code, rec.Header().Get("Location"))
	}
}

// TestOpenSession: a session opened for an IdP-initiated sign-in makes the
// application's next authorization silent.
func TestOpenSession(t *testing.T) {
	e := newEnv(t)
	c := e.newBrowser()
	rec := httptestRecorder()
	req, _ := http.NewRequest("GET", e.base+"/sso/acs", nil)
	if err := e.prov.OpenSession(rec, req, identity.Production, e.org.Domain, Authenticated{User: e.user,
		IdentityProvider: "okta", SSOConnectionID: "acme_1"}); err != nil {
		t.Fatal(err)
	}
	c.Jar.SetCookies(mustURL(e.base), rec.Result().Cookies())
	_, ch := pkce("a")
	r := e.get(c, e.spaAuthorize(ch, url.Values{"prompt": {"none"}}))
	if r.status != http.StatusFound || r.location(t).Query().Get("code") == "" {
		t.Fatalf("prompt=none after OpenSession: %d %s", r.status, r.header.Get("Location"))
	}
	v, _ := pkce("a")
	tr := e.exchange(r.location(t).Query().Get("code"), v).json(t)
	ver, _ := e.tok.NewVerifier(tokens.VerifierConfig{SkipAudience: true})
	claims, err := ver.Verify(context.Background(), tr["access_token"].(string))
	if err != nil || claims.IdentityProvider != "okta" || claims.SSOConnectionID != "acme_1" {
		t.Fatalf("claims %+v %v", claims, err)
	}
	if err := e.prov.OpenSession(rec, req, identity.Production, "", Authenticated{User: e.user}); err == nil {
		t.Fatal("OpenSession without an organization")
	}
}

// TestMagicLinkMailsTheStoredAddress: an address typed in another case
// finds the account (emails fold ASCII case), and the mail goes to the
// address the account was proven with, not to the one typed: a mail
// server may treat the local part's case as significant.
func TestMagicLinkMailsTheStoredAddress(t *testing.T) {
	for _, typed := range []string{userEmail, strings.ToUpper(userEmail), "Jane@ACME.test"} {
		t.Run(typed, func(t *testing.T) {
			e := newEnv(t)
			c := e.newBrowser()
			action, csrf, request, _ := e.openLogin(c, nil)
			r := e.postForm(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {"magic"},
				"email": {typed}})
			if r.status != http.StatusOK {
				t.Fatalf("send: %d %s", r.status, r.body)
			}
			m := e.takeMail()
			if len(m.To) != 1 || m.To[0] != userEmail {
				t.Fatalf("mail to %q, want the stored %q", m.To, userEmail)
			}
		})
	}
}
