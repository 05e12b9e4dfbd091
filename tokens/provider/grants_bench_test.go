package provider

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/store/bolt"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// grantsEnv is a provider on a durable bolt store (fsync on commit, as in
// production) behind a loopback HTTP server, with one machine and one
// confidential web application per signing algorithm and one user.
type grantsEnv struct {
	ids      *identity.Service
	prov     *Provider
	base     string
	org      *identity.Organization
	user     *identity.User
	machine  map[string][2]string // alg → client id, secret
	web      map[string][2]string
	client   *http.Client
	tokenURL string
}

var benchAlgs = []string{tokens.ES256, tokens.RS256, tokens.EdDSA}

func newGrantsEnv(b *testing.B) *grantsEnv {
	b.Helper()
	ctx := context.Background()
	st, err := bolt.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	ids, err := identity.NewService(identity.Options{Store: st, AccountDomain: "acme-account",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), KeyEncryptionKey: make([]byte, 32)})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	tok, err := tokens.New(tokens.Options{Identity: ids, BaseURL: base, KeyEncryptionKey: make([]byte, 32)})
	if err != nil {
		b.Fatal(err)
	}
	prov, err := New(Options{Identity: ids, Tokens: tok})
	if err != nil {
		b.Fatal(err)
	}
	srv.Config.Handler = prov
	srv.Start()
	b.Cleanup(srv.Close)
	e := &grantsEnv{ids: ids, prov: prov, base: base, machine: map[string][2]string{}, web: map[string][2]string{}}
	name := "Acme Corp"
	if e.org, err = ids.CreateOrganization(ctx, identity.OrganizationInput{Name: &name}); err != nil {
		b.Fatal(err)
	}
	for _, alg := range benchAlgs {
		m, ms, err := ids.CreateApplication(ctx, e.org.Domain, identity.Application{Name: "m " + alg,
			ApplicationType: identity.AppMachine, SigningAlg: alg})
		if err != nil {
			b.Fatal(err)
		}
		e.machine[alg] = [2]string{m.ClientID, ms}
		w, ws, err := ids.CreateApplication(ctx, e.org.Domain, identity.Application{Name: "w " + alg,
			ApplicationType: identity.AppRegularWeb, AllowedRedirectURLs: []string{webRedirect}, SigningAlg: alg})
		if err != nil {
			b.Fatal(err)
		}
		e.web[alg] = [2]string{w.ClientID, ws}
	}
	if e.user, err = ids.CreateUser(ctx, e.org.Domain, identity.User{Email: userEmail, Enabled: true, Verified: true,
		Profile: identity.Profile{GivenName: "Jane", FamilyName: "Doe"}}, ""); err != nil {
		b.Fatal(err)
	}
	e.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}
	e.tokenURL = base + "/t/" + e.org.Domain + "/oauth/token"
	return e
}

// post sends a token request with HTTP Basic client authentication and
// fails the benchmark unless it answers 200.
func (e *grantsEnv) post(b *testing.B, cred [2]string, form url.Values) {
	req, _ := http.NewRequest(http.MethodPost, e.tokenURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(cred[0]), url.QueryEscape(cred[1]))
	res, err := e.client.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b.Errorf("token endpoint: %d %s", res.StatusCode, body)
	}
}

