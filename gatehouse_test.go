package gatehouse_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse"
	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/flowtest"
	"github.com/gatehouse-id/gatehouse/internal/testkit"
	"github.com/gatehouse-id/gatehouse/pages"
	"github.com/gatehouse-id/gatehouse/sso"
	"github.com/gatehouse-id/gatehouse/store/memory"
	"github.com/gatehouse-id/gatehouse/tokens"
)

const (
	userEmail    = "ada@acme.test"
	userPassword = "correct horse battery staple"
	redirectURI  = "https://rp.test/callback"
)

// fixture is a Gatehouse served by a test server at the root or under a
// path, with an organization (acme), a user and a public application.
type fixture struct {
	gh       *gatehouse.Gatehouse
	srv      *httptest.Server
	base     string // BaseURL: srv.URL + the mount path
	clientID string
}

// newFixture starts a test server whose handler mount(gh) returns, for a
// Gatehouse whose base URL is the server's URL plus path.
func newFixture(t *testing.T, path string, opts gatehouse.Options, mount func(gh *gatehouse.Gatehouse) http.Handler) *fixture {
	t.Helper()
	f := &fixture{}
	var h http.Handler = http.NotFoundHandler()
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(f.srv.Close)
	f.base = f.srv.URL + path
	opts.Store, opts.BaseURL = memory.New(), f.base
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	gh, err := gatehouse.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gh.Close() })
	f.gh = gh
	ctx := context.Background()
	org, err := gh.Production().CreateOrganization(ctx, identity.OrganizationInput{Name: new("Acme")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gh.Production().CreateUser(ctx, org.Domain, identity.User{Email: userEmail, Enabled: true}, userPassword); err != nil {
		t.Fatal(err)
	}
	app, _, err := gh.Production().CreateApplication(ctx, org.Domain, identity.Application{Name: "rp",
		ApplicationType: identity.AppReact, AllowedRedirectURLs: []string{redirectURI}})
	if err != nil {
		t.Fatal(err)
	}
	f.clientID = app.ClientID
	h = mount(gh)
	return f
}

// hostMux is a host's http.ServeMux with its own home page and
// Gatehouse under path.
func hostMux(path string) func(gh *gatehouse.Gatehouse) http.Handler {
	return func(gh *gatehouse.Gatehouse) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "host home") })
		mux.Handle(path+"/", gh.Handler())
		return mux
	}
}

func (f *fixture) get(t *testing.T, path string) (int, string) {
	t.Helper()
	return flowtest.Get(t, f.srv.URL+path, "")
}

func (f *fixture) post(t *testing.T, path, form string) (int, string) {
	t.Helper()
	resp, err := http.Post(f.srv.URL+path, "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestNewRefusesBadOptions: a missing store, a base URL that is not an
// absolute http(s) URL and faces that need one another are errors, not
// panics.
func TestNewRefusesBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts gatehouse.Options
	}{
		{"no store", gatehouse.Options{BaseURL: "http://a.test"}},
		{"no base URL", gatehouse.Options{Store: memory.New()}},
		{"relative base URL", gatehouse.Options{Store: memory.New(), BaseURL: "/auth"}},
		{"ftp base URL", gatehouse.Options{Store: memory.New(), BaseURL: "ftp://a.test/auth"}},
		{"query in base URL", gatehouse.Options{Store: memory.New(), BaseURL: "http://a.test/auth?x=1"}},
		{"credentials in base URL", gatehouse.Options{Store: memory.New(), BaseURL: "http://u:p@a.test/auth"}},
		{"portal without SSO", gatehouse.Options{Store: memory.New(), BaseURL: "http://a.test", Serve: gatehouse.Portal}},
		{"legacy URLs without hosted login", gatehouse.Options{Store: memory.New(), BaseURL: "http://a.test",
			Serve: gatehouse.CryptrAPI | gatehouse.LegacyRootURLs}},
		{"console without hosted login", gatehouse.Options{Store: memory.New(), BaseURL: "http://a.test",
			Serve: gatehouse.CryptrAPI | gatehouse.Console}},
		{"short key-encryption key", gatehouse.Options{Store: memory.New(), BaseURL: "http://a.test", KeyEncryptionKey: []byte("short")}},
		{"unknown default tenant environment", gatehouse.Options{Store: memory.New(), BaseURL: "http://a.test",
			CrafterDefaultTenant: "staging"}},
		{"unknown RS256 signer", gatehouse.Options{Store: memory.New(), BaseURL: "http://a.test", RSASigner: "fastest"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Logger = slog.New(slog.DiscardHandler)
			gh, err := gatehouse.New(context.Background(), tc.opts)
			if err == nil {
				gh.Close()
				t.Fatal("New accepted the options")
			}
		})
	}
}

