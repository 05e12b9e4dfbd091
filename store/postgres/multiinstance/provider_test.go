package multiinstance

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/testkit"
	"github.com/gatehouse-id/gatehouse/mail"
	"github.com/gatehouse-id/gatehouse/tokens"
	"github.com/gatehouse-id/gatehouse/tokens/provider"
)

// instanceHeader picks the instance that serves a request behind the
// test's load balancer.
const instanceHeader = "X-Test-Instance"

const (
	spaRedirect = "http://spa.example.test/callback"
	userEmail   = "jane@acme.test"
	userPass    = "correct horse battery staple"
	refreshTTL  = 30 * time.Second
)

// oidc is two OpenID Connect providers on one database behind one base
// URL, as behind a load balancer: each request goes to the instance its
// X-Test-Instance header names (0 when absent).
type oidc struct {
	t      *testing.T
	clock  *testkit.Clock
	insts  [2]*instance
	base   string
	org    *identity.Organization
	spa    *identity.Application
	served [2]atomic.Int64
	provs  [2]*provider.Provider
	mu     sync.Mutex
	mails  []mail.Message
}

func newOIDC(t *testing.T) *oidc {
	t.Helper()
	o := &oidc{t: t, clock: newClock()}
	o.insts = pair(t, o.clock, setup{hasher: newCountingHasher()})
	srv := httptest.NewUnstartedServer(nil)
	o.base = "http://" + srv.Listener.Addr().String()
	provs := &o.provs
	for i, in := range o.insts {
		tok, err := tokens.New(tokens.Options{Identity: in.ids, BaseURL: o.base})
		if err != nil {
			t.Fatal(err)
		}
		p, err := provider.New(provider.Options{Identity: in.ids, Tokens: tok, RefreshGrace: refreshTTL,
			MailFrom: "login@acme.test", Mailer: mail.MailerFunc(func(_ context.Context, m mail.Message) error {
				o.mu.Lock()
				o.mails = append(o.mails, m)
				o.mu.Unlock()
				return nil
			})})
		if err != nil {
			t.Fatal(err)
		}
		provs[i] = p
	}
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, _ := strconv.Atoi(r.Header.Get(instanceHeader))
		i &= 1
		o.served[i].Add(1)
		provs[i].ServeHTTP(w, r)
	})
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		for _, p := range provs {
			_ = p.Close()
		}
	})
	ctx := context.Background()
	name, domains := "Acme Corp", []string{"acme.test"}
	var err error
	if o.org, err = o.insts[0].ids.CreateOrganization(ctx, identity.OrganizationInput{Name: &name, AllowedEmailDomains: &domains}); err != nil {
		t.Fatal(err)
	}
	if o.spa, _, err = o.insts[1].ids.CreateApplication(ctx, o.org.Domain, identity.Application{Name: "spa",
		ApplicationType: identity.AppReact, AllowedRedirectURLs: []string{spaRedirect},
		AllowedOriginsCORS: []string{"http://spa.example.test"}, DefaultOriginCORS: "http://spa.example.test"}); err != nil {
		t.Fatal(err)
	}
	u, err := o.insts[0].ids.CreateUser(ctx, o.org.Domain, identity.User{Email: userEmail, Enabled: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.insts[1].ids.SetPassword(ctx, o.org.Domain, u.ID, userPass); err != nil {
		t.Fatal(err)
	}
	return o
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(a.body), &m); err != nil {
		t.Fatalf("not JSON (%d): %s", a.status, a.body)
	}
	return m
}

// send sends req to instance inst. It only reports errors (with t.Errorf),
// so that racing goroutines may call it.
func (o *oidc) send(c *http.Client, inst int, method, u string, form url.Values) answer {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		o.t.Errorf("request: %v", err)
		return answer{}
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set(instanceHeader, strconv.Itoa(inst))
	res, err := c.Do(req)
	if err != nil {
		o.t.Errorf("%s %s on instance %d: %v", method, u, inst, err)
		return answer{}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, header: res.Header, body: string(b)}
}

func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var (
	reCSRF    = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	reRequest = regexp.MustCompile(`name="request" value="([^"]+)"`)
	reAction  = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

// authQuery returns the SPA's authorization request with PKCE, and its
// code verifier.
func (o *oidc) authQuery(seed string) (url.Values, string) {
	verifier := base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat(seed, 40)))[:50]
	sum := sha256.Sum256([]byte(verifier))
	return url.Values{"response_type": {"code"}, "client_id": {o.spa.ClientID}, "redirect_uri": {spaRedirect},
		"scope": {"openid email profile"}, "state": {"st-" + seed}, "nonce": {"n-" + seed},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}, verifier
}

