package saml

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	csaml "github.com/crewjam/saml"
)

// TestUnsignedAuthnRequests: with Config.UnsignedAuthnRequests,
// AuthnRequests are signed only when the IdP metadata asks for it, and the
// metadata's AuthnRequestsSigned says which; logout requests stay signed.
func TestUnsignedAuthnRequests(t *testing.T) {
	unsigned := func(_ *env, _ *csaml.IdentityProvider, cfg *Config) { cfg.UnsignedAuthnRequests = true }
	wants := func(_ *env, idp *csaml.IdentityProvider, _ *Config) { idp.WantAuthnRequestsSigned = true }
	cases := []struct {
		name       string
		opts       []envOption
		wantSigned bool
	}{
		{"key, default: signed", []envOption{withSPKey()}, true},
		{"key, unsigned, IdP does not ask", []envOption{withSPKey(), unsigned}, false},
		{"key, unsigned, IdP asks", []envOption{withSPKey(), unsigned, wants}, true},
		{"no key", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.opts...)
			out, err := e.sp.NewAuthnRequest("rs")
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(out.URL)
			if got := u.Query().Get("Signature") != ""; got != c.wantSigned {
				t.Fatalf("signed %t, want %t: %s", got, c.wantSigned, out.URL)
			}
			signedAttr := e.spMeta.SPSSODescriptors[0].AuthnRequestsSigned
			if got := signedAttr != nil && *signedAttr; got != c.wantSigned {
				t.Fatalf("metadata AuthnRequestsSigned %t, want %t", got, c.wantSigned)
			}
			// The IdP accepts what we send, checking it against our metadata.
			idpReq, err := csaml.NewIdpAuthnRequest(e.idp, httptest.NewRequest(http.MethodGet, out.URL, nil))
			if err != nil {
				t.Fatal(err)
			}
			if err := idpReq.Validate(); err != nil {
				t.Fatalf("the IdP refused the AuthnRequest: %v", err)
			}
			if e.cfg.SPKey != nil {
				lo, err := e.sp.NewLogoutRequest(goodName, "idx-1", "")
				if err != nil || !strings.Contains(lo.URL, "Signature=") {
					t.Fatalf("LogoutRequest not signed: %v %s", err, lo.URL)
				}
			}
		})
	}
}