// TestRSASignerOption: Options.RSASigner reaches the tokens service:
// tokens.RSASignerGo signs RS256 with crypto/rsa whatever the build could
// load.
func TestRSASignerOption(t *testing.T) {
	gh, err := gatehouse.New(context.Background(), gatehouse.Options{Store: memory.New(), BaseURL: "http://a.test",
		Logger: slog.New(slog.DiscardHandler), RSASigner: tokens.RSASignerGo})
	if err != nil {
		t.Fatal(err)
	}
	defer gh.Close()
	if got := gh.Tokens().RSAImplementation(); got != "crypto/rsa" {
		t.Fatalf("RSAImplementation = %q with RSASignerGo", got)
	}
}

// TestMountedUnderAPath: mounted with mux.Handle("/auth/", gh.Handler())
// beside the host's GET /{$}, Gatehouse serves discovery, JWKS, the
// hosted page and both APIs under /auth, with issuers under /auth; the
// host keeps its root; nothing of Gatehouse answers outside /auth (a
// request there is the host's 404, /authx included).
func TestMountedUnderAPath(t *testing.T) {
	f := newFixture(t, "/auth", gatehouse.Options{}, hostMux("/auth"))
	issuer := f.base + "/t/acme"
	for _, tc := range []struct {
		path string
		want int
		has  string
	}{
		{"/", 200, "host home"},
		{"/auth/t/acme/.well-known/openid-configuration", 200, `"issuer":"` + issuer + `"`},
		{"/auth/t/acme/.well-known/jwks", 200, `"keys":[{`},
		{"/auth/sandbox/t/acme/.well-known/openid-configuration", 200, `"issuer":"` + f.base + `/sandbox/t/acme"`},
		{"/auth/api/v2/organizations", 401, ""},
		{"/auth/api/1/tenant/count.json", 403, `"ACCESS_DENIED"`},
		{"/auth/api/v2//organizations", 401, `"error"`}, // the face's JSON, never the mux's redirect
		{"/auth/api/v1/unknown", 404, `"not_found"`},
		{"/auth/enterprise-setup/not-a-token", 200, "Set up single sign-on"},
		{"/t/acme/.well-known/openid-configuration", 404, ""},
		{"/authx/t/acme/.well-known/openid-configuration", 404, ""},
		{"/api/v2/organizations", 404, ""},
	} {
		code, body := f.get(t, tc.path)
		if code != tc.want || !strings.Contains(body, tc.has) {
			t.Errorf("GET %s = %d %.200s, want %d with %q", tc.path, code, body, tc.want, tc.has)
		}
	}
	// The authorization endpoint under the path shows the hosted page.
	code, body := f.get(t, "/auth/t/acme/authorize?"+url.Values{"response_type": {"code"}, "client_id": {f.clientID},
		"redirect_uri": {redirectURI}, "scope": {"openid"}, "code_challenge": {strings.Repeat("a", 43)},
		"code_challenge_method": {"S256"}}.Encode())
	if code != 200 || !strings.Contains(body, `name="csrf_token"`) {
		t.Fatalf("authorize under /auth: %d %.300s", code, body)
	}
}