// takeMail waits for the mails both providers send in the background and
// returns the last one.
func (o *oidc) takeMail() mail.Message {
	o.t.Helper()
	for _, p := range o.provs {
		_ = p.Close()
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.mails) == 0 {
		o.t.Fatal("no mail sent")
	}
	return o.mails[len(o.mails)-1]
}

// signIn opens the SPA's authorization request on instance 0, signs in
// with the password on instance 1 and returns the code and PKCE verifier.
func (o *oidc) signIn(seed string) (code, verifier string) {
	o.t.Helper()
	q, verifier := o.authQuery(seed)
	lp := o.openLogin(q)
	done := o.send(lp.c, 1, http.MethodPost, lp.action, lp.form(url.Values{"action": {"password"}, "email": {userEmail},
		"password": {userPass}}))
	loc, err := url.Parse(done.header.Get("Location"))
	if done.status != http.StatusSeeOther || err != nil || loc.Query().Get("code") == "" {
		o.t.Fatalf("password sign-in: %d %s %s", done.status, done.header.Get("Location"), done.body)
	}
	return loc.Query().Get("code"), verifier
}

// loginPage is an open hosted login page in a browser.
type loginPage struct {
	c                     *http.Client
	action, csrf, request string
}

// form returns the page's hidden fields with extra.
func (lp loginPage) form(extra url.Values) url.Values {
	f := url.Values{"csrf_token": {lp.csrf}, "request": {lp.request}}
	for k, v := range extra {
		f[k] = v
	}
	return f
}

// openLogin opens the login page of authorization request q on instance 0
// in a new browser.
func (o *oidc) openLogin(q url.Values) loginPage {
	o.t.Helper()
	c := browser()
	page := o.send(c, 0, http.MethodGet, o.base+"/t/"+o.org.Domain+"/authorize?"+q.Encode(), nil)
	action, csrf, request := reAction.FindStringSubmatch(page.body), reCSRF.FindStringSubmatch(page.body), reRequest.FindStringSubmatch(page.body)
	if page.status != http.StatusOK || action == nil || csrf == nil || request == nil {
		o.t.Fatalf("login page: %d %s", page.status, page.body)
	}
	return loginPage{c: c, action: o.base + action[1], csrf: csrf[1], request: request[1]}
}

func (o *oidc) tokenURL() string { return o.base + "/t/" + o.org.Domain + "/oauth/token" }

func (o *oidc) redeem(inst int, code, verifier string) answer {
	return o.send(http.DefaultClient, inst, http.MethodPost, o.tokenURL(), url.Values{"grant_type": {"authorization_code"},
		"code": {code}, "code_verifier": {verifier}, "client_id": {o.spa.ClientID}, "redirect_uri": {spaRedirect}})
}

func (o *oidc) refresh(inst int, rt string) answer {
	return o.send(http.DefaultClient, inst, http.MethodPost, o.tokenURL(), url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {rt}, "client_id": {o.spa.ClientID}})
}

// invalidGrant reports whether a is RFC 6749's invalid_grant answer with no
// token in it.
func invalidGrant(a answer) bool {
	var m map[string]any
	if a.status != http.StatusBadRequest || json.Unmarshal([]byte(a.body), &m) != nil || m["error"] != "invalid_grant" {
		return false
	}
	_, at := m["access_token"]
	_, rt := m["refresh_token"]
	return !at && !rt
}

