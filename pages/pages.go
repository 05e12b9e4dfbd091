package pages

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"slices"
)

//go:embed layout.html style.css
var builtin embed.FS

// Names of the pages a Branding may override (Branding.Templates holds
// files named after them, with ".html").
const (
	// The provider's hosted login pages (package tokens/provider).
	PageLogin   = "login"   // the sign-in form: email, magic link, SSO, password
	PageCode    = "code"    // "check your email": the 6-digit code form
	PageConfirm = "confirm" // the confirmation of a magic link or an invitation (its POST signs in)
	PageMessage = "message" // an error or an information
	PageLogout  = "logout"  // the confirmation of a sign-out
	PageForgot  = "forgot"  // "forgot password": the email form
	PageReset   = "reset"   // the new-password form of a reset link
	PageMail    = "mail"    // the HTML body of the sign-in, invitation and reset mails
	// The SSO onboarding portal (package sso/portal).
	PagePortalStart     = "portal-start"
	PagePortalMessage   = "portal-message"
	PagePortalProvider  = "portal-provider"
	PagePortalConfigure = "portal-configure"
	PagePortalMetadata  = "portal-metadata"
	PagePortalTest      = "portal-test"
	// The end-user pages of enterprise SSO (package sso): failures and
	// "signed in/out" notices.
	PageSSOMessage = "sso-message"
)

// PageNames returns the name of every page a Branding may override.
func PageNames() []string {
	return []string{PageLogin, PageCode, PageConfirm, PageMessage, PageLogout, PageForgot, PageReset, PageMail,
		PagePortalStart, PagePortalMessage, PagePortalProvider, PagePortalConfigure, PagePortalMetadata,
		PagePortalTest, PageSSOMessage}
}

func knownPage(name string) bool { return slices.Contains(PageNames(), name) }

// Frame is what the shared layout reads from a page's data: every face's
// page data has a Frame method.
type Frame struct {
	// Lang is the page's language ("en", "fr"): the html lang attribute.
	Lang string
	// Title is the page's title and heading.
	Title string
	// Subtitle is shown under the heading (the organization's name).
	Subtitle string
	// Error is shown in an alert (role="alert", id="error").
	Error string
	// Notice is shown in a status box (role="status", id="notice").
	Notice string
	// Nonce is the page's CSP nonce (NewNonce), on its style element.
	Nonce string
	// SkipLabel is the text of the "skip to content" link.
	SkipLabel string
	// Warnings are shown in status boxes after Notice.
	Warnings []string
	// Wide widens the main column (the portal's pages).
	Wide bool
}

// Framer is a page's data: the layout reads its Frame.
type Framer interface{ Frame() Frame }

// Look is a validated Branding with the shared layout and stylesheet.
// Each face parses its pages with it (Parse). It is safe for concurrent
// use.
type Look struct {
	b      Branding
	p      *palette
	css    template.CSS
	layout *template.Template
}

// New validates b (a *BrandingError when it is refused) and returns its
// Look.
func New(b Branding) (*Look, error) {
	p, err := b.resolve()
	if err != nil {
		return nil, err
	}
	style, err := builtin.ReadFile("style.css")
	if err != nil {
		return nil, fmt.Errorf("pages: stylesheet: %w", err)
	}
	l := &Look{b: b, p: p}
	// The colours are our own serialization of the parsed values.
	vars := fmt.Sprintf(":root{--gh-primary:%s;--gh-on-primary:%s;--gh-bg:%s;--gh-text:%s;--gh-muted:%s;--gh-border:%s}\n",
		p.primary.hex(), p.onPrimary.hex(), p.bg.hex(), p.text.hex(), p.muted.hex(), p.border.hex())
	l.css = template.CSS(vars + string(style))
	l.layout, err = template.New("layout").Funcs(l.funcs()).ParseFS(builtin, "layout.html")
	if err != nil {
		return nil, fmt.Errorf("pages: layout: %w", err)
	}
	return l, nil
}

// MustNew is New for a Branding known to be valid (the zero Branding):
// it panics on an invalid one.
func MustNew(b Branding) *Look {
	l, err := New(b)
	if err != nil {
		panic(err)
	}
	return l
}

// ProductName returns the product name (DefaultProductName when the
// Branding names none).
func (l *Look) ProductName() string { return l.p.product }

// LogoURL returns the validated logo URL ("" when none).
func (l *Look) LogoURL() string { return l.p.logo }

