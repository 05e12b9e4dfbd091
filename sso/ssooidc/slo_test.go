package ssooidc_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/sso"
)

// idpLogin opens a session at the IdP (its /login form, posted directly).
func (c *client) idpLogin(s *stack) {
	c.t.Helper()
	resp, page := c.post(s.idpURL+"/login", url.Values{"user": {userName}, "password": {userPassword}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `"NameID"`) {
		c.t.Fatalf("IdP login: %d %s", resp.StatusCode, page)
	}
}

// authorize runs the application's authorization request with prompt=none
// and returns where the browser landed.
func (s *stack) authorizeSilently(c *client) (*url.URL, string) {
	s.t.Helper()
	verifier, challenge := pkce()
	q := url.Values{"response_type": {"code"}, "client_id": {s.app.ClientID}, "redirect_uri": {s.redirect},
		"scope": {"openid email profile"}, "state": {"silent"}, "nonce": {"n-silent"}, "prompt": {"none"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	resp, _ := c.get(s.issuer() + "/authorize?" + q.Encode())
	return resp.Request.URL, verifier
}

// postSAMLForms submits the auto-posting SAML forms (HTTP-POST binding)
// a page may hold, as the page's script would.
func (c *client) postSAMLForms(resp *http.Response, page string) (*http.Response, string) {
	for i := 0; i < 5 && (strings.Contains(page, `name="SAMLRequest"`) || strings.Contains(page, `name="SAMLResponse"`)); i++ {
		resp, page = c.submit(page, nil)
	}
	return resp, page
}

// TestIdPInitiatedOpensProviderSession: a sign-in started at the IdP
// (samlidp's shortcut) lands on the application's default redirection
// with a provider browser session, so the application's prompt=none
// authorization completes without another SAML exchange.
func TestIdPInitiatedOpensProviderSession(t *testing.T) {
	s := newStack(t)
	s.uploadMetadata()
	on := true
	if _, err := s.sso.UpdateConnection(t.Context(), s.id, s.idp, sso.Update{AllowIdPInitiated: &on}); err != nil {
		t.Fatal(err)
	}
	s.put(s.idpURL+"/shortcuts/app", mustJSON(map[string]string{"name": "app", "service_provider": s.sso.EntityID(s.idp)}))

	c := s.client()
	c.idpLogin(s)
	resp, page := c.get(s.idpURL + "/login/app")
	if !strings.Contains(page, `name="SAMLResponse"`) {
		t.Fatalf("IdP-initiated: %d %s", resp.StatusCode, page)
	}
	resp, page = c.submit(page, nil)
	if got := resp.Request.URL.String(); got != s.redirect {
		t.Fatalf("landed on %s (%d): %s", got, resp.StatusCode, page)
	}
	final, verifier := s.authorizeSilently(c)
	if !strings.HasPrefix(final.String(), s.redirect) || final.Query().Get("code") == "" || final.Query().Get("state") != "silent" {
		t.Fatalf("prompt=none after an IdP-initiated sign-in landed on %s", final)
	}
	claims := s.exchange(final.Query().Get("code"), verifier)
	if claims["email"] != userEmail || claims["sci"] != s.idp || claims["nonce"] != "n-silent" {
		t.Fatalf("claims %v", claims)
	}

	// Control: a browser without the IdP-initiated sign-in gets
	// login_required, so the session above is what made it silent.
	if final, _ := s.authorizeSilently(s.client()); final.Query().Get("error") != "login_required" {
		t.Fatalf("prompt=none without a session landed on %s", final)
	}
}

// signedInClient signs a browser in through the provider and the real IdP
// (SP-initiated) and returns it with the ID token's claims.
func (s *stack) signedInClient() *client {
	s.t.Helper()
	c := s.client()
	c.idpLogin(s)
	verifier, challenge := pkce()
	q := url.Values{"client_id": {s.app.ClientID}, "redirect_uri": {s.redirect}, "state": {"xyz"}, "locale": {"en"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	resp, page := c.get(s.base + "/enterprise/" + s.idp + "/login?" + q.Encode())
	resp, page = c.postSAMLForms(resp, page)
	final := resp.Request.URL
	if !strings.HasPrefix(final.String(), s.redirect) || final.Query().Get("code") == "" {
		s.t.Fatalf("sign-in landed on %s: %s", final, page)
	}
	if claims := s.exchange(final.Query().Get("code"), verifier); claims["sci"] != s.idp {
		s.t.Fatalf("claims %v", claims)
	}
	if final, _ := s.authorizeSilently(c); final.Query().Get("code") == "" {
		s.t.Fatalf("no provider session after the sign-in: %s", final)
	}
	return c
}

// TestSPInitiatedSingleLogout: the application's logout (end-session, and
// Cryptr's slo-after-revoke-token), once the user confirms it, ends the
// provider session, sends a
// signed LogoutRequest to the IdP, whose LogoutResponse we verify at
// /enterprise/{idp_id}/slo before going on to the allowed logout URL; the
// IdP session is over too.
func TestSPInitiatedSingleLogout(t *testing.T) {
	s := newStack(t)
	s.uploadMetadata()
	for _, logout := range []struct {
		name string
		url  func() string
	}{
		{"end-session", func() string {
			return s.base + "/t/" + s.org.Domain + "/logout?" + url.Values{"client_id": {s.app.ClientID},
				"post_logout_redirect_uri": {s.base + "/"}, "state": {"bye"}}.Encode()
		}},
		{"slo-after-revoke-token", func() string {
			return s.base + "/api/v1/tenants/" + s.org.Domain + "/" + s.app.ClientID + "/oauth/token/slo-after-revoke-token?" +
				url.Values{"target_url": {s.base + "/"}}.Encode()
		}},
	} {
		t.Run(logout.name, func(t *testing.T) {
			c := s.signedInClient()
			hops := []string{}
			c.hc.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
				hops = append(hops, req.URL.String())
				return nil
			}
			resp, page := c.get(logout.url())
			// Without an ID token hint or a slo_code, the provider asks
			// the user to confirm; the form posts the request back.
			if !strings.Contains(page, `name="csrf_token"`) {
				t.Fatalf("no logout confirmation: %d %s", resp.StatusCode, page)
			}
			u, _ := url.Parse(logout.url())
			resp, page = c.submit(page, u.Query())
			resp, _ = c.postSAMLForms(resp, page)
			c.hc.CheckRedirect = nil
			if got := resp.Request.URL; got.Path != "/" || got.Host != strings.TrimPrefix(s.base, "http://") {
				t.Fatalf("logout ended at %s (hops %v)", got, hops)
			}
			sawIdP, sawSLO := false, false
			for _, h := range hops {
				sawIdP = sawIdP || strings.HasPrefix(h, s.idpURL+"/slo?SAMLRequest=")
				sawSLO = sawSLO || strings.HasPrefix(h, s.sso.SLOURL(s.idp))
			}
			if !sawIdP || !sawSLO {
				t.Fatalf("no LogoutRequest to the IdP or no LogoutResponse back: %v", hops)
			}
			if final, _ := s.authorizeSilently(c); final.Query().Get("error") != "login_required" {
				t.Fatalf("provider session still open: %s", final)
			}
			// The IdP session is over: a new sign-in shows its login form.
			_, page = c.get(s.base + "/enterprise/" + s.idp + "/login")
			if !strings.Contains(page, `name="password"`) {
				t.Fatalf("IdP session still open: %s", page)
			}
		})
	}

	// A LogoutResponse nobody asked for (no RelayState we issued) is refused.
	c := s.client()
	resp, _ := c.get(s.sso.SLOURL(s.idp) + "?SAMLResponse=AAAA&RelayState=forged")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("forged LogoutResponse: %d", resp.StatusCode)
	}
}

// TestIdPInitiatedSingleLogout: a logout at the IdP sends us a signed
// LogoutRequest, which ends the provider sessions the connection opened for
// the user (sso.SessionEnder), in every browser.
func TestIdPInitiatedSingleLogout(t *testing.T) {
	s := newStack(t)
	s.uploadMetadata()
	c := s.signedInClient()
	other := s.signedInClient() // a second browser of the same user
	resp, page := c.get(s.idpURL + "/logout")
	resp, page = c.postSAMLForms(resp, page)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "logged out") {
		t.Fatalf("IdP logout: %d %s", resp.StatusCode, page)
	}
	for name, b := range map[string]*client{"this browser": c, "another browser": other} {
		if final, _ := s.authorizeSilently(b); final.Query().Get("error") != "login_required" {
			t.Fatalf("%s: provider session still open after the IdP's logout: %s", name, final)
		}
	}
}
