package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-id/gatehouse"
	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/mail"
	"github.com/gatehouse-id/gatehouse/profile"
	"github.com/gatehouse-id/gatehouse/store"
	"github.com/gatehouse-id/gatehouse/store/bolt"
)

// app is the assembled server: the store, Gatehouse over it (every face,
// see package gatehouse) and the server's own routes (/healthz, /readyz).
type app struct {
	cfg   *config
	log   *slog.Logger
	store identity.Store
	gh    *gatehouse.Gatehouse
	// envs are the identity services of both environments (gh's).
	envs map[identity.Environment]*identity.Service
	// crafter is the Crafter Profile face (gh's).
	crafter *profile.Service
	// mux holds the server's own routes, served at the root whatever the
	// base URL's path; every other request goes to Gatehouse.
	mux    *http.ServeMux
	closer []func() error
	// metrics, when -metrics-addr is set, counts requests, sign-ins,
	// tokens, store transactions and mails; nil otherwise.
	metrics *metrics
}

func build(ctx context.Context, cfg *config, logger *slog.Logger, stdout io.Writer) (*app, error) {
	st, err := store.Open(ctx, cfg.Store, store.WithBolt(bolt.WithLogger(logger)))
	if err != nil {
		switch {
		case errors.Is(err, identity.ErrStoreLocked):
			return nil, fmt.Errorf("store %s is in use by another process (is another gatehouse running?): %w", redactStoreURL(cfg.Store), err)
		case errors.Is(err, identity.ErrSchemaTooNew):
			return nil, fmt.Errorf("store %s was written by a newer Gatehouse; upgrade this binary: %w", redactStoreURL(cfg.Store), err)
		}
		return nil, fmt.Errorf("cannot open store %s: %w", redactStoreURL(cfg.Store), err)
	}
	a := &app{cfg: cfg, log: logger, store: st, mux: http.NewServeMux(), closer: []func() error{st.Close}}
	if cfg.MetricsAddr != "" {
		if a.metrics, err = newMetrics(prometheus.NewRegistry()); err != nil {
			a.Close()
			return nil, fmt.Errorf("metrics: %w", err)
		}
		st = timedStore{Store: st, m: a.metrics}
		a.store = st
	}
	kek, err := resolveKEK(cfg, logger)
	if err != nil {
		a.Close()
		return nil, err
	}
	env, _ := identity.ParseEnvironment(cfg.MasterEnv)
	opts := gatehouse.Options{Store: st, BaseURL: cfg.BaseURL, KeyEncryptionKey: kek.key,
		// The example server replaces Cryptr for existing front ends: it
		// also serves Cryptr's URLs outside the issuer tree.
		Serve:  gatehouse.DefaultFaces | gatehouse.LegacyRootURLs,
		Mailer: a.mailer(), MailFrom: cfg.MailFrom, Logger: logger, AccountDomain: cfg.AccountDomain,
		// Development (no SMTP: the -mail-dir or log mailer): the log shows
		// each onboarding setup link, so the portal is one click away.
		LogSSOSetupLinks: cfg.SMTPHost == "", Version: version, CrafterDefaultTenant: env}
	if cfg.Admin {
		opts.Serve |= gatehouse.Console
	}
	if a.metrics != nil {
		opts.RouteMiddleware = a.metrics.instrument
	}
	gh, err := gatehouse.New(ctx, opts)
	if err != nil {
		a.Close()
		if errors.Is(err, identity.ErrKeyEncryptionKey) {
			from := "-key-encryption-key"
			if kek.file != "" {
				from = "the key file " + kek.file
			}
			if kek.created {
				// A key made by this start for a store sealed with
				// another one is useless: do not leave it behind.
				_ = os.Remove(kek.file)
				from = "a new key (no key file was found)"
			}
			return nil, fmt.Errorf("store %s: wrong key-encryption key from %s: %w", redactStoreURL(cfg.Store), from, err)
		}
		return nil, err
	}
	a.gh, a.crafter = gh, gh.Profile()
	a.closer = append(a.closer, gh.Close)
	a.envs = map[identity.Environment]*identity.Service{identity.Production: gh.Production(), identity.Sandbox: gh.Sandbox()}
	if a.metrics != nil {
		// The sandbox service shares production's hooks.
		gh.Production().OnEvent(a.metrics.observeEvent)
	}
	if err := a.bootstrap(ctx, stdout); err != nil {
		a.Close()
		return nil, err
	}
	if cfg.Admin {
		// While the console has no owner, a new one-time link that
		// creates the first one is printed at every start.
		if err := gh.Console().PrintSetup(ctx, stdout); err != nil {
			a.Close()
			return nil, fmt.Errorf("admin console: %w", err)
		}
	}
	a.mux.HandleFunc("GET /healthz", a.healthz)
	a.mux.HandleFunc("GET /readyz", a.readyz)
	return a, nil
}