// TestEscapedPathsUnderTheBase: the base path is removed from RawPath as
// well as Path, so an escaped segment reaches the face as sent.
func TestEscapedPathsUnderTheBase(t *testing.T) {
	var seen *http.Request
	f := newFixture(t, "/auth", gatehouse.Options{Serve: gatehouse.HostedLogin,
		RouteMiddleware: func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r; next.ServeHTTP(w, r) })
		}}, hostMux("/auth"))
	if code, _ := f.get(t, "/auth/t/ac%2Fme/.well-known/jwks"); code != 404 {
		t.Errorf("an escaped slash in the domain: %d, want 404", code)
	}
	if seen == nil || seen.URL.Path != "/t/ac/me/.well-known/jwks" || seen.URL.RawPath != "/t/ac%2Fme/.well-known/jwks" {
		t.Fatalf("the face saw %+v", seen.URL)
	}
}

// TestLegacyRootURLsAreOptIn: Cryptr's URLs outside the issuer tree are
// not served by default (the host keeps /oauth/token, /api/v1/... and the
// gateways), and are with LegacyRootURLs.
func TestLegacyRootURLsAreOptIn(t *testing.T) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"acme.x"}, "client_id": {"x"}}.Encode()
	legacy := []struct{ method, path string }{
		{"POST", "/oauth/token"}, {"POST", "/oauth/revoke"}, {"POST", "/org/acme/oauth2/token"},
		{"POST", "/api/v1/tenants/acme/x/oauth/token/revoke"}, {"POST", "/sandbox/oauth/token"},
		{"GET", "/a/acme/"},
	}
	call := func(f *fixture, method, path string) (int, string) {
		if method == "GET" {
			return f.get(t, path)
		}
		return f.post(t, path, form)
	}
	off := newFixture(t, "", gatehouse.Options{}, func(gh *gatehouse.Gatehouse) http.Handler { return gh.Handler() })
	on := newFixture(t, "", gatehouse.Options{Serve: gatehouse.DefaultFaces | gatehouse.LegacyRootURLs},
		func(gh *gatehouse.Gatehouse) http.Handler { return gh.Handler() })
	for _, l := range legacy {
		if code, _ := call(off, l.method, l.path); code != 404 {
			t.Errorf("default: %s %s = %d, want 404", l.method, l.path, code)
		}
		if code, body := call(on, l.method, l.path); code == 404 || code >= 500 {
			t.Errorf("LegacyRootURLs: %s %s = %d %.200s", l.method, l.path, code, body)
		}
	}
	// The root gateway: nothing at / by default.
	if code, _ := off.get(t, "/"); code != 404 {
		t.Errorf("default: GET / = %d, want 404", code)
	}
}

// TestServeChoosesTheFaces: a face left out of Options.Serve is neither
// served nor built.
func TestServeChoosesTheFaces(t *testing.T) {
	f := newFixture(t, "", gatehouse.Options{Serve: gatehouse.HostedLogin},
		func(gh *gatehouse.Gatehouse) http.Handler { return gh.Handler() })
	if f.gh.API() != nil || f.gh.Profile() != nil || f.gh.SSO() != nil || f.gh.Provider() == nil {
		t.Fatalf("faces built: api %v, crafter %v, sso %v, provider %v", f.gh.API(), f.gh.Profile(), f.gh.SSO(), f.gh.Provider())
	}
	for path, want := range map[string]int{
		"/api/v2/organizations":                    404,
		"/api/1/tenant/count.json":                 404,
		"/enterprise-setup/x":                      404,
		"/enterprise/x/metadata":                   404,
		"/t/acme/.well-known/openid-configuration": 200,
	} {
		if code, body := f.get(t, path); code != want {
			t.Errorf("GET %s = %d %.200s, want %d", path, code, body, want)
		}
	}
	g := newFixture(t, "", gatehouse.Options{Serve: gatehouse.CryptrAPI},
		func(gh *gatehouse.Gatehouse) http.Handler { return gh.Handler() })
	if code, _ := g.get(t, "/t/acme/.well-known/openid-configuration"); code != 404 {
		t.Errorf("discovery without HostedLogin: %d", code)
	}
	if code, _ := g.get(t, "/api/v2/organizations"); code != 401 {
		t.Errorf("Cryptr API alone: %d", code)
	}
}

