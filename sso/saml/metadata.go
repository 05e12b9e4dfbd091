package saml

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"

	csaml "github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	xrv "github.com/mattermost/xml-roundtrip-validator"
)

// MaxMetadataBytes bounds the IdP metadata ParseIdPMetadata accepts. Real
// single-IdP metadata is a few kilobytes; federation aggregates are refused
// anyway (one IdP per connection).
const MaxMetadataBytes = 1 << 20

// Errors ParseIdPMetadata returns, wrapped with details; match them with
// errors.Is. Their messages are written for the administrator who pasted
// or uploaded the metadata.
var (
	ErrMetadataTooLarge        = errors.New("the IdP metadata is too large (over 1 MiB)")
	ErrMetadataNotXML          = errors.New("the IdP metadata is not valid XML")
	ErrMetadataNoEntity        = errors.New("the IdP metadata has no EntityDescriptor with an entityID")
	ErrMetadataNoIDPDescriptor = errors.New("the IdP metadata has no IDPSSODescriptor (is this a service provider's metadata?)")
	ErrMetadataNoSSOURL        = errors.New("the IdP metadata has no SingleSignOnService with the HTTP-Redirect binding")
	ErrMetadataNoSigningCert   = errors.New("the IdP metadata has no signing certificate")
	ErrMetadataBadCertificate  = errors.New("the IdP metadata has a certificate that cannot be read")
	ErrMetadataTooManyCerts    = fmt.Errorf("the IdP metadata lists more than %d signing certificates", MaxSigningCerts)
)

// MaxSigningCerts is the most signing certificates an IdP's metadata may
// list. IdPs list one, or two while they roll their key over. A message
// whose signature names no certificate is checked against each of them,
// before anything else about it is known: a few hundred made one
// anonymous post to the ACS cost a second of CPU.
const MaxSigningCerts = 16

// IdPMetadata is the validated content of an identity provider's SAML
// metadata. Store the raw XML with the connection and parse it again when
// the connection is loaded.
type IdPMetadata struct {
	EntityID string // the IdP's entity id; assertions must be issued by it
	SSOURL   string // SingleSignOnService, HTTP-Redirect binding
	SLOURL   string // SingleLogoutService (HTTP-Redirect, else HTTP-POST); may be empty

	// SigningCerts are all the certificates the metadata lists for signing
	// (use="signing" or no use). Each of them is trusted, so an IdP
	// rotating its key can publish the old and new certificates together.
	SigningCerts []*x509.Certificate

	// WantAuthnRequestsSigned is true when the IdP refuses unsigned
	// AuthnRequests: Config.SPKey must then be set.
	WantAuthnRequestsSigned bool

	// ValidUntil is the metadata's validUntil, or zero.
	ValidUntil time.Time

	// Warnings are problems worth telling the administrator about that do
	// not stop the metadata from being used: an expired or not yet valid
	// certificate, metadata past its validUntil, no logout endpoint.
	Warnings []string

	entity *csaml.EntityDescriptor
}

