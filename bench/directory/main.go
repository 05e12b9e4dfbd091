// Command directory measures a large directory on one bbolt file: it loads
// N users (default 10,000,000) across a number of organizations (default
// 10,000) with identity.Service.ImportUsers, reports the load time, the
// users per second and the file size, and then measures, warm and cold,
// the latency (p50, p99) of:
//
//   - get by id (identity.Service.GetUser),
//   - get by email (GetUserByEmail),
//   - the first and the last page of an organization's users (ListUsers,
//     100 per page),
//   - a password-less sign-in: a Crafter ticket for a profile
//     authenticated elsewhere (profile.Service.CreateTicket), a durable
//     write with its audit event,
//   - a token issuance for a signed-in user (tokens.Service.IssueAccessToken,
//     ES256).
//
// Warm figures are taken with the file in the page cache. Cold figures are
// taken after closing the file, evicting it from the page cache
// (posix_fadvise DONTNEED on Linux) and opening it again (the time of that
// open is reported); the program evicts the file once more just before
// the timed samples, after preparing them (see cache_linux.go), and
// reports how much of it was resident when they started.
//
// It is a benchmark program, not a test: run it with nice on a shared
// machine, for example
//
//	nice -n 10 go run ./bench/directory -n 1000000
//
// The file is deleted at the end unless -keep is given. See
// bench/README-scale.md for figures.
package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/profile"
	"github.com/gatehouse-id/gatehouse/store/bolt"
	"github.com/gatehouse-id/gatehouse/tokens"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "directory:", err)
		os.Exit(1)
	}
}

type config struct {
	users, orgs   int
	batch         int
	workers       int
	samples       int
	writeSamples  int
	coldSamples   int
	path          string
	keep, reuse   bool
	skipCold      bool
	prewarm       bool
	progressEvery time.Duration
	fill          float64
	noFreelist    bool
	stats         bool
	cpuProfile    string
}