// Stylesheet returns the shared stylesheet with the Branding's colours.
func (l *Look) Stylesheet() string { return string(l.css) }

// funcs are the template functions of every page: product, logo and
// stylesheet.
func (l *Look) funcs() template.FuncMap {
	return template.FuncMap{
		"product":    func() string { return l.p.product },
		"logo":       func() template.URL { return template.URL(l.p.logo) },
		"stylesheet": func() template.CSS { return l.css },
	}
}

// Set is the parsed pages of one face. It is safe for concurrent use.
type Set struct {
	look  *Look
	pages map[string]*template.Template
}

// Parse parses a face's pages: for each name, the files shared (partials
// every page of the face uses: "header", "nav") and name+".html" of
// content over the shared layout (the page defines "content"; or it
// defines a template of the page's own name, rendered alone, as the mail
// does), then the Branding's override of the page prefix+name, if any.
// funcs are added to product, logo and stylesheet. A broken override is a
// *BrandingError.
func (l *Look) Parse(content fs.FS, funcs template.FuncMap, prefix string, shared []string, names ...string) (*Set, error) {
	s := &Set{look: l, pages: map[string]*template.Template{}}
	for _, name := range names {
		t, err := l.layout.Clone()
		if err != nil {
			return nil, fmt.Errorf("pages: %s: %w", name, err)
		}
		t = t.Funcs(funcs)
		if t, err = t.ParseFS(content, append(append([]string(nil), shared...), name+".html")...); err != nil {
			return nil, fmt.Errorf("pages: %s: %w", name, err)
		}
		page := prefix + name
		if l.p.overrides[page] {
			if t, err = t.ParseFS(l.b.Templates, page+".html"); err != nil {
				return nil, &BrandingError{Field: "Templates", Value: page + ".html", Reason: err.Error()}
			}
		}
		s.pages[page] = t
	}
	return s, nil
}

// Look returns the Look the set was parsed with.
func (s *Set) Look() *Look { return s.look }

// Execute writes page name with data: the template of the page's own
// name when the page defines one (the mail), else the layout.
func (s *Set) Execute(w io.Writer, name string, data any) error {
	t, ok := s.pages[name]
	if !ok {
		return fmt.Errorf("pages: no page %q", name)
	}
	entry := "layout"
	if t.Lookup(name) != nil {
		entry = name
	}
	return t.ExecuteTemplate(w, entry, data)
}

// Render writes page name as an HTML answer with status and the security
// headers of every page (SetHeaders, with the nonce of data's Frame and
// formAction). Nothing is written when the page fails to render: the
// error is returned and the caller answers.
func (s *Set) Render(w http.ResponseWriter, status int, name string, data Framer, formAction string) error {
	var buf bytes.Buffer
	if err := s.Execute(&buf, name, data); err != nil {
		return err
	}
	s.look.SetHeaders(w.Header(), data.Frame().Nonce, formAction)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// NewNonce returns a fresh CSP nonce (128 random bits).
func NewNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawStdEncoding.EncodeToString(b[:])
}

// CSP returns the Content-Security-Policy of a page: nothing by default,
// styles only from the element carrying nonce, images from the same
// origin, data: and the logo's origin, no framing, no base element, and
// form-action formAction when it is not empty (the login pages leave it
// out: browsers apply form-action to the redirects that follow a form,
// and a sign-in ends with one to the application).
func (l *Look) CSP(nonce, formAction string) string {
	img := "'self' data:"
	if l.p.logoSrc != "" {
		img += " " + l.p.logoSrc
	}
	csp := "default-src 'none'; style-src 'nonce-" + nonce + "'; img-src " + img + "; frame-ancestors 'none'; base-uri 'none'"
	if formAction != "" {
		csp += "; form-action " + formAction
	}
	return csp
}

// SetHeaders sets the headers of every HTML page: its type, CSP (see
// CSP), X-Frame-Options DENY, nosniff, no-referrer and no-store.
func (l *Look) SetHeaders(h http.Header, nonce, formAction string) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", l.CSP(nonce, formAction))
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

// MailColors returns the primary colour and its text colour as #rrggbb,
// for the inline styles of an HTML mail (mail readers ignore style
// elements; the values are the parsed colours, never the strings given).
func (l *Look) MailColors() (primary, onPrimary string) {
	return l.p.primary.hex(), l.p.onPrimary.hex()
}
