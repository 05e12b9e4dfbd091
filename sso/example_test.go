package sso_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/sso"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// A connection for an organization, with its default redirection and the
// SAML URLs to give its IdP.
func Example() {
	ctx := context.Background()
	id, _ := identity.NewService(identity.Options{Store: memory.New(), AccountDomain: "your-domain"})
	name, domains := "Acme Company", []string{"acme.example"}
	org, _ := id.CreateOrganization(ctx, identity.OrganizationInput{Name: &name, AllowedEmailDomains: &domains})
	app, _, _ := id.CreateApplication(ctx, org.Domain, identity.Application{Name: "front", ApplicationType: identity.AppRegularWeb,
		AllowedRedirectURLs: []string{"https://app.example/callback"}})

	svc, err := sso.New(sso.Options{Identity: id, BaseURL: "https://auth.example"})
	if err != nil {
		panic(err)
	}
	d, err := svc.CreateConnection(ctx, id, sso.CreateInput{OrgID: org.ID, ApplicationID: app.ClientID})
	if err != nil {
		panic(err)
	}
	c := d.Connection
	fmt.Println(strings.HasPrefix(c.ID, "acme_company_"), sso.ValidConnectionID(c.ID))
	fmt.Println(c.Active, c.ProviderType, c.UserSecurityType, d.Redirection.URI)
	fmt.Println(strings.Replace(svc.ACSURL(c.ID), c.ID, "{idp_id}", 1))
	// Output:
	// true true
	// true unset none https://app.example/callback
	// https://auth.example/enterprise/{idp_id}/acs
}

// Home-realm discovery: an email of the organization's domain is routed to
// its active, configured connection.
func ExampleService_Route() {
	ctx := context.Background()
	id, _ := identity.NewService(identity.Options{Store: memory.New(), AccountDomain: "your-domain"})
	svc, _ := sso.New(sso.Options{Identity: id, BaseURL: "https://auth.example"})
	_, ok, _ := svc.Route(ctx, sso.RouteRequest{Env: identity.Production, Email: "jane@unknown.example"})
	fmt.Println(ok)
	// Output: false
}

// Gatehouse under a path: the base URL carries it, the SAML URLs and the
// cookie paths start with it, and the host strips it before the handlers
// route (mux.Handle("/auth/", http.StripPrefix("/auth", faces))).
func ExampleService_BasePath() {
	id, _ := identity.NewService(identity.Options{Store: memory.New(), AccountDomain: "your-domain"})
	svc, _ := sso.New(sso.Options{Identity: id, BaseURL: "https://app.example/auth/"})
	fmt.Println(svc.BasePath())
	fmt.Println(svc.ACSURL("{idp_id}"))
	// Output:
	// /auth
	// https://app.example/auth/enterprise/{idp_id}/acs
}

// A connection without IdP metadata has no expiry date; once uploaded,
// MetadataExpiry is the earliest of its validUntil and its signing
// certificates' end, which a console warns of.
func ExampleConnection_MetadataExpiry() {
	var c sso.Connection
	fmt.Println(c.MetadataExpiry().IsZero())
	// Output: true
}
