package saml

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"time"

	csaml "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/gatehouse-id/gatehouse/sso/saml/internal/xmlroundtrip"
)

// Defaults and limits of Config.
const (
	DefaultMaxSkew = 3 * time.Minute
	// MaxAllowedSkew is the largest Config.MaxSkew: crewjam/saml applies
	// its own (package-level, read-only for us) bound of 180 s as well.
	MaxAllowedSkew = 3 * time.Minute
	// DefaultMaxMessageBytes bounds a decoded SAML message (the XML). Azure
	// AD responses with many group claims stay well under it.
	DefaultMaxMessageBytes = 256 << 10
	// MaxRelayStateBytes is the RelayState limit of saml-bindings §3.4.3.
	MaxRelayStateBytes = 80
)

// Config configures the service provider of one SSO connection. Build one
// per connection; nothing is shared between connections.
type Config struct {
	// ConnectionID identifies the connection (the idp_id); it namespaces
	// the replay cache.
	ConnectionID string
	// EntityID is our SP entity id; it defaults to MetadataURL.
	EntityID string
	// ACSURL is {base}/enterprise/{idp_id}/acs (HTTP-POST binding).
	ACSURL string
	// MetadataURL is {base}/enterprise/{idp_id}/metadata.
	MetadataURL string
	// SLOURL is {base}/enterprise/{idp_id}/slo; empty leaves single logout
	// out of the metadata.
	SLOURL string

	// IdP is the parsed IdP metadata (ParseIdPMetadata). Only its
	// certificates are trusted for signatures; KeyInfo in messages never is.
	IdP *IdPMetadata

	// SPKey and SPCert, when set, sign AuthnRequests (RSA-SHA256 or
	// ECDSA-SHA256) and are published in the metadata. An RSA key is also
	// advertised for encryption and decrypts EncryptedAssertions.
	SPKey  crypto.Signer
	SPCert *x509.Certificate

	// UnsignedAuthnRequests sends AuthnRequests unsigned, and leaves
	// AuthnRequestsSigned="true" out of the metadata, unless the IdP
	// metadata has WantAuthnRequestsSigned; logout messages are still
	// signed with SPKey, and encrypted assertions still decrypted. Some
	// IdPs lose the HTTP-Redirect binding's detached signature when their
	// login form posts the request back to themselves, then refuse the
	// request as unsigned because the SP metadata promised signatures.
	UnsignedAuthnRequests bool

	// NameIDFormat is requested in AuthnRequests and listed in the
	// metadata; default urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified.
	NameIDFormat string

	// AllowIdPInitiated accepts responses without InResponseTo. Off by
	// default: unsolicited responses are easier to inject (login CSRF).
	AllowIdPInitiated bool

	// AllowExpiredIdPCertificates accepts signatures by a metadata
	// certificate outside its validity period (the SAML metadata interop
	// profile treats it as a bare key). Off by default.
	AllowExpiredIdPCertificates bool

	// AllowSHA1Signatures accepts messages signed with a SHA-1 based
	// algorithm (rsa-sha1, ecdsa-sha1, dsa-sha1, hmac-sha1, or a sha1
	// digest): in a response's or an assertion's XML signature, and in
	// a logout message's (its SigAlg with the HTTP-Redirect binding). Off
	// by default: SHA-1 collisions are practical, and an IdP that still
	// signs with it should move to SHA-256. A refusal is
	// ReasonUnsupported.
	AllowSHA1Signatures bool

	// Clock returns the current time; default time.Now.
	Clock func() time.Time
	// MaxSkew is the clock skew allowed on NotBefore, NotOnOrAfter and
	// IssueInstant; default DefaultMaxSkew, at most MaxAllowedSkew.
	MaxSkew time.Duration
	// MaxMessageBytes bounds a decoded (and inflated) message; default
	// DefaultMaxMessageBytes. The encoded form is bounded accordingly
	// before it is decoded.
	MaxMessageBytes int

	// ReplayCache records consumed assertion ids; required. Share one
	// store-backed cache between all instances of the server.
	ReplayCache ReplayCache
}

// ServiceProvider is the SAML service provider of one SSO connection. It is
// immutable once built and safe for concurrent use.
type ServiceProvider struct {
	cfg       Config
	acsURL    url.URL
	mdURL     url.URL
	sloURL    url.URL
	sigMethod string

	// onePass verifies responses with verifyOnePass (see verify.go),
	// leaving to crewjam/saml what it does not decide; false sends every
	// response to crewjam/saml's ParseXMLResponse. On in New; the
	// differential tests turn it off to get the reference decision.
	onePass bool
	keys    onePassKeys
	// tokens remembers the shapes of the tags that passed crewjam/saml's
	// round-trip check in this connection's messages (xmlroundtrip.Memo).
	tokens *xmlroundtrip.Memo
}

