package saml

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/beevik/etree"
	csaml "github.com/crewjam/saml"
	"github.com/crewjam/saml/xmlenc"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/gatehouse-id/gatehouse/sso/saml/internal/xmlroundtrip"
)

// The one-pass verifier.
//
// crewjam/saml's ParseXMLResponse parses the message, checks its
// signatures with goxmldsig, then serialises each verified element and
// decodes it again with encoding/xml to read it (the Response twice, since
// its struct holds the Assertion). verifyOnePass makes the same decisions
// on one parse: the same round-trip check (crewjam/saml's, copied in
// internal/xmlroundtrip), the same goxmldsig calls on the same elements
// with the metadata certificates parsed once per connection, and it reads
// the values from the elements goxmldsig returns as verified, as
// crewjam/saml does, but straight from the tree.
//
// It only ever answers in two ways on its own:
//
//   - accepted: every check crewjam/saml makes passed, read the way
//     encoding/xml reads them. Whenever a value could read differently
//     through crewjam/saml's serialise-and-decode (a repeated element that
//     encoding/xml would merge, a prefixed attribute it might read, a
//     carriage return it would turn into a line feed, ...) or the message
//     uses something this verifier does not implement (EncryptedID,
//     EncryptedAttribute, BaseID, ProxyRestriction, xsi:nil, several
//     decryption candidates ...), it does not decide;
//   - refused, only for the failures crewjam/saml reaches in the same
//     state and decides the same way: the round-trip check, the Response's
//     own signature (checked before anything else is read) and the
//     assertion's signature (or its absence from an unsigned Response),
//     once every check crewjam/saml makes before it has passed here.
//
// Everything else (every other refusal, and every message it does not
// decide) goes to crewjam/saml, which decides and gives the reason. So an
// accepted message does not pay for crewjam/saml; a forged or broken
// signature is refused for the cost of one pass; a message it does not
// decide costs what it cost before plus this verifier's attempt.
// TestOnePassMatchesCrewjam and FuzzOnePassMatchesCrewjam hold that both
// decide alike: the same assertion, or the same refusal reason.

// errUndecided means verifyOnePass leaves the decision to crewjam/saml.
var errUndecided = errors.New("saml: left to crewjam/saml")

// errNoSignature is crewjam/saml's errSignatureElementNotPresent.
var errNoSignature = errors.New("signature element not present")

const (
	nsDSig   = "http://www.w3.org/2000/09/xmldsig#"
	nsXMLEnc = "http://www.w3.org/2001/04/xmlenc#"
)

// onePassKeys are what the one-pass verifier needs from the connection,
// computed once in New: the IdP signing certificates exactly as
// crewjam/saml reads them from the metadata, and the SP decryption key.
type onePassKeys struct {
	certs   []*x509.Certificate // nil: the verifier is off for this connection
	decrypt *rsa.PrivateKey     // nil: encrypted assertions are left to crewjam/saml
}

// stripREWhitespace removes what crewjam/saml strips from certificates with
// the regular expression \s+: tab, line feed, form feed, carriage return
// and space (narrower than strings.Fields).
func stripREWhitespace(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '\t', '\n', '\f', '\r', ' ':
			return -1
		}
		return r
	}, s)
}

// newOnePassKeys parses the metadata certificates as crewjam/saml's
// getIDPSigningCerts does, so that both trust exactly the same keys; if
// that fails (crewjam/saml would then refuse every message), the one-pass
// verifier stays off and crewjam/saml decides.
func newOnePassKeys(cfg *Config) onePassKeys {
	var ks onePassKeys
	ed := cfg.IdP.entity
	var certs []*x509.Certificate
	for _, d := range ed.IDPSSODescriptors {
		for _, kd := range d.KeyDescriptors {
			if kd.Use != "" && kd.Use != "signing" {
				continue
			}
			for _, c := range kd.KeyInfo.X509Data.X509Certificates {
				der, err := base64.StdEncoding.DecodeString(stripREWhitespace(c.Data))
				if err != nil {
					return ks
				}
				cert, err := x509.ParseCertificate(der)
				if err != nil {
					return ks
				}
				certs = append(certs, cert)
			}
		}
	}
	if len(certs) == 0 {
		return ks
	}
	if cfg.AllowExpiredIdPCertificates {
		// crewjam/saml's withoutValidityPeriod.
		for i, cert := range certs {
			c := *cert
			c.NotBefore = time.Time{}
			c.NotAfter = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
			certs[i] = &c
		}
	}
	ks.certs = certs
	if k, ok := cfg.SPKey.(*rsa.PrivateKey); ok {
		ks.decrypt = k
	}
	return ks
}

