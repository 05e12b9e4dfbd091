package identitytest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identitytest"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// call sends a request with token (none when "") through h and returns
// the status and whether the wrapped handler ran.
func call(t *testing.T, mw func(http.Handler) http.Handler, token string) (int, *tokens.Claims) {
	t.Helper()
	var seen *tokens.Claims
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = tokens.ClaimsFrom(r.Context())
	}))
	req := httptest.NewRequest(http.MethodGet, "/resource", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, seen
}

// TestSeeded guards what New promises: an organization, an enabled and
// verified user in it, and an application in both environments with the
// documented audience.
func TestSeeded(t *testing.T) {
	env := identitytest.New(t)
	ctx := context.Background()
	org := env.Organization()
	if org.Domain != "acme" || org.Name != identitytest.DefaultOrganization {
		t.Fatalf("organization = %q (%q), want acme", org.Domain, org.Name)
	}
	u, err := env.Identity().GetUserByEmail(ctx, org.Domain, identitytest.DefaultEmail)
	if err != nil || u.ID != env.User().ID || !u.Enabled || !u.Verified {
		t.Fatalf("seeded user: %+v, %v", u, err)
	}
	if _, err := env.Identity().GetApplication(ctx, org.Domain, env.Application().ClientID); err != nil {
		t.Fatalf("seeded application: %v", err)
	}
	sbx, err := env.Identity().ForEnvironment(identity.Sandbox)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sbx.GetApplication(ctx, org.Domain, env.SandboxApplication().ClientID); err != nil {
		t.Fatalf("sandbox application: %v", err)
	}
	if env.SandboxApplication().ClientID == env.Application().ClientID {
		t.Fatal("the sandbox application shares the production client id")
	}
	if env.Audience() != identitytest.DefaultOrigin {
		t.Fatalf("audience = %q, want %q", env.Audience(), identitytest.DefaultOrigin)
	}
}

// TestTokenAccepted guards that Token returns a real access token that the
// product's middleware accepts, with the claims Gatehouse issues.
func TestTokenAccepted(t *testing.T) {
	env := identitytest.New(t)
	code, c := call(t, env.Middleware(), env.Token(env.User()))
	if code != http.StatusOK || c == nil {
		t.Fatalf("status %d, claims %v", code, c)
	}
	want := map[string][2]string{
		"sub":    {c.Subject, env.User().ID},
		"tnt":    {c.Tenant, "acme"},
		"iss":    {c.Issuer, identitytest.DefaultBaseURL + "/t/acme"},
		"Issuer": {env.Issuer("", "acme"), c.Issuer},
		"cid":    {c.ClientID, env.Application().ClientID},
		"jtt":    {c.Type, tokens.TypeAccess},
		"dbs":    {c.Database, identity.Production.DBS()},
		"scp":    {strings.Join(c.Scopes, " "), "openid email profile"},
		"aud":    {strings.Join(c.Audience, " "), identitytest.DefaultOrigin},
	}
	for k, v := range want {
		if v[0] != v[1] {
			t.Errorf("%s = %q, want %q", k, v[0], v[1])
		}
	}
	if got, want := c.Expiry-c.IssuedAt, int64(tokens.DefaultAccessTokenTTL/time.Second); got != want {
		t.Errorf("lifetime %d s, want %d", got, want)
	}
}

