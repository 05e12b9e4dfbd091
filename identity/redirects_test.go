package identity_test

import (
	"fmt"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

func TestAllowsRedirect(t *testing.T) {
	native := &identity.Application{ApplicationType: identity.AppNative, AllowedRedirectURLs: []string{
		"http://127.0.0.1/callback", "http://[::1]:8400/cb?x=1", "com.example.app:/oauth", "http://localhost/cb"}}
	web := &identity.Application{ApplicationType: identity.AppRegularWeb, AllowedRedirectURLs: []string{"http://127.0.0.1/callback"}}
	cases := []struct {
		app  *identity.Application
		uri  string
		want bool
	}{
		{native, "http://127.0.0.1/callback", true},
		{native, "http://127.0.0.1:53123/callback", true},
		{native, "http://127.0.0.1:1/callback", true},
		{native, "http://[::1]/cb?x=1", true},
		{native, "http://[::1]:9/cb?x=1", true},
		{native, "com.example.app:/oauth", true},
		{native, "http://127.0.0.1:53123/callback/", false},    // another path
		{native, "http://127.0.0.1:53123/callback?a=b", false}, // a query added
		{native, "http://[::1]:9/cb?x=2", false},               // another query
		{native, "http://127.0.0.2:53123/callback", false},     // another address
		{native, "https://127.0.0.1:53123/callback", false},    // another scheme
		{native, "http://localhost:53123/cb", false},           // a name, not an address: exact only
		{native, "http://u@127.0.0.1:53123/callback", false},   // user information
		{native, "http://127.0.0.1:53123/callback#f", false},   // a fragment
		{native, "http://127.0.0.1:0x50/callback", false},      // not a port
		{native, "http://0177.0.0.1:53123/callback", false},    // not the address as written
		{native, "com.example.app:/oauth/other", false},        // private-use: exact only
		{native, "", false},
		{web, "http://127.0.0.1/callback", true},
		{web, "http://127.0.0.1:53123/callback", false}, // only native applications
	}
	for _, c := range cases {
		if got := c.app.AllowsRedirect(c.uri); got != c.want {
			t.Errorf("%s AllowsRedirect(%q) = %v, want %v", c.app.ApplicationType, c.uri, got, c.want)
		}
	}
}

func TestCheckRedirectURL(t *testing.T) {
	cases := []struct {
		appType, uri string
		ok           bool
	}{
		{identity.AppNative, "com.example.app:/oauth", true},
		{identity.AppNative, "com.example.app://callback", true},
		{identity.AppNative, "http://127.0.0.1/callback", true},
		{identity.AppNative, "myapp:/cb", false},                // no reversed domain
		{identity.AppNative, "javascript:alert(1)", false},      // no dot, and refused anyway
		{identity.AppNative, "java.script:alert(1)", true},      // a private scheme: the app's own
		{identity.AppNative, "com.example.app:/cb#frag", false}, // a fragment
		{identity.AppNative, "com.example.app://u@cb", false},   // user information
		{identity.AppRegularWeb, "com.example.app:/oauth", false},
		{identity.AppReact, "com.example.app:/oauth", false},
	}
	for _, c := range cases {
		if got := identity.CheckRedirectURL(c.appType, c.uri); (got == "") != c.ok {
			t.Errorf("CheckRedirectURL(%s, %q) = %q, want ok %v", c.appType, c.uri, got, c.ok)
		}
	}
}

// A native application registers its loopback redirect URI without a
// port: it listens wherever the system lets it, and every port matches
// (RFC 8252 §7.3); everything else matches exactly.
func ExampleApplication_AllowsRedirect() {
	cli := &identity.Application{ApplicationType: identity.AppNative,
		AllowedRedirectURLs: []string{"http://127.0.0.1/callback", "com.example.cli:/oauth"}}
	fmt.Println(cli.AllowsRedirect("http://127.0.0.1:53123/callback"))
	fmt.Println(cli.AllowsRedirect("http://127.0.0.1:53123/other"))
	fmt.Println(cli.AllowsRedirect("com.example.cli:/oauth"))
	// Output:
	// true
	// false
	// true
}
