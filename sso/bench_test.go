package sso_test

import (
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// BenchmarkACS measures the assertion consumer service on a signed response
// (HTTP form parsing, every SECURITY.md check, the store-backed replay
// cache, the user lookup and update, the audit event and the hand-over to
// the provider) beside the bare XML signature verification of the same
// response, in the same run. Responses are made by the real IdP outside
// the timed region.
func BenchmarkACS(b *testing.B) {
	f := newFixture(b)
	// The IdP signs plain assertions for the paired comparison; the
	// encrypted case (our SP publishes an encryption key) is measured last.
	f.plainAssertions = true
	idp := f.connection()
	f.json(f.do("PUT", "/api/v2/sso-connections/"+idp, f.token, map[string]any{"allow_idp_initiated": true}), http.StatusOK)
	// The user exists after a first sign-in: the benchmark measures the
	// steady state (sign-ins of known users).
	f.browser().acs(idp, f.idpInitiated(idp))

	b.Run("signature-verification-only", func(b *testing.B) {
		resp := f.idpInitiated(idp)
		raw, _ := base64.StdEncoding.DecodeString(resp)
		ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{testKeys()[0].cert}})
		ctx.Clock = dsig.NewFakeClockAt(f.clock.Now())
		b.ResetTimer()
		for range b.N {
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(raw); err != nil {
				b.Fatal(err)
			}
			el := doc.Root().FindElement("./Assertion")
			if el == nil {
				b.Fatal("no assertion")
			}
			if _, err := ctx.Validate(el); err != nil {
				b.Fatal(err)
			}
		}
	})

	acs := func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			form := url.Values{"SAMLResponse": {f.idpInitiated(idp)}}.Encode()
			req := httptest.NewRequest("POST", baseURL+"/enterprise/"+idp+"/acs", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			b.StartTimer()
			f.mux.ServeHTTP(rec, req)
			if rec.Code != http.StatusSeeOther {
				b.Fatalf("acs: %d %s", rec.Code, rec.Body)
			}
		}
	}
	b.Run("acs-full", acs)
	b.Run("acs-full-encrypted", func(b *testing.B) {
		f.plainAssertions = false
		acs(b)
	})
}
