package tokens

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/identity"
)

// plainClaims is what a hand-written go-jose issuer would marshal: the same
// claims as our access tokens, in a plain struct.
type plainClaims struct {
	ApplicationMetadata map[string]any `json:"application_metadata"`
	Aud                 string         `json:"aud"`
	Cid                 string         `json:"cid"`
	Dbs                 string         `json:"dbs"`
	Email               string         `json:"email"`
	Exp                 int64          `json:"exp"`
	Iat                 int64          `json:"iat"`
	Ips                 string         `json:"ips"`
	Iss                 string         `json:"iss"`
	Jti                 string         `json:"jti"`
	Jtt                 string         `json:"jtt"`
	Sci                 *string        `json:"sci"`
	Scp                 []string       `json:"scp"`
	Sub                 string         `json:"sub"`
	Tnt                 string         `json:"tnt"`
	Ver                 int            `json:"ver"`
}

func plainOf(c *Claims) plainClaims {
	return plainClaims{ApplicationMetadata: c.ApplicationMetadata, Aud: c.Audience[0], Cid: c.ClientID,
		Dbs: c.Database, Email: c.Email, Exp: c.Expiry, Iat: c.IssuedAt, Ips: c.IdentityProvider,
		Iss: c.Issuer, Jti: c.ID, Jtt: c.Type, Scp: c.Scopes, Sub: c.Subject, Tnt: c.Tenant, Ver: c.Version}
}

func benchFixture(b *testing.B, alg string) (*fixture, *TokenRequest) {
	f := newFixture(b)
	app := *f.app
	app.SigningAlg = alg
	req := f.req()
	req.App = &app
	if _, err := f.svc.IssueAccessToken(context.Background(), req); err != nil {
		b.Fatal(err)
	}
	return f, req
}

