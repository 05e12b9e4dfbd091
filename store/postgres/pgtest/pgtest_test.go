package pgtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestVersionOrdersBinDirs(t *testing.T) {
	tests := []struct {
		dir  string
		want int
	}{
		{"/usr/lib/postgresql/15/bin", 15},
		{"/usr/lib/postgresql/9/bin", 9},
		{"/usr/lib/postgresql/beta/bin", 0},
	}
	for _, tc := range tests {
		if got := version(tc.dir); got != tc.want {
			t.Errorf("version(%s) = %d, want %d", tc.dir, got, tc.want)
		}
	}
}

func TestStartKillRestart(t *testing.T) {
	if _, err := BinDir(); errors.Is(err, ErrNotInstalled) {
		t.Skipf("PostgreSQL server not installed; run %s to include this test", InstallHint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Start(ctx, Options{Settings: map[string]string{"application_name": "pgtest"}})
	if err != nil {
		t.Fatal(err)
	}
	query := func() error {
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		var one int
		return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
	}
	if err := query(); err != nil {
		t.Fatalf("fresh cluster: %v\n%s", err, c.Log())
	}
	pid, err := c.PID()
	if err != nil {
		t.Fatal(err)
	}
	if cmd, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline")); err == nil &&
		!strings.Contains(string(cmd), "postgres") {
		t.Errorf("PID() = %d, a process running %q", pid, cmd)
	} else if err != nil && !os.IsNotExist(err) {
		t.Error(err)
	}
	if err := c.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if err := query(); err == nil {
		t.Error("the killed server still answers")
	}
	if _, err := c.PID(); err == nil {
		t.Error("PID() of a killed server succeeded")
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := query(); err != nil {
		t.Fatalf("restarted cluster: %v", err)
	}
	if !strings.Contains(c.Log(), "database system is ready") {
		t.Error("the server log is empty")
	}
	dir := c.Dir
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Errorf("Stop left the cluster directory: %v", err)
	}
}
