package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/store/postgres/pgtest"
)

// TestMain lets this test binary serve an instance for TestSmokeProcesses,
// which runs pgscale with -procs: the parent starts its own executable,
// here the test binary, with serveFlag.
func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == serveFlag {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func requirePostgres(t *testing.T) {
	t.Helper()
	if _, err := pgtest.BinDir(); errors.Is(err, pgtest.ErrNotInstalled) {
		if os.Getenv("GATEHOUSE_TEST_REQUIRE_POSTGRES") != "" {
			t.Fatal(err)
		}
		t.Skipf("%v (%s)", err, pgtest.InstallHint)
	}
}

// TestSmoke runs both loads for a moment against one and two instances on
// a throwaway cluster: every request must succeed, a 503 (busy) after at
// most 5 retries as a client would make them (a failed one ends the
// run with its status and body) and the report names each figure.
func TestSmoke(t *testing.T) {
	requirePostgres(t)
	var out bytes.Buffer
	err := run(context.Background(), []string{"-duration", "300ms", "-warmup", "100ms", "-concurrency", "4",
		"-conns", "2", "-orgs", "2", "-users", "3", "-fsync=false", "-rounds", "2"}, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	got := out.String()
	for _, w := range []string{"issuance  1 instance(s)", "issuance  2 instance(s)", "signin    1 instance(s)",
		"signin    2 instance(s)", "round 2 issuance: 2 instances / 1 instance", "round 2 signin: 2 instances / 1 instance",
		"retries/update", "issuance  ratio 2/1", "signin    ratio 2/1", "CPU per request", "predicate locks held"} {
		if !strings.Contains(got, w) {
			t.Errorf("report lacks %q:\n%s", w, got)
		}
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{{"-loads", "x"}, {"-concurrency", "1"}, {"-hash", "md5"}, {"-pg", "novalue"}, {"-duration", "0s"}, {"-rounds", "0"},
		{"-instance-cpu", "0.5"}, {"-procs", "-instance-cpu", "-1"}, {"-procs", "-instance-cpu", "0.001"},
		{"-procs", "-instance-cpu", "0.05"}, {"-procs", "-instance-cpu", "0.5", "-cpu-period", "0s"}} {
		if _, err := parse(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parse(%q) accepted", args)
		}
	}
	c, err := parse([]string{"-procs", "-instance-cpu", "0.25"}, &bytes.Buffer{})
	if err != nil || !c.procs || c.instanceCPU != 0.25 || c.cpuPeriod != 10*time.Millisecond {
		t.Errorf("parse(-procs -instance-cpu 0.25) = %+v, %v", c, err)
	}
}

// TestReadCPU guards the CPU accounting: a process's own times count
// for it as the server's (its children included), the machine's busy time
// never exceeds its total, and burning CPU moves both.
func TestReadCPU(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	c0 := readCPU(os.Getpid(), nil, nil)
	deadline := time.Now().Add(300 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x++
	}
	c1 := readCPU(os.Getpid(), nil, nil)
	if c1.self <= c0.self {
		t.Errorf("own CPU time did not grow: %v -> %v", c0.self, c1.self)
	}
	if c1.pg <= c0.pg {
		t.Errorf("CPU time of a process read from /proc did not grow: %v -> %v (x %d)", c0.pg, c1.pg, x)
	}
	if c1.busy > c1.total || c1.total <= c0.total {
		t.Errorf("machine busy %v of total %v (before %v)", c1.busy, c1.total, c0.total)
	}
}

func TestSpread(t *testing.T) {
	tests := []struct {
		xs   []float64
		want string
	}{
		{[]float64{5}, "5"},
		{[]float64{3, 1, 2}, "2 (1-3)"},
		{[]float64{4, 1, 2, 3}, "2.5 (1-4)"},
	}
	for _, tc := range tests {
		if got := spread(tc.xs, "%g"); got != tc.want {
			t.Errorf("spread(%v) = %q, want %q", tc.xs, got, tc.want)
		}
	}
}
