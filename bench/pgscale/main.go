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
// With -procs each instance is a process of its own (this program's
// binary, run again with the hidden -serve-instance argument: the same
// stack), and with -instance-cpu each runs in a cgroup of its own limited
// to that many CPUs, so that each instance behaves like a small machine
// of its own while PostgreSQL and the load generator share the rest; the
// report then gives the CPU used by each instance, by PostgreSQL and by
// the load generator, and says whether the instances' caps were the limit:
//
//	nice -n 10 go run ./bench/pgscale -procs -instance-cpu 0.2
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
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
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
	if len(os.Args) == 2 && os.Args[1] == serveFlag {
		if err := serveInstance(ctx, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "pgscale instance:", err)
			stop()
			os.Exit(1)
		}
		return
	}
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
	rounds      int
	cpuProfile  string
	statements  bool
	procs       bool
	instanceCPU float64
	cpuPeriod   time.Duration
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
	fs.IntVar(&c.rounds, "rounds", 3, "rounds; each measures every load at one and two instances, in alternating order")
	fs.BoolVar(&c.statements, "statements", false, "load pg_stat_statements in the throwaway cluster and report each statement's calls and server time per request")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (instances and load generator, or only the load generator with -procs) to this file")
	fs.BoolVar(&c.procs, "procs", false, "run each instance as its own process (this program's binary, run again) instead of in this process")
	fs.Float64Var(&c.instanceCPU, "instance-cpu", 0, "with -procs: limit each instance process to this many CPUs, in a cgroup of its own (GOMAXPROCS rounded up); fails where cgroups are not writable")
	fs.DurationVar(&c.cpuPeriod, "cpu-period", 10*time.Millisecond, "with -instance-cpu: the scheduler period in which each instance gets its share (1ms-1s); a short one spreads the share evenly, like a slower CPU, instead of in bursts")
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
	case c.concurrency < 2 || c.conns < 1 || c.orgs < 1 || c.users < 1 || c.rounds < 1:
		return nil, errors.New("-concurrency >= 2, -conns, -orgs, -users and -rounds >= 1")
	case c.hash != "fast" && c.hash != "argon2id":
		return nil, errors.New("-hash is fast or argon2id")
	case c.instanceCPU < 0 || c.instanceCPU > 0 && c.instanceCPU < 0.01:
		return nil, errors.New("-instance-cpu is 0 (no limit) or at least 0.01")
	case c.cpuPeriod < time.Millisecond || c.cpuPeriod > time.Second:
		return nil, errors.New("-cpu-period is between 1ms and 1s")
	case c.instanceCPU > 0 && c.instanceCPU*float64(c.cpuPeriod) < float64(time.Millisecond):
		return nil, errors.New("-instance-cpu times -cpu-period is at least 1ms (the kernel's smallest quota)")
	case c.instanceCPU > 0 && !c.procs:
		return nil, errors.New("-instance-cpu needs -procs (a cgroup holds processes, not an in-process instance)")
	}
	return c, nil
}

