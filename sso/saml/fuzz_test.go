package saml

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"
	"time"
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
