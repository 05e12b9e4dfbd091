package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/testkit"
)

// TestRunTakesEnvironmentAndPrintsStartURL: the environment configures the
// client (a flag wins), the start URL is printed, and it answers.
func TestRunTakesEnvironmentAndPrintsStartURL(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env := map[string]string{"GATEHOUSE_CLIENT_ISSUER": "http://127.0.0.1:1/t/acme", "GATEHOUSE_CLIENT_ID": "c",
		"GATEHOUSE_CLIENT_ADDR": "127.0.0.1:1"}
	ctx, cancel := context.WithCancel(context.Background())
	out := &testkit.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", addr}, func(k string) string { return env[k] }, out, io.Discard)
	}()
	want := "Open http://" + addr + "/login to sign in."
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), want); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("printed %q, want %q", out, want)
		}
	}
	// The provider is unreachable: the start URL answers 502 with a page saying so.
	resp, err := http.Get("http://" + addr + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("login with the provider down: %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestRunRefusesAnIncompleteConfiguration: no issuer, no client id or a bad
// redirect URL stop the command before it listens.
func TestRunRefusesAnIncompleteConfiguration(t *testing.T) {
	for _, args := range [][]string{{}, {"-issuer", "http://x.test"}, {"-client-id", "c"}, {"-issuer", "http://x.test", "-client-id", "c", "-redirect-url", "nope"}} {
		if err := run(context.Background(), args, func(string) string { return "" }, io.Discard, io.Discard); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}
