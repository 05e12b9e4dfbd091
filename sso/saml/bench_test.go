package saml

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"github.com/beevik/etree"
	csaml "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

type noReplay struct{}

func (noReplay) Claim(context.Context, string, string, time.Time) (bool, error) { return true, nil }

// BenchmarkParseResponse compares a full ParseResponse of a signed response
// (Response and Assertion both signed, as crewjam's IdP sends) with the bare
// goxmldsig verification of the Response signature on the same document.
// Report: ParseResponse ns/op ÷ VerifyOnly ns/op.
func BenchmarkParseResponse(b *testing.B) {
	e := newEnv(b, func(_ *env, _ *csaml.IdentityProvider, c *Config) { c.ReplayCache = noReplay{} })
	resp, reqID := e.spInitiated()
	raw := decodeRaw(b, resp)

	b.Run("ParseResponse", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if _, err := e.sp.ParseResponse(context.Background(), resp, spACS, []string{reqID}); err != nil {
				b.Fatal(err.(*Error).AuditString())
			}
		}
	})
	b.Run("VerifyOnly", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		store := &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{idpKeys().cert}}
		for b.Loop() {
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(raw); err != nil {
				b.Fatal(err)
			}
			vc := dsig.NewDefaultValidationContext(store)
			vc.Clock = dsig.NewFakeClockAt(e.now)
			if _, err := vc.Validate(doc.Root()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