func parse(args []string, out io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("directory", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.IntVar(&c.users, "n", 10_000_000, "users to load")
	fs.IntVar(&c.orgs, "orgs", 10_000, "organizations the users are spread over")
	fs.IntVar(&c.batch, "batch", 10_000, "users per ImportUsers transaction")
	fs.IntVar(&c.workers, "workers", 2, "organizations imported at once")
	fs.IntVar(&c.samples, "samples", 20_000, "samples per read operation (warm)")
	fs.IntVar(&c.writeSamples, "write-samples", 2_000, "samples per sign-in and issuance (warm)")
	fs.IntVar(&c.coldSamples, "cold-samples", 500, "samples per operation after the page cache is dropped")
	fs.StringVar(&c.path, "file", "", "bolt file (default: a new file in the temporary directory)")
	fs.BoolVar(&c.keep, "keep", false, "keep the file at the end")
	fs.BoolVar(&c.reuse, "reuse", false, "measure an existing -file loaded by an earlier run with the same -n and -orgs")
	fs.BoolVar(&c.skipCold, "skip-cold", false, "skip the cold measurements")
	fs.BoolVar(&c.prewarm, "prewarm", true, "read the whole file once before the warm measurements, so that it is in the page cache")
	fs.Float64Var(&c.fill, "fill", bolt.DefaultFillPercent, "bbolt fill percent of split pages (bolt.WithFillPercent)")
	fs.BoolVar(&c.noFreelist, "no-freelist-sync", false, "open the file with bolt.WithoutFreelistSync")
	fs.BoolVar(&c.stats, "stats", false, "after the load, print the bytes per user of each kind of key and bbolt's page use, then stop")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the load to this file")
	fs.DurationVar(&c.progressEvery, "progress", 10*time.Second, "how often to print load progress (0: never)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case c.users < 1 || c.orgs < 1 || c.orgs > c.users:
		return nil, errors.New("need 1 <= -orgs <= -n")
	case c.batch < 1 || c.workers < 1 || c.samples < 1 || c.writeSamples < 1 || c.coldSamples < 1:
		return nil, errors.New("-batch, -workers and the sample counts must be positive")
	case c.reuse && c.path == "":
		return nil, errors.New("-reuse needs -file")
	}
	return c, nil
}

// directory is the shape of the loaded data: the users are numbered in
// load order, organization k holds the users lo(k) to lo(k+1)-1 (a
// directory imported tenant by tenant), user i has email
// user{i}@{org}.example and ObjectID i+1 in hexadecimal, and was created
// at epoch + i ms, so ids grow with the load.
type directory struct {
	users, orgs int
}

func orgName(k int) string          { return fmt.Sprintf("org-%05d", k) }
func (d directory) orgOf(i int) int { return i * d.orgs / d.users }
func (d directory) org(i int) string {
	return orgName(d.orgOf(i))
}
func (d directory) lo(k int) int       { return (k*d.users + d.orgs - 1) / d.orgs }
func (d directory) email(i int) string { return fmt.Sprintf("user%d@%s.example", i, d.org(i)) }
func objectID(i int) string            { return fmt.Sprintf("%024x", i+1) }

// load epoch: user i was created at epoch + i ms, so ids follow the load.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// crafterHash is a legacy Crafter password hash, as a real import carries.
const crafterHash = "4rQ8a67wAk1GRwIqHix5kYw1MORa49o83Y7zXQhBqT0=|j4vsWtPbYjO3LfSiQcnGlw=="

func run(ctx context.Context, args []string, out io.Writer) error {
	c, err := parse(args, out)
	if err != nil {
		return err
	}
	if c.path == "" {
		dir, err := os.MkdirTemp("", "gatehouse-directory-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		c.path = filepath.Join(dir, "directory.db")
	}
	if !c.keep && !c.reuse {
		defer os.Remove(c.path)
	}
	d := directory{users: c.users, orgs: c.orgs}
	fmt.Fprintf(out, "directory: %d users across %d organizations in %s (GOMAXPROCS %d)\n",
		c.users, c.orgs, c.path, runtime.GOMAXPROCS(0))
	// A fixed key-encryption key, so that -reuse can open a file an
	// earlier run loaded: the file is a throwaway benchmark fixture.
	sum := sha256.Sum256([]byte("gatehouse bench/directory"))
	kek := sum[:]
	st, err := openStack(ctx, c.path, kek, c)
	if err != nil {
		return err
	}
	if !c.reuse {
		if c.cpuProfile != "" {
			f, err := os.Create(c.cpuProfile)
			if err != nil {
				st.close()
				return err
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				f.Close()
				st.close()
				return err
			}
			defer f.Close()
		}
		err := load(ctx, c, d, st, out)
		if c.cpuProfile != "" {
			pprof.StopCPUProfile()
		}
		if err != nil {
			st.close()
			return err
		}
	}
	if c.stats {
		if err := st.close(); err != nil {
			return err
		}
		return stats(c.path, c.users, out)
	}
	if err := st.prepare(ctx, d); err != nil {
		st.close()
		return err
	}
	if c.prewarm {
		if err := readThrough(c.path); err != nil {
			st.close()
			return err
		}
	}
	res, err := resident(c.path)
	if err != nil {
		st.close()
		return err
	}
	fmt.Fprintf(out, "\nwarm (%.1f%% of the file in the page cache at start):\n", 100*res)
	if err := measure(ctx, st, d, c.samples, c.writeSamples, out); err != nil {
		st.close()
		return err
	}
	if err := st.close(); err != nil {
		return err
	}
	if c.skipCold {
		return nil
	}
	fmt.Fprintln(out, "\ncold (page cache dropped before each operation; first samples after reopening):")
	return cold(ctx, c, d, kek, out)
}

// readThrough reads the file at path once, which leaves it in the page
// cache when memory allows.
func readThrough(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}

// stack is the services over one open store.
type stack struct {
	store   *bolt.Store
	id      *identity.Service
	prof    *profile.Service
	tok     *tokens.Service
	cred    *identity.Credential
	apps    map[int]*identity.Application
	openDur time.Duration
}

func openStack(ctx context.Context, path string, kek []byte, c *config) (*stack, error) {
	opts := []bolt.Option{bolt.WithTimeout(10 * time.Second), bolt.WithFillPercent(c.fill)}
	if c.noFreelist {
		opts = append(opts, bolt.WithoutFreelistSync())
	}
	t0 := time.Now()
	s, err := bolt.Open(ctx, path, opts...)
	if err != nil {
		return nil, err
	}
	st := &stack{store: s, openDur: time.Since(t0), apps: map[int]*identity.Application{}}
	st.id, err = identity.NewService(identity.Options{Store: s, AccountDomain: "bench", KeyEncryptionKey: kek,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil {
		st.prof, err = profile.New(profile.Options{Identity: st.id, SyncMail: true})
	}
	if err == nil {
		st.tok, err = tokens.New(tokens.Options{Identity: st.id, BaseURL: "http://127.0.0.1:8080", KeyEncryptionKey: kek})
	}
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	return st, nil
}

func (st *stack) close() error {
	st.prof.Close()
	return st.store.Close()
}

// prepare makes what the sign-in and issuance need: a master credential
// and one application in each of a few organizations (found again on a
// reused file).
func (st *stack) prepare(ctx context.Context, d directory) error {
	cred, _, err := st.id.CreateCredential(ctx, identity.Credential{Name: "bench", Master: true,
		TenantPermissions: []identity.TenantPermission{{Tenant: "*", AllowedActions: []string{"*"}}},
		Permissions:       []string{"*"}, ManagedOrgs: []string{"*"}}, "")
	if err != nil {
		return fmt.Errorf("credential: %w", err)
	}
	st.cred = cred
	for _, k := range appOrgs(d) {
		apps, err := st.id.ListApplications(ctx, orgName(k), identity.PageRequest{PerPage: 1})
		if err != nil {
			return fmt.Errorf("applications of %s: %w", orgName(k), err)
		}
		if len(apps.Items) > 0 {
			st.apps[k] = &apps.Items[0]
			continue
		}
		app, _, err := st.id.CreateApplication(ctx, orgName(k), identity.Application{Name: "bench",
			ApplicationType: "regular_web", SigningAlg: tokens.ES256,
			AllowedRedirectURLs: []string{"https://app.example/callback"}})
		if err != nil {
			return fmt.Errorf("application in %s: %w", orgName(k), err)
		}
		st.apps[k] = app
	}
	return nil
}

// appOrgs are the organizations whose users the issuance samples use.
func appOrgs(d directory) []int {
	n := min(d.orgs, 16)
	out := make([]int, n)
	for i := range out {
		out[i] = i * (d.orgs / n)
	}
	return out
}

func load(ctx context.Context, c *config, d directory, st *stack, out io.Writer) error {
	t0 := time.Now()
	if err := createOrgs(ctx, st.id, c.orgs, 32); err != nil {
		return err
	}
	orgTime := time.Since(t0)
	fmt.Fprintf(out, "organizations: %d in %s (%.0f/s)\n", c.orgs, orgTime.Round(time.Millisecond), float64(c.orgs)/orgTime.Seconds())

	// Organizations are imported in order, each by one ImportUsers call
	// with its users in creation order; -workers of them at once, so
	// that bbolt coalesces their transactions.
	var next, done atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, c.workers)
	t1, cpu1 := time.Now(), cpuTime()
	stop := make(chan struct{})
	if c.progressEvery > 0 {
		go func() {
			tick := time.NewTicker(c.progressEvery)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					n := done.Load()
					el := time.Since(t1)
					fmt.Fprintf(out, "  %d users in %s (%.0f users/s)\n", n, el.Round(time.Second), float64(n)/el.Seconds())
				}
			}
		}()
	}
	for range c.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1) - 1)
				if k >= c.orgs {
					return
				}
				in := usersOf(d, k)
				res, err := st.id.ImportUsers(ctx, orgName(k), in, identity.ImportOptions{BatchSize: c.batch})
				if err != nil {
					errs <- fmt.Errorf("import %s: %w", orgName(k), err)
					return
				}
				for _, r := range res {
					if r.Status != identity.ImportCreated {
						errs <- fmt.Errorf("import %s: user %d: %s: %v", orgName(k), r.Index, r.Status, r.Err)
						return
					}
				}
				done.Add(int64(len(in)))
			}
		}()
	}
	wg.Wait()
	close(stop)
	select {
	case err := <-errs:
		return err
	default:
	}
	el, cpu := time.Since(t1), cpuTime()-cpu1
	fi, err := os.Stat(st.store.Path())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "load: %d users in %s: %.0f users/s", c.users, el.Round(time.Millisecond), float64(c.users)/el.Seconds())
	if cpu > 0 {
		fmt.Fprintf(out, " (%s of CPU: %.0f users per CPU-second)", cpu.Round(time.Millisecond), float64(c.users)/cpu.Seconds())
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "file: %s (%.0f bytes per user)\n", size(fi.Size()), float64(fi.Size())/float64(c.users))
	return nil
}

