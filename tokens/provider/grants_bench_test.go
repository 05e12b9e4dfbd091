package provider

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/mail"
	"github.com/gatehouse-id/gatehouse/store/bolt"
	"github.com/gatehouse-id/gatehouse/store/memory"
	"github.com/gatehouse-id/gatehouse/store/postgres"
	"github.com/gatehouse-id/gatehouse/store/postgres/pgtest"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// grantsEnv is a provider on a durable bolt store (fsync on commit, as in
// production; or store/memory) behind a loopback HTTP server, with one machine and one
// confidential web application per signing algorithm, one user with a
// profile and grantOwners users whose grants are redeemed.
type grantsEnv struct {
	store *countingStore
	ids   *identity.Service
	prov  *Provider
	base  string
	org   *identity.Organization
	user  *identity.User
	// owners are the users whose grants the code exchange and refresh
	// benchmarks redeem, in turn (grantOwners of them): each grant of a
	// commit then updates its own user's grant index, as in a directory
	// of many users.
	owners   []string
	machine  map[string][2]string // alg → client id, secret
	web      map[string][2]string
	client   *http.Client
	tokenURL string
	// signers are the sign-in users (one per concurrent worker) and
	// mails the texts of the magic-link mails sent to each.
	signers []string
	mails   map[string]chan string
}

// countingStore counts the write transactions asked of the store (each
// one a durable commit when it runs alone; concurrent ones may share a
// commit in store/bolt's group commit).
type countingStore struct {
	identity.Store
	updates atomic.Int64
	// waited is the time callers spent in Update, in nanoseconds.
	waited atomic.Int64
	// refuse, when set, fails every Put of a key it matches (a store
	// failing in the middle of a write transaction).
	refuse atomic.Pointer[func(key []byte) bool]
}

// Unwrap returns the inner store (identity then finds store/bolt's audit
// journal through the wrapper).
func (s *countingStore) Unwrap() identity.Store { return s.Store }

// commitStats returns the inner store's commit counts, when it is
// store/bolt.
func (s *countingStore) commitStats() (bolt.CommitStats, bool) {
	if b, ok := s.Store.(*bolt.Store); ok {
		return b.CommitStats(), true
	}
	return bolt.CommitStats{}, false
}