// verifyOnePass verifies the response doc, whose structure inspectTree has
// checked, with the checks of crewjam/saml's ParseXMLResponse; checkErr is
// the decision of crewjam/saml's round-trip check on the same message. It
// returns the assertion as crewjam/saml would, an error that classify
// turns into the reason crewjam/saml gives for a refusal it decides, or
// errUndecided.
func (p *ServiceProvider) verifyOnePass(doc *etree.Document, checkErr error, ids []string, now time.Time) (*csaml.Assertion, error) {
	if p.keys.certs == nil {
		return nil, errUndecided
	}
	if checkErr != nil {
		return nil, fmt.Errorf("invalid xml: %w: %w", checkErr, csaml.ErrMalformedMessage)
	}
	root := doc.Root()

	// The Response: its signature first, as crewjam/saml does.
	responseEl := root
	signed, err := p.verifySigned(root, now)
	responseSigned := false
	switch {
	case err == nil:
		responseSigned = true
		responseEl = signed
	case errors.Is(err, errNoSignature):
	default:
		return nil, err
	}

	// crewjam/saml unmarshals the whole Response, the assertion in it too.
	r, ok := readResponse(responseEl)
	if !ok || !clean(responseEl) {
		return nil, errUndecided
	}
	if r.version != "2.0" {
		return nil, errUndecided
	}
	if responseSigned || r.destination != "" {
		if r.destination != p.acsURL.String() {
			return nil, errUndecided
		}
	}
	if !(p.cfg.AllowIdPInitiated && r.inResponseTo == "") && !idIn(r.inResponseTo, ids) {
		return nil, errUndecided
	}
	assertionIDs := ids
	if r.inResponseTo != "" {
		assertionIDs = []string{r.inResponseTo}
	}
	if issueInstantBad(r.issueInstant, now) {
		return nil, errUndecided
	}
	if r.hasIssuer && r.issuer != p.cfg.IdP.EntityID {
		return nil, errUndecided
	}
	if r.status != csaml.StatusSuccess {
		return nil, errUndecided
	}

	encrypted, err := findChildren(responseEl, nsAssertion, "EncryptedAssertion")
	if err != nil {
		return nil, errUndecided
	}
	plain, err := findChildren(responseEl, nsAssertion, "Assertion")
	if err != nil {
		return nil, errUndecided
	}
	var assertionEl, receivedEl *etree.Element
	switch {
	case len(encrypted) == 1 && len(plain) == 0:
		assertionEl, err = p.decrypt(encrypted[0])
		if err != nil {
			return nil, errUndecided
		}
		receivedEl = assertionEl
	case len(encrypted) == 0 && len(plain) == 1:
		// crewjam/saml's receivedChildren: the signature of the assertion
		// is checked on the assertion as received.
		assertionEl, receivedEl = plain[0], plain[0]
		if responseEl != root {
			received, err := findChildren(root, nsAssertion, "Assertion")
			if err != nil || len(received) != 1 || received[0].SelectAttrValue("ID", "") != plain[0].SelectAttrValue("ID", "") {
				return nil, errUndecided
			}
			receivedEl = received[0]
		}
	default:
		return nil, errUndecided
	}

	// A signature the assertion carries must be valid even inside a signed
	// Response; without one, the Response's signature must cover it.
	// Every check crewjam/saml makes before this one passed above, the same
	// way, so it reaches this signature with the same element and refuses
	// the message with this error when it fails.
	signedAs, err := p.verifySigned(receivedEl, now)
	switch {
	case err == nil:
		assertionEl = signedAs
	case errors.Is(err, errNoSignature) && responseSigned:
	default:
		return nil, err
	}
	a, ok := readAssertion(assertionEl)
	if !ok || !clean(assertionEl) {
		return nil, errUndecided
	}
	if !p.assertionValid(a, assertionIDs, now) {
		return nil, errUndecided
	}
	return a, nil
}