func run(ctx context.Context, args []string, out io.Writer) error {
	c, err := parse(args, out)
	if err != nil {
		return err
	}
	var groups []*cgroup
	if c.instanceCPU > 0 {
		// Before anything starts: no cgroups, no run.
		var cleanup func() error
		groups, cleanup, err = instanceCgroups(2, c.instanceCPU, c.cpuPeriod, out)
		if err != nil {
			return err
		}
		defer func() {
			if err := cleanup(); err != nil {
				fmt.Fprintln(out, "pgscale:", err)
			}
		}()
	}
	url := c.pgURL
	pgPID := 0
	if url == "" {
		if c.statements {
			c.settings["shared_preload_libraries"] = "pg_stat_statements"
			c.settings["pg_stat_statements.track_utility"] = "on"
		}
		cl, err := pgtest.Start(ctx, pgtest.Options{Fsync: c.fsync, Settings: c.settings})
		if err != nil {
			return err
		}
		defer cl.Stop()
		if c.serverLog != "" {
			defer func() { _ = os.WriteFile(c.serverLog, []byte(cl.Log()), 0o600) }()
		}
		url = cl.URL("postgres")
		if pgPID, err = cl.PID(); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "pgscale: %d clients, %d connections per instance, %d organizations x %d users, %s passwords, %s per run, %d rounds\n",
		c.concurrency, c.conns, c.orgs, c.users, c.hash, c.duration, c.rounds)
	switch {
	case len(groups) > 0:
		fmt.Fprintf(out, "instances: one process each, each limited to %.2f CPU in every %s (cgroups %s, GOMAXPROCS %d)\n",
			c.instanceCPU, c.cpuPeriod, groups[0].dir+", "+filepath.Base(groups[1].dir), int(math.Ceil(c.instanceCPU)))
	case c.procs:
		fmt.Fprintln(out, "instances: one process each, not limited")
	default:
		fmt.Fprintln(out, "instances: in this process")
	}
	kek := make([]byte, 32)
	if _, err := rand.Read(kek); err != nil {
		return err
	}
	schema := fmt.Sprintf("pgscale_%d", time.Now().UnixNano())
	fx, err := setup(ctx, c, url, schema, kek)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	if c.statements {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		_, err = conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
		conn.Close(ctx)
		if err != nil {
			return fmt.Errorf("-statements: %w", err)
		}
	}
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	// results[load][n-1] holds one result per round.
	results := map[string]*[2][]result{}
	for _, load := range c.loads {
		results[load] = &[2][]result{}
	}
	for round := range c.rounds {
		// Alternate the order, so that a drift of the machine's load
		// during a run favours neither count.
		order := []int{1, 2}
		if round%2 == 1 {
			order = []int{2, 1}
		}
		for _, load := range c.loads {
			for _, n := range order {
				r, err := measure(ctx, c, url, schema, kek, fx, load, n, pgPID, groups)
				if err != nil {
					return fmt.Errorf("%s with %d instances: %w", load, n, err)
				}
				results[load][n-1] = append(results[load][n-1], r)
				fmt.Fprintf(out, "round %d ", round+1)
				r.print(out)
			}
			rs := results[load]
			fmt.Fprintf(out, "round %d %s: 2 instances / 1 instance = %.2fx\n\n", round+1, load,
				rs[1][round].rate/rs[0][round].rate)
		}
	}
	fmt.Fprintln(out, "summary (median, min-max over rounds):")
	for _, load := range c.loads {
		rs := results[load]
		var ratios []float64
		for i := range rs[0] {
			ratios = append(ratios, rs[1][i].rate/rs[0][i].rate)
		}
		for n := range 2 {
			var rates, goCPU, pgCPU, instCPU, capUse []float64
			limited := 0
			for _, r := range rs[n] {
				rates = append(rates, r.rate)
				goCPU = append(goCPU, r.goCPU)
				pgCPU = append(pgCPU, r.pgCPU)
				instCPU = append(instCPU, r.instCPU)
				for _, x := range r.instCores {
					capUse = append(capUse, x/c.instanceCPU)
				}
				if r.capLimited() {
					limited++
				}
			}
			if !c.procs {
				fmt.Fprintf(out, "%-9s %d instance(s): %s req/s; CPU per request: Go %s ms, PostgreSQL %s ms\n",
					load, n+1, spread(rates, "%.0f"), spread(goCPU, "%.2f"), spread(pgCPU, "%.2f"))
				continue
			}
			fmt.Fprintf(out, "%-9s %d instance(s): %s req/s; CPU per request: instances %s ms, PostgreSQL %s ms, load generator %s ms\n",
				load, n+1, spread(rates, "%.0f"), spread(instCPU, "%.2f"), spread(pgCPU, "%.2f"), spread(goCPU, "%.2f"))
			if c.instanceCPU > 0 {
				fmt.Fprintf(out, "%-9s %d instance(s): each instance used %s of its cap; the caps were the limit in %d of %d runs\n",
					load, n+1, spread(capUse, "%.2f"), limited, len(rs[n]))
			}
		}
		capped := ""
		if c.instanceCPU > 0 {
			capped = fmt.Sprintf(", each instance a process limited to %.2f CPU", c.instanceCPU)
		}
		fmt.Fprintf(out, "%-9s ratio 2/1: %s%s\n", load, spread(ratios, "%.2fx"), capped)
	}
	return nil
}