// New validates cfg and builds the service provider of one connection.
func New(cfg Config) (*ServiceProvider, error) {
	if cfg.ConnectionID == "" {
		return nil, errors.New("saml: Config.ConnectionID is required")
	}
	if cfg.IdP == nil || cfg.IdP.entity == nil {
		return nil, errors.New("saml: Config.IdP is required (use ParseIdPMetadata)")
	}
	if cfg.ReplayCache == nil {
		return nil, errors.New("saml: Config.ReplayCache is required")
	}
	p := &ServiceProvider{}
	for _, u := range []struct {
		name, raw string
		dst       *url.URL
		required  bool
	}{
		{"ACSURL", cfg.ACSURL, &p.acsURL, true},
		{"MetadataURL", cfg.MetadataURL, &p.mdURL, true},
		{"SLOURL", cfg.SLOURL, &p.sloURL, false},
	} {
		if u.raw == "" {
			if u.required {
				return nil, fmt.Errorf("saml: Config.%s is required", u.name)
			}
			continue
		}
		parsed, err := url.Parse(u.raw)
		if err != nil || !parsed.IsAbs() || (parsed.Scheme != "https" && parsed.Scheme != "http") {
			return nil, fmt.Errorf("saml: Config.%s %q is not an absolute http(s) URL", u.name, u.raw)
		}
		if parsed.String() != u.raw {
			return nil, fmt.Errorf("saml: Config.%s %q is not in canonical form (%q)", u.name, u.raw, parsed.String())
		}
		*u.dst = *parsed
	}
	if cfg.EntityID == "" {
		cfg.EntityID = cfg.MetadataURL
	}
	if cfg.NameIDFormat == "" {
		cfg.NameIDFormat = string(csaml.UnspecifiedNameIDFormat)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	switch {
	case cfg.MaxSkew == 0:
		cfg.MaxSkew = DefaultMaxSkew
	case cfg.MaxSkew < 0 || cfg.MaxSkew > MaxAllowedSkew:
		return nil, fmt.Errorf("saml: Config.MaxSkew %s is outside (0, %s]", cfg.MaxSkew, MaxAllowedSkew)
	}
	if cfg.MaxMessageBytes == 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.MaxMessageBytes < 0 {
		return nil, errors.New("saml: Config.MaxMessageBytes is negative")
	}
	if (cfg.SPKey == nil) != (cfg.SPCert == nil) {
		return nil, errors.New("saml: Config.SPKey and Config.SPCert go together")
	}
	if cfg.SPKey != nil {
		switch cfg.SPKey.Public().(type) {
		case *rsa.PublicKey:
			p.sigMethod = dsig.RSASHA256SignatureMethod
		case *ecdsa.PublicKey:
			p.sigMethod = dsig.ECDSASHA256SignatureMethod
		default:
			return nil, fmt.Errorf("saml: Config.SPKey type %T is not RSA or ECDSA", cfg.SPKey.Public())
		}
		if pub, ok := cfg.SPCert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(cfg.SPKey.Public()) {
			return nil, errors.New("saml: Config.SPCert does not match Config.SPKey")
		}
	}
	p.cfg = cfg
	p.keys = newOnePassKeys(&p.cfg)
	p.tokens = xmlroundtrip.NewMemo()
	p.onePass = true
	return p, nil
}

func (p *ServiceProvider) now() time.Time { return p.cfg.Clock().UTC() }

// newCrewjam returns a crewjam ServiceProvider for one operation, with a
// clock frozen at now so that every check of the operation sees one time.
func (p *ServiceProvider) newCrewjam(now time.Time) *csaml.ServiceProvider {
	sp := &csaml.ServiceProvider{
		EntityID:                         p.cfg.EntityID,
		MetadataURL:                      p.mdURL,
		AcsURL:                           p.acsURL,
		SloURL:                           p.sloURL,
		IDPMetadata:                      p.cfg.IdP.entity,
		AuthnNameIDFormat:                csaml.NameIDFormat(p.cfg.NameIDFormat),
		AllowIDPInitiated:                p.cfg.AllowIdPInitiated,
		Clock:                            dsig.NewFakeClockAt(now),
		IgnoreCertificateExpiry:          p.cfg.AllowExpiredIdPCertificates,
		AssertionConsumerServiceBindings: []string{csaml.HTTPPostBinding},
		LogoutBindings:                   []string{csaml.HTTPRedirectBinding, csaml.HTTPPostBinding},
		LimitRelayStateLength:            true,
		RejectUnknownConditions:          true,
		RejectSHA1Signatures:             !p.cfg.AllowSHA1Signatures,
	}
	if p.cfg.SPKey != nil {
		sp.Key = p.cfg.SPKey
		sp.Certificate = p.cfg.SPCert
		sp.SignatureMethod = p.sigMethod
		if k, ok := p.cfg.SPKey.(*rsa.PrivateKey); ok {
			sp.EncryptionKey = k
		}
	}
	return sp
}
