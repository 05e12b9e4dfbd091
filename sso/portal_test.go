package sso_test

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	dsig "github.com/russellhaering/goxmldsig"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/sso"
)

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// invite creates a connection without metadata, sends the invitation and
// returns the setup link.
func (f *fixture) invite() (idp, link string) {
	f.t.Helper()
	out := f.json(f.do("POST", "/api/v2/sso-connections", f.token, map[string]any{
		"organization_id": f.org.ID, "application_id": f.app.ClientID, "sso_admin_email": "it@acme.test", "send_email": true}), http.StatusCreated)
	return out["id"].(string), linkRE.FindString(f.mails.last(f.t).Text)
}

func (f *fixture) onboarding(idp string) *sso.Onboarding {
	f.t.Helper()
	o, err := f.svc.Onboarding(f.t.Context(), f.id, idp)
	if err != nil {
		f.t.Fatal(err)
	}
	return o
}

func csrfOf(t testing.TB, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in %s", page)
	}
	return m[1]
}

// redeem opens a setup link the way a browser does: the start page, then
// its form with the page's CSRF token.
func (b *browser) redeem(link string) *http.Response {
	b.f.t.Helper()
	return b.postForm(link, url.Values{"csrf": {csrfOf(b.f.t, body(b.get(link)))}})
}

// TestSetupLinkNeedsTheStartPageToken: a foreign page cannot post the start
// form (login CSRF into the attacker's setup session), and a refused post
// consumes nothing.
func TestSetupLinkNeedsTheStartPageToken(t *testing.T) {
	f := newFixture(t)
	idp, link := f.invite()
	victim := f.browser()
	body(victim.get(link)) // the victim has a start cookie of their own
	for _, form := range []url.Values{nil, {"csrf": {""}}, {"csrf": {"forged"}}} {
		if r := victim.postForm(link, form); r.StatusCode != http.StatusForbidden || r.Header.Get("X-Frame-Options") != "DENY" {
			t.Fatalf("start form with csrf %v: %d", form, r.StatusCode)
		}
	}
	if o := f.onboarding(idp); o.State == sso.OnboardingStarted {
		t.Fatal("a refused start form consumed the link")
	}
	if r := f.browser().redeem(link); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the link no longer works after refused posts: %d", r.StatusCode)
	}
}

