package sso_test

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"io"
	stdlog "log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/sso"
)

// spDescriptor reads the certificates and AuthnRequestsSigned of SP
// metadata.
type spDescriptor struct {
	SP struct {
		AuthnRequestsSigned string `xml:"AuthnRequestsSigned,attr"`
		Keys                []struct {
			Use  string `xml:"use,attr"`
			Cert string `xml:"KeyInfo>X509Data>X509Certificate"`
		} `xml:"KeyDescriptor"`
	} `xml:"SPSSODescriptor"`
}

func (f *fixture) spMetadata(idp string) spDescriptor {
	f.t.Helper()
	resp := f.browser().get(baseURL + "/enterprise/" + idp + "/metadata")
	b := body(resp)
	var d spDescriptor
	if resp.StatusCode != 200 || xml.Unmarshal([]byte(b), &d) != nil {
		f.t.Fatalf("metadata: %d %s", resp.StatusCode, b)
	}
	return d
}

// TestSPKeyPerConnection: each connection has its own SP key pair, published
// for signing and encryption; the IdP encrypts assertions to it and the ACS
// decrypts them; AuthnRequests are signed when the IdP metadata asks for it.
func TestSPKeyPerConnection(t *testing.T) {
	f := newFixture(t)
	idp := f.connection()
	other := f.connection()
	d := f.spMetadata(idp)
	if len(d.SP.Keys) != 2 || d.SP.Keys[0].Cert == "" || d.SP.Keys[0].Cert != d.SP.Keys[1].Cert {
		t.Fatalf("key descriptors %+v", d.SP.Keys)
	}
	uses := d.SP.Keys[0].Use + "," + d.SP.Keys[1].Use
	if uses != "signing,encryption" && uses != "encryption,signing" {
		t.Fatalf("uses %q", uses)
	}
	if d.SP.AuthnRequestsSigned != "false" {
		t.Fatalf("AuthnRequestsSigned=%q for an IdP that does not want signed requests", d.SP.AuthnRequestsSigned)
	}
	if o := f.spMetadata(other); o.SP.Keys[0].Cert == d.SP.Keys[0].Cert {
		t.Fatal("two connections share an SP certificate")
	}

	// The IdP encrypts the assertion to our certificate; the ACS decrypts it.
	b := f.browser()
	resp := b.get(baseURL + "/enterprise/" + idp + "/login")
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || strings.Contains(loc, "Signature=") {
		t.Fatalf("AuthnRequest: %d %q (signed without the IdP asking)", resp.StatusCode, loc)
	}
	samlResp := b.idpAnswer(resp.Header.Get("Location"))
	raw, _ := base64.StdEncoding.DecodeString(samlResp)
	if !bytes.Contains(raw, []byte("EncryptedAssertion")) || bytes.Contains(raw, []byte("jane@acme.test")) {
		t.Fatalf("the IdP did not encrypt the assertion: %s", raw)
	}
	if r := b.acs(idp, samlResp); r.StatusCode != http.StatusSeeOther || len(f.authz.defaults) != 1 {
		t.Fatalf("encrypted assertion refused: %d %s", r.StatusCode, body(r))
	}

	// An IdP that wants signed AuthnRequests gets them, and verifies them
	// with the certificate of our metadata.
	f.idp.WantAuthnRequestsSigned = true
	f.json(f.do("PUT", "/api/v2/sso-connections/"+idp, f.token, map[string]any{"metadata": f.idpMetadata()}), http.StatusOK)
	if d := f.spMetadata(idp); d.SP.AuthnRequestsSigned != "true" {
		t.Fatalf("AuthnRequestsSigned=%q for an IdP that wants signed requests", d.SP.AuthnRequestsSigned)
	}
	b = f.browser()
	resp = b.get(baseURL + "/enterprise/" + idp + "/login")
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc.Query().Get("Signature") == "" || loc.Query().Get("SigAlg") != "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" {
		t.Fatalf("AuthnRequest not signed: %s", loc)
	}
	if r := b.acs(idp, b.idpAnswer(loc.String())); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("signed flow: %d %s", r.StatusCode, body(r))
	}
	// A request whose signature is stripped is refused by the IdP.
	q := loc.Query()
	q.Del("Signature")
	loc.RawQuery = q.Encode()
	f.idp.Logger = stdlog.New(io.Discard, "", 0)
	rec := b.get(loc.String())
	if rec.StatusCode == http.StatusOK && strings.Contains(body(rec), "SAMLResponse") {
		t.Fatal("the IdP accepted an unsigned request (the test IdP does not check signatures)")
	}
}

