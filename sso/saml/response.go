package saml

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/beevik/etree"
	csaml "github.com/crewjam/saml"

	"github.com/gatehouse-id/gatehouse/sso/saml/internal/xmlroundtrip"
)

const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	bearer      = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
)

// Assertion is what a verified SAML response says about the user. Key users
// by (connection, NameID), never by an asserted email alone.
type Assertion struct {
	IdPEntityID          string              // the IdP that issued it (== Config.IdP.EntityID)
	NameID               string              // the subject, as the IdP names it
	NameIDFormat         string              // NameID Format attribute, may be empty
	SessionIndex         string              // first AuthnStatement SessionIndex, for SLO
	AuthnInstant         time.Time           // when the user authenticated at the IdP
	AuthnContextClassRef string              // how, if the IdP says
	Attributes           map[string][]string // by attribute Name (never FriendlyName)
	AssertionID          string              // consumed in the replay cache
	IssueInstant         time.Time
	NotOnOrAfter         time.Time // end of the assertion's validity (earliest of Conditions and SubjectConfirmationData)
	InResponseTo         string    // the AuthnRequest ID it answers; "" for IdP-initiated
	// ReplayUntil is how long AssertionID must stay claimed in the replay
	// cache: past every moment at which the assertion could be accepted.
	ReplayUntil time.Time
}

// maxEncodedLen is the longest base64 text whose decoded form can fit in
// max bytes, with room for the line breaks some IdPs insert.
func maxEncodedLen(max int) int {
	n := base64.StdEncoding.EncodedLen(max)
	return n + n/32 + 64
}

// MaxEncodedBytes is the longest SAMLResponse/SAMLRequest form or query
// value ParseResponse accepts; the HTTP layer should bound the request body
// (http.MaxBytesReader) to a little more than this.
func (p *ServiceProvider) MaxEncodedBytes() int { return maxEncodedLen(p.cfg.MaxMessageBytes) }

// decodeBase64Bounded decodes s (standard alphabet, CR/LF/space/tab
// tolerated) after checking its length, and bounds the result.
func decodeBase64Bounded(s string, max int) ([]byte, *Error) {
	if len(s) > maxEncodedLen(max) {
		return nil, fail(ReasonTooLarge, fmt.Sprintf("encoded message is %d bytes, over %d", len(s), maxEncodedLen(max)), nil)
	}
	// The decoder skips CR and LF itself; spaces and tabs, which a few
	// IdPs also put in, are removed first (a copy only when present).
	if strings.ContainsAny(s, " \t") {
		s = strings.Map(func(r rune) rune {
			switch r {
			case ' ', '\t':
				return -1
			}
			return r
		}, s)
	}
	if strings.Trim(s, "\r\n") == "" {
		return nil, fail(ReasonMalformed, "empty message", nil)
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fail(ReasonMalformed, "message is not base64", err)
	}
	if len(raw) > max {
		return nil, fail(ReasonTooLarge, fmt.Sprintf("decoded message is %d bytes, over %d", len(raw), max), nil)
	}
	return raw, nil
}

// ParseResponse verifies a SAML Response received with the HTTP-POST
// binding at the ACS and returns its assertion, or an *Error whose Error()
// is PublicErrorMessage and whose Reason/Detail go to the audit log.
//
// samlResponse is the SAMLResponse form value as posted. receivedURL is the
// URL that received it, built from the configured base URL (not from Host
// headers); it must be Config.ACSURL. possibleRequestIDs are the
// AuthnRequest IDs bound to this browser; empty strings never match.
//
// On success the assertion id has been claimed in the replay cache, so a
// second call with the same response fails with ReasonReplay. The caller
// must still consume the matched request ID (Assertion.InResponseTo).
func (p *ServiceProvider) ParseResponse(ctx context.Context, samlResponse, receivedURL string, possibleRequestIDs []string) (*Assertion, error) {
	a, err := p.parseResponse(ctx, samlResponse, receivedURL, possibleRequestIDs)
	if err == nil {
		err = p.claim(ctx, a)
	}
	if err != nil {
		return nil, err // a non-nil *Error, never a typed nil
	}
	return a, nil
}

