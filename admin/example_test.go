package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/admin"
	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/profile"
	"github.com/gatehouse-id/gatehouse/sso"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// Mount the console under /admin/ and get the first owner's setup link.
func ExampleNew() {
	ctx := context.Background()
	svc, err := identity.NewService(identity.Options{Store: memory.New(), AccountDomain: "gatehouse"})
	if err != nil {
		panic(err)
	}
	con, err := admin.New(ctx, admin.Options{Identity: svc,
		BaseURL: "https://id.example.com/admin", ProviderURL: "https://id.example.com"})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/", http.StripPrefix("/admin", con))

	link, err := con.SetupURL(ctx) // print it on start while the console has no owner
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.HasPrefix(link, "https://id.example.com/admin/setup?token="))
	fmt.Println(con.Issuer())
	fmt.Println(con.CallbackURL())
	// Output:
	// true
	// https://id.example.com/t/gatehouse
	// https://id.example.com/admin/callback
}

// With enterprise SSO, each organization's page links to its SSO
// connections (/orgs/{domain}/sso).
func ExampleOptions_sso() {
	ctx := context.Background()
	svc, err := identity.NewService(identity.Options{Store: memory.New(), AccountDomain: "gatehouse"})
	if err != nil {
		panic(err)
	}
	ssoSvc, err := sso.New(sso.Options{Identity: svc, BaseURL: "https://id.example.com"})
	if err != nil {
		panic(err)
	}
	con, err := admin.New(ctx, admin.Options{Identity: svc, SSO: ssoSvc,
		BaseURL: "https://id.example.com/admin", ProviderURL: "https://id.example.com"})
	if err != nil {
		panic(err)
	}
	fmt.Println(slices.Contains(con.Patterns(), "GET /orgs/{org}/sso/{idp}"))
	// Output: true
}

// With the Crafter Profile face, each organization's page links to its
// Crafter tenant (/orgs/{domain}/tenant) and the API keys section lists
// the Crafter access tokens too.
func ExampleOptions_crafter() {
	ctx := context.Background()
	svc, err := identity.NewService(identity.Options{Store: memory.New(), AccountDomain: "gatehouse"})
	if err != nil {
		panic(err)
	}
	crafter, err := profile.New(profile.Options{Identity: svc, SyncMail: true})
	if err != nil {
		panic(err)
	}
	defer crafter.Close()
	con, err := admin.New(ctx, admin.Options{Identity: svc, Crafter: crafter,
		BaseURL: "https://id.example.com/admin", ProviderURL: "https://id.example.com"})
	if err != nil {
		panic(err)
	}
	fmt.Println(slices.Contains(con.Patterns(), "GET /orgs/{org}/tenant"), slices.Contains(con.Patterns(), "POST /keys/tokens"))
	// Output: true true
}