// Handler returns the root handler with panic recovery: the server's own
// routes, and Gatehouse for everything else (under the base URL's path).
func (a *app) Handler() http.Handler {
	own := http.Handler(a.mux)
	if a.metrics != nil {
		own = a.metrics.instrument(own)
	}
	var gh http.Handler = http.NotFoundHandler()
	if a.gh != nil {
		gh = a.gh.Handler()
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Only a route of the server's own goes to its mux: the mux would
		// redirect paths that are not canonical, which Gatehouse answers
		// in each face's format.
		if _, pattern := a.mux.Handler(r); pattern != "" {
			own.ServeHTTP(w, r)
			return
		}
		gh.ServeHTTP(w, r)
	})
	var trusted []netip.Prefix
	if a.cfg != nil {
		trusted = a.cfg.trusted
	}
	return httpx.Recover(a.log, "panic serving request", gatehouse.TrustProxies(trusted, h), writeInternalError)
}

// MetricsHandler serves the Prometheus metrics, or is nil when
// -metrics-addr is not set.
func (a *app) MetricsHandler() http.Handler {
	if a.metrics == nil {
		return nil
	}
	return a.metrics.Handler()
}

// Start launches background work (the expiry sweeper) until ctx is done.
func (a *app) Start(ctx context.Context) { a.gh.Start(ctx) }

// Close releases what build opened, in reverse order.
func (a *app) Close() error {
	var errs []error
	for i := len(a.closer) - 1; i >= 0; i-- {
		errs = append(errs, a.closer[i]())
	}
	a.closer = nil
	return errors.Join(errs...)
}

// mailer is the development mailer (-mail-dir), else SMTP (-smtp-host),
// else a mailer that only logs.
func (a *app) mailer() mail.Mailer {
	var m mail.Mailer = mail.LogMailer{Logger: a.log}
	switch {
	case a.cfg.MailDir != "":
		m = &mail.DirMailer{Dir: a.cfg.MailDir}
	case a.cfg.SMTPHost != "":
		m = &mail.SMTPMailer{Addr: net.JoinHostPort(a.cfg.SMTPHost, strconv.Itoa(a.cfg.SMTPPort)),
			Username: a.cfg.SMTPUsername, Password: a.cfg.SMTPPassword}
	}
	if a.metrics != nil {
		m = countedMailer{Mailer: m, m: a.metrics}
	}
	return m
}

func (a *app) healthz(w http.ResponseWriter, r *http.Request) {
	err := a.store.View(r.Context(), func(tx identity.ReadTx) error {
		_, err := tx.Get([]byte("m\x00healthz"))
		if errors.Is(err, identity.ErrNotFound) {
			return nil
		}
		return err
	})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "unavailable"})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok"})
}

// readyTimeout bounds the store check of /readyz: a store that does not
// answer a read within it is not ready.
const readyTimeout = 2 * time.Second

// readyz answers whether the server can serve requests now: the store
// answers a read transaction within readyTimeout. It is 200
// {"status":"ready"} or 503 {"status":"unavailable"}, for a load
// balancer's or an orchestrator's readiness probe.
func (a *app) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	err := a.store.View(ctx, func(tx identity.ReadTx) error {
		_, err := tx.Get([]byte("m\x00readyz"))
		if errors.Is(err, identity.ErrNotFound) {
			return nil
		}
		return err
	})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		a.log.Warn("not ready: the store does not answer", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "unavailable"})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"status": "ready"})
}

// writeInternalError is the answer to a request whose handler panicked
// outside the faces (which answer in their own format).
func writeInternalError(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, `{"error":"internal_error"}`, http.StatusInternalServerError)
}

// redactStoreURL hides a password in a store URL before it is logged.
func redactStoreURL(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable store URL)"
	}
	return u.Redacted()
}
