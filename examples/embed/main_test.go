package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/flowtest"
)

// TestHostSignsInAndProtectsItsAPI runs the host as a browser and its
// single-page application would: Gatehouse answers under /auth only, the
// user signs in on the hosted page (authorization code with PKCE, the
// login form, the code exchange), and the host's /me answers the
// signed-in user with the access token and refuses a call without one or
// with a garbled one.
func TestHostSignsInAndProtectsItsAPI(t *testing.T) {
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	defer srv.Close()
	h, clientID := host(context.Background(), srv.URL)

	if code, _ := flowtest.Get(t, srv.URL+"/t/acme/.well-known/openid-configuration", ""); code != 404 {
		t.Errorf("Gatehouse answers outside /auth: %d", code)
	}
	res := flowtest.Run(t, flowtest.SignIn{Issuer: srv.URL + "/auth/t/acme", ClientID: clientID,
		RedirectURI: srv.URL + "/callback", Email: "ada@acme.test", Password: "correct horse battery"})
	if !strings.HasPrefix(res.LoginAction, srv.URL+"/auth/") {
		t.Errorf("the login form posts to %s, outside /auth", res.LoginAction)
	}
	if code, body := flowtest.Get(t, srv.URL+"/me", res.AccessToken); code != 200 || body != "signed in as ada@acme.test\n" {
		t.Errorf("/me with the access token: %d %q", code, body)
	}
	for name, tok := range map[string]string{"no token": "", "a garbled token": res.AccessToken + "x",
		"the ID token": res.IDToken} {
		if code, _ := flowtest.Get(t, srv.URL+"/me", tok); code != 401 {
			t.Errorf("/me with %s: %d, want 401", name, code)
		}
	}
}
