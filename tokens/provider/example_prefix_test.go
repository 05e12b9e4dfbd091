package provider_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/memory"
	"github.com/gatehouse-id/gatehouse/tokens"
	"github.com/gatehouse-id/gatehouse/tokens/provider"
)

// Serve the provider under /auth of a host's site, beside the host's own
// home page: the base URL carries the path, and the host strips it with
// http.StripPrefix before the provider routes.
func Example_mountUnderPath() {
	ctx := context.Background()
	ids, err := identity.NewService(identity.Options{Store: memory.New(), AccountDomain: "acme"})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := tokens.New(tokens.Options{Identity: ids, BaseURL: "https://app.example/auth"})
	if err != nil {
		log.Fatal(err)
	}
	prov, err := provider.New(provider.Options{Identity: ids, Tokens: tok})
	if err != nil {
		log.Fatal(err)
	}
	defer prov.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "the host's home") })
	mux.Handle("/auth/", http.StripPrefix("/auth", prov))

	name := "Misapret"
	org, err := ids.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
	if err != nil {
		log.Fatal(err)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "https://app.example/auth/t/"+org.Domain+"/.well-known/openid-configuration", nil))
	var doc struct {
		Issuer string `json:"issuer"`
		JWKS   string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		log.Fatal(err)
	}
	fmt.Println(doc.Issuer)
	fmt.Println(doc.JWKS)
	// Output:
	// https://app.example/auth/t/misapret
	// https://app.example/auth/t/misapret/.well-known/jwks
}
