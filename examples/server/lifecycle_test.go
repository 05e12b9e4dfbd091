package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/gatehouse-id/gatehouse/internal/testkit"
	"github.com/gatehouse-id/gatehouse/store/bolt"
)

// TestServerDrainsInFlightRequestsOnCancel: a request in flight when the
// context ends (SIGINT/SIGTERM in main) still gets its answer, new
// connections are refused, and run returns nil.
func TestServerDrainsInFlightRequestsOnCancel(t *testing.T) {
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &testkit.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", addr, "-store", "memory:", "-master-key", "m:0123456789abcdef0123"}, noenv, io.Discard, logs)
	}()
	base := "http://" + addr
	waitHealthy(t, base, done)

	// The request's body is held back until the server has started the
	// handler (it asked for the body with 100 Continue).
	pr, pw := io.Pipe()
	started := make(chan struct{})
	trace := &httptrace.ClientTrace{Got100Continue: func() { close(started) }}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "POST", base+"/api/v2/oauth/token", pr)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Expect", "100-continue")
	type result struct {
		status int
		body   string
		err    error
	}
	res := make(chan result, 1)
	go func() {
		tr := &http.Transport{ExpectContinueTimeout: time.Minute}
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			res <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{status: resp.StatusCode, body: string(b)}
	}()
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the handler never asked for the body")
	}
	cancel()
	// run must not return while the request is in flight.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), "shutting down"); {
		if time.Now().After(deadline) {
			t.Fatal("no shutdown started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("run returned with a request in flight: %v", err)
	default:
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("the server still accepts connections while shutting down")
	}
	_, _ = pw.Write([]byte("grant_type=client_credentials&client_id=m&client_secret=0123456789abcdef0123&domain=gatehouse"))
	pw.Close()
	r := <-res
	if r.err != nil || r.status != http.StatusOK || !strings.Contains(r.body, "access_token") {
		t.Fatalf("in-flight request: %v %d %s", r.err, r.status, r.body)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("graceful shutdown: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after the last request")
	}
}

func waitHealthy(t *testing.T, base string, done <-chan error) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case err := <-done:
			t.Fatalf("server exited early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("server did not become healthy")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writeNewerSchema marks a bolt store as written by a newer Gatehouse.
func writeNewerSchema(t *testing.T, path string) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("meta"))
		if b == nil {
			return errors.New("no meta bucket: the bolt layout changed")
		}
		v := make([]byte, 8)
		binary.BigEndian.PutUint64(v, bolt.SchemaVersion+1)
		return b.Put([]byte("schema"), v)
	}); err != nil {
		t.Fatal(err)
	}
}

func TestServerRefusesNewerSchema(t *testing.T) {
	db := filepath.Join(t.TempDir(), "g.db")
	_, _, stop := startServer(t, "-store", "bolt:"+db)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	writeNewerSchema(t, db)
	err := run(context.Background(), []string{"-addr", freeAddr(t), "-store", "bolt:" + db}, noenv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "newer Gatehouse") || !strings.Contains(err.Error(), "upgrade") {
		t.Fatalf("newer schema: %v", err)
	}
}

// TestServerBinary runs the built server the way scripts do: SIGTERM with a
// clean exit, and a non-zero exit with one clear line for a locked store, a
// newer schema, a port in use and bad flags.
func TestServerBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "gatehouse")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	db := filepath.Join(dir, "g.db")
	addr := freeAddr(t)
	srv := exec.Command(bin, "-addr", addr, "-store", "bolt:"+db)
	var stdout, stderr bytes.Buffer
	srv.Stdout, srv.Stderr = &stdout, &stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	defer func() { _ = srv.Process.Kill() }()
	waitHealthyProc(t, "http://"+addr, exited)

	fails := func(name string, wantMsg string, args ...string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() == 0 {
			t.Errorf("%s: exit %v, want non-zero; output %s", name, err, out)
			return
		}
		if !strings.Contains(string(out), wantMsg) {
			t.Errorf("%s: output %q lacks %q", name, out, wantMsg)
		}
		if strings.Contains(string(out), "goroutine ") || strings.Contains(string(out), "panic") {
			t.Errorf("%s: crashed: %s", name, out)
		}
	}
	fails("locked store", "in use by another process", "-addr", freeAddr(t), "-store", "bolt:"+db)
	fails("port in use", "cannot listen on "+addr, "-addr", addr, "-store", "memory:")
	fails("bad flag", "-master-key must be ID:SECRET", "-master-key", "nocolon", "-store", "memory:")
	fails("unknown store", "gatehouse:", "-addr", freeAddr(t), "-store", "mongo://x")

	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("SIGTERM: exit %v; log %s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	if !strings.Contains(stderr.String(), "shutting down") {
		t.Errorf("no shutdown in the log: %s", stderr.String())
	}
	writeNewerSchema(t, db)
	fails("newer schema", "newer Gatehouse", "-addr", freeAddr(t), "-store", "bolt:"+db)
	if _, err := os.Stat(db); err != nil {
		t.Fatal(err)
	}
}

func waitHealthyProc(t *testing.T, base string, exited <-chan error) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("server exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("server did not become healthy")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServerCutsOffRequestsAfterShutdownTimeout: a request that outlives
// -shutdown-timeout is cut off (its connection closed) rather than left
// running against a closing store, and run reports it.
func TestServerCutsOffRequestsAfterShutdownTimeout(t *testing.T) {
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", addr, "-store", "memory:", "-shutdown-timeout", "100ms"}, noenv, io.Discard, io.Discard)
	}()
	base := "http://" + addr
	waitHealthy(t, base, done)
	// A raw client: headers announcing a body it never sends, once the
	// handler has asked for it (100 Continue).
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "POST /api/v2/oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
		"Content-Length: 100\r\nExpect: 100-continue\r\n\r\n")
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	buf := make([]byte, 64)
	if n, err := conn.Read(buf); err != nil || !strings.Contains(string(buf[:n]), "100 Continue") {
		t.Fatalf("no 100 Continue: %q %v", buf[:n], err)
	}
	res := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(conn)
		res <- err
	}()
	cancel()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after the shutdown timeout")
	}
	if err == nil || !strings.Contains(err.Error(), "cut off") {
		t.Fatalf("run: %v", err)
	}
	// The stuck request's connection was closed: its client sees an
	// error now, not after the server's 60-second read timeout.
	select {
	case err := <-res:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("the stuck request's connection was left open")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the stuck request's connection was left open")
	}
}
