package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSmokeProcesses runs both loads with each instance in a process of
// its own (this test binary, run again: see TestMain), each in a cgroup
// limited to half a CPU where this machine lets the test create cgroups.
// Every request must succeed, the report must give each process's CPU,
// and no cgroup may outlive the run.
func TestSmokeProcesses(t *testing.T) {
	requirePostgres(t)
	args := []string{"-procs", "-duration", "300ms", "-warmup", "100ms", "-concurrency", "4",
		"-conns", "2", "-orgs", "2", "-users", "3", "-fsync=false", "-rounds", "1"}
	parent, _, err := cpuCgroupParent()
	capped := err == nil && cgroupWritable(parent)
	if capped {
		args = append(args, "-instance-cpu", "0.5")
	}
	var out bytes.Buffer
	if err := run(context.Background(), args, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	got := out.String()
	want := []string{"instances: one process each", "issuance  2 instance(s)", "signin    2 instance(s)",
		"CPU per request: instances", "CPUs used: instance 1", "instance 2", "load generator", "signin    ratio 2/1"}
	if capped {
		want = append(want, "limited to 0.50 CPU", "of its 0.50, throttled in", "limit: ", "of its cap; the caps were the limit in")
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("report lacks %q:\n%s", w, got)
		}
	}
	if capped {
		left, _ := filepath.Glob(filepath.Join(parent, cgroupPrefix+strconv.Itoa(os.Getpid())+"-*"))
		if len(left) > 0 {
			t.Errorf("cgroups left after the run: %v", left)
		}
	}
}

// cgroupWritable reports whether a cgroup can be created under parent.
func cgroupWritable(parent string) bool {
	d := filepath.Join(parent, cgroupPrefix+"probe-"+strconv.Itoa(os.Getpid()))
	if os.Mkdir(d, 0o755) != nil {
		return false
	}
	return os.Remove(d) == nil
}

// TestCgroupCapsCPU creates a real cgroup limited to 0.2 CPU, runs a busy
// loop in it for a second, and checks that the loop got about its quota
// and that the cgroup is gone after remove. It needs a writable cgroup
// hierarchy (root).
func TestCgroupCapsCPU(t *testing.T) {
	parent, v2, err := cpuCgroupParent()
	if err != nil || !cgroupWritable(parent) {
		t.Skipf("no writable cpu cgroup here (%v)", err)
	}
	g, err := newCgroup(parent, v2, cgroupPrefix+strconv.Itoa(os.Getpid())+"-test", 0.2, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer g.remove()
	cmd := exec.Command("sh", "-c", "while :; do :; done")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := g.add(cmd.Process.Pid); err != nil {
		_ = cmd.Process.Kill()
		t.Fatal(err)
	}
	p0, _ := g.throttling()
	c0 := procCPU(cmd.Process.Pid)
	time.Sleep(time.Second)
	c1 := procCPU(cmd.Process.Pid)
	p1, throttled := g.throttling()
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	// The loop would take a whole CPU; capped it gets 0.2 s per second
	// (0.35 s allows for the tick granularity and the start).
	if used := c1 - c0; used <= 0 || used > 350*time.Millisecond {
		t.Errorf("a busy loop capped at 0.2 CPU used %v in a second", used)
	}
	if p1 <= p0 || throttled == 0 {
		t.Errorf("cpu.stat: %d periods (from %d), %d throttled", p1, p0, throttled)
	}
	if err := g.remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(g.dir); !os.IsNotExist(err) {
		t.Errorf("cgroup %s still there after remove (%v)", g.dir, err)
	}
}

func TestFindCPUCgroup(t *testing.T) {
	v1 := "cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,memory 0 0\n" +
		"cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,cpu,cpuacct 0 0\n" +
		"cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n"
	v2 := "proc /proc proc rw 0 0\ncgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate 0 0\n"
	yes := func(string) bool { return true }
	no := func(string) bool { return false }
	tests := []struct {
		name, mounts, self string
		exists             func(string) bool
		dir                string
		v2, fail           bool
	}{
		{"v1 at the root", v1, "4:memory:/x\n2:cpu,cpuacct:/\n0::/\n", yes, "/sys/fs/cgroup/cpu,cpuacct", false, false},
		{"v1 in own cgroup", v1, "2:cpu,cpuacct:/job/7\n", yes, "/sys/fs/cgroup/cpu,cpuacct/job/7", false, false},
		{"v1 own cgroup not visible", v1, "2:cpu,cpuacct:/job/7\n", no, "/sys/fs/cgroup/cpu,cpuacct", false, false},
		{"v1 cpuacct alone is not cpu", "cgroup /c cgroup rw,cpuacct 0 0\n", "", yes, "", false, true},
		{"v2", v2, "0::/user.slice\n", yes, "/sys/fs/cgroup", true, false},
		{"none", "proc /proc proc rw 0 0\n", "", yes, "", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, isV2, err := findCPUCgroup(tc.mounts, tc.self, tc.exists)
			if tc.fail {
				if err == nil {
					t.Fatalf("found %q", dir)
				}
				return
			}
			if err != nil || dir != tc.dir || isV2 != tc.v2 {
				t.Errorf("= %q, v2 %v, %v; want %q, v2 %v", dir, isV2, err, tc.dir, tc.v2)
			}
		})
	}
}

