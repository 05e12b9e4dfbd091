package saml_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"time"

	csaml "github.com/crewjam/saml"

	"github.com/gatehouse-id/gatehouse/sso/saml"
)

// Example shows one connection end to end against an in-process
// crewjam/saml IdentityProvider: parse the IdP metadata, publish ours,
// start an SP-initiated sign-in, verify the posted response.
func Example() {
	ctx := context.Background()
	base := "https://gatehouse.example/enterprise/acme_EFBpWGQRVBCUSagNu2Tp9S"
	idp, spMeta := exampleIdP() // the customer's IdP (test double)

	// 1. The admin uploads the IdP metadata; it is validated and stored.
	idpXML, _ := xml.Marshal(idp.Metadata())
	md, err := saml.ParseIdPMetadata(idpXML, time.Now())
	if err != nil {
		fmt.Println(err)
		return
	}

	// 2. One ServiceProvider per connection.
	sp, err := saml.New(saml.Config{
		ConnectionID: "acme_EFBpWGQRVBCUSagNu2Tp9S",
		ACSURL:       base + "/acs",
		MetadataURL:  base + "/metadata",
		SLOURL:       base + "/slo",
		IdP:          md,
		ReplayCache:  saml.NewMemoryReplayCache(nil), // store-backed in production
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ourMD, _ := sp.Metadata() // served at {base}/metadata, given to the IdP admin
	_ = xml.Unmarshal(ourMD, spMeta)

	// 3. GET {base}/login: redirect to the IdP; bind req.ID to the browser.
	req, _ := sp.NewAuthnRequest("opaque-state")
	fmt.Println("redirect to", req.URL[:len("https://idp.example/sso")])

	// (the browser signs in at the IdP, which posts a SAMLResponse back)
	rec := httptest.NewRecorder()
	idp.ServeSSO(rec, httptest.NewRequest(http.MethodGet, req.URL, nil))
	m := regexp.MustCompile(`name="SAMLResponse" value="([^"]*)"`).FindStringSubmatch(rec.Body.String())

	// 4. POST {base}/acs: verify, then key the user by (connection, NameID).
	a, err := sp.ParseResponse(ctx, html.UnescapeString(m[1]), base+"/acs", []string{req.ID})
	if err != nil {
		fmt.Println(err) // "authentication failed"; err.(*saml.Error).AuditString() to the audit log
		return
	}
	fmt.Println("signed in:", a.NameID, "answering", a.InResponseTo == req.ID)

	// The same response again is a replay.
	_, err = sp.ParseResponse(ctx, html.UnescapeString(m[1]), base+"/acs", []string{req.ID})
	fmt.Println(err, "/", err.(*saml.Error).Reason)
	// Output:
	// redirect to https://idp.example/sso
	// signed in: alice@example.com answering true
	// authentication failed / replayed
}

type fixedSession struct{ s *csaml.Session }

func (f fixedSession) GetSession(http.ResponseWriter, *http.Request, *csaml.IdpAuthnRequest) *csaml.Session {
	return f.s
}

type oneSP struct{ md *csaml.EntityDescriptor }

func (o oneSP) GetServiceProvider(_ *http.Request, id string) (*csaml.EntityDescriptor, error) {
	if id != o.md.EntityID {
		return nil, os.ErrNotExist
	}
	return o.md, nil
}

func exampleIdP() (*csaml.IdentityProvider, *csaml.EntityDescriptor) {
	key, cert := saml.IdPKeyPairForExample()
	spMeta := &csaml.EntityDescriptor{}
	u := func(s string) url.URL { p, _ := url.Parse(s); return *p }
	return &csaml.IdentityProvider{
		Key: key, Certificate: cert,
		MetadataURL: u("https://idp.example/metadata"), SSOURL: u("https://idp.example/sso"),
		SessionProvider:         fixedSession{&csaml.Session{ID: "s1", NameID: "alice@example.com", Index: "i1"}},
		ServiceProviderProvider: oneSP{spMeta},
	}, spMeta
}

// ExampleServiceProvider_VerifyResponse verifies a response without
// claiming it, then claims it where the sign-in is accepted (in production,
// inside the store transaction that provisions the user), so that the two
// commit together.
func ExampleServiceProvider_VerifyResponse() {
	ctx := context.Background()
	base := "https://gatehouse.example/enterprise/acme_EFBpWGQRVBCUSagNu2Tp9S"
	idp, spMeta := exampleIdP()
	idpXML, _ := xml.Marshal(idp.Metadata())
	md, _ := saml.ParseIdPMetadata(idpXML, time.Now())
	sp, err := saml.New(saml.Config{ConnectionID: "acme_EFBpWGQRVBCUSagNu2Tp9S", ACSURL: base + "/acs",
		MetadataURL: base + "/metadata", IdP: md, ReplayCache: saml.NewMemoryReplayCache(nil)})
	if err != nil {
		fmt.Println(err)
		return
	}
	ourMD, _ := sp.Metadata()
	_ = xml.Unmarshal(ourMD, spMeta)
	req, _ := sp.NewAuthnRequest("")
	rec := httptest.NewRecorder()
	idp.ServeSSO(rec, httptest.NewRequest(http.MethodGet, req.URL, nil))
	resp := html.UnescapeString(regexp.MustCompile(`name="SAMLResponse" value="([^"]*)"`).FindStringSubmatch(rec.Body.String())[1])

	a, err := sp.VerifyResponse(ctx, resp, base+"/acs", []string{req.ID})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Inside the transaction that accepts the sign-in: claim, then provision.
	if err := sp.Claim(ctx, a); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("signed in:", a.NameID)
	fmt.Println("claimed until after the assertion expires:", a.ReplayUntil.After(a.NotOnOrAfter))
	err = sp.Claim(ctx, a)
	fmt.Println("claimed again:", err.(*saml.Error).Reason)
	// Output:
	// signed in: alice@example.com
	// claimed until after the assertion expires: true
	// claimed again: replayed
}
