package saml

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/xml"
	"html"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	csaml "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

// Test fixtures: a real crewjam/saml IdentityProvider, in process, signing
// with keys generated at test time.

const (
	idpBase  = "https://idp.test"
	spBase   = "https://gatehouse.test/enterprise/acme_x1"
	spACS    = spBase + "/acs"
	spMD     = spBase + "/metadata"
	spSLO    = spBase + "/slo"
	goodName = "alice@example.com"
)

type keyPair struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

// keys are generated once per test binary (RSA generation is slow).
var testKeys = sync.OnceValue(func() []keyPair {
	var kps []keyPair
	for i, cn := range []string{"idp-1", "idp-2", "attacker", "sp"} {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(i + 1)),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    time.Now().Add(-24 * time.Hour),
			NotAfter:     time.Now().Add(365 * 24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		cert, _ := x509.ParseCertificate(der)
		kps = append(kps, keyPair{key, cert})
	}
	return kps
})

func idpKeys() keyPair      { return testKeys()[0] }
func idpKeys2() keyPair     { return testKeys()[1] }
func attackerKeys() keyPair { return testKeys()[2] }
func spKeys() keyPair       { return testKeys()[3] }

type env struct {
	t       testing.TB
	now     time.Time
	idp     *csaml.IdentityProvider
	spMeta  *csaml.EntityDescriptor
	sp      *ServiceProvider
	cfg     Config
	cache   *MemoryReplayCache
	session *csaml.Session
}

type envOption func(e *env, idp *csaml.IdentityProvider, cfg *Config)

func withSPKey() envOption {
	return func(_ *env, _ *csaml.IdentityProvider, cfg *Config) {
		cfg.SPKey, cfg.SPCert = spKeys().key, spKeys().cert
	}
}

func withIdPInitiated() envOption {
	return func(_ *env, _ *csaml.IdentityProvider, cfg *Config) { cfg.AllowIdPInitiated = true }
}

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	e := &env{t: t, now: time.Now().UTC().Truncate(time.Second)}
	e.session = &csaml.Session{
		ID: "sess-1", Index: "idx-1", NameID: goodName,
		NameIDFormat: string(csaml.EmailAddressNameIDFormat),
		UserEmail:    goodName, UserGivenName: "Alice", UserSurname: "Liddell",
		Groups: []string{"admins", "staff"}, CreateTime: e.now, ExpireTime: e.now.Add(time.Hour),
	}
	idp := &csaml.IdentityProvider{
		Key: idpKeys().key, Certificate: idpKeys().cert,
		MetadataURL: mustURL(idpBase + "/metadata"), SSOURL: mustURL(idpBase + "/sso"),
		LogoutURL: mustURL(idpBase + "/slo"),
		Clock:     dsig.NewFakeClockAt(e.now),
		SessionProvider: sessionFunc(func(http.ResponseWriter, *http.Request, *csaml.IdpAuthnRequest) *csaml.Session {
			return e.session
		}),
		ServiceProviderProvider: spProviderFunc(func(_ *http.Request, id string) (*csaml.EntityDescriptor, error) {
			if e.spMeta == nil || id != e.spMeta.EntityID {
				return nil, os.ErrNotExist
			}
			return e.spMeta, nil
		}),
	}
	e.cache = NewMemoryReplayCache(func() time.Time { return e.now })
	cfg := Config{
		ConnectionID: "acme_x1", ACSURL: spACS, MetadataURL: spMD, SLOURL: spSLO,
		Clock: func() time.Time { return e.now }, ReplayCache: e.cache,
	}
	for _, o := range opts {
		o(e, idp, &cfg)
	}
	e.idp = idp
	mdXML, err := xml.Marshal(idp.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	md, err := ParseIdPMetadata(mdXML, e.now)
	if err != nil {
		t.Fatalf("ParseIdPMetadata: %v", err)
	}
	cfg.IdP = md
	e.cfg = cfg
	e.sp, err = New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	spXML, err := e.sp.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	e.spMeta = &csaml.EntityDescriptor{}
	if err := xml.Unmarshal(spXML, e.spMeta); err != nil {
		t.Fatal(err)
	}
	return e
}