// VerifyResponse makes every check of ParseResponse but the last: it does
// not claim the assertion in the replay cache. It is for a caller that
// claims it in the same store transaction as the one that accepts the
// sign-in (one commit instead of two): that transaction must record
// (Config.ConnectionID, AssertionID) until ReplayUntil, atomically, and
// refuse the sign-in (ReasonReplay) when the pair is already recorded; a
// sign-in refused after VerifyResponse must still be claimed (Claim), so
// that the assertion cannot be presented again. Any other caller uses
// ParseResponse, which is VerifyResponse followed by Claim.
func (p *ServiceProvider) VerifyResponse(ctx context.Context, samlResponse, receivedURL string, possibleRequestIDs []string) (*Assertion, error) {
	a, err := p.parseResponse(ctx, samlResponse, receivedURL, possibleRequestIDs)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Claim records a.AssertionID in Config.ReplayCache until a.ReplayUntil.
// It fails with an *Error whose Reason is ReasonReplay when the assertion
// was already claimed, ReasonReplayCacheError when the cache fails, and
// ReasonCanceled when ctx is done.
func (p *ServiceProvider) Claim(ctx context.Context, a *Assertion) error {
	if err := p.claim(ctx, a); err != nil {
		return err
	}
	return nil
}

func (p *ServiceProvider) claim(ctx context.Context, a *Assertion) *Error {
	if a == nil || a.AssertionID == "" {
		return fail(ReasonMissingElement, "no assertion to claim", nil)
	}
	if err := ctx.Err(); err != nil {
		return fail(ReasonCanceled, "", err)
	}
	ok, err := p.cfg.ReplayCache.Claim(ctx, p.cfg.ConnectionID, a.AssertionID, a.ReplayUntil)
	if err != nil {
		return fail(ReasonReplayCacheError, "", err)
	}
	if !ok {
		return fail(ReasonReplay, fmt.Sprintf("assertion %q was already used", a.AssertionID), nil)
	}
	return nil
}

func (p *ServiceProvider) parseResponse(ctx context.Context, samlResponse, receivedURL string, possibleRequestIDs []string) (*Assertion, *Error) {
	if err := ctx.Err(); err != nil {
		return nil, fail(ReasonCanceled, "", err)
	}
	now := p.now()
	if receivedURL != p.cfg.ACSURL {
		return nil, fail(ReasonDestination, fmt.Sprintf("received at %q, not at the ACS URL %q", receivedURL, p.cfg.ACSURL), nil)
	}
	raw, ferr := decodeBase64Bounded(samlResponse, p.cfg.MaxMessageBytes)
	if ferr != nil {
		return nil, ferr
	}
	var (
		shape    *responseShape
		doc      *etree.Document
		checkErr error // crewjam/saml's round-trip check on raw
	)
	if p.onePass {
		var parseErr error
		var folded bool
		doc, parseErr, checkErr, folded = xmlroundtrip.Parse(raw, p.tokens)
		if !folded {
			doc = etree.NewDocument()
			parseErr = doc.ReadFromBytes(raw)
			checkErr = xmlroundtrip.Validate(raw)
		}
		shape, ferr = inspectTree(doc, parseErr)
	} else {
		shape, ferr = inspectResponse(raw)
	}
	if ferr != nil {
		return nil, ferr
	}
	if shape.destination != receivedURL {
		return nil, fail(ReasonDestination, fmt.Sprintf("Destination %q is not %q", shape.destination, receivedURL), nil)
	}

	ids := make([]string, 0, len(possibleRequestIDs))
	for _, id := range possibleRequestIDs {
		if id != "" {
			ids = append(ids, id)
		}
	}
	var (
		ca  *csaml.Assertion
		err error = errUndecided
	)
	if p.onePass {
		ca, err = p.verifyOnePass(doc, checkErr, ids, now)
	}
	if errors.Is(err, errUndecided) {
		ca, err = p.newCrewjam(now).ParseXMLResponse(raw, ids, p.acsURL)
	}
	if err != nil {
		return nil, classify(err)
	}
	a, ferr := p.checkAssertion(ca, shape, now)
	if ferr != nil {
		return nil, ferr
	}
	// Last (ParseResponse, Claim): claim the id, only for an otherwise
	// valid assertion.
	a.ReplayUntil = replayDeadline(ca)
	return a, nil
}

// responseShape is what ParseResponse checks on the document as received,
// before the library reads it.
type responseShape struct {
	destination  string
	issueInstant string
	inResponseTo string
	assertionID  string // ID of the plaintext Assertion; "" when encrypted
}

// inspectResponse checks the structure of the received document: a
// samlp:Response root with exactly one saml:Assertion or
// saml:EncryptedAssertion child and no other element of those names
// anywhere (signature wrapping hides a second assertion in Extensions,
// Object, Advice or inside the first one); no DTD, no processing
// instruction but the XML declaration.
//
// It reads the document as github.com/beevik/etree (which crewjam/saml
// parses it with) would, strictly, but in one pass over its tokens without
// building the tree: the root element is the first element of the
// document, an element's namespace is the one its prefix (or the default
// namespace) is declared with on it or its parent, and of attributes
// repeated with the same name the last value counts. The decisions are
// those of the tree-walking version it replaced
// (FuzzInspectResponseMatchesTree).
func inspectResponse(raw []byte) (*responseShape, *Error) {
	dec := xml.NewDecoder(bytes.NewReader(raw))
	dec.Strict = true
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }

	var (
		open      []xml.Name // the open elements, for end-tag matching
		seenRoot  bool
		inRoot    bool // the root element is open
		rootName  xml.Name
		rootAttrs []xml.Attr
		directive *Error            // the first DTD or processing instruction, in document order
		count     int               // Assertion/EncryptedAssertion elements under the root
		first     *xml.StartElement // the first of them, if it is a child of the root
		firstNS   string
	)
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			if len(open) != 0 {
				return nil, fail(ReasonMalformed, "not XML", errors.New("unexpected end of document"))
			}
			break
		}
		if err != nil {
			return nil, fail(ReasonMalformed, "not XML", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(open) >= maxInspectDepth {
				return nil, fail(ReasonMalformed, "not XML", errors.New("too deep"))
			}
			open = append(open, t.Name)
			switch {
			case len(open) == 1 && !seenRoot:
				seenRoot, inRoot = true, true
				rootName, rootAttrs = t.Name, mergeAttrs(t.Attr)
			case inRoot && (t.Name.Local == "Assertion" || t.Name.Local == "EncryptedAssertion"):
				count++
				if count == 1 && len(open) == 2 {
					el := xml.StartElement{Name: t.Name, Attr: mergeAttrs(t.Attr)}
					first = &el
					firstNS = namespaceURI(t.Name.Space, el.Attr, rootAttrs)
				}
			}
		case xml.EndElement:
			if len(open) == 0 || open[len(open)-1] != t.Name {
				return nil, fail(ReasonMalformed, "not XML", errors.New("mismatched end element"))
			}
			open = open[:len(open)-1]
			if len(open) == 0 {
				inRoot = false
			}
		case xml.Directive:
			if directive == nil {
				directive = fail(ReasonMalformed, "XML directive (DTD) in the message", nil)
			}
		case xml.ProcInst:
			if directive == nil && (t.Target != "xml" || len(open) > 0) {
				directive = fail(ReasonMalformed, "XML processing instruction in the message", nil)
			}
		}
	}
	if !seenRoot {
		return nil, fail(ReasonMalformed, "no root element", nil)
	}
	if directive != nil {
		return nil, directive
	}
	if ns := namespaceURI(rootName.Space, rootAttrs, nil); rootName.Local != "Response" || ns != nsProtocol {
		return nil, fail(ReasonMalformed, fmt.Sprintf("root element is {%s}%s, not a samlp:Response", ns, rootName.Local), nil)
	}
	shape := &responseShape{}
	var ferr *Error
	if shape.destination, ferr = uniqueAttr(rootAttrs, rootName.Local, "Destination"); ferr != nil {
		return nil, ferr
	}
	if shape.issueInstant, ferr = uniqueAttr(rootAttrs, rootName.Local, "IssueInstant"); ferr != nil {
		return nil, ferr
	}
	if shape.inResponseTo, ferr = uniqueAttr(rootAttrs, rootName.Local, "InResponseTo"); ferr != nil {
		return nil, ferr
	}
	if count != 1 {
		return nil, fail(ReasonAssertionCount, fmt.Sprintf("%d Assertion/EncryptedAssertion elements, want exactly 1", count), nil)
	}
	if first == nil || firstNS != nsAssertion {
		return nil, fail(ReasonAssertionCount, "the assertion is not a saml:Assertion child of the Response", nil)
	}
	if first.Name.Local == "Assertion" {
		if shape.assertionID, ferr = uniqueAttr(first.Attr, first.Name.Local, "ID"); ferr != nil {
			return nil, ferr
		}
		if shape.assertionID == "" {
			return nil, fail(ReasonMissingElement, "Assertion has no ID", nil)
		}
	}
	return shape, nil
}

