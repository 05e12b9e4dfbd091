package tokens

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// rawRecordIn reads the stored key set of domain in env.
func rawRecordIn(t *testing.T, f *fixture, env identity.Environment, domain string) keySetRecord {
	t.Helper()
	var rec keySetRecord
	err := f.id.View(context.Background(), func(tx *identity.ReadTxn) error {
		var err error
		rec, err = records(env).Get(tx.KV(kv.Inside()), domain)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// allStoredKeys lists the private keys of a record (active, next, retired).
func allStoredKeys(rec keySetRecord) []storedKey {
	var out []storedKey
	for _, ak := range rec.Algs {
		out = append(out, ak.Active, ak.Next)
		out = append(out, ak.Retired...)
	}
	return out
}

// TestKeysSealedOnUpgrade is the regression test of issue 10 breach 8
// (signing keys): keys written before a key-encryption key was configured
// are sealed by the first Service that has one, on its first use of the
// store, in every environment and for every issuer (also those it does not
// touch), idempotently; tokens they signed stay valid.
func TestKeysSealedOnUpgrade(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// Keys created without a key-encryption key: production and sandbox of
	// the organization, an ES256 set, and one rotation (a retired key).
	es := *f.app
	es.SigningAlg = ES256
	esReq := f.req()
	esReq.App = &es
	for _, req := range []*TokenRequest{f.req(), esReq, f.sandboxReq()} {
		if _, err := f.svc.IssueAccessToken(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Advance(2 * time.Hour) // past the publication delay of the next key
	if _, err := f.svc.Rotate(ctx, identity.Production, f.org.Domain); err != nil {
		t.Fatal(err)
	}
	old, err := f.svc.IssueAccessToken(ctx, f.req())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range allStoredKeys(rawRecordIn(t, f, identity.Production, f.org.Domain)) {
		if k.Sealed {
			t.Fatal("precondition: key sealed without a key-encryption key")
		}
	}

	kek := bytes.Repeat([]byte{9}, 32)
	up, err := New(Options{Identity: f.id, BaseURL: testBase, KeyEncryptionKey: kek, Clock: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	// The first use of the store (here: a verification, which reads only
	// the production set) seals every set.
	v, err := up.NewVerifier(VerifierConfig{Audiences: []string{"http://localhost:4200"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, old.Value); err != nil {
		t.Fatalf("token signed before the upgrade: %v", err)
	}
	check := func() map[string][]byte {
		t.Helper()
		seen := map[string][]byte{}
		for _, env := range []identity.Environment{identity.Production, identity.Sandbox} {
			for _, k := range allStoredKeys(rawRecordIn(t, f, env, f.org.Domain)) {
				if !k.Sealed {
					t.Fatalf("%s key %s still in clear", env, k.KID)
				}
				if _, err := x509.ParsePKCS8PrivateKey(k.Private); err == nil {
					t.Fatalf("%s key %s parses as plaintext", env, k.KID)
				}
				seen[k.KID] = k.Private
			}
		}
		return seen
	}
	first := check()
	if len(first) < 7 { // RS256 (3 with the retired key) + ES256 (2) in production, RS256 (2) in sandbox
		t.Fatalf("only %d keys", len(first))
	}
	// Idempotent: sealing again changes nothing.
	if n, err := up.SealKeys(ctx); err != nil || n != 0 {
		t.Fatalf("second sealing: n=%d err=%v", n, err)
	}
	for kid, b := range check() {
		if !bytes.Equal(first[kid], b) {
			t.Fatalf("key %s sealed twice", kid)
		}
	}
	// The sealed keys still sign, in both environments.
	for _, req := range []*TokenRequest{f.req(), esReq, f.sandboxReq()} {
		if _, err := up.IssueAccessToken(ctx, req); err != nil {
			t.Fatalf("sign after sealing: %v", err)
		}
	}
	// An instance without the key can no longer use them.
	plain, err := New(Options{Identity: f.id, BaseURL: testBase, Clock: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.IssueAccessToken(ctx, f.req()); !errors.Is(err, ErrSealedKey) {
		t.Fatalf("err = %v, want ErrSealedKey", err)
	}
}
