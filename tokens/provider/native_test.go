package provider

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestNativeRedirects (RFC 8252 §7.1, §7.3): a native application signs
// in with a loopback redirect URI on whatever port it listens on, and
// with a private-use URI scheme; the code is bound to the URI the
// request used, and a web application's loopback URI still matches
// exactly.
func TestNativeRedirects(t *testing.T) {
	e := newEnv(t)
	native, _, err := e.ids.CreateApplication(t.Context(), e.org.Domain, identity.Application{Name: "cli",
		ApplicationType: identity.AppNative, AllowedRedirectURLs: []string{"http://127.0.0.1/callback", "com.example.cli:/oauth"}})
	if err != nil {
		t.Fatal(err)
	}
	authorize := func(redirect, challenge string) string {
		return e.issuer() + "/authorize?" + url.Values{"response_type": {"code"}, "client_id": {native.ClientID},
			"redirect_uri": {redirect}, "scope": {"openid email"}, "state": {"s"}, "code_challenge": {challenge},
			"code_challenge_method": {"S256"}}.Encode()
	}
	for _, redirect := range []string{"http://127.0.0.1:53123/callback", "http://127.0.0.1/callback", "com.example.cli:/oauth"} {
		t.Run(redirect, func(t *testing.T) {
			v, ch := pkce("n")
			loc := e.magicLogin(e.newBrowser(), authorize(redirect, ch), userEmail)
			if !strings.HasPrefix(loc.String(), redirect+"?") || loc.Query().Get("code") == "" {
				t.Fatalf("redirect %s, want a code at %s", loc, redirect)
			}
			exchange := func(uri string) *resp {
				return e.postForm(http.DefaultClient, e.issuer()+"/oauth/token", url.Values{"grant_type": {"authorization_code"},
					"code": {loc.Query().Get("code")}, "code_verifier": {v}, "client_id": {native.ClientID}, "redirect_uri": {uri}})
			}
			if strings.Contains(redirect, ":53123") {
				// The code is bound to the port the request used.
				if r := exchange("http://127.0.0.1:53124/callback"); r.status == http.StatusOK {
					t.Fatal("the code redeemed with another port")
				}
			}
			if r := exchange(redirect); r.status != http.StatusOK {
				t.Fatalf("token: %d %s", r.status, r.body)
			}
		})
	}
	// Refused on the error page, never redirected: another path, a
	// name instead of the address, another scheme of the same name.
	_, ch := pkce("m")
	for _, redirect := range []string{"http://127.0.0.1:53123/other", "http://localhost:53123/callback", "com.example.cli:/other"} {
		if r := e.get(e.newBrowser(), authorize(redirect, ch)); r.status != http.StatusBadRequest || r.header.Get("Location") != "" {
			t.Errorf("%s: %d %q", redirect, r.status, r.header.Get("Location"))
		}
	}
	// A web application's loopback URI matches exactly.
	web, _, err := e.ids.CreateApplication(t.Context(), e.org.Domain, identity.Application{Name: "local web",
		ApplicationType: identity.AppRegularWeb, AllowedRedirectURLs: []string{"http://127.0.0.1/callback"}})
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"response_type": {"code"}, "client_id": {web.ClientID}, "redirect_uri": {"http://127.0.0.1:53123/callback"},
		"scope": {"openid"}, "state": {"s"}}
	if r := e.get(e.newBrowser(), e.issuer()+"/authorize?"+q.Encode()); r.status != http.StatusBadRequest {
		t.Errorf("web application with another port: %d %q", r.status, r.header.Get("Location"))
	}
	// Registration: a private-use scheme only for native applications.
	if _, _, err := e.ids.CreateApplication(t.Context(), e.org.Domain, identity.Application{Name: "spa2",
		ApplicationType: identity.AppReact, AllowedRedirectURLs: []string{"com.example.cli:/oauth"}}); err == nil {
		t.Error("a browser application registered a private-use scheme")
	}
}