// TestSPKeySealed: with a key-encryption key, the SP private key is stored
// sealed; a service without that key cannot use it.
func TestSPKeySealed(t *testing.T) {
	f := newFixture(t)
	kek := bytes.Repeat([]byte{1}, 32)
	sealed, err := sso.New(sso.Options{Identity: f.id, BaseURL: baseURL, KeyEncryptionKey: kek})
	if err != nil {
		t.Fatal(err)
	}
	d, err := sealed.CreateConnection(t.Context(), f.id, sso.CreateInput{OrgID: f.org.ID, ApplicationID: f.app.ClientID})
	if err != nil {
		t.Fatal(err)
	}
	idp := d.Connection.ID
	var rec map[string]any
	err = f.id.View(t.Context(), func(tx *identity.ReadTxn) (err error) {
		rec, err = kv.Records[map[string]any]{Env: string(identity.Production), Kind: "sso-sp-keys"}.Get(tx.KV(kv.Inside()), idp)
		return err
	})
	if err != nil || rec["sealed"] != true || rec["private"] == "" {
		t.Fatalf("stored key %v, %v", rec["sealed"], err)
	}
	der, _ := base64.StdEncoding.DecodeString(rec["private"].(string))
	if _, err := x509.ParsePKCS8PrivateKey(der); err == nil || len(der) < 1000 {
		t.Fatal("the stored private key is plain PKCS#8")
	}
	for _, c := range []struct {
		name string
		kek  []byte
		want int
	}{
		{"same key", kek, http.StatusOK},
		{"other key", bytes.Repeat([]byte{2}, 32), http.StatusServiceUnavailable},
		{"no key", nil, http.StatusServiceUnavailable},
	} {
		t.Run(c.name, func(t *testing.T) {
			svc, err := sso.New(sso.Options{Identity: f.id, BaseURL: baseURL, KeyEncryptionKey: c.kek})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptestGet(svc.Handler(), baseURL+"/enterprise/"+idp+"/metadata")
			if rec.Code != c.want {
				t.Fatalf("metadata: %d, want %d", rec.Code, c.want)
			}
		})
	}
	if _, err := sso.New(sso.Options{Identity: f.id, BaseURL: baseURL, KeyEncryptionKey: kek[:16]}); err == nil {
		t.Fatal("a 16-byte key-encryption key was accepted")
	}
}

func httptestGet(h http.Handler, u string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", u, nil))
	return rec
}

// TestClearSPKeySealedOnFirstUse guards breach 8 of issue 10 for SAML SP
// keys: a key stored in clear by a service without a key-encryption key
// is sealed the first time a service with one uses it, and stays the same
// key pair (IdPs keep trusting its certificate).
func TestClearSPKeySealedOnFirstUse(t *testing.T) {
	f := newFixture(t)
	idp := f.connection() // f.svc has no key-encryption key
	stored := func() map[string]any {
		t.Helper()
		var rec map[string]any
		if err := f.id.View(t.Context(), func(tx *identity.ReadTxn) (err error) {
			rec, err = kv.Records[map[string]any]{Env: string(identity.Production), Kind: "sso-sp-keys"}.Get(tx.KV(kv.Inside()), idp)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	if rec := stored(); rec["sealed"] == true {
		t.Fatal("a service without a key-encryption key sealed the SP key")
	}
	before := f.spMetadata(idp).SP.Keys[0].Cert

	kek := bytes.Repeat([]byte{3}, 32)
	svc, err := sso.New(sso.Options{Identity: f.id, BaseURL: baseURL, KeyEncryptionKey: kek})
	if err != nil {
		t.Fatal(err)
	}
	if rec := httptestGet(svc.Handler(), baseURL+"/enterprise/"+idp+"/metadata"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), before) {
		t.Fatalf("metadata with the key: %d (same certificate: %v)", rec.Code, strings.Contains(rec.Body.String(), before))
	}
	rec := stored()
	der, _ := base64.StdEncoding.DecodeString(rec["private"].(string))
	if rec["sealed"] != true {
		t.Fatal("the clear SP key was not sealed on first use")
	}
	if _, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		t.Fatal("the stored private key is still plain PKCS#8")
	}
	// A second service with the same key opens it; one without cannot.
	again, _ := sso.New(sso.Options{Identity: f.id, BaseURL: baseURL, KeyEncryptionKey: kek})
	if rec := httptestGet(again.Handler(), baseURL+"/enterprise/"+idp+"/metadata"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), before) {
		t.Fatalf("metadata after sealing: %d", rec.Code)
	}
	bare, _ := sso.New(sso.Options{Identity: f.id, BaseURL: baseURL})
	if rec := httptestGet(bare.Handler(), baseURL+"/enterprise/"+idp+"/metadata"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("metadata without the key: %d", rec.Code)
	}
}
