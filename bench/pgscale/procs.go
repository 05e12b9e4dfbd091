package main

// Instances as separate processes (-procs), each optionally in its own
// CPU-limited cgroup (-instance-cpu): a capped process behaves like a small
// machine of its own, while PostgreSQL and the load generator share the
// rest of this one.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse-id/gatehouse/store/postgres"
)

// serveFlag, as the only argument, makes this program serve one instance
// for a parent pgscale (see serveInstance). It is not listed in -help.
const serveFlag = "-serve-instance"

// instanceSpec is what a parent sends a child instance, as the first line
// of its standard input (JSON): the database and the stack's settings.
// The key-encryption key travels here rather than on the command line,
// where other users could read it.
type instanceSpec struct {
	URL    string `json:"url"`
	Schema string `json:"schema"`
	KEK    []byte `json:"kek"`
	Conns  int    `json:"conns"`
	Hash   string `json:"hash"`
}

// serveInstance is the child's side: it reads its instanceSpec from in,
// opens the same stack as an in-process instance (open) on a free loopback
// port, writes {"base": URL} on out, then answers each "stats" line with
// the store's postgres.Stats as one JSON line. It returns, closing the
// stack, when in ends (the parent closed it, or died) or ctx ends.
func serveInstance(ctx context.Context, in io.Reader, out io.Writer) error {
	r := bufio.NewReader(in)
	line, err := r.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("read the instance spec: %w", err)
	}
	var spec instanceSpec
	if err := json.Unmarshal(line, &spec); err != nil {
		return fmt.Errorf("instance spec: %w", err)
	}
	st, err := open(ctx, &config{conns: spec.Conns, hash: spec.Hash}, spec.URL, spec.Schema, spec.KEK)
	if err != nil {
		return err
	}
	defer st.close()
	enc := json.NewEncoder(out)
	if err := enc.Encode(map[string]string{"base": st.base}); err != nil {
		return err
	}
	cmds := make(chan string)
	go func() {
		defer close(cmds)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			cmds <- strings.TrimSpace(l)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case cmd, ok := <-cmds:
			if !ok {
				return nil
			}
			if cmd != "stats" {
				return fmt.Errorf("unknown command %q", cmd)
			}
			if err := enc.Encode(st.store.Stats()); err != nil {
				return err
			}
		}
	}
}

// child is an instance served by a child process of this program.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
	done  chan error // the result of cmd.Wait
	base  string
}

// startChild starts this program's binary as an instance with spec; with
// a cgroup, the child joins it before it reads its spec (so before it
// opens anything) and runs with GOMAXPROCS = procs.
func startChild(ctx context.Context, spec instanceSpec, cg *cgroup, procs int) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, serveFlag)
	cmd.Env = os.Environ()
	if procs > 0 {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(procs))
	}
	cmd.Stderr = os.Stderr
	// Its own process group: a terminal's interrupt reaches only the
	// parent, which then closes its children in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ch := &child{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout), done: make(chan error, 1)}
	go func() { ch.done <- cmd.Wait() }()
	fail := func(err error) (*child, error) {
		ch.close()
		return nil, err
	}
	if cg != nil {
		if err := cg.add(cmd.Process.Pid); err != nil {
			return fail(err)
		}
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return fail(err)
	}
	if _, err := stdin.Write(append(b, '\n')); err != nil {
		return fail(err)
	}
	var hello struct {
		Base string `json:"base"`
	}
	if err := ch.read(ctx, &hello); err != nil {
		return fail(fmt.Errorf("instance process %d: %w", cmd.Process.Pid, err))
	}
	ch.base = hello.Base
	return ch, nil
}

// read decodes the child's next line into v, or fails when ctx ends, the
// child exits, or nothing comes within a minute.
func (ch *child) read(ctx context.Context, v any) error {
	line := make(chan []byte, 1)
	errc := make(chan error, 1)
	go func() {
		b, err := ch.out.ReadBytes('\n')
		if err != nil {
			errc <- err
			return
		}
		line <- b
	}()
	select {
	case b := <-line:
		return json.Unmarshal(b, v)
	case err := <-errc:
		return fmt.Errorf("no answer (%w)", err)
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Minute):
		return errors.New("no answer within a minute")
	}
}

