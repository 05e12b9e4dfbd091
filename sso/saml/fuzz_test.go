package saml

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	csaml "github.com/crewjam/saml"
	xrv "github.com/mattermost/xml-roundtrip-validator"
)

// FuzzParseResponse feeds arbitrary SAMLResponse values (seeded with a real
// signed response and mutations of it) to ParseResponse: it must never
// panic, must return either an assertion or an *Error with the public
// message, and must never accept anything but the one genuine response.
func FuzzParseResponse(f *testing.F) {
	e := newEnv(f, withIdPInitiated())
	genuine, reqID := e.spInitiated()
	raw, _ := base64.StdEncoding.DecodeString(genuine)
	f.Add(raw)
	f.Add(raw[:len(raw)/2])
	f.Add([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/></saml:Assertion></samlp:Response>`))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, doc []byte) {
		// A fresh cache each run, so that acceptance is decided by the
		// checks and not by replay of an earlier input.
		e.cache = NewMemoryReplayCache(func() time.Time { return e.now })
		p := *e.sp
		p.cfg.ReplayCache = e.cache
		a, err := p.ParseResponse(context.Background(), base64.StdEncoding.EncodeToString(doc), spACS, []string{reqID})
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || err.Error() != PublicErrorMessage || a != nil {
				t.Fatalf("bad error contract: %T %v", err, err)
			}
			return
		}
		if a.NameID != goodName || a.InResponseTo != reqID {
			t.Fatalf("accepted a forged assertion: %+v", a)
		}
	})
}

// roundTripAttacks are the inputs github.com/mattermost/xml-roundtrip-validator
// refuses in its own tests (CVE-2020-29509, -29510, -29511 and unstable
// directives), and the ones crewjam/saml's port of it refuses in its tests.
var roundTripAttacks = []string{
	`<x::Root/>`,
	`<Root><x::Element></::Element></Root>`,
	`<Root><Element ::attr="foo"></Element></Root>`,
	`<Root></x::Element></Root>`,
	`<x:>`,
	`</x:>`,
	`<Root :="value"/>`,
	`<Root x:="value"/>`,
	`<Root xmlns="x" xmlns:="y"></Root>`,
	`<Root><! <<!-- -->!-- x --> y></Root>`,
	"<Root>\n<! <<!-- -->!-->\"--> \" >\n<! \">\" <X/>>\n</Root>",
	`<Root ::attr="x">]]><x::Element/></Root>`,
	"<a><!>DOCTYPE a=></a>",
	"<a>\n  </b:--d></a>",
	"<a><![CDATA[]]></a>",
}

// FuzzRoundTripCheckKept guards the removal of ParseResponse's own pass of
// mattermost/xml-roundtrip-validator (which duplicated crewjam/saml's port
// of the same check and cost more than a bare signature verification):
// whatever that validator refuses, crewjam/saml's ParseXMLResponse, which
// ParseResponse runs on every response, refuses as a malformed message
// before reading it, and ParseResponse refuses. The seeds put each known
// round-trip attack at the start of the genuine Response, inside its
// Assertion, and alone.
func FuzzRoundTripCheckKept(f *testing.F) {
	e := newEnv(f, withIdPInitiated())
	genuine, reqID := e.spInitiated()
	raw, _ := base64.StdEncoding.DecodeString(genuine)
	f.Add(raw)
	rootEnd := bytes.IndexByte(raw, '>') + 1
	asStart := bytes.Index(raw, []byte("<saml:Assertion"))
	if rootEnd <= 0 || asStart < 0 {
		f.Fatalf("unexpected genuine response %s", raw)
	}
	asEnd := asStart + bytes.IndexByte(raw[asStart:], '>') + 1
	refused := 0
	for _, a := range roundTripAttacks {
		if xrv.Validate(strings.NewReader(a)) != nil {
			refused++
		} else {
			f.Logf("the round-trip validator accepts %q with this Go version", a)
		}
		f.Add([]byte(a))
		for _, at := range []int{rootEnd, asEnd} {
			doc := append(append(append([]byte{}, raw[:at]...), a...), raw[at:]...)
			f.Add(doc)
		}
	}
	if refused < len(roundTripAttacks)/2 {
		f.Fatalf("the round-trip validator refuses only %d of the %d seeds: the test would check little", refused, len(roundTripAttacks))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if xrv.Validate(bytes.NewReader(doc)) == nil {
			return
		}
		_, err := e.sp.newCrewjam(e.now).ParseXMLResponse(doc, []string{reqID}, e.sp.acsURL)
		if !errors.Is(err, csaml.ErrMalformedMessage) {
			t.Fatalf("crewjam/saml did not refuse as malformed what the round-trip validator refuses (%v): %q", err, doc)
		}
		e.cache = NewMemoryReplayCache(func() time.Time { return e.now })
		p := *e.sp
		p.cfg.ReplayCache = e.cache
		if a, err := p.ParseResponse(context.Background(), base64.StdEncoding.EncodeToString(doc), spACS, []string{reqID}); err == nil {
			t.Fatalf("ParseResponse accepted what the round-trip validator refuses: %+v", a)
		}
	})
}