// BenchmarkIssue compares issuing an access token with signing the same
// claims with go-jose directly (prepared signer, same key, same headers).
func BenchmarkIssue(b *testing.B) {
	for _, alg := range []string{RS256, ES256} {
		f, req := benchFixture(b, alg)
		ctx := context.Background()
		b.Run(alg+"/gatehouse", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := f.svc.IssueAccessToken(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/go-jose", func(b *testing.B) {
			sk, err := f.svc.activeSigner(ctx, identity.Production, f.org.Domain, alg)
			if err != nil {
				b.Fatal(err)
			}
			signer, err := newJoseSigner(sk.priv, sk.kid, alg, f.svc.Issuer(identity.Production, f.org.Domain))
			if err != nil {
				b.Fatal(err)
			}
			tok, _ := f.svc.IssueAccessToken(ctx, req)
			claims := plainOf(tok.Claims)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				payload, err := json.Marshal(&claims)
				if err != nil {
					b.Fatal(err)
				}
				jws, err := signer.Sign(payload)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := jws.CompactSerialize(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify compares the Verifier with bare go-jose verification
// (parse, check the signature with the known key, decode the claims) on
// tokens it has not seen (a pool of distinct tokens much larger than a
// 16-entry cache, so every call misses and then stores), and measures a
// cached hit.
func BenchmarkVerify(b *testing.B) {
	const pool = 512
	for _, alg := range []string{RS256, ES256} {
		f, req := benchFixture(b, alg)
		ctx := context.Background()
		toks := make([]string, pool)
		for i := range toks {
			tok, err := f.svc.IssueAccessToken(ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			toks[i] = tok.Value
		}
		b.Run(alg+"/fresh/gatehouse", func(b *testing.B) {
			v := f.verifier(b, func(c *VerifierConfig) { c.CacheSize = cacheShards })
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := v.Verify(ctx, toks[i%pool]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/fresh/go-jose", func(b *testing.B) {
			sk, _ := f.svc.activeSigner(ctx, identity.Production, f.org.Domain, alg)
			pub := sk.priv.Public()
			algs := []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				jws, err := jose.ParseSignedCompact(toks[i%pool], algs)
				if err != nil {
					b.Fatal(err)
				}
				payload, err := jws.Verify(pub)
				if err != nil {
					b.Fatal(err)
				}
				var c plainClaims
				if err := json.Unmarshal(payload, &c); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/cached/gatehouse", func(b *testing.B) {
			v := f.verifier(b)
			if _, err := v.Verify(ctx, toks[0]); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := v.Verify(ctx, toks[0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyAPIKeyCached is the per-request cost of a management token
// seen before.
func BenchmarkVerifyAPIKeyCached(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	tok, _, err := f.svc.IssueAPIKeyToken(ctx, &identity.Credential{ID: "k", Permissions: []string{"*"}}, "")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.svc.VerifyAPIKeyToken(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.svc.VerifyAPIKeyToken(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPaired measures Gatehouse and bare go-jose in alternation, one
// call of each per iteration, so both see the same machine load; it reports
// both costs and the overhead in percent.
func BenchmarkPaired(b *testing.B) {
	const pool = 512
	for _, alg := range []string{RS256, ES256} {
		f, req := benchFixture(b, alg)
		ctx := context.Background()
		sk, err := f.svc.activeSigner(ctx, identity.Production, f.org.Domain, alg)
		if err != nil {
			b.Fatal(err)
		}
		// report gives the mean of each side and the overhead of the means,
		// and the same for the fastest call of each side, which a loaded
		// machine disturbs least.
		report := func(b *testing.B, ours, bare, oursMin, bareMin time.Duration) {
			n := float64(b.N)
			b.ReportMetric(float64(ours.Nanoseconds())/n, "gatehouse-ns/op")
			b.ReportMetric(float64(bare.Nanoseconds())/n, "go-jose-ns/op")
			b.ReportMetric(100*(float64(ours)/float64(bare)-1), "overhead-%")
			b.ReportMetric(float64(oursMin.Nanoseconds()), "gatehouse-min-ns")
			b.ReportMetric(float64(bareMin.Nanoseconds()), "go-jose-min-ns")
			b.ReportMetric(100*(float64(oursMin)/float64(bareMin)-1), "overhead-min-%")
		}
		minOf := func(m *time.Duration, d time.Duration) {
			if *m == 0 || d < *m {
				*m = d
			}
		}
		b.Run("issue/"+alg, func(b *testing.B) {
			signer, err := newJoseSigner(sk.priv, sk.kid, alg, f.svc.Issuer(identity.Production, f.org.Domain))
			if err != nil {
				b.Fatal(err)
			}
			tok, _ := f.svc.IssueAccessToken(ctx, req)
			claims := plainOf(tok.Claims)
			var ours, bare, oursMin, bareMin time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if _, err := f.svc.IssueAccessToken(ctx, req); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				payload, err := json.Marshal(&claims)
				if err != nil {
					b.Fatal(err)
				}
				jws, err := signer.Sign(payload)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := jws.CompactSerialize(); err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				ours += t1.Sub(t0)
				bare += t2.Sub(t1)
				minOf(&oursMin, t1.Sub(t0))
				minOf(&bareMin, t2.Sub(t1))
			}
			report(b, ours, bare, oursMin, bareMin)
		})
		toks := make([]string, pool)
		for i := range toks {
			tok, err := f.svc.IssueAccessToken(ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			toks[i] = tok.Value
		}
		b.Run("verify-fresh/"+alg, func(b *testing.B) {
			v := f.verifier(b, func(c *VerifierConfig) { c.CacheSize = cacheShards })
			pub := sk.priv.Public()
			algs := []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)}
			var ours, bare, oursMin, bareMin time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tok := toks[i%pool]
				t0 := time.Now()
				if _, err := v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				jws, err := jose.ParseSignedCompact(tok, algs)
				if err != nil {
					b.Fatal(err)
				}
				payload, err := jws.Verify(pub)
				if err != nil {
					b.Fatal(err)
				}
				var c plainClaims
				if err := json.Unmarshal(payload, &c); err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				ours += t1.Sub(t0)
				bare += t2.Sub(t1)
				minOf(&oursMin, t1.Sub(t0))
				minOf(&bareMin, t2.Sub(t1))
			}
			report(b, ours, bare, oursMin, bareMin)
		})
	}
}
