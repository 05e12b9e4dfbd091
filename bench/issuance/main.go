// Command issuance is Gatehouse's issuance benchmark harness (it is not
// part of the test run). It starts the example server on a bolt store in a
// temporary directory, creates one organization and one confidential
// (machine) application per signing algorithm (ES256, RS256, EdDSA)
// through the Cryptr API, and drives client_credentials issuance at
// /t/{org}/oauth/token with a small closed-loop load generator on loopback
// (keep-alive connections, -c concurrent workers, -d per round), printing
// requests per second and p50/p99 latency for each algorithm.
//
// When node and npm are present (and -peer is not off), it also runs panva's
// oidc-provider (bench/issuance/node: the 9.x line, in memory,
// client_credentials with JWT access tokens through resourceIndicators) and
// measures it in the same rounds, interleaved with Gatehouse's, then prints
// the ratios. Bare signing rates (ecdsa P-256, rsa.SignPKCS1v15 2048,
// ed25519) measured in the same run give the baseline of what the machine
// can sign.
//
// -crypto chooses the builds of the server measured in the same rounds
// (a comma-separated list): std (the default build: on Linux with cgo,
// RS256 is signed by the system's OpenSSL 3 libcrypto, loaded at run time,
// three to four times as fast as crypto/rsa), go (CGO_ENABLED=0: every
// signature by Go's standard library) and boring (GOEXPERIMENT=boringcrypto:
// the Go toolchain's BoringCrypto module, cgo, linux/amd64 and
// linux/arm64; RS256 still by OpenSSL where it loads). Each server logs
// what signs its RS256 tokens (rsa_signer), and the harness shows it. Bare
// signing is measured for each library: the standard library's in this
// process, BoringCrypto's by a BoringCrypto build of this program,
// OpenSSL's RSA by `openssl speed`.
//
//	bench/issuance.sh                    # or: go run ./bench/issuance
//	go run ./bench/issuance -c 16 -d 10s -rounds 2 -peer auto
//	go run ./bench/issuance -crypto std,go
//
// Every request the harness counts must have answered 200 with an access
// token; any other answer is counted as an error and reported.
package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "issuance:", err)
		os.Exit(1)
	}
}

type config struct {
	conc   int
	dur    time.Duration
	warm   time.Duration
	rounds int
	algs   []string
	peer   string
	server string
	before string
	store  string
	repo   string
	keep   bool
	crypto []string
	boring string
	goOnly string
}

// Target kinds: the default build, the pure-Go build, the BoringCrypto
// build, the -before build and oidc-provider.
const (
	kindStd    = "gatehouse"
	kindGo     = "go"
	kindBoring = "boring"
	kindBefore = "before"
	kindPeer   = "oidc-provider"
)

// builds describes each -crypto choice.
var builds = map[string]string{"std": "default build", "go": "CGO_ENABLED=0, pure Go", "boring": "BoringCrypto"}

// libraries names the signing libraries whose bare rates are measured: the
// Go standard library, BoringCrypto and OpenSSL.
var libraries = map[string]string{"std": "standard library", "boring": "BoringCrypto", "openssl": "OpenSSL"}

