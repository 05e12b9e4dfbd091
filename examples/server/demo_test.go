package main

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/testkit"
)

var (
	reDemoURL      = regexp.MustCompile(`Open this URL in a browser to sign in:\n\s+(\S+)`)
	reDemoPassword = regexp.MustCompile(`password\s+(\S+)`)
	reDemoUser     = regexp.MustCompile(`user\s+(\S+)`)
	reDemoMail     = regexp.MustCompile(`magic links\s+written as \.eml files to (\S+)`)
)

// startDemo runs the server with -demo on free ports and returns what it
// printed once the URL is out.
func startDemo(t *testing.T, extra ...string) (out string, logs *testkit.Buffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &testkit.Buffer{}, &testkit.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-demo", "-addr", freeAddr(t), "-demo-client-addr", freeAddr(t)}, extra...), noenv, stdout, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	for deadline := time.Now().Add(30 * time.Second); !reDemoURL.MatchString(stdout.String()); time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("server exited: %v\n%s\n%s", err, stdout, stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no URL printed:\n%s\n%s", stdout, stderr)
		}
	}
	return stdout.String(), stderr
}

// TestDemoSignsInAndOutThroughTheExampleClient drives the printed URL as a
// browser with a cookie jar: the example client (examples/client, served
// in-process) sends it to the hosted page, the printed password signs the
// printed user in (code + PKCE + state + nonce), the claims page shows the
// ID token, a replayed callback is refused, and sign-out goes through
// end-session back to the client's registered logout page and really ends
// the provider's session. No token or password reaches the logs.
func TestDemoSignsInAndOutThroughTheExampleClient(t *testing.T) {
	out, logs := startDemo(t)
	start := reDemoURL.FindStringSubmatch(out)[1]
	password := reDemoPassword.FindStringSubmatch(out)[1]
	user := reDemoUser.FindStringSubmatch(out)[1]
	mailDir := reDemoMail.FindStringSubmatch(out)[1]

	// The mail directory is a temporary one, outside the source tree.
	repo, _ := filepath.Abs("../..")
	if rel, err := filepath.Rel(repo, mailDir); err == nil && !strings.HasPrefix(rel, "..") {
		t.Errorf("mail directory %s is inside the source tree %s", mailDir, repo)
	}
	if fi, err := os.Stat(mailDir); err != nil || !fi.IsDir() {
		t.Errorf("mail directory %s: %v", mailDir, err)
	}

	jar, _ := cookiejar.New(nil)
	var callbacks []string
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if r.URL.Path == "/callback" {
			callbacks = append(callbacks, r.URL.String())
		}
		return nil
	}}
	get := func(u string) (*http.Response, string) {
		t.Helper()
		resp, err := browser.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	resp, page := get(start)
	action, csrf, req := reFormAction.FindStringSubmatch(page), fuzzCSRF.FindStringSubmatch(page), fuzzRequest.FindStringSubmatch(page)
	if resp.StatusCode != 200 || action == nil || csrf == nil || req == nil || !strings.Contains(resp.Request.URL.Path, "/authorize") {
		t.Fatalf("start URL did not open the hosted sign-in page: %d %s", resp.StatusCode, resp.Request.URL)
	}
	authz := resp.Request.URL.Query()
	if authz.Get("code_challenge_method") != "S256" || authz.Get("code_challenge") == "" || authz.Get("state") == "" || authz.Get("nonce") == "" {
		t.Fatalf("authorize request lacks PKCE, state or nonce: %s", resp.Request.URL)
	}
	target, _ := resp.Request.URL.Parse(html.UnescapeString(action[1]))
	post, err := browser.PostForm(target.String(), url.Values{"csrf_token": {html.UnescapeString(csrf[1])},
		"request": {html.UnescapeString(req[1])}, "action": {"password"}, "email": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(post.Body)
	post.Body.Close()
	claims := string(b)
	if post.StatusCode != 200 || !strings.Contains(claims, `id="claims"`) || !strings.Contains(claims, user) ||
		!strings.Contains(claims, "&#34;nonce&#34;") {
		t.Fatalf("no claims page after sign-in: %d %s\n%s", post.StatusCode, post.Request.URL, claims)
	}

	// A replayed callback (the code and state again) is refused.
	if len(callbacks) != 1 {
		t.Fatalf("callbacks: %v", callbacks)
	}
	if resp, _ := get(callbacks[0]); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("replayed callback: %d, want 400", resp.StatusCode)
	}
	// The replay did not sign the browser out of the client.
	if _, home := get(strings.TrimSuffix(start, "login")); !strings.Contains(home, `id="claims"`) {
		t.Errorf("home after replay: signed out")
	}

	out2, err := browser.PostForm(strings.TrimSuffix(start, "login")+"logout", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(out2.Body)
	out2.Body.Close()
	if out2.StatusCode != 200 || out2.Request.URL.Path != "/signed-out" || !strings.Contains(string(b), `id="signed-out"`) {
		t.Fatalf("sign-out did not come back to the client: %d %s\n%s", out2.StatusCode, out2.Request.URL, b)
	}
	if _, home := get(strings.TrimSuffix(start, "login")); strings.Contains(home, `id="claims"`) {
		t.Errorf("home still shows claims after sign-out")
	}
	// The provider's session ended too: the start URL asks for a password again.
	if resp, page := get(start); !strings.Contains(resp.Request.URL.Path, "/authorize") || !strings.Contains(page, `name="password"`) {
		t.Errorf("after end-session the provider signed the browser in silently: %d %s", resp.StatusCode, resp.Request.URL)
	}
	for _, secret := range []string{password, "eyJ"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the logs hold a secret (%.3s...):\n%s", secret, logs)
		}
	}
}

// TestDemoConfig: -demo (or GATEHOUSE_DEMO) chooses the in-memory store
// unless a store is given, and refuses a client address equal to -addr.
func TestDemoConfig(t *testing.T) {
	for _, tc := range []struct {
		name      string
		args      []string
		env       map[string]string
		wantStore string
		wantErr   bool
	}{
		{name: "flag", args: []string{"-demo"}, wantStore: "memory:"},
		{name: "env", env: map[string]string{"GATEHOUSE_DEMO": "true"}, wantStore: "memory:"},
		{name: "given store", args: []string{"-demo", "-store", "bolt:x.db"}, wantStore: "bolt:x.db"},
		{name: "store from env", args: []string{"-demo"}, env: map[string]string{"GATEHOUSE_STORE": "bolt:y.db"}, wantStore: "bolt:y.db"},
		{name: "no demo", wantStore: "bolt:gatehouse.db"},
		{name: "same address", args: []string{"-demo", "-addr", "127.0.0.1:9000", "-demo-client-addr", "127.0.0.1:9000"}, wantErr: true},
		{name: "bad client address", args: []string{"-demo", "-demo-client-addr", "nope"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			if tc.wantErr {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Store != tc.wantStore {
				t.Errorf("store %q, want %q", cfg.Store, tc.wantStore)
			}
		})
	}
}

// TestDemoReusesAGivenStore: a second -demo start on the same bolt store
// reuses the organization and user (with a new password) and registers the
// client once.
func TestDemoReusesAGivenStore(t *testing.T) {
	store := "bolt:" + filepath.Join(t.TempDir(), "demo.db")
	for i := range 2 {
		func() {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cfg, err := parseConfig([]string{"-demo", "-store", store}, noenv, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			a, err := build(ctx, cfg, slog.New(slog.DiscardHandler), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if _, err := a.seedDemo(ctx, cfg.DemoClientAddr, slog.New(slog.DiscardHandler)); err != nil {
				t.Fatalf("start %d: %v", i+1, err)
			}
			svc := a.envs[identity.Production]
			apps, err := svc.ListApplications(ctx, "demo", identity.PageRequest{Page: 1, PerPage: identity.MaxPerPage})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, app := range apps.Items {
				if app.Name == demoAppName {
					n++
				}
			}
			if n != 1 {
				t.Errorf("start %d: %d registrations of the client, want 1", i+1, n)
			}
		}()
	}
}
