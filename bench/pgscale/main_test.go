package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/store/postgres/pgtest"
)

// TestSmoke runs both loads for a moment against one and two instances on
// a throwaway cluster: every request must succeed (a failed one ends the
// run with its status and body) and the report names each figure.
func TestSmoke(t *testing.T) {
	if _, err := pgtest.BinDir(); errors.Is(err, pgtest.ErrNotInstalled) {
		if os.Getenv("GATEHOUSE_TEST_REQUIRE_POSTGRES") != "" {
			t.Fatal(err)
		}
		t.Skipf("%v (%s)", err, pgtest.InstallHint)
	}
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
	for _, args := range [][]string{{"-loads", "x"}, {"-concurrency", "1"}, {"-hash", "md5"}, {"-pg", "novalue"}, {"-duration", "0s"}, {"-rounds", "0"}} {
		if _, err := parse(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parse(%q) accepted", args)
		}
	}
}