func run(ctx context.Context, args []string, out io.Writer) error {
	var cfg config
	var stops []func()
	fs := flag.NewFlagSet("issuance", flag.ContinueOnError)
	fs.IntVar(&cfg.conc, "c", 16, "concurrent connections (workers) per target")
	fs.DurationVar(&cfg.dur, "d", 10*time.Second, "measured duration of each target in each round")
	fs.DurationVar(&cfg.warm, "warmup", 2*time.Second, "unmeasured load before each target's first round")
	fs.IntVar(&cfg.rounds, "rounds", 2, "interleaved rounds")
	algList := fs.String("algs", "ES256,RS256,EdDSA", "signing algorithms to measure")
	fs.StringVar(&cfg.peer, "peer", "auto", "run oidc-provider beside Gatehouse: auto (when node and npm are present), on, off")
	fs.StringVar(&cfg.server, "server", "", "example server binary (default: built from -repo into a temporary directory)")
	fs.StringVar(&cfg.before, "before", "", "a second example server binary (an earlier build) measured in the same rounds, as \"before\"")
	fs.StringVar(&cfg.store, "store", "bolt", "Gatehouse's store: bolt (a durable file in the temporary directory) or memory (nothing durable, as oidc-provider: isolates the CPU path from the disk)")
	fs.StringVar(&cfg.repo, "repo", ".", "Gatehouse repository root (to build the server and find bench/issuance/node)")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the temporary directory (store, logs, profiles)")
	cryptoList := fs.String("crypto", "std", "Gatehouse builds to measure in the same rounds, comma-separated: std (the default build: RS256 by OpenSSL's libcrypto where it loads), go (CGO_ENABLED=0: crypto/rsa), boring (GOEXPERIMENT=boringcrypto)")
	fs.StringVar(&cfg.boring, "boring-server", "", "example server binary built with GOEXPERIMENT=boringcrypto (default: built from -repo)")
	fs.StringVar(&cfg.goOnly, "go-server", "", "example server binary built with CGO_ENABLED=0 (default: built from -repo)")
	signOnly := fs.String("sign-only", "", "internal: measure bare signing of this algorithm for -d and print the rates (what a BoringCrypto build of the harness is run for)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *signOnly != "" {
		r, err := measureSigning(*signOnly, cfg.dur)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%f %f\n", r[0], r[1])
		return nil
	}
	cfg.crypto = strings.Split(*cryptoList, ",")
	for _, c := range cfg.crypto {
		if builds[c] == "" {
			return errors.New("-crypto lists std, go or boring")
		}
	}
	cfg.algs = strings.Split(*algList, ",")
	if cfg.conc < 1 || cfg.dur <= 0 || cfg.rounds < 1 {
		return errors.New("-c, -d and -rounds must be positive")
	}
	if cfg.store != "bolt" && cfg.store != "memory" {
		return errors.New("-store must be bolt or memory")
	}
	tmp, err := os.MkdirTemp("", "gatehouse-issuance-")
	if err != nil {
		return err
	}
	if cfg.keep {
		fmt.Fprintln(out, "temporary directory:", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var targets []*target
	addGatehouse := func(kind, binary, dir string) error {
		gh, err := startGatehouse(ctx, cfg, binary, filepath.Join(tmp, dir))
		if err != nil {
			return err
		}
		stops = append(stops, gh.stop)
		fmt.Fprintf(out, "%s: RS256 signed by %s\n", kind, gh.rsaSigner)
		for _, alg := range cfg.algs {
			targets = append(targets, &target{name: kind + " " + alg, kind: kind, alg: alg, url: gh.tokenURL,
				id: gh.clients[alg].id, secret: gh.clients[alg].secret, pid: gh.cmd.Process.Pid,
				openssl: alg == "RS256" && strings.HasPrefix(gh.rsaSigner, "openssl")})
		}
		return nil
	}
	defer func() {
		for _, stop := range slices.Backward(stops) {
			stop()
		}
	}()
	var boringSigner string
	for _, c := range cfg.crypto {
		kind, binary, dir := kindStd, &cfg.server, "after"
		switch c {
		case "boring":
			kind, binary, dir = kindBoring, &cfg.boring, "boring"
			boringSigner = filepath.Join(tmp, "issuance-boring")
			if err := goBuild(ctx, cfg.repo, boringSigner, "./bench/issuance", c); err != nil {
				return fmt.Errorf("build the harness with BoringCrypto: %w", err)
			}
		case "go":
			kind, binary, dir = kindGo, &cfg.goOnly, "go"
		}
		if *binary == "" {
			*binary = filepath.Join(tmp, "gatehouse-server-"+c)
			fmt.Fprintf(out, "building the example server (%s)...\n", builds[c])
			if err := goBuild(ctx, cfg.repo, *binary, "./examples/server", c); err != nil {
				return fmt.Errorf("build the example server (%s): %w", builds[c], err)
			}
		}
		if err := addGatehouse(kind, *binary, dir); err != nil {
			return fmt.Errorf("%s: %w", builds[c], err)
		}
	}
	if cfg.before != "" {
		if err := addGatehouse(kindBefore, cfg.before, "before"); err != nil {
			return fmt.Errorf("-before: %w", err)
		}
	}
	var peer *process
	if usePeer(cfg.peer) {
		p, purl, psecret, err := startPeer(ctx, cfg, tmp)
		if err != nil {
			if cfg.peer == "on" {
				return err
			}
			fmt.Fprintln(out, "oidc-provider not run:", err)
		} else {
			peer = p
			defer peer.stop()
			for _, alg := range cfg.algs {
				targets = append(targets, &target{name: kindPeer + " " + alg, kind: kindPeer, alg: alg, url: purl, id: alg, secret: psecret,
					pid: p.cmd.Process.Pid})
			}
		}
	} else {
		fmt.Fprintln(out, "oidc-provider not run (-peer off, or node/npm missing)")
	}

	fmt.Fprintf(out, "GOMAXPROCS %d, %d workers per target, %s per target and round, %d rounds, Gatehouse on %s\n",
		runtime.GOMAXPROCS(0), cfg.conc, cfg.dur, cfg.rounds, cfg.store)
	for _, t := range targets {
		if err := t.check(ctx); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		load(ctx, t, cfg.conc, cfg.warm)
	}
	// bare[library][alg]: bare signing rates of each build's library.
	bare := map[string]map[string]*signRate{"std": {}, "boring": {}, "openssl": {}}
	for round := 1; round <= cfg.rounds; round++ {
		for _, alg := range cfg.algs {
			r, err := measureSigning(alg, cfg.dur/4)
			if err != nil {
				return err
			}
			for _, m := range bare {
				if m[alg] == nil {
					m[alg] = &signRate{}
				}
			}
			bare["std"][alg].add(r)
			if boringSigner != "" {
				r, err := signElsewhere(ctx, boringSigner, alg, cfg.dur/4)
				if err != nil {
					return fmt.Errorf("bare signing with BoringCrypto: %w", err)
				}
				bare["boring"][alg].add(r)
			}
			if alg == "RS256" && slices.ContainsFunc(targets, func(t *target) bool { return t.openssl }) {
				r, err := opensslSpeed(ctx, cfg.dur/4)
				if err != nil {
					return fmt.Errorf("bare RSA signing with OpenSSL (openssl speed): %w", err)
				}
				bare["openssl"][alg].add(r)
			}
		}
		for _, t := range targets {
			res := load(ctx, t, cfg.conc, cfg.dur)
			t.rounds = append(t.rounds, res)
			fmt.Fprintf(out, "round %d  %-22s %9.0f req/s  p50 %7s  p99 %7s  server CPU %5.0f µs/req  errors %d\n", round, t.name,
				res.rate(), res.pct(50), res.pct(99), float64(res.cpuPerRequest())/1e3, res.errors)
		}
	}
	report(out, cfg, targets, bare)
	return nil
}

// goBuild builds pkg of repo into binary for a -crypto choice: std as
// is, go with CGO_ENABLED=0, boring with GOEXPERIMENT=boringcrypto (cgo).
func goBuild(ctx context.Context, repo, binary, pkg, crypto string) error {
	args := []string{"build", "-o", binary}
	env := os.Environ()
	switch crypto {
	case "boring":
		env = append(env, "GOEXPERIMENT=boringcrypto", "CGO_ENABLED=1")
	case "go":
		env = append(env, "CGO_ENABLED=0")
	}
	build := exec.CommandContext(ctx, "go", append(args, pkg)...)
	build.Dir, build.Stdout, build.Stderr, build.Env = repo, os.Stderr, os.Stderr, env
	return build.Run()
}

// opensslSpeed measures OpenSSL's bare RSA-2048 signing with `openssl
// speed -mr rsa2048` for d (whole seconds, at least 1): one process, then
// GOMAXPROCS processes at once, their rates added up (`-multi` counts
// otherwise on this OpenSSL: its children report a fraction of the rate).
func opensslSpeed(ctx context.Context, d time.Duration) ([2]float64, error) {
	secs := fmt.Sprint(max(1, int(d.Round(time.Second)/time.Second)))
	one := func() (float64, error) {
		b, err := exec.CommandContext(ctx, "openssl", "speed", "-seconds", secs, "-mr", "rsa2048").Output()
		if err != nil {
			return 0, err
		}
		// -mr prints "+F2:<index>:<bits>:<signs/s>:<verifies/s>" (OpenSSL 3).
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Split(strings.TrimSpace(line), ":")
			var rate float64
			if len(f) >= 4 && f[0] == "+F2" && f[2] == "2048" {
				if _, err := fmt.Sscan(f[3], &rate); err == nil && rate > 0 {
					return rate, nil
				}
			}
		}
		return 0, fmt.Errorf("no RSA 2048 result in %q", b)
	}
	var r [2]float64
	var err error
	if r[0], err = one(); err != nil {
		return r, err
	}
	n := runtime.GOMAXPROCS(0)
	rates, errs := make([]float64, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); rates[i], errs[i] = one() }()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			return r, errs[i]
		}
		r[1] += rates[i]
	}
	return r, nil
}

