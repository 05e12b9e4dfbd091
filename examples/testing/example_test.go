package testing_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/memory"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// A host test builds a fixture with the in-memory store, mints a real access
// token for a user and calls its protected handler with it.
func Example() {
	ctx := context.Background()
	svc, _ := identity.NewService(identity.Options{Store: memory.New()})
	tok, _ := tokens.New(tokens.Options{Identity: svc, BaseURL: "http://gatehouse.test"})

	name := "Acme"
	org, _ := svc.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
	user, _ := svc.CreateUser(ctx, org.Domain, identity.User{Email: "jane@acme.example", Enabled: true}, "")
	app, _, _ := svc.CreateApplication(ctx, org.Domain, identity.Application{Name: "SPA",
		ApplicationType: identity.AppReact, AllowedOriginsCORS: []string{"http://localhost:3000"}})
	access, _, err := tok.IssueTokens(ctx, &tokens.TokenRequest{OrgDomain: org.Domain, User: user, App: app,
		Scopes: []string{"openid", "email"}})
	if err != nil {
		panic(err)
	}

	// The host's handler under test, protected by Gatehouse's middleware.
	verifier, _ := tok.NewVerifier(tokens.VerifierConfig{Audiences: []string{"http://localhost:3000"}})
	protected := tokens.Middleware(verifier)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := tokens.ClaimsFrom(r.Context())
		fmt.Fprint(w, c.Email)
	}))

	req := httptest.NewRequest("GET", "/me", nil)
	req.Header.Set("Authorization", "Bearer "+access.Value)
	rec := httptest.NewRecorder()
	protected.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.String())
	// Output: 200 jane@acme.example
}