// spread formats the median and the range of xs.
func spread(xs []float64, format string) string {
	s := slices.Clone(xs)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	if len(s) == 1 {
		return fmt.Sprintf(format, med)
	}
	return fmt.Sprintf(format+" ("+format+"-"+format+")", med, s[0], s[len(s)-1])
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
	load       string
	instances  int
	n          int
	rate       float64
	p50, p99   time.Duration
	retries    float64
	waits      []string
	siread     string   // average predicate locks held, by granularity
	lane       []string // what the holders of a lane (advisory lock) were doing, by share of samples
	load1      float64  // the machine's 1-minute load average at the start
	goCPU      float64  // CPU ms per request of this process (instances and load generator; with -procs the load generator only)
	pgCPU      float64  // CPU ms per request of the PostgreSQL server (0: not measured)
	busy       float64  // share of the machine's CPU time in use during the run, 0-1
	statements []string
	// per request: Update and View calls, round trips to PostgreSQL
	updates, views, roundTrips float64

	// With -procs: the instances' CPU ms per request (all of them), and
	// the CPUs each instance, PostgreSQL and this process (the load
	// generator) used during the measurement.
	procs            bool
	instCPU          float64
	instCores        []float64
	pgCores, lgCores float64
	// With -instance-cpu: each instance's limit, and the share of the
	// scheduler's periods in which it ran out of it.
	cap       float64
	throttled []float64
}

// capLimited reports whether the instances' CPU limits bounded the run:
// each instance used at least 90% of its limit, and neither PostgreSQL
// nor the load generator used a whole CPU.
func (r result) capLimited() bool {
	if r.cap <= 0 || len(r.instCores) == 0 {
		return false
	}
	for _, x := range r.instCores {
		if x < 0.9*r.cap {
			return false
		}
	}
	return r.pgCores < 1 && r.lgCores < 1
}

func (r result) print(out io.Writer) {
	fmt.Fprintf(out, "%-9s %d instance(s): %7.0f req/s  p50 %-9s p99 %-9s retries/update %.2f\n",
		r.load, r.instances, r.rate, r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.retries)
	fmt.Fprintf(out, "          per request: %.2f updates, %.2f views, %.2f round trips\n", r.updates, r.views, r.roundTrips)
	if !r.procs {
		fmt.Fprintf(out, "          load average %.2f, machine CPU busy %.0f%%, CPU per request: Go %.2f ms, PostgreSQL %.2f ms\n",
			r.load1, 100*r.busy, r.goCPU, r.pgCPU)
	} else {
		fmt.Fprintf(out, "          load average %.2f, machine CPU busy %.0f%%, CPU per request: instances %.2f ms, PostgreSQL %.2f ms, load generator %.2f ms\n",
			r.load1, 100*r.busy, r.instCPU, r.pgCPU, r.goCPU)
		var used []string
		for i, x := range r.instCores {
			u := fmt.Sprintf("instance %d %.2f", i+1, x)
			if r.cap > 0 {
				u += fmt.Sprintf(" (%.0f%% of its %.2f, throttled in %.0f%% of periods)", 100*x/r.cap, r.cap, 100*r.throttled[i])
			}
			used = append(used, u)
		}
		fmt.Fprintf(out, "          CPUs used: %s, PostgreSQL %.2f, load generator %.2f\n", strings.Join(used, ", "), r.pgCores, r.lgCores)
		if r.cap > 0 {
			if r.capLimited() {
				fmt.Fprintln(out, "          limit: the instances' caps (each instance >= 90% of its cap; PostgreSQL and the load generator below 1 CPU)")
			} else {
				fmt.Fprintln(out, "          limit: NOT the instances' caps alone (an instance below 90% of its cap, or PostgreSQL or the load generator at 1 CPU)")
			}
		}
	}
	if len(r.waits) > 0 {
		fmt.Fprintf(out, "          waits (share of sampled active backends): %s\n", strings.Join(r.waits, ", "))
	}
	if len(r.lane) > 0 {
		fmt.Fprintf(out, "          lane holders (share of samples): %s\n", strings.Join(r.lane, ", "))
	}
	if r.siread != "" {
		fmt.Fprintf(out, "          predicate locks held (average): %s\n", r.siread)
	}
	for _, st := range r.statements {
		fmt.Fprintf(out, "          %s\n", st)
	}
}

// instance is one Gatehouse instance under load: a stack in this process
// or a child process serving one.
type instance interface {
	url() string
	stats(ctx context.Context) (postgres.Stats, error)
	close()
}

func (st *stack) url() string { return st.base }