// signElsewhere runs the harness binary at path (a BoringCrypto build) to
// measure bare signing of alg for d, and reads its rates.
func signElsewhere(ctx context.Context, path, alg string, d time.Duration) ([2]float64, error) {
	b, err := exec.CommandContext(ctx, path, "-sign-only", alg, "-d", d.String()).Output()
	if err != nil {
		return [2]float64{}, err
	}
	var r [2]float64
	if _, err := fmt.Sscanf(string(b), "%f %f", &r[0], &r[1]); err != nil {
		return [2]float64{}, fmt.Errorf("%q: %w", b, err)
	}
	return r, nil
}

// usePeer decides whether oidc-provider runs.
func usePeer(mode string) bool {
	switch mode {
	case "off":
		return false
	case "on":
		return true
	}
	_, e1 := exec.LookPath("node")
	_, e2 := exec.LookPath("npm")
	return e1 == nil && e2 == nil
}

// process is a child server.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func startProcess(cmd *exec.Cmd, logPath string) (*process, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); log.Close(); close(p.done) }()
	return p, nil
}

// freeAddr returns a loopback address with a free port.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitHTTP polls url until it answers (any status) or the deadline passes.
func waitHTTP(ctx context.Context, url string, p *process, logPath string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			b, _ := os.ReadFile(logPath)
			return fmt.Errorf("server exited:\n%s", b)
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer within 60s", url)
}