// TestSignInAndMiddleware: a user signs in through the hosted page (code
// flow with PKCE) and the access token passes the host's Middleware;
// no token, a token for another client and a garbled one are refused.
func TestSignInAndMiddleware(t *testing.T) {
	var protect func(http.Handler) http.Handler
	f := newFixture(t, "", gatehouse.Options{}, func(gh *gatehouse.Gatehouse) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/", gh.Handler())
		mux.Handle("GET /me", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { protect(me).ServeHTTP(w, r) }))
		return mux
	})
	var err error
	if protect, err = f.gh.Middleware(tokens.VerifierConfig{ClientIDs: []string{f.clientID}}); err != nil {
		t.Fatal(err)
	}
	res := flowtest.Run(t, flowtest.SignIn{Issuer: f.base + "/t/acme", ClientID: f.clientID, RedirectURI: redirectURI,
		Email: userEmail, Password: userPassword})
	if code, body := flowtest.Get(t, f.srv.URL+"/me", res.AccessToken); code != 200 || !strings.Contains(body, userEmail) {
		t.Fatalf("/me with the token: %d %s", code, body)
	}
	if code, _ := flowtest.Get(t, f.srv.URL+"/me", ""); code != 401 {
		t.Errorf("/me without a token: %d", code)
	}
	if code, _ := flowtest.Get(t, f.srv.URL+"/me", res.AccessToken+"x"); code != 401 {
		t.Errorf("/me with a garbled token: %d", code)
	}
	other, err := f.gh.Middleware(tokens.VerifierConfig{ClientIDs: []string{"another-client"}})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/me", nil)
	r.Header.Set("Authorization", "Bearer "+res.AccessToken)
	other(me).ServeHTTP(w, r)
	if w.Code != 401 {
		t.Errorf("a token of another client: %d", w.Code)
	}
	if _, err := f.gh.Middleware(tokens.VerifierConfig{}); err == nil {
		t.Error("Middleware accepted a config that names no audience")
	}
}

// me answers the signed-in user's email.
var me = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	c, _ := tokens.ClaimsFrom(r.Context())
	_ = json.NewEncoder(w).Encode(map[string]string{"sub": c.Subject, "email": c.Email})
})

// TestBootstrapAndMonitoring: the bootstrap record round-trips, and by
// default Crafter's monitoring endpoints accept the token whose hash it
// holds, and nothing else.
func TestBootstrapAndMonitoring(t *testing.T) {
	f := newFixture(t, "", gatehouse.Options{}, func(gh *gatehouse.Gatehouse) http.Handler { return gh.Handler() })
	ctx := context.Background()
	if b, err := f.gh.Bootstrap(ctx); err != nil || b != (gatehouse.Bootstrap{}) {
		t.Fatalf("fresh store: %+v %v", b, err)
	}
	status := func(token string) int {
		code, _ := f.get(t, "/api/1/monitoring/status.json?token="+url.QueryEscape(token))
		return code
	}
	if c := status("monitoring-token-0123456789"); c == 200 {
		t.Fatalf("monitoring without a token set: %d", c)
	}
	want := gatehouse.Bootstrap{MasterID: "m", MonitoringTokenHash: identity.HashSecret("monitoring-token-0123456789")}
	if err := f.gh.SetBootstrap(ctx, want); err != nil {
		t.Fatal(err)
	}
	if b, err := f.gh.Bootstrap(ctx); err != nil || b != want {
		t.Fatalf("read back %+v %v", b, err)
	}
	if c := status("monitoring-token-0123456789"); c != 200 {
		t.Errorf("the right token: %d", c)
	}
	for _, bad := range []string{"", "monitoring-token-012345678", "wrong"} {
		if c := status(bad); c == 200 {
			t.Errorf("token %q: %d", bad, c)
		}
	}
}

