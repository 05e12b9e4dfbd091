package provider

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestTokenParametersInTheBodyOnly (the attacker's test, RFC 6749 §3.2,
// RFC 7009 §2.1, RFC 7662 §2.1): the token, revocation and introspection
// endpoints read their parameters from the body, never from the query
// string, where access and proxy logs keep codes and tokens. A request
// that puts them in the URL is refused and changes nothing: the code
// still redeems, the refresh token still refreshes.
func TestTokenParametersInTheBodyOnly(t *testing.T) {
	e := newEnv(t)
	code, verifier := e.spaCode(e.newBrowser())
	exchange := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
		"client_id": {e.spa.ClientID}, "redirect_uri": {spaRedirect}}
	r := e.postForm(http.DefaultClient, e.issuer()+"/oauth/token?"+exchange.Encode(), url.Values{})
	if r.status != http.StatusBadRequest {
		t.Fatalf("code in the query: %d %s", r.status, r.body)
	}
	r = e.exchange(code, verifier)
	if r.status != http.StatusOK {
		t.Fatalf("the code after a refused query: %d %s", r.status, r.body)
	}
	rt := r.json(t)["refresh_token"].(string)

	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {e.spa.ClientID}}
	if r := e.postForm(http.DefaultClient, e.issuer()+"/oauth/token?"+refresh.Encode(), url.Values{}); r.status != http.StatusBadRequest {
		t.Fatalf("refresh token in the query: %d %s", r.status, r.body)
	}
	// Revocation with the token in the query revokes nothing.
	revoke := url.Values{"token": {rt}, "client_id": {e.spa.ClientID}}
	e.postForm(http.DefaultClient, e.issuer()+"/oauth/revoke?"+revoke.Encode(), url.Values{"client_id": {e.spa.ClientID}})
	// Introspection with the token in the query tells nothing about it.
	ir := e.postForm(http.DefaultClient, e.issuer()+"/oauth/introspect?token="+url.QueryEscape(rt), url.Values{"client_id": {e.spa.ClientID}})
	if ir.status == http.StatusOK && ir.json(t)["active"] == true {
		t.Fatalf("introspection read the query: %s", ir.body)
	}
	if r := e.refresh(rt); r.status != http.StatusOK {
		t.Fatalf("the refresh token after refused query requests: %d %s", r.status, r.body)
	}
}

// TestInvalidClientChallenges (RFC 6749 §5.2): a client that used the
// Authorization header and is refused gets 401 invalid_client with a
// WWW-Authenticate challenge of its scheme, even when the header could
// not be read.
func TestInvalidClientChallenges(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, auth, want string
	}{
		{"Basic, wrong secret", "Basic " + basic(e.web.ClientID, "wrong"), "Basic"},
		{"Basic, not base64", "Basic !!!", "Basic"},
		{"Basic, no colon", "Basic " + base64.StdEncoding.EncodeToString([]byte("nocolon")), "Basic"},
		{"Bearer, unknown management token", "Bearer abc", "Bearer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.postForm(http.DefaultClient, e.issuer()+"/oauth/token", url.Values{"grant_type": {"authorization_code"},
				"code": {"x"}, "redirect_uri": {webRedirect}}, "Authorization", c.auth)
			if r.status != http.StatusUnauthorized || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), c.want+" ") {
				t.Fatalf("%d %q %s, want 401 with a %s challenge", r.status, r.header.Get("WWW-Authenticate"), r.body, c.want)
			}
			if r.json(t)["error"] != errInvalidClient {
				t.Fatalf("error %s", r.body)
			}
		})
	}
}
