// Command client is a small relying-party web app that signs in through a
// running Gatehouse (or any OpenID Connect provider) with the authorization
// code flow, PKCE (S256), state and nonce, shows the ID token's claims, and
// signs out through the provider's end-session endpoint.
//
//	go run ./examples/client -issuer http://127.0.0.1:8080/t/ORG -client-id ID
//
// Register the application with the redirect URL (default
// http://127.0.0.1:8081/callback) and the logout URL beside it
// (http://127.0.0.1:8081/signed-out). Without -client-secret it is a public
// client. Every flag has an environment variable: GATEHOUSE_CLIENT_ISSUER,
// GATEHOUSE_CLIENT_ID, GATEHOUSE_CLIENT_SECRET, GATEHOUSE_CLIENT_ADDR,
// GATEHOUSE_CLIENT_REDIRECT_URL. `go run ./examples/server -demo` serves
// this app in-process with an application registered for it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gatehouse-id/gatehouse/examples/client/rp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

// run serves the app until ctx is done. The start URL goes to stdout.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	issuer := fs.String("issuer", "", "issuer URL of the provider, e.g. http://127.0.0.1:8080/t/ORG (env GATEHOUSE_CLIENT_ISSUER)")
	clientID := fs.String("client-id", "", "client_id of the application (env GATEHOUSE_CLIENT_ID)")
	secret := fs.String("client-secret", "", "client secret; empty for a public client (env GATEHOUSE_CLIENT_SECRET)")
	addr := fs.String("addr", "127.0.0.1:8081", "listen address (env GATEHOUSE_CLIENT_ADDR)")
	redirect := fs.String("redirect-url", "", "redirect URL registered for the application (default http://ADDR/callback) (env GATEHOUSE_CLIENT_REDIRECT_URL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Each flag's environment variable; a flag on the command line wins.
	envOf := map[string]string{"issuer": "GATEHOUSE_CLIENT_ISSUER", "client-id": "GATEHOUSE_CLIENT_ID",
		"client-secret": "GATEHOUSE_CLIENT_SECRET", "addr": "GATEHOUSE_CLIENT_ADDR", "redirect-url": "GATEHOUSE_CLIENT_REDIRECT_URL"}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(envOf[f.Name]); v != "" && !set[f.Name] {
			_ = f.Value.Set(v)
		}
	})
	if *redirect == "" {
		*redirect = "http://" + *addr + "/callback"
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	app, err := rp.New(rp.Config{Issuer: *issuer, ClientID: *clientID, ClientSecret: *secret, RedirectURL: *redirect, Logger: logger})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", *addr, err)
	}
	srv := &http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "Open %s to sign in.\n", app.StartURL())
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
