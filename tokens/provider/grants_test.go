package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/testkit"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// TestConcurrentCodeExchange: one code redeemed by many clients at once on
// the durable bolt store, whose group commit runs concurrent writes in one
// transaction (and runs a function again when another of its batch
// fails): exactly one redemption gets tokens, every other one is
// invalid_grant, and the winner's tokens are revoked by the replays (a
// reused code revokes what it issued).
func TestConcurrentCodeExchange(t *testing.T) {
	e := newGrantsEnv(t, true)
	alg := tokens.ES256
	for round := range 3 {
		code := e.seedCodes(t, alg, 1)[0]
		const n = 8
		status := make([]int, n)
		bodies := make([]map[string]any, n)
		testkit.AtOnce(n, func(i int) {
			status[i], bodies[i] = e.tokenRequest(t, e.web[alg], url.Values{"grant_type": {"authorization_code"},
				"code": {code}, "redirect_uri": {webRedirect}})
		})
		winners := 0
		var won map[string]any
		for i := range n {
			switch {
			case status[i] == http.StatusOK:
				winners++
				won = bodies[i]
			case status[i] != http.StatusBadRequest || bodies[i]["error"] != errInvalidGrant:
				t.Fatalf("round %d: redemption %d: %d %v", round, i, status[i], bodies[i])
			}
		}
		if winners != 1 {
			t.Fatalf("round %d: %d redemptions of one code got tokens, want exactly 1", round, winners)
		}
		// The replays revoked the winner's family: its refresh token is dead.
		st, body := e.tokenRequest(t, e.web[alg], url.Values{"grant_type": {"refresh_token"},
			"refresh_token": {won["refresh_token"].(string)}})
		if st != http.StatusBadRequest || body["error"] != errInvalidGrant {
			t.Fatalf("round %d: refresh with the tokens of a replayed code: %d %v", round, st, body)
		}
	}
}

// TestConcurrentRefresh: one refresh token presented by many clients at
// once on the bolt store: every answer is a success carrying the same
// successor (the grace window for concurrent refreshes), the family is
// moved on exactly once, and the successor works.
func TestConcurrentRefresh(t *testing.T) {
	e := newGrantsEnv(t, true)
	alg := tokens.ES256
	rt := e.seedRefreshes(t, alg, 1)[0]
	const n = 8
	status := make([]int, n)
	bodies := make([]map[string]any, n)
	testkit.AtOnce(n, func(i int) {
		status[i], bodies[i] = e.tokenRequest(t, e.web[alg], url.Values{"grant_type": {"refresh_token"},
			"refresh_token": {rt}})
	})
	successor := ""
	for i := range n {
		if status[i] != http.StatusOK {
			t.Fatalf("refresh %d: %d %v", i, status[i], bodies[i])
		}
		s := bodies[i]["refresh_token"].(string)
		if successor != "" && s != successor {
			t.Fatalf("concurrent refreshes got different successors")
		}
		successor = s
	}
	if successor == rt {
		t.Fatal("the refresh token was not rotated")
	}
	st, body := e.tokenRequest(t, e.web[alg], url.Values{"grant_type": {"refresh_token"}, "refresh_token": {successor}})
	if st != http.StatusOK {
		t.Fatalf("refresh with the successor: %d %v", st, body)
	}
}

// tokenRequest posts a token request with HTTP Basic client
// authentication and returns the status and the JSON answer.
func (e *grantsEnv) tokenRequest(t testing.TB, cred [2]string, form url.Values) (int, map[string]any) {
	req, _ := http.NewRequest(http.MethodPost, e.tokenURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(cred[0]), url.QueryEscape(cred[1]))
	res, err := e.client.Do(req)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Errorf("not JSON (%d): %s", res.StatusCode, b)
	}
	return res.StatusCode, m
}

// TestSignInWrites guards the durable commits of a hosted sign-in on the
// bolt store, up to the redirect with the code: a password sign-in is
// three write transactions (the authorization request with the client
// address's count; the attempt with the address's count; the success with
// its event, the browser session, the code and the request's end), a
// sign-in by the mailed code of a verified user three too (the request;
// the send with both send limits, the request update, the link and its
// event; the code check with the success event, the session, the code and
// the request's end), and so is one by the mailed link (its last commit
// consumes the link), and each sign-in's success event is in the audit
// log.
func TestSignInWrites(t *testing.T) {
	e := newGrantsEnv(t, true)
	authURL := e.base + "/t/" + e.org.Domain + "/authorize?" + url.Values{"response_type": {"code"},
		"client_id": {e.web[tokens.ES256][0]}, "redirect_uri": {webRedirect}, "scope": {"openid email"},
		"state": {"st-1"}, "nonce": {"n-1"}}.Encode()
	browser := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	cases := []struct {
		name   string
		writes int64
		event  string
		signIn func(c *http.Client, email string) error
	}{
		{"password", 3, identity.EventPasswordLoginSuccess, func(c *http.Client, email string) error {
			action, csrf, request, err := loginPage(c, authURL)
			if err != nil {
				return err
			}
			return expectCode(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request},
				"action": {"password"}, "email": {email}, "password": {signInPassword}})
		}},
		{"magic code", 3, identity.EventMagicLinkSuccess, func(c *http.Client, email string) error {
			action, csrf, request, err := loginPage(c, authURL)
			if err != nil {
				return err
			}
			if res, err := formPost(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request},
				"action": {"magic"}, "email": {email}}); err != nil || res.StatusCode != http.StatusOK {
				return fmt.Errorf("send: %v %v", res, err)
			}
			d := reDigits.FindStringSubmatch(<-e.mails[email])
			if d == nil {
				return errors.New("no code in the mail")
			}
			return expectCode(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request},
				"action": {"code"}, "code": {d[1]}})
		}},
		{"magic link", 3, identity.EventMagicLinkSuccess, func(c *http.Client, email string) error {
			action, csrf, request, err := loginPage(c, authURL)
			if err != nil {
				return err
			}
			if res, err := formPost(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request},
				"action": {"magic"}, "email": {email}}); err != nil || res.StatusCode != http.StatusOK {
				return fmt.Errorf("send: %v %v", res, err)
			}
			link := reLink.FindString(<-e.mails[email])
			if link == "" {
				return errors.New("no link in the mail")
			}
			res, err := c.Get(link) // the confirmation page: consumes nothing
			if err != nil {
				return err
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			cs := reCSRF.FindStringSubmatch(string(body))
			if cs == nil {
				return fmt.Errorf("confirmation page: %d %s", res.StatusCode, body)
			}
			return expectCode(c, link, url.Values{"csrf_token": {cs[1]}})
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			email := e.signers[i]
			w0 := e.store.updates.Load()
			if err := tc.signIn(browser(), email); err != nil {
				t.Fatal(err)
			}
			if n := e.store.updates.Load() - w0; n != tc.writes {
				t.Fatalf("%d write transactions, want %d", n, tc.writes)
			}
			evs, err := e.ids.ListEvents(context.Background(), e.org.Domain, identity.EventFilter{Code: tc.event},
				identity.PageRequest{})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, ev := range evs.Items {
				found = found || ev.Email == email
			}
			if !found {
				t.Fatalf("no %s event for %s", tc.event, email)
			}
		})
	}
}