// TestAuthorizationCodeRedeemedOnce: racing redemptions of one code across
// two instances issue tokens at most once, and since every redemption
// after the first is a reuse, whatever was issued ends up revoked (a
// reuse that lands before the first redemption stored its tokens makes
// that redemption fail too).
func TestAuthorizationCodeRedeemedOnce(t *testing.T) {
	o := newOIDC(t)
	code, verifier := o.signIn("a")
	const racers = 8
	answers := make([]answer, racers)
	race(racers, func(inst, i int) { answers[i] = o.redeem(inst, code, verifier) })
	wins := 0
	var refresh string
	for i, a := range answers {
		switch {
		case a.status == http.StatusOK:
			wins++
			refresh, _ = a.json(t)["refresh_token"].(string)
		case !invalidGrant(a):
			t.Errorf("redeemer %d (instance %d): %d %s, want 200 or invalid_grant", i, i%2, a.status, a.body)
		}
	}
	if wins > 1 || (wins == 1 && refresh == "") {
		t.Fatalf("%d redemptions of one code succeeded across two instances (refresh token %q), want at most 1", wins, refresh)
	}
	// The code presented again (after the race, on either instance) is
	// refused, and what it issued is revoked, as on one instance.
	for inst := range 2 {
		if a := o.redeem(inst, code, verifier); !invalidGrant(a) {
			t.Fatalf("used code on instance %d: %d %s", inst, a.status, a.body)
		}
	}
	if refresh != "" {
		for inst := range 2 {
			if a := o.refresh(inst, refresh); !invalidGrant(a) {
				t.Fatalf("refresh token of a reused code still works on instance %d: %d %s", inst, a.status, a.body)
			}
		}
	}
	if o.served[0].Load() == 0 || o.served[1].Load() == 0 {
		t.Fatalf("requests served per instance: %d, %d; both must serve", o.served[0].Load(), o.served[1].Load())
	}
}

func TestRefreshRotationNoDoubleSpend(t *testing.T) {
	o := newOIDC(t)
	code, verifier := o.signIn("b")
	first := o.redeem(0, code, verifier)
	if first.status != http.StatusOK {
		t.Fatalf("redeem: %d %s", first.status, first.body)
	}
	rt0, _ := first.json(t)["refresh_token"].(string)
	const racers = 8
	// spend presents rt on both instances at once and returns the
	// successors handed out.
	spend := func(t *testing.T, rt string) []string {
		t.Helper()
		answers := make([]answer, racers)
		race(racers, func(inst, i int) { answers[i] = o.refresh(inst, rt) })
		out := make([]string, racers)
		for i, a := range answers {
			if a.status != http.StatusOK {
				t.Fatalf("refresh %d (instance %d) within the grace window: %d %s", i, i%2, a.status, a.body)
			}
			m := a.json(t)
			out[i], _ = m["refresh_token"].(string)
			if at, _ := m["access_token"].(string); at == "" {
				t.Fatalf("refresh %d: no access token: %s", i, a.body)
			}
		}
		return out
	}
	// Concurrent refreshes (several tabs, two instances) within the grace
	// window: one rotation, every caller gets the same successor.
	succ := spend(t, rt0)
	rt1 := succ[0]
	for i, s := range succ {
		if s != rt1 || s == rt0 || s == "" {
			t.Fatalf("racer %d got successor %q, racer 0 got %q: the refresh token was spent more than once", i, s, rt1)
		}
	}
	// The family goes on from the one successor, on either instance.
	succ2 := spend(t, rt1)
	rt2 := succ2[0]
	for i, s := range succ2 {
		if s != rt2 || s == rt1 {
			t.Fatalf("second rotation: racer %d got %q, racer 0 %q", i, s, rt2)
		}
	}
	// After the grace window, presenting the spent token on both
	// instances at once is reuse: every answer is invalid_grant and the
	// family is revoked, its newest token included.
	o.clock.Advance(refreshTTL + time.Second)
	answers := make([]answer, racers)
	race(racers, func(inst, i int) { answers[i] = o.refresh(inst, rt0) })
	for i, a := range answers {
		if !invalidGrant(a) {
			t.Fatalf("reuse %d (instance %d) after the grace window: %d %s, want invalid_grant", i, i%2, a.status, a.body)
		}
	}
	for inst := range 2 {
		if a := o.refresh(inst, rt2); !invalidGrant(a) {
			t.Fatalf("newest token of a revoked family works on instance %d: %d %s", inst, a.status, a.body)
		}
	}
}

var (
	reLink   = regexp.MustCompile(`http://[^\s]+/magic-link/verify/[A-Za-z0-9_-]{43}`)
	reDigits = regexp.MustCompile(`: (\d{6})\n`)
)

// sendMagic asks for a magic link on a new login page and returns the page,
// the link and the 6-digit code of the mail.
func (o *oidc) sendMagic(seed string) (lp loginPage, link, digits string) {
	o.t.Helper()
	q, _ := o.authQuery(seed)
	lp = o.openLogin(q)
	if a := o.send(lp.c, 1, http.MethodPost, lp.action, lp.form(url.Values{"action": {"magic"}, "email": {userEmail}})); a.status != http.StatusOK {
		o.t.Fatalf("send magic link: %d %s", a.status, a.body)
	}
	m := o.takeMail()
	link, d := reLink.FindString(m.Text), reDigits.FindStringSubmatch(m.Text)
	if link == "" || d == nil {
		o.t.Fatalf("no link or code in mail: %s", m.Text)
	}
	return lp, link, d[1]
}

