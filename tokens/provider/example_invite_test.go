package provider_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/mail"
	"github.com/gatehouse-id/gatehouse/store/memory"
	"github.com/gatehouse-id/gatehouse/tokens"
	"github.com/gatehouse-id/gatehouse/tokens/provider"
)

// An administrator's face mails a user an invitation with its own
// (possibly scoped) service: the core's rule decides, the provider mails
// the single-use link to its hosted confirmation page.
func ExampleProvider_InviteUser() {
	ctx := context.Background()
	ids, err := identity.NewService(identity.Options{Store: memory.New()})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := tokens.New(tokens.Options{Identity: ids, BaseURL: "https://auth.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	var sent []mail.Message
	prov, err := provider.New(provider.Options{Identity: ids, Tokens: tok, MailFrom: "login@example.com",
		Mailer: mail.MailerFunc(func(_ context.Context, m mail.Message) error { sent = append(sent, m); return nil })})
	if err != nil {
		log.Fatal(err)
	}
	name := "Shark Academy"
	org, _ := ids.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
	u, _ := ids.CreateUser(ctx, org.Domain, identity.User{Email: "jane@example.com", Enabled: true}, "")
	// The admin console passes the member's scoped service and actor.
	admin, _ := ids.For(identity.Scope{Environment: identity.Production, Orgs: []string{org.Domain},
		Permissions: []string{"update:users"}})
	inv, err := prov.InviteUser(identity.WithActor(ctx, "admin-id"), admin,
		identity.InvitationRequest{OrgDomain: org.Domain, UserID: u.ID, ClientAddr: "192.0.2.1"}, "en")
	if err != nil {
		log.Fatal(err)
	}
	_ = prov.Close() // waits for the background mail
	fmt.Println(inv.Token == "", sent[0].To[0], strings.Contains(sent[0].Text, "https://auth.example.com/t/shark-academy/invitation/"))
	// Output: true jane@example.com true
}
