package pages

import (
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

func TestBrandingValidate(t *testing.T) {
	tests := []struct {
		name  string
		b     Branding
		field string // "" when valid
	}{
		{"zero value", Branding{}, ""},
		{"hex colours", Branding{Colors: Colors{Primary: "#0b57d0", Background: "#FFF", Text: "#111"}}, ""},
		{"rgb colours", Branding{Colors: Colors{Primary: "rgb(11, 87, 208)", Background: "rgb(255 255 255)"}}, ""},
		{"dark theme", Branding{Colors: Colors{Primary: "#8ab4f8", Background: "#121212", Text: "#e8eaed"}}, ""},
		{"css injection", Branding{Colors: Colors{Primary: "red;}body{display:none"}}, "Colors.Primary"},
		{"named colour", Branding{Colors: Colors{Background: "white"}}, "Colors.Background"},
		{"url() colour", Branding{Colors: Colors{Text: "url(https://evil.example/x)"}}, "Colors.Text"},
		{"rgb out of range", Branding{Colors: Colors{Primary: "rgb(300,0,0)"}}, "Colors.Primary"},
		{"low text contrast", Branding{Colors: Colors{Text: "#cccccc"}}, "Colors.Text"},
		{"low primary contrast", Branding{Colors: Colors{Primary: "#ffff00"}}, "Colors.Primary"},
		{"dark background, default text", Branding{Colors: Colors{Background: "#000000"}}, "Colors.Text"},
		{"https logo", Branding{LogoURL: "https://cdn.example.com/logo.svg"}, ""},
		{"path logo", Branding{LogoURL: "/static/logo.png"}, ""},
		{"loopback http logo", Branding{LogoURL: "http://127.0.0.1:8080/logo.png"}, ""},
		{"data logo", Branding{LogoURL: "data:image/png;base64,iVBORw0KGgo="}, ""},
		{"javascript logo", Branding{LogoURL: "javascript:alert(1)"}, "LogoURL"},
		{"http logo", Branding{LogoURL: "http://cdn.example.com/logo.png"}, "LogoURL"},
		{"protocol-relative logo", Branding{LogoURL: "//cdn.example.com/logo.png"}, "LogoURL"},
		{"data html logo", Branding{LogoURL: "data:text/html;base64,PHNjcmlwdD4="}, "LogoURL"},
		{"quote in logo", Branding{LogoURL: "https://cdn.example.com/a\"onerror=x"}, "LogoURL"},
		{"credentials in logo", Branding{LogoURL: "https://user:pw@cdn.example.com/logo.png"}, "LogoURL"},
		{"multi-line product", Branding{ProductName: "Acme\nID"}, "ProductName"},
		{"override of a page", Branding{Templates: fstest.MapFS{"login.html": {Data: []byte(`{{define "content"}}x{{end}}`)}}}, ""},
		{"override of no page", Branding{Templates: fstest.MapFS{"loign.html": {Data: []byte("x")}}}, "Templates"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.b.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if _, err := New(tc.b); err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			var be *BrandingError
			if !errors.As(err, &be) || !errors.Is(err, ErrInvalidBranding) || be.Field != tc.field {
				t.Fatalf("err = %v, want a *BrandingError on %s", err, tc.field)
			}
			if _, err := New(tc.b); !errors.As(err, &be) {
				t.Fatalf("New accepted it: %v", err)
			}
		})
	}
}

// page is test data with a frame.
type page struct {
	F        Frame
	Greeting string
}

func (p *page) Frame() Frame { return p.F }