// signedIn reports whether a is the redirect to the application with a code.
func signedIn(a answer) bool {
	loc, err := url.Parse(a.header.Get("Location"))
	return a.status == http.StatusSeeOther && err == nil && strings.HasPrefix(loc.String(), spaRedirect) && loc.Query().Get("code") != ""
}

func TestMagicLinkAndEmailCodeAcrossInstances(t *testing.T) {
	o := newOIDC(t)
	const racers = 8

	t.Run("link consumed once", func(t *testing.T) {
		lp, link, _ := o.sendMagic("m")
		confirm := o.send(lp.c, 0, http.MethodGet, link, nil)
		csrf := reCSRF.FindStringSubmatch(confirm.body)
		if confirm.status != http.StatusOK || csrf == nil {
			t.Fatalf("confirmation page: %d %s", confirm.status, confirm.body)
		}
		answers := make([]answer, racers)
		race(racers, func(inst, i int) {
			answers[i] = o.send(lp.c, inst, http.MethodPost, link, url.Values{"csrf_token": {csrf[1]}})
		})
		wins := 0
		for i, a := range answers {
			switch {
			case signedIn(a):
				wins++
			case a.status != http.StatusBadRequest || a.header.Get("Location") != "":
				t.Errorf("consumer %d (instance %d): %d %s, want the sign-in or 400", i, i%2, a.status, a.header.Get("Location"))
			}
		}
		if wins != 1 {
			t.Fatalf("one magic link signed in %d times over two instances, want once", wins)
		}
	})

	// MaxCodeAttempts (5) tries of the 6-digit code, counted over both
	// instances: n-1 concurrent wrong codes leave the right one usable, n
	// use them all up.
	for _, tc := range []struct {
		wrong int
		want  bool
	}{{provider.DefaultMaxCodeAttempts - 1, true}, {provider.DefaultMaxCodeAttempts, false}} {
		t.Run(fmt.Sprintf("%d wrong codes", tc.wrong), func(t *testing.T) {
			lp, _, digits := o.sendMagic(fmt.Sprintf("c%d", tc.wrong))
			wrong := "000000"
			if digits == wrong {
				wrong = "111111"
			}
			answers := make([]answer, tc.wrong)
			race(tc.wrong, func(inst, i int) {
				answers[i] = o.send(lp.c, inst, http.MethodPost, lp.action, lp.form(url.Values{"action": {"code"}, "code": {wrong}}))
			})
			for i, a := range answers {
				if a.status != http.StatusBadRequest {
					t.Fatalf("wrong code %d (instance %d): %d", i, i%2, a.status)
				}
			}
			right := o.send(lp.c, 1, http.MethodPost, lp.action, lp.form(url.Values{"action": {"code"}, "code": {digits}}))
			if signedIn(right) != tc.want {
				t.Fatalf("right code after %d concurrent wrong ones: %d %s, signed in = %v, want %v",
					tc.wrong, right.status, right.header.Get("Location"), signedIn(right), tc.want)
			}
		})
	}
}

func TestMagicLinkSendLimitAcrossInstances(t *testing.T) {
	o := newOIDC(t)
	q, _ := o.authQuery("s")
	lp := o.openLogin(q)
	const n = 12
	statuses := make([]int, n)
	race(n, func(inst, i int) {
		statuses[i] = o.send(lp.c, inst, http.MethodPost, lp.action, lp.form(url.Values{"action": {"magic"}, "email": {userEmail}})).status
	})
	got := map[int]int{}
	for _, s := range statuses {
		got[s]++
	}
	if got[http.StatusOK] != identity.DefaultCodeSendBurst || got[http.StatusTooManyRequests] != n-identity.DefaultCodeSendBurst {
		t.Fatalf("answers %v to %d concurrent sends over two instances, want %d × 200 and the rest 429", got, n, identity.DefaultCodeSendBurst)
	}
	o.takeMail()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.mails) != identity.DefaultCodeSendBurst {
		t.Fatalf("%d mails sent, want %d", len(o.mails), identity.DefaultCodeSendBurst)
	}
}
