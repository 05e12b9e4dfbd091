// Command embed is a host program with Gatehouse inside: it mounts
// Gatehouse under /auth beside its own routes and protects its own API
// (GET /me) with Gatehouse's token middleware, which verifies access
// tokens against the local keys without a network call. A user signs in
// on Gatehouse's hosted page (authorization code flow with PKCE, as the
// host's single-page application does) and calls /me with the access
// token.
//
//	go run ./examples/embed
//
// It keeps its directory in memory and seeds it on start: organization
// acme, the user ada@acme.test (password "correct horse battery") and the
// host's single-page application, redirected to /callback (a real host
// opens a store, store.Open(ctx, "bolt:identity.db"), and manages its
// directory through the APIs or Go calls). Its test signs the user in
// through the hosted page and calls /me with and without the token; to
// watch a sign-in in a browser, run the example server with -demo.
package main

import (
	"context"
	"net/http"

	"github.com/gatehouse-id/gatehouse"
	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/memory"
	"github.com/gatehouse-id/gatehouse/tokens"
)

const addr = "localhost:8090"

func main() { h, _ := host(context.Background(), "http://"+addr); panic(http.ListenAndServe(addr, h)) }

// host returns the host's router, served at origin (scheme://host:port),
// and the client_id of its single-page application.
func host(ctx context.Context, origin string) (http.Handler, string) {
	gh := must(gatehouse.New(ctx, gatehouse.Options{Store: memory.New(), BaseURL: origin + "/auth"}))
	// A directory to sign in to: an organization, a user and the host's single-page application.
	org := must(gh.Production().CreateOrganization(ctx, identity.OrganizationInput{Name: new("Acme")}))
	must(gh.Production().CreateUser(ctx, org.Domain, identity.User{Email: "ada@acme.test", Enabled: true}, "correct horse battery"))
	app := must(gh.Production().CreateApplication(ctx, org.Domain, identity.Application{Name: "host", ApplicationType: identity.AppReact, AllowedRedirectURLs: []string{origin + "/callback"}}))
	// The host's API accepts the access tokens issued to its origin's applications.
	protect := must(gh.Middleware(tokens.VerifierConfig{Audiences: []string{origin}}))
	mux := http.NewServeMux()
	mux.Handle("/auth/", gh.Handler())
	mux.Handle("GET /me", protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("signed in as " + must(tokens.ClaimsFrom(r.Context())).Email + "\n"))
	})))
	return mux, app.ClientID
}

// must returns v, or panics when the last of rest is an error or false.
func must[T any](v T, rest ...any) T {
	if last := rest[len(rest)-1]; last != nil && last != true {
		panic(last)
	}
	return v
}
