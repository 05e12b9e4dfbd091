package saml

import (
	"context"
	"testing"

	csaml "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

func withSHA1() envOption {
	return func(_ *env, _ *csaml.IdentityProvider, cfg *Config) { cfg.AllowSHA1Signatures = true }
}

// TestSHA1Signatures (the attacker's test): a response, an assertion or a
// logout request signed with RSA-SHA1 is refused unless the connection
// allows SHA-1, by the one-pass verifier and crewjam/saml alike; SHA-256
// is accepted either way.
func TestSHA1Signatures(t *testing.T) {
	// resigned signs the IdP's response again with method: the
	// assertion, and the response too when both is set.
	resigned := func(method string, both bool) func(t *testing.T, e *env) (string, string) {
		return func(t *testing.T, e *env) (string, string) {
			resp, id := e.spInitiated()
			doc := decodeDoc(t, resp)
			root := doc.Root()
			removeChild(root, "Signature")
			as := assertionOf(doc)
			signedAs := signWith(t, as, idpKeys(), method)
			root.InsertChildAt(as.Index(), signedAs)
			root.RemoveChild(as)
			if both {
				doc.SetRoot(signWith(t, root, idpKeys(), dsig.RSASHA256SignatureMethod))
			}
			return encodeDoc(t, doc), id
		}
	}
	// responseOnly signs the response alone (the assertion unsigned).
	responseOnly := func(method string) func(t *testing.T, e *env) (string, string) {
		return func(t *testing.T, e *env) (string, string) {
			resp, id := e.spInitiated()
			doc := decodeDoc(t, resp)
			removeChild(assertionOf(doc), "Signature")
			doc.SetRoot(signWith(t, doc.Root(), idpKeys(), method))
			return encodeDoc(t, doc), id
		}
	}
	cases := []struct {
		name  string
		allow bool
		make  func(t *testing.T, e *env) (string, string)
		want  Reason // "" accepted
	}{
		{"IdP signing with SHA-256", false, func(t *testing.T, e *env) (string, string) { return e.spInitiated() }, ""},
		{"IdP signing with SHA-1", false, func(t *testing.T, e *env) (string, string) {
			e.idp.SignatureMethod = dsig.RSASHA1SignatureMethod
			return e.spInitiated()
		}, ReasonUnsupported},
		{"IdP signing with SHA-1, allowed", true, func(t *testing.T, e *env) (string, string) {
			e.idp.SignatureMethod = dsig.RSASHA1SignatureMethod
			return e.spInitiated()
		}, ""},
		{"assertion SHA-1", false, resigned(dsig.RSASHA1SignatureMethod, false), ReasonUnsupported},
		{"assertion SHA-1 in a SHA-256 response", false, resigned(dsig.RSASHA1SignatureMethod, true), ReasonUnsupported},
		{"assertion SHA-1 in a SHA-256 response, allowed", true, resigned(dsig.RSASHA1SignatureMethod, true), ""},
		{"response SHA-1, assertion unsigned", false, responseOnly(dsig.RSASHA1SignatureMethod), ReasonUnsupported},
		{"response SHA-512, assertion unsigned", false, responseOnly(dsig.RSASHA512SignatureMethod), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var opts []envOption
			if c.allow {
				opts = append(opts, withSHA1())
			}
			e := newEnv(t, opts...)
			resp, id := c.make(t, e)
			got := sameAsCrewjam(t, e.sp, resp, spACS, []string{id})
			if got.reason != c.want {
				t.Fatalf("reason %q, want %q", got.reason, c.want)
			}
			if c.want == "" && (got.a == nil || got.a.NameID != goodName) {
				t.Fatalf("accepted without the assertion: %+v", got.a)
			}
			// ParseResponse, the entry point the SSO service uses, decides alike.
			_, err := e.sp.ParseResponse(context.Background(), resp, spACS, []string{id})
			if c.want == "" && err != nil {
				t.Fatalf("ParseResponse: %v", err.(*Error).AuditString())
			}
			if c.want != "" && reasonOf(t, err) != c.want {
				t.Fatalf("ParseResponse: reason %q, want %q", reasonOf(t, err), c.want)
			}
		})
	}
}

// TestSHA1LogoutRequest: an IdP's LogoutRequest signed with RSA-SHA1 is
// refused unless the connection allows SHA-1.
func TestSHA1LogoutRequest(t *testing.T) {
	for _, allow := range []bool{false, true} {
		opts := []envOption{withSPKey()}
		if allow {
			opts = append(opts, withSHA1())
		}
		e := newEnv(t, opts...)
		r := idpLogoutRequestWith(t, e, "id-lr-sha1", spSLO, idpKeys(), dsig.RSASHA1SignatureMethod)
		_, err := e.sp.ParseLogoutRequest(context.Background(), r, spSLO)
		switch {
		case allow && err != nil:
			t.Fatalf("allowed: %v", err.(*Error).AuditString())
		case !allow && reasonOf(t, err) != ReasonUnsupported:
			t.Fatalf("refused: reason %q, want %q (%v)", reasonOf(t, err), ReasonUnsupported, err)
		}
	}
}