func (st *stack) stats(context.Context) (postgres.Stats, error) { return st.store.Stats(), nil }

// startInstances starts n instances: stacks in this process, or with
// -procs child processes, the i-th in groups[i] when groups is not empty.
func startInstances(ctx context.Context, c *config, url, schema string, kek []byte, n int, groups []*cgroup) ([]instance, []int, error) {
	var insts []instance
	var pids []int
	for i := range n {
		if !c.procs {
			st, err := open(ctx, c, url, schema, kek)
			if err != nil {
				return insts, nil, err
			}
			insts = append(insts, st)
			continue
		}
		var cg *cgroup
		procs := 0
		if len(groups) > 0 {
			cg, procs = groups[i], int(math.Ceil(c.instanceCPU))
		}
		ch, err := startChild(ctx, instanceSpec{URL: url, Schema: schema, KEK: kek, Conns: c.conns, Hash: c.hash}, cg, procs)
		if err != nil {
			return insts, nil, err
		}
		insts = append(insts, ch)
		pids = append(pids, ch.pid())
	}
	return insts, pids, nil
}

func measure(ctx context.Context, c *config, url, schema string, kek []byte, fx *fixture, load string, n, pgPID int, groups []*cgroup) (result, error) {
	insts, pids, err := startInstances(ctx, c, url, schema, kek, n, groups)
	defer func() {
		for _, in := range insts {
			in.close()
		}
	}()
	if err != nil {
		return result{}, err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c.concurrency, MaxConnsPerHost: c.concurrency}}
	do := request(load, fx)
	var stop atomic.Bool
	var measuring atomic.Bool
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	defer func() {
		stop.Store(true)
		wg.Wait()
	}()
	for w := range c.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			base := insts[w%n].url()
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
	select {
	case <-time.After(c.warmup):
	case <-ctx.Done():
		return result{}, ctx.Err()
	}
	load1 := loadAverage()
	before, err := stats(ctx, insts)
	if err != nil {
		return result{}, err
	}
	cpu0 := readCPU(pgPID, pids, groups)
	if c.statements {
		if err := execOnce(ctx, url, "SELECT pg_stat_statements_reset()"); err != nil {
			return result{}, err
		}
	}
	measuring.Store(true)
	t0 := time.Now()
	waits, siread, lane := sampleWaits(ctx, url, c.duration)
	el := time.Since(t0)
	measuring.Store(false)
	cpu1 := readCPU(pgPID, pids, groups)
	after, err := stats(ctx, insts)
	if err != nil {
		return result{}, err
	}
	stop.Store(true)
	wg.Wait()
	if firstErr != nil {
		return result{}, firstErr
	}
	if err := ctx.Err(); err != nil {
		return result{}, err
	}
	slices.Sort(lat)
	r := result{load: load, instances: n, n: len(lat), rate: float64(len(lat)) / el.Seconds(), waits: waits,
		siread: siread, lane: lane, load1: load1, procs: c.procs}
	cores := func(d time.Duration) float64 { return d.Seconds() / el.Seconds() }
	if len(lat) > 0 {
		perReq := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(len(lat)) }
		r.goCPU = perReq(cpu1.self - cpu0.self)
		if pgPID != 0 {
			r.pgCPU = perReq(cpu1.pg - cpu0.pg)
		}
		var inst time.Duration
		for i := range cpu1.inst {
			inst += cpu1.inst[i] - cpu0.inst[i]
		}
		r.instCPU = perReq(inst)
	}
	if c.procs {
		r.pgCores, r.lgCores = cores(cpu1.pg-cpu0.pg), cores(cpu1.self-cpu0.self)
		for i := range cpu1.inst {
			r.instCores = append(r.instCores, cores(cpu1.inst[i]-cpu0.inst[i]))
		}
		if len(groups) > 0 {
			r.cap = c.instanceCPU
			for i := range cpu1.inst {
				share := 0.0
				if p := cpu1.periods[i] - cpu0.periods[i]; p > 0 {
					share = float64(cpu1.throttled[i]-cpu0.throttled[i]) / float64(p)
				}
				r.throttled = append(r.throttled, share)
			}
		}
	}
	if t := cpu1.total - cpu0.total; t > 0 {
		r.busy = float64(cpu1.busy-cpu0.busy) / float64(t)
	}
	if c.statements && len(lat) > 0 {
		var err error
		if r.statements, err = statementsPerRequest(ctx, url, len(lat)); err != nil {
			return result{}, err
		}
	}
	if len(lat) > 0 {
		r.p50, r.p99 = lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
	}
	if u := after.Updates - before.Updates; u > 0 {
		r.retries = float64(after.Conflicts-before.Conflicts) / float64(u)
	}
	if len(lat) > 0 {
		n := float64(len(lat))
		r.updates = float64(after.Updates-before.Updates) / n
		r.views = float64(after.Views-before.Views) / n
		r.roundTrips = float64(after.RoundTrips-before.RoundTrips) / n
	}
	return r, nil
}

