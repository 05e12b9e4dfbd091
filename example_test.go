package gatehouse_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/gatehouse-id/gatehouse"
	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/memory"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// A host mounts Gatehouse under /auth beside its own routes: issuers,
// links and every route live under the base URL's path.
func ExampleNew() {
	ctx := context.Background()
	gh, err := gatehouse.New(ctx, gatehouse.Options{Store: memory.New(), BaseURL: "https://app.example/auth",
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer gh.Close()
	if _, err := gh.Production().CreateOrganization(ctx, identity.OrganizationInput{Name: new("Acme")}); err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "the host's home") })
	mux.Handle("/auth/", gh.Handler())

	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "https://app.example/auth/t/acme/.well-known/openid-configuration", nil))
	var discovery struct {
		Issuer        string `json:"issuer"`
		Authorization string `json:"authorization_endpoint"`
	}
	if err := json.NewDecoder(w.Body).Decode(&discovery); err != nil {
		panic(err)
	}
	fmt.Println(discovery.Issuer)
	fmt.Println(discovery.Authorization)
	// Output:
	// https://app.example/auth/t/acme
	// https://app.example/auth/t/acme/authorize
}

// The host protects its own routes with the access tokens Gatehouse
// issues to its applications: here, tokens issued to the host's origin.
func ExampleGatehouse_Middleware() {
	gh, err := gatehouse.New(context.Background(), gatehouse.Options{Store: memory.New(), BaseURL: "https://app.example/auth",
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer gh.Close()
	protect, err := gh.Middleware(tokens.VerifierConfig{Audiences: []string{"https://app.example"}})
	if err != nil {
		panic(err)
	}
	me := protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := tokens.ClaimsFrom(r.Context())
		fmt.Fprintln(w, "signed in as", claims.Email)
	}))

	w := httptest.NewRecorder()
	me.ServeHTTP(w, httptest.NewRequest("GET", "https://app.example/me", nil))
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
	// Output:
	// 401 Bearer
}