func parseTest(t *testing.T, b Branding) *Set {
	t.Helper()
	l, err := New(b)
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.Parse(os.DirFS("testdata/content"), nil, "", nil, "hello", "login", "mail")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRender(t *testing.T) {
	logo := "https://cdn.example.com/acme.svg"
	tests := []struct {
		name    string
		b       Branding
		page    string
		want    []string
		notWant []string
		imgSrc  string
	}{
		{name: "default look", page: "hello",
			want: []string{`<html lang="fr">`, "<title>Titre · Acme · Gatehouse</title>", `<span>Gatehouse</span>`,
				`<a class="skip" href="#main">Aller au contenu</a>`, `<main id="main"`, `id="hello">Bonjour`,
				"--gh-primary:#1a4fd6", "--gh-on-primary:#ffffff", ":focus-visible", "@media (max-width:30rem)",
				`name="viewport"`, `role="alert" id="error"><p>Oups`},
			notWant: []string{"<script", " style=\""}, imgSrc: "img-src 'self' data:;"},
		{name: "custom brand", page: "hello",
			b: Branding{ProductName: "Acme ID", LogoURL: logo,
				Colors: Colors{Primary: "#FFD700", Background: "rgb(18, 18, 18)", Text: "#EEE"}},
			want: []string{"· Acme ID</title>", `<img src="` + logo + `" alt="Acme ID"`, "--gh-primary:#ffd700",
				"--gh-on-primary:#000000", "--gh-bg:#121212", "--gh-text:#eeeeee"},
			notWant: []string{"<span>Gatehouse</span>", "#FFD700", "rgb(18, 18, 18)"},
			imgSrc:  "img-src 'self' data: https://cdn.example.com;"},
		{name: "override of login only", page: "login",
			b:       Branding{Templates: fstest.MapFS{"login.html": {Data: []byte(`{{define "content"}}<p id="mine">{{.Greeting}} ({{product}})</p>{{end}}`)}}},
			want:    []string{`<p id="mine">Bonjour (Gatehouse)</p>`, `<a class="skip"`},
			notWant: []string{"builtin-login"}},
		{name: "other pages keep the built-in", page: "hello",
			b:    Branding{Templates: fstest.MapFS{"login.html": {Data: []byte(`{{define "content"}}<p id="mine"></p>{{end}}`)}}},
			want: []string{`id="hello">Bonjour`}, notWant: []string{`id="mine"`}},
		{name: "mail renders alone", page: "mail", b: Branding{ProductName: "Acme ID"},
			want: []string{`<p id="mail">Bonjour from Acme ID</p>`}, notWant: []string{"<html"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := parseTest(t, tc.b)
			d := &page{F: Frame{Lang: "fr", Title: "Titre", Subtitle: "Acme", Error: "Oups", Nonce: NewNonce(),
				SkipLabel: "Aller au contenu"}, Greeting: "Bonjour"}
			rec := httptest.NewRecorder()
			if tc.page == "mail" {
				if err := s.Execute(rec, "mail", d); err != nil {
					t.Fatal(err)
				}
			} else if err := s.Render(rec, 201, tc.page, d, ""); err != nil {
				t.Fatal(err)
			}
			body := rec.Body.String()
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q:\n%s", w, body)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(body, w) {
					t.Errorf("page has %q", w)
				}
			}
			if tc.page == "mail" {
				return
			}
			csp := rec.Header().Get("Content-Security-Policy")
			if rec.Code != 201 || !strings.Contains(csp, "style-src 'nonce-"+d.F.Nonce+"';") ||
				strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, tc.imgSrc) ||
				!strings.Contains(body, `<style nonce="`) || rec.Header().Get("X-Frame-Options") != "DENY" {
				t.Errorf("status %d, CSP %q, headers %v", rec.Code, csp, rec.Header())
			}
		})
	}
}

func TestBrokenOverrideIsABrandingError(t *testing.T) {
	l, err := New(Branding{Templates: fstest.MapFS{"login.html": {Data: []byte(`{{define "content"}}{{.Nope`)}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Parse(os.DirFS("testdata/content"), nil, "", nil, "login")
	var be *BrandingError
	if !errors.As(err, &be) || be.Value != "login.html" {
		t.Fatalf("err = %v", err)
	}
}

func TestCSPFormAction(t *testing.T) {
	l := MustNew(Branding{})
	if got := l.CSP("n", ""); strings.Contains(got, "form-action") {
		t.Errorf("form-action without one asked: %q", got)
	}
	if got := l.CSP("n", "'self' https://idp.example"); !strings.HasSuffix(got, "; form-action 'self' https://idp.example") {
		t.Errorf("CSP %q", got)
	}
}