// idIn is crewjam/saml's request id match: an empty id never matches.
func idIn(id string, ids []string) bool {
	for _, want := range ids {
		if want != "" && id == want {
			return true
		}
	}
	return false
}

// issueInstantBad is crewjam/saml's checkIssueInstant failing.
func issueInstantBad(t, now time.Time) bool {
	return t.Add(csaml.MaxIssueDelay).Before(now) || t.Add(-csaml.MaxClockSkew).After(now)
}

// assertionValid is crewjam/saml's validateAssertion, for the
// configuration this package gives it (RejectUnknownConditions, no
// hooks), with the decryption of identifiers left out (readAssertion does
// not decide an assertion that has one).
func (p *ServiceProvider) assertionValid(a *csaml.Assertion, ids []string, now time.Time) bool {
	if a.Version != "2.0" {
		return false
	}
	if a.IssueInstant.Add(csaml.MaxIssueDelay).Before(now) || a.IssueInstant.Add(-csaml.MaxClockSkew).After(now) {
		return false
	}
	if a.Issuer.Value != p.cfg.IdP.EntityID {
		return false
	}
	if a.Subject == nil || a.Subject.NameID == nil || a.Conditions == nil {
		return false
	}
	bearerOK := false
	for _, sc := range a.Subject.SubjectConfirmations {
		if sc.Method != bearer {
			continue
		}
		d := sc.SubjectConfirmationData
		if d == nil {
			continue
		}
		if !(p.cfg.AllowIdPInitiated && d.InResponseTo == "") && !idIn(d.InResponseTo, ids) {
			continue
		}
		if d.Recipient != p.acsURL.String() {
			continue
		}
		if d.NotBefore.Add(-csaml.MaxClockSkew).After(now) || !now.Before(d.NotOnOrAfter.Add(csaml.MaxClockSkew)) {
			continue
		}
		bearerOK = true
		break
	}
	if !bearerOK || len(a.AuthnStatements) == 0 {
		return false
	}
	c := a.Conditions
	if c.NotBefore.Add(-csaml.MaxClockSkew).After(now) {
		return false
	}
	if !c.NotOnOrAfter.IsZero() && !now.Before(c.NotOnOrAfter.Add(csaml.MaxClockSkew)) {
		return false
	}
	if len(c.UnknownConditions) != 0 || len(c.AudienceRestrictions) == 0 {
		return false
	}
	for i := range c.AudienceRestrictions {
		found := false
		for _, au := range c.AudienceRestrictions[i].AllAudiences() {
			if au.Value == p.cfg.EntityID {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// decrypt is crewjam/saml's decryptWithKeys with the one key this package
// gives it, for the shape IdPs send: one EncryptedData and one EncryptedKey
// (beside it or in its KeyInfo). Any other shape is left to crewjam/saml.
func (p *ServiceProvider) decrypt(encryptedEl *etree.Element) (*etree.Element, error) {
	if p.keys.decrypt == nil {
		return nil, errUndecided
	}
	data, err := findChildren(encryptedEl, nsXMLEnc, "EncryptedData")
	if err != nil || len(data) != 1 {
		return nil, errUndecided
	}
	dataEl := data[0]
	keyEls := append(encryptedEl.FindElements("./EncryptedKey"), dataEl.FindElements("./KeyInfo/EncryptedKey")...)
	if len(keyEls) != 1 {
		return nil, errUndecided
	}
	key, err := xmlenc.Decrypt(p.keys.decrypt, keyEls[0])
	if err != nil {
		return nil, errUndecided
	}
	if dataEl.FindElement("./KeyInfo/EncryptedKey") != nil {
		dataEl = dataEl.Copy()
		for _, el := range dataEl.FindElements("./KeyInfo/EncryptedKey") {
			el.Parent().RemoveChild(el)
		}
	}
	plaintext, err := xmlenc.Decrypt(key, dataEl)
	if err != nil {
		return nil, errUndecided
	}
	// crewjam/saml's parsePlaintext: the round-trip check, then etree.
	doc, parseErr, checkErr, folded := xmlroundtrip.Parse(plaintext, p.tokens)
	if !folded || parseErr != nil || checkErr != nil || doc.Root() == nil {
		return nil, errUndecided
	}
	return doc.Root(), nil
}

// verifySigned is crewjam/saml's validatedElement for this package's
// configuration (the IdP certificates from the metadata, no SHA-1 policy,
// no custom verifier): it checks the enveloped signature of el with
// goxmldsig and returns the element goxmldsig verified (rebuilt from the
// canonical bytes that were digested) with the Signature put back,
// errNoSignature when el has none, or an error wrapping
// csaml.ErrInvalidSignature (and csaml.ErrUntrustedCertificate or
// csaml.ErrCertificateNotValidNow when that is why).
func (p *ServiceProvider) verifySigned(el *etree.Element, now time.Time) (*etree.Element, error) {
	signed, err := p.verifySignedUnclassified(el, now)
	if errors.Is(err, errNoSignature) || errors.Is(err, errUndecided) {
		return nil, err
	}
	if err == nil {
		if err = checkSignatureReference(el); err == nil {
			return signed, nil
		}
		err = fmt.Errorf("cannot validate signature on %s: %w", el.Tag, err)
	}
	return nil, fmt.Errorf("%w: %w", csaml.ErrInvalidSignature, err)
}

func (p *ServiceProvider) verifySignedUnclassified(el *etree.Element, now time.Time) (*etree.Element, error) {
	sigEl, err := findChild(el, nsDSig, "Signature")
	if err != nil {
		return nil, err
	}
	if sigEl == nil {
		return nil, errNoSignature
	}
	if !p.cfg.AllowSHA1Signatures && usesSHA1(sigEl) {
		// crewjam/saml refuses it (RejectSHA1Signatures), with its error.
		return nil, errUndecided
	}
	certs := p.keys.certs
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: certs})
	vc.IdAttribute = "ID"
	vc.Clock = dsig.NewFakeClockAt(now)

	noCertInKeyInfo := stripKeyInfoWithoutCertificate(el)

	tag := el.Tag
	ctx, err := unboundedParentContext(el)
	if err != nil {
		return nil, fmt.Errorf("cannot validate signature on %s: %w", tag, err)
	}
	ctx, err = ctx.SubContext(el)
	if err != nil {
		return nil, fmt.Errorf("cannot validate signature on %s: %w", tag, err)
	}
	sigCtx, err := ctx.SubContext(sigEl)
	if err != nil {
		return nil, fmt.Errorf("cannot validate signature on %s: %w", tag, err)
	}
	sigCopy, err := etreeutils.NSDetatch(sigCtx, sigEl)
	if err != nil {
		return nil, fmt.Errorf("cannot validate signature on %s: %w", tag, err)
	}
	sigIndex := sigEl.Index()
	el, err = etreeutils.NSDetatch(ctx, el)
	if err != nil {
		return nil, fmt.Errorf("cannot validate signature on %s: %w", tag, err)
	}

	if noCertInKeyInfo && len(certs) > 1 {
		var signed *etree.Element
		for _, cert := range certs {
			one := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
			one.IdAttribute = vc.IdAttribute
			one.Clock = vc.Clock
			if signed, err = one.Validate(el); err == nil {
				break
			}
		}
		if err != nil {
			return nil, fmt.Errorf("cannot validate signature on %s: %w", tag, err)
		}
		return withSignature(signed, sigCopy, sigIndex), nil
	}

	signed, err := vc.Validate(el)
	if err != nil {
		err = fmt.Errorf("cannot validate signature on %s: %w", tag, err)
		if kind := classifyCertificate(el, certs, now); kind != nil {
			return nil, fmt.Errorf("%w: %w", kind, err)
		}
		return nil, err
	}
	return withSignature(signed, sigCopy, sigIndex), nil
}

// The helpers below are crewjam/saml's (service_provider.go,
// signature_reference.go, errors.go), which verifySigned must follow step
// for step; they are unexported there.

func withSignature(signed, sig *etree.Element, index int) *etree.Element {
	if index > len(signed.Child) {
		index = len(signed.Child)
	}
	signed.InsertChildAt(index, sig)
	return signed
}

func unboundedParentContext(el *etree.Element) (etreeutils.NSContext, error) {
	parent := el.Parent()
	if parent == nil {
		return etreeutils.EmptyNSContext, nil
	}
	ctx, err := unboundedParentContext(parent)
	if err != nil {
		return ctx, err
	}
	return ctx.SubContext(parent)
}

func stripKeyInfoWithoutCertificate(el *etree.Element) bool {
	if el.FindElement("./Signature/KeyInfo/X509Data/X509Certificate") != nil {
		return false
	}
	if sigEl := el.FindElement("./Signature"); sigEl != nil {
		if keyInfo := sigEl.FindElement("KeyInfo"); keyInfo != nil {
			sigEl.RemoveChild(keyInfo)
		}
	}
	return true
}

func classifyCertificate(el *etree.Element, roots []*x509.Certificate, now time.Time) error {
	var signingCert *x509.Certificate
	if certEl := el.FindElement("./Signature/KeyInfo/X509Data/X509Certificate"); certEl != nil {
		der, err := base64.StdEncoding.DecodeString(stripREWhitespace(certEl.Text()))
		if err != nil {
			return nil
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil
		}
		signingCert = cert
	} else if el.FindElement("./Signature/KeyInfo") == nil && len(roots) == 1 {
		signingCert = roots[0]
	} else {
		return nil
	}
	for _, root := range roots {
		if root.Equal(signingCert) {
			if now.Before(root.NotBefore) || now.After(root.NotAfter) {
				return csaml.ErrCertificateNotValidNow
			}
			return nil
		}
	}
	return csaml.ErrUntrustedCertificate
}

func checkSignatureReference(el *etree.Element) error {
	sigEl, err := findChild(el, nsDSig, "Signature")
	if err != nil {
		return err
	}
	if sigEl == nil {
		return errNoSignature
	}
	var refs []*etree.Element
	if signedInfo, err := findChild(sigEl, nsDSig, "SignedInfo"); err != nil {
		return err
	} else if signedInfo != nil {
		if refs, err = findChildren(signedInfo, nsDSig, "Reference"); err != nil {
			return err
		}
	}
	if len(refs) != 1 {
		return fmt.Errorf("signature must contain exactly one Reference, not %d", len(refs))
	}
	id := el.SelectAttrValue("ID", "")
	if id == "" {
		return fmt.Errorf("signed %s has no ID for its signature to reference", el.Tag)
	}
	var uris []string
	unprefixed := true
	for _, attr := range refs[0].Attr {
		if attr.Key == "URI" {
			uris = append(uris, attr.Value)
			unprefixed = unprefixed && attr.Space == ""
		}
	}
	if len(uris) != 1 || !unprefixed || uris[0] != "#"+id {
		return fmt.Errorf("signature Reference URI must be %q, not %q", "#"+id, uris)
	}
	return nil
}

func findChildren(parentEl *etree.Element, childNS, childTag string) ([]*etree.Element, error) {
	var rv []*etree.Element
	var parentCtx *etreeutils.NSContext
	for _, childEl := range parentEl.ChildElements() {
		if childEl.Tag != childTag {
			continue
		}
		if parentCtx == nil {
			ctx, err := etreeutils.NSBuildParentContext(childEl)
			if err != nil {
				return nil, err
			}
			parentCtx = &ctx
		}
		if err := checkNamespaceDeclarations(childEl); err != nil {
			return nil, err
		}
		ns, err := lookupElementNamespace(*parentCtx, childEl)
		if err != nil {
			return nil, fmt.Errorf("[%s]:%s cannot find prefix %s: %w: %w", childNS, childTag, childEl.Space, err, csaml.ErrMalformedMessage)
		}
		if ns != childNS {
			continue
		}
		rv = append(rv, childEl)
	}
	return rv, nil
}

func checkNamespaceDeclarations(el *etree.Element) error {
	for _, attr := range el.Attr {
		switch {
		case attr.Space == "xmlns" && attr.Key == "xml" && attr.Value != etreeutils.XMLNamespace:
			return etreeutils.ErrReservedNamespace
		case attr.Space == "xmlns" && attr.Key == "xmlns":
			return etreeutils.ErrReservedNamespace
		case attr.Space == "" && attr.Key == "xmlns" && attr.Value == etreeutils.XMLNSNamespace:
			return etreeutils.ErrInvalidDefaultNamespace
		}
	}
	return nil
}

func lookupElementNamespace(parentCtx etreeutils.NSContext, el *etree.Element) (string, error) {
	ns, declared := "", false
	for _, attr := range el.Attr {
		switch {
		case attr.Space == "xmlns" && attr.Key == el.Space:
			ns, declared = attr.Value, true
		case attr.Space == "" && attr.Key == "xmlns" && el.Space == "":
			ns, declared = attr.Value, true
		}
	}
	if declared {
		return ns, nil
	}
	return parentCtx.LookupPrefix(el.Space)
}

func findChild(parentEl *etree.Element, childNS, childTag string) (*etree.Element, error) {
	children, err := findChildren(parentEl, childNS, childTag)
	if err != nil {
		return nil, err
	}
	switch len(children) {
	case 0:
		return nil, nil
	case 1:
		return children[0], nil
	default:
		return nil, fmt.Errorf("expected at most one %s:%s element: %w", childNS, childTag, csaml.ErrMalformedMessage)
	}
}

// Reading the verified elements as encoding/xml reads crewjam/saml's
// structs, or not at all (ok false) when it might read them otherwise.

// responseFields are what crewjam/saml reads from a Response.
type responseFields struct {
	version, destination, inResponseTo string
	issueInstant                       time.Time
	hasIssuer                          bool
	issuer                             string
	status                             string
}

// reader walks verified elements; ok turns false at the first thing it
// does not decide.
type reader struct{ ok bool }

// attr is the unqualified attribute key of el, as the attribute fields of
// crewjam/saml's structs read it. An attribute of that local name under a
// prefix is not decided (encoding/xml may read it).
func (r *reader) attr(el *etree.Element, key string) string {
	v := ""
	for _, a := range el.Attr {
		if a.Key != key {
			continue
		}
		if a.Space != "" {
			r.ok = false
			return ""
		}
		v = a.Value
	}
	r.value(v)
	return v
}

// value checks that s reads the same through crewjam/saml's
// serialise-and-decode: etree writes a carriage return as is, which the
// decoder turns into a line feed, and invalid UTF-8 as U+FFFD.
func (r *reader) value(s string) {
	if strings.IndexByte(s, '\r') >= 0 || !utf8.ValidString(s) {
		r.ok = false
	}
}

// time reads a time attribute as csaml.RelaxedTime does.
func (r *reader) time(el *etree.Element, key string) time.Time {
	v := r.attr(el, key)
	var t csaml.RelaxedTime
	if err := t.UnmarshalText([]byte(v)); err != nil {
		r.ok = false
	}
	return time.Time(t)
}

// text is the character data directly inside el, what a ",chardata"
// field reads (comments left out, CDATA included).
func (r *reader) text(el *etree.Element) string {
	var b strings.Builder
	for _, c := range el.Child {
		if cd, ok := c.(*etree.CharData); ok {
			b.WriteString(cd.Data)
		}
	}
	s := b.String()
	r.value(s)
	return s
}

// kids are the child elements of el named {ns}local.
func (r *reader) kids(el *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == ns {
			out = append(out, c)
		}
	}
	return out
}

// one is the single child {ns}local of el, or nil; more than one would be
// merged by encoding/xml, and is not decided.
func (r *reader) one(el *etree.Element, ns, local string) *etree.Element {
	k := r.kids(el, ns, local)
	if len(k) > 1 {
		r.ok = false
	}
	if len(k) == 0 {
		return nil
	}
	return k[0]
}

// none notes that el must not have a child {ns}local.
func (r *reader) none(el *etree.Element, ns, local string) {
	if len(r.kids(el, ns, local)) != 0 {
		r.ok = false
	}
}

func readResponse(el *etree.Element) (*responseFields, bool) {
	r := &reader{ok: true}
	f := &responseFields{
		version:      r.attr(el, "Version"),
		destination:  r.attr(el, "Destination"),
		inResponseTo: r.attr(el, "InResponseTo"),
		issueInstant: r.time(el, "IssueInstant"),
	}
	r.attr(el, "ID")
	r.attr(el, "Consent")
	if is := r.one(el, nsAssertion, "Issuer"); is != nil {
		f.hasIssuer, f.issuer = true, r.text(is)
	}
	if st := r.one(el, nsProtocol, "Status"); st != nil {
		r.none(st, nsProtocol, "StatusMessage")
		r.none(st, nsProtocol, "StatusDetail")
		if sc := r.one(st, nsProtocol, "StatusCode"); sc != nil {
			f.status = r.attr(sc, "Value")
		}
	}
	// The Response struct holds the assertion: decoding it must succeed.
	if as := r.one(el, nsAssertion, "Assertion"); as != nil && r.ok {
		if _, ok := readAssertion(as); !ok {
			r.ok = false
		}
	}
	r.one(el, nsAssertion, "EncryptedAssertion")
	return f, r.ok
}

func readAssertion(el *etree.Element) (*csaml.Assertion, bool) {
	r := &reader{ok: true}
	a := &csaml.Assertion{
		ID:           r.attr(el, "ID"),
		IssueInstant: r.time(el, "IssueInstant"),
		Version:      r.attr(el, "Version"),
	}
	if is := r.one(el, nsAssertion, "Issuer"); is != nil {
		a.Issuer = csaml.Issuer{
			NameQualifier:   r.attr(is, "NameQualifier"),
			SPNameQualifier: r.attr(is, "SPNameQualifier"),
			Format:          r.attr(is, "Format"),
			SPProvidedID:    r.attr(is, "SPProvidedID"),
			Value:           r.text(is),
		}
	}
	if s := r.one(el, nsAssertion, "Subject"); s != nil {
		a.Subject = &csaml.Subject{}
		r.none(s, nsAssertion, "BaseID")
		r.none(s, nsAssertion, "EncryptedID")
		a.Subject.NameID = r.nameID(s)
		for _, sc := range r.kids(s, nsAssertion, "SubjectConfirmation") {
			c := csaml.SubjectConfirmation{Method: r.attr(sc, "Method")}
			r.none(sc, nsAssertion, "EncryptedID")
			c.NameID = r.nameID(sc)
			if d := r.one(sc, nsAssertion, "SubjectConfirmationData"); d != nil {
				c.SubjectConfirmationData = &csaml.SubjectConfirmationData{
					NotBefore:    r.time(d, "NotBefore"),
					NotOnOrAfter: r.time(d, "NotOnOrAfter"),
					Recipient:    r.attr(d, "Recipient"),
					InResponseTo: r.attr(d, "InResponseTo"),
					Address:      r.attr(d, "Address"),
				}
			}
			a.Subject.SubjectConfirmations = append(a.Subject.SubjectConfirmations, c)
		}
	}
	if c := r.one(el, nsAssertion, "Conditions"); c != nil {
		a.Conditions = &csaml.Conditions{NotBefore: r.time(c, "NotBefore"), NotOnOrAfter: r.time(c, "NotOnOrAfter")}
		oneTimeUse := 0
		for _, k := range c.ChildElements() {
			switch {
			case k.Tag == "AudienceRestriction" && k.NamespaceURI() == nsAssertion:
				var ar csaml.AudienceRestriction
				for i, au := range r.kids(k, nsAssertion, "Audience") {
					v := csaml.Audience{Value: r.text(au)}
					if i == 0 {
						ar.Audience = v
					} else {
						ar.AdditionalAudiences = append(ar.AdditionalAudiences, v)
					}
				}
				a.Conditions.AudienceRestrictions = append(a.Conditions.AudienceRestrictions, ar)
			case k.Tag == "OneTimeUse" && k.NamespaceURI() == nsAssertion:
				oneTimeUse++
				a.Conditions.OneTimeUse = &csaml.OneTimeUse{}
			default:
				// ProxyRestriction (its Count may not parse) and conditions
				// crewjam/saml refuses as unknown.
				r.ok = false
			}
		}
		if oneTimeUse > 1 {
			r.ok = false
		}
	}
	for _, st := range r.kids(el, nsAssertion, "AuthnStatement") {
		s := csaml.AuthnStatement{
			AuthnInstant: r.time(st, "AuthnInstant"),
			SessionIndex: r.attr(st, "SessionIndex"),
		}
		if hasAttr(st, "SessionNotOnOrAfter") {
			t := r.time(st, "SessionNotOnOrAfter")
			s.SessionNotOnOrAfter = &t
		}
		if ac := r.one(st, nsAssertion, "AuthnContext"); ac != nil {
			if ref := r.one(ac, nsAssertion, "AuthnContextClassRef"); ref != nil {
				s.AuthnContext.AuthnContextClassRef = &csaml.AuthnContextClassRef{Value: r.text(ref)}
			}
			for _, aa := range r.kids(ac, nsAssertion, "AuthenticatingAuthority") {
				s.AuthnContext.AuthenticatingAuthorities = append(s.AuthnContext.AuthenticatingAuthorities, csaml.AuthenticatingAuthority{Value: r.text(aa)})
			}
		}
		a.AuthnStatements = append(a.AuthnStatements, s)
	}
	for _, st := range r.kids(el, nsAssertion, "AttributeStatement") {
		var s csaml.AttributeStatement
		r.none(st, nsAssertion, "EncryptedAttribute")
		for _, at := range r.kids(st, nsAssertion, "Attribute") {
			attr := csaml.Attribute{
				FriendlyName: r.attr(at, "FriendlyName"),
				Name:         r.attr(at, "Name"),
				NameFormat:   r.attr(at, "NameFormat"),
			}
			for _, v := range r.kids(at, nsAssertion, "AttributeValue") {
				// xsi:nil is parsed as a bool, which may fail; xsi:type and
				// x500:Encoding are strings nothing here reads.
				if hasAttr(v, "nil") {
					r.ok = false
				}
				attr.Values = append(attr.Values, csaml.AttributeValue{Value: r.text(v), NameID: r.nameID(v)})
			}
			s.Attributes = append(s.Attributes, attr)
		}
		a.AttributeStatements = append(a.AttributeStatements, s)
	}
	return a, r.ok
}

func (r *reader) nameID(el *etree.Element) *csaml.NameID {
	n := r.one(el, nsAssertion, "NameID")
	if n == nil {
		return nil
	}
	return &csaml.NameID{
		NameQualifier:   r.attr(n, "NameQualifier"),
		SPNameQualifier: r.attr(n, "SPNameQualifier"),
		Format:          r.attr(n, "Format"),
		SPProvidedID:    r.attr(n, "SPProvidedID"),
		Value:           r.text(n),
	}
}

func hasAttr(el *etree.Element, key string) bool {
	for _, a := range el.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

// namespacesClean reports whether every element of el (a verified,
// standalone element) uses a declared prefix and declares no reserved
// namespace: then crewjam/saml's namespace lookups (findChildren) cannot
// fail on it and resolve prefixes as etree's NamespaceURI does. Otherwise
// the message is not decided.
func namespacesClean(el *etree.Element, scope []string) bool {
	if checkNamespaceDeclarations(el) != nil {
		return false
	}
	for _, a := range el.Attr {
		if a.Space == "xmlns" {
			scope = append(scope, a.Key)
		}
	}
	if el.Space != "" && el.Space != "xml" {
		found := false
		for i := len(scope) - 1; i >= 0; i-- {
			if scope[i] == el.Space {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	for _, c := range el.ChildElements() {
		if !namespacesClean(c, scope) {
			return false
		}
	}
	return true
}

// clean is namespacesClean for el inside its document.
func clean(el *etree.Element) bool {
	var scope []string
	for p := el.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			if a.Space == "xmlns" {
				scope = append(scope, a.Key)
			}
		}
	}
	return namespacesClean(el, scope)
}

// sha1Algorithm reports whether alg is an XML Signature algorithm based
// on SHA-1, as crewjam/saml's RejectSHA1Signatures lists them.
func sha1Algorithm(alg string) bool {
	switch alg {
	case dsig.RSASHA1SignatureMethod, dsig.ECDSASHA1SignatureMethod,
		"http://www.w3.org/2000/09/xmldsig#dsa-sha1", "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
		"http://www.w3.org/2000/09/xmldsig#sha1":
		return true
	}
	return false
}

// usesSHA1 reports whether any SignatureMethod or DigestMethod inside the
// ds:Signature element sigEl, wherever it sits, names a SHA-1 based
// algorithm.
func usesSHA1(sigEl *etree.Element) bool {
	for _, path := range []string{".//SignatureMethod", ".//DigestMethod"} {
		for _, el := range sigEl.FindElements(path) {
			for _, a := range el.Attr {
				if a.Key == "Algorithm" && sha1Algorithm(a.Value) {
					return true
				}
			}
		}
	}
	return false
}