// checkpoint writes what store/bolt's write-ahead log holds into its
// file (nothing on other stores).
func (s *countingStore) checkpoint(b testing.TB) {
	if st, ok := s.Store.(*bolt.Store); ok {
		if err := st.Checkpoint(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

func (s *countingStore) Update(ctx context.Context, fn func(identity.Tx) error) error {
	s.updates.Add(1)
	t0 := time.Now()
	defer func() { s.waited.Add(int64(time.Since(t0))) }()
	if r := s.refuse.Load(); r != nil {
		inner := fn
		fn = func(tx identity.Tx) error { return inner(refusingTx{Tx: tx, refuse: *r}) }
	}
	return s.Store.Update(ctx, fn)
}

// errRefusedPut is the error of a Put countingStore.refuse matches.
var errRefusedPut = errors.New("test store: put refused")

// refusingTx is a transaction whose Puts of the keys refuse matches fail.
type refusingTx struct {
	identity.Tx
	refuse func(key []byte) bool
}

func (t refusingTx) Put(key, value []byte) error {
	if t.refuse(key) {
		return errRefusedPut
	}
	return t.Tx.Put(key, value)
}

// signInPassword is the password of the sign-in users.
const signInPassword = "correct horse battery staple"

// benchHasher is a salted SHA-256 without work factor: the sign-in
// benchmark measures what surrounds the password check (argon2id costs
// tens of milliseconds and would hide it).
type benchHasher struct{}

func (benchHasher) Hash(_ context.Context, pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	return benchHash(salt, pw), nil
}

func (benchHasher) Verify(_ context.Context, pw, encoded string) (bool, bool, error) {
	salt, err := hex.DecodeString(strings.SplitN(encoded, "$", 2)[0])
	if err != nil {
		return false, false, errors.New("bench hash: malformed")
	}
	return hmac.Equal([]byte(benchHash(salt, pw)), []byte(encoded)), false, nil
}

func benchHash(salt []byte, pw string) string {
	h := sha256.Sum256(append(append([]byte(nil), salt...), pw...))
	return hex.EncodeToString(salt) + "$" + hex.EncodeToString(h[:])
}

var benchAlgs = []string{tokens.ES256, tokens.RS256, tokens.EdDSA}

func newGrantsEnv(b testing.TB, durable bool, opts ...bolt.Option) *grantsEnv {
	b.Helper()
	var inner identity.Store = memory.New()
	if durable {
		bst, err := bolt.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), opts...)
		if err != nil {
			b.Fatal(err)
		}
		inner = bst
	}
	return newGrantsEnvOn(b, inner)
}

// newGrantsEnvOn is newGrantsEnv on the store inner, which it closes at
// the end of b.
func newGrantsEnvOn(b testing.TB, inner identity.Store) *grantsEnv {
	b.Helper()
	ctx := context.Background()
	b.Cleanup(func() { _ = inner.Close() })
	st := &countingStore{Store: inner}
	ids, err := identity.NewService(identity.Options{Store: st, AccountDomain: "acme-account",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), KeyEncryptionKey: make([]byte, 32),
		Hasher: benchHasher{}, CodeSendBurst: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	// RS256 with crypto/rsa (RSASignerGo), the implementation of the bare
	// baselines (bareKey), so that a ratio compares one signer with
	// itself; the default build's OpenSSL signer makes each RS256 grant
	// cheaper still (bench/README.md, "Issuance").
	tok, err := tokens.New(tokens.Options{Identity: ids, BaseURL: base, KeyEncryptionKey: make([]byte, 32),
		RSASigner: tokens.RSASignerGo})
	if err != nil {
		b.Fatal(err)
	}
	e := &grantsEnv{store: st, ids: ids, base: base, machine: map[string][2]string{}, web: map[string][2]string{},
		mails: map[string]chan string{}}
	prov, err := New(Options{Identity: ids, Tokens: tok, MailFrom: "login@acme.test", AddressSendLimit: 1 << 30,
		AuthorizeRequestLimit: 1 << 30, Mailer: mail.MailerFunc(func(_ context.Context, m mail.Message) error {
			if len(m.To) == 1 && e.mails[m.To[0]] != nil {
				e.mails[m.To[0]] <- m.Text
			}
			return nil
		})})
	if err != nil {
		b.Fatal(err)
	}
	e.prov = prov
	srv.Config.Handler = prov
	srv.Start()
	b.Cleanup(srv.Close)
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
	more := make([]identity.User, grantOwners-1)
	for i := range more {
		more[i] = identity.User{Email: fmt.Sprintf("owner%d@acme.test", i), Enabled: true, Verified: true}
	}
	imported, err := ids.ImportUsers(ctx, e.org.Domain, more, identity.ImportOptions{})
	if err != nil {
		b.Fatal(err)
	}
	e.owners = append(e.owners, e.user.ID)
	for _, r := range imported {
		if r.Status != identity.ImportCreated {
			b.Fatalf("import: %+v", r)
		}
		e.owners = append(e.owners, r.UserID)
	}
	for i := range signInWorkers {
		email := fmt.Sprintf("signer%d@acme.test", i)
		if _, err := ids.CreateUser(ctx, e.org.Domain, identity.User{Email: email, Enabled: true, Verified: true},
			signInPassword); err != nil {
			b.Fatal(err)
		}
		e.signers = append(e.signers, email)
		e.mails[email] = make(chan string, 4)
	}
	e.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}
	e.tokenURL = base + "/t/" + e.org.Domain + "/oauth/token"
	return e
}

// post sends a token request with HTTP Basic client authentication and
// fails the benchmark unless it answers 200.
func (e *grantsEnv) post(b *testing.B, cred [2]string, form url.Values) {
	e.postTo(b, e.tokenURL, cred, form)
}

// postTo is post to the token URL u.
func (e *grantsEnv) postTo(b *testing.B, u string, cred [2]string, form url.Values) {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
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
func (e *grantsEnv) seedCodes(b testing.TB, alg string, n int) []string {
	now := e.prov.now()
	out := make([]string, n)
	err := e.ids.Update(context.Background(), func(tx *identity.Txn) error {
		raw := tx.KVTx(kv.Inside())
		for i := range out {
			code, err := e.prov.newOrderedSecret()
			if err != nil {
				return err
			}
			out[i] = code
			rec := codeRecord{Env: identity.Production, OrgDomain: e.org.Domain, ClientID: e.web[alg][0],
				RedirectURI: webRedirect, Scopes: []string{"openid", "email", "profile"}, Nonce: "n-1", State: "st-1",
				AuthorizationID: "authz", Flavor: flavorOIDC, UserID: e.owners[i%len(e.owners)], AuthTime: now, IPS: "cryptr",
				ExpiresAt: now.Add(MaxCodeTTL)}
			h := secretKey(code)
			if err := put(raw, codes, h, rec, rec.ExpiresAt.Add(MaxCodeTTL)); err != nil {
				return err
			}
			if err := indexGrant(raw, identity.Production, rec.UserID, "c:"+h); err != nil {
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
func (e *grantsEnv) seedRefreshes(b testing.TB, alg string, n int) []string {
	now := e.prov.now()
	out := make([]string, n)
	err := e.ids.Update(context.Background(), func(tx *identity.Txn) error {
		raw := tx.KVTx(kv.Inside())
		for i := range out {
			secret, err := e.prov.newOrderedSecret()
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
				UserID: e.owners[i%len(e.owners)], Scopes: []string{"openid", "email", "profile"}, AuthTime: now, IPS: "cryptr",
				Nonce: "n-1", ExpiresAt: exp, OIDC: true, RedirectURI: webRedirect}
			fam := familyRecord{ClientID: rr.ClientID, UserID: rr.UserID, ExpiresAt: exp, Current: identity.HashSecret(out[i])}
			if err := put(raw, families, family, fam, exp); err != nil {
				return err
			}
			if err := indexGrant(raw, identity.Production, rr.UserID, "f:"+family); err != nil {
				return err
			}
			if err := put(raw, refreshes, secretKey(out[i]), rr, exp); err != nil {
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

// bareKey returns a function that signs a message with a fresh key of
// the primitive alg names, from the standard library alone: the floor of
// what issuing a token can cost.
func bareKey(b testing.TB, alg string) func(msg []byte) []byte {
	switch alg {
	case tokens.ES256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		return func(msg []byte) []byte {
			d := sha256.Sum256(msg)
			sig, err := ecdsa.SignASN1(rand.Reader, k, d[:])
			if err != nil {
				b.Error(err)
			}
			return sig
		}
	case tokens.RS256:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			b.Fatal(err)
		}
		return func(msg []byte) []byte {
			d := sha256.Sum256(msg)
			sig, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, d[:])
			if err != nil {
				b.Error(err)
			}
			return sig
		}
	default:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		return func(msg []byte) []byte { return ed25519.Sign(k, msg) }
	}
}

// bareSigner returns a function that signs a JWS signing input the size of
// a token (bare signing: no HTTP, no storage).
func bareSigner(sign func([]byte) []byte) func() {
	msg := []byte(strings.Repeat("x", 600))
	return func() { _ = sign(msg) }
}

// bareEndpoint starts the floor of any HTTP token endpoint on loopback: a
// net/http handler that parses the same form and Basic credentials,
// builds and signs tokens (signs of them: the access token, then the ID
// token) with the standard library, and answers them in the same JSON
// shape as the provider (with a random refresh token when it signs two),
// with no client check and no storage. It returns its token URL. When
// persist is set, each request calls it once after signing, before
// answering (durableEndpoint).
func bareEndpoint(b *testing.B, alg string, sign func([]byte) []byte, signs int, persist func(context.Context) error) string {
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"` + alg + `","kid":"k1","typ":"JWT"}`))
	token := func(claims map[string]any) string {
		payload, _ := json.Marshal(claims)
		in := header + "." + base64.RawURLEncoding.EncodeToString(payload)
		return in + "." + base64.RawURLEncoding.EncodeToString(sign([]byte(in)))
	}
	random := func(n int) string {
		r := make([]byte, n)
		_, _ = rand.Read(r)
		return base64.RawURLEncoding.EncodeToString(r)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") == "" {
			http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
			return
		}
		client, _, _ := r.BasicAuth()
		now := time.Now().Unix()
		claims := map[string]any{"iss": "http://" + r.Host + "/t/acme", "sub": "5f2b1c9e-6a43-4b8e-9d1f-2c7a8e4b6d10",
			"aud": "http://" + r.Host + "/t/acme", "cid": client, "iat": now, "exp": now + 3600, "jti": random(16),
			"scp": []string{"openid", "email", "profile"}, "ver": 1}
		a := &standardAnswer{AccessToken: token(claims), TokenType: "Bearer", ExpiresIn: 3600,
			Scope: "openid email profile"}
		if signs > 1 {
			claims["aud"], claims["email"], claims["nonce"], claims["jti"] = client, userEmail, "n-1", random(16)
			a.IDToken, a.RefreshToken = token(claims), "acme."+random(32)
		}
		if persist != nil {
			if err := persist(r.Context()); err != nil {
				http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
				return
			}
		}
		writeJSON(w, http.StatusOK, a)
	}))
	b.Cleanup(srv.Close)
	return srv.URL + "/t/acme/oauth/token"
}

// interleaved runs op b.N times with 16 concurrent workers (the load of
// a 16-connection client on this 2-core machine), in 8 segments, each
// followed by a segment of as many iterations of every baseline by 16
// workers too, and times each side's segments, so that whatever else
// loads the machine slows all alike. It reports the wall time per
// operation of the grant and of each baseline (NAME-ns/op), the grant's
// throughput as a fraction of each baseline's (throughput/NAME: 1.0 means
// the grant costs exactly the baseline; cpu/NAME: the same ratio in the
// process's CPU time per operation), the store's write transactions per
// operation and the mean time a caller spends in one (write-µs: its share
// of a group commit, queueing included). On store/bolt each grant
// segment ends with a Checkpoint, timed with it: the grants pay for
// writing what they put in the write-ahead log into the file.
func interleaved(b *testing.B, st *countingStore, op func(), baselines ...baseline) {
	const workers, segments = 16, 8
	var cpu time.Duration // process CPU time spent in run
	run := func(n int, f func()) time.Duration {
		var next atomic.Int64
		var wg sync.WaitGroup
		c0 := processCPU()
		defer func() { cpu += processCPU() - c0 }()
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
	var grant time.Duration
	var writes, waited int64
	var commits bolt.CommitStats
	base := make([]time.Duration, len(baselines))
	baseCPU := make([]time.Duration, len(baselines))
	var grantCPU time.Duration
	var done atomic.Int64
	st.checkpoint(b)
	b.ResetTimer()
	for i := range segments {
		n := b.N / segments
		if i == segments-1 {
			n = b.N - n*(segments-1)
		}
		w0, t0 := st.updates.Load(), st.waited.Load()
		c0, durable := st.commitStats()
		cpu0 := cpu
		grant += run(n, func() {
			op()
			if done.Add(1) == int64(n) {
				// The last grant of the segment writes what the
				// write-ahead log holds into the file: each segment
				// pays for the checkpoints of its own grants.
				st.checkpoint(b)
			}
		})
		done.Store(0)
		grantCPU += cpu - cpu0
		writes += st.updates.Load() - w0
		waited += st.waited.Load() - t0
		if durable {
			c1, _ := st.commitStats()
			d := c1.Sub(c0)
			commits.Commits, commits.Updates, commits.Pages = commits.Commits+d.Commits, commits.Updates+d.Updates, commits.Pages+d.Pages
			commits.RunTime, commits.WriteTime, commits.SpillTime = commits.RunTime+d.RunTime, commits.WriteTime+d.WriteTime, commits.SpillTime+d.SpillTime
		}
		b.StopTimer()
		for j, bl := range baselines {
			cpu0 := cpu
			base[j] += run(n, bl.op)
			baseCPU[j] += cpu - cpu0
		}
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(grant.Nanoseconds())/n, "grant-ns/op")
	// CPU per operation (the whole process: server, client and store):
	// above the baseline's, the grant costs more work; equal CPU with
	// lower throughput means it waits (for the writer or the disk).
	b.ReportMetric(float64(grantCPU.Microseconds())/n, "grant-cpu-µs/op")
	b.ReportMetric(float64(writes)/n, "writes/op")
	if writes > 0 {
		b.ReportMetric(float64(waited)/float64(writes)/1e3, "write-µs")
	}
	if c := float64(commits.Commits); c > 0 {
		// The store's single writer: a commit runs its batch's functions
		// (run), turns the changed nodes into pages (spill), then writes
		// and syncs them (sync).
		b.ReportMetric(float64(commits.Updates)/c, "batch")
		b.ReportMetric(float64(commits.Pages)/c, "pages/commit")
		b.ReportMetric(float64(commits.RunTime.Microseconds())/c, "run-µs/commit")
		b.ReportMetric(float64(commits.SpillTime.Microseconds())/c, "spill-µs/commit")
		b.ReportMetric(float64(commits.WriteTime.Microseconds())/c, "sync-µs/commit")
	}
	for j, bl := range baselines {
		b.ReportMetric(float64(base[j].Nanoseconds())/n, bl.name+"-ns/op")
		b.ReportMetric(float64(baseCPU[j].Microseconds())/n, bl.name+"-cpu-µs/op")
		b.ReportMetric(float64(base[j])/float64(grant), "throughput/"+bl.name)
		// The same ratio in CPU time (the whole process's per
		// operation): what the grant costs beside the baseline's work,
		// whatever else loads the machine. On a CPU-bound run the two
		// ratios agree; the CPU one moves less when other processes take
		// the cores.
		if grantCPU > 0 {
			b.ReportMetric(float64(baseCPU[j])/float64(grantCPU), "cpu/"+bl.name)
		}
	}
}

// baseline is what a grant is compared with in interleaved.
type baseline struct {
	name string
	op   func()
}

// BenchmarkGrants measures the token endpoint over loopback HTTP on a
// durable bolt store, 16 concurrent clients (parallelism 8 per CPU on this
// 2-core machine): client_credentials issuance, code exchange (access, ID
// and refresh tokens, the code marked used, the family created) and
// refresh rotation (the same tokens, the parent marked used in the
// family's transaction), per signing algorithm. Each is compared with two
// baselines measured in the same run and interleaved with it (see
// interleaved):
//
//   - bare: the standard-library signing of the tokens it returns, in
//     process (one signature for client_credentials, two for code
//     exchange and refresh);
//   - endpoint: the same signatures behind a minimal net/http handler on
//     loopback that parses the same request and answers the same JSON,
//     without storage or client check (bareEndpoint): the floor of any
//     HTTP token endpoint on this machine;
//   - fsync (code exchange and refresh): that endpoint appending one
//     176-byte record to a file of its own and syncing it (fdatasync)
//     per request, under a lock: the floor of a durable write on this
//     disk, with no store around it;
//   - durable (code exchange and refresh): that endpoint writing one
//     160-byte value through the same store (its write-ahead log, group
//     commit and checkpoints) per request: the floor of any grant that
//     must remember something (the code spent, the refresh token
//     rotated) before it answers.
//
// Run it with:
//
//	go test -run '^$' -bench BenchmarkGrants -benchtime 1600x ./tokens/provider/
func BenchmarkGrants(b *testing.B) { benchGrants(b, newGrantsEnv(b, true)) }

// BenchmarkGrantsWithoutLog is BenchmarkGrants on a bolt store without
// its write-ahead log (bolt.WithoutWriteAheadLog): each batch of
// concurrent grants is a bbolt commit of its own, as before session 8.
func BenchmarkGrantsWithoutLog(b *testing.B) {
	benchGrants(b, newGrantsEnv(b, true, bolt.WithoutWriteAheadLog()))
}

// BenchmarkGrantsMemory is BenchmarkGrants on the in-memory store: the
// same HTTP path without the durable commit, to tell the endpoint's own
// cost from the disk's.
func BenchmarkGrantsMemory(b *testing.B) { benchGrants(b, newGrantsEnv(b, false)) }

// BenchmarkGrantsPostgres is BenchmarkGrants on store/postgres: a
// throwaway local server with fsync on (a commit is a flush of the
// write-ahead log, the database's own group commit), on the same two
// cores as the benchmark. It skips when no PostgreSQL server is
// installed.
func BenchmarkGrantsPostgres(b *testing.B) {
	ctx := context.Background()
	c, err := pgtest.Start(ctx, pgtest.Options{Fsync: true})
	if errors.Is(err, pgtest.ErrNotInstalled) {
		b.Skipf("%v (%s)", err, pgtest.InstallHint)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Stop() })
	st, err := postgres.Open(ctx, c.URL("postgres"))
	if err != nil {
		b.Fatal(err)
	}
	benchGrants(b, newGrantsEnvOn(b, st))
}

func benchGrants(b *testing.B, e *grantsEnv) {
	for _, alg := range benchAlgs {
		key := bareKey(b, alg)
		sign := bareSigner(key)
		bare := func(signs int) baseline {
			return baseline{"bare", func() {
				for range signs {
					sign()
				}
			}}
		}
		endpoint := func(signs int) baseline {
			u := bareEndpoint(b, alg, key, signs, nil)
			form := url.Values{"grant_type": {"authorization_code"}, "code": {strings.Repeat("c", 43)},
				"redirect_uri": {webRedirect}}
			return baseline{"endpoint", func() { e.postTo(b, u, e.web[alg], form) }}
		}
		// durable is the endpoint that also makes one small record
		// durable per request through the same store (its write-ahead
		// log, group commit and checkpoints), in the request's path:
		// the floor of any grant that must remember something (the
		// code spent, the refresh token rotated) before it answers.
		durable := func(signs int) baseline {
			var n atomic.Int64
			val := []byte(strings.Repeat("v", 160))
			u := bareEndpoint(b, alg, key, signs, func(ctx context.Context) error {
				k := fmt.Appendf(nil, "bench/durable/%s/%d", alg, n.Add(1))
				return e.store.Store.Update(ctx, func(tx identity.Tx) error { return tx.Put(k, val) })
			})
			form := url.Values{"grant_type": {"authorization_code"}, "code": {strings.Repeat("c", 43)},
				"redirect_uri": {webRedirect}}
			return baseline{"durable", func() { e.postTo(b, u, e.web[alg], form) }}
		}
		// fsync is the endpoint that appends one record of the same size
		// to a file of its own and syncs it (fdatasync) per request,
		// under a lock: the floor of a durable write on this disk, with
		// no store around it.
		fsync := func(signs int) baseline {
			f, err := os.Create(filepath.Join(b.TempDir(), "fsync-floor"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = f.Close() })
			var mu sync.Mutex
			var off int64
			rec := []byte(strings.Repeat("r", 176))
			u := bareEndpoint(b, alg, key, signs, func(context.Context) error {
				mu.Lock()
				defer mu.Unlock()
				if _, err := f.WriteAt(rec, off); err != nil {
					return err
				}
				off += int64(len(rec))
				return syscall.Fdatasync(int(f.Fd()))
			})
			form := url.Values{"grant_type": {"authorization_code"}, "code": {strings.Repeat("c", 43)},
				"redirect_uri": {webRedirect}}
			return baseline{"fsync", func() { e.postTo(b, u, e.web[alg], form) }}
		}
		b.Run(alg+"/client_credentials", func(b *testing.B) {
			form := url.Values{"grant_type": {"client_credentials"}}
			e.post(b, e.machine[alg], form) // keys created outside the timing
			interleaved(b, e.store, func() { e.post(b, e.machine[alg], form) }, bare(1), endpoint(1))
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
			interleaved(b, e.store, redeem, bare(2), endpoint(2), fsync(2), durable(2))
		})
		b.Run(alg+"/refresh", func(b *testing.B) {
			list := e.seedRefreshes(b, alg, b.N+1)
			var next atomic.Int64
			refresh := func() {
				rt := list[next.Add(1)-1]
				e.post(b, e.web[alg], url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
			}
			refresh()
			interleaved(b, e.store, refresh, bare(2), endpoint(2), fsync(2), durable(2))
		})
	}
}

// grantOwners is the number of users whose grants BenchmarkGrants redeems.
const grantOwners = 1000

// signInWorkers is the number of concurrent browsers of BenchmarkSignIn
// (one sign-in user each).
const signInWorkers = 16

// BenchmarkSignIn measures a whole hosted sign-in over loopback HTTP on
// the durable bolt store, up to the redirect that carries the
// authorization code (the code exchange is BenchmarkGrants'): the
// authorization request (login page), then either the password form
// (password) or the magic-link mail's 6-digit code (magic_code: the send
// form, then the code form). Each browser starts without cookies. It
// reports, besides ns/op, the store's write transactions per sign-in
// (writes/op: each a durable commit when it runs alone); serial runs one
// browser, parallel 16.
//
//	go test -run '^$' -bench BenchmarkSignIn -benchtime 400x ./tokens/provider/
func BenchmarkSignIn(b *testing.B) { benchSignIn(b, newGrantsEnv(b, true)) }

// BenchmarkSignInWithoutLog is BenchmarkSignIn on a bolt store without
// its write-ahead log (each batch of writes a bbolt commit).
func BenchmarkSignInWithoutLog(b *testing.B) {
	benchSignIn(b, newGrantsEnv(b, true, bolt.WithoutWriteAheadLog()))
}

func benchSignIn(b *testing.B, e *grantsEnv) {
	authURL := e.base + "/t/" + e.org.Domain + "/authorize?" + url.Values{"response_type": {"code"},
		"client_id": {e.web[tokens.ES256][0]}, "redirect_uri": {webRedirect}, "scope": {"openid email profile"},
		"state": {"st-1"}, "nonce": {"n-1"}}.Encode()
	tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}
	flows := map[string]func(c *http.Client, email string) error{
		"password": func(c *http.Client, email string) error {
			action, csrf, request, err := loginPage(c, authURL)
			if err != nil {
				return err
			}
			return expectCode(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request},
				"action": {"password"}, "email": {email}, "password": {signInPassword}})
		},
		"magic_code": func(c *http.Client, email string) error {
			action, csrf, request, err := loginPage(c, authURL)
			if err != nil {
				return err
			}
			sent, err := formPost(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request},
				"action": {"magic"}, "email": {email}})
			if err != nil {
				return err
			}
			if sent.StatusCode != http.StatusOK {
				return fmt.Errorf("send magic link: %d", sent.StatusCode)
			}
			var digits string
			select {
			case text := <-e.mails[email]:
				if d := reDigits.FindStringSubmatch(text); d != nil {
					digits = d[1]
				}
			case <-time.After(10 * time.Second):
				return errors.New("no mail")
			}
			return expectCode(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request},
				"action": {"code"}, "code": {digits}})
		},
	}
	for _, flow := range []string{"password", "magic_code"} {
		for _, mode := range []struct {
			name    string
			workers int
		}{{"serial", 1}, {"parallel", signInWorkers}} {
			b.Run(flow+"/"+mode.name, func(b *testing.B) {
				signIn := flows[flow]
				var next atomic.Int64
				var wg sync.WaitGroup
				w0 := e.store.updates.Load()
				e.store.checkpoint(b)
				b.ResetTimer()
				for i := range mode.workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for next.Add(1) <= int64(b.N) {
							jar, _ := cookiejar.New(nil)
							c := &http.Client{Transport: tr, Jar: jar,
								CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
							if err := signIn(c, e.signers[i]); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				e.store.checkpoint(b) // the sign-ins pay for writing their log into the file
				b.StopTimer()
				b.ReportMetric(float64(e.store.updates.Load()-w0)/float64(b.N), "writes/op")
			})
		}
	}
}

// loginPage opens the login page of an authorization request and returns
// its form.
func loginPage(c *http.Client, authURL string) (action, csrf, request string, err error) {
	res, err := c.Get(authURL)
	if err != nil {
		return "", "", "", err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m, cs, rq := reAction.FindStringSubmatch(string(body)), reCSRF.FindStringSubmatch(string(body)),
		reRequest.FindStringSubmatch(string(body))
	if res.StatusCode != http.StatusOK || m == nil || cs == nil || rq == nil {
		return "", "", "", fmt.Errorf("authorize: %d %s", res.StatusCode, body)
	}
	return m[1], cs[1], rq[1], nil
}

func formPost(c *http.Client, u string, form url.Values) (*http.Response, error) {
	res, err := c.PostForm(u, form)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res, nil
}

// expectCode posts a login form and fails unless it redirects to the
// application with a code.
func expectCode(c *http.Client, u string, form url.Values) error {
	res, err := formPost(c, u, form)
	if err != nil {
		return err
	}
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || loc == nil || loc.Query().Get("code") == "" {
		return fmt.Errorf("sign-in: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	return nil
}
