package sso_test

import (
	"net/http"
	"testing"

	dsig "github.com/russellhaering/goxmldsig"
)

// TestSHA1SignaturesPerConnection: an IdP that signs with RSA-SHA1 is
// refused by default (reason "unsupported" in the audit log, the public
// page says only "authentication failed"), and accepted once the
// connection allows it through the SSO API (allow_sha1_signatures, a
// Gatehouse extension absent from answers unless set).
func TestSHA1SignaturesPerConnection(t *testing.T) {
	f := newFixture(t)
	idp := f.connection()
	got := f.json(f.do("GET", "/api/v2/sso-connections/"+idp, f.token, nil), http.StatusOK)
	if _, ok := got["allow_sha1_signatures"]; ok {
		t.Fatalf("allow_sha1_signatures present while unset: %v", got)
	}
	f.idp.SignatureMethod = dsig.RSASHA1SignatureMethod
	b := f.browser()
	assertFailed(t, f, b.acs(idp, b.startLogin(idp, oauthQuery())), "unsupported")
	if f.userCount() != 0 {
		t.Fatal("a user was created from a refused response")
	}

	got = f.json(f.do("PUT", "/api/v2/sso-connections/"+idp, f.token, map[string]any{"allow_sha1_signatures": true}), http.StatusOK)
	if got["allow_sha1_signatures"] != true {
		t.Fatalf("allow_sha1_signatures = %v", got["allow_sha1_signatures"])
	}
	b = f.browser()
	if resp := b.acs(idp, b.startLogin(idp, oauthQuery())); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("allowed SHA-1: %d %s", resp.StatusCode, body(resp))
	}

	// Back off: refused again (the cached service provider follows).
	f.json(f.do("PUT", "/api/v2/sso-connections/"+idp, f.token, map[string]any{"allow_sha1_signatures": false}), http.StatusOK)
	b = f.browser()
	assertFailed(t, f, b.acs(idp, b.startLogin(idp, oauthQuery())), "unsupported")
}