// usersOf returns organization k's users, in creation order.
func usersOf(d directory, k int) []identity.User {
	in := make([]identity.User, 0, d.lo(k+1)-d.lo(k))
	for i := d.lo(k); i < d.lo(k+1); i++ {
		in = append(in, identity.User{ObjectID: objectID(i), Email: d.email(i), Enabled: true, Verified: true,
			PasswordHash: crafterHash, Roles: []string{"member"},
			Profile:   identity.Profile{GivenName: "User", FamilyName: fmt.Sprint(i)},
			CreatedAt: epoch.Add(time.Duration(i) * time.Millisecond)})
	}
	return in
}

func createOrgs(ctx context.Context, svc *identity.Service, n, workers int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var first atomic.Pointer[error]
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1) - 1)
				if k >= n || first.Load() != nil {
					return
				}
				name := orgName(k)
				if _, err := svc.CreateOrganization(ctx, identity.OrganizationInput{Name: &name}); err != nil {
					err = fmt.Errorf("organization %s: %w", name, err)
					first.CompareAndSwap(nil, &err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if p := first.Load(); p != nil {
		return *p
	}
	return nil
}

// op is one measured operation on user i: prep, untimed, finds what the
// timed call needs (a user's id, a user record) and returns the call.
type op struct {
	name  string
	write bool
	prep  func(ctx context.Context, i int) (func() error, error)
}

func (st *stack) ops(d directory) []op {
	appOrg := appOrgs(d)
	const per = 100
	plain := func(fn func(ctx context.Context, i int) error) func(ctx context.Context, i int) (func() error, error) {
		return func(ctx context.Context, i int) (func() error, error) { return func() error { return fn(ctx, i) }, nil }
	}
	return []op{
		{name: "get by id", prep: func(ctx context.Context, i int) (func() error, error) {
			u, err := st.byObjectID(ctx, i)
			if err != nil {
				return nil, err
			}
			org, id := d.org(i), u.ID
			return func() error {
				got, err := st.id.GetUser(ctx, org, id)
				if err == nil && got.ID != id {
					err = errors.New("wrong user")
				}
				return err
			}, nil
		}},
		{name: "get by email", prep: plain(func(ctx context.Context, i int) error {
			u, err := st.id.GetUserByEmail(ctx, d.org(i), d.email(i))
			if err == nil && u.ObjectID != objectID(i) {
				err = fmt.Errorf("user %d: got %s", i, u.ObjectID)
			}
			return err
		})},
		{name: "list page 1 (100 per page)", prep: plain(func(ctx context.Context, i int) error {
			p, err := st.id.ListUsers(ctx, d.org(i), identity.PageRequest{Page: 1, PerPage: per})
			if err == nil && len(p.Items) == 0 {
				err = errors.New("empty first page")
			}
			return err
		})},
		{name: "list last page (100 per page)", prep: plain(func(ctx context.Context, i int) error {
			k := d.orgOf(i)
			last := (d.lo(k+1) - d.lo(k) + per - 1) / per
			p, err := st.id.ListUsers(ctx, d.org(i), identity.PageRequest{Page: last, PerPage: per})
			if err == nil && len(p.Items) == 0 {
				err = errors.New("empty last page")
			}
			return err
		})},
		{name: "sign-in (Crafter ticket, durable)", write: true, prep: plain(func(ctx context.Context, i int) error {
			_, err := st.prof.CreateTicket(ctx, st.cred, objectID(i))
			return err
		})},
		{name: "token issuance (ES256 access token)", write: true, prep: func(ctx context.Context, i int) (func() error, error) {
			k := appOrg[i%len(appOrg)]
			j := d.lo(k) + i%(d.lo(k+1)-d.lo(k))
			u, err := st.id.GetUserByEmail(ctx, orgName(k), d.email(j))
			if err != nil {
				return nil, err
			}
			req := &tokens.TokenRequest{OrgDomain: orgName(k), User: u, App: st.apps[k], Scopes: []string{"openid", "email"}}
			return func() error {
				_, err := st.tok.IssueAccessToken(ctx, req)
				return err
			}, nil
		}},
	}
}

func (st *stack) byObjectID(ctx context.Context, i int) (*identity.User, error) {
	var u *identity.User
	err := st.id.View(ctx, func(tx *identity.ReadTxn) (err error) {
		u, err = tx.UserByObjectID(objectID(i))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("user %d by object id: %w", i, err)
	}
	return u, nil
}

// timed runs o on the users picks and returns the sorted latencies;
// between the untimed preparation of every sample and the timed calls it
// runs between, when not nil.
func (st *stack) timed(ctx context.Context, o op, picks []int, between func() error) ([]time.Duration, error) {
	fns := make([]func() error, len(picks))
	for n, i := range picks {
		fn, err := o.prep(ctx, i)
		if err != nil {
			return nil, fmt.Errorf("%s, user %d: %w", o.name, i, err)
		}
		fns[n] = fn
	}
	if between != nil {
		if err := between(); err != nil {
			return nil, err
		}
	}
	lat := make([]time.Duration, 0, len(picks))
	for n, fn := range fns {
		t0 := time.Now()
		err := fn()
		lat = append(lat, time.Since(t0))
		if err != nil {
			return nil, fmt.Errorf("%s, user %d: %w", o.name, picks[n], err)
		}
	}
	slices.Sort(lat)
	return lat, nil
}

func picks(r *mrand.Rand, n, users int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = r.IntN(users)
	}
	return out
}

func measure(ctx context.Context, st *stack, d directory, samples, writeSamples int, out io.Writer) error {
	r := mrand.New(mrand.NewPCG(1, 2))
	for _, o := range st.ops(d) {
		n := samples
		if o.write {
			n = writeSamples
		}
		// One untimed pass warms what the operation reads.
		if _, err := st.timed(ctx, o, picks(r, min(n, 200), d.users), nil); err != nil {
			return err
		}
		lat, err := st.timed(ctx, o, picks(r, n, d.users), nil)
		if err != nil {
			return err
		}
		report(out, o.name, lat)
	}
	return nil
}

func cold(ctx context.Context, c *config, d directory, kek []byte, out io.Writer) error {
	r := mrand.New(mrand.NewPCG(3, 4))
	for oi := range 6 {
		if err := dropCache(c.path, ""); err != nil {
			return fmt.Errorf("drop page cache: %w", err)
		}
		st, err := openStack(ctx, c.path, kek, c)
		if err != nil {
			return err
		}
		if oi == 0 {
			fmt.Fprintf(out, "  open after dropping the cache: %s\n", st.openDur.Round(time.Millisecond))
		}
		err = func() error {
			defer st.close()
			if err := st.prepare(ctx, d); err != nil {
				return err
			}
			o := st.ops(d)[oi]
			var res float64
			lat, err := st.timed(ctx, o, picks(r, c.coldSamples, d.users), func() error {
				if err := dropCache(c.path, st.store.Path()); err != nil {
					return fmt.Errorf("drop page cache: %w", err)
				}
				var err error
				res, err = resident(c.path)
				return err
			})
			if err != nil {
				return err
			}
			report(out, fmt.Sprintf("%s (%.1f%% resident at start)", o.name, 100*res), lat)
			return nil
		}()
		if err != nil {
			return err
		}
	}
	return nil
}

func report(out io.Writer, name string, lat []time.Duration) {
	fmt.Fprintf(out, "  %-48s n=%-6d p50 %-10s p99 %-10s max %s\n", name, len(lat),
		pct(lat, 0.50), pct(lat, 0.99), lat[len(lat)-1].Round(time.Microsecond))
}

func pct(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	i = max(0, min(i, len(sorted)-1))
	d := sorted[i]
	if d < 10*time.Microsecond {
		return d.Round(100 * time.Nanosecond)
	}
	return d.Round(time.Microsecond)
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