type client struct{ id, secret string }

type gatehouse struct {
	*process
	base, tokenURL string
	clients        map[string]client
	// rsaSigner is what signs RS256, as the server logged it at start
	// ("openssl 3.0.19", "crypto/rsa").
	rsaSigner string
}

func randomSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// startGatehouse starts the example server on a fresh bolt store and
// creates the organization and one machine application per algorithm
// through the Cryptr API.
func startGatehouse(ctx context.Context, cfg config, binary, tmp string) (*gatehouse, error) {
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	secret := randomSecret()
	store := "bolt:" + filepath.Join(tmp, "gatehouse.db")
	if cfg.store == "memory" {
		store = "memory:"
	}
	args := []string{"-addr", addr, "-store", store,
		"-master-key", "bench:" + secret, "-monitoring-token", randomSecret(), "-mail-dir", filepath.Join(tmp, "mail")}
	g := &gatehouse{base: "http://" + addr, clients: map[string]client{}}
	logPath := filepath.Join(tmp, "gatehouse.log")
	p, err := startProcess(exec.CommandContext(ctx, binary, args...), logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	g.process = p
	if err := waitHTTP(ctx, g.base+"/healthz", p, logPath); err != nil {
		p.stop()
		return nil, err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := apiCall(ctx, g.base+"/api/v2/oauth/token", "", map[string]any{"grant_type": "client_credentials",
		"client_id": "bench", "client_secret": secret}, &tok); err != nil {
		p.stop()
		return nil, fmt.Errorf("management token: %w", err)
	}
	var org struct {
		Domain string `json:"domain"`
	}
	if err := apiCall(ctx, g.base+"/api/v2/organizations", tok.AccessToken, map[string]any{"name": "Issuance Bench"}, &org); err != nil {
		p.stop()
		return nil, fmt.Errorf("create organization: %w", err)
	}
	for _, alg := range cfg.algs {
		var app struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
			SigningAlg   string `json:"signing_alg"`
		}
		err := apiCall(ctx, g.base+"/api/v2/org/"+org.Domain+"/applications", tok.AccessToken,
			map[string]any{"name": "bench " + alg, "application_type": "machine", "signing_alg": alg}, &app)
		if err != nil {
			p.stop()
			return nil, fmt.Errorf("create %s application: %w", alg, err)
		}
		if app.SigningAlg != alg {
			p.stop()
			return nil, fmt.Errorf("the %s application answers signing_alg %q", alg, app.SigningAlg)
		}
		g.clients[alg] = client{app.ClientID, app.ClientSecret}
	}
	g.tokenURL = g.base + "/t/" + org.Domain + "/oauth/token"
	b, _ := os.ReadFile(logPath)
	g.rsaSigner = rsaSignerOf(string(b))
	return g, nil
}

// apiCall posts a JSON body to a Cryptr API URL and decodes the answer.
func apiCall(ctx context.Context, u, bearer string, body any, out any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(string(b)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s: %s", u, res.Status, data)
	}
	return json.Unmarshal(data, out)
}

// startPeer installs (npm ci) and starts oidc-provider.
func startPeer(ctx context.Context, cfg config, tmp string) (*process, string, string, error) {
	dir := filepath.Join(cfg.repo, "bench", "issuance", "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider")); err != nil {
		npm := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
		npm.Dir, npm.Stdout, npm.Stderr = dir, os.Stderr, os.Stderr
		if err := npm.Run(); err != nil {
			return nil, "", "", fmt.Errorf("npm ci in %s: %w", dir, err)
		}
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, "", "", err
	}
	_, port, _ := net.SplitHostPort(addr)
	secret := randomSecret()
	cmd := exec.CommandContext(ctx, "node", "server.mjs", port, secret)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NODE_ENV=production")
	logPath := filepath.Join(tmp, "oidc-provider.log")
	p, err := startProcess(cmd, logPath)
	if err != nil {
		return nil, "", "", err
	}
	base := "http://" + addr
	if err := waitHTTP(ctx, base+"/.well-known/openid-configuration", p, logPath); err != nil {
		p.stop()
		return nil, "", "", err
	}
	return p, base + "/token", secret, nil
}

