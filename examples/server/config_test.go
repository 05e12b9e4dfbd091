package main

import (
	"flag"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/testkit"
)

// TestEveryFlagHasDocumentedEnv enumerates the server's flag set: every
// flag must name its GATEHOUSE_* variable in its usage, have a row with that
// variable in README's "Server flags" table, and take effect when only the
// variable is set. A new flag without a sample value below fails here.
func TestEveryFlagHasDocumentedEnv(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	// A value for each flag's variable and how to see it in the config.
	samples := map[string]struct {
		value string
		got   func(*config) string
	}{
		"addr":                    {"127.0.0.1:9191", func(c *config) string { return c.Addr }},
		"store":                   {"memory:", func(c *config) string { return c.Store }},
		"base-url":                {"https://id.example.com", func(c *config) string { return c.BaseURL }},
		"master-key":              {"env-id:0123456789abcdef0123", func(c *config) string { return c.MasterKey }},
		"master-env":              {"sandbox", func(c *config) string { return c.MasterEnv }},
		"monitoring-token":        {"mon-token-from-env", func(c *config) string { return c.MonitoringToken }},
		"mail-dir":                {"/var/mail/gh", func(c *config) string { return c.MailDir }},
		"mail-from":               {"id@example.com", func(c *config) string { return c.MailFrom }},
		"smtp-host":               {"smtp.example.com", func(c *config) string { return c.SMTPHost }},
		"smtp-port":               {"2525", func(c *config) string { return strconv.Itoa(c.SMTPPort) }},
		"smtp-username":           {"smtp-user", func(c *config) string { return c.SMTPUsername }},
		"smtp-password":           {"smtp-pass", func(c *config) string { return c.SMTPPassword }},
		"account-domain":          {"acme-account", func(c *config) string { return c.AccountDomain }},
		"key-encryption-key":      {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", func(c *config) string { return c.KeyEncryptionKey }},
		"key-encryption-key-file": {"/etc/gh.kek", func(c *config) string { return c.KeyEncryptionKeyFile }},
		"metrics-addr":            {"127.0.0.1:9100", func(c *config) string { return c.MetricsAddr }},
		"shutdown-timeout":        {"42s", func(c *config) string { return c.ShutdownTimeout.String() }},
		"demo":                    {"true", func(c *config) string { return strconv.FormatBool(c.Demo) }},
		"demo-client-addr":        {"127.0.0.1:9292", func(c *config) string { return c.DemoClientAddr }},
		"admin":                   {"true", func(c *config) string { return strconv.FormatBool(c.Admin) }},
		"trusted-proxies":         {"10.0.0.0/8,192.0.2.7", func(c *config) string { return c.TrustedProxies }},
	}
	n := 0
	newFlagSet(&config{}, io.Discard).VisitAll(func(f *flag.Flag) {
		n++
		env := envName(f.Name)
		t.Run(f.Name, func(t *testing.T) {
			if !strings.Contains(f.Usage, "(env "+env+")") {
				t.Errorf("usage of -%s does not name %s: %q", f.Name, env, f.Usage)
			}
			if row := "| `-" + f.Name + "` | `" + env + "` |"; !strings.Contains(string(readme), row) {
				t.Errorf("README's flag table has no row %q", row)
			}
			s, ok := samples[f.Name]
			if !ok {
				t.Fatalf("no sample value for -%s: add one to this test", f.Name)
			}
			vars := map[string]string{env: s.value}
			if f.Name == "key-encryption-key" {
				// Only one of the two key flags may be given.
				vars[envName("key-encryption-key-file")] = ""
			}
			c, err := parseConfig(nil, func(k string) string { return vars[k] }, io.Discard)
			if err != nil {
				t.Fatalf("%s=%s: %v", env, s.value, err)
			}
			if got := s.got(c); got != s.value {
				t.Errorf("%s=%s gave %q", env, s.value, got)
			}
		})
	})
	if n != len(samples) {
		t.Errorf("%d flags, %d samples: remove samples of flags that are gone", n, len(samples))
	}
}

// TestMasterKeyOnExistingStoreIsLogged: a -master-key given to a store that
// already has a master credential is installed with an info line naming
// the credential id and never its secret; the generated one is logged the
// same way (its secret goes to stdout only).
func TestMasterKeyOnExistingStoreIsLogged(t *testing.T) {
	db := filepath.Join(t.TempDir(), "g.db")
	logs := &testkit.Buffer{}
	_, _, stop := startServerLogs(t, logs, "-store", "bolt:"+db)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "master credential generated") {
		t.Fatalf("generation not logged: %s", logs)
	}
	const secret = "added-later-secret-0123456789"
	logs2 := &testkit.Buffer{}
	_, out, stop2 := startServerLogs(t, logs2, "-store", "bolt:"+db, "-master-key", "ops-admin:"+secret)
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(logs2.String(), "\n") {
		if strings.Contains(l, "master credential installed") {
			line = l
		}
	}
	if !strings.Contains(line, "level=INFO") || !strings.Contains(line, "credential_id=ops-admin") ||
		!strings.Contains(line, "existing_store=true") {
		t.Fatalf("adding a master key on an existing store was not logged: %q\n%s", line, logs2)
	}
	if strings.Contains(logs2.String(), secret) || strings.Contains(out.String(), secret) {
		t.Fatal("the master secret was written out")
	}
	// The same key again changes nothing and logs nothing.
	logs3 := &testkit.Buffer{}
	_, _, stop3 := startServerLogs(t, logs3, "-store", "bolt:"+db, "-master-key", "ops-admin:"+secret)
	_ = stop3()
	if strings.Contains(logs3.String(), "master credential") {
		t.Fatalf("an unchanged master key was logged again: %s", logs3)
	}
}

