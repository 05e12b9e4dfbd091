package saml

import (
	"testing"

	"github.com/beevik/etree"
)

// inspectResponseTree is the tree-walking version of inspectResponse
// (inspectTree, which the one-pass verifier runs on its tree) on raw,
// the reference FuzzInspectResponseMatchesTree holds the token version
// to. It checks the structure of the received document: a
// samlp:Response root with exactly one saml:Assertion or
// saml:EncryptedAssertion child and no other element of those names
// anywhere (signature wrapping hides a second assertion in Extensions,
// Object, Advice or inside the first one).
func inspectResponseTree(raw []byte) (*responseShape, *Error) {
	doc := etree.NewDocument()
	doc.ReadSettings.Permissive = false
	return inspectTree(doc, doc.ReadFromBytes(raw))
}

// FuzzInspectResponseMatchesTree: the one-pass inspectResponse decides as
// the tree-walking version did: the same refusal reason, or the same
// Destination, IssueInstant, InResponseTo and assertion ID. Seeds: the
// genuine responses of each shape, the signature-wrapping documents of
// TestXMLSignatureWrapping, and edge cases of the structure rules.
func FuzzInspectResponseMatchesTree(f *testing.F) {
	e := newEnv(f, withIdPInitiated())
	plain, _ := e.spInitiated()
	f.Add(decodeRaw(f, plain))
	enc := newEnv(f, withSPKey())
	encrypted, _ := enc.spInitiated()
	f.Add(decodeRaw(f, encrypted))
	for _, v := range xswVariants() {
		raw, err := v.build(f, plain).WriteToBytes()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	const (
		p = `xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"`
		a = `xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"`
	)
	for _, s := range []string{
		``,
		`<x/>`,
		`<samlp:Response ` + p + `/>`,
		`<samlp:Response ` + p + ` ` + a + ` Destination="d"><saml:Assertion ID="a1"/></samlp:Response>`,
		`<samlp:Response ` + p + ` ` + a + ` Destination="d" Destination="e"><saml:Assertion ID="a1" ID="a2"/></samlp:Response>`,
		`<samlp:Response ` + p + ` ` + a + ` Destination="d" samlp:Destination="e"><saml:Assertion ID="a1"/></samlp:Response>`,
		`<samlp:Response ` + p + ` ` + a + `><saml:Assertion ID=""/></samlp:Response>`,
		`<samlp:Response ` + p + ` ` + a + `><saml:Assertion/><saml:EncryptedAssertion/></samlp:Response>`,
		`<samlp:Response ` + p + ` ` + a + `><x><saml:Assertion ID="a"/></x></samlp:Response>`,
		`<samlp:Response ` + p + `><saml:Assertion ` + a + ` ID="a"/></samlp:Response>`,
		`<samlp:Response ` + p + `><Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion" ID="a"/></samlp:Response>`,
		`<samlp:Response ` + p + `><saml:Assertion ID="a"/></samlp:Response>`,
		`<Response xmlns="urn:oasis:names:tc:SAML:2.0:protocol" xmlns="x"><saml:Assertion ` + a + ` ID="a"/></Response>`,
		`<samlp:Response ` + p + ` ` + a + `><saml:Assertion ID="a"/></samlp:Response><samlp:Response ` + p + ` ` + a + `><saml:Assertion ID="b"/></samlp:Response>`,
		`<samlp:Response ` + p + ` ` + a + `><saml:Assertion ID="a"/></samlp:Response><!DOCTYPE x>`,
		`<?xml version="1.0"?><?pi x?><samlp:Response ` + p + ` ` + a + `><saml:Assertion ID="a"/></samlp:Response>`,
		`<samlp:Response ` + p + ` ` + a + `><?xml version="1.0"?><saml:Assertion ID="a"/></samlp:Response>`,
		`<samlp:Response ` + p + ` ` + a + `><saml:Assertion ID="a"></saml:Assertion></samlp:Responsex>`,
		`<samlp:Response ` + p + ` ` + a + `><saml:Assertion ID="a"><saml:Assertion ID="b"/></saml:Assertion></samlp:Response>`,
		`<samlp:Response ` + p + ` ` + a + `><saml:Assertion ID="a"/>`,
		`<?xml version="1.0" encoding="ISO-8859-1"?><samlp:Response ` + p + ` ` + a + `><saml:Assertion ID="a"/></samlp:Response>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, gerr := inspectResponse(raw)
		want, werr := inspectResponseTree(raw)
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("one-pass %v, tree %v, on %q", gerr, werr, raw)
		}
		if gerr != nil {
			if gerr.Reason != werr.Reason {
				t.Fatalf("reason %q (%s), tree %q (%s), on %q", gerr.Reason, gerr.Detail, werr.Reason, werr.Detail, raw)
			}
			return
		}
		if *got != *want {
			t.Fatalf("shape %+v, tree %+v, on %q", *got, *want, raw)
		}
	})
}
