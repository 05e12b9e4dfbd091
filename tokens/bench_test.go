package tokens

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
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

func benchFixture(b *testing.B, alg string, mod ...func(*Options)) (*fixture, *TokenRequest) {
	f := newFixture(b, mod...)
	app := *f.app
	app.SigningAlg = alg
	req := f.req()
	req.App = &app
	if _, err := f.svc.IssueAccessToken(context.Background(), req); err != nil {
		b.Fatal(err)
	}
	return f, req
}

// issueCase is a signing algorithm and an RS256 signer to benchmark.
type issueCase struct {
	name, alg string
	signer    RSASigner
}

// issueCases: RS256 by the default signer (OpenSSL where it loads), RS256
// by crypto/rsa (RSASignerGo), ES256.
func issueCases() []issueCase {
	return []issueCase{{RS256, RS256, RSASignerAuto}, {"RS256-go", RS256, RSASignerGo}, {ES256, ES256, RSASignerAuto}}
}

// BenchmarkIssue compares issuing an access token with signing the same
// claims with go-jose directly (prepared signer, same key, same headers),
// for RS256 with each signer (RS256: the default, OpenSSL where it loads;
// RS256-go: crypto/rsa) and ES256. bare-sign is the service's own signer
// of the key on a digest (no token); bare-stdlib is the standard library's
// signature of the same digest (rsa.SignPKCS1v15, ecdsa).
func BenchmarkIssue(b *testing.B) {
	for _, tc := range issueCases() {
		alg := tc.alg
		f, req := benchFixture(b, alg, func(o *Options) { o.RSASigner = tc.signer })
		ctx := context.Background()
		b.Logf("%s: RS256 signed by %s", tc.name, f.svc.RSAImplementation())
		digest := sha256.Sum256([]byte("header.payload"))
		b.Run(tc.name+"/bare-stdlib", func(b *testing.B) {
			sk, err := f.svc.activeSigner(ctx, identity.Production, f.org.Domain, alg)
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < b.N; i++ {
				if _, err := sk.priv.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
					b.Fatal(err)
				}
			}
		})
		if alg == RS256 {
			b.Run(tc.name+"/bare-sign", func(b *testing.B) {
				sk, err := f.svc.activeSigner(ctx, identity.Production, f.org.Domain, alg)
				if err != nil {
					b.Fatal(err)
				}
				for i := 0; i < b.N; i++ {
					if _, err := sk.rsa(digest[:]); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		if tc.name == "RS256-go" {
			// go-jose signs with crypto/rsa whatever the service does:
			// RS256/go-jose already measures it.
			b.Run(tc.name+"/gatehouse", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if _, err := f.svc.IssueAccessToken(ctx, req); err != nil {
						b.Fatal(err)
					}
				}
			})
			continue
		}
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
// both costs and the overhead in percent. Issuance also signs a digest with
// the standard library alone (rsa.SignPKCS1v15, ecdsa) in each iteration
// and reports Gatehouse's cost over it (gatehouse/bare-stdlib), for RS256
// with each signer (RS256: the default, OpenSSL where it loads; RS256-go:
// crypto/rsa) and ES256.
func BenchmarkPaired(b *testing.B) {
	const pool = 512
	for _, tc := range issueCases() {
		alg := tc.alg
		f, req := benchFixture(b, alg, func(o *Options) { o.RSASigner = tc.signer })
		ctx := context.Background()
		b.Logf("%s: RS256 signed by %s", tc.name, f.svc.RSAImplementation())
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
		b.Run("issue/"+tc.name, func(b *testing.B) {
			signer, err := newJoseSigner(sk.priv, sk.kid, alg, f.svc.Issuer(identity.Production, f.org.Domain))
			if err != nil {
				b.Fatal(err)
			}
			tok, _ := f.svc.IssueAccessToken(ctx, req)
			claims := plainOf(tok.Claims)
			digest := sha256.Sum256([]byte(tok.Value))
			var ours, bare, oursMin, bareMin, stdlib time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t3 := time.Now()
				if _, err := sk.priv.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
					b.Fatal(err)
				}
				stdlib += time.Since(t3)
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
			b.ReportMetric(float64(stdlib.Nanoseconds())/float64(b.N), "bare-stdlib-ns/op")
			b.ReportMetric(float64(ours)/float64(stdlib), "gatehouse/bare-stdlib")
		})
		if tc.name == "RS256-go" {
			continue // verification does not depend on the signer
		}
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
