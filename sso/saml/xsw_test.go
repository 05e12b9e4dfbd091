package saml

import (
	"context"
	"net/url"
	"testing"

	"github.com/beevik/etree"
)

const evilName = "ceo@example.com"

// signedOnly returns the IdP's response with only the Response signed
// (which == "response") or only the Assertion signed ("assertion").
func signedOnly(t testing.TB, resp, which string) *etree.Document {
	doc := decodeDoc(t, resp)
	root := doc.Root()
	switch which {
	case "assertion":
		removeChild(root, "Signature")
	case "response":
		removeChild(root, "Signature")
		removeChild(assertionOf(doc), "Signature")
		signed := sign(t, root, idpKeys())
		doc.SetRoot(signed)
	}
	return doc
}

func evilAssertion(orig *etree.Element, newID string, keepSig bool) *etree.Element {
	ev := orig.Copy()
	if newID != "" {
		ev.CreateAttr("ID", newID)
	}
	if !keepSig {
		removeChild(ev, "Signature")
	}
	nameIDOf(ev).SetText(evilName)
	return ev
}

func stripSig(el *etree.Element) *etree.Element {
	c := el.Copy()
	removeChild(c, "Signature")
	return c
}

func addObject(sig *etree.Element, content *etree.Element) {
	obj := sig.CreateElement("ds:Object")
	obj.AddChild(content)
}

// TestXMLSignatureWrapping ports the eight XSW permutations (Somorovsky et
// al., "On Breaking SAML"; crewjam/saml TestXswPermutation*) plus a
// reference-retargeting variant. Each must be refused, and neither our
// ParseResponse nor crewjam/saml underneath it may ever yield the
// attacker's NameID.
func TestXMLSignatureWrapping(t *testing.T) {
	for _, v := range xswVariants() {
		t.Run(v.name, func(t *testing.T) {
			e := newEnv(t)
			resp, reqID := e.spInitiated()
			forged := encodeDoc(t, v.build(t, resp))

			a, err := e.sp.ParseResponse(context.Background(), forged, spACS, []string{reqID})
			if err == nil {
				t.Fatalf("accepted with NameID %q", a.NameID)
			}
			t.Logf("refused: %s", err.(*Error).AuditString())

			// Defence in depth: crewjam/saml alone (without our structural
			// checks) must not yield the attacker's NameID either.
			raw := decodeRaw(t, forged)
			ca, cerr := e.sp.newCrewjam(e.now).ParseXMLResponse(raw, []string{reqID}, mustURL(spACS))
			if cerr == nil && ca.Subject != nil && ca.Subject.NameID != nil && ca.Subject.NameID.Value == evilName {
				t.Fatalf("crewjam/saml alone accepted the attacker's NameID")
			}
		})
	}
}

// xswVariant forges a wrapped response from the IdP's genuine one.
type xswVariant struct {
	name  string
	build func(t testing.TB, resp string) *etree.Document
}

