package saml

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"
	csaml "github.com/crewjam/saml"
	"testing"
)

func reasonOf(t testing.TB, err error) Reason {
	t.Helper()
	if err == nil {
		return ""
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not *Error", err, err)
	}
	if err.Error() != PublicErrorMessage {
		t.Fatalf("public message %q leaks detail", err.Error())
	}
	return e.Reason
}

func TestSPInitiatedFlow(t *testing.T) {
	e := newEnv(t)
	resp, reqID := e.spInitiated()
	a, err := e.sp.ParseResponse(context.Background(), resp, spACS, []string{"other", reqID})
	if err != nil {
		t.Fatalf("ParseResponse: %v", (err.(*Error)).AuditString())
	}
	if a.NameID != goodName || a.InResponseTo != reqID || a.IdPEntityID != idpBase+"/metadata" || a.SessionIndex != "idx-1" {
		t.Fatalf("unexpected assertion %+v", a)
	}
	if a.NameIDFormat != "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" {
		t.Errorf("NameIDFormat = %q", a.NameIDFormat)
	}
	if got := a.Attributes["urn:oid:1.3.6.1.4.1.5923.1.1.1.1"]; !slices.Equal(got, []string{"admins", "staff"}) {
		t.Errorf("eduPersonAffiliation = %v (all: %v)", got, a.Attributes)
	}
	if a.AssertionID == "" || !a.NotOnOrAfter.After(e.now) {
		t.Errorf("AssertionID %q NotOnOrAfter %v", a.AssertionID, a.NotOnOrAfter)
	}
	// The same response a second time is a replay.
	_, err = e.sp.ParseResponse(context.Background(), resp, spACS, []string{reqID})
	if r := reasonOf(t, err); r != ReasonReplay {
		t.Fatalf("replay: reason %q, want %q", r, ReasonReplay)
	}
}

func TestIdPInitiated(t *testing.T) {
	t.Run("off by default", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.sp.ParseResponse(context.Background(), e.idpInitiated(), spACS, nil)
		if r := reasonOf(t, err); r != ReasonInResponseTo {
			t.Fatalf("reason %q, want %q", r, ReasonInResponseTo)
		}
	})
	t.Run("allowed", func(t *testing.T) {
		e := newEnv(t, withIdPInitiated())
		a, err := e.sp.ParseResponse(context.Background(), e.idpInitiated(), spACS, nil)
		if err != nil {
			t.Fatal(err.(*Error).AuditString())
		}
		if a.NameID != goodName || a.InResponseTo != "" {
			t.Fatalf("assertion %+v", a)
		}
	})
	t.Run("allowed, but a response to another browser's request is refused", func(t *testing.T) {
		e := newEnv(t, withIdPInitiated())
		resp, _ := e.spInitiated() // request bound to some other browser
		_, err := e.sp.ParseResponse(context.Background(), resp, spACS, []string{"id-mine"})
		if r := reasonOf(t, err); r != ReasonInResponseTo {
			t.Fatalf("reason %q, want %q", r, ReasonInResponseTo)
		}
	})
}

func TestEncryptedAssertion(t *testing.T) {
	e := newEnv(t, withSPKey())
	resp, reqID := e.spInitiated()
	doc := decodeDoc(t, resp)
	if child(doc.Root(), "EncryptedAssertion") == nil {
		t.Fatal("the IdP did not encrypt the assertion although the SP metadata has an encryption key")
	}
	a, err := e.sp.ParseResponse(context.Background(), resp, spACS, []string{reqID})
	if err != nil {
		t.Fatal(err.(*Error).AuditString())
	}
	if a.NameID != goodName {
		t.Fatalf("NameID %q", a.NameID)
	}

	// A connection without the key cannot read it.
	resp, reqID = e.spInitiated()
	cfg := e.cfg
	cfg.SPKey, cfg.SPCert = nil, nil
	keyless, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = keyless.ParseResponse(context.Background(), resp, spACS, []string{reqID})
	if r := reasonOf(t, err); r != ReasonDecryption {
		t.Fatalf("reason %q (%v)", r, err)
	}
}

func TestSignedAuthnRequestIsAcceptedByIdP(t *testing.T) {
	e := newEnv(t, withSPKey())
	req, err := e.sp.NewAuthnRequest("rs")
	if err != nil {
		t.Fatal(err)
	}
	u := mustURL(req.URL)
	q := u.Query()
	if q.Get("SigAlg") == "" || q.Get("Signature") == "" || q.Get("RelayState") != "rs" || q.Get("SAMLRequest") == "" {
		t.Fatalf("redirect URL lacks binding parameters: %s", req.URL)
	}
	if u.Scheme+"://"+u.Host+u.Path != idpBase+"/sso" {
		t.Fatalf("redirect goes to %s", req.URL)
	}
	// The IdP verifies the query signature against the SP metadata.
	resp, reqID := e.spInitiated()
	if _, err := e.sp.ParseResponse(context.Background(), resp, spACS, []string{reqID}); err != nil {
		t.Fatal(err.(*Error).AuditString())
	}
	if _, err := e.sp.NewAuthnRequest(string(make([]byte, MaxRelayStateBytes+1))); err == nil {
		t.Fatal("oversized RelayState accepted")
	}
}