// inspectTree is inspectResponse on the document parsed by etree (doc,
// with the error ReadFromBytes returned): it makes the same decisions
// (FuzzInspectResponseMatchesTree) on the tree the one-pass verifier
// reads, instead of a tokenisation of its own.
func inspectTree(doc *etree.Document, parseErr error) (*responseShape, *Error) {
	if parseErr != nil {
		return nil, fail(ReasonMalformed, "not XML", parseErr)
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
		for _, c := range el.Child {
			c, ok := c.(*etree.Element)
			if !ok {
				continue
			}
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

// maxInspectDepth is etree's default depth limit, which the tree-walking
// version applied.
const maxInspectDepth = 1024

// mergeAttrs keeps one attribute per name, at its first position with its
// last value, as etree does.
func mergeAttrs(attrs []xml.Attr) []xml.Attr {
	out := make([]xml.Attr, 0, len(attrs))
next:
	for _, a := range attrs {
		for i := range out {
			if out[i].Name == a.Name {
				out[i].Value = a.Value
				continue next
			}
		}
		out = append(out, a)
	}
	return out
}

// namespaceURI resolves the prefix of an element with attributes attrs
// whose parent has parentAttrs (nil for the root element): the declaration
// on the element, else on its parent, else "".
func namespaceURI(prefix string, attrs, parentAttrs []xml.Attr) string {
	for _, list := range [][]xml.Attr{attrs, parentAttrs} {
		for _, a := range list {
			if (prefix == "" && a.Name.Space == "" && a.Name.Local == "xmlns") ||
				(prefix != "" && a.Name.Space == "xmlns" && a.Name.Local == prefix) {
				return a.Value
			}
		}
	}
	return ""
}

// uniqueAttr returns the value of the unqualified attribute key of element
// tag, "" if absent, and refuses an element that also carries it under a
// prefix (encoding/xml would read either).
func uniqueAttr(attrs []xml.Attr, tag, key string) (string, *Error) {
	var val string
	n := 0
	for _, a := range attrs {
		if a.Name.Local == key {
			n++
			val = a.Value
			if a.Name.Space != "" {
				return "", fail(ReasonMalformed, fmt.Sprintf("attribute %s:%s on <%s>", a.Name.Space, a.Name.Local, tag), nil)
			}
		}
	}
	if n > 1 {
		return "", fail(ReasonMalformed, fmt.Sprintf("attribute %s repeated on <%s>", key, tag), nil)
	}
	return val, nil
}

// checkAssertion applies the checks crewjam/saml does not make, or makes
// with its own package-level skew, and converts the assertion.
func (p *ServiceProvider) checkAssertion(ca *csaml.Assertion, shape *responseShape, now time.Time) (*Assertion, *Error) {
	skew := p.cfg.MaxSkew
	if ca.ID == "" {
		return nil, fail(ReasonMissingElement, "assertion has no ID", nil)
	}
	if shape.assertionID != "" && ca.ID != shape.assertionID {
		return nil, fail(ReasonInvalidSignature, fmt.Sprintf("consumed assertion %q is not the received one %q", ca.ID, shape.assertionID), nil)
	}
	if ca.Issuer.Value != p.cfg.IdP.EntityID {
		return nil, fail(ReasonIssuer, fmt.Sprintf("assertion Issuer %q", ca.Issuer.Value), nil)
	}
	if ca.Subject == nil || ca.Subject.NameID == nil || strings.TrimSpace(ca.Subject.NameID.Value) == "" {
		return nil, fail(ReasonMissingElement, "assertion has no NameID", nil)
	}
	if ca.Conditions == nil {
		return nil, fail(ReasonMissingElement, "assertion has no Conditions", nil)
	}
	if shape.issueInstant != "" {
		t, err := time.Parse(time.RFC3339Nano, shape.issueInstant)
		if err != nil {
			return nil, fail(ReasonMalformed, "Response IssueInstant", err)
		}
		if t.After(now.Add(skew)) {
			return nil, fail(ReasonNotYetValid, "Response IssueInstant "+t.Format(time.RFC3339)+" is in the future", nil)
		}
	}
	if ca.IssueInstant.After(now.Add(skew)) {
		return nil, fail(ReasonNotYetValid, "assertion IssueInstant is in the future", nil)
	}
	if ca.Conditions.NotBefore.After(now.Add(skew)) {
		return nil, fail(ReasonNotYetValid, "Conditions NotBefore is in the future", nil)
	}
	if nooa := ca.Conditions.NotOnOrAfter; !nooa.IsZero() && !now.Before(nooa.Add(skew)) {
		return nil, fail(ReasonExpired, "Conditions NotOnOrAfter has passed", nil)
	}
	// One bearer confirmation for our ACS must be valid with our skew.
	var scd *csaml.SubjectConfirmationData
	for _, sc := range ca.Subject.SubjectConfirmations {
		d := sc.SubjectConfirmationData
		if sc.Method != bearer || d == nil || d.Recipient != p.cfg.ACSURL {
			continue
		}
		if d.NotBefore.After(now.Add(skew)) || !now.Before(d.NotOnOrAfter.Add(skew)) {
			continue
		}
		scd = d
		break
	}
	if scd == nil {
		return nil, fail(ReasonExpired, "no bearer SubjectConfirmationData valid now within the configured skew", nil)
	}
	inResponseTo := scd.InResponseTo
	if inResponseTo == "" {
		inResponseTo = shape.inResponseTo
	}
	if inResponseTo == "" && !p.cfg.AllowIdPInitiated {
		return nil, fail(ReasonInResponseTo, "unsolicited response and IdP-initiated sign-in is off", nil)
	}
	a := &Assertion{
		IdPEntityID:  ca.Issuer.Value,
		NameID:       ca.Subject.NameID.Value,
		NameIDFormat: ca.Subject.NameID.Format,
		AssertionID:  ca.ID,
		IssueInstant: ca.IssueInstant,
		NotOnOrAfter: scd.NotOnOrAfter,
		InResponseTo: inResponseTo,
		Attributes:   map[string][]string{},
	}
	if n := ca.Conditions.NotOnOrAfter; !n.IsZero() && n.Before(a.NotOnOrAfter) {
		a.NotOnOrAfter = n
	}
	if len(ca.AuthnStatements) > 0 {
		st := ca.AuthnStatements[0]
		a.SessionIndex = st.SessionIndex
		a.AuthnInstant = st.AuthnInstant
		if st.AuthnContext.AuthnContextClassRef != nil {
			a.AuthnContextClassRef = st.AuthnContext.AuthnContextClassRef.Value
		}
	}
	for _, st := range ca.AttributeStatements {
		for _, attr := range st.Attributes {
			for _, v := range attr.Values {
				val := v.Value
				if v.NameID != nil {
					val = v.NameID.Value
				}
				a.Attributes[attr.Name] = append(a.Attributes[attr.Name], val)
			}
		}
	}
	return a, nil
}

// replayDeadline is how long an assertion id must stay claimed: past every
// moment at which the assertion could still be accepted.
func replayDeadline(ca *csaml.Assertion) time.Time {
	until := ca.IssueInstant.Add(csaml.MaxIssueDelay)
	if ca.Conditions != nil && ca.Conditions.NotOnOrAfter.After(until) {
		until = ca.Conditions.NotOnOrAfter
	}
	if ca.Subject != nil {
		for _, sc := range ca.Subject.SubjectConfirmations {
			if d := sc.SubjectConfirmationData; d != nil && d.NotOnOrAfter.After(until) {
				until = d.NotOnOrAfter
			}
		}
	}
	return until.Add(MaxAllowedSkew)
}
