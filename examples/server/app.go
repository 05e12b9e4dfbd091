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
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/api"
	"github.com/gatehouse-id/gatehouse/identity/gazetteer"
	"github.com/gatehouse-id/gatehouse/identity/password"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/mail"
	"github.com/gatehouse-id/gatehouse/profile"
	"github.com/gatehouse-id/gatehouse/sso"
	"github.com/gatehouse-id/gatehouse/sso/portal"
	"github.com/gatehouse-id/gatehouse/sso/ssoapi"
	"github.com/gatehouse-id/gatehouse/sso/ssooidc"
	"github.com/gatehouse-id/gatehouse/store"
	"github.com/gatehouse-id/gatehouse/tokens"
	"github.com/gatehouse-id/gatehouse/tokens/provider"
)

// app is the assembled server: the store, the identity services of both
// environments and every face's handler on one mux.
type app struct {
	cfg    *config
	log    *slog.Logger
	store  identity.Store
	envs   map[identity.Environment]*identity.Service
	tokens *tokens.Service
	// kek seals secrets at rest: access-token ids and persistent-login
	// tokens (identity), token signing keys, SAML SP keys.
	kek []byte
	// crafter is the Crafter Profile face, which also sweeps expired records.
	crafter *profile.Service
	mux     *http.ServeMux
	// apiFaces are the faces under /api/ by path prefix: they answer the
	// paths the mux would redirect (apiPaths).
	apiFaces map[string]http.Handler
	closer   []func() error
	// metrics, when -metrics-addr is set, counts requests, sign-ins,
	// tokens, store transactions and mails; nil otherwise.
	metrics *metrics
}

func build(ctx context.Context, cfg *config, logger *slog.Logger, stdout io.Writer) (*app, error) {
	st, err := store.Open(ctx, cfg.Store)
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
	places, err := gazetteer.New()
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("gazetteer: %w", err)
	}
	kek, err := resolveKEK(cfg, logger)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.kek = kek.key
	base, err := identity.NewService(identity.Options{Store: st, Environment: identity.Production, Places: places,
		Hasher: password.New(), Logger: logger, AccountDomain: cfg.AccountDomain, KeyEncryptionKey: kek.key})
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
	sandbox, _ := base.ForEnvironment(identity.Sandbox)
	a.envs = map[identity.Environment]*identity.Service{identity.Production: base, identity.Sandbox: sandbox}
	if a.metrics != nil {
		// The sandbox service shares base's hooks.
		base.OnEvent(a.metrics.observeEvent)
	}
	if err := a.bootstrap(ctx, stdout); err != nil {
		a.Close()
		return nil, err
	}
	a.tokens, err = tokens.New(tokens.Options{Identity: base, BaseURL: cfg.BaseURL, KeyEncryptionKey: a.kek})
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("tokens: %w", err)
	}
	if err := a.routes(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// Handler returns the root handler with panic recovery.
func (a *app) Handler() http.Handler {
	// apiPaths keeps the mux's redirects away from /api/; the Crafter face
	// also serves its Java client's base path (/crafter-profile/api/1), so
	// it takes both its base paths ahead of everything (Intercept).
	h := apiPaths(a.mux, a.apiFaces, http.HandlerFunc(apiNotFound))
	if a.crafter != nil {
		h = a.crafter.Intercept(h)
	}
	h = httpx.Recover(a.log, "panic serving request", h, writeInternalError)
	if a.metrics != nil {
		h = a.metrics.instrument(h)
	}
	return h
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
func (a *app) Start(ctx context.Context) {
	go func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				// The Crafter face's sweep covers the store's expiry index
				// (tickets, tokens, codes, replay cache, rate limits) and
				// its orphaned attachment blobs.
				n, err := a.crafter.Sweep(ctx)
				if err != nil && ctx.Err() == nil {
					a.log.Warn("expiry sweep failed", "err", err)
				} else if n > 0 {
					a.log.Debug("expired records swept", "count", n)
				}
			}
		}
	}()
}

// Close releases what build opened, in reverse order.
func (a *app) Close() error {
	var errs []error
	for i := len(a.closer) - 1; i >= 0; i-- {
		errs = append(errs, a.closer[i]())
	}
	a.closer = nil
	return errors.Join(errs...)
}

