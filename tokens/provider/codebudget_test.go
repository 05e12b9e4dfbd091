package provider

import (
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
)

// browserFrom is newBrowser connecting from the loopback address ip, so
// that the provider sees another client address.
func (e *env) browserFrom(ip string) *http.Client {
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// codeLogin is one login page that sends codes to an address.
type codeLogin struct {
	e                        *env
	c                        *http.Client
	action, csrf, request    string
	email, digits, link      string
	sendStatus, lastMailSeen int
}

func (e *env) codeLogin(c *http.Client, email string) *codeLogin {
	e.t.Helper()
	l := &codeLogin{e: e, c: c, email: email}
	l.action, l.csrf, l.request, _ = e.openLogin(c, nil)
	return l
}

// send asks for a (new) code on this page and reads it from the mail.
func (l *codeLogin) send() int {
	l.e.t.Helper()
	before := l.e.mailCount()
	r := l.e.postForm(l.c, l.e.base+l.action, url.Values{"csrf_token": {l.csrf}, "request": {l.request},
		"action": {"magic"}, "email": {l.email}})
	if r.status == http.StatusOK && l.e.mailCount() > before {
		m := l.e.takeMail().Text
		l.digits, l.link = reDigits.FindStringSubmatch(m)[1], reLink.FindString(m)
	}
	return r.status
}

// guess posts a code and reports whether it signed in.
func (l *codeLogin) guess(code string) bool {
	r := l.e.postForm(l.c, l.e.base+l.action, url.Values{"csrf_token": {l.csrf}, "request": {l.request},
		"action": {"code"}, "code": {code}})
	return r.status == http.StatusSeeOther
}

func (l *codeLogin) wrong() string {
	if l.digits == "000000" {
		return "111111"
	}
	return "000000"
}

// TestEmailCodeGuessBudget guards breach 7: resending a code does not give
// new guesses. After CodeGuessLimit wrong codes for an address within the
// window, no code for it works, even the right one from a fresh send, until
// the window has passed.
func TestEmailCodeGuessBudget(t *testing.T) {
	e := newEnv(t)
	limit := identity.DefaultCodeGuessLimit
	l := e.codeLogin(e.newBrowser(), userEmail)
	wrong := 0
	for wrong < limit {
		if s := l.send(); s != http.StatusOK {
			t.Fatalf("resend after %d wrong codes: %d", wrong, s)
		}
		for i := 0; i < DefaultMaxCodeAttempts-1 && wrong < limit; i++ {
			if l.guess(l.wrong()) {
				t.Fatal("a wrong code signed in")
			}
			wrong++
		}
		e.clock.Advance(time.Minute)
	}
	// The budget is spent: a fresh code, from another page too, does not work.
	l2 := e.codeLogin(e.newBrowser(), userEmail)
	if l2.send() != http.StatusOK || l2.digits == "" {
		t.Fatal("no fresh code")
	}
	if l2.guess(l2.digits) {
		t.Fatalf("the right code worked after %d wrong ones within the hour", wrong)
	}
	// A magic link is not a guessable code: the link of that mail works.
	c := e.newBrowser()
	_, csrf, _ := form(t, e.get(c, l2.link).body)
	if r := e.postForm(c, l2.link, url.Values{"csrf_token": {csrf}}); r.status != http.StatusSeeOther {
		t.Fatalf("the link of the last mail: %d", r.status)
	}
	// Once the window has passed, a fresh code works.
	e.clock.Advance(identity.DefaultCodeGuessWindow)
	l3 := e.codeLogin(e.newBrowser(), userEmail)
	if l3.send() != http.StatusOK || !l3.guess(l3.digits) {
		t.Fatal("the right code was refused after the window")
	}
}

// TestEmailSendBudget guards breach 7's send side: flooding an address
// from one client address never stops its owner's mail for longer than
// the cooldown, and the owner's link already sent stays usable.
func TestEmailSendBudget(t *testing.T) {
	e := newEnv(t)
	// The owner asks for a link first.
	owner := e.codeLogin(e.browserFrom("127.0.0.1"), userEmail)
	if owner.send() != http.StatusOK {
		t.Fatal("owner's first send")
	}
	ownerMail := owner.digits
	e.clock.Advance(identity.DefaultCodeSendCooldown)
	// The attacker floods the owner's address from another client address.
	attacker := e.browserFrom("127.0.0.2")
	mailed := 0
	for i := 0; i < 3*identity.DefaultCodeSendBurst; i++ {
		if f := e.codeLogin(attacker, userEmail); f.send() == http.StatusOK && f.digits != "" {
			mailed++
		}
	}
	// The owner's mail and the attacker's fill the burst; the rest is
	// refused, so the inbox gets a bounded number of mails.
	if mailed != identity.DefaultCodeSendBurst-1 {
		t.Fatalf("the flood mailed %d times, want %d", mailed, identity.DefaultCodeSendBurst-1)
	}
	// The owner's code already sent still works...
	if !owner.guess(ownerMail) {
		t.Fatal("the owner's code already sent stopped working")
	}
	// ...and the owner can still get a new one now, from its own address.
	owner2 := e.codeLogin(e.browserFrom("127.0.0.1"), userEmail)
	if s := owner2.send(); s != http.StatusOK || owner2.digits == "" {
		t.Fatalf("owner's send during the flood: %d", s)
	}
	// The attacker waits the cooldown, no more, between mails.
	if s := e.codeLogin(attacker, userEmail).send(); s != http.StatusTooManyRequests {
		t.Fatalf("attacker within the cooldown: %d", s)
	}
	e.clock.Advance(identity.DefaultCodeSendCooldown)
	if s := e.codeLogin(attacker, userEmail).send(); s != http.StatusOK {
		t.Fatalf("attacker after the cooldown: %d", s)
	}
}