func stats(ctx context.Context, insts []instance) (postgres.Stats, error) {
	var s postgres.Stats
	for _, in := range insts {
		x, err := in.stats(ctx)
		if err != nil {
			return s, fmt.Errorf("instance stats: %w", err)
		}
		s.Updates += x.Updates
		s.Conflicts += x.Conflicts
		s.Views += x.Views
		s.RoundTrips += x.RoundTrips
	}
	return s, nil
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

// post sends form to u and fails unless the answer is 200 with want in
// its body. A 503 (the store answered busy: PostgreSQL's serialization
// retries ran out under contention) is retried, as a client of the API
// does, up to 5 times with a growing pause; only a sixth one fails.
func post(ctx context.Context, c *http.Client, u string, form url.Values, want string) error {
	var err error
	for attempt := range 6 {
		var busy bool
		if busy, err = postOnce(ctx, c, u, form, want); !busy {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt+1) * 10 * time.Millisecond):
		}
	}
	return err
}

// postOnce is one try of post; busy reports a 503.
func postOnce(ctx context.Context, c *http.Client, u string, form url.Values, want string) (busy bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return false, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return false, err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		return resp.StatusCode == http.StatusServiceUnavailable, fmt.Errorf("POST %s: %d %s", u, resp.StatusCode, body)
	}
	return false, nil
}

// sampleWaits samples pg_stat_activity every 20 ms for d and returns the
// most frequent states of active Gatehouse backends: a wait event
// (type:event) or "cpu" when an active backend waits on nothing. Every
// tenth sample also counts the predicate locks (SIReadLock) held, by
// granularity: a relation lock makes every write to the table a conflict
// with its holder, a page lock every write to that page.
func sampleWaits(ctx context.Context, url string, d time.Duration) (waits []string, siread string, lane []string) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		time.Sleep(d)
		return []string{"(no sample: " + err.Error() + ")"}, "", nil
	}
	defer conn.Close(ctx)
	counts := map[string]int{}
	locks := map[string]int{}
	laneCounts := map[string]int{}
	total, lockSamples, laneSamples := 0, 0, 0
	end := time.Now().Add(d)
	for i := 0; time.Now().Before(end) && ctx.Err() == nil; i++ {
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
		// The holders of advisory locks (the lanes: the retry lane, and
		// any named lane; the audit log's batches took one before they ran
		// append-only): what a lane's holder is doing is what the others
		// queue behind. "idle in transaction" is a holder waiting for
		// its instance's next statement.
		rows, err = conn.Query(ctx, `SELECT a.state, coalesce(a.wait_event_type, ''), coalesce(a.wait_event, '')
			FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted`)
		if err == nil {
			laneSamples++
			held := false
			for rows.Next() {
				var state, typ, ev string
				if rows.Scan(&state, &typ, &ev) == nil {
					held = true
					k := state
					if typ != "" && typ != "Client" {
						k = typ + ":" + ev
					} else if state == "active" {
						k = "cpu"
					}
					laneCounts[k]++
				}
			}
			rows.Close()
			if !held {
				laneCounts["not held"]++
			}
		}
		if i%10 == 0 {
			rows, err := conn.Query(ctx, `SELECT l.locktype, coalesce(c.relname, '?'), count(*) FROM pg_locks l
				LEFT JOIN pg_class c ON c.oid = l.relation WHERE l.mode = 'SIReadLock' GROUP BY 1, 2`)
			if err == nil {
				lockSamples++
				for rows.Next() {
					var typ, rel string
					var n int
					if rows.Scan(&typ, &rel, &n) == nil {
						locks[typ+" of "+rel] += n
					}
				}
				rows.Close()
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	out := top(counts, total)
	lockKeys := make([]string, 0, len(locks))
	for k := range locks {
		lockKeys = append(lockKeys, k)
	}
	sort.Slice(lockKeys, func(i, j int) bool { return locks[lockKeys[i]] > locks[lockKeys[j]] })
	var held []string
	for _, k := range lockKeys {
		held = append(held, fmt.Sprintf("%s %.0f", k, float64(locks[k])/float64(max(lockSamples, 1))))
	}
	return out, strings.Join(held, ", "), top(laneCounts, laneSamples)
}

// top formats the most frequent keys of counts as shares of total.
func top(counts map[string]int, total int) []string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return counts[keys[i]] > counts[keys[j]] || counts[keys[i]] == counts[keys[j]] && keys[i] < keys[j]
	})
	var out []string
	for _, k := range keys[:min(6, len(keys))] {
		out = append(out, k+" "+strconv.Itoa(100*counts[k]/max(total, 1))+"%")
	}
	return out
}

