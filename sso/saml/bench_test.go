package saml

import (
	"bytes"
	"context"
	"crypto/x509"
	"testing"
	"time"

	"github.com/beevik/etree"
	csaml "github.com/crewjam/saml"
	xrv "github.com/mattermost/xml-roundtrip-validator"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
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
	// crewjam verifies both signatures the IdP made (Response and Assertion).
	b.Run("VerifyBoth", func(b *testing.B) {
		b.ReportAllocs()
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
			as := child(doc.Root(), "Assertion")
			ctx, _ := etreeutils.NSBuildParentContext(as)
			detached, err := etreeutils.NSDetatch(ctx, as)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := vc.Validate(detached); err != nil {
				b.Fatal(err)
			}
		}
	})
	// An unauthenticated maximum-size message: the genuine response padded
	// with junk elements up to Config.MaxMessageBytes. It is refused (the
	// signature digest fails); this is the CPU an attacker buys per POST.
	b.Run("MaxSizeJunk", func(b *testing.B) {
		doc := decodeDoc(b, resp)
		as := assertionOf(doc)
		attrs := child(as, "AttributeStatement")
		const junkLen = len(`<saml:Attribute Name="junk"><saml:AttributeValue>xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx</saml:AttributeValue></saml:Attribute>`)
		for range (DefaultMaxMessageBytes - len(raw) - 512) / junkLen {
			a := attrs.CreateElement("saml:Attribute")
			a.CreateAttr("Name", "junk")
			a.CreateElement("saml:AttributeValue").SetText("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
		}
		junk := encodeDoc(b, doc)
		b.SetBytes(int64(len(decodeRaw(b, junk))))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.sp.ParseResponse(context.Background(), junk, spACS, []string{reqID}); err == nil {
				b.Fatal("accepted")
			}
		}
	})
	// The extra round-trip check this package runs before crewjam's own.
	b.Run("RoundTripCheck", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := xrv.Validate(bytes.NewReader(raw)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
