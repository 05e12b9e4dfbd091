// Command pgscale measures how Gatehouse scales from one to two instances
// on one PostgreSQL database. It starts a throwaway PostgreSQL cluster
// (store/postgres/pgtest: initdb and pg_ctl from the local server
// install, fsync on), loads a few organizations with machine applications
// and users, and then, for one and for two instances (each a complete
// Gatehouse stack in this process with its own connection pool and its
// own loopback HTTP server: the OIDC provider and the Crafter API), drives
// the same load over HTTP:
//
//   - issuance: client_credentials at POST /t/{org}/oauth/token, with
//     its audit event;
//   - sign-in: a password sign-in at POST /api/1/authentication/authenticate
//     (Crafter), which checks the password, logs the sign-in and opens a
//     ticket.
//
// It reports requests per second, p50 and p99 for each, the ratio of two
// instances to one, the store's serialization retries per update and the
// waits PostgreSQL reported (pg_stat_activity sampled during the load),
// which show where the database serializes.
//
// Passwords are hashed with a fast hasher by default (-hash fast): this
// program measures the database, and on a small machine argon2id would
// bound both runs by CPU alone. -hash argon2id uses the real one.
//
// It is a benchmark program, not a test:
//
//	nice -n 10 go run ./bench/pgscale -duration 10s
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/password"
	"github.com/gatehouse-id/gatehouse/profile"
	"github.com/gatehouse-id/gatehouse/store/postgres"
	"github.com/gatehouse-id/gatehouse/store/postgres/pgtest"
	"github.com/gatehouse-id/gatehouse/tokens"
	"github.com/gatehouse-id/gatehouse/tokens/provider"
)

func main() {
	// An interrupt ends the run and still stops the throwaway cluster.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pgscale:", err)
		stop()
		os.Exit(1)
	}
}

type config struct {
	duration    time.Duration
	warmup      time.Duration
	concurrency int
	conns       int
	orgs        int
	users       int
	hash        string
	pgURL       string
	fsync       bool
	serverLog   string
	settings    map[string]string
	loads       []string
}

