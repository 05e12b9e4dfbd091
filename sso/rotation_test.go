package sso_test

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestCertificateRotation: the IdP publishes its next certificate beside the
// current one; both verify during the overlap, and once the old one is
// dropped from the metadata its signatures are refused.
func TestCertificateRotation(t *testing.T) {
	f := newFixture(t)
	idp := f.connection()
	oldCert := base64.StdEncoding.EncodeToString(testKeys()[0].cert.Raw)
	newCert := base64.StdEncoding.EncodeToString(testKeys()[1].cert.Raw)
	md := f.idpMetadata()
	i := strings.Index(md, "<KeyDescriptor")
	j := strings.Index(md, "</KeyDescriptor>") + len("</KeyDescriptor>")
	if i < 0 || j < i {
		t.Fatalf("no KeyDescriptor in %s", md)
	}
	second := strings.Replace(md[i:j], oldCert, newCert, 1)
	both := md[:j] + second + md[j:]
	f.json(f.do("PUT", "/api/v2/sso-connections/"+idp, f.token, map[string]any{"metadata": both}), http.StatusOK)

	b := f.browser()
	if r := b.acs(idp, b.startLogin(idp, oauthQuery())); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("old key during the overlap: %d", r.StatusCode)
	}
	f.idp.Key, f.idp.Certificate = testKeys()[1].key, testKeys()[1].cert
	if r := b.acs(idp, b.startLogin(idp, oauthQuery())); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("new key during the overlap: %d", r.StatusCode)
	}
	// The IdP drops the old certificate.
	onlyNew := strings.Replace(md, oldCert, newCert, -1)
	f.json(f.do("PUT", "/api/v2/sso-connections/"+idp, f.token, map[string]any{"metadata": onlyNew}), http.StatusOK)
	if r := b.acs(idp, b.startLogin(idp, oauthQuery())); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("new key after the rotation: %d", r.StatusCode)
	}
	f.idp.Key, f.idp.Certificate = testKeys()[0].key, testKeys()[0].cert
	assertFailed(t, f, b.acs(idp, b.startLogin(idp, oauthQuery())), "untrusted_certificate")
}

// TestSLODeflateBomb: a LogoutRequest that inflates to 64 MiB on the
// HTTP-Redirect binding is refused without being inflated in full.
func TestSLODeflateBomb(t *testing.T) {
	f := newFixture(t)
	idp := f.connection()
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 64 {
		_, _ = w.Write(zeros)
	}
	_ = w.Close()
	q := url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(buf.Bytes())}}
	resp := f.browser().get(baseURL + "/enterprise/" + idp + "/slo?" + q.Encode())
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body(resp), "Authentication failed") {
		t.Fatalf("%d", resp.StatusCode)
	}
	if e := f.lastEvent(identity.EventSSOSAMLFailed); e == nil || e.Data["reason"] != "message_too_large" {
		t.Fatalf("event %#v", e)
	}
}

// TestUnknownAndMalformedRequests: nothing the SAML endpoints receive
// makes them fail with a 5xx.
func TestUnknownAndMalformedRequests(t *testing.T) {
	f := newFixture(t)
	idp := f.connection()
	b := f.browser()
	for _, c := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/enterprise/nope/metadata", "", 404},
		{"GET", "/enterprise/acme_company_AAAAAAAAAAAAAAAAAAAAAA/login", "", 404},
		{"POST", "/enterprise/acme_company_AAAAAAAAAAAAAAAAAAAAAA/acs", "SAMLResponse=x", 404},
		{"POST", "/enterprise/" + idp + "/acs", "", 403},
		{"POST", "/enterprise/" + idp + "/acs", "SAMLResponse=" + url.QueryEscape(base64.StdEncoding.EncodeToString([]byte("<x/>"))), 403},
		{"POST", "/enterprise/" + idp + "/acs", "%zz", 403},
		{"GET", "/enterprise/" + idp + "/slo", "", 403},
		{"GET", "/enterprise/" + idp + "/slo?SAMLRequest=%%%", "", 403},
		{"POST", "/enterprise/" + idp + "/slo", "SAMLResponse=abc", 403},
		{"GET", "/enterprise/" + idp + "/login?request_id=" + strings.Repeat("x", 300), "", 400},
	} {
		req, _ := http.NewRequest(c.method, baseURL+c.path, strings.NewReader(c.body))
		if c.body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp := b.do(req)
		if resp.StatusCode != c.want {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, resp.StatusCode, c.want)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: no security headers", c.method, c.path)
		}
	}
	if f.userCount() != 0 {
		t.Fatal("a user was created")
	}
}

// TestServiceProviderCacheIsPerConnection: the parsed service provider
// (IdP metadata, certificates, SP key) of a connection is cached, and the
// cache never lets one connection's trust reach another: with both caches
// warm, a response signed by connection A's IdP key is refused by B, whose
// metadata trusts another key, and the other way round; a response valid
// at A is refused at B's ACS.
func TestServiceProviderCacheIsPerConnection(t *testing.T) {
	f := newFixture(t)
	a := f.connection() // trusts testKeys()[0]
	bConn := f.connection()
	oldCert := base64.StdEncoding.EncodeToString(testKeys()[0].cert.Raw)
	newCert := base64.StdEncoding.EncodeToString(testKeys()[1].cert.Raw)
	mdB := strings.ReplaceAll(f.idpMetadata(), oldCert, newCert)
	f.json(f.do("PUT", "/api/v2/sso-connections/"+bConn, f.token, map[string]any{"metadata": mdB}), http.StatusOK)

	useKey := func(i int) { f.idp.Key, f.idp.Certificate = testKeys()[i].key, testKeys()[i].cert }
	br := f.browser()
	// Warm both caches with a successful sign-in each.
	useKey(0)
	if r := br.acs(a, br.startLogin(a, oauthQuery())); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("A with its key: %d", r.StatusCode)
	}
	useKey(1)
	if r := br.acs(bConn, br.startLogin(bConn, oauthQuery())); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("B with its key: %d", r.StatusCode)
	}
	// Each connection refuses the other's key.
	assertFailed(t, f, br.acs(a, br.startLogin(a, oauthQuery())), "untrusted_certificate")
	useKey(0)
	assertFailed(t, f, br.acs(bConn, br.startLogin(bConn, oauthQuery())), "untrusted_certificate")
	// A response A would accept is refused at B's ACS (it is addressed to A).
	resp := br.startLogin(a, oauthQuery())
	assertFailed(t, f, br.acs(bConn, resp), "destination_mismatch")
	if r := br.acs(a, br.startLogin(a, oauthQuery())); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("A after the refusals: %d", r.StatusCode)
	}
}
