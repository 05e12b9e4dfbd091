package provider_test

import (
	"fmt"
	"log"
	"net/http"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/api"
	"github.com/gatehouse-id/gatehouse/mail"
	"github.com/gatehouse-id/gatehouse/store/memory"
	"github.com/gatehouse-id/gatehouse/tokens"
	"github.com/gatehouse-id/gatehouse/tokens/provider"
)

// Mount the OIDC provider and hosted login on a host's mux, next to the
// Cryptr management API that serves its magic-link challenge endpoint.
func ExampleNew() {
	ids, err := identity.NewService(identity.Options{Store: memory.New(), AccountDomain: "acme"})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := tokens.New(tokens.Options{Identity: ids, BaseURL: "https://auth.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	prov, err := provider.New(provider.Options{Identity: ids, Tokens: tok,
		Mailer: &mail.DirMailer{Dir: "/tmp/gatehouse-mail"}, MailFrom: "login@example.com"})
	if err != nil {
		log.Fatal(err)
	}
	defer prov.Close()
	mgmt, err := api.New(api.Options{Service: ids, Tokens: api.Tokens(tok), Routes: []api.RouteGroup{prov.APIRoutes()}})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v2/", mgmt)
	for _, p := range prov.Patterns() {
		mux.Handle(p, prov)
	}
	// Each environment is its own issuer, with the whole route set under it.
	fmt.Println(prov.Issuer(identity.Production, "shark-academy"))
	fmt.Println(prov.Issuer(identity.Sandbox, "shark-academy"))
	fmt.Println(prov.Patterns()[0])
	fmt.Println(prov.Patterns()[1])
	// Output:
	// https://auth.example.com/t/shark-academy
	// https://auth.example.com/sandbox/t/shark-academy
	// GET /t/{domain}/.well-known/openid-configuration
	// GET /sandbox/t/{domain}/.well-known/openid-configuration
}