func parse(args []string, out io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("pgscale", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "measured time of each load and instance count")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second, "unmeasured load before each measurement")
	fs.IntVar(&c.concurrency, "concurrency", 32, "concurrent clients, spread over the instances")
	fs.IntVar(&c.conns, "conns", 8, "connections in each instance's pool")
	fs.IntVar(&c.orgs, "orgs", 4, "organizations (each with a machine application and users)")
	fs.IntVar(&c.users, "users", 64, "users per organization")
	fs.StringVar(&c.hash, "hash", "fast", "password hashing: fast (salted SHA-256, measures the database) or argon2id")
	fs.StringVar(&c.pgURL, "postgres", "", "use this database instead of a throwaway cluster (a fresh schema is created)")
	fs.BoolVar(&c.fsync, "fsync", true, "run the throwaway cluster with fsync on")
	fs.StringVar(&c.serverLog, "server-log", "", "write the throwaway cluster's log (serialization failures with their statement and parameters) to this file")
	loads := fs.String("loads", "issuance,signin", "loads to run")
	c.settings = map[string]string{"max_connections": "200", "max_pred_locks_per_transaction": "256",
		"log_parameter_max_length_on_error": "-1"}
	fs.Func("pg", "a server setting NAME=VALUE for the throwaway cluster (repeat the flag for more)", func(v string) error {
		name, value, ok := strings.Cut(v, "=")
		if !ok || name == "" {
			return errors.New("want NAME=VALUE")
		}
		c.settings[name] = value
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	c.loads = strings.Split(*loads, ",")
	for _, l := range c.loads {
		if l != "issuance" && l != "signin" {
			return nil, fmt.Errorf("unknown load %q (issuance, signin)", l)
		}
	}
	switch {
	case c.duration <= 0 || c.warmup < 0:
		return nil, errors.New("-duration must be positive")
	case c.concurrency < 2 || c.conns < 1 || c.orgs < 1 || c.users < 1:
		return nil, errors.New("-concurrency >= 2, -conns, -orgs and -users >= 1")
	case c.hash != "fast" && c.hash != "argon2id":
		return nil, errors.New("-hash is fast or argon2id")
	}
	return c, nil
}

func run(ctx context.Context, args []string, out io.Writer) error {
	c, err := parse(args, out)
	if err != nil {
		return err
	}
	url := c.pgURL
	if url == "" {
		cl, err := pgtest.Start(ctx, pgtest.Options{Fsync: c.fsync, Settings: c.settings})
		if err != nil {
			return err
		}
		defer cl.Stop()
		if c.serverLog != "" {
			defer func() { _ = os.WriteFile(c.serverLog, []byte(cl.Log()), 0o600) }()
		}
		url = cl.URL("postgres")
	}
	fmt.Fprintf(out, "pgscale: %d clients, %d connections per instance, %d organizations x %d users, %s passwords, %s per run\n",
		c.concurrency, c.conns, c.orgs, c.users, c.hash, c.duration)
	kek := make([]byte, 32)
	if _, err := rand.Read(kek); err != nil {
		return err
	}
	schema := fmt.Sprintf("pgscale_%d", time.Now().UnixNano())
	fx, err := setup(ctx, c, url, schema, kek)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	results := map[string][]result{}
	for _, load := range c.loads {
		for _, n := range []int{1, 2} {
			r, err := measure(ctx, c, url, schema, kek, fx, load, n)
			if err != nil {
				return fmt.Errorf("%s with %d instances: %w", load, n, err)
			}
			results[load] = append(results[load], r)
			r.print(out)
		}
		rs := results[load]
		fmt.Fprintf(out, "%s: 2 instances / 1 instance = %.2fx\n\n", load, rs[1].rate/rs[0].rate)
	}
	return nil
}

// fixture is what the load uses: per organization its domain, a machine
// application's client id and secret, and its users' emails; the Crafter
// access token id.
type fixture struct {
	orgs          []string
	clientIDs     []string
	clientSecrets []string
	accessToken   string
	password      string
	users         int
}

func (f *fixture) email(org, i int) string { return fmt.Sprintf("user%d@%s.example", i, f.orgs[org]) }

func setup(ctx context.Context, c *config, url, schema string, kek []byte) (*fixture, error) {
	st, err := open(ctx, c, url, schema, kek)
	if err != nil {
		return nil, err
	}
	defer st.close()
	fx := &fixture{password: "correct horse battery staple", users: c.users}
	hash, err := st.hasher.Hash(ctx, fx.password)
	if err != nil {
		return nil, err
	}
	for k := range c.orgs {
		name := fmt.Sprintf("Scale %d", k)
		o, err := st.id.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
		if err != nil {
			return nil, err
		}
		app, secret, err := st.id.CreateApplication(ctx, o.Domain, identity.Application{Name: "machine",
			ApplicationType: identity.AppMachine, SigningAlg: tokens.ES256})
		if err != nil {
			return nil, err
		}
		fx.orgs = append(fx.orgs, o.Domain)
		fx.clientIDs = append(fx.clientIDs, app.ClientID)
		fx.clientSecrets = append(fx.clientSecrets, secret)
		users := make([]identity.User, c.users)
		for i := range users {
			users[i] = identity.User{Email: fx.email(k, i), Enabled: true, Verified: true, PasswordHash: hash}
		}
		if _, err := st.id.ImportUsers(ctx, o.Domain, users, identity.ImportOptions{}); err != nil {
			return nil, err
		}
	}
	_, fx.accessToken, err = st.id.CreateCredential(ctx, identity.Credential{Name: "pgscale", Application: "pgscale",
		TenantPermissions: []identity.TenantPermission{{Tenant: "*", AllowedActions: []string{"*"}}}}, "")
	if err != nil {
		return nil, err
	}
	return fx, nil
}

// stack is one Gatehouse instance: its own pool and services, served on
// its own loopback listener.
type stack struct {
	store  *postgres.Store
	id     *identity.Service
	hasher identity.PasswordHasher
	prov   *provider.Provider
	prof   *profile.Service
	srv    *http.Server
	base   string
}

func open(ctx context.Context, c *config, url, schema string, kek []byte) (*stack, error) {
	s, err := postgres.Open(ctx, url, postgres.WithSchema(schema), postgres.WithMaxConns(int32(c.conns)))
	if err != nil {
		return nil, err
	}
	st := &stack{store: s}
	if c.hash == "fast" {
		st.hasher = fastHasher{}
	} else {
		st.hasher = password.New()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.Close()
		return nil, err
	}
	st.base = "http://" + l.Addr().String()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st.id, err = identity.NewService(identity.Options{Store: s, AccountDomain: "scale", KeyEncryptionKey: kek,
		Hasher: st.hasher, Logger: quiet})
	var tok *tokens.Service
	if err == nil {
		tok, err = tokens.New(tokens.Options{Identity: st.id, BaseURL: st.base, KeyEncryptionKey: kek})
	}
	if err == nil {
		st.prov, err = provider.New(provider.Options{Identity: st.id, Tokens: tok, Logger: quiet})
	}
	if err == nil {
		st.prof, err = profile.New(profile.Options{Identity: st.id, Hasher: st.hasher, SyncMail: true, Logger: quiet})
	}
	if err != nil {
		l.Close()
		s.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(profile.BasePath+"/", st.prof.Handler())
	mux.Handle("/", st.prov)
	st.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go st.srv.Serve(l)
	return st, nil
}

func (st *stack) close() {
	_ = st.srv.Close()
	_ = st.prov.Close()
	st.prof.Close()
	_ = st.store.Close()
}

// fastHasher is a salted SHA-256 password hasher for this benchmark only,
// so that the database, not argon2id, bounds the sign-in rate.
type fastHasher struct{}

func (fastHasher) Hash(_ context.Context, pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	sum := sha256.Sum256(append(salt, pw...))
	return "$bench$" + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(sum[:]), nil
}

func (fastHasher) Verify(_ context.Context, pw, encoded string) (bool, bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 4 || parts[1] != "bench" {
		return false, false, errors.New("not a bench hash")
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[2])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil {
		return false, false, errors.New("corrupt bench hash")
	}
	sum := sha256.Sum256(append(salt, pw...))
	return subtle.ConstantTimeCompare(sum[:], want) == 1, false, nil
}

type result struct {
	load      string
	instances int
	n         int
	rate      float64
	p50, p99  time.Duration
	retries   float64
	waits     []string
}

func (r result) print(out io.Writer) {
	fmt.Fprintf(out, "%-9s %d instance(s): %7.0f req/s  p50 %-9s p99 %-9s retries/update %.2f\n",
		r.load, r.instances, r.rate, r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.retries)
	if len(r.waits) > 0 {
		fmt.Fprintf(out, "          waits (share of sampled active backends): %s\n", strings.Join(r.waits, ", "))
	}
}

func measure(ctx context.Context, c *config, url, schema string, kek []byte, fx *fixture, load string, n int) (result, error) {
	var stacks []*stack
	defer func() {
		for _, st := range stacks {
			st.close()
		}
	}()
	for range n {
		st, err := open(ctx, c, url, schema, kek)
		if err != nil {
			return result{}, err
		}
		stacks = append(stacks, st)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c.concurrency, MaxConnsPerHost: c.concurrency}}
	do := request(load, fx)
	var stop atomic.Bool
	var measuring atomic.Bool
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	for w := range c.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			base := stacks[w%n].base
			var mine []time.Duration
			for i := w; !stop.Load(); i += c.concurrency {
				t0 := time.Now()
				err := do(ctx, client, base, i)
				d := time.Since(t0)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				if measuring.Load() {
					mine = append(mine, d)
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	time.Sleep(c.warmup)
	before := stats(stacks)
	measuring.Store(true)
	t0 := time.Now()
	waits := sampleWaits(ctx, url, c.duration)
	el := time.Since(t0)
	measuring.Store(false)
	after := stats(stacks)
	stop.Store(true)
	wg.Wait()
	if firstErr != nil {
		return result{}, firstErr
	}
	slices.Sort(lat)
	r := result{load: load, instances: n, n: len(lat), rate: float64(len(lat)) / el.Seconds(), waits: waits}
	if len(lat) > 0 {
		r.p50, r.p99 = lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
	}
	if u := after.Updates - before.Updates; u > 0 {
		r.retries = float64(after.Conflicts-before.Conflicts) / float64(u)
	}
	return r, nil
}

func stats(stacks []*stack) postgres.Stats {
	var s postgres.Stats
	for _, st := range stacks {
		x := st.store.Stats()
		s.Updates += x.Updates
		s.Conflicts += x.Conflicts
	}
	return s
}

// request returns the call of one request of load, for client i.
func request(load string, fx *fixture) func(ctx context.Context, c *http.Client, base string, i int) error {
	if load == "issuance" {
		return func(ctx context.Context, c *http.Client, base string, i int) error {
			k := i % len(fx.orgs)
			form := url.Values{"grant_type": {"client_credentials"}, "client_id": {fx.clientIDs[k]},
				"client_secret": {fx.clientSecrets[k]}}
			return post(ctx, c, base+"/t/"+fx.orgs[k]+"/oauth/token", form, `"access_token"`)
		}
	}
	return func(ctx context.Context, c *http.Client, base string, i int) error {
		k := i % len(fx.orgs)
		u := (i / len(fx.orgs)) % fx.users
		form := url.Values{"accessTokenId": {fx.accessToken}, "tenantName": {fx.orgs[k]},
			"username": {fx.email(k, u)}, "password": {fx.password}}
		return post(ctx, c, base+profile.BasePath+"/authentication/authenticate.json", form, `"id"`)
	}
}

func post(ctx context.Context, c *http.Client, u string, form url.Values, want string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		return fmt.Errorf("POST %s: %d %s", u, resp.StatusCode, body)
	}
	return nil
}

// sampleWaits samples pg_stat_activity every 20 ms for d and returns the
// most frequent states of active Gatehouse backends: a wait event
// (type:event) or "cpu" when an active backend waits on nothing.
func sampleWaits(ctx context.Context, url string, d time.Duration) []string {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		time.Sleep(d)
		return []string{"(no sample: " + err.Error() + ")"}
	}
	defer conn.Close(ctx)
	counts := map[string]int{}
	total := 0
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		rows, err := conn.Query(ctx, `SELECT coalesce(wait_event_type, ''), coalesce(wait_event, '')
			FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND backend_type = 'client backend'`)
		if err == nil {
			for rows.Next() {
				var typ, ev string
				if rows.Scan(&typ, &ev) == nil {
					k := "cpu"
					if typ != "" {
						k = typ + ":" + ev
					}
					counts[k]++
					total++
				}
			}
			rows.Close()
		}
		time.Sleep(20 * time.Millisecond)
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return counts[keys[i]] > counts[keys[j]] })
	var out []string
	for _, k := range keys[:min(6, len(keys))] {
		out = append(out, k+" "+strconv.Itoa(100*counts[k]/max(total, 1))+"%")
	}
	return out
}