func TestOnboardingPortal(t *testing.T) {
	f := newFixture(t)
	idp, link := f.invite()
	b := f.browser()

	// GET shows a confirmation page and consumes nothing (mail scanners).
	for range 2 {
		resp := b.get(link)
		page := body(resp)
		if resp.StatusCode != 200 || !strings.Contains(page, "Start the setup") || resp.Header.Get("X-Frame-Options") != "DENY" ||
			!strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Fatalf("start page %d %v", resp.StatusCode, resp.Header)
		}
	}
	resp := b.redeem(link)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("redeem: %d %s", resp.StatusCode, body(resp))
	}
	if o := f.onboarding(idp); o.State != sso.OnboardingStarted {
		t.Fatalf("state after opening the link: %s", o.State)
	}
	// Single use.
	if resp := f.browser().redeem(link); resp.StatusCode != http.StatusGone {
		t.Fatalf("second use: %d", resp.StatusCode)
	}

	// Step 1: provider (CSRF required).
	page := body(b.get(baseURL + "/enterprise-setup/provider"))
	for _, p := range []string{"Microsoft Entra ID", "Okta", "Google Workspace", "AD FS", "PingFederate", "PingOne", "OneLogin", "Auth0", "Custom SAML"} {
		if !strings.Contains(page, p) {
			t.Errorf("provider %s missing", p)
		}
	}
	tok := csrfOf(t, page)
	if r := b.postForm(baseURL+"/enterprise-setup/provider", url.Values{"provider_type": {"okta"}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("POST without CSRF: %d", r.StatusCode)
	}
	if r := b.postForm(baseURL+"/enterprise-setup/provider", url.Values{"provider_type": {"okta"}, "csrf": {"forged"}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("POST with a forged CSRF token: %d", r.StatusCode)
	}
	if r := b.postForm(baseURL+"/enterprise-setup/provider", url.Values{"provider_type": {"myspace"}, "csrf": {tok}}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("unknown provider: %d", r.StatusCode)
	}
	if r := b.postForm(baseURL+"/enterprise-setup/provider", url.Values{"provider_type": {"okta"}, "csrf": {tok}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("choose provider: %d", r.StatusCode)
	}
	if o := f.onboarding(idp); o.State != sso.OnboardingProviderTypeChosen || o.ProviderType != "okta" || o.TutorialStep != sso.StepConfigureIdP {
		t.Fatalf("onboarding after choice %#v", o)
	}

	// Step 2: SP values and Okta instructions.
	page = body(b.get(baseURL + "/enterprise-setup/configure"))
	for _, want := range []string{baseURL + "/enterprise/" + idp + "/acs", baseURL + "/enterprise/" + idp + "/metadata", "Okta Admin Console", "download"} {
		if !strings.Contains(page, want) {
			t.Errorf("configure page lacks %q", want)
		}
	}
	b.postForm(baseURL+"/enterprise-setup/configure", url.Values{"csrf": {tok}})
	if o := f.onboarding(idp); o.TutorialStep != sso.StepUploadMetadata {
		t.Fatalf("step %d", o.TutorialStep)
	}

	// Step 3: bad metadata gets a clear message; good metadata is stored.
	for _, c := range []struct{ xml, want string }{
		{"hello", "not valid XML"},
		{`<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><SPSSODescriptor/></EntityDescriptor>`, "IDPSSODescriptor"},
	} {
		r := b.postForm(baseURL+"/enterprise-setup/metadata", url.Values{"csrf": {tok}, "metadata": {c.xml}})
		page := body(r)
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, c.want) || !strings.Contains(page, `role="alert"`) {
			t.Fatalf("bad metadata %q: %d %s", c.xml, r.StatusCode, page)
		}
	}
	r := b.postForm(baseURL+"/enterprise-setup/metadata", url.Values{"csrf": {tok}, "metadata": {f.idpMetadata()}})
	if page := body(r); r.StatusCode != 200 || !strings.Contains(page, "valid and saved") {
		t.Fatalf("good metadata: %d %s", r.StatusCode, page)
	}
	if o := f.onboarding(idp); o.State != sso.OnboardingMetadataUploaded || o.TutorialStep != sso.StepTestSignIn {
		t.Fatalf("onboarding after upload %#v", o)
	}

	// Step 4: test sign-in through the real IdP.
	testPage := b.get(baseURL + "/enterprise-setup/test")
	if !strings.Contains(testPage.Header.Get("Content-Security-Policy"), "form-action 'self' "+idpBase) {
		t.Fatalf("test page CSP %q", testPage.Header.Get("Content-Security-Policy"))
	}
	r = b.postForm(baseURL+"/enterprise-setup/test", url.Values{"csrf": {tok}})
	if r.StatusCode != http.StatusFound {
		t.Fatalf("start test: %d %s", r.StatusCode, body(r))
	}
	r = b.acs(idp, b.idpAnswer(r.Header.Get("Location")))
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != baseURL+"/enterprise-setup/test-result" {
		t.Fatalf("acs of a test: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	page = body(b.get(baseURL + "/enterprise-setup/test-result"))
	if !strings.Contains(page, "test sign-in succeeded") || !strings.Contains(page, "jane@acme.test") {
		t.Fatalf("test result page %s", page)
	}
	if o := f.onboarding(idp); o.State != sso.OnboardingCompleted || o.TutorialStep != sso.StepDone {
		t.Fatalf("onboarding after test %#v", o)
	}
	if f.userCount() != 0 {
		t.Fatal("a test sign-in provisioned a user")
	}
	if e := f.lastEvent(identity.EventSSOAdminTestSuccess); e == nil || e.SAMLIdPID != idp {
		t.Fatalf("test event %#v", e)
	}

	// The session reaches only its own connection: the API shows the state.
	got := f.json(f.do("GET", "/api/v2/sso-connections/"+idp+"?preload_associations=onboarding", f.token, nil), http.StatusOK)
	if o := got["onboarding"].(map[string]any); o["state"] != "completed" || o["tutorial_step"] != 4.0 || o["provider_type"] != "okta" {
		t.Fatalf("API onboarding %#v", o)
	}
}

func TestOnboardingPortalTestFailureShowsReason(t *testing.T) {
	f := newFixture(t)
	idp, link := f.invite()
	b := f.browser()
	b.redeem(link + "?lang=fr")
	page := body(b.get(baseURL + "/enterprise-setup/metadata?lang=fr"))
	if !strings.Contains(page, `<html lang="fr">`) || !strings.Contains(page, "Envoyez les métadonnées") {
		t.Fatalf("French page %s", page)
	}
	tok := csrfOf(t, page)
	// Metadata whose certificate is not the IdP's signing key.
	other := testKeys()[1].cert
	md := strings.Replace(f.idpMetadata(), base64.StdEncoding.EncodeToString(testKeys()[0].cert.Raw), base64.StdEncoding.EncodeToString(other.Raw), -1)
	if _, err := x509.ParseCertificate(other.Raw); err != nil {
		t.Fatal(err)
	}
	r := b.postForm(baseURL+"/enterprise-setup/metadata?lang=fr", url.Values{"csrf": {tok}, "metadata": {md}})
	if r.StatusCode != 200 {
		t.Fatalf("upload: %d %s", r.StatusCode, body(r))
	}
	r = b.postForm(baseURL+"/enterprise-setup/test?lang=fr", url.Values{"csrf": {tok}})
	r = b.acs(idp, b.idpAnswer(r.Header.Get("Location")))
	req, _ := http.NewRequest("GET", r.Header.Get("Location"), nil)
	req.Header.Set("Accept-Language", "fr-FR,fr;q=0.9")
	page = body(b.do(req))
	if !strings.Contains(page, "La connexion de test a échoué") || !strings.Contains(page, "untrusted_certificate") {
		t.Fatalf("failure page %s", page)
	}
	if o := f.onboarding(idp); o.State != sso.OnboardingTestFailed || !strings.HasPrefix(o.LastTestError, "untrusted_certificate") {
		t.Fatalf("onboarding %#v", o)
	}
	if e := f.lastEvent(identity.EventSSOAdminTestFailed); e == nil || e.Data["reason"] != "untrusted_certificate" {
		t.Fatalf("event %#v", e)
	}
}

func TestSetupLinkExpiryAndSessions(t *testing.T) {
	f := newFixture(t)
	_, link := f.invite()
	f.clock.Advance(sso.DefaultSetupLinkTTL + time.Minute)
	if r := f.browser().redeem(link); r.StatusCode != http.StatusGone {
		t.Fatalf("expired link: %d", r.StatusCode)
	}
	f.token = f.key(identity.Production, []string{"*"})
	_, link = f.invite()
	b := f.browser()
	b.redeem(link)
	if r := b.get(baseURL + "/enterprise-setup/provider"); r.StatusCode != 200 {
		t.Fatalf("session: %d", r.StatusCode)
	}
	f.clock.Advance(sso.DefaultPortalSessionTTL + time.Minute)
	if r := b.get(baseURL + "/enterprise-setup/provider"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("expired session: %d", r.StatusCode)
	}
	if r := f.browser().get(baseURL + "/enterprise-setup/provider"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no session: %d", r.StatusCode)
	}
	if r := f.browser().redeem(baseURL + "/enterprise-setup/not-a-real-token"); r.StatusCode != http.StatusGone {
		t.Fatalf("unknown link: %d", r.StatusCode)
	}
}

// TestMetadataFileUpload: the metadata may come as an uploaded file.
func TestMetadataFileUpload(t *testing.T) {
	f := newFixture(t)
	idp, link := f.invite()
	b := f.browser()
	b.redeem(link)
	tok := csrfOf(t, body(b.get(baseURL+"/enterprise-setup/metadata")))
	upload := func(content string) *http.Response {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.WriteField("csrf", tok)
		fw, _ := mw.CreateFormFile("metadata_file", "idp.xml")
		_, _ = fw.Write([]byte(content))
		_ = mw.Close()
		req, _ := http.NewRequest("POST", baseURL+"/enterprise-setup/metadata", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return b.do(req)
	}
	if r := upload(strings.Repeat("<a>", 10)); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad file: %d", r.StatusCode)
	}
	if r := upload(strings.Repeat(" ", 2<<20)); r.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body(r), "1 MiB") {
		t.Fatalf("oversized file: %d", r.StatusCode)
	}
	if r := upload(f.idpMetadata()); r.StatusCode != http.StatusOK {
		t.Fatalf("good file: %d %s", r.StatusCode, body(r))
	}
	if d, err := f.svc.GetConnection(t.Context(), f.id, idp); err != nil || d.Connection.Metadata == "" {
		t.Fatalf("metadata not stored: %v", err)
	}
}

// TestOnboardingAccessEnds (the attacker's test): a setup link sent to the
// wrong address, or a portal session opened with one, must stop opening
// the connection's configuration once the organization's administrator
// corrects the address, sends the invitation again or resets the
// onboarding; otherwise whoever holds it replaces the IdP metadata and
// signs in as any user of the organization. Each action ends the earlier
// links (410) and sessions (401); the link sent afterwards works. A link
// shown in the console (NewSetupLink) ends nothing.
func TestOnboardingAccessEnds(t *testing.T) {
	actions := []struct {
		name string
		act  func(f *fixture, idp string)
	}{
		{"new administrator email", func(f *fixture, idp string) {
			f.json(f.do("PUT", "/api/v2/sso-connections/"+idp+"/admin-onboarding", f.token,
				map[string]any{"sso_admin_email": "admin@acme.test", "send_email": true}), http.StatusOK)
		}},
		{"invitation sent again", func(f *fixture, idp string) {
			f.do("POST", "/api/v2/sso-connections/"+idp+"/invite-admin", f.token, nil)
		}},
		{"onboarding reset", func(f *fixture, idp string) {
			f.json(f.do("PATCH", "/api/v2/sso-connections/"+idp+"/reset-onboarding", f.token, nil), http.StatusOK)
		}},
	}
	for _, a := range actions {
		t.Run(a.name, func(t *testing.T) {
			f := newFixture(t)
			idp, link := f.invite()
			b := f.browser()
			if r := b.redeem(link); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("link: %d", r.StatusCode)
			}
			// A second link, shown in the console, not yet used.
			pending, err := f.svc.NewSetupLink(t.Context(), f.id, idp)
			if err != nil {
				t.Fatal(err)
			}
			if r := b.get(baseURL + "/enterprise-setup/provider"); r.StatusCode != http.StatusOK {
				t.Fatalf("session before the action: %d", r.StatusCode)
			}
			n := f.mails.count()
			a.act(f, idp)
			if r := b.get(baseURL + "/enterprise-setup/provider"); r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("session after the action: %d", r.StatusCode)
			}
			if r := f.browser().redeem(pending); r.StatusCode != http.StatusGone {
				t.Fatalf("pending link after the action: %d", r.StatusCode)
			}
			if f.mails.count() > n {
				if r := f.browser().redeem(linkRE.FindString(f.mails.last(t).Text)); r.StatusCode != http.StatusSeeOther {
					t.Fatalf("link sent by the action: %d", r.StatusCode)
				}
			}
		})
	}
	t.Run("console link ends nothing", func(t *testing.T) {
		f := newFixture(t)
		idp, link := f.invite()
		if _, err := f.svc.NewSetupLink(t.Context(), f.id, idp); err != nil {
			t.Fatal(err)
		}
		if r := f.browser().redeem(link); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("invitation link after a console link: %d", r.StatusCode)
		}
	})
}

