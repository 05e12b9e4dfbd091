package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestPercentile: nearest-rank percentiles of sorted latencies.
func TestPercentile(t *testing.T) {
	lat := make([]time.Duration, 100)
	for i := range lat {
		lat[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0, time.Millisecond}}
	for _, tc := range tests {
		if got := percentile(lat, tc.p); got != tc.want {
			t.Errorf("p%v = %v, want %v", tc.p, got, tc.want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("percentile of nothing")
	}
}

// TestBadFlags: the harness refuses nonsense before starting anything.
func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-c", "0"}, {"-rounds", "0"}, {"-d", "0s"}, {"-nope"}, {"-store", "sqlite"}, {"-crypto", "std,gnutls"}, {"-crypto", "std,openssl"}, {"-sign-only", "HS256", "-d", "1ms"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, &out); err == nil {
			t.Errorf("%s accepted", strings.Join(args, " "))
		}
	}
}

// TestSignOnly: the mode a BoringCrypto build of the harness runs in prints
// the two rates the parent reads.
func TestSignOnly(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-sign-only", "EdDSA", "-d", "20ms"}, &out); err != nil {
		t.Fatal(err)
	}
	var one, all float64
	if _, err := fmt.Sscanf(out.String(), "%f %f", &one, &all); err != nil || one <= 0 || all <= 0 {
		t.Fatalf("output %q: %v", out.String(), err)
	}
}

// TestOpenSSLSpeed: OpenSSL's bare RSA rates are read from `openssl speed`
// (one process, then one per core), where the command exists.
func TestOpenSSLSpeed(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil || testing.Short() {
		t.Skip("no openssl command, or -short")
	}
	r, err := opensslSpeed(context.Background(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r[0] <= 0 || r[1] <= 0 {
		t.Fatalf("rates %v", r)
	}
	t.Logf("OpenSSL RSA-2048: %.0f signs/s on one core, %.0f on all", r[0], r[1])
}

// TestRSASignerOf: what signs RS256 is read from the example server's
// start log, quoted or not, and "unknown" without the line.
func TestRSASignerOf(t *testing.T) {
	tests := []struct{ log, want string }{
		{"time=x level=INFO msg=\"gatehouse listening\" addr=127.0.0.1:1\ntime=x level=INFO msg=\"rs256 signer\" rsa_signer=\"openssl 3.0.19\"\n", "openssl 3.0.19"},
		{"time=x level=INFO msg=\"rs256 signer\" rsa_signer=crypto/rsa\n", "crypto/rsa"},
		{"time=x level=INFO msg=\"gatehouse listening\"\n", "unknown"},
	}
	for _, tc := range tests {
		if got := rsaSignerOf(tc.log); got != tc.want {
			t.Errorf("rsaSignerOf(%q) = %q, want %q", tc.log, got, tc.want)
		}
	}
}