// ParseIdPMetadata validates IdP metadata (an EntityDescriptor, or an
// EntitiesDescriptor holding exactly one IdP) and extracts what a
// connection needs. now is used only to produce Warnings about certificate
// and metadata validity; pass time.Now() or the connection's clock.
func ParseIdPMetadata(data []byte, now time.Time) (*IdPMetadata, error) {
	if len(data) > MaxMetadataBytes {
		return nil, ErrMetadataTooLarge
	}
	if len(bytes.TrimSpace(data)) == 0 || !bytes.Contains(data, []byte("<")) {
		return nil, fmt.Errorf("%w: the document is empty or has no XML element", ErrMetadataNotXML)
	}
	if err := xrv.Validate(bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMetadataNotXML, err)
	}
	root, err := rootElement(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMetadataNotXML, err)
	}
	if root.Space != mdNamespace || (root.Local != "EntityDescriptor" && root.Local != "EntitiesDescriptor") {
		return nil, fmt.Errorf("%w: the root element is <%s> in namespace %q", ErrMetadataNoEntity, root.Local, root.Space)
	}
	ed, err := samlsp.ParseMetadata(data)
	if err != nil {
		if strings.Contains(err.Error(), "IDPSSODescriptor") {
			return nil, fmt.Errorf("%w: %v", ErrMetadataNoIDPDescriptor, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrMetadataNotXML, err)
	}
	if strings.TrimSpace(ed.EntityID) == "" {
		return nil, ErrMetadataNoEntity
	}
	if len(ed.IDPSSODescriptors) == 0 {
		return nil, ErrMetadataNoIDPDescriptor
	}
	md := &IdPMetadata{EntityID: ed.EntityID, ValidUntil: ed.ValidUntil, entity: ed}

	for _, d := range ed.IDPSSODescriptors {
		for _, s := range d.SingleSignOnServices {
			if md.SSOURL == "" && s.Binding == csaml.HTTPRedirectBinding && strings.TrimSpace(s.Location) != "" {
				md.SSOURL = strings.TrimSpace(s.Location)
			}
		}
		for _, binding := range []string{csaml.HTTPRedirectBinding, csaml.HTTPPostBinding} {
			for _, s := range d.SingleLogoutServices {
				if md.SLOURL == "" && s.Binding == binding && strings.TrimSpace(s.Location) != "" {
					md.SLOURL = strings.TrimSpace(s.Location)
				}
			}
		}
		for _, kd := range d.KeyDescriptors {
			if kd.Use != "" && kd.Use != "signing" {
				continue
			}
			for _, c := range kd.KeyInfo.X509Data.X509Certificates {
				cert, err := parseCertificate(c.Data)
				if err != nil {
					return nil, fmt.Errorf("%w: %v", ErrMetadataBadCertificate, err)
				}
				md.SigningCerts = append(md.SigningCerts, cert)
				if len(md.SigningCerts) > MaxSigningCerts {
					return nil, ErrMetadataTooManyCerts
				}
			}
		}
	}
	if md.SSOURL == "" {
		return nil, ErrMetadataNoSSOURL
	}
	if len(md.SigningCerts) == 0 {
		return nil, ErrMetadataNoSigningCert
	}
	for _, c := range md.SigningCerts {
		switch {
		case now.After(c.NotAfter):
			md.Warnings = append(md.Warnings, fmt.Sprintf("signing certificate %q expired on %s", c.Subject.String(), c.NotAfter.UTC().Format(time.RFC3339)))
		case now.Before(c.NotBefore):
			md.Warnings = append(md.Warnings, fmt.Sprintf("signing certificate %q is not valid before %s", c.Subject.String(), c.NotBefore.UTC().Format(time.RFC3339)))
		}
	}
	if !md.ValidUntil.IsZero() && now.After(md.ValidUntil) {
		md.Warnings = append(md.Warnings, "the metadata validUntil ("+md.ValidUntil.UTC().Format(time.RFC3339)+") has passed; ask the IdP for fresh metadata")
	}
	for _, d := range ed.IDPSSODescriptors {
		if d.WantAuthnRequestsSigned != nil && *d.WantAuthnRequestsSigned {
			md.WantAuthnRequestsSigned = true
			md.Warnings = append(md.Warnings, "the IdP requires signed AuthnRequests (WantAuthnRequestsSigned): they are signed with the connection's SP key, whose certificate is in the SP metadata")
		}
	}
	if md.SLOURL == "" {
		md.Warnings = append(md.Warnings, "the metadata has no SingleLogoutService; single logout with this IdP is unavailable")
	}
	return md, nil
}

const mdNamespace = "urn:oasis:names:tc:SAML:2.0:metadata"

// rootElement returns the name of the first element of data.
func rootElement(data []byte) (xml.Name, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if err != nil {
			return xml.Name{}, err
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name, nil
		}
	}
}

func parseCertificate(data string) (*x509.Certificate, error) {
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(data), ""))
	if err != nil {
		return nil, fmt.Errorf("certificate is not base64: %w", err)
	}
	return x509.ParseCertificate(der)
}

// Metadata returns this service provider's SAML metadata (an
// EntityDescriptor) to give to the IdP administrator: entity id, the
// HTTP-POST AssertionConsumerService, the SingleLogoutService (HTTP-Redirect
// and HTTP-POST) when Config.SLOURL is set, the NameIDFormat,
// WantAssertionsSigned="true", and the signing (and encryption, for RSA
// keys) certificate when Config.SPKey is set, with AuthnRequestsSigned="true"
// unless Config.UnsignedAuthnRequests applies.
func (p *ServiceProvider) Metadata() ([]byte, error) {
	sp := p.newCrewjam(p.now())
	ed := sp.Metadata()
	if p.cfg.SLOURL == "" {
		for i := range ed.SPSSODescriptors {
			ed.SPSSODescriptors[i].SingleLogoutServices = nil
		}
	}
	if p.cfg.SPKey != nil && !p.signsAuthnRequests() {
		no := false
		for i := range ed.SPSSODescriptors {
			ed.SPSSODescriptors[i].AuthnRequestsSigned = &no
		}
	}
	out, err := xml.MarshalIndent(ed, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("saml: marshal SP metadata: %w", err)
	}
	return append([]byte(xml.Header), out...), nil
}
