package tokens_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/memory"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// setup opens an identity core on a memory store with one organization,
// one application and one user.
func setup() (*identity.Service, *identity.Organization, *identity.Application, *identity.User) {
	ctx := context.Background()
	id, err := identity.NewService(identity.Options{Store: memory.New(), AccountDomain: "acme"})
	if err != nil {
		panic(err)
	}
	name := "Shark Academy"
	org, err := id.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
	if err != nil {
		panic(err)
	}
	app, _, err := id.CreateApplication(ctx, org.Domain, identity.Application{
		Name: "Front", ApplicationType: identity.AppReact,
		AllowedRedirectURLs: []string{"https://app.example.com/callback"},
		AllowedOriginsCORS:  []string{"https://app.example.com"},
	})
	if err != nil {
		panic(err)
	}
	user, err := id.CreateUser(ctx, org.Domain, identity.User{Email: "jane@example.com", Enabled: true}, "")
	if err != nil {
		panic(err)
	}
	return id, org, app, user
}

func ExampleService_IssueTokens() {
	ctx := context.Background()
	id, org, app, user := setup()
	svc, err := tokens.New(tokens.Options{Identity: id, BaseURL: "https://auth.example.com"})
	if err != nil {
		panic(err)
	}
	access, idToken, err := svc.IssueTokens(ctx, &tokens.TokenRequest{
		OrgDomain: org.Domain, User: user, App: app,
		Scopes: []string{"openid", "email"}, Nonce: "n-123",
	})
	if err != nil {
		panic(err)
	}
	v, err := svc.NewVerifier(tokens.VerifierConfig{Audiences: []string{"https://app.example.com"}})
	if err != nil {
		panic(err)
	}
	c, err := v.Verify(ctx, access.Value)
	if err != nil {
		panic(err)
	}
	fmt.Println(c.Issuer, c.Type, c.Tenant, c.Database, c.Audience[0], c.Subject == user.ID)
	fmt.Println(idToken.Claims.Type, idToken.Claims.Nonce, idToken.Claims.AtHash != "")
	// Output:
	// https://auth.example.com/t/shark-academy access shark-academy default https://app.example.com true
	// openid n-123 true
}

func ExampleService_IssueAPIKeyToken() {
	ctx := context.Background()
	id, _, _, _ := setup()
	svc, err := tokens.New(tokens.Options{Identity: id, BaseURL: "https://auth.example.com"})
	if err != nil {
		panic(err)
	}
	cred := &identity.Credential{ID: "a1b2", Environment: identity.Sandbox,
		Permissions: []string{"read:users", "create:users"}}
	tok, _, err := svc.IssueAPIKeyToken(ctx, cred, "acme")
	if err != nil {
		panic(err)
	}
	// On every /api/v2 request (cached after the first check):
	c, err := svc.VerifyAPIKeyToken(ctx, tok)
	if err != nil {
		panic(err)
	}
	fmt.Println(c.Type, c.Subject, c.Tenant, c.Database, c.Scopes)
	// Output: api_key a1b2 acme sandbox [read:users create:users]
}

func ExampleMiddleware() {
	ctx := context.Background()
	id, org, app, user := setup()
	svc, err := tokens.New(tokens.Options{Identity: id, BaseURL: "https://auth.example.com"})
	if err != nil {
		panic(err)
	}
	v, err := svc.NewVerifier(tokens.VerifierConfig{Audiences: []string{"https://app.example.com"}})
	if err != nil {
		panic(err)
	}
	api := tokens.Middleware(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := tokens.ClaimsFrom(r.Context())
		fmt.Fprintf(w, "hello %s", c.Email)
	}))

	tok, err := svc.IssueAccessToken(ctx, &tokens.TokenRequest{OrgDomain: org.Domain, User: user, App: app})
	if err != nil {
		panic(err)
	}
	for _, auth := range []string{"Bearer " + tok.Value, "Bearer forged"} {
		r := httptest.NewRequest("GET", "/me", nil)
		r.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		fmt.Println(strings.TrimSpace(fmt.Sprint(w.Code, " ", w.Body.String(), " ", w.Header().Get("WWW-Authenticate"))))
	}
	// Output:
	// 200 hello jane@example.com
	// 401 {"error":"invalid_token"} Bearer error="invalid_token", error_description="the access token is invalid"
}

func ExampleService_JWKSHandler() {
	id, org, app, user := setup()
	svc, err := tokens.New(tokens.Options{Identity: id, BaseURL: "https://auth.example.com"})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	jwks := svc.JWKSHandler(identity.Production, func(r *http.Request) string { return r.PathValue("domain") })
	mux.Handle("GET /t/{domain}/.well-known", jwks)
	mux.Handle("GET /t/{domain}/.well-known/jwks", jwks)

	// An organization's keys exist from the first JWKS request or the
	// first signature, whichever comes first: the active and the next key
	// are published. This is the production issuer's JWKS: the sandbox
	// issuer, /sandbox/t/{domain}, publishes the sandbox keys.
	if _, err := svc.IssueAccessToken(context.Background(), &tokens.TokenRequest{OrgDomain: org.Domain, User: user, App: app}); err != nil {
		panic(err)
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/t/shark-academy/.well-known/jwks", nil))
	fmt.Println(w.Code, w.Header().Get("Cache-Control"), strings.Count(w.Body.String(), `"kid"`))
	// An unknown domain has no keys, and none are made for it.
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/t/no-such-org/.well-known/jwks", nil))
	fmt.Println(w.Code, strings.Count(w.Body.String(), `"kid"`))
	// Output:
	// 200 public, max-age=3600 2
	// 200 0
}

func ExampleNewRemoteVerifier() {
	ctx := context.Background()
	id, org, app, user := setup()
	// The Gatehouse server, here in a test server: it serves the JWKS at
	// {issuer}/.well-known.
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	svc, err := tokens.New(tokens.Options{Identity: id, BaseURL: srv.URL})
	if err != nil {
		panic(err)
	}
	mux.Handle("GET /t/{domain}/.well-known", svc.JWKSHandler(identity.Production, func(r *http.Request) string { return r.PathValue("domain") }))
	tok, err := svc.IssueAccessToken(ctx, &tokens.TokenRequest{OrgDomain: org.Domain, User: user, App: app})
	if err != nil {
		panic(err)
	}

	// Another service, which only knows the base URL.
	rv, err := tokens.NewRemoteVerifier(tokens.RemoteConfig{
		BaseURL: srv.URL,
		VerifierConfig: tokens.VerifierConfig{
			Audiences: []string{"https://app.example.com"},
			Domains:   []string{"shark-academy"},
		},
	})
	if err != nil {
		panic(err)
	}
	c, err := rv.Verify(ctx, tok.Value)
	if err != nil {
		panic(err)
	}
	fmt.Println(c.Tenant, c.Email)
	// Output: shark-academy jane@example.com
}

// An operator who wants RS256 signed by Go's crypto/rsa whatever the
// system offers sets Options.RSASigner to RSASignerGo (RSASignerOpenSSL
// instead makes New fail when OpenSSL 3 cannot be loaded). The default,
// RSASignerAuto, reports "openssl 3.x.y" where libcrypto.so.3 loads.
func ExampleService_RSAImplementation() {
	id, _, _, _ := setup()
	svc, err := tokens.New(tokens.Options{Identity: id, BaseURL: "https://auth.example.com",
		RSASigner: tokens.RSASignerGo})
	if err != nil {
		panic(err)
	}
	fmt.Println(svc.RSAImplementation())
	// Output: crypto/rsa
}
