package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse"
	"github.com/gatehouse-id/gatehouse/internal/seal"
)

// config is the example server's configuration, from flags and their
// GATEHOUSE_* environment equivalents (a flag given on the command line wins).
type config struct {
	Addr                 string
	Store                string
	BaseURL              string
	MasterKey            string
	MasterEnv            string
	MonitoringToken      string
	MailDir              string
	MailFrom             string
	SMTPHost             string
	SMTPPort             int
	SMTPUsername         string
	SMTPPassword         string
	AccountDomain        string
	KeyEncryptionKey     string
	KeyEncryptionKeyFile string
	ShutdownTimeout      time.Duration
	// MetricsAddr, when set, serves Prometheus metrics at /metrics on a
	// listener of its own.
	MetricsAddr string
	// Demo seeds an organization, a user and the example client and serves
	// that client on DemoClientAddr (see demo.go).
	Demo           bool
	DemoClientAddr string
	// Admin serves the admin console at /admin/ under the base path (the
	// root package's Console face).
	Admin bool
	// TrustedProxies lists the reverse proxies whose X-Forwarded-For
	// names the client (gatehouse.TrustProxies); trusted is its parse.
	TrustedProxies string
	trusted        []netip.Prefix
}

// envName is the GATEHOUSE_* environment variable of a flag: -mail-dir is
// GATEHOUSE_MAIL_DIR.
func envName(flagName string) string {
	return "GATEHOUSE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// newFlagSet declares every flag of the server into c. Each flag's usage
// names its environment variable (envName); parseConfig reads them all.
func newFlagSet(c *config, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("gatehouse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	str := func(p *string, name, def, usage string) {
		fs.StringVar(p, name, def, usage+" (env "+envName(name)+")")
	}
	str(&c.Addr, "addr", "127.0.0.1:8080", "listen address")
	str(&c.Store, "store", "bolt:gatehouse.db", "store URL: bolt:PATH, memory:, postgres://...")
	str(&c.BaseURL, "base-url", "", "public base URL used in issuers, links and SAML metadata; with a path, Gatehouse is served under it (default http://ADDR)")
	str(&c.MasterKey, "master-key", "", "bootstrap master credential ID:SECRET (default: generated once and printed once)")
	str(&c.MasterEnv, "master-env", "production", "environment of the bootstrap master credential: production or sandbox")
	str(&c.MonitoringToken, "monitoring-token", "", "Crafter monitoring token (default: generated once and printed once)")
	str(&c.MailDir, "mail-dir", "", "development mailer: write each message as an .eml file in this directory")
	str(&c.MailFrom, "mail-from", "noreply@gatehouse.invalid", "sender address of outgoing mail")
	str(&c.SMTPHost, "smtp-host", "", "SMTP server host (when no -mail-dir)")
	fs.IntVar(&c.SMTPPort, "smtp-port", 587, "SMTP server port (env "+envName("smtp-port")+")")
	str(&c.SMTPUsername, "smtp-username", "", "SMTP user name")
	str(&c.SMTPPassword, "smtp-password", "", "SMTP password")
	str(&c.AccountDomain, "account-domain", "gatehouse", "domain of the account that manages the organizations (issuer of management tokens)")
	str(&c.KeyEncryptionKey, "key-encryption-key", "", "base64 32-byte key that seals secrets at rest (access-token ids, persistent logins, signing and SAML keys); default: the file PATH.kek beside a bolt store, created on first start")
	str(&c.KeyEncryptionKeyFile, "key-encryption-key-file", "", "file holding the base64 key-encryption key, created (mode 0600) if missing")
	str(&c.MetricsAddr, "metrics-addr", "", "serve Prometheus metrics at /metrics on this address (host:port; off when empty)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "how long graceful shutdown waits for requests (env "+envName("shutdown-timeout")+")")
	fs.BoolVar(&c.Demo, "demo", false, "demo: an in-memory store (unless -store is given) with an organization, a user with a printed password, a temporary mail directory and the example client served on -demo-client-addr; prints one URL to open (env "+envName("demo")+")")
	fs.BoolVar(&c.Admin, "admin", false, "serve the admin console at /admin/; prints a one-time link creating its first owner while it has none (env "+envName("admin")+")")
	str(&c.DemoClientAddr, "demo-client-addr", "127.0.0.1:8081", "with -demo, where the example client (examples/client) is served")
	str(&c.TrustedProxies, "trusted-proxies", "", "comma-separated addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For names the client, so that per-address limits count clients, not the proxy (off when empty)")
	return fs
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := newFlagSet(c, stderr)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		env := envName(f.Name)
		if v := getenv(env); v != "" {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", env, err))
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if c.Demo && !set["store"] && getenv("GATEHOUSE_STORE") == "" {
		c.Store = "memory:"
	}
	if c.BaseURL == "" {
		c.BaseURL = "http://" + c.Addr
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("-base-url %q must be an absolute http(s) URL", c.BaseURL)
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return nil, fmt.Errorf("-addr %q must be host:port: %w", c.Addr, err)
	}
	if c.Demo {
		if _, _, err := net.SplitHostPort(c.DemoClientAddr); err != nil {
			return nil, fmt.Errorf("-demo-client-addr %q must be host:port: %w", c.DemoClientAddr, err)
		}
		if c.DemoClientAddr == c.Addr {
			return nil, errors.New("-demo-client-addr must differ from -addr")
		}
	}
	trusted, err := gatehouse.ParseTrustedProxies(c.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("-trusted-proxies: %w", err)
	}
	c.trusted = trusted
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return nil, fmt.Errorf("-metrics-addr %q must be host:port: %w", c.MetricsAddr, err)
		}
	}
	if c.MasterKey != "" {
		id, secret, ok := strings.Cut(c.MasterKey, ":")
		if !ok || id == "" || len(secret) < 16 {
			return nil, errors.New("-master-key must be ID:SECRET with a secret of at least 16 characters")
		}
	}
	switch {
	case c.KeyEncryptionKey != "" && c.KeyEncryptionKeyFile != "":
		return nil, errors.New("give -key-encryption-key or -key-encryption-key-file, not both")
	case c.KeyEncryptionKey != "":
		if _, err := seal.ParseKey(c.KeyEncryptionKey); err != nil {
			return nil, errors.New("-key-encryption-key must be 32 bytes, base64-encoded")
		}
	}
	if c.MasterEnv != "production" && c.MasterEnv != "sandbox" {
		return nil, fmt.Errorf("-master-env must be production or sandbox, not %q", c.MasterEnv)
	}
	return c, nil
}
