package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/testkit"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func noenv(string) string { return "" }

// startServer runs the server until the test ends and waits for /healthz.
func startServer(t *testing.T, args ...string) (base string, stdout *testkit.Buffer, stop func() error) {
	t.Helper()
	return startServerLogs(t, io.Discard, args...)
}

// startServerLogs is startServer with the server's log written to stderr.
func startServerLogs(t *testing.T, stderr io.Writer, args ...string) (base string, stdout *testkit.Buffer, stop func() error) {
	t.Helper()
	addr := freeAddr(t)
	stdout = &testkit.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"-addr", addr}, args...), noenv, stdout, stderr) }()
	base = "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("server exited early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("server did not become healthy")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() { cancel(); stopErr = <-done })
		return stopErr
	}
	t.Cleanup(func() { _ = stop() })
	return base, stdout, stop
}

func TestServerBootstrapsOnceAndShutsDownGracefully(t *testing.T) {
	db := filepath.Join(t.TempDir(), "g.db")
	_, out, stop := startServer(t, "-store", "bolt:"+db)
	if !strings.Contains(out.String(), "-master-key ") || !strings.Contains(out.String(), "-monitoring-token ") {
		t.Fatalf("first start must print the generated secrets, got %q", out.String())
	}
	if err := stop(); err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}
	_, out2, stop2 := startServer(t, "-store", "bolt:"+db)
	if strings.Contains(out2.String(), "-master-key") {
		t.Fatalf("second start printed secrets again: %q", out2.String())
	}
	_ = stop2()
}

func TestServerRefusesLockedStore(t *testing.T) {
	db := filepath.Join(t.TempDir(), "g.db")
	startServer(t, "-store", "bolt:"+db, "-master-key", "master:0123456789abcdef0123")
	err := run(context.Background(), []string{"-addr", freeAddr(t), "-store", "bolt:" + db}, noenv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second process on the same file: %v", err)
	}
}

func TestServerRefusesBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	db := filepath.Join(t.TempDir(), "g.db")
	out := &testkit.Buffer{}
	err = run(context.Background(), []string{"-addr", ln.Addr().String(), "-store", "bolt:" + db}, noenv, out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "cannot listen") {
		t.Fatalf("busy port: %v", err)
	}
	// Nothing was bootstrapped: no store written, no secret printed for a
	// run that could not serve.
	if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) || out.String() != "" {
		t.Fatalf("a failed start bootstrapped the store (%v) or printed %q", err, out.String())
	}
}

func TestConfigFromEnvironmentAndValidation(t *testing.T) {
	env := map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:9999", "GATEHOUSE_MAIL_DIR": "/tmp/mail"}
	c, err := parseConfig([]string{"-store", "memory:"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9999" || c.MailDir != "/tmp/mail" || c.BaseURL != "http://127.0.0.1:9999" || c.Store != "memory:" {
		t.Fatalf("config: %+v", c)
	}
	for _, args := range [][]string{
		{"-master-key", "nocolon"},
		{"-master-key", "id:short"},
		{"-base-url", "ftp://x"},
		{"-addr", "nope"},
		{"-master-env", "staging"},
		{"stray"},
	} {
		if _, err := parseConfig(args, noenv, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
