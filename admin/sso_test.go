package admin_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/sso"
)

// idpMetadata returns IdP metadata whose signing certificate expires at
// notAfter.
func idpMetadata(t testing.TB, notAfter time.Time) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idp.alpha.test"},
		NotBefore: notAfter.Add(-365 * 24 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.alpha.test/metadata">` +
		`<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
		`<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>` +
		base64.StdEncoding.EncodeToString(der) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
		`<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.alpha.test/sso"/>` +
		`</md:IDPSSODescriptor></md:EntityDescriptor>`
}

var reSetupLink = regexp.MustCompile(`id="setup-link" type="text" readonly value="([^"]+)"`)

// TestSSOConnections: an admin creates a connection with its onboarding
// and the setup link mailed, creates a setup link to copy (shown once,
// and it works), mails it again; every change names the admin as actor.
func TestSSOConnections(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	b, admin := h.member(identity.ConsoleAdmin)
	if r := b.get("/orgs/alpha"); !strings.Contains(r.body, `href="/admin/orgs/alpha/sso"`) {
		t.Fatalf("the organization page has no SSO link: %s", r.body)
	}
	r := b.postCSRF("/orgs/alpha/sso", url.Values{"application_id": {h.alphaApp.ClientID}, "provider_type": {"okta"},
		"sso_admin_email": {"it-new@alpha.test"}, "send_email": {"on"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	loc := r.header.Get("Location")
	if !strings.Contains(loc, "/admin/orgs/alpha/sso/alpha_") || !strings.HasSuffix(loc, "?done=sso.created.sent") {
		t.Fatalf("create redirects to %s", loc)
	}
	idp := strings.TrimSuffix(loc[strings.LastIndex(loc, "/")+1:], "?done=sso.created.sent")
	m := h.mailTo("it-new@alpha.test")
	if m == nil || !strings.Contains(m.Text, h.base+"/enterprise-setup/") {
		t.Fatalf("invitation mail: %+v", m)
	}
	page := b.get(loc)
	for _, want := range []string{idp, "okta", "Active", "No limit", "Anyone the IdP signs in", "Invitation sent",
		"it-new@alpha.test", "Not uploaded yet", "No test sign-in yet.", "/setup-link", "/invite"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("connection page lacks %q", want)
		}
	}
	list := b.get("/orgs/alpha/sso")
	if list.status != http.StatusOK || !strings.Contains(list.body, idp) || !strings.Contains(list.body, h.alphaConn) ||
		strings.Contains(list.body, h.betaConn) {
		t.Fatalf("list: %d %s", list.status, list.body)
	}

	// Another organization's connection through this one's path is not
	// found, even for a member over both.
	if r := b.get("/orgs/alpha/sso/" + h.betaConn); r.status != http.StatusNotFound {
		t.Errorf("beta's connection under alpha: %d", r.status)
	}
	if r := b.postCSRF("/orgs/alpha/sso/"+h.betaConn+"/setup-link", nil); r.status != http.StatusNotFound {
		t.Errorf("beta's setup link under alpha: %d", r.status)
	}

	// A setup link to copy: shown on the answer, not on the next page,
	// and it opens the portal once.
	r = b.postCSRF("/orgs/alpha/sso/"+idp+"/setup-link", nil)
	sm := reSetupLink.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || sm == nil || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("setup link: %d %s", r.status, r.body)
	}
	link := strings.ReplaceAll(sm[1], "&amp;", "&")
	if strings.Contains(b.get(loc).body, link) {
		t.Error("the setup link is shown again")
	}
	secret := link[strings.LastIndex(link, "/")+1:]
	if _, _, ps, err := h.sso.RedeemSetupLink(ctx, secret); err != nil || ps.ConnectionID != idp {
		t.Fatalf("redeem the console's link: %+v %v", ps, err)
	}
	if _, _, _, err := h.sso.RedeemSetupLink(ctx, secret); err == nil {
		t.Error("the link works twice")
	}

	// Mail it again.
	h.mu.Lock()
	h.mails = nil
	h.mu.Unlock()
	if r := b.postCSRF("/orgs/alpha/sso/"+idp+"/invite", nil); r.status != http.StatusSeeOther {
		t.Fatalf("invite: %d %s", r.status, r.body)
	}
	if h.mailTo("it-new@alpha.test") == nil {
		t.Fatal("no second invitation")
	}
	// Start the onboarding over for another administrator.
	if r := b.postCSRF("/orgs/alpha/sso/"+idp+"/onboarding", url.Values{"sso_admin_email": {"it2@alpha.test"}}); r.status != http.StatusSeeOther {
		t.Fatalf("onboarding: %d %s", r.status, r.body)
	}
	d, err := h.sso.GetConnection(ctx, h.ids, idp)
	if err != nil || d.Onboarding.SSOAdminEmail != "it2@alpha.test" || d.Onboarding.State != sso.OnboardingNotInitialized {
		t.Fatalf("onboarding = %+v %v", d.Onboarding, err)
	}

	ev, err := h.ids.ListEvents(ctx, "alpha", identity.EventFilter{SAMLIdPID: idp}, identity.PageRequest{PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]int{}
	for _, e := range ev.Items {
		codes[e.Code]++
		if e.ActorID != admin.ID {
			t.Errorf("%s: actor %q, want %q", e.Code, e.ActorID, admin.ID)
		}
	}
	// Created; invited twice (each with its link); one link to copy; the
	// new onboarding.
	if codes[identity.EventSSOConnectionCreated] != 1 || codes[identity.EventSSOOnboardingSent] != 2 ||
		codes[identity.EventSSOOnboardingUpdated] != 4 {
		t.Errorf("events = %v", codes)
	}
}

// TestSSOMetadataExpiryAndTestResults: the pages warn of IdP metadata
// about to expire or expired, and show the last test sign-in's reason.
func TestSSOMetadataExpiryAndTestResults(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	b, _ := h.member(identity.ConsoleViewer)
	now := h.clock.Now()
	md := idpMetadata(t, now.Add(10*24*time.Hour))
	if _, err := h.sso.UpdateConnection(ctx, h.ids, h.alphaConn, sso.Update{Metadata: &md}); err != nil {
		t.Fatal(err)
	}
	page := "/orgs/alpha/sso/" + h.alphaConn
	day := now.Add(10 * 24 * time.Hour).Format("2006-01-02")
	if r := b.get(page); !strings.Contains(r.body, "Expires soon: "+day) || !strings.Contains(r.body, `role="alert"`) {
		t.Errorf("no expiry warning: %s", r.body)
	}
	if r := b.get("/orgs/alpha/sso"); !strings.Contains(r.body, "Expires soon: "+day) {
		t.Errorf("no expiry warning in the list: %s", r.body)
	}
	h.clock.Advance(11 * 24 * time.Hour)
	b, _ = h.member(identity.ConsoleViewer) // the first session has timed out
	if r := b.get(page); !strings.Contains(r.body, "Expired: "+day) {
		t.Errorf("no expired warning: %s", r.body)
	}
	md = idpMetadata(t, h.clock.Now().Add(400*24*time.Hour))
	if _, err := h.sso.UpdateConnection(ctx, h.ids, h.alphaConn, sso.Update{Metadata: &md}); err != nil {
		t.Fatal(err)
	}
	if r := b.get(page); strings.Contains(r.body, `role="alert"`) || !strings.Contains(r.body, "Valid until") {
		t.Errorf("a warning for metadata valid 400 days: %s", r.body)
	}

	// A test sign-in from the portal whose response is not SAML fails;
	// the console shows why.
	link, err := h.sso.NewSetupLink(ctx, h.ids, h.alphaConn)
	if err != nil {
		t.Fatal(err)
	}
	_, _, ps, err := h.sso.RedeemSetupLink(ctx, link[strings.LastIndex(link, "/")+1:])
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := h.sso.StartAdminTest(ctx, rec, httptest.NewRequest(http.MethodGet, h.base+"/enterprise-setup/test", nil), ps); err != nil {
		t.Fatal(err)
	}
	acs := httptest.NewRequest(http.MethodPost, h.base+"/enterprise/"+h.alphaConn+"/acs",
		strings.NewReader(url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString([]byte("<not-saml/>"))}}.Encode()))
	acs.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range rec.Result().Cookies() {
		acs.AddCookie(c)
	}
	h.sso.Handler().ServeHTTP(httptest.NewRecorder(), acs)
	d, err := h.sso.GetConnection(ctx, h.ids, h.alphaConn)
	if err != nil || d.Onboarding.State != sso.OnboardingTestFailed || d.Onboarding.LastTestError == "" {
		t.Fatalf("the test did not fail: %+v %v", d.Onboarding, err)
	}
	r := b.get(page)
	reason, _, _ := strings.Cut(d.Onboarding.LastTestError, ":")
	if !strings.Contains(r.body, "Test sign-in failed") || !strings.Contains(r.body, "Reason:") || !strings.Contains(r.body, reason) {
		t.Errorf("no test result with its reason %q: %s", reason, r.body)
	}
	// The viewer sees no button.
	for _, bad := range []string{"/setup-link", "/invite", "/onboarding", "<button type=\"submit\">"} {
		if strings.Contains(r.body, bad) {
			t.Errorf("the viewer's page shows %q", bad)
		}
	}
}

// TestSSOSectionAbsentWithoutService: without Options.SSO the section and
// its link are absent.
func TestSSOSectionAbsentWithoutService(t *testing.T) {
	h := newHarness(t, harnessOpt{prefix: "/admin", noSSO: true})
	b := h.signedIn(h.owner.UserID)
	if r := b.get("/orgs/alpha"); r.status != http.StatusOK || strings.Contains(r.body, "/sso") {
		t.Errorf("org page: %d %s", r.status, r.body)
	}
	if r := b.get("/orgs/alpha/sso"); r.status != http.StatusNotFound {
		t.Errorf("GET /orgs/alpha/sso: %d", r.status)
	}
	for _, p := range h.con.Patterns() {
		if strings.Contains(p, "/sso") {
			t.Errorf("route %s without SSO", p)
		}
	}
}