// TestOnboardingPortalSHA1Hint: the IT administrator whose IdP signs with
// SHA-1 sees why the test sign-in failed and what to change.
func TestOnboardingPortalSHA1Hint(t *testing.T) {
	f := newFixture(t)
	f.idp.SignatureMethod = dsig.RSASHA1SignatureMethod
	idp, link := f.invite()
	b := f.browser()
	b.redeem(link)
	tok := csrfOf(t, body(b.get(baseURL+"/enterprise-setup/metadata")))
	if r := b.postForm(baseURL+"/enterprise-setup/metadata", url.Values{"csrf": {tok}, "metadata": {f.idpMetadata()}}); r.StatusCode != 200 {
		t.Fatalf("upload: %d %s", r.StatusCode, body(r))
	}
	r := b.postForm(baseURL+"/enterprise-setup/test", url.Values{"csrf": {tok}})
	r = b.acs(idp, b.idpAnswer(r.Header.Get("Location")))
	page := body(b.get(r.Header.Get("Location")))
	if !strings.Contains(page, "unsupported") || !strings.Contains(page, "SHA-256 (RSA-SHA256)") {
		t.Fatalf("failure page %s", page)
	}
	if o := f.onboarding(idp); o.State != sso.OnboardingTestFailed || !strings.HasPrefix(o.LastTestError, "unsupported") {
		t.Fatalf("onboarding %#v", o)
	}
}
