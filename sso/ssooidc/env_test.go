package ssooidc_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/sso"
)

// TestSandboxSignInUsesSandboxIssuer: an SSO sign-in through a sandbox
// connection (Cryptr's era-1 SSO URL, SP-initiated) runs in the sandbox
// tree and its tokens name the sandbox issuer; the production issuer does
// not know the application.
func TestSandboxSignInUsesSandboxIssuer(t *testing.T) {
	s := newStack(t, identity.Sandbox)
	s.uploadMetadata()
	verifier, challenge := pkce()
	c := s.client()
	q := url.Values{"client_id": {s.app.ClientID}, "redirect_uri": {s.redirect}, "state": {"xyz"}, "locale": {"en"},
		"scope": {"openid email profile"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}, "nonce": {"n-1"}}
	resp, page := c.get(s.base + "/enterprise/" + s.idp + "/login?" + q.Encode())
	if !strings.HasPrefix(resp.Request.URL.String(), s.idpURL+"/sso") {
		t.Fatalf("expected the IdP login form, got %s: %s", resp.Request.URL, page)
	}
	resp, page = c.signInAtIdP(page)
	final := resp.Request.URL
	if !strings.HasPrefix(final.String(), s.redirect) || final.Query().Get("code") == "" {
		t.Fatalf("landed on %s: %s", final, page)
	}
	claims := s.exchange(final.Query().Get("code"), verifier)
	if claims["iss"] != s.base+"/sandbox/t/"+s.org.Domain || claims["dbs"] != "sandbox" || claims["sci"] != s.idp {
		t.Fatalf("claims %v", claims)
	}
	// The browser session it opened serves the sandbox issuer only.
	if final, _ := s.authorizeSilently(c); final.Query().Get("code") == "" {
		t.Fatalf("sandbox prompt=none landed on %s", final)
	}
	s.env = identity.Production
	if _, page := c.get(s.issuer() + "/authorize?" + q.Encode()); !strings.Contains(page, "application is unknown") {
		t.Fatalf("the sandbox application at the production issuer: %s", page)
	}
}

// TestSandboxIdPInitiatedSession: an IdP-initiated sign-in through a
// sandbox connection opens a sandbox browser session: the sandbox issuer
// completes prompt=none with sandbox tokens.
func TestSandboxIdPInitiatedSession(t *testing.T) {
	s := newStack(t, identity.Sandbox)
	s.uploadMetadata()
	on := true
	if _, err := s.sso.UpdateConnection(t.Context(), s.id, s.idp, sso.Update{AllowIdPInitiated: &on}); err != nil {
		t.Fatal(err)
	}
	s.put(s.idpURL+"/shortcuts/app", mustJSON(map[string]string{"name": "app", "service_provider": s.sso.EntityID(s.idp)}))
	c := s.client()
	c.idpLogin(s)
	_, page := c.get(s.idpURL + "/login/app")
	resp, page := c.submit(page, nil)
	if got := resp.Request.URL.String(); got != s.redirect {
		t.Fatalf("landed on %s: %s", got, page)
	}
	final, verifier := s.authorizeSilently(c)
	if final.Query().Get("code") == "" {
		t.Fatalf("sandbox prompt=none landed on %s", final)
	}
	if claims := s.exchange(final.Query().Get("code"), verifier); claims["iss"] != s.base+"/sandbox/t/"+s.org.Domain ||
		claims["sci"] != s.idp {
		t.Fatalf("claims %v", claims)
	}
}