// xswVariants are the signature-wrapping attacks of
// TestXMLSignatureWrapping.
func xswVariants() []xswVariant {
	return []xswVariant{
		{"XSW1 evil response, signed original inside its Signature/Object", func(t testing.TB, resp string) *etree.Document {
			doc := signedOnly(t, resp, "response")
			orig := doc.Root()
			evil := orig.Copy()
			evil.CreateAttr("ID", "id-evil-response")
			evilAs := child(evil, "Assertion")
			nameIDOf(evilAs).SetText(evilName)
			addObject(child(evil, "Signature"), stripSig(orig))
			return docWithRoot(evil)
		}},
		{"XSW2 evil response, signed original as a detached sibling before Signature", func(t testing.TB, resp string) *etree.Document {
			doc := signedOnly(t, resp, "response")
			orig := doc.Root()
			evil := orig.Copy()
			evil.CreateAttr("ID", "id-evil-response")
			nameIDOf(child(evil, "Assertion")).SetText(evilName)
			sig := child(evil, "Signature")
			evil.InsertChildAt(sig.Index(), stripSig(orig))
			return docWithRoot(evil)
		}},
		{"XSW3 evil assertion before the signed one", func(t testing.TB, resp string) *etree.Document {
			doc := signedOnly(t, resp, "assertion")
			orig := assertionOf(doc)
			doc.Root().InsertChildAt(orig.Index(), evilAssertion(orig, "id-evil", false))
			return doc
		}},
		{"XSW4 signed assertion wrapped inside the evil one", func(t testing.TB, resp string) *etree.Document {
			doc := signedOnly(t, resp, "assertion")
			orig := assertionOf(doc)
			ev := evilAssertion(orig, "id-evil", false)
			doc.Root().RemoveChild(orig)
			ev.AddChild(orig)
			doc.Root().AddChild(ev)
			return doc
		}},
		{"XSW5 evil assertion carries the signature, unsigned original appended", func(t testing.TB, resp string) *etree.Document {
			doc := signedOnly(t, resp, "assertion")
			orig := assertionOf(doc)
			ev := evilAssertion(orig, "id-evil", true)
			doc.Root().RemoveChild(orig)
			doc.Root().AddChild(ev)
			doc.Root().AddChild(stripSig(orig))
			return doc
		}},
		{"XSW6 evil assertion carries the signature, original inside its Signature/Object", func(t testing.TB, resp string) *etree.Document {
			doc := signedOnly(t, resp, "assertion")
			orig := assertionOf(doc)
			ev := evilAssertion(orig, "id-evil", true)
			addObject(child(ev, "Signature"), stripSig(orig))
			doc.Root().RemoveChild(orig)
			doc.Root().AddChild(ev)
			return doc
		}},
		{"XSW7 original in Extensions, evil assertion in its place", func(t testing.TB, resp string) *etree.Document {
			doc := signedOnly(t, resp, "assertion")
			orig := assertionOf(doc)
			ext := etree.NewElement("samlp:Extensions")
			doc.Root().RemoveChild(orig)
			ext.AddChild(orig)
			doc.Root().InsertChildAt(1, ext)
			doc.Root().AddChild(evilAssertion(orig, "", false))
			return doc
		}},
		{"XSW8 evil assertion with the signature, original (unsigned) in Signature/Object", func(t testing.TB, resp string) *etree.Document {
			doc := signedOnly(t, resp, "assertion")
			orig := assertionOf(doc)
			ev := evilAssertion(orig, "", true)
			addObject(child(ev, "Signature"), stripSig(orig))
			doc.Root().RemoveChild(orig)
			doc.Root().AddChild(ev)
			return doc
		}},
		{"single evil assertion whose copied signature references the original ID", func(t testing.TB, resp string) *etree.Document {
			doc := signedOnly(t, resp, "assertion")
			orig := assertionOf(doc)
			ev := evilAssertion(orig, "id-evil", true)
			doc.Root().RemoveChild(orig)
			doc.Root().AddChild(ev)
			return doc
		}},
	}
}

// The legitimate shapes: only the Response signed, only the Assertion signed.
func TestSignedElementVariantsAccepted(t *testing.T) {
	for _, which := range []string{"response", "assertion"} {
		t.Run(which+" only", func(t *testing.T) {
			e := newEnv(t)
			resp, reqID := e.spInitiated()
			a, err := e.sp.ParseResponse(context.Background(), encodeDoc(t, signedOnly(t, resp, which)), spACS, []string{reqID})
			if err != nil {
				t.Fatal(err.(*Error).AuditString())
			}
			if a.NameID != goodName {
				t.Fatalf("NameID %q", a.NameID)
			}
		})
	}
}

// TestCommentInjectionInNameID: CVE-2017-11427 family. The attacker owns
// alice@example.com.evil.com at the IdP and splits the signed NameID with
// a comment; a vulnerable SP reads only the first text node.
func TestCommentInjectionInNameID(t *testing.T) {
	for _, which := range []string{"response", "assertion"} {
		t.Run(which+" signed", func(t *testing.T) {
			e := newEnv(t)
			e.session.NameID = "alice@example.com.evil.com"
			resp, reqID := e.spInitiated()
			doc := signedOnly(t, resp, which)
			nid := nameIDOf(assertionOf(doc))
			nid.SetText("alice@example.com")
			nid.CreateComment("")
			nid.CreateText(".evil.com")
			a, err := e.sp.ParseResponse(context.Background(), encodeDoc(t, doc), spACS, []string{reqID})
			if err != nil {
				t.Logf("refused: %s", err.(*Error).AuditString())
				return
			}
			if a.NameID != "alice@example.com.evil.com" {
				t.Fatalf("NameID read as %q: comment injection truncated it", a.NameID)
			}
		})
	}
}

func decodeRaw(t testing.TB, b64 string) []byte {
	t.Helper()
	raw, err := decodeBase64Bounded(b64, DefaultMaxMessageBytes)
	if err != nil {
		t.Fatal(err.AuditString())
	}
	return raw
}

var _ = url.URL{}