func execOnce(ctx context.Context, url, sql string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// statementsPerRequest reads pg_stat_statements: each statement's calls
// per request, rows per call and mean server time, busiest first.
func statementsPerRequest(ctx context.Context, url string, requests int) ([]string, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT query, calls, rows, total_exec_time FROM pg_stat_statements
		WHERE query NOT LIKE '%pg_stat%' AND query NOT LIKE '%pg_locks%' ORDER BY total_exec_time DESC LIMIT 12`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	var calls, rowsN int64
	var total float64
	var query string
	_, err = pgx.ForEachRow(rows, []any{&query, &calls, &rowsN, &total}, func() error {
		q := strings.Join(strings.Fields(query), " ")
		if len(q) > 70 {
			q = q[:70] + "..."
		}
		out = append(out, fmt.Sprintf("%5.2f calls/req %6.1f rows/call %7.3f ms/call  %s",
			float64(calls)/float64(requests), float64(rowsN)/float64(max(calls, 1)), total/float64(max(calls, 1)), q))
		return nil
	})
	return out, err
}

// cpuTimes are cumulative CPU times: this process's, the PostgreSQL
// server's (the postmaster, its live children and the children it
// reaped), and the machine's busy and total time from /proc/stat; with
// -procs each instance process's, and with -instance-cpu its cgroup's
// scheduler periods and throttled periods.
type cpuTimes struct {
	self, pg, busy, total time.Duration
	inst                  []time.Duration
	periods, throttled    []int64
}

// clockTick is the unit of /proc's CPU times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

func readCPU(pgPID int, instPIDs []int, groups []*cgroup) cpuTimes {
	var c cpuTimes
	for i, pid := range instPIDs {
		c.inst = append(c.inst, procCPU(pid))
		if i < len(groups) {
			p, t := groups[i].throttling()
			c.periods = append(c.periods, p)
			c.throttled = append(c.throttled, t)
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		c.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		// cpu user nice system idle iowait irq softirq steal guest guest_nice;
		// guest time is already counted in user and nice.
		f := strings.Fields(line)
		for i, v := range f[1:min(len(f), 9)] {
			n, _ := strconv.ParseInt(v, 10, 64)
			c.total += time.Duration(n) * clockTick
			if i != 3 && i != 4 { // idle, iowait
				c.busy += time.Duration(n) * clockTick
			}
		}
	}
	if pgPID == 0 {
		return c
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, utime, stime, cutime, cstime, ok := procStat(pid)
		switch {
		case !ok:
		case pid == pgPID:
			c.pg += (utime + stime + cutime + cstime) * clockTick
		case ppid == pgPID:
			c.pg += (utime + stime) * clockTick
		}
	}
	return c
}

// procStat reads the parent and the CPU times (in clock ticks) of a process.
func procStat(pid int) (ppid int, utime, stime, cutime, cstime time.Duration, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, 0, 0, 0, false
	}
	// The command name is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, 0, 0, 0, false
	}
	f := strings.Fields(string(b[i+1:])) // state ppid ... (field 3 is f[0])
	if len(f) < 15 {
		return 0, 0, 0, 0, 0, false
	}
	num := func(j int) time.Duration { n, _ := strconv.ParseInt(f[j], 10, 64); return time.Duration(n) }
	return int(num(1)), num(11), num(12), num(13), num(14), true
}

// loadAverage returns the machine's 1-minute load average.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
