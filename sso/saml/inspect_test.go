package saml

import (
	"fmt"
	"testing"

	"github.com/beevik/etree"
)

// inspectResponseTree is the tree-walking version of inspectResponse that
// it replaced, kept as the reference FuzzInspectResponseMatchesTree holds
// it to. It checks the structure of the received document: a
// samlp:Response root with exactly one saml:Assertion or
// saml:EncryptedAssertion child and no other element of those names
// anywhere (signature wrapping hides a second assertion in Extensions,
// Object, Advice or inside the first one).
func inspectResponseTree(raw []byte) (*responseShape, *Error) {
	doc := etree.NewDocument()
	doc.ReadSettings.Permissive = false
	if err := doc.ReadFromBytes(raw); err != nil {
		return nil, fail(ReasonMalformed, "not XML", err)
	}
	root := doc.Root()
	if root == nil {
		return nil, fail(ReasonMalformed, "no root element", nil)
	}
	if ferr := noDirectivesTree(&doc.Element, true); ferr != nil {
		return nil, ferr
	}
	if root.Tag != "Response" || root.NamespaceURI() != nsProtocol {
		return nil, fail(ReasonMalformed, fmt.Sprintf("root element is {%s}%s, not a samlp:Response", root.NamespaceURI(), root.Tag), nil)
	}
	shape := &responseShape{}
	var err *Error
	if shape.destination, err = uniqueAttrTree(root, "Destination"); err != nil {
		return nil, err
	}
	if shape.issueInstant, err = uniqueAttrTree(root, "IssueInstant"); err != nil {
		return nil, err
	}
	if shape.inResponseTo, err = uniqueAttrTree(root, "InResponseTo"); err != nil {
		return nil, err
	}
	var found []*etree.Element
	var walk func(el *etree.Element)
	walk = func(el *etree.Element) {
		for _, c := range el.ChildElements() {
			if c.Tag == "Assertion" || c.Tag == "EncryptedAssertion" {
				found = append(found, c)
			}
			walk(c)
		}
	}
	walk(root)
	if len(found) != 1 {
		return nil, fail(ReasonAssertionCount, fmt.Sprintf("%d Assertion/EncryptedAssertion elements, want exactly 1", len(found)), nil)
	}
	el := found[0]
	if el.Parent() != root || el.NamespaceURI() != nsAssertion {
		return nil, fail(ReasonAssertionCount, "the assertion is not a saml:Assertion child of the Response", nil)
	}
	if el.Tag == "Assertion" {
		if shape.assertionID, err = uniqueAttrTree(el, "ID"); err != nil {
			return nil, err
		}
		if shape.assertionID == "" {
			return nil, fail(ReasonMissingElement, "Assertion has no ID", nil)
		}
	}
	return shape, nil
}

// noDirectivesTree refuses DTDs (<!DOCTYPE ...>) and processing instructions
// other than the XML declaration: SAML messages have no use for them.
func noDirectivesTree(el *etree.Element, document bool) *Error {
	for _, tok := range el.Child {
		switch t := tok.(type) {
		case *etree.Directive:
			return fail(ReasonMalformed, "XML directive (DTD) in the message", nil)
		case *etree.ProcInst:
			if t.Target != "xml" || !document {
				return fail(ReasonMalformed, "XML processing instruction in the message", nil)
			}
		case *etree.Element:
			if ferr := noDirectivesTree(t, false); ferr != nil {
				return ferr
			}
		}
	}
	return nil
}

// uniqueAttrTree returns the value of the unqualified attribute key of el, ""
// if absent, and refuses an element that carries it twice or also under a
// prefix (encoding/xml would read either).
func uniqueAttrTree(el *etree.Element, key string) (string, *Error) {
	var val string
	n := 0
	for _, a := range el.Attr {
		if a.Key == key {
			n++
			val = a.Value
			if a.Space != "" {
				return "", fail(ReasonMalformed, fmt.Sprintf("attribute %s:%s on <%s>", a.Space, a.Key, el.Tag), nil)
			}
		}
	}
	if n > 1 {
		return "", fail(ReasonMalformed, fmt.Sprintf("attribute %s repeated on <%s>", key, el.Tag), nil)
	}
	return val, nil
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
