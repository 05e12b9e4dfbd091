// Command embed shows Gatehouse inside a host program that already has its
// own HTTP server: the host keeps its routes, mounts Gatehouse's Cryptr
// management face under /api/v2 and the JWKS of its organization, and
// protects its own API with Gatehouse's token middleware, which verifies
// tokens against the local keys with no network call.
//
//	go run ./examples/embed -addr 127.0.0.1:8090
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/api"
	"github.com/gatehouse-id/gatehouse/store"
	"github.com/gatehouse-id/gatehouse/tokens"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	storeURL := flag.String("store", "memory:", "store URL")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	h, cleanup, err := newHost(ctx, *storeURL, "http://"+*addr)
	if err != nil {
		log.Fatal(err)
	}
	defer cleanup()
	srv := &http.Server{Addr: *addr, Handler: h}
	go func() { <-ctx.Done(); _ = srv.Shutdown(context.Background()) }()
	log.Printf("host listening on %s", *addr)
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}

// newHost assembles the host's mux with Gatehouse mounted into it.
func newHost(ctx context.Context, storeURL, baseURL string) (http.Handler, func(), error) {
	st, err := store.Open(ctx, storeURL)
	if err != nil {
		return nil, nil, err
	}
	svc, err := identity.NewService(identity.Options{Store: st, AccountDomain: "host"})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	tok, err := tokens.New(tokens.Options{Identity: svc, BaseURL: baseURL})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	cryptr, err := api.New(api.Options{Service: svc, Tokens: api.Tokens(tok)})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	verifier, err := tok.NewVerifier(tokens.VerifierConfig{SkipAudience: true})
	if err != nil {
		st.Close()
		return nil, nil, err
	}

	mux := http.NewServeMux()
	// The host's own public route.
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "host home page")
	})
	// Gatehouse's management API and an organization's JWKS (production
	// issuer; a sandbox issuer would serve identity.Sandbox's under
	// /sandbox/t/{domain}/).
	mux.Handle("/api/v2/", cryptr)
	mux.Handle("GET /t/{domain}/.well-known/jwks", tok.JWKSHandler(identity.Production,
		func(r *http.Request) string { return r.PathValue("domain") }))
	// The host's own API, protected by Gatehouse access tokens.
	mux.Handle("GET /me", tokens.Middleware(verifier)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := tokens.ClaimsFrom(r.Context())
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"sub": c.Subject, "email": c.Email, "org": c.Tenant})
	})))
	return mux, func() { st.Close() }, nil
}