// TestIdentityAccessors: both environments' services and an error for
// another.
func TestIdentityAccessors(t *testing.T) {
	f := newFixture(t, "", gatehouse.Options{}, func(gh *gatehouse.Gatehouse) http.Handler { return gh.Handler() })
	for env, want := range map[identity.Environment]*identity.Service{identity.Production: f.gh.Production(), identity.Sandbox: f.gh.Sandbox()} {
		got, err := f.gh.Identity(env)
		if err != nil || got != want || got.Environment() != env {
			t.Errorf("Identity(%s) = %v, %v", env, got, err)
		}
	}
	if _, err := f.gh.Identity("staging"); err == nil {
		t.Error("Identity(staging) did not fail")
	}
	if f.gh.Tokens() == nil || f.gh.BaseURL() != f.base {
		t.Errorf("Tokens %v, BaseURL %q", f.gh.Tokens(), f.gh.BaseURL())
	}
}

// TestStartSweepsExpiredRecords: Start sweeps the expiry index every
// SweepInterval, with or without the Crafter face: a pending
// authorization request (kept 15 minutes) is removed once the clock has
// passed its expiry, and the sweeper stops with its context.
func TestStartSweepsExpiredRecords(t *testing.T) {
	for _, faces := range []gatehouse.Faces{gatehouse.DefaultFaces, gatehouse.HostedLogin} {
		var mu sync.Mutex
		now := time.Now()
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		logs := &testkit.Buffer{}
		f := newFixture(t, "", gatehouse.Options{Serve: faces, Clock: clock, SweepInterval: 5 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))},
			func(gh *gatehouse.Gatehouse) http.Handler { return gh.Handler() })
		code, _ := f.get(t, "/t/acme/authorize?"+url.Values{"response_type": {"code"}, "client_id": {f.clientID},
			"redirect_uri": {redirectURI}, "scope": {"openid"}, "code_challenge": {strings.Repeat("a", 43)},
			"code_challenge_method": {"S256"}}.Encode())
		if code != 200 {
			t.Fatalf("authorize: %d", code)
		}
		ctx, cancel := context.WithCancel(context.Background())
		f.gh.Start(ctx)
		time.Sleep(50 * time.Millisecond)
		if strings.Contains(logs.String(), "expired records swept") {
			t.Fatalf("a record was swept before it expired:\n%s", logs)
		}
		mu.Lock()
		now = now.Add(time.Hour)
		mu.Unlock()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(logs.String(), "expired records swept") {
			if time.Now().After(deadline) {
				t.Fatalf("faces %b: nothing swept:\n%s", faces, logs)
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}
}

