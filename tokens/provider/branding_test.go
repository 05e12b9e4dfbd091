package provider

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gatehouse-id/gatehouse/pages"
)

// TestBranding: the provider's pages and mails carry the branding given
// in Options, an override replaces its page only, and New refuses an
// invalid branding with a *pages.BrandingError.
func TestBranding(t *testing.T) {
	logo := "https://cdn.acme.test/logo.svg"
	e := newEnv(t, func(o *Options) {
		o.Branding = pages.Branding{ProductName: "Acme Login", LogoURL: logo,
			Colors: pages.Colors{Primary: "#005f73", Background: "#fefae0", Text: "#222222"},
			Templates: fstest.MapFS{"code.html": {Data: []byte(
				`{{define "content"}}<p id="acme-code">{{.T.check_email}}</p><form method="post" action="{{.Action}}"><input type="hidden" name="csrf_token" value="{{.CSRF}}"></form>{{end}}`)}}}
	})
	c := e.newBrowser()
	action, csrf, request, page := e.openLogin(c, nil)
	for _, want := range []string{"<title>Sign in · Acme Corp · Acme Login</title>", `<img src="` + logo + `" alt="Acme Login"`,
		"--gh-primary:#005f73", "--gh-bg:#fefae0", "--gh-text:#222222", `<button type="submit" name="action" value="magic">`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("login page lacks %q", want)
		}
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data: https://cdn.acme.test;") ||
		strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "script") {
		t.Errorf("CSP %q", csp)
	}
	code := e.postForm(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {"magic"},
		"email": {userEmail}})
	if !strings.Contains(code.body, `<p id="acme-code">`) || strings.Contains(code.body, `name="code"`) ||
		!strings.Contains(code.body, "Acme Login") {
		t.Errorf("override of the code page not used: %s", code.body)
	}
	m := e.takeMail()
	if !strings.Contains(m.HTML, "Acme Login") || !strings.Contains(m.HTML, "background:#005f73") {
		t.Errorf("mail without the branding: %s", m.HTML)
	}
	var be *pages.BrandingError
	for _, b := range []pages.Branding{{LogoURL: "javascript:alert(1)"}, {Colors: pages.Colors{Primary: "red;}*{x:y"}},
		{Templates: fstest.MapFS{"signin.html": {}}}} {
		_, err := New(Options{Identity: e.ids, Tokens: e.tok, Branding: b})
		if !errors.As(err, &be) || !errors.Is(err, pages.ErrInvalidBranding) {
			t.Errorf("New accepted %+v: %v", b, err)
		}
	}
}
