// Command server is Gatehouse's example server and the project's main job:
// it opens a store, bootstraps its master credential, and serves every face
// (Cryptr /api/v2 and its OAuth endpoints with Cryptr's legacy root URLs,
// Crafter Profile /api/1, SSO, OIDC) from one process. It is a thin command
// over the root package gatehouse (see app.go): its own parts are the
// flags, the key-encryption key file, the bootstrap secrets, -demo,
// metrics and the probes. With a -base-url that has a path
// (http://127.0.0.1:8080/auth), Gatehouse is served under that path and
// /healthz and /readyz stay at the root.
//
//	go run ./examples/server -addr 127.0.0.1:8080 -store bolt:gatehouse.db
//
// With -demo (GATEHOUSE_DEMO) it seeds an organization, a user with a
// printed password and the example client (examples/client), serves that
// client in-process on -demo-client-addr, and prints one URL that opens the
// sign-in in a browser (see demo.go).
//
// Every flag has a GATEHOUSE_* environment equivalent (-mail-dir is
// GATEHOUSE_MAIL_DIR). The server logs with log/slog, answers GET /healthz
// and GET /readyz (200 {"status":"ready"} when the store answers a read
// within 2 seconds, 503 otherwise), shuts down gracefully on SIGINT or
// SIGTERM, and exits non-zero with a clear message when it cannot start.
// With -metrics-addr (GATEHOUSE_METRICS_ADDR) it serves Prometheus metrics
// at GET /metrics on that separate address: requests by route pattern and
// status, sign-ins by method and outcome, tokens issued, store
// transaction latency and mails being sent.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// version is reported by the Crafter monitoring endpoint; release builds
// set it with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse:", err)
		os.Exit(1)
	}
}

// run starts the server and blocks until ctx is done, then shuts down.
// Bootstrap secrets are printed once on stdout; logs go to stderr.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	// Listen first: a busy port must not leave a bootstrapped store behind
	// whose generated secrets were printed by a run that then failed.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", cfg.Addr, err)
	}
	var demoLn net.Listener
	if cfg.Demo {
		if demoLn, err = net.Listen("tcp", cfg.DemoClientAddr); err != nil {
			ln.Close()
			return fmt.Errorf("-demo: cannot listen on %s for the example client: %w", cfg.DemoClientAddr, err)
		}
		defer demoLn.Close()
		if cfg.MailDir == "" {
			// Magic-link mail of the demo goes to a fresh temporary
			// directory, never into the source tree.
			if cfg.MailDir, err = os.MkdirTemp("", "gatehouse-demo-mail-"); err != nil {
				ln.Close()
				return fmt.Errorf("-demo: mail directory: %w", err)
			}
			defer os.RemoveAll(cfg.MailDir)
		}
	}
	app, err := build(ctx, cfg, logger, stdout)
	if err != nil {
		ln.Close()
		return err
	}
	defer app.Close()
	var dm *demo
	if cfg.Demo {
		if dm, err = app.seedDemo(ctx, cfg.DemoClientAddr, logger.With("component", "example-client")); err != nil {
			ln.Close()
			return err
		}
	}

	srv := &http.Server{
		Handler:           app.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 2)
	if mh := app.MetricsHandler(); mh != nil {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("cannot listen on %s (-metrics-addr): %w", cfg.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", mh)
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
			ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
		go func() {
			if err := msrv.Serve(mln); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("metrics listener: %w", err)
			}
		}()
		defer msrv.Close()
		logger.Info("metrics listening", "addr", mln.Addr().String())
	}
	// A request under a face's paths that net/http refuses before any
	// handler (a malformed escape in its path) gets that face's JSON 400.
	go func() { errc <- srv.Serve(app.gh.Listener(ln)) }()
	logger.Info("gatehouse listening", "addr", ln.Addr().String(), "base_url", cfg.BaseURL, "store", redactStoreURL(cfg.Store))
	logger.Info("rs256 signer", "rsa_signer", app.gh.Tokens().RSAImplementation())
	app.Start(ctx)
	if dm != nil {
		client := &http.Server{Handler: dm.client, ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
		go func() { _ = client.Serve(demoLn) }()
		defer client.Close()
		dm.print(stdout, cfg.MailDir)
	}

	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Requests still running after the timeout are cut off before the
		// store closes under them.
		_ = srv.Close()
		return fmt.Errorf("graceful shutdown: requests still running after %s were cut off: %w", cfg.ShutdownTimeout, err)
	}
	return nil
}