// target is one endpoint and client under load.
type target struct {
	name, kind, alg, url, id, secret string
	pid                              int  // the server process
	openssl                          bool // its RS256 is signed by OpenSSL
	rounds                           []result
}

// rsaSignerOf reads what signs RS256 from the example server's log (its
// "rs256 signer" line); "unknown" when the log has none (an older build).
func rsaSignerOf(log string) string {
	for _, line := range strings.Split(log, "\n") {
		_, v, ok := strings.Cut(line, " rsa_signer=")
		if !ok {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			return uq
		}
		return strings.Fields(v + " ?")[0]
	}
	return "unknown"
}

func (t *target) request(ctx context.Context) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, t.url, strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(t.id), url.QueryEscape(t.secret))
	return req
}

// check issues one token and checks its header's algorithm.
func (t *target) check(ctx context.Context) error {
	res, err := http.DefaultClient.Do(t.request(ctx))
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || json.Unmarshal(data, &tok) != nil || tok.AccessToken == "" {
		return fmt.Errorf("token request: %s: %s", res.Status, data)
	}
	head, _, _ := strings.Cut(tok.AccessToken, ".")
	if !strings.Contains(decodeSegment(head), `"alg":"`+t.alg+`"`) {
		return fmt.Errorf("token header %s is not %s", decodeSegment(head), t.alg)
	}
	return nil
}

