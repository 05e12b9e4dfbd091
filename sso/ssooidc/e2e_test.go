package ssooidc_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/sso"
)

// TestSignInThroughProvider runs Cryptr's era-1 SSO URL end to end: the
// application sends the browser to /enterprise/{idp_id}/login with OAuth
// parameters, the provider validates them and routes back to SSO, the real
// IdP authenticates the user, the ACS provisions them and the provider
// redirects to the application with a code that the token endpoint
// exchanges for an ID token.
func TestSignInThroughProvider(t *testing.T) {
	s := newStack(t)
	s.uploadMetadata()
	verifier, challenge := pkce()
	c := s.client()
	q := url.Values{"client_id": {s.app.ClientID}, "redirect_uri": {s.redirect}, "state": {"xyz"}, "locale": {"en"},
		"scope": {"openid email profile"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}, "nonce": {"n-1"}}
	resp, page := c.get(s.base + "/enterprise/" + s.idp + "/login?" + q.Encode())
	if !strings.HasPrefix(resp.Request.URL.String(), s.idpURL+"/sso") || !strings.Contains(page, `name="password"`) {
		t.Fatalf("expected the IdP login form, got %s: %s", resp.Request.URL, page)
	}
	resp, page = c.signInAtIdP(page)
	final := resp.Request.URL
	if !strings.HasPrefix(final.String(), s.redirect) || final.Query().Get("state") != "xyz" || final.Query().Get("code") == "" {
		t.Fatalf("landed on %s: %s", final, page)
	}
	claims := s.exchange(final.Query().Get("code"), verifier)
	if claims["email"] != userEmail || claims["nonce"] != "n-1" || claims["sci"] != s.idp {
		t.Fatalf("claims %v", claims)
	}
	meta, _ := claims["resource_owner_metadata"].(map[string]any)
	if meta["saml_nameid"] == nil || meta["email"] != userEmail {
		t.Fatalf("resource_owner_metadata %v", claims["resource_owner_metadata"])
	}
	u, err := s.id.GetUserByEmail(t.Context(), s.org.Domain, userEmail)
	if err != nil || len(u.SSOIdentities) != 1 || u.SSOIdentities[0].ConnectionID != s.idp || u.Profile.GivenName != "Alice" {
		t.Fatalf("user %#v %v", u, err)
	}
}

// TestHomeRealmDiscovery: the hosted login page's "continue with SSO" with
// an email of the organization's domain goes to its IdP; another domain
// does not.
func TestHomeRealmDiscovery(t *testing.T) {
	s := newStack(t)
	verifier, challenge := pkce()
	q := url.Values{"client_id": {s.app.ClientID}, "redirect_uri": {s.redirect}, "client_state": {"st"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "locale": {"en"}}

	// Before the metadata is uploaded the connection is not usable.
	c := s.client()
	_, page := c.get(s.base + "/t/" + s.org.Domain + "/?" + q.Encode())
	_, page = c.submit(page, url.Values{"email": {userEmail}, "action": {"sso"}})
	if strings.Contains(page, `name="SAMLRequest"`) {
		t.Fatal("routed to an unconfigured connection")
	}

	s.uploadMetadata()
	c = s.client()
	_, page = c.get(s.base + "/t/" + s.org.Domain + "/?" + q.Encode())
	resp, page := c.submit(page, url.Values{"email": {"bob@elsewhere.test"}, "action": {"sso"}})
	if strings.HasPrefix(resp.Request.URL.String(), s.idpURL) {
		t.Fatal("an unknown domain was routed to the IdP")
	}
	resp, page = c.submit(page, url.Values{"email": {userEmail}, "action": {"sso"}})
	if !strings.HasPrefix(resp.Request.URL.String(), s.idpURL+"/sso") {
		t.Fatalf("not routed to the IdP: %s %s", resp.Request.URL, page)
	}
	resp, _ = c.signInAtIdP(page)
	final := resp.Request.URL
	if !strings.HasPrefix(final.String(), s.redirect) || final.Query().Get("state") != "st" {
		t.Fatalf("landed on %s", final)
	}
	if claims := s.exchange(final.Query().Get("code"), verifier); claims["email"] != userEmail {
		t.Fatalf("claims %v", claims)
	}

	// A disabled connection is not offered any more.
	active := false
	if _, err := s.sso.SetActive(t.Context(), s.id, s.idp, active); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.sso.Route(t.Context(), routeFor(userEmail)); ok || err != nil {
		t.Fatalf("disabled connection routed (%v)", err)
	}
	// An email of an organization without SSO is not routed.
	if _, ok, _ := s.sso.Route(t.Context(), routeFor("x@nowhere.test")); ok {
		t.Fatal("unknown domain routed")
	}
	if resp, _ := c.get(s.base + "/enterprise/" + s.idp + "/login"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("login on a disabled connection: %d", resp.StatusCode)
	}
}

func routeFor(email string) sso.RouteRequest {
	return sso.RouteRequest{Env: identity.Production, Email: email}
}
