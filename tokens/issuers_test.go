package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/identity"
)

// sandboxReq is f.req() for the sandbox environment.
func (f *fixture) sandboxReq() *TokenRequest {
	r := f.req()
	r.Env = identity.Sandbox
	return r
}

// TestSandboxTokensFailProductionVerifiers is the regression test of
// issue 10 breach 3 (verifier side): a token issued in the sandbox is not
// a production token for a default Verifier or RemoteVerifier, and it
// names the sandbox issuer.
func TestSandboxTokensFailProductionVerifiers(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sbAccess, sbID, err := f.svc.IssueTokens(ctx, f.sandboxReq())
	if err != nil {
		t.Fatal(err)
	}
	prAccess, _, err := f.svc.IssueTokens(ctx, f.req())
	if err != nil {
		t.Fatal(err)
	}
	if want := testBase + "/sandbox/t/" + f.org.Domain; sbAccess.Claims.Issuer != want || sbID.Claims.Issuer != want {
		t.Fatalf("sandbox issuer %q / %q, want %q", sbAccess.Claims.Issuer, sbID.Claims.Issuer, want)
	}
	if want := testBase + "/t/" + f.org.Domain; prAccess.Claims.Issuer != want {
		t.Fatalf("production issuer %q, want %q", prAccess.Claims.Issuer, want)
	}
	def := f.verifier(t)
	sandbox := f.verifier(t, func(c *VerifierConfig) { c.Environments = []identity.Environment{identity.Sandbox} })
	both := f.verifier(t, func(c *VerifierConfig) {
		c.Environments = []identity.Environment{identity.Production, identity.Sandbox}
	})
	for _, tc := range []struct {
		name  string
		v     *Verifier
		token string
		ok    bool
	}{
		{"default verifier, sandbox token", def, sbAccess.Value, false},
		{"default verifier, production token", def, prAccess.Value, true},
		{"sandbox verifier, sandbox token", sandbox, sbAccess.Value, true},
		{"sandbox verifier, production token", sandbox, prAccess.Value, false},
		{"both environments, sandbox token", both, sbAccess.Value, true},
		{"both environments, production token", both, prAccess.Value, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.v.Verify(ctx, tc.token)
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if env, _ := c.Environment(); !strings.HasPrefix(c.Issuer, IssuerURL(testBase, env, "")) {
					t.Fatalf("issuer %q does not match environment %q", c.Issuer, env)
				}
				return
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("accepted (err %v)", err)
			}
		})
	}
}

// TestIssuerAndDBSMustAgree: a token signed by a sandbox key that claims
// the production issuer (or the reverse) is refused, whatever the
// verifier accepts.
func TestIssuerAndDBSMustAgree(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.svc.IssueAccessToken(ctx, f.sandboxReq()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.IssueAccessToken(ctx, f.req()); err != nil {
		t.Fatal(err)
	}
	both := f.verifier(t, func(c *VerifierConfig) {
		c.Environments = []identity.Environment{identity.Production, identity.Sandbox}
	})
	for _, tc := range []struct {
		name   string
		keyEnv identity.Environment
		iss    string
		dbs    string
	}{
		{"sandbox key, production issuer", identity.Sandbox, testBase + "/t/", "sandbox"},
		{"production key, sandbox issuer", identity.Production, testBase + "/sandbox/t/", "default"},
		{"sandbox key, sandbox issuer, production dbs", identity.Sandbox, testBase + "/sandbox/t/", "default"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sk, err := f.svc.activeSigner(ctx, tc.keyEnv, f.org.Domain, RS256)
			if err != nil {
				t.Fatal(err)
			}
			claims := map[string]any{"iss": tc.iss + f.org.Domain, "tnt": f.org.Domain, "dbs": tc.dbs,
				"sub": f.user.ID, "aud": "http://localhost:4200", "cid": f.app.ClientID, "jti": "x-1", "jtt": "access",
				"ver": 1, "iat": f.clock.Now().Unix(), "exp": f.clock.Now().Unix() + 60}
			tok := forge(t, jose.RS256, sk.priv, sk.kid, map[string]any{"iss": claims["iss"]}, claims)
			if _, err := both.Verify(ctx, tok); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("accepted (err %v)", err)
			}
		})
	}
}

