package pages_test

import (
	"errors"
	"fmt"
	"testing/fstest"

	"github.com/gatehouse-id/gatehouse/pages"
)

// A product brands the hosted pages: name, logo, colours, and a help link
// in the login page's header (the page's form stays the built-in one).
// provider.Options, sso.Options and portal.WithBranding take the same
// value.
func ExampleBranding() {
	b := pages.Branding{
		ProductName: "Acme Identity",
		LogoURL:     "https://cdn.acme.example/logo.svg",
		Colors:      pages.Colors{Primary: "#7a0177", Background: "#ffffff", Text: "rgb(20, 20, 20)"},
		Templates: fstest.MapFS{"login.html": {Data: []byte(
			`{{define "header"}}<p><a href="https://acme.example/help">{{product}} help</a></p>{{end}}`)}},
	}
	fmt.Println(b.Validate())

	b.Colors.Primary = "#ffff00" // yellow on white: unreadable
	var be *pages.BrandingError
	err := b.Validate()
	fmt.Println(errors.As(err, &be), be.Field, errors.Is(err, pages.ErrInvalidBranding))
	// Output:
	// <nil>
	// true Colors.Primary true
}

// The page a face renders, with its Content-Security-Policy.
func ExampleLook_CSP() {
	look, err := pages.New(pages.Branding{LogoURL: "https://cdn.acme.example/logo.svg"})
	if err != nil {
		panic(err)
	}
	fmt.Println(look.ProductName())
	fmt.Println(look.CSP("n0nce", "'self'"))
	// Output:
	// Gatehouse
	// default-src 'none'; style-src 'nonce-n0nce'; img-src 'self' data: https://cdn.acme.example; frame-ancestors 'none'; base-uri 'none'; form-action 'self'
}