func TestCertificateRotation(t *testing.T) {
	// The metadata lists two signing certificates; the IdP signs with the
	// second (new) one.
	e := newEnv(t, func(_ *env, idp *csaml.IdentityProvider, _ *Config) {
		idp.ExtraCertificates = []*x509.Certificate{idpKeys2().cert}
	})
	if n := len(e.cfg.IdP.SigningCerts); n != 2 {
		t.Fatalf("%d signing certs parsed, want 2", n)
	}
	e.idp.Key, e.idp.Certificate = idpKeys2().key, idpKeys2().cert
	resp, reqID := e.spInitiated()
	if _, err := e.sp.ParseResponse(context.Background(), resp, spACS, []string{reqID}); err != nil {
		t.Fatal(err.(*Error).AuditString())
	}
}

// TestResponseChecks: one table of refusals, each a response the real IdP
// issued and that was then altered (and, where the test needs the IdP's
// signature to stay valid, re-signed with the IdP key, as a misbehaving IdP
// would) or an attacker's forgery.
func TestResponseChecks(t *testing.T) {
	type tc struct {
		name     string
		opts     []envOption
		mutate   func(t *testing.T, e *env, resp string) string // returns the response to submit
		received string                                         // default spACS
		ids      func(reqID string) []string
		advance  time.Duration // SP clock shift before parsing
		want     Reason
	}
	resign := func(f func(resp, assertion *etree.Element)) func(t *testing.T, e *env, resp string) string {
		return func(t *testing.T, e *env, resp string) string {
			doc := decodeDoc(t, resp)
			root := doc.Root()
			removeChild(root, "Signature")
			as := assertionOf(doc)
			removeChild(as, "Signature")
			f(root, as)
			signedAs := sign(t, as, idpKeys())
			root.RemoveChild(as)
			root.AddChild(signedAs)
			return encodeDoc(t, doc)
		}
	}
	cases := []tc{
		{name: "no signature at all", want: ReasonSignatureMissing, mutate: func(t *testing.T, e *env, resp string) string {
			doc := decodeDoc(t, resp)
			removeChild(doc.Root(), "Signature")
			removeChild(assertionOf(doc), "Signature")
			return encodeDoc(t, doc)
		}},
		{name: "NameID altered after signing", want: ReasonInvalidSignature, mutate: func(t *testing.T, e *env, resp string) string {
			doc := decodeDoc(t, resp)
			nameIDOf(assertionOf(doc)).SetText("ceo@example.com")
			return encodeDoc(t, doc)
		}},
		{name: "NameID altered, response signature removed", want: ReasonInvalidSignature, mutate: func(t *testing.T, e *env, resp string) string {
			doc := decodeDoc(t, resp)
			removeChild(doc.Root(), "Signature")
			nameIDOf(assertionOf(doc)).SetText("ceo@example.com")
			return encodeDoc(t, doc)
		}},
		{name: "signed by a certificate not in the metadata", want: ReasonUntrustedCert, mutate: func(t *testing.T, e *env, resp string) string {
			doc := decodeDoc(t, resp)
			root := doc.Root()
			removeChild(root, "Signature")
			as := assertionOf(doc)
			nameIDOf(as).SetText("ceo@example.com")
			forged := sign(t, as, attackerKeys())
			root.RemoveChild(as)
			root.AddChild(forged)
			return encodeDoc(t, doc)
		}},
		{name: "attacker signature with the IdP certificate in KeyInfo", want: ReasonInvalidSignature, mutate: func(t *testing.T, e *env, resp string) string {
			doc := decodeDoc(t, resp)
			root := doc.Root()
			removeChild(root, "Signature")
			as := assertionOf(doc)
			nameIDOf(as).SetText("ceo@example.com")
			forged := sign(t, as, keyPair{attackerKeys().key, idpKeys().cert})
			root.RemoveChild(as)
			root.AddChild(forged)
			return encodeDoc(t, doc)
		}},
		{name: "attacker signature with KeyInfo stripped of its certificate", want: ReasonInvalidSignature, mutate: func(t *testing.T, e *env, resp string) string {
			doc := decodeDoc(t, resp)
			root := doc.Root()
			removeChild(root, "Signature")
			as := assertionOf(doc)
			nameIDOf(as).SetText("ceo@example.com")
			forged := sign(t, as, attackerKeys())
			removeChild(child(forged, "Signature"), "KeyInfo")
			root.RemoveChild(as)
			root.AddChild(forged)
			return encodeDoc(t, doc)
		}},
		{name: "two assertions", want: ReasonAssertionCount, mutate: func(t *testing.T, e *env, resp string) string {
			doc := decodeDoc(t, resp)
			dup := assertionOf(doc).Copy()
			dup.CreateAttr("ID", "id-second")
			doc.Root().AddChild(dup)
			return encodeDoc(t, doc)
		}},
		{name: "no assertion", want: ReasonAssertionCount, mutate: func(t *testing.T, e *env, resp string) string {
			doc := decodeDoc(t, resp)
			doc.Root().RemoveChild(assertionOf(doc))
			return encodeDoc(t, doc)
		}},
		{name: "wrong InResponseTo", ids: func(string) []string { return []string{"id-someone-else"} }, want: ReasonInResponseTo},
		{name: "no request bound to the browser", ids: func(string) []string { return nil }, want: ReasonInResponseTo},
		{name: "empty request id never matches", ids: func(string) []string { return []string{""} }, want: ReasonInResponseTo},
		{name: "received at another URL", received: spBase + "/acs?x=1", want: ReasonDestination},
		{name: "Destination of another SP", want: ReasonDestination, mutate: func(t *testing.T, e *env, resp string) string {
			doc := decodeDoc(t, resp)
			root := doc.Root()
			removeChild(root, "Signature")
			root.CreateAttr("Destination", "https://other.test/acs")
			return encodeDoc(t, doc) // the assertion keeps its valid signature
		}},
		{name: "no Destination on an unsigned Response", want: ReasonDestination, mutate: func(t *testing.T, e *env, resp string) string {
			doc := decodeDoc(t, resp)
			root := doc.Root()
			removeChild(root, "Signature")
			root.RemoveAttr("Destination")
			return encodeDoc(t, doc) // the assertion keeps its valid signature
		}},
		{name: "Recipient of another SP", want: ReasonRecipient, mutate: resign(func(_, as *etree.Element) {
			as.FindElement("./Subject/SubjectConfirmation/SubjectConfirmationData").CreateAttr("Recipient", "https://other.test/acs")
		})},
		{name: "Audience of another SP", want: ReasonAudience, mutate: resign(func(_, as *etree.Element) {
			as.FindElement("./Conditions/AudienceRestriction/Audience").SetText("https://other.test/metadata")
		})},
		{name: "no AudienceRestriction", want: ReasonAudience, mutate: resign(func(_, as *etree.Element) {
			c := as.FindElement("./Conditions")
			removeChild(c, "AudienceRestriction")
		})},
		{name: "assertion Issuer is another IdP", want: ReasonIssuer, mutate: resign(func(_, as *etree.Element) {
			child(as, "Issuer").SetText("https://evil-idp.test/metadata")
		})},
		{name: "response Issuer is another IdP", want: ReasonIssuer, mutate: resign(func(root, _ *etree.Element) {
			child(root, "Issuer").SetText("https://evil-idp.test/metadata")
		})},
		{name: "IdP status is not success", want: ReasonIdPStatus, mutate: resign(func(root, _ *etree.Element) {
			root.FindElement("./Status/StatusCode").CreateAttr("Value", "urn:oasis:names:tc:SAML:2.0:status:Requester")
		})},
		{name: "expired (SP clock 10 min later)", advance: 10 * time.Minute, want: ReasonExpired},
		{name: "not yet valid (SP clock 10 min earlier)", advance: -10 * time.Minute, want: ReasonNotYetValid},
		{name: "tighter configured skew applies", advance: -90 * time.Second, want: ReasonNotYetValid,
			opts: []envOption{func(_ *env, _ *csaml.IdentityProvider, c *Config) { c.MaxSkew = 30 * time.Second }}},
		{name: "oversized before decoding", want: ReasonTooLarge, opts: []envOption{func(_ *env, _ *csaml.IdentityProvider, c *Config) { c.MaxMessageBytes = 1024 }}},
		{name: "oversized after decoding", want: ReasonTooLarge, mutate: func(t *testing.T, e *env, resp string) string {
			s := base64.StdEncoding.EncodeToString(make([]byte, DefaultMaxMessageBytes+1000))
			if len(s) > maxEncodedLen(DefaultMaxMessageBytes) {
				t.Fatalf("test input %d over the encoded limit %d", len(s), maxEncodedLen(DefaultMaxMessageBytes))
			}
			return s
		}},
		{name: "malformed base64", want: ReasonMalformed, mutate: func(*testing.T, *env, string) string { return "%%%not-base64" }},
		{name: "empty", want: ReasonMalformed, mutate: func(*testing.T, *env, string) string { return "" }},
		{name: "not XML", want: ReasonMalformed, mutate: func(*testing.T, *env, string) string {
			return base64.StdEncoding.EncodeToString([]byte("hello <world"))
		}},
		{name: "XML but not a Response", want: ReasonMalformed, mutate: func(*testing.T, *env, string) string {
			return base64.StdEncoding.EncodeToString([]byte(`<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`))
		}},
		{name: "DOCTYPE with an entity", want: ReasonMalformed, mutate: func(t *testing.T, e *env, resp string) string {
			raw := decodeRaw(t, resp)
			return base64.StdEncoding.EncodeToString(append([]byte(`<!DOCTYPE r [<!ENTITY x "y">]>`), raw...))
		}},
		{name: "an element with thousands of attributes", want: ReasonMalformed, mutate: func(t *testing.T, e *env, resp string) string {
			// Building such an element costs time quadratic in its
			// attributes: refused before (xmlroundtrip.MaxAttributes).
			raw := decodeRaw(t, resp)
			var attrs strings.Builder
			for i := range 5000 {
				fmt.Fprintf(&attrs, ` a%d=""`, i)
			}
			i := bytes.Index(raw, []byte("<saml:Assertion "))
			if i < 0 {
				t.Fatal("no assertion")
			}
			at := i + len("<saml:Assertion")
			return base64.StdEncoding.EncodeToString(append(append(append([]byte(nil), raw[:at]...), attrs.String()...), raw[at:]...))
		}},
		{name: "processing instruction inside the Response", want: ReasonMalformed, mutate: func(t *testing.T, e *env, resp string) string {
			doc := decodeDoc(t, resp)
			doc.Root().InsertChildAt(0, etree.NewProcInst("php", "evil()"))
			return encodeDoc(t, doc)
		}},
		{name: "garbage signature", want: ReasonInvalidSignature, mutate: func(t *testing.T, e *env, resp string) string {
			doc := decodeDoc(t, resp)
			removeChild(doc.Root(), "Signature")
			sig := child(assertionOf(doc), "Signature")
			for _, c := range sig.ChildElements() {
				sig.RemoveChild(c)
			}
			sig.CreateElement("ds:SignatureValue").SetText("AAAA")
			return encodeDoc(t, doc)
		}},
		{name: "empty SignedInfo and SignatureValue", want: ReasonInvalidSignature, mutate: func(t *testing.T, e *env, resp string) string {
			doc := decodeDoc(t, resp)
			removeChild(doc.Root(), "Signature")
			sig := child(assertionOf(doc), "Signature")
			for _, c := range sig.ChildElements() {
				for _, cc := range c.ChildElements() {
					c.RemoveChild(cc)
				}
				c.SetText("")
			}
			return encodeDoc(t, doc)
		}},
		{name: "non-base64 SignatureValue and DigestValue", want: ReasonInvalidSignature, mutate: func(t *testing.T, e *env, resp string) string {
			doc := decodeDoc(t, resp)
			removeChild(doc.Root(), "Signature")
			as := assertionOf(doc)
			as.FindElement("./Signature/SignatureValue").SetText("!!!")
			as.FindElement("./Signature/SignedInfo/Reference/DigestValue").SetText("!!!")
			return encodeDoc(t, doc)
		}},
		{name: "duplicated Destination attribute under a prefix", want: ReasonMalformed, mutate: func(t *testing.T, e *env, resp string) string {
			doc := decodeDoc(t, resp)
			doc.Root().CreateAttr("x:Destination", "https://other.test/acs")
			doc.Root().CreateAttr("xmlns:x", "urn:x")
			return encodeDoc(t, doc)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.opts...)
			resp, reqID := e.spInitiated()
			if c.mutate != nil {
				resp = c.mutate(t, e, resp)
			}
			ids := []string{reqID}
			if c.ids != nil {
				ids = c.ids(reqID)
			}
			received := spACS
			if c.received != "" {
				received = c.received
			}
			e.now = e.now.Add(c.advance)
			a, err := e.sp.ParseResponse(context.Background(), resp, received, ids)
			if err == nil {
				t.Fatalf("accepted: %+v", a)
			}
			if r := reasonOf(t, err); r != c.want {
				t.Fatalf("reason %q (%s), want %q", r, err.(*Error).AuditString(), c.want)
			}
			if audit := err.(*Error).AuditString(); !strings.HasPrefix(audit, string(c.want)) {
				t.Fatalf("AuditString %q", audit)
			}
			if e.cache.Len() != 0 {
				t.Fatalf("a refused assertion was claimed in the replay cache")
			}
		})
	}
}