type sessionFunc func(http.ResponseWriter, *http.Request, *csaml.IdpAuthnRequest) *csaml.Session

func (f sessionFunc) GetSession(w http.ResponseWriter, r *http.Request, req *csaml.IdpAuthnRequest) *csaml.Session {
	return f(w, r, req)
}

type spProviderFunc func(*http.Request, string) (*csaml.EntityDescriptor, error)

func (f spProviderFunc) GetServiceProvider(r *http.Request, id string) (*csaml.EntityDescriptor, error) {
	return f(r, id)
}

func mustURL(s string) url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return *u
}

var formValue = regexp.MustCompile(`name="SAMLResponse" value="([^"]*)"`)

func extractSAMLResponse(t testing.TB, rec *httptest.ResponseRecorder) string {
	t.Helper()
	m := formValue.FindStringSubmatch(rec.Body.String())
	if m == nil {
		t.Fatalf("IdP answered %d without a SAMLResponse form: %s", rec.Code, rec.Body.String())
	}
	return html.UnescapeString(m[1])
}

// spInitiated runs NewAuthnRequest, sends the browser to the IdP's real
// ServeSSO handler and returns the posted SAMLResponse and the request ID.
func (e *env) spInitiated() (samlResponse, requestID string) {
	e.t.Helper()
	req, err := e.sp.NewAuthnRequest("rs-1")
	if err != nil {
		e.t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	e.idp.ServeSSO(rec, httptest.NewRequest(http.MethodGet, req.URL, nil))
	return extractSAMLResponse(e.t, rec), req.ID
}

// idpInitiated asks the IdP for an unsolicited response.
func (e *env) idpInitiated() string {
	e.t.Helper()
	rec := httptest.NewRecorder()
	e.idp.ServeIDPInitiated(rec, httptest.NewRequest(http.MethodGet, idpBase+"/start", nil), e.spMeta.EntityID, "")
	return extractSAMLResponse(e.t, rec)
}

// --- document surgery for attack tests ---

func decodeDoc(t testing.TB, b64 string) *etree.Document {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	return doc
}

func encodeDoc(t testing.TB, doc *etree.Document) string {
	t.Helper()
	raw, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(raw)
}

func child(el *etree.Element, tag string) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == tag {
			return c
		}
	}
	return nil
}

func removeChild(el *etree.Element, tag string) {
	if c := child(el, tag); c != nil {
		el.RemoveChild(c)
	}
}

func assertionOf(doc *etree.Document) *etree.Element { return child(doc.Root(), "Assertion") }

func nameIDOf(assertion *etree.Element) *etree.Element {
	return child(child(assertion, "Subject"), "NameID")
}

// sign signs el (enveloped, exclusive c14n, SHA-256) with kp, as an IdP
// would, and puts the Signature right after the Issuer.
func sign(t testing.TB, el *etree.Element, kp keyPair) *etree.Element {
	t.Helper()
	return signWith(t, el, kp, dsig.RSASHA256SignatureMethod)
}

// signWith is sign with the signature method (and its digest) given.
func signWith(t testing.TB, el *etree.Element, kp keyPair, method string) *etree.Element {
	t.Helper()
	removeChild(el, "Signature")
	ctx, err := dsig.NewSigningContext(kp.key, [][]byte{kp.cert.Raw})
	if err != nil {
		t.Fatal(err)
	}
	if err := ctx.SetSignatureMethod(method); err != nil {
		t.Fatal(err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	signed, err := ctx.SignEnveloped(el)
	if err != nil {
		t.Fatal(err)
	}
	// SignEnveloped appends the Signature to the raw child slice.
	sig := signed.Child[len(signed.Child)-1].(*etree.Element)
	signed.Child = signed.Child[:len(signed.Child)-1]
	signed = signed.Copy()
	idx := 0
	if iss := child(signed, "Issuer"); iss != nil {
		idx = iss.Index() + 1
	}
	signed.InsertChildAt(idx, sig)
	return signed
}

// replaceRoot returns a document whose root is el.
func docWithRoot(el *etree.Element) *etree.Document {
	doc := etree.NewDocument()
	doc.SetRoot(el)
	return doc
}