// TestDevelopmentServerLogsSetupLink: without SMTP (the -mail-dir
// development mailer) the server logs each SSO onboarding setup link, so
// the portal can be opened without decoding the mail.
func TestDevelopmentServerLogsSetupLink(t *testing.T) {
	const masterID, masterSecret = "dev-admin", "dev-admin-secret-0123456789"
	logs := &testkit.Buffer{}
	base, _, _ := startServerLogs(t, logs, "-store", "memory:", "-master-key", masterID+":"+masterSecret,
		"-mail-dir", t.TempDir())
	c := newClient(t, base)
	tok := c.json(200, "POST", "/api/v2/oauth/token", `{"grant_type":"client_credentials","client_id":"`+masterID+
		`","client_secret":"`+masterSecret+`"}`)
	auth := []string{"Authorization", "Bearer " + tok["access_token"].(string)}
	org := c.json(201, "POST", "/api/v2/organizations", `{"name":"Dev Co","allowed_email_domains":["dev.test"]}`, auth...)
	app := c.json(201, "POST", "/api/v2/org/"+org["domain"].(string)+"/applications",
		`{"name":"web","application_type":"regular_web","allowed_redirect_urls":["https://web.dev.test/cb"]}`, auth...)
	c.json(201, "POST", "/api/v2/sso-connections", `{"organization_id":"`+org["id"].(string)+`","application_id":"`+
		app["client_id"].(string)+`","sso_admin_email":"it@dev.test","send_email":true}`, auth...)
	re := regexp.MustCompile(`setup_url=(` + regexp.QuoteMeta(base) + `/enterprise-setup/[A-Za-z0-9_-]{43})`)
	var link string
	for deadline := time.Now().Add(5 * time.Second); link == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(logs.String()); m != nil {
			link = m[1]
		}
	}
	if link == "" {
		t.Fatalf("no setup link in the development log:\n%s", logs)
	}
	if a := c.do("GET", link, "", ""); a.status != 200 {
		t.Fatalf("logged setup link: %d", a.status)
	}
}

// TestTrustedProxiesFlag: a bad -trusted-proxies stops the start with a
// clear message; a good one makes the server count the client the proxy
// names (a magic link's send limit is per client address).
func TestTrustedProxiesFlag(t *testing.T) {
	if _, err := parseConfig([]string{"-trusted-proxies", "10.0.0.0/8,proxy.example"}, noenv, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "-trusted-proxies") {
		t.Fatalf("bad value: %v", err)
	}
	c, err := parseConfig([]string{"-trusted-proxies", "192.0.2.0/24"}, noenv, io.Discard)
	if err != nil || len(c.trusted) != 1 {
		t.Fatalf("good value: %+v, %v", c, err)
	}
}

// TestTrustedProxiesCountClients: behind a trusted proxy, the per-address
// limit of authorization requests counts each client the proxy names:
// one client exhausting its share leaves another's intact, and a client
// cannot dodge its own by writing X-Forwarded-For itself.
func TestTrustedProxiesCountClients(t *testing.T) {
	hx := newHarness(t, "memory:", "-trusted-proxies", "192.0.2.0/24")
	authz := "/t/" + hx.org + "/authorize?" + url.Values{"response_type": {"code"}, "client_id": {hx.spaID},
		"redirect_uri": {"https://spa.acme.test/cb"}, "scope": {"openid"}, "state": {"s"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}.Encode()
	from := func(xff string) int {
		return hx.doFrom("192.0.2.10", "GET", authz, "", nil, "X-Forwarded-For", xff).Code
	}
	n := 0
	for ; n < 1000 && from("198.51.100.1") == 200; n++ {
	}
	if n == 0 || n == 1000 {
		t.Fatalf("the first client's limit: %d requests", n)
	}
	if code := from("198.51.100.1"); code != 429 {
		t.Fatalf("over its limit: %d", code)
	}
	// A forged entry left of the proxy's is not believed.
	if code := from("198.51.100.77, 198.51.100.1"); code != 429 {
		t.Fatalf("a spoofed X-Forwarded-For dodged the limit: %d", code)
	}
	if code := from("198.51.100.2"); code != 200 {
		t.Fatalf("another client behind the same proxy: %d", code)
	}
	// From an untrusted peer the header is not read at all.
	if code := hx.doFrom("203.0.113.5", "GET", authz, "", nil, "X-Forwarded-For", "198.51.100.3").Code; code != 200 {
		t.Fatalf("an untrusted peer: %d", code)
	}
}