// TestTokenRefused guards that the tokens a host must refuse are refused
// by the Env's middleware, as in production: the handler never runs.
func TestTokenRefused(t *testing.T) {
	env := identitytest.New(t)
	other := env.AddOrganization("Globex")
	stranger := env.AddUser(other.Domain, "sam@globex.test")
	sandboxUser := env.AddSandboxUser(env.Organization().Domain, "sandra@acme.test")
	acmeOnly := tokens.Middleware(env.NewVerifier(tokens.VerifierConfig{Domains: []string{"acme"}}))
	good := env.Token(env.User())
	tampered := good[:len(good)-4] + strings.Map(func(r rune) rune {
		if r == 'A' {
			return 'B'
		}
		return 'A'
	}, good[len(good)-4:])
	for _, tc := range []struct {
		name  string
		mw    func(http.Handler) http.Handler
		token string
	}{
		{"no token", env.Middleware(), ""},
		{"expired", env.Middleware(), env.Token(env.User(), identitytest.Expired())},
		{"wrong audience", env.Middleware(), env.Token(env.User(), identitytest.Audience("https://other.test"))},
		{"sandbox token", env.Middleware(), env.Token(env.User(), identitytest.Sandbox())},
		{"sandbox user", env.Middleware(), env.Token(sandboxUser)},
		{"other organization", acmeOnly, env.Token(stranger)},
		{"forged organization", acmeOnly, env.Token(env.User(), identitytest.Organization(other.Domain))},
		{"tampered signature", env.Middleware(), tampered},
		{"id token as access token", env.Middleware(), idToken(t, env)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, c := call(t, tc.mw, tc.token); code != http.StatusUnauthorized || c != nil {
				t.Fatalf("status %d, handler saw %v; want 401 and no call", code, c)
			}
		})
	}
	// The same tokens pass where they should, so the refusals above are
	// about what each case changes.
	if code, _ := call(t, acmeOnly, good); code != http.StatusOK {
		t.Fatalf("acme token refused by the acme verifier: %d", code)
	}
	if code, _ := call(t, env.Middleware(), env.Token(stranger)); code != http.StatusOK {
		t.Fatalf("globex token refused by the any-organization verifier: %d", code)
	}
}

func idToken(t *testing.T, env *identitytest.Env) string {
	t.Helper()
	_, id := env.Tokens(env.User())
	return id.Value
}

// TestSandboxVerifier guards the other side of the environment rule: a
// verifier configured for the sandbox accepts sandbox tokens (of a sandbox
// user, with the sandbox issuer and application) and refuses production's.
func TestSandboxVerifier(t *testing.T) {
	env := identitytest.New(t)
	v := env.NewVerifier(tokens.VerifierConfig{Environments: []identity.Environment{identity.Sandbox}})
	u := env.AddSandboxUser("acme", "sandra@acme.test")
	c, err := v.Verify(context.Background(), env.Token(u))
	if err != nil {
		t.Fatalf("sandbox token refused: %v", err)
	}
	if c.Issuer != identitytest.DefaultBaseURL+"/sandbox/t/acme" || c.Issuer != env.Issuer(identity.Sandbox, "acme") || c.Database != "sandbox" ||
		c.ClientID != env.SandboxApplication().ClientID {
		t.Fatalf("sandbox claims: iss %q dbs %q cid %q", c.Issuer, c.Database, c.ClientID)
	}
	if _, err := v.Verify(context.Background(), env.Token(env.User())); !errors.Is(err, tokens.ErrInvalidToken) {
		t.Fatalf("production token under the sandbox verifier: %v", err)
	}
}

// TestExpiry guards the fake clock: ExpiresIn sets the lifetime, Advance
// past it (and the verifier's leeway) makes the token expire, and Expired
// tokens fail with ErrTokenExpired, not another error.
func TestExpiry(t *testing.T) {
	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	env := identitytest.New(t, identitytest.WithTime(start))
	ctx := context.Background()
	tok := env.Token(env.User(), identitytest.ExpiresIn(time.Minute))
	c, err := env.Verifier().Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.IssuedAt != start.Unix() || c.Expiry != start.Add(time.Minute).Unix() {
		t.Fatalf("iat %d exp %d, want %d and %d", c.IssuedAt, c.Expiry, start.Unix(), start.Add(time.Minute).Unix())
	}
	env.Advance(time.Minute + tokens.DefaultLeeway)
	if _, err := env.Verifier().Verify(ctx, tok); !errors.Is(err, tokens.ErrTokenExpired) {
		t.Fatalf("after expiry: %v, want ErrTokenExpired", err)
	}
	lenient := env.NewVerifier(tokens.VerifierConfig{Leeway: tokens.MaxLeeway})
	if _, err := lenient.Verify(ctx, env.Token(env.User(), identitytest.Expired())); !errors.Is(err, tokens.ErrTokenExpired) {
		t.Fatalf("Expired token under the largest leeway: %v, want ErrTokenExpired", err)
	}
	// Issuing an expired token leaves the clock where it was.
	if c, err := env.Verifier().Verify(ctx, env.Token(env.User())); err != nil || c.IssuedAt != env.Now().Unix() {
		t.Fatalf("token after an Expired one: %v, %v", c, err)
	}
}

