package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

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
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("gatehouse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	str := func(p *string, name, env, def, usage string) {
		fs.StringVar(p, name, def, usage+" (env "+env+")")
	}
	str(&c.Addr, "addr", "GATEHOUSE_ADDR", "127.0.0.1:8080", "listen address")
	str(&c.Store, "store", "GATEHOUSE_STORE", "bolt:gatehouse.db", "store URL: bolt:PATH, memory:, postgres://...")
	str(&c.BaseURL, "base-url", "GATEHOUSE_BASE_URL", "", "public base URL used in issuers, links and SAML metadata (default http://ADDR)")
	str(&c.MasterKey, "master-key", "GATEHOUSE_MASTER_KEY", "", "bootstrap master credential ID:SECRET (default: generated once and printed once)")
	str(&c.MasterEnv, "master-env", "GATEHOUSE_MASTER_ENV", "production", "environment of the bootstrap master credential: production or sandbox")
	str(&c.MonitoringToken, "monitoring-token", "GATEHOUSE_MONITORING_TOKEN", "", "Crafter monitoring token (default: generated once and printed once)")
	str(&c.MailDir, "mail-dir", "GATEHOUSE_MAIL_DIR", "", "development mailer: write each message as an .eml file in this directory")
	str(&c.MailFrom, "mail-from", "GATEHOUSE_MAIL_FROM", "noreply@gatehouse.invalid", "sender address of outgoing mail")
	str(&c.SMTPHost, "smtp-host", "GATEHOUSE_SMTP_HOST", "", "SMTP server host (when no -mail-dir)")
	fs.IntVar(&c.SMTPPort, "smtp-port", 587, "SMTP server port (env GATEHOUSE_SMTP_PORT)")
	str(&c.SMTPUsername, "smtp-username", "GATEHOUSE_SMTP_USERNAME", "", "SMTP user name")
	str(&c.SMTPPassword, "smtp-password", "GATEHOUSE_SMTP_PASSWORD", "", "SMTP password")
	str(&c.AccountDomain, "account-domain", "GATEHOUSE_ACCOUNT_DOMAIN", "gatehouse", "domain of the account that manages the organizations (issuer of management tokens)")
	str(&c.KeyEncryptionKey, "key-encryption-key", "GATEHOUSE_KEY_ENCRYPTION_KEY", "", "base64 32-byte key that seals secrets at rest (access-token ids, persistent logins, signing and SAML keys); default: the file PATH.kek beside a bolt store, created on first start")
	str(&c.KeyEncryptionKeyFile, "key-encryption-key-file", "GATEHOUSE_KEY_ENCRYPTION_KEY_FILE", "", "file holding the base64 key-encryption key, created (mode 0600) if missing")
	str(&c.MetricsAddr, "metrics-addr", "GATEHOUSE_METRICS_ADDR", "", "serve Prometheus metrics at /metrics on this address (host:port; off when empty)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "how long graceful shutdown waits for requests")
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
		env := "GATEHOUSE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(env); v != "" {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", env, err))
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
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