// result is one measured run.
type result struct {
	n, errors int
	elapsed   time.Duration
	lat       []time.Duration // sorted
	// cpu is the CPU time (user and system) the server process used
	// during the run; 0 where /proc cannot tell.
	cpu time.Duration
}

// cpuPerRequest is the server's CPU time per answered request: unlike
// req/s, it hardly moves when other processes take the cores.
func (r result) cpuPerRequest() time.Duration {
	if r.n == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.n)
}

// clockTicks is the unit of /proc/PID/stat's times (USER_HZ, 100 on
// Linux).
const clockTicks = 100

// processCPU returns the CPU time (user + system) process pid has used,
// from /proc/PID/stat (0 where there is none).
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// fields are counted after its closing parenthesis.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	var utime, stime int64
	fmt.Sscan(f[11], &utime) // field 14
	fmt.Sscan(f[12], &stime) // field 15
	return time.Duration(utime+stime) * time.Second / clockTicks
}

func (r result) rate() float64 { return float64(r.n) / r.elapsed.Seconds() }

func (r result) pct(p float64) time.Duration { return percentile(r.lat, p) }

// percentile returns the p-th percentile (nearest rank) of sorted latencies.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// load runs conc closed-loop workers against t for d, each on its own
// keep-alive connection, and returns what they measured.
func load(ctx context.Context, t *target, conc int, d time.Duration) result {
	tr := &http.Transport{MaxIdleConns: conc, MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc, DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	var stop atomic.Bool
	var wg sync.WaitGroup
	lats := make([][]time.Duration, conc)
	errs := make([]int, conc)
	start := time.Now()
	cpu0 := processCPU(t.pid)
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 4096)
			for !stop.Load() {
				t0 := time.Now()
				res, err := hc.Do(t.request(ctx))
				if err != nil {
					errs[w]++
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					errs[w]++
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			lats[w] = lat
		}()
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	elapsed := time.Since(start)
	var r result
	r.cpu = processCPU(t.pid) - cpu0
	for w := range conc {
		r.lat = append(r.lat, lats[w]...)
		r.errors += errs[w]
	}
	slices.Sort(r.lat)
	r.n, r.elapsed = len(r.lat), elapsed
	return r
}

// signRate is the bare signing rate of one algorithm: one goroutine (one
// core) and GOMAXPROCS goroutines.
type signRate struct{ one, all []float64 }

func (s *signRate) add(r [2]float64) { s.one, s.all = append(s.one, r[0]), append(s.all, r[1]) }

// measureSigning signs a 32-byte digest (ed25519: a 300-byte message, the
// size of a token's signing input) as fast as it can, for d on one
// goroutine and then d on GOMAXPROCS goroutines.
func measureSigning(alg string, d time.Duration) ([2]float64, error) {
	var sign func() error
	digest := sha256.Sum256([]byte("header.payload"))
	msg := make([]byte, 300)
	switch alg {
	case "ES256":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return [2]float64{}, err
		}
		sign = func() error { _, err := ecdsa.SignASN1(rand.Reader, k, digest[:]); return err }
	case "RS256":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return [2]float64{}, err
		}
		sign = func() error { _, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, digest[:]); return err }
	case "EdDSA":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return [2]float64{}, err
		}
		sign = func() error { _ = ed25519.Sign(k, msg); return nil }
	default:
		return [2]float64{}, fmt.Errorf("unknown algorithm %q", alg)
	}
	rate := func(workers int) (float64, error) {
		var n atomic.Int64
		var stop atomic.Bool
		var wg sync.WaitGroup
		var ferr atomic.Value
		start := time.Now()
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() {
					if err := sign(); err != nil {
						ferr.Store(err)
						return
					}
					n.Add(1)
				}
			}()
		}
		time.Sleep(d)
		stop.Store(true)
		wg.Wait()
		if err, _ := ferr.Load().(error); err != nil {
			return 0, err
		}
		return float64(n.Load()) / time.Since(start).Seconds(), nil
	}
	one, err := rate(1)
	if err != nil {
		return [2]float64{}, err
	}
	all, err := rate(runtime.GOMAXPROCS(0))
	return [2]float64{one, all}, err
}

