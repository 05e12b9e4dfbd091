package provider

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/tokens"
)

// BenchmarkCodeExchange measures the full authorization code exchange over
// loopback HTTP (authorize with a browser session → code → token request
// with PKCE → access, ID and refresh tokens stored) beside the bare
// issuance of the same access and ID tokens, in the same run.
func BenchmarkCodeExchange(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	b.Run("bare_issue", func(b *testing.B) {
		req := &tokens.TokenRequest{OrgDomain: e.org.Domain, User: e.user, App: e.spa,
			Scopes: []string{"openid", "email", "profile"}, Nonce: "n", Code: "c", State: "s"}
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := e.tok.IssueTokens(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("loopback_exchange", func(b *testing.B) {
		c := e.newBrowser()
		v, ch := pkce("a")
		e.magicLogin(c, e.spaAuthorize(ch, nil), userEmail)
		authURL := e.spaAuthorize(ch, nil)
		tokURL := e.issuer() + "/oauth/token"
		b.ReportAllocs()
		for b.Loop() {
			res, err := c.Get(authURL)
			if err != nil {
				b.Fatal(err)
			}
			res.Body.Close()
			loc, err := url.Parse(res.Header.Get("Location"))
			if err != nil || res.StatusCode != http.StatusFound {
				b.Fatalf("authorize: %d", res.StatusCode)
			}
			form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
				"code_verifier": {v}, "client_id": {e.spa.ClientID}, "redirect_uri": {spaRedirect}}
			tr, err := c.Post(tokURL, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
			if err != nil {
				b.Fatal(err)
			}
			tr.Body.Close()
			if tr.StatusCode != http.StatusOK {
				b.Fatalf("token: %d", tr.StatusCode)
			}
		}
	})
}

// BenchmarkCodeExchangeInterleaved alternates one bare issuance and one
// loopback code exchange per iteration and reports both, with their ratio,
// so that a loaded machine slows both alike.
func BenchmarkCodeExchangeInterleaved(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	req := &tokens.TokenRequest{OrgDomain: e.org.Domain, User: e.user, App: e.spa,
		Scopes: []string{"openid", "email", "profile"}, Nonce: "n", Code: "c", State: "s"}
	c := e.newBrowser()
	v, ch := pkce("a")
	e.magicLogin(c, e.spaAuthorize(ch, nil), userEmail)
	authURL := e.spaAuthorize(ch, nil)
	tokURL := e.issuer() + "/oauth/token"
	var bare, exch time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, _, err := e.tok.IssueTokens(ctx, req); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		res, err := c.Get(authURL)
		if err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
		loc, _ := url.Parse(res.Header.Get("Location"))
		form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
			"code_verifier": {v}, "client_id": {e.spa.ClientID}, "redirect_uri": {spaRedirect}}
		tr, err := c.Post(tokURL, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if err != nil {
			b.Fatal(err)
		}
		tr.Body.Close()
		if tr.StatusCode != http.StatusOK {
			b.Fatalf("token: %d", tr.StatusCode)
		}
		bare += t1.Sub(t0)
		exch += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(bare.Nanoseconds())/n, "bare-ns/op")
	b.ReportMetric(float64(exch.Nanoseconds())/n, "exchange-ns/op")
	b.ReportMetric(float64(exch)/float64(bare), "exchange/bare")
	b.ReportMetric(n/exch.Seconds(), "exchanges/s")
}
