package sso_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	csaml "github.com/crewjam/saml"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/sso"
)

// idpLogoutAnswer has the fixture IdP verify our LogoutRequest and answer
// it; it returns the LogoutResponse URL (HTTP-Redirect) the browser goes to.
func (f *fixture) idpLogoutAnswer(t *testing.T, requestURL string) string {
	t.Helper()
	req, err := csaml.NewIdpLogoutRequest(f.idp, httptest.NewRequest(http.MethodGet, requestURL, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := req.Validate(); err != nil {
		t.Fatalf("the IdP refused our LogoutRequest: %v", err)
	}
	rec := httptest.NewRecorder()
	if err := req.WriteLogoutResponse(rec, req.MakeLogoutResponse(csaml.StatusSuccess)); err != nil {
		t.Fatal(err)
	}
	loc := rec.Header().Get("Location")
	if !strings.HasPrefix(loc, baseURL+"/enterprise/") {
		t.Fatalf("IdP answered %d %q", rec.Code, loc)
	}
	return loc
}

// TestStartLogout: SP-initiated single logout sends a signed LogoutRequest
// to the IdP; its LogoutResponse is accepted once, for the request it
// answers, and sends the browser to ReturnTo.
func TestStartLogout(t *testing.T) {
	f := newFixture(t)
	idp := f.connection()
	in := sso.LogoutStart{Env: identity.Production, IdPID: idp, UserID: "u1", NameID: "jane@acme.test",
		SessionIndex: "i1", ReturnTo: "https://app.acme.test/"}
	to, ok, err := f.svc.StartLogout(t.Context(), in)
	if err != nil || !ok || !strings.HasPrefix(to, idpBase+"/slo?SAMLRequest=") || !strings.Contains(to, "Signature=") {
		t.Fatalf("StartLogout = %q, %t, %v", to, ok, err)
	}
	loc := f.idpLogoutAnswer(t, to)
	b := f.browser()
	if resp := b.get(loc); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != in.ReturnTo {
		t.Fatalf("LogoutResponse: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), body(resp))
	}
	if resp := b.get(loc); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("LogoutResponse used twice: %d", resp.StatusCode)
	}
	if e := f.lastEvent(identity.EventSSOSAMLFailed); e == nil || e.Data["reason"] != sso.ReasonNoLogoutRequest {
		t.Fatalf("failure event %#v", e)
	}

	// The answer to one request presented with another request's
	// RelayState is refused (InResponseTo), and consumes that RelayState.
	first, _, _ := f.svc.StartLogout(t.Context(), in)
	second, _, _ := f.svc.StartLogout(t.Context(), in)
	answer, _ := url.Parse(f.idpLogoutAnswer(t, first))
	su, _ := url.Parse(second)
	q := answer.Query()
	q.Set("RelayState", su.Query().Get("RelayState"))
	answer.RawQuery = q.Encode()
	if resp := b.get(answer.String()); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("answer to another request: %d", resp.StatusCode)
	}
	// Without a ReturnTo the browser sees a signed-out page.
	in.ReturnTo = ""
	to, _, _ = f.svc.StartLogout(t.Context(), in)
	if resp := b.get(f.idpLogoutAnswer(t, to)); resp.StatusCode != http.StatusOK || !strings.Contains(body(resp), "Signed out") {
		t.Fatalf("no ReturnTo: %d", resp.StatusCode)
	}

	// Nothing to do: ok=false, no error.
	noSLO := func() {
		f.idp.LogoutURL = url.URL{}
		f.json(f.do("PUT", "/api/v2/sso-connections/"+idp, f.token, map[string]any{"metadata": f.idpMetadata()}), http.StatusOK)
	}
	for _, c := range []struct {
		name  string
		setup func()
		in    sso.LogoutStart
	}{
		{"no NameID", nil, sso.LogoutStart{Env: identity.Production, IdPID: idp}},
		{"other environment", nil, sso.LogoutStart{Env: identity.Sandbox, IdPID: idp, NameID: "jane@acme.test"}},
		{"unknown connection", nil, sso.LogoutStart{Env: identity.Production, IdPID: "acme_company_AAAAAAAAAAAAAAAAAAAAAA", NameID: "x"}},
		{"malformed connection id", nil, sso.LogoutStart{Env: identity.Production, IdPID: "../x", NameID: "x"}},
		{"IdP without single logout", noSLO, sso.LogoutStart{Env: identity.Production, IdPID: idp, NameID: "jane@acme.test"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.setup != nil {
				c.setup()
			}
			if to, ok, err := f.svc.StartLogout(t.Context(), c.in); ok || err != nil || to != "" {
				t.Fatalf("StartLogout = %q, %t, %v", to, ok, err)
			}
		})
	}
}

// TestAuthnRequestLimit: AuthnRequests stored per client address are
// bounded within AuthnRequestTTL; over the limit /login answers 429.
func TestAuthnRequestLimit(t *testing.T) {
	f := newFixture(t)
	idp := f.connection()
	svc, err := sso.New(sso.Options{Identity: f.id, BaseURL: baseURL, AuthnRequestLimit: 2})
	if err != nil {
		t.Fatal(err)
	}
	h := svc.Handler()
	login := func(addr string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, baseURL+"/enterprise/"+idp+"/login", nil)
		r.RemoteAddr = addr
		h.ServeHTTP(rec, r)
		return rec
	}
	for i := 0; i < 2; i++ {
		if rec := login("192.0.2.7:1000"); rec.Code != http.StatusFound {
			t.Fatalf("login %d: %d", i+1, rec.Code)
		}
	}
	rec := login("192.0.2.7:1001")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "Too many") {
		t.Fatalf("over the limit: %d %v", rec.Code, rec.Header())
	}
	if rec := login("192.0.2.8:1000"); rec.Code != http.StatusFound {
		t.Fatalf("another address: %d", rec.Code)
	}
	f.clock.Advance(sso.DefaultAuthnRequestTTL)
	if rec := login("192.0.2.7:1000"); rec.Code != http.StatusFound {
		t.Fatalf("next window: %d", rec.Code)
	}
}