func (ch *child) url() string { return ch.base }

func (ch *child) pid() int { return ch.cmd.Process.Pid }

func (ch *child) stats(ctx context.Context) (postgres.Stats, error) {
	var s postgres.Stats
	if _, err := io.WriteString(ch.stdin, "stats\n"); err != nil {
		return s, err
	}
	err := ch.read(ctx, &s)
	return s, err
}

// close ends the child: its standard input closes, so it closes its stack
// and exits; after 10 seconds it is killed. close returns once it has
// exited (and left its cgroup).
func (ch *child) close() {
	_ = ch.stdin.Close()
	select {
	case <-ch.done:
	case <-time.After(10 * time.Second):
		_ = ch.cmd.Process.Kill()
		<-ch.done
	}
}

// cgroupPrefix starts the name of every cgroup this program creates; the
// parent's process id follows, so that a later run can tell leftovers of
// a killed run from a live run's.
const cgroupPrefix = "pgscale-"

// findCPUCgroup returns the directory under which to create CPU-limited
// cgroups, from the text of /proc/self/mounts and /proc/self/cgroup: the
// cgroup v1 hierarchy that has the cpu controller (at this process's own
// cgroup in it, when that directory exists), or else a cgroup v2
// hierarchy's root. exists reports whether a directory exists.
func findCPUCgroup(mounts, self string, exists func(string) bool) (dir string, v2 bool, err error) {
	var v1Mount, v2Mount string
	for _, line := range strings.Split(mounts, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		switch f[2] {
		case "cgroup":
			for _, o := range strings.Split(f[3], ",") {
				if o == "cpu" {
					v1Mount = f[1]
				}
			}
		case "cgroup2":
			if v2Mount == "" {
				v2Mount = f[1]
			}
		}
	}
	if v1Mount != "" {
		for _, line := range strings.Split(self, "\n") {
			// hierarchy-ID:controller-list:path
			parts := strings.SplitN(line, ":", 3)
			if len(parts) != 3 {
				continue
			}
			for _, ctl := range strings.Split(parts[1], ",") {
				if ctl == "cpu" && parts[2] != "/" {
					if d := filepath.Join(v1Mount, parts[2]); exists(d) {
						return d, false, nil
					}
				}
			}
		}
		return v1Mount, false, nil
	}
	if v2Mount != "" {
		return v2Mount, true, nil
	}
	return "", false, errors.New("no cgroup hierarchy with the cpu controller is mounted")
}

// cpuCgroupParent finds where this machine's CPU-limited cgroups go.
func cpuCgroupParent() (string, bool, error) {
	mounts, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return "", false, err
	}
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", false, err
	}
	return findCPUCgroup(string(mounts), string(self), func(d string) bool {
		fi, err := os.Stat(d)
		return err == nil && fi.IsDir()
	})
}

// cgroup is a CPU-limited control group this program created.
type cgroup struct {
	dir    string
	v2     bool
	cpus   float64
	period time.Duration
}

// quotaFiles returns the files and values that limit a cgroup to cpus
// CPUs in each scheduler period: cgroup v1's cpu.cfs_period_us and
// cpu.cfs_quota_us (in that order: the quota is checked against the
// period), cgroup v2's cpu.max. The kernel's smallest quota is 1 ms.
func quotaFiles(cpus float64, period time.Duration, v2 bool) [][2]string {
	us := period.Microseconds()
	quota := strconv.FormatInt(max(1000, int64(math.Round(cpus*float64(us)))), 10)
	per := strconv.FormatInt(us, 10)
	if v2 {
		return [][2]string{{"cpu.max", quota + " " + per}}
	}
	return [][2]string{{"cpu.cfs_period_us", per}, {"cpu.cfs_quota_us", quota}}
}

