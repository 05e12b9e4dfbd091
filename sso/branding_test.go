package sso_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gatehouse-id/gatehouse/pages"
	"github.com/gatehouse-id/gatehouse/sso"
	"github.com/gatehouse-id/gatehouse/sso/portal"
)

// TestPortalShowsOrganizationName: the portal names the organization by
// its display name, not its domain, in the shared look, with the SSO
// service's branding and a strict CSP (no inline style without a nonce).
func TestPortalShowsOrganizationName(t *testing.T) {
	f := newFixture(t)
	var err error
	f.svc, err = sso.New(sso.Options{Identity: f.id, BaseURL: baseURL, Mailer: f.mails, MailFrom: "sso@gatehouse.test",
		Authorizations: f.authz, Branding: pages.Branding{ProductName: "Acme Identity",
			Colors: pages.Colors{Primary: "#7a0177"}}})
	if err != nil {
		t.Fatal(err)
	}
	if f.portal, err = portal.New(f.svc); err != nil {
		t.Fatal(err)
	}
	if f.org.Name == f.org.Domain {
		t.Fatalf("fixture organization needs a name distinct from its domain: %q", f.org.Name)
	}
	_, link := f.invite()
	b := f.browser()
	b.redeem(link)
	for _, path := range []string{"/enterprise-setup/provider", "/enterprise-setup/metadata?lang=fr"} {
		resp := b.get(baseURL + path)
		page := body(resp)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		for _, want := range []string{`<p class="org">` + f.org.Name + `</p>`, "Acme Identity</title>", "--gh-primary:#7a0177",
			`<a class="skip" href="#main">`, `<nav class="steps"`} {
			if !strings.Contains(page, want) {
				t.Errorf("%s lacks %q", path, want)
			}
		}
		if strings.Contains(page, "— "+f.org.Domain) || strings.Contains(page, `<p class="org">`+f.org.Domain) {
			t.Errorf("%s names the organization by its domain", path)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "style-src 'nonce-") ||
			!strings.Contains(csp, "form-action 'self'") {
			t.Errorf("%s CSP %q", path, csp)
		}
	}
}

// TestPortalBrandingOverride: a portal page override replaces that page
// only, and an invalid branding is refused when the service or the portal
// is built.
func TestPortalBrandingOverride(t *testing.T) {
	f := newFixture(t)
	var err error
	over := fstest.MapFS{"portal-provider.html": {Data: []byte(`{{define "content"}}<p id="custom">{{t . "provider_intro"}} · {{.OrgName}}</p>{{end}}`)}}
	if f.portal, err = portal.New(f.svc, portal.WithBranding(pages.Branding{Templates: over})); err != nil {
		t.Fatal(err)
	}
	_, link := f.invite()
	b := f.browser()
	b.redeem(link)
	if page := body(b.get(baseURL + "/enterprise-setup/provider")); !strings.Contains(page, `<p id="custom">`) ||
		!strings.Contains(page, "· "+f.org.Name+"</p>") || strings.Contains(page, `name="provider_type"`) {
		t.Errorf("override not used on its page: %s", page)
	}
	if page := body(b.get(baseURL + "/enterprise-setup/metadata")); strings.Contains(page, `id="custom"`) ||
		!strings.Contains(page, `name="metadata"`) {
		t.Errorf("override used on another page: %s", page)
	}
	var be *pages.BrandingError
	if _, err := portal.New(f.svc, portal.WithBranding(pages.Branding{LogoURL: "ftp://x.example/logo.png"})); !errors.As(err, &be) {
		t.Errorf("portal with a bad logo: %v", err)
	}
	if _, err := sso.New(sso.Options{Identity: f.id, BaseURL: baseURL,
		Branding: pages.Branding{Colors: pages.Colors{Background: "expression(alert(1))"}}}); !errors.As(err, &be) {
		t.Errorf("sso service with a bad colour: %v", err)
	}
}
