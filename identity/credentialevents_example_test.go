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
	for _, code := range []string{identity.EventCredentialCreated, identity.EventAPIKeyTokenIssued} {
		p, err := svc.ListEvents(ctx, "acme", identity.EventFilter{Code: code}, identity.PageRequest{})
		if err != nil {
			panic(err)
		}
		for _, e := range p.Items {
			// The key created by the embedder's code has no actor; the
			// key its management token is issued to is that event's.
			fmt.Printf("%s %v %t %t %q\n", e.Code, e.Orgs, e.Data["credential_id"] == key.ID, e.ActorID == key.ID, e.ActorKind)
		}
	}
	// Output:
	// CREDENTIAL_CREATED [acme] true false ""
	// API_KEY_TOKEN_ISSUED [acme] false true "api_key"
}