// seedCodes stores n authorization codes of the web application of alg
// (the records the authorization endpoint writes), in one transaction.
func (e *grantsEnv) seedCodes(b *testing.B, alg string, n int) []string {
	now := e.prov.now()
	out := make([]string, n)
	err := e.ids.Update(context.Background(), func(tx *identity.Txn) error {
		raw := tx.KVTx(kv.Inside())
		for i := range out {
			code, err := e.prov.newSecret()
			if err != nil {
				return err
			}
			out[i] = code
			rec := codeRecord{Env: identity.Production, OrgDomain: e.org.Domain, ClientID: e.web[alg][0],
				RedirectURI: webRedirect, Scopes: []string{"openid", "email", "profile"}, Nonce: "n-1", State: "st-1",
				AuthorizationID: "authz", Flavor: flavorOIDC, UserID: e.user.ID, AuthTime: now, IPS: "cryptr",
				ExpiresAt: now.Add(MaxCodeTTL)}
			h := identity.HashSecret(code)
			if err := put(raw, codes, h, rec, rec.ExpiresAt.Add(MaxCodeTTL)); err != nil {
				return err
			}
			if err := indexGrant(raw, identity.Production, e.user.ID, "c:"+h); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// seedRefreshes stores n refresh tokens, each of its own family, of the
// web application of alg (what a code exchange stores), in one
// transaction.
func (e *grantsEnv) seedRefreshes(b *testing.B, alg string, n int) []string {
	now := e.prov.now()
	out := make([]string, n)
	err := e.ids.Update(context.Background(), func(tx *identity.Txn) error {
		raw := tx.KVTx(kv.Inside())
		for i := range out {
			secret, err := e.prov.newSecret()
			if err != nil {
				return err
			}
			family, err := e.prov.newUUID()
			if err != nil {
				return err
			}
			out[i] = e.org.Domain + "." + secret
			exp := now.Add(DefaultRefreshTokenTTL)
			rr := refreshRecord{FamilyID: family, Env: identity.Production, OrgDomain: e.org.Domain, ClientID: e.web[alg][0],
				UserID: e.user.ID, Scopes: []string{"openid", "email", "profile"}, AuthTime: now, IPS: "cryptr",
				Nonce: "n-1", ExpiresAt: exp, OIDC: true, RedirectURI: webRedirect}
			if err := put(raw, families, family, familyRecord{ClientID: rr.ClientID, UserID: rr.UserID, ExpiresAt: exp}, exp); err != nil {
				return err
			}
			if err := indexGrant(raw, identity.Production, e.user.ID, "f:"+family); err != nil {
				return err
			}
			if err := put(raw, refreshes, identity.HashSecret(out[i]), rr, exp); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// bareSigner returns a function that signs a JWS signing input the size of
// a token with the primitive alg names, from the standard library alone:
// the floor of what issuing a token can cost.
func bareSigner(b *testing.B, alg string) func() {
	msg := []byte(strings.Repeat("x", 600))
	switch alg {
	case tokens.ES256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		return func() {
			d := sha256.Sum256(msg)
			if _, err := ecdsa.SignASN1(rand.Reader, k, d[:]); err != nil {
				b.Error(err)
			}
		}
	case tokens.RS256:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			b.Fatal(err)
		}
		return func() {
			d := sha256.Sum256(msg)
			if _, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, d[:]); err != nil {
				b.Error(err)
			}
		}
	default:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		return func() { _ = ed25519.Sign(k, msg) }
	}
}

// interleaved runs op b.N times with 16 concurrent workers (the load of
// a 16-connection client on this 2-core machine), in 8 segments that
// alternate with segments of as many iterations of bare signing (signs
// signatures each) by 16 workers too, and times each side's segments, so
// that whatever else loads the machine slows both alike. It reports the
// wall time per operation of each side and throughput/bare: the grant's
// throughput as a fraction of bare signing's (1.0 means the grant costs
// exactly its signatures).
func interleaved(b *testing.B, op, sign func(), signs int) {
	const workers, segments = 16, 8
	run := func(n int, f func()) time.Duration {
		var next atomic.Int64
		var wg sync.WaitGroup
		t0 := time.Now()
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(n) {
					f()
				}
			}()
		}
		wg.Wait()
		return time.Since(t0)
	}
	bareOp := func() {
		for range signs {
			sign()
		}
	}
	var grant, bare time.Duration
	b.ResetTimer()
	for i := range segments {
		n := b.N / segments
		if i == segments-1 {
			n = b.N - n*(segments-1)
		}
		grant += run(n, op)
		b.StopTimer()
		bare += run(n, bareOp)
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(grant.Nanoseconds())/n, "grant-ns/op")
	b.ReportMetric(float64(bare.Nanoseconds())/n, "bare-ns/op")
	b.ReportMetric(float64(bare)/float64(grant), "throughput/bare")
}

// BenchmarkGrants measures the token endpoint over loopback HTTP on a
// durable bolt store, 16 concurrent clients (parallelism 8 per CPU on this
// 2-core machine): client_credentials issuance, code exchange (access, ID
// and refresh tokens, the code marked used, the family created) and
// refresh rotation (the same tokens, the parent marked used in the
// family's transaction), per signing algorithm. Each reports, measured in
// the same run and interleaved with it (see interleaved), the bare
// standard-library signing of the tokens it returns (one signature for
// client_credentials, two for code exchange and refresh), and
// throughput/bare: the grant's throughput as a fraction of bare signing's.
//
//	go test -run '^$' -bench BenchmarkGrants -benchtime 2000x ./tokens/provider/
func BenchmarkGrants(b *testing.B) {
	e := newGrantsEnv(b)
	for _, alg := range benchAlgs {
		sign := bareSigner(b, alg)
		b.Run(alg+"/client_credentials", func(b *testing.B) {
			form := url.Values{"grant_type": {"client_credentials"}}
			e.post(b, e.machine[alg], form) // keys created outside the timing
			interleaved(b, func() { e.post(b, e.machine[alg], form) }, sign, 1)
		})
		b.Run(alg+"/code_exchange", func(b *testing.B) {
			list := e.seedCodes(b, alg, b.N+1)
			var next atomic.Int64
			redeem := func() {
				code := list[next.Add(1)-1]
				e.post(b, e.web[alg], url.Values{"grant_type": {"authorization_code"}, "code": {code},
					"redirect_uri": {webRedirect}})
			}
			redeem()
			interleaved(b, redeem, sign, 2)
		})
		b.Run(alg+"/refresh", func(b *testing.B) {
			list := e.seedRefreshes(b, alg, b.N+1)
			var next atomic.Int64
			refresh := func() {
				rt := list[next.Add(1)-1]
				e.post(b, e.web[alg], url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
			}
			refresh()
			interleaved(b, refresh, sign, 2)
		})
	}
}