// TestIDTokenAndClaims guards Tokens (an ID token bound to the access
// token, with the nonce and profile claims), custom claims added through
// the product's claims hook (registered claims cannot be forged), and the
// host's own hook given WithClaimsUpdater.
func TestIDTokenAndClaims(t *testing.T) {
	hook := tokens.ClaimsUpdaterFunc(func(_ context.Context, _ *tokens.TokenRequest, c *tokens.Claims) error {
		if c.Extra == nil {
			c.Extra = map[string]any{}
		}
		c.Extra["plan"] = "gold"
		return nil
	})
	env := identitytest.New(t, identitytest.WithClaimsUpdater(hook))
	u := env.AddUser("acme", "ada@acme.test", identitytest.Profile(identity.Profile{Name: "Ada Lovelace"}))
	access, id := env.Tokens(u, identitytest.Nonce("n-0S6"),
		identitytest.Claims(map[string]any{"roles": []string{"billing"}, "sub": "someone-else"}))
	if id == nil {
		t.Fatal("no ID token for the openid scope")
	}
	ctx := context.Background()
	idv := env.NewVerifier(tokens.VerifierConfig{TokenTypes: []string{tokens.TypeID}})
	c, err := idv.Verify(ctx, id.Value)
	if err != nil {
		t.Fatalf("ID token refused: %v", err)
	}
	if c.Nonce != "n-0S6" || c.AtHash == "" || c.Extra["name"] != "Ada Lovelace" || c.Subject != u.ID {
		t.Fatalf("ID token claims: nonce %q at_hash %q name %v sub %q", c.Nonce, c.AtHash, c.Extra["name"], c.Subject)
	}
	ac, err := env.Verifier().Verify(ctx, access.Value)
	if err != nil {
		t.Fatal(err)
	}
	if ac.Subject != u.ID || ac.Extra["plan"] != "gold" || fmt.Sprint(ac.Extra["roles"]) != "[billing]" {
		t.Fatalf("access claims: sub %q extra %v", ac.Subject, ac.Extra)
	}
	if _, id := env.Tokens(u, identitytest.Scopes("read:invoices")); id != nil {
		t.Fatal("an ID token without the openid scope")
	}
}

// TestPasswords guards that users get passwords the identity core checks
// (through the cheap test hasher).
func TestPasswords(t *testing.T) {
	env := identitytest.New(t, identitytest.WithUserPassword("correct horse battery staple"))
	ctx := context.Background()
	login := identity.PasswordLogin{OrgDomain: "acme", Email: identitytest.DefaultEmail}
	login.Password = "correct horse battery staple"
	if u, err := env.Identity().PasswordLogin(ctx, login); err != nil || u.ID != env.User().ID {
		t.Fatalf("right password: %v, %v", u, err)
	}
	login.Password = "wrong"
	if _, err := env.Identity().PasswordLogin(ctx, login); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Fatalf("wrong password: %v, want ErrUnauthenticated", err)
	}
	u := env.AddUser("acme", "bob@acme.test", identitytest.Password("bob's password 1"))
	if !strings.HasPrefix(u.PasswordHash, "$identitytest-") {
		t.Fatalf("hash %q: not the test hasher's", u.PasswordHash)
	}
}

// TestRemoteVerifier guards WithServer: the JWKS is served over HTTP at
// the issuers' Cryptr paths, so a RemoteVerifier accepts production
// tokens and refuses sandbox ones; the server closes with the test.
func TestRemoteVerifier(t *testing.T) {
	var base string
	t.Run("served", func(t *testing.T) {
		env := identitytest.New(t, identitytest.WithServer())
		base = env.BaseURL()
		if !strings.HasPrefix(base, "http://127.0.0.1:") {
			t.Fatalf("base URL %q is not the test server", base)
		}
		v := env.RemoteVerifier(tokens.VerifierConfig{})
		ctx := context.Background()
		if _, err := v.Verify(ctx, env.Token(env.User())); err != nil {
			t.Fatalf("remote verification: %v", err)
		}
		if _, err := v.Verify(ctx, env.Token(env.User(), identitytest.Sandbox())); !errors.Is(err, tokens.ErrInvalidToken) {
			t.Fatalf("sandbox token: %v", err)
		}
		res, err := http.Get(base + "/sandbox/t/acme/.well-known/jwks")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("sandbox JWKS: %d", res.StatusCode)
		}
	})
	if base == "" {
		t.Fatal("subtest did not run")
	}
	if res, err := http.Get(base + "/t/acme/.well-known"); err == nil {
		res.Body.Close()
		t.Fatalf("the test server still answers after its test: %d", res.StatusCode)
	}
}

