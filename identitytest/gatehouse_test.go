package identitytest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identitytest"
	"github.com/gatehouse-id/gatehouse/internal/flowtest"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// TestHostedSignIn guards that the Env is a whole Gatehouse: the seeded
// user signs in through the hosted page of Env.Handler (served by
// WithServer; authorization code with PKCE) with the seeded application,
// and the access token of that sign-in passes the host's handler behind
// Env.Middleware, with the user's claims and those of the host's claims
// hook (WithClaimsUpdater reaches the hosted sign-in's tokens too);
// without a token the handler is refused.
func TestHostedSignIn(t *testing.T) {
	const password = "correct horse battery staple"
	hook := tokens.ClaimsUpdaterFunc(func(_ context.Context, _ *tokens.TokenRequest, c *tokens.Claims) error {
		if c.Extra == nil {
			c.Extra = map[string]any{}
		}
		c.Extra["plan"] = "gold"
		return nil
	})
	env := identitytest.New(t, identitytest.WithServer(), identitytest.WithUserPassword(password),
		identitytest.WithClaimsUpdater(hook))
	org, user, app := env.Organization(), env.User(), env.Application()
	res := flowtest.Run(t, flowtest.SignIn{Issuer: env.Issuer("", org.Domain), ClientID: app.ClientID,
		RedirectURI: identitytest.DefaultOrigin + "/callback", Email: user.Email, Password: password})
	if res.CallbackIssuer != env.Issuer(identity.Production, org.Domain) {
		t.Errorf("callback issuer %q", res.CallbackIssuer)
	}
	code, claims := call(t, env.Middleware(), res.AccessToken)
	if code != http.StatusOK || claims == nil {
		t.Fatalf("host handler with the signed-in token: %d", code)
	}
	if claims.Subject != user.ID || claims.Tenant != org.Domain || claims.ClientID != app.ClientID ||
		!claims.Audience.Contains(env.Audience()) || claims.Extra["plan"] != "gold" {
		t.Errorf("claims of the signed-in token: sub %q tnt %q cid %q aud %v extra %v", claims.Subject,
			claims.Tenant, claims.ClientID, claims.Audience, claims.Extra)
	}
	if code, _ := call(t, env.Middleware(), ""); code != http.StatusUnauthorized {
		t.Errorf("host handler without a token: %d", code)
	}
	// The Env's services are its Gatehouse's.
	if gh := env.Gatehouse(); gh.Production() != env.Identity() || gh.Tokens() != env.TokenService() ||
		gh.BaseURL() != env.BaseURL() {
		t.Error("Env services differ from Gatehouse()'s")
	}
}

// TestExpiredFirstToken guards the Expired tokens' back-dated issuance
// when it is the issuer's first token (so it creates the key set): the
// Env's verifiers and the JWKS that Env.Handler serves hold its key, so
// verification fails only because it expired, and a verifier whose clock
// stands just before its expiry accepts it.
func TestExpiredFirstToken(t *testing.T) {
	for _, alg := range []string{tokens.ES256, tokens.RS256} {
		t.Run(alg, func(t *testing.T) {
			env := identitytest.New(t, identitytest.WithServer(), identitytest.WithSigningAlg(alg))
			tok := env.Token(env.User(), identitytest.Expired())
			ctx := context.Background()
			if _, err := env.Verifier().Verify(ctx, tok); !errors.Is(err, tokens.ErrTokenExpired) {
				t.Errorf("local verifier: %v, want %v", err, tokens.ErrTokenExpired)
			}
			if _, err := env.RemoteVerifier(tokens.VerifierConfig{}).Verify(ctx, tok); !errors.Is(err, tokens.ErrTokenExpired) {
				t.Errorf("remote verifier: %v, want %v", err, tokens.ErrTokenExpired)
			}
			then := env.Now().Add(-identitytest.ExpiredBy - 2*time.Second)
			c, err := env.NewVerifier(tokens.VerifierConfig{Clock: func() time.Time { return then }}).Verify(ctx, tok)
			if err != nil {
				t.Fatalf("verifier before its expiry: %v", err)
			}
			if got := time.Unix(c.IssuedAt, 0); !got.Equal(env.Now().Add(-identitytest.ExpiredBy)) {
				t.Errorf("iat %v, want %v", got, env.Now().Add(-identitytest.ExpiredBy))
			}
		})
	}
}

// Env.Handler is the whole Gatehouse: with WithServer it is served at the
// Env's base URL, so discovery, the hosted sign-in and the JWKS answer
// over HTTP.
func ExampleEnv_Handler() {
	env := identitytest.New(&testing.T{}, identitytest.WithServer())
	issuer := env.Issuer(identity.Production, env.Organization().Domain)
	res, err := http.Get(issuer + "/.well-known/openid-configuration")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer res.Body.Close()
	var doc struct {
		Issuer        string `json:"issuer"`
		Authorization string `json:"authorization_endpoint"`
	}
	_ = json.NewDecoder(res.Body).Decode(&doc)
	fmt.Println(res.StatusCode, doc.Issuer == issuer, doc.Authorization == issuer+"/authorize")

	// Without WithServer, mount it in a test server of your own.
	rec := httptest.NewRecorder()
	identitytest.New(&testing.T{}).Handler().ServeHTTP(rec,
		httptest.NewRequest("GET", "/t/acme/.well-known/jwks", nil))
	fmt.Println(rec.Code)
	// Output:
	// 200 true true
	// 200
}
