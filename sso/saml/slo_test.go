package saml

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/beevik/etree"
	csaml "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

// idpLogoutRequest builds a LogoutRequest as the IdP would send it with the
// HTTP-POST binding, signed with kp (nil: unsigned).
func idpLogoutRequest(t *testing.T, e *env, id, destination string, kp *keyPair) *http.Request {
	t.Helper()
	if kp == nil {
		return idpLogoutRequestWith(t, e, id, destination, keyPair{}, "")
	}
	return idpLogoutRequestWith(t, e, id, destination, *kp, dsig.RSASHA256SignatureMethod)
}

// idpLogoutRequestWith is idpLogoutRequest signed with kp by method (""
// leaves it unsigned).
func idpLogoutRequestWith(t *testing.T, e *env, id, destination string, kp keyPair, method string) *http.Request {
	t.Helper()
	el := etree.NewElement("samlp:LogoutRequest")
	el.CreateAttr("xmlns:samlp", nsProtocol)
	el.CreateAttr("xmlns:saml", nsAssertion)
	el.CreateAttr("ID", id)
	el.CreateAttr("Version", "2.0")
	el.CreateAttr("IssueInstant", e.now.Format("2006-01-02T15:04:05Z"))
	el.CreateAttr("Destination", destination)
	el.CreateElement("saml:Issuer").SetText(idpBase + "/metadata")
	nid := el.CreateElement("saml:NameID")
	nid.CreateAttr("Format", string(csaml.EmailAddressNameIDFormat))
	nid.SetText(goodName)
	el.CreateElement("samlp:SessionIndex").SetText("idx-1")
	if method != "" {
		el = signWith(t, el, kp, method)
	}
	form := url.Values{"SAMLRequest": {encodeDoc(t, docWithRoot(el))}}
	r := httptest.NewRequest(http.MethodPost, spSLO, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func TestIdPInitiatedLogout(t *testing.T) {
	e := newEnv(t, withSPKey())
	idp := idpKeys()
	lr, err := e.sp.ParseLogoutRequest(context.Background(), idpLogoutRequest(t, e, "id-lr-1", spSLO, &idp), spSLO)
	if err != nil {
		t.Fatal(err.(*Error).AuditString())
	}
	if lr.NameID != goodName || len(lr.SessionIndexes) != 1 || lr.SessionIndexes[0] != "idx-1" || lr.ID != "id-lr-1" {
		t.Fatalf("%+v", lr)
	}
	u, err := e.sp.LogoutResponseURL(lr.ID, "rs")
	if err != nil || !strings.HasPrefix(u, idpBase+"/slo?SAMLResponse=") || !strings.Contains(u, "Signature=") {
		t.Fatalf("LogoutResponseURL = %q, %v", u, err)
	}

	attacker := attackerKeys()
	bomb := base64.StdEncoding.EncodeToString(deflate(t, make([]byte, 50<<20)))
	cases := []struct {
		name string
		req  *http.Request
		recv string
		want Reason
	}{
		{"replayed", idpLogoutRequest(t, e, "id-lr-1", spSLO, &idp), spSLO, ReasonReplay},
		{"unsigned", idpLogoutRequest(t, e, "id-lr-2", spSLO, nil), spSLO, ReasonSignatureMissing},
		{"attacker-signed", idpLogoutRequest(t, e, "id-lr-3", spSLO, &attacker), spSLO, ReasonUntrustedCert},
		{"wrong Destination", idpLogoutRequest(t, e, "id-lr-4", spACS, &idp), spSLO, ReasonDestination},
		{"received elsewhere", idpLogoutRequest(t, e, "id-lr-5", spSLO, &idp), spACS, ReasonDestination},
		{"deflate bomb on the redirect binding", httptest.NewRequest(http.MethodGet, spSLO+"?SAMLRequest="+url.QueryEscape(bomb), nil), spSLO, ReasonTooLarge},
		{"inflated past MaxLogoutMessageBytes", httptest.NewRequest(http.MethodGet, spSLO+"?SAMLRequest="+
			url.QueryEscape(base64.StdEncoding.EncodeToString(deflate(t, make([]byte, MaxLogoutMessageBytes+1)))), nil), spSLO, ReasonTooLarge},
		{"garbage redirect", httptest.NewRequest(http.MethodGet, spSLO+"?SAMLRequest=AAAA", nil), spSLO, ReasonMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.sp.ParseLogoutRequest(context.Background(), c.req, c.recv)
			if r := reasonOf(t, err); r != c.want {
				t.Fatalf("reason %q (%v), want %q", r, err, c.want)
			}
		})
	}
}

// TestSPInitiatedLogout: our signed LogoutRequest is verified by the real
// IdP, whose signed LogoutResponse we verify in turn.
func TestSPInitiatedLogout(t *testing.T) {
	e := newEnv(t, withSPKey())
	out, err := e.sp.NewLogoutRequest(goodName, "idx-1", "rs")
	if err != nil {
		t.Fatal(err)
	}
	idpReq, err := csaml.NewIdpLogoutRequest(e.idp, httptest.NewRequest(http.MethodGet, out.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := idpReq.Validate(); err != nil {
		t.Fatalf("the IdP refused our LogoutRequest: %v", err)
	}
	rec := httptest.NewRecorder()
	if err := idpReq.WriteLogoutResponse(rec, idpReq.MakeLogoutResponse(csaml.StatusSuccess)); err != nil {
		t.Fatal(err)
	}
	loc := rec.Header().Get("Location")
	if loc == "" {
		t.Fatalf("IdP answered %d without a redirect: %s", rec.Code, rec.Body.String())
	}
	if err := e.sp.ParseLogoutResponse(context.Background(), httptest.NewRequest(http.MethodGet, loc, nil), spSLO, []string{"id-other"}); reasonOf(t, err) != ReasonInResponseTo {
		t.Fatalf("a response to another request was accepted: %v", err)
	}
	if err := e.sp.ParseLogoutResponse(context.Background(), httptest.NewRequest(http.MethodGet, loc, nil), spSLO, []string{out.ID}); err != nil {
		t.Fatal(err.(*Error).AuditString())
	}
}