// fatalTB records the first Fatal and stops the goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.msg = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}
func (f *fatalTB) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }

// TestHelpersFail guards that a refused helper fails the test with the
// reason, rather than returning a nil record the test would trip on later.
func TestHelpersFail(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(*identitytest.Env)
		want string
	}{
		{"duplicate email", func(e *identitytest.Env) { e.AddUser("acme", identitytest.DefaultEmail) }, "create user"},
		{"unknown organization", func(e *identitytest.Env) { e.AddUser("nowhere", "x@nowhere.test") }, "create user"},
		{"invalid email", func(e *identitytest.Env) { e.AddUser("acme", "not an email") }, "create user"},
		{"token without user", func(e *identitytest.Env) { e.Token(nil) }, "needs a user"},
		{"remote verifier without server", func(e *identitytest.Env) { e.RemoteVerifier(tokens.VerifierConfig{}) }, "WithServer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fatalTB{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				tc.do(identitytest.New(f))
			}()
			<-done
			if !strings.Contains(f.msg, tc.want) {
				t.Fatalf("failure %q, want it to mention %q", f.msg, tc.want)
			}
		})
	}
}

// TestConcurrentUse guards "safe for concurrent use" under -race: tokens
// (Expired ones included, which set the issuing clock back for their call)
// are issued and verified from many goroutines, and each verifies as it
// should.
func TestConcurrentUse(t *testing.T) {
	env := identitytest.New(t)
	env.Token(env.User()) // create the key set once, outside the race
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			expired := i%2 == 0
			var opts []identitytest.TokenOption
			if expired {
				opts = append(opts, identitytest.Expired())
			}
			_, err := env.Verifier().Verify(ctx, env.Token(env.User(), opts...))
			if expired != errors.Is(err, tokens.ErrTokenExpired) || !expired && err != nil {
				errs <- fmt.Errorf("token %d (expired %v): %v", i, expired, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestSigningAlg guards WithSigningAlg: the seeded application's tokens
// are signed with it, in both environments, and the default verifier
// accepts them.
func TestSigningAlg(t *testing.T) {
	env := identitytest.New(t, identitytest.WithSigningAlg(tokens.ES256))
	if env.Application().SigningAlg != tokens.ES256 || env.SandboxApplication().SigningAlg != tokens.ES256 {
		t.Fatalf("applications sign with %q and %q", env.Application().SigningAlg, env.SandboxApplication().SigningAlg)
	}
	tok := env.Token(env.User())
	raw, err := base64.RawURLEncoding.DecodeString(tok[:strings.IndexByte(tok, '.')])
	var hdr struct{ Alg string }
	if err != nil || json.Unmarshal(raw, &hdr) != nil || hdr.Alg != tokens.ES256 {
		t.Fatalf("token header %s (%v): not ES256", raw, err)
	}
	if code, _ := call(t, env.Middleware(), tok); code != http.StatusOK {
		t.Fatalf("ES256 token refused: %d", code)
	}
}

// TestAddApplication guards tokens of another application: its client id
// and audience, accepted by a verifier of that audience and refused by the
// seeded application's.
func TestAddApplication(t *testing.T) {
	env := identitytest.New(t, identitytest.WithSigningAlg(tokens.ES256))
	admin := env.AddApplication("acme", identity.Application{Name: "Admin", ApplicationType: identity.AppReact,
		AllowedOriginsCORS: []string{"https://admin.acme.test"}, SigningAlg: tokens.ES256})
	tok := env.Token(env.User(), identitytest.Application(admin))
	c, err := env.NewVerifier(tokens.VerifierConfig{Audiences: []string{"https://admin.acme.test"}}).Verify(context.Background(), tok)
	if err != nil || c.ClientID != admin.ClientID {
		t.Fatalf("admin token: %v, %v", c, err)
	}
	if code, _ := call(t, env.Middleware(), tok); code != http.StatusUnauthorized {
		t.Fatalf("admin token under the seeded application's middleware: %d", code)
	}
}
