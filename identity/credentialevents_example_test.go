package identity_test

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// An event about an API key is listed in the log of each organization the
// key reaches.
func ExampleCredentialEvent() {
	ctx := context.Background()
	svc, err := identity.NewService(identity.Options{Store: memory.New()})
	if err != nil {
		panic(err)
	}
	name := "Acme"
	if _, err := svc.CreateOrganization(ctx, identity.OrganizationInput{Name: &name}); err != nil {
		panic(err)
	}
	key, _, err := svc.CreateCredential(ctx, identity.Credential{Name: "reporting",
		Permissions: []string{"read:users"}, ManagedOrgs: []string{"acme"}}, "")
	if err != nil {
		panic(err)
	}
	// A face that issues the key a management token logs it so.
	if err := svc.LogEvent(ctx, identity.CredentialEvent(identity.EventAPIKeyTokenIssued, key, nil)); err != nil {
		panic(err)
	}
	p, err := svc.ListEvents(ctx, "acme", identity.EventFilter{ActorID: key.ID}, identity.PageRequest{})
	if err != nil {
		panic(err)
	}
	for _, e := range p.Items {
		fmt.Println(e.Code, e.Orgs)
	}
	// Output:
	// API_KEY_TOKEN_ISSUED [acme]
	// CREDENTIAL_CREATED [acme]
}