// TestListenerAnswersMalformedTargetsUnderTheBase: served from
// gh.Listener, a target under the base path that net/http refuses before
// any handler (a malformed escape) is answered by the API face it names,
// in its JSON; outside the base path, or outside the APIs, net/http's own
// answer stays.
func TestListenerAnswersMalformedTargetsUnderTheBase(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gh, err := gatehouse.New(context.Background(), gatehouse.Options{Store: memory.New(),
		BaseURL: "http://" + ln.Addr().String() + "/auth", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer gh.Close()
	mux := http.NewServeMux()
	mux.Handle("/auth/", gh.Handler())
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(gh.Listener(ln)) }()
	defer srv.Close()
	for _, tc := range []struct {
		target string
		json   string // "" for net/http's plain-text answer
	}{
		{"/auth/api/v2/%zz", `"error_description":"malformed path"`},
		{"/auth/api/1/profile/%zz", `"message":"Malformed path"`},
		{"/auth/crafter-profile/api/1/profile/%zz", `"message":"Malformed path"`},
		{"http://" + ln.Addr().String() + "/auth/api/v2/org/%zz/users?x=1", `"error":"bad_request"`},
		{"/api/v2/%zz", ""},
		{"/authx/api/v2/%zz", ""},
		{"/auth/t/%zz/authorize", ""},
	} {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(c, "GET "+tc.target+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		c.Close()
		isJSON := strings.HasPrefix(res.Header.Get("Content-Type"), "application/json")
		if res.StatusCode != 400 || isJSON != (tc.json != "") || !strings.Contains(string(b), tc.json) {
			t.Errorf("%s: %d %s %s; want 400 with %q", tc.target, res.StatusCode, res.Header.Get("Content-Type"), b, tc.json)
		}
	}
}

// TestSSOUnderAPath: mounted under /auth, a connection's SAML metadata
// names its ACS and entity id under /auth, and its setup link opens the
// onboarding portal under /auth, whose form stays there.
func TestSSOUnderAPath(t *testing.T) {
	f := newFixture(t, "/auth", gatehouse.Options{}, hostMux("/auth"))
	ctx := context.Background()
	conn, err := f.gh.SSO().CreateConnection(ctx, f.gh.Production(), sso.CreateInput{OrgDomain: "acme",
		ApplicationID: f.clientID})
	if err != nil {
		t.Fatal(err)
	}
	code, body := f.get(t, "/auth/enterprise/"+conn.Connection.ID+"/metadata")
	if code != 200 || !strings.Contains(body, `Location="`+f.base+`/enterprise/`+conn.Connection.ID+`/acs"`) {
		t.Fatalf("metadata: %d %.600s", code, body)
	}
	if !strings.Contains(body, `entityID="`+f.base+`/enterprise/`+conn.Connection.ID+`/metadata"`) {
		t.Errorf("entity id not under %s: %.600s", f.base, body)
	}
	if code, _ := f.get(t, "/enterprise/"+conn.Connection.ID+"/metadata"); code != 404 {
		t.Errorf("metadata outside /auth: %d", code)
	}
	link, err := f.gh.SSO().NewSetupLink(ctx, f.gh.Production(), conn.Connection.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link, f.base+"/enterprise-setup/") {
		t.Fatalf("setup link %s not under %s", link, f.base)
	}
	code, body = flowtest.Get(t, link, "")
	action := reFormAction.FindStringSubmatch(body)
	if code != 200 || action == nil || !strings.HasPrefix(action[1], f.base+"/enterprise-setup/") &&
		!strings.HasPrefix(action[1], "/auth/enterprise-setup/") {
		t.Fatalf("setup page: %d %v %.400s", code, action, body)
	}
}

var reFormAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)

// TestBranding: Options.Branding reaches the hosted sign-in page and the
// SSO onboarding portal; an invalid one fails New with a
// *pages.BrandingError.
func TestBranding(t *testing.T) {
	f := newFixture(t, "/auth", gatehouse.Options{Branding: pages.Branding{ProductName: "Acme Identity"}}, hostMux("/auth"))
	code, body := f.get(t, "/auth/t/acme/authorize?"+url.Values{"response_type": {"code"}, "client_id": {f.clientID},
		"redirect_uri": {redirectURI}, "scope": {"openid"}, "code_challenge": {strings.Repeat("a", 43)},
		"code_challenge_method": {"S256"}}.Encode())
	if code != 200 || !strings.Contains(body, "Acme Identity") {
		t.Errorf("hosted page: %d, product name missing: %.300s", code, body)
	}
	conn, err := f.gh.SSO().CreateConnection(context.Background(), f.gh.Production(), sso.CreateInput{OrgDomain: "acme",
		ApplicationID: f.clientID})
	if err != nil {
		t.Fatal(err)
	}
	link, err := f.gh.SSO().NewSetupLink(context.Background(), f.gh.Production(), conn.Connection.ID)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := flowtest.Get(t, link, ""); code != 200 || !strings.Contains(body, "Acme Identity") {
		t.Errorf("portal: %d, product name missing: %.300s", code, body)
	}
	_, err = gatehouse.New(context.Background(), gatehouse.Options{Store: memory.New(), BaseURL: "http://a.test",
		Logger: slog.New(slog.DiscardHandler), Branding: pages.Branding{Colors: pages.Colors{Primary: "red; x"}}})
	var be *pages.BrandingError
	if !errors.As(err, &be) {
		t.Errorf("an invalid branding: %v", err)
	}
}
