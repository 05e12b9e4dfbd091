package admin_test

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/admin"
	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/memory"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// With the token service, each application's page shows the JWT sample:
// the decoded claims the issuer gives the application's tokens.
func ExampleOptions_jwtSamples() {
	ctx := context.Background()
	svc, err := identity.NewService(identity.Options{Store: memory.New(), AccountDomain: "gatehouse"})
	if err != nil {
		panic(err)
	}
	tok, err := tokens.New(tokens.Options{Identity: svc, BaseURL: "https://id.example.com"})
	if err != nil {
		panic(err)
	}
	con, err := admin.New(ctx, admin.Options{Identity: svc, JWTSamples: tok,
		BaseURL: "https://id.example.com/admin", ProviderURL: "https://id.example.com"})
	if err != nil {
		panic(err)
	}
	fmt.Println(con != nil)
	// Output: true
}