// TestRemoteVerifierDefaultsToProduction: a RemoteVerifier refuses a
// sandbox token by default even when the server it asks publishes the
// sandbox keys, and fetches the sandbox issuer's JWKS when configured for
// the sandbox.
func TestRemoteVerifierDefaultsToProduction(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var paths []string
	mux := http.NewServeMux()
	// A server that (like Gatehouse before issue 10) publishes both
	// environments' keys at every issuer URL.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		domain := f.org.Domain
		doc := jose.JSONWebKeySet{}
		for _, env := range []identity.Environment{identity.Production, identity.Sandbox} {
			b, err := f.svc.JWKS(r.Context(), env, domain)
			if err != nil {
				t.Error(err)
				return
			}
			var part jose.JSONWebKeySet
			_ = json.Unmarshal(b, &part)
			doc.Keys = append(doc.Keys, part.Keys...)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(doc)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	svc, err := New(Options{Identity: f.id, BaseURL: srv.URL, Clock: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	sb, err := svc.IssueAccessToken(ctx, f.sandboxReq())
	if err != nil {
		t.Fatal(err)
	}
	def, err := NewRemoteVerifier(RemoteConfig{BaseURL: srv.URL, VerifierConfig: VerifierConfig{SkipAudience: true,
		Clock: f.clock.Now}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := def.Verify(ctx, sb.Value); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("default RemoteVerifier accepted a sandbox token (err %v)", err)
	}
	sandbox, err := NewRemoteVerifier(RemoteConfig{BaseURL: srv.URL, VerifierConfig: VerifierConfig{SkipAudience: true,
		Clock: f.clock.Now, Environments: []identity.Environment{identity.Sandbox}}})
	if err != nil {
		t.Fatal(err)
	}
	paths = nil
	if _, err := sandbox.Verify(ctx, sb.Value); err != nil {
		t.Fatalf("sandbox RemoteVerifier: %v", err)
	}
	if want := "/sandbox/t/" + f.org.Domain + "/.well-known"; len(paths) != 1 || paths[0] != want {
		t.Fatalf("fetched %v, want [%s]", paths, want)
	}
}

// TestAPIKeyTokensBothEnvironments: management tokens keep working for
// the credentials of both environments, each under its environment's
// issuer.
func TestAPIKeyTokensBothEnvironments(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, env := range []identity.Environment{identity.Production, identity.Sandbox} {
		t.Run(string(env), func(t *testing.T) {
			cred := &identity.Credential{ID: "cred-" + string(env), Environment: env, Permissions: []string{"read:users"}}
			tok, _, err := f.svc.IssueAPIKeyToken(ctx, cred, "")
			if err != nil {
				t.Fatal(err)
			}
			c, err := f.svc.VerifyAPIKeyToken(ctx, tok)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if got, _ := c.Environment(); got != env {
				t.Fatalf("environment %q", got)
			}
			if want := IssuerURL(testBase, env, "acme-account"); c.Issuer != want {
				t.Fatalf("issuer %q, want %q", c.Issuer, want)
			}
		})
	}
}

// TestMiddlewareDefaultsToProduction: Middleware over a default Verifier
// answers 401 to a sandbox bearer token and lets a production one through.
func TestMiddlewareDefaultsToProduction(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sb, err := f.svc.IssueAccessToken(ctx, f.sandboxReq())
	if err != nil {
		t.Fatal(err)
	}
	pr, err := f.svc.IssueAccessToken(ctx, f.req())
	if err != nil {
		t.Fatal(err)
	}
	h := Middleware(f.verifier(t))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	for _, tc := range []struct {
		token string
		want  int
	}{{sb.Value, http.StatusUnauthorized}, {pr.Value, http.StatusNoContent}} {
		r := httptest.NewRequest(http.MethodGet, "/me", nil)
		r.Header.Set("Authorization", "Bearer "+tc.token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("status %d, want %d", w.Code, tc.want)
		}
	}
}