func (a *app) routes(ctx context.Context) error {
	a.mux.HandleFunc("GET /healthz", a.healthz)
	a.mux.HandleFunc("GET /readyz", a.readyz)
	// Enterprise SSO and the provider refer to each other: the bridge is
	// bound once both exist.
	bridge := ssooidc.NewBridge(a.cfg.BaseURL)
	ssoSvc, err := sso.New(sso.Options{Identity: a.envs[identity.Production], BaseURL: a.cfg.BaseURL,
		Authorizations: bridge, Mailer: a.mailer(), MailFrom: a.cfg.MailFrom, Logger: a.log,
		KeyEncryptionKey: a.kek,
		// Development (no SMTP: the -mail-dir or log mailer): the log shows
		// each onboarding setup link, so the portal is one click away.
		LogSetupLinks: a.cfg.SMTPHost == ""})
	if err != nil {
		return fmt.Errorf("sso: %w", err)
	}
	prov, err := provider.New(provider.Options{Identity: a.envs[identity.Production], Tokens: a.tokens,
		Mailer: a.mailer(), MailFrom: a.cfg.MailFrom, Logger: a.log, SSORouter: ssooidc.Router(ssoSvc),
		SSOLogout: ssooidc.Logout(ssoSvc)})
	if err != nil {
		return fmt.Errorf("oidc provider: %w", err)
	}
	bridge.Bind(prov)
	a.closer = append(a.closer, prov.Close)
	setup, err := portal.New(ssoSvc)
	if err != nil {
		return fmt.Errorf("sso portal: %w", err)
	}
	a.mux.Handle("/enterprise/", ssoSvc.Handler())
	a.mux.Handle("/enterprise-setup/", setup)
	cryptr, err := api.New(api.Options{Service: a.envs[identity.Production], TokenService: a.tokens, Logger: a.log,
		Routes: []api.RouteGroup{prov.APIRoutes(), ssoapi.Routes(ssoSvc)}})
	if err != nil {
		return fmt.Errorf("cryptr face: %w", err)
	}
	a.mux.Handle("/api/v2/", cryptr)
	crafter, err := profile.New(profile.Options{Identity: a.envs[identity.Production], Mailer: a.mailer(),
		MailFrom: a.cfg.MailFrom, MonitoringAuth: a.monitoringTokenOK, Version: version, Logger: a.log})
	if err != nil {
		return fmt.Errorf("crafter face: %w", err)
	}
	a.crafter = crafter
	// Deliver queued mail (bounded) before the store closes.
	a.closer = append(a.closer, func() error {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return crafter.Shutdown(sctx)
	})
	env, _ := identity.ParseEnvironment(a.cfg.MasterEnv)
	if created, err := crafter.EnsureDefaultTenant(ctx, env); err != nil {
		return fmt.Errorf("default tenant: %w", err)
	} else if created {
		a.log.Info("created the default tenant", "env", env)
	}
	a.mux.Handle(profile.BasePath+"/", crafter.Handler())
	a.mux.Handle(profile.JavaClientBasePath+"/", crafter.Handler())
	// The provider's JSON endpoints answer a method they do not serve with
	// an OAuth-style JSON 405, not the mux's plain-text one.
	allowed := map[string][]string{}
	for _, pattern := range prov.Patterns() {
		a.mux.Handle(pattern, prov)
		if method, path, ok := strings.Cut(pattern, " "); ok && jsonEndpoint(path) {
			allowed[path] = append(allowed[path], method)
		}
	}
	for path, methods := range allowed {
		a.mux.Handle(path, methodNotAllowed(methods))
	}
	// Unknown URLs in the API namespace (/api/v1 era-1 URLs, typos) are
	// JSON 404s, like the faces' own.
	a.mux.HandleFunc("/api/", apiNotFound)
	a.apiFaces = map[string]http.Handler{"/api/v2": cryptr, profile.BasePath: crafter.Handler()}
	return nil
}

// jsonEndpoint reports whether a provider path is a JSON API (token,
// revocation, introspection, userinfo, keys, discovery, Cryptr's era-1 URLs)
// rather than a browser page.
func jsonEndpoint(path string) bool {
	if strings.HasSuffix(path, "/slo-after-revoke-token") { // a browser hop
		return false
	}
	return strings.HasPrefix(path, "/api/") || strings.Contains(path, "/oauth") ||
		strings.HasSuffix(path, "/userinfo") || strings.Contains(path, "/.well-known")
}

// methodNotAllowed answers 405 in the OAuth error format, with Allow.
func methodNotAllowed(methods []string) http.Handler {
	allow := append([]string(nil), methods...)
	if slices.Contains(allow, http.MethodGet) && !slices.Contains(allow, http.MethodHead) {
		allow = append(allow, http.MethodHead)
	}
	slices.Sort(allow)
	allowHeader := strings.Join(allow, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allowHeader)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusMethodNotAllowed)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request",
			"error_description": "method not allowed; use " + allowHeader})
	})
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
