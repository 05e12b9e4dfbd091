package main

import (
	"bytes"
	"context"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestSmoke runs the whole program on a tiny directory: it loads, reports
// the load and the file, and measures every operation warm and (on Linux)
// cold, each sample checked against the loaded data.
func TestSmoke(t *testing.T) {
	var out bytes.Buffer
	path := filepath.Join(t.TempDir(), "d.db")
	args := []string{"-n", "300", "-orgs", "3", "-samples", "20", "-write-samples", "5", "-cold-samples", "5",
		"-file", path, "-progress", "0"}
	if runtime.GOOS != "linux" {
		args = append(args, "-skip-cold")
	}
	if err := run(context.Background(), args, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	got := out.String()
	want := []string{"organizations: 3", "load: 300 users", "users/s", "file: "}
	ops := []string{"get by id", "get by email", "list page 1", "list last page", "sign-in", "token issuance"}
	for _, o := range ops {
		want = append(want, o)
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q:\n%s", w, got)
		}
	}
	if runtime.GOOS == "linux" {
		for _, o := range ops {
			if strings.Count(got, o) != 2 {
				t.Errorf("%q reported %d times, want warm and cold:\n%s", o, strings.Count(got, o), got)
			}
		}
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{{"-n", "0"}, {"-n", "5", "-orgs", "6"}, {"-batch", "0"}, {"-reuse"}} {
		if _, err := parse(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parse(%q) accepted", args)
		}
	}
}

// TestStats: -stats reports, after the load, the bytes per user of each
// kind of key (the user record and its indexes among them) and bbolt's
// page use, and measures nothing.
func TestStats(t *testing.T) {
	var out bytes.Buffer
	args := []string{"-n", "200", "-orgs", "2", "-stats", "-progress", "0"}
	if err := run(context.Background(), args, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	got := out.String()
	for _, w := range []string{"r/user ", "u/user-email ", "s/users ", "total (data)", "pages: leaf"} {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q:\n%s", w, got)
		}
	}
	if strings.Contains(got, "get by id") {
		t.Errorf("-stats measured operations:\n%s", got)
	}
}
