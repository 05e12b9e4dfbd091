package ssooidc_test

import (
	"fmt"
	"log"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/sso"
	"github.com/gatehouse-id/gatehouse/sso/ssooidc"
	"github.com/gatehouse-id/gatehouse/store/memory"
	"github.com/gatehouse-id/gatehouse/tokens"
	"github.com/gatehouse-id/gatehouse/tokens/provider"
)

// Example wires enterprise SSO and the OIDC provider to each other:
// "continue with SSO" routing, sign-ins that resume the provider's
// authorization requests (or open its browser session after an
// IdP-initiated sign-in), and single logout in both directions.
func Example() {
	const base = "https://auth.example.com"
	id, err := identity.NewService(identity.Options{Store: memory.New(), AccountDomain: "example"})
	if err != nil {
		log.Fatal(err)
	}
	kek := make([]byte, 32) // in production: 32 random bytes kept outside the store
	tok, err := tokens.New(tokens.Options{Identity: id, BaseURL: base, KeyEncryptionKey: kek})
	if err != nil {
		log.Fatal(err)
	}
	bridge := ssooidc.NewBridge(base)
	ssoSvc, err := sso.New(sso.Options{Identity: id, BaseURL: base, Authorizations: bridge, KeyEncryptionKey: kek})
	if err != nil {
		log.Fatal(err)
	}
	prov, err := provider.New(provider.Options{Identity: id, Tokens: tok,
		SSORouter: ssooidc.Router(ssoSvc), SSOLogout: ssooidc.Logout(ssoSvc)})
	if err != nil {
		log.Fatal(err)
	}
	defer prov.Close()
	bridge.Bind(prov)

	_, endsSessions := any(bridge).(sso.SessionEnder)
	fmt.Println("IdP logout ends provider sessions:", endsSessions)
	// Output: IdP logout ends provider sessions: true
}
