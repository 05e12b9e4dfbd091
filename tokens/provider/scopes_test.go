package provider

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestAllowedScopes (the attacker's test): an application with
// AllowedScopes grants no other scope but OpenID Connect's own, whoever
// asks: the authorization request is sent back to the application with
// invalid_scope (nothing to sign in to), client_credentials is 400
// invalid_scope; what it allows is granted. An application without the
// list grants any scope, as before. Narrowing the list drops the scopes
// it no longer allows from the next refresh.
func TestAllowedScopes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	allow := func(app *identity.Application, scopes ...string) {
		t.Helper()
		if _, err := e.ids.UpdateApplication(ctx, e.org.Domain, app.ClientID, func(a *identity.Application) error {
			a.AllowedScopes = scopes
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	machine := func(scope string) *resp {
		return e.postForm(http.DefaultClient, e.issuer()+"/oauth/token", url.Values{"grant_type": {"client_credentials"},
			"client_id": {e.machine.ClientID}, "client_secret": {e.macSecret}, "scope": {scope}})
	}
	// No list: any scope.
	if r := machine("invoices:write admin"); r.status != http.StatusOK || r.json(t)["scope"] != "invoices:write admin" {
		t.Fatalf("no list: %d %s", r.status, r.body)
	}
	allow(e.machine, "invoices:read", "invoices:write")
	allow(e.spa, "invoices:read")
	for _, tc := range []struct {
		scope string
		ok    bool
	}{
		{"invoices:read", true},
		{"invoices:read invoices:write", true},
		{"", true},
		{"invoices:read admin", false},
		{"*", false},
		{"invoices:READ", false},
	} {
		r := machine(tc.scope)
		if tc.ok && r.status != http.StatusOK || !tc.ok && (r.status != http.StatusBadRequest || r.json(t)["error"] != "invalid_scope") {
			t.Errorf("client_credentials %q: %d %s", tc.scope, r.status, r.body)
		}
	}
	// The authorization request: refused back to the application.
	_, ch := pkce("s")
	r := e.get(e.newBrowser(), e.spaAuthorize(ch, url.Values{"scope": {"openid invoices:write"}}))
	loc, _ := url.Parse(r.header.Get("Location"))
	if r.status/100 != 3 || loc == nil || loc.Query().Get("error") != "invalid_scope" || !strings.HasPrefix(loc.String(), spaRedirect) {
		t.Fatalf("authorize with a scope the application may not ask for: %d %q", r.status, r.header.Get("Location"))
	}
	// Allowed and OpenID Connect scopes: signed in, granted.
	v, ch := pkce("t")
	loc = e.magicLogin(e.newBrowser(), e.spaAuthorize(ch, url.Values{"scope": {"openid profile email offline_access invoices:read"}}), userEmail)
	tok := e.exchange(loc.Query().Get("code"), v)
	if tok.status != http.StatusOK || tok.json(t)["scope"] != "openid profile email offline_access invoices:read" {
		t.Fatalf("allowed scopes: %d %s", tok.status, tok.body)
	}
	// Narrowed: the next refresh drops invoices:read.
	allow(e.spa, "invoices:list")
	ref := e.refresh(tok.json(t)["refresh_token"].(string))
	if ref.status != http.StatusOK || ref.json(t)["scope"] != "openid profile email offline_access" {
		t.Fatalf("refresh after narrowing: %d %s", ref.status, ref.body)
	}
	if scp := decodeJWT(t, ref.json(t)["access_token"].(string))["scp"]; strings.Contains(strings.Join(toStrings(scp), " "), "invoices") {
		t.Fatalf("refreshed access token scp %v", scp)
	}
	// A refresh request's nonce is not the ID token's (standard clients).
	ref2 := e.postForm(http.DefaultClient, e.issuer()+"/oauth/token", url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {ref.json(t)["refresh_token"].(string)}, "client_id": {e.spa.ClientID}, "nonce": {"attacker-chosen"}})
	if ref2.status != http.StatusOK {
		t.Fatalf("refresh: %d %s", ref2.status, ref2.body)
	}
	if n, ok := decodeJWT(t, ref2.json(t)["id_token"].(string))["nonce"]; ok {
		t.Fatalf("refreshed ID token nonce %v", n)
	}
}

func toStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
