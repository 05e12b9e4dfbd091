package tokens

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/identity"
)

// forge signs arbitrary claims with key, under arbitrary header fields.
func forge(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, hdr map[string]any, claims map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	opts.WithType("JWT")
	for k, v := range hdr {
		opts.WithHeader(jose.HeaderKey(k), v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// validClaims returns the claims of a valid access token as a map.
func validClaims(t *testing.T, tok *Token) map[string]any {
	t.Helper()
	return decodePart(t, tok.Value, 1)
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestVerifyRejectsTampering(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	good, err := f.svc.IssueAccessToken(ctx, f.req())
	if err != nil {
		t.Fatal(err)
	}
	sk, err := f.svc.activeSigner(ctx, identity.Production, f.org.Domain, RS256)
	if err != nil {
		t.Fatal(err)
	}
	iss := f.svc.Issuer(identity.Production, f.org.Domain)
	hdr := map[string]any{"iss": iss}
	claims := func(mod func(m map[string]any)) map[string]any {
		m := validClaims(t, good)
		mod(m)
		return m
	}
	// A second organization's key, valid for its own issuer.
	name := "Other Org"
	other, err := f.id.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	osk, err := f.svc.activeSigner(ctx, identity.Production, other.Domain, RS256)
	if err != nil {
		t.Fatal(err)
	}
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	parts := strings.Split(good.Value, ".")
	sig := []byte(parts[2])
	sig[10] ^= 1
	noneHdr := b64(map[string]any{"alg": "none", "typ": "JWT", "kid": good.KeyID, "iss": iss})

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"empty", "", ErrInvalidToken},
		{"garbage", "not.a.jwt", ErrInvalidToken},
		{"flipped signature", parts[0] + "." + parts[1] + "." + string(sig), ErrInvalidToken},
		{"changed payload", parts[0] + "." + b64(claims(func(m map[string]any) { m["sub"] = "admin" })) + "." + parts[2], ErrInvalidToken},
		{"alg none", noneHdr + "." + parts[1] + ".", ErrInvalidToken},
		{"alg none with signature", noneHdr + "." + parts[1] + "." + parts[2], ErrInvalidToken},
		{"HS256 keyed with the public key", forge(t, jose.HS256, []byte(strings.Repeat("k", 32)), good.KeyID, hdr, claims(func(map[string]any) {})), ErrInvalidToken},
		{"ES256 under an RS256 kid", forge(t, jose.ES256, ecKey, good.KeyID, hdr, claims(func(map[string]any) {})), ErrInvalidToken},
		{"stranger key, real kid", forge(t, jose.RS256, stranger, good.KeyID, hdr, claims(func(map[string]any) {})), ErrInvalidToken},
		{"unknown kid", forge(t, jose.RS256, sk.priv, "8d1f6c1e-0000-4000-8000-000000000000", hdr, claims(func(map[string]any) {})), ErrInvalidToken},
		{"no kid", forge(t, jose.RS256, sk.priv, "", hdr, claims(func(map[string]any) {})), ErrInvalidToken},
		{"other org's key for this issuer", forge(t, jose.RS256, osk.priv, osk.kid, hdr, claims(func(map[string]any) {})), ErrInvalidToken},
		{"wrong issuer host", forge(t, jose.RS256, sk.priv, sk.kid, map[string]any{}, claims(func(m map[string]any) { m["iss"] = "https://evil.example/t/shark-academy" })), ErrInvalidToken},
		{"issuer and tnt disagree", forge(t, jose.RS256, osk.priv, osk.kid, map[string]any{}, claims(func(m map[string]any) { m["iss"] = f.svc.Issuer(identity.Production, other.Domain) })), ErrInvalidToken},
		{"header iss disagrees", forge(t, jose.RS256, sk.priv, sk.kid, map[string]any{"iss": "https://evil.example/t/x"}, claims(func(map[string]any) {})), ErrInvalidToken},
		{"wrong audience", forge(t, jose.RS256, sk.priv, sk.kid, hdr, claims(func(m map[string]any) { m["aud"] = "https://evil.example" })), ErrInvalidToken},
		{"no audience", forge(t, jose.RS256, sk.priv, sk.kid, hdr, claims(func(m map[string]any) { m["aud"] = nil })), ErrInvalidToken},
		{"expired", forge(t, jose.RS256, sk.priv, sk.kid, hdr, claims(func(m map[string]any) { m["exp"] = f.clock.Now().Add(-time.Minute).Unix() })), ErrTokenExpired},
		{"no exp", forge(t, jose.RS256, sk.priv, sk.kid, hdr, claims(func(m map[string]any) { delete(m, "exp") })), ErrInvalidToken},
		{"issued in the future", forge(t, jose.RS256, sk.priv, sk.kid, hdr, claims(func(m map[string]any) { m["iat"] = f.clock.Now().Add(time.Hour).Unix() })), ErrInvalidToken},
		{"wrong token type", forge(t, jose.RS256, sk.priv, sk.kid, hdr, claims(func(m map[string]any) { m["jtt"] = "api_key" })), ErrInvalidToken},
		{"wrong version", forge(t, jose.RS256, sk.priv, sk.kid, hdr, claims(func(m map[string]any) { m["ver"] = 3 })), ErrInvalidToken},
		{"sandbox dbs on a production key", forge(t, jose.RS256, sk.priv, sk.kid, hdr, claims(func(m map[string]any) { m["dbs"] = "sandbox" })), ErrInvalidToken},
		{"unknown dbs", forge(t, jose.RS256, sk.priv, sk.kid, hdr, claims(func(m map[string]any) { m["dbs"] = "staging" })), ErrInvalidToken},
		{"malformed exp", forge(t, jose.RS256, sk.priv, sk.kid, hdr, claims(func(m map[string]any) { m["exp"] = "tomorrow" })), ErrInvalidToken},
		{"domain with a NUL", forge(t, jose.RS256, sk.priv, sk.kid, map[string]any{}, claims(func(m map[string]any) { m["iss"] = iss + "\x00x"; m["tnt"] = f.org.Domain + "\x00x" })), ErrInvalidToken},
		{"too long", strings.Repeat("a", DefaultMaxTokenBytes+1), ErrInvalidToken},
	}
	wrongTyp := func() string {
		opts := (&jose.SignerOptions{}).WithType("at+jwt").WithHeader("iss", iss)
		s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: sk.priv, KeyID: sk.kid}}, opts)
		payload, _ := json.Marshal(validClaims(t, good))
		jws, _ := s.Sign(payload)
		v, _ := jws.CompactSerialize()
		return v
	}()
	tests = append(tests, struct {
		name  string
		token string
		want  error
	}{"wrong typ", wrongTyp, ErrInvalidToken})

	v := f.verifier(t)
	if _, err := v.Verify(ctx, good.Value); err != nil {
		t.Fatalf("the untampered token must verify: %v", err)
	}
	if _, err := v.Verify(ctx, forge(t, jose.RS256, sk.priv, sk.kid, hdr, validClaims(t, good))); err != nil {
		t.Fatalf("the forge helper must produce valid tokens from valid claims: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Verify(ctx, tt.token)
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			if !errors.Is(err, tt.want) || !errors.Is(err, identity.ErrUnauthenticated) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifierRules(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tok, err := f.svc.IssueAccessToken(ctx, f.req())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  func(*VerifierConfig)
		ok   bool
	}{
		{"defaults", func(*VerifierConfig) {}, true},
		{"client id listed", func(c *VerifierConfig) { c.ClientIDs = []string{f.app.ClientID} }, true},
		{"client id not listed", func(c *VerifierConfig) { c.ClientIDs = []string{"other"} }, false},
		{"domain listed", func(c *VerifierConfig) { c.Domains = []string{f.org.Domain} }, true},
		{"domain not listed", func(c *VerifierConfig) { c.Domains = []string{"other"} }, false},
		{"sandbox only", func(c *VerifierConfig) { c.Environments = []identity.Environment{identity.Sandbox} }, false},
		{"ID tokens only", func(c *VerifierConfig) { c.TokenTypes = []string{TypeID} }, false},
		{"ES256 only", func(c *VerifierConfig) { c.Algorithms = []string{ES256} }, false},
		{"skip audience", func(c *VerifierConfig) { c.Audiences = nil; c.SkipAudience = true }, true},
		{"within leeway", func(c *VerifierConfig) {
			c.Clock = func() time.Time { return tok.ExpiresAt.Add(20 * time.Second) }
		}, true},
		{"beyond leeway", func(c *VerifierConfig) {
			c.Clock = func() time.Time { return tok.ExpiresAt.Add(31 * time.Second) }
		}, false},
	}
	for _, tt := range tests {
		v := f.verifier(t, tt.cfg)
		_, err := v.Verify(ctx, tok.Value)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	if _, err := f.svc.NewVerifier(VerifierConfig{}); !errors.Is(err, identity.ErrInvalid) {
		t.Errorf("a verifier without audiences must be refused, got %v", err)
	}
	if _, err := f.svc.NewVerifier(VerifierConfig{SkipAudience: true, Algorithms: []string{"none"}}); err == nil {
		t.Error("alg none must be refused in the allow-list")
	}
}

func TestVerifierSandbox(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	req := f.req()
	req.Env = identity.Sandbox
	tok, err := f.svc.IssueAccessToken(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if c := decodePart(t, tok.Value, 1); c["dbs"] != "sandbox" {
		t.Fatalf("dbs = %v", c["dbs"])
	}
	prod, err := f.svc.IssueAccessToken(ctx, f.req())
	if err != nil {
		t.Fatal(err)
	}
	if tok.KeyID == prod.KeyID {
		t.Fatal("sandbox and production must have their own key sets")
	}
	if _, err := f.verifier(t, func(c *VerifierConfig) {
		c.Environments = []identity.Environment{identity.Sandbox}
	}).Verify(ctx, tok.Value); err != nil {
		t.Fatal(err)
	}
	for name, envs := range map[string][]identity.Environment{"default": nil, "production": {identity.Production}} {
		if _, err := f.verifier(t, func(c *VerifierConfig) { c.Environments = envs }).Verify(ctx, tok.Value); err == nil {
			t.Fatalf("a %s verifier accepted a sandbox token", name)
		}
	}
}

func TestVerifierCache(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tok, err := f.svc.IssueAccessToken(ctx, f.req())
	if err != nil {
		t.Fatal(err)
	}
	v := f.verifier(t, func(c *VerifierConfig) { c.CacheSize = cacheShards * 2 })
	c1, err := v.Verify(ctx, tok.Value)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := v.Verify(ctx, tok.Value)
	if err != nil {
		t.Fatal(err)
	}
	if c1 != c2 {
		t.Error("the second verification was not answered from the cache")
	}
	// A cached token still expires.
	f.clock.Advance(time.Hour + DefaultLeeway)
	if _, err := v.Verify(ctx, tok.Value); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("cached token after expiry: err = %v", err)
	}
	// The cache stays within its bound.
	for i := 0; i < 200; i++ {
		tok, err := f.svc.IssueAccessToken(ctx, f.req())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(ctx, tok.Value); err != nil {
			t.Fatal(err)
		}
	}
	if n := v.c.cache.len(); n > cacheShards*2 {
		t.Errorf("cache holds %d entries, bound %d", n, cacheShards*2)
	}
}

func TestTokenCacheEviction(t *testing.T) {
	c := newHashCache(cacheShards) // one entry per shard
	now := time.Unix(1000, 0)
	k1 := cacheKey("a")
	c.put(k1, &Claims{ID: "a"}, now.Add(time.Minute), now)
	if _, ok := c.get(k1, now); !ok {
		t.Fatal("missing entry")
	}
	if _, ok := c.get(k1, now.Add(time.Minute)); ok {
		t.Fatal("expired entry returned")
	}
	// Already expired tokens are not stored.
	k2 := cacheKey("b")
	c.put(k2, &Claims{}, now, now)
	if _, ok := c.get(k2, now.Add(-time.Second)); ok {
		t.Fatal("expired token stored")
	}
	// A full shard makes room.
	var same [32]byte
	same[0] = k1[0]
	same[1] = k1[1] ^ 0xff
	c.put(same, &Claims{ID: "c"}, now.Add(time.Hour), now)
	if c.len() != 1 {
		t.Fatalf("len = %d, want 1", c.len())
	}

	// String keys are bounded by bytes too.
	sc := newStringCache(1000, cacheShards*100) // 100 bytes per shard
	long := strings.Repeat("x", 60) + "A"
	sc.put(long, &Claims{}, now.Add(time.Hour), now)
	sc.put(strings.Repeat("y", 60)+"A", &Claims{}, now.Add(time.Hour), now) // same shard
	if sc.len() != 1 {
		t.Fatalf("byte bound not kept: %d entries", sc.len())
	}
	sc.put(strings.Repeat("z", 200), &Claims{}, now.Add(time.Hour), now)
	if _, ok := sc.get(strings.Repeat("z", 200), now); ok {
		t.Fatal("a key larger than a shard's budget was stored")
	}
}

func TestValidDomainMatchesIdentity(t *testing.T) {
	for _, d := range []string{"", "a", "shark-academy", "a-b-c", "-a", "a-", "a--b", "A", "a_b", "a.b", "a/b",
		"0", "x\x00", strings.Repeat("a", 63), strings.Repeat("a", 64), "é", "a b"} {
		if got, want := validDomain(d), identity.CheckDomain(d) == ""; got != want {
			t.Errorf("validDomain(%q) = %v, identity says %v", d, got, want)
		}
	}
}

// TestAcceptExpiredFor: a verifier made to read expired tokens for a
// while accepts one that expired within that time, and still refuses one
// past it.
func TestAcceptExpiredFor(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tok, err := f.svc.IssueAccessToken(ctx, f.req())
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.svc.NewVerifier(VerifierConfig{SkipAudience: true, AcceptExpiredFor: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(DefaultAccessTokenTTL + 30*time.Minute)
	if _, err := v.Verify(ctx, tok.Value); err != nil {
		t.Fatalf("expired 30 min ago: %v", err)
	}
	f.clock.Advance(2 * time.Hour)
	if _, err := v.Verify(ctx, tok.Value); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("expired 2 h 30 ago: %v", err)
	}
}
