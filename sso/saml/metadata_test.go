package saml

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	csaml "github.com/crewjam/saml"
)

func TestParseIdPMetadata(t *testing.T) {
	e := newEnv(t)
	good, err := xml.Marshal(e.idp.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	md, err := ParseIdPMetadata(good, e.now)
	if err != nil {
		t.Fatal(err)
	}
	if md.EntityID != idpBase+"/metadata" || md.SSOURL != idpBase+"/sso" || md.SLOURL != idpBase+"/slo" || len(md.SigningCerts) != 1 || len(md.Warnings) != 0 {
		t.Fatalf("unexpected %+v", md)
	}
	wrapped := []byte(`<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata">` + string(good) + `</EntitiesDescriptor>`)
	if md, err := ParseIdPMetadata(wrapped, e.now); err != nil || md.EntityID != idpBase+"/metadata" {
		t.Fatalf("EntitiesDescriptor: %v", err)
	}

	spMD, _ := e.sp.Metadata()
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMetadataNotXML},
		{"not XML", []byte("certificate: MIIB..."), ErrMetadataNotXML},
		{"broken XML", good[:len(good)/2], ErrMetadataNotXML},
		{"HTML page", []byte("<html><body>login</body></html>"), ErrMetadataNoEntity},
		{"SP metadata", spMD, ErrMetadataNoIDPDescriptor},
		{"too large", bytes.Repeat([]byte(" "), MaxMetadataBytes+1), ErrMetadataTooLarge},
		{"no signing certificate", []byte(strings.Replace(string(good), `use="signing"`, `use="encryption"`, 1)), ErrMetadataNoSigningCert},
		{"bad certificate", []byte(regexpCert.ReplaceAllString(string(good), "<X509Certificate>AAAA</X509Certificate>")), ErrMetadataBadCertificate},
		{"no redirect SSO", []byte(strings.ReplaceAll(string(good), csaml.HTTPRedirectBinding, "urn:x")), ErrMetadataNoSSOURL},
		{"more signing certificates than MaxSigningCerts", manyCerts(string(good), MaxSigningCerts+1), ErrMetadataTooManyCerts},
		{"two IdPs", []byte(`<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata">` + string(good) + strings.Replace(string(good), idpBase+"/metadata", "https://b.test", 1) + `</EntitiesDescriptor>`), ErrMetadataNoIDPDescriptor},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseIdPMetadata(c.in, e.now)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}

	if md, err := ParseIdPMetadata(manyCerts(string(good), MaxSigningCerts), e.now); err != nil || len(md.SigningCerts) != MaxSigningCerts {
		t.Fatalf("MaxSigningCerts certificates: %v", err)
	}
	t.Run("IdP wants signed requests", func(t *testing.T) {
		md, err := ParseIdPMetadata([]byte(strings.Replace(string(good), "<IDPSSODescriptor ", `<IDPSSODescriptor WantAuthnRequestsSigned="true" `, 1)), e.now)
		if err != nil || !md.WantAuthnRequestsSigned || len(md.Warnings) != 1 {
			t.Fatalf("%v %+v", err, md)
		}
	})
	t.Run("expired certificate is a warning", func(t *testing.T) {
		md, err := ParseIdPMetadata(good, e.now.Add(2*365*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(md.Warnings) == 0 || !strings.Contains(strings.Join(md.Warnings, "\n"), "expired") {
			t.Fatalf("warnings %q", md.Warnings)
		}
	})
}

func TestSPMetadata(t *testing.T) {
	e := newEnv(t, withSPKey())
	out, err := e.sp.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	var ed csaml.EntityDescriptor
	if err := xml.Unmarshal(out, &ed); err != nil {
		t.Fatal(err)
	}
	d := ed.SPSSODescriptors[0]
	if ed.EntityID != spMD || len(d.AssertionConsumerServices) != 1 || d.AssertionConsumerServices[0].Location != spACS ||
		d.AssertionConsumerServices[0].Binding != csaml.HTTPPostBinding {
		t.Fatalf("ACS/entity wrong: %s", out)
	}
	if d.AuthnRequestsSigned == nil || !*d.AuthnRequestsSigned || d.WantAssertionsSigned == nil || !*d.WantAssertionsSigned {
		t.Fatalf("signing flags wrong: %s", out)
	}
	if len(d.SingleLogoutServices) == 0 || d.SingleLogoutServices[0].Location != spSLO {
		t.Fatalf("SLO missing: %s", out)
	}
	if len(d.NameIDFormats) != 1 || d.NameIDFormats[0] != csaml.UnspecifiedNameIDFormat {
		t.Fatalf("NameIDFormat: %v", d.NameIDFormats)
	}
	var uses []string
	for _, k := range d.KeyDescriptors {
		uses = append(uses, k.Use)
		if k.KeyInfo.X509Data.X509Certificates[0].Data != base64.StdEncoding.EncodeToString(spKeys().cert.Raw) {
			t.Fatal("wrong certificate in metadata")
		}
	}
	if strings.Join(uses, ",") != "encryption,signing" {
		t.Fatalf("key uses %v", uses)
	}

	// Without a key and SLO URL: unsigned requests, no SLO endpoint.
	cfg := e.cfg
	cfg.SPKey, cfg.SPCert, cfg.SLOURL = nil, nil, ""
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out, _ = p.Metadata()
	if bytes.Contains(out, []byte("SingleLogoutService")) || !bytes.Contains(out, []byte(`AuthnRequestsSigned="false"`)) {
		t.Fatalf("unexpected: %s", out)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	e := newEnv(t)
	mut := map[string]func(c *Config){
		"no connection id":   func(c *Config) { c.ConnectionID = "" },
		"no IdP":             func(c *Config) { c.IdP = nil },
		"no replay cache":    func(c *Config) { c.ReplayCache = nil },
		"relative ACS":       func(c *Config) { c.ACSURL = "/acs" },
		"no metadata URL":    func(c *Config) { c.MetadataURL = "" },
		"skew too large":     func(c *Config) { c.MaxSkew = time.Hour },
		"key without cert":   func(c *Config) { c.SPKey = spKeys().key },
		"cert of other key":  func(c *Config) { c.SPKey, c.SPCert = spKeys().key, idpKeys().cert },
		"negative max bytes": func(c *Config) { c.MaxMessageBytes = -1 },
	}
	for name, f := range mut {
		t.Run(name, func(t *testing.T) {
			c := e.cfg
			f(&c)
			if _, err := New(c); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

var regexpCert = regexp.MustCompile(`<X509Certificate[^>]*>[^<]*</X509Certificate>`)

// manyCerts repeats the signing certificate of metadata until it lists n.
func manyCerts(metadata string, n int) []byte {
	cert := regexpCert.FindString(metadata)
	return []byte(strings.Replace(metadata, cert, strings.Repeat(cert, n), 1))
}