// newCgroup creates the cgroup parent/name limited to cpus CPUs and
// checks that the limit reads back. It fails, naming what it could not
// do, where cgroups are not writable: there is no uncapped fallback.
func newCgroup(parent string, v2 bool, name string, cpus float64, period time.Duration) (*cgroup, error) {
	g := &cgroup{dir: filepath.Join(parent, name), v2: v2, cpus: cpus, period: period}
	if v2 {
		// A v2 child gets the cpu controller only when its parent enables
		// it for its subtree.
		ctl := filepath.Join(parent, "cgroup.subtree_control")
		if err := os.WriteFile(ctl, []byte("+cpu"), 0o644); err != nil {
			return nil, fmt.Errorf("cannot cap instances: enable the cpu controller in %s: %w", ctl, err)
		}
	}
	if err := os.Mkdir(g.dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot cap instances: create cgroup %s (needs a writable cgroup hierarchy, usually root): %w", g.dir, err)
	}
	for _, f := range quotaFiles(cpus, period, v2) {
		p := filepath.Join(g.dir, f[0])
		err := os.WriteFile(p, []byte(f[1]), 0o644)
		var got []byte
		if err == nil {
			got, err = os.ReadFile(p)
		}
		if err == nil && strings.TrimSpace(string(got)) != f[1] {
			err = fmt.Errorf("reads back %q", strings.TrimSpace(string(got)))
		}
		if err != nil {
			_ = g.remove()
			return nil, fmt.Errorf("cannot cap instances: set %s to %s: %w", p, f[1], err)
		}
	}
	return g, nil
}

// add moves a process, with all its threads, into the cgroup.
func (g *cgroup) add(pid int) error {
	p := filepath.Join(g.dir, "cgroup.procs")
	if err := os.WriteFile(p, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("cannot cap instance process %d: write %s: %w", pid, p, err)
	}
	return nil
}

// throttling reads the cgroup's scheduler periods and the periods in which
// its quota ran out (cpu.stat, cgroup v1 and v2 alike).
func (g *cgroup) throttling() (periods, throttled int64) {
	b, err := os.ReadFile(filepath.Join(g.dir, "cpu.stat"))
	if err != nil {
		return 0, 0
	}
	return parseCPUStat(string(b))
}

func parseCPUStat(s string) (periods, throttled int64) {
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "nr_periods":
			periods = n
		case "nr_throttled":
			throttled = n
		}
	}
	return periods, throttled
}

// remove deletes the cgroup. Its processes must have exited; a process
// that just exited may take a moment to leave, so it tries for a second.
func (g *cgroup) remove() error {
	var err error
	for range 20 {
		if err = os.Remove(g.dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup %s: %w", g.dir, err)
}

// staleCgroups lists the cgroups under parent that earlier runs of this
// program left (killed before they could remove them): named with the
// prefix and the id of a process that no longer runs.
func staleCgroups(parent string, alive func(pid int) bool) []string {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), cgroupPrefix)
		if !e.IsDir() || !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || alive(pid) {
			continue
		}
		out = append(out, filepath.Join(parent, e.Name()))
	}
	return out
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// instanceCgroups creates one cgroup per instance slot, each limited to
// cpus CPUs, after removing what killed runs left. The returned function
// removes them; call it once the instances' processes have exited.
func instanceCgroups(n int, cpus float64, period time.Duration, out io.Writer) ([]*cgroup, func() error, error) {
	parent, v2, err := cpuCgroupParent()
	if err != nil {
		return nil, nil, fmt.Errorf("cannot cap instances: %w", err)
	}
	for _, d := range staleCgroups(parent, processAlive) {
		if os.Remove(d) == nil {
			fmt.Fprintf(out, "removed cgroup %s, left by a killed run\n", d)
		}
	}
	var groups []*cgroup
	cleanup := func() error {
		var errs []error
		for _, g := range groups {
			errs = append(errs, g.remove())
		}
		return errors.Join(errs...)
	}
	for i := range n {
		g, err := newCgroup(parent, v2, fmt.Sprintf("%s%d-%d", cgroupPrefix, os.Getpid(), i+1), cpus, period)
		if err != nil {
			_ = cleanup()
			return nil, nil, err
		}
		groups = append(groups, g)
	}
	return groups, cleanup, nil
}

// procCPU returns a process's CPU time (all its threads, user and
// system), or 0 when it cannot be read.
func procCPU(pid int) time.Duration {
	_, utime, stime, _, _, ok := procStat(pid)
	if !ok {
		return 0
	}
	return (utime + stime) * clockTick
}