func TestQuotaFiles(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		cpus   float64
		period time.Duration
		v2     bool
		want   [][2]string
	}{
		{0.4, 100 * ms, false, [][2]string{{"cpu.cfs_period_us", "100000"}, {"cpu.cfs_quota_us", "40000"}}},
		{0.25, 10 * ms, false, [][2]string{{"cpu.cfs_period_us", "10000"}, {"cpu.cfs_quota_us", "2500"}}},
		{1.5, 100 * ms, false, [][2]string{{"cpu.cfs_period_us", "100000"}, {"cpu.cfs_quota_us", "150000"}}},
		{0.25, 100 * ms, true, [][2]string{{"cpu.max", "25000 100000"}}},
		{0.001, 100 * ms, true, [][2]string{{"cpu.max", "1000 100000"}}}, // the kernel's minimum quota
	}
	for _, tc := range tests {
		got := quotaFiles(tc.cpus, tc.period, tc.v2)
		if len(got) != len(tc.want) {
			t.Errorf("quotaFiles(%v, %v, %v) = %q, want %q", tc.cpus, tc.period, tc.v2, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("quotaFiles(%v, %v, %v) = %q, want %q", tc.cpus, tc.period, tc.v2, got, tc.want)
			}
		}
	}
}

// TestNewCgroupFiles checks the files newCgroup writes, in a plain
// directory standing in for the cgroup hierarchy, and that it fails
// clearly, with no uncapped fallback, where it cannot create the group.
func TestNewCgroupFiles(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		parent := t.TempDir()
		g, err := newCgroup(parent, v2, "pgscale-1-1", 0.3, 20*time.Millisecond)
		if err != nil {
			t.Fatalf("v2 %v: %v", v2, err)
		}
		for _, f := range quotaFiles(0.3, 20*time.Millisecond, v2) {
			if b, err := os.ReadFile(filepath.Join(g.dir, f[0])); err != nil || string(b) != f[1] {
				t.Errorf("v2 %v: %s = %q, %v; want %q", v2, f[0], b, err, f[1])
			}
		}
		if v2 {
			if b, _ := os.ReadFile(filepath.Join(parent, "cgroup.subtree_control")); string(b) != "+cpu" {
				t.Errorf("parent's subtree_control = %q, want +cpu", b)
			}
		}
		if err := g.add(4242); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(filepath.Join(g.dir, "cgroup.procs")); string(b) != "4242" {
			t.Errorf("cgroup.procs = %q", b)
		}
	}
	_, err := newCgroup(filepath.Join(t.TempDir(), "absent"), false, "pgscale-1-1", 0.3, 20*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "cannot cap instances") {
		t.Errorf("newCgroup under a missing directory: %v", err)
	}
}

func TestParseCPUStat(t *testing.T) {
	for _, s := range []string{
		"nr_periods 120\nnr_throttled 30\nthrottled_time 123456\n",                                      // v1
		"usage_usec 5\nuser_usec 3\nsystem_usec 2\nnr_periods 120\nnr_throttled 30\nthrottled_usec 9\n", // v2
	} {
		if p, th := parseCPUStat(s); p != 120 || th != 30 {
			t.Errorf("parseCPUStat(%q) = %d, %d; want 120, 30", s, p, th)
		}
	}
}

// TestStaleCgroups: only this program's cgroups whose run is over are
// leftovers; a live run's and anything else's stay.
func TestStaleCgroups(t *testing.T) {
	parent := t.TempDir()
	for _, d := range []string{"pgscale-100-1", "pgscale-100-2", "pgscale-200-1", "pgscale-x-1", "other-100-1"} {
		if err := os.Mkdir(filepath.Join(parent, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(parent, "pgscale-300-1"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got := staleCgroups(parent, func(pid int) bool { return pid == 200 })
	want := []string{filepath.Join(parent, "pgscale-100-1"), filepath.Join(parent, "pgscale-100-2")}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("staleCgroups = %q, want %q", got, want)
	}
	if !processAlive(os.Getpid()) {
		t.Error("processAlive(own pid) = false")
	}
}