// report prints the summary: per target the total rate over all rounds
// and the p50/p99 of all latencies, the bare signing rates, and the ratios.
func report(out io.Writer, cfg config, targets []*target, bare map[string]map[string]*signRate) {
	type sum struct {
		rate     float64
		p50, p99 time.Duration
		cpu      time.Duration // per request
		errors   int
	}
	sums := map[string]sum{}
	fmt.Fprintln(out, "\nsummary (all rounds)")
	for _, t := range targets {
		var n, errs int
		var el, cpu time.Duration
		var lat []time.Duration
		for _, r := range t.rounds {
			n += r.n
			errs += r.errors
			el += r.elapsed
			cpu += r.cpu
			lat = append(lat, r.lat...)
		}
		slices.Sort(lat)
		s := sum{rate: float64(n) / el.Seconds(), p50: percentile(lat, 50), p99: percentile(lat, 99), errors: errs}
		if n > 0 {
			s.cpu = cpu / time.Duration(n)
		}
		sums[t.name] = s
		fmt.Fprintf(out, "  %-22s %9.0f req/s  p50 %7s  p99 %7s  server CPU %5.0f µs/req  errors %d\n", t.name, s.rate,
			s.p50.Round(time.Microsecond), s.p99.Round(time.Microsecond), float64(s.cpu)/1e3, s.errors)
	}
	fmt.Fprintln(out, "bare signing (same run; signatures/s on 1 core and on all cores)")
	for _, alg := range cfg.algs {
		for _, lib := range []string{"std", "boring", "openssl"} {
			if b := bare[lib][alg]; b != nil && len(b.all) > 0 {
				fmt.Fprintf(out, "  %-6s %9.0f /s (1 core)  %9.0f /s (%d cores)  %s\n", alg, mean(b.one), mean(b.all), runtime.GOMAXPROCS(0), libraries[lib])
			}
		}
	}
	fmt.Fprintln(out, "ratios")
	ratio := func(a, b string) {
		x, okx := sums[a]
		y, oky := sums[b]
		if okx && oky && y.rate > 0 {
			fmt.Fprintf(out, "  %-22s / %-22s: %.2f", a, b, x.rate/y.rate)
			if x.cpu > 0 && y.cpu > 0 {
				fmt.Fprintf(out, "  (server CPU per request %.0f / %.0f µs)", float64(x.cpu)/1e3, float64(y.cpu)/1e3)
			}
			fmt.Fprintln(out)
		}
	}
	openssl := map[string]bool{}
	for _, t := range targets {
		openssl[t.name] = t.openssl
	}
	for _, alg := range cfg.algs {
		for _, kind := range []string{kindStd, kindGo, kindBoring, kindBefore} {
			g, ok := sums[kind+" "+alg]
			if !ok {
				continue
			}
			lib := "std"
			switch {
			case openssl[kind+" "+alg]:
				lib = "openssl"
			case kind == kindBoring:
				lib = "boring"
			}
			if b := bare[lib][alg]; b != nil && mean(b.all) > 0 {
				fmt.Fprintf(out, "  %-22s / bare signing (%s, all cores): %.2f\n", kind+" "+alg, libraries[lib], g.rate/mean(b.all))
			}
			ratio(kind+" "+alg, kindPeer+" "+alg)
		}
		ratio(kindStd+" "+alg, kindGo+" "+alg)
		ratio(kindBoring+" "+alg, kindStd+" "+alg)
		ratio(kindStd+" "+alg, kindBefore+" "+alg)
	}
	for _, kind := range []string{kindStd, kindGo, kindBoring} {
		ratio(kind+" EdDSA", kind+" ES256")
	}
}

// decodeSegment decodes a base64url JWT segment ("" when malformed).
func decodeSegment(s string) string {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return ""
	}
	return string(b)
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
