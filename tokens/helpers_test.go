package tokens

import (
	"context"
	"crypto"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/testkit"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// newClock returns the clock shared by the identity and tokens services.
func newClock() *testkit.Clock { return testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) }

const testBase = "https://auth.example.com"

// countingStore counts read transactions, to show what the caches save.
type countingStore struct {
	identity.Store
	views atomic.Int64
}

func (c *countingStore) View(ctx context.Context, fn func(tx identity.ReadTx) error) error {
	c.views.Add(1)
	return c.Store.View(ctx, fn)
}

type fixture struct {
	clock *testkit.Clock
	store *countingStore
	id    *identity.Service
	svc   *Service
	org   *identity.Organization
	app   *identity.Application
	user  *identity.User
}

func newFixture(t testing.TB, mod ...func(*Options)) *fixture {
	t.Helper()
	f := &fixture{clock: newClock(), store: &countingStore{Store: memory.New()}}
	id, err := identity.NewService(identity.Options{Store: f.store, Clock: f.clock.Now, AccountDomain: "acme-account",
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	f.id = id
	opts := Options{Identity: id, BaseURL: testBase}
	for _, m := range mod {
		m(&opts)
	}
	if f.svc, err = New(opts); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	name := "Shark Academy"
	if f.org, err = id.CreateOrganization(ctx, identity.OrganizationInput{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if f.app, _, err = id.CreateApplication(ctx, f.org.Domain, identity.Application{
		Name: "Front", ApplicationType: identity.AppReact,
		AllowedRedirectURLs: []string{"http://localhost:4200/callback"},
		AllowedOriginsCORS:  []string{"http://localhost:4200"},
		Metadata:            map[string]string{"plan": "gold"},
	}); err != nil {
		t.Fatal(err)
	}
	u := identity.User{Email: "jane.doe@example.com", Enabled: true, Verified: true,
		Profile: identity.Profile{GivenName: "Jane", FamilyName: "Doe", Name: "Jane Doe", Locale: "fr"}}
	if f.user, err = id.CreateUser(ctx, f.org.Domain, u, ""); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) req() *TokenRequest {
	return &TokenRequest{OrgDomain: f.org.Domain, User: f.user, App: f.app,
		Scopes: []string{"openid", "email", "profile"}, Nonce: "n-0S6_WzA2Mj", Code: "code-1", State: "state-1"}
}

func (f *fixture) verifier(t testing.TB, mod ...func(*VerifierConfig)) *Verifier {
	t.Helper()
	cfg := VerifierConfig{Audiences: []string{"http://localhost:4200"}}
	for _, m := range mod {
		m(&cfg)
	}
	v, err := f.svc.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func uuidParse(v any) (uuid.UUID, error) {
	s, _ := v.(string)
	return uuid.Parse(s)
}

// newJoseSigner is a go-jose signer with Gatehouse's headers: the reference
// that tests and benchmarks compare the token writer (newSigningKey) with.
func newJoseSigner(priv crypto.Signer, kid, alg, issuer string) (jose.Signer, error) {
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("iss", issuer)
	return jose.NewSigner(jose.SigningKey{
		Algorithm: jose.SignatureAlgorithm(alg),
		Key:       jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: alg},
	}, opts)
}

// forgeNoTest signs claims with a service key under Gatehouse's headers.
func forgeNoTest(sk *signingKey, claims map[string]any) string {
	iss, _ := claims["iss"].(string)
	signer, err := newJoseSigner(sk.priv, sk.kid, sk.alg, iss)
	if err != nil {
		panic(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		panic(err)
	}
	s, _ := jws.CompactSerialize()
	return s
}
