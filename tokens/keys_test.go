package tokens

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

func jwksKids(t *testing.T, svc *Service, domain string) map[string]bool {
	t.Helper()
	b, err := svc.JWKS(context.Background(), identity.Production, domain)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, k := range doc.Keys {
		out[k.Kid] = true
	}
	return out
}

func states(t *testing.T, svc *Service, domain string) map[string][]string {
	t.Helper()
	infos, err := svc.Keys(context.Background(), identity.Production, domain)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, in := range infos {
		out[in.State] = append(out[in.State], in.KID)
	}
	return out
}

func TestRotationSchedule(t *testing.T) {
	const period = 24 * time.Hour
	f := newFixture(t, func(o *Options) { o.RotationPeriod = period; o.MaxTokenTTL = 2 * time.Hour })
	ctx := context.Background()
	domain := f.org.Domain
	v := f.verifier(t, func(c *VerifierConfig) { c.CacheSize = -1 })

	// The first JWKS request of a known issuer creates its keys: the active
	// one and the next one are published before anything is signed.
	before := jwksKids(t, f.svc, domain)
	if len(before) != 2 {
		t.Fatalf("keys published before first use: %v, want the active and the next key", before)
	}
	if got := jwksKids(t, f.svc, "no-such-org"); len(got) != 0 {
		t.Fatalf("keys made for an unknown issuer: %v", got)
	}
	first, err := f.svc.IssueAccessToken(ctx, f.req())
	if err != nil {
		t.Fatal(err)
	}
	st := states(t, f.svc, domain)
	if len(st["active"]) != 1 || len(st["next"]) != 1 || st["active"][0] != first.KeyID || !before[first.KeyID] {
		t.Fatalf("after first use: %v (published before: %v)", st, before)
	}
	published := jwksKids(t, f.svc, domain)
	next := st["next"][0]
	if !published[next] {
		t.Fatal("the next key is not published")
	}

	// Just before the rotation: still the first key.
	f.clock.Advance(period - time.Minute)
	late, err := f.svc.IssueAccessToken(ctx, f.req())
	if err != nil {
		t.Fatal(err)
	}
	if late.KeyID != first.KeyID {
		t.Fatal("rotated early")
	}
	// The rotation promotes the key published a period ago.
	f.clock.Advance(2 * time.Minute)
	rotated, err := f.svc.IssueAccessToken(ctx, f.req())
	if err != nil {
		t.Fatal(err)
	}
	if rotated.KeyID != next {
		t.Fatalf("signing key after rotation = %s, want the published next key %s", rotated.KeyID, next)
	}
	st = states(t, f.svc, domain)
	if len(st["retired"]) != 1 || st["retired"][0] != first.KeyID || len(st["next"]) != 1 || st["next"][0] == next {
		t.Fatalf("after rotation: %v", st)
	}
	// A token signed by the retired key still verifies.
	if _, err := v.Verify(ctx, late.Value); err != nil {
		t.Fatalf("token of the retired key: %v", err)
	}
	if !jwksKids(t, f.svc, domain)[first.KeyID] {
		t.Fatal("retired key unpublished too early")
	}
	// One maximum token lifetime (plus leeway) later it is gone.
	f.clock.Advance(2*time.Hour + retireLeeway - 2*time.Minute)
	if !jwksKids(t, f.svc, domain)[first.KeyID] {
		t.Fatal("retired key unpublished before MaxTokenTTL")
	}
	f.clock.Advance(2 * time.Minute)
	if jwksKids(t, f.svc, domain)[first.KeyID] {
		t.Fatal("retired key still published after MaxTokenTTL")
	}

	// Over several rotations, every signing key was published one
	// period before it signed.
	seen := jwksKids(t, f.svc, domain)
	for i := 0; i < 3; i++ {
		f.clock.Advance(period)
		tok, err := f.svc.IssueAccessToken(ctx, f.req())
		if err != nil {
			t.Fatal(err)
		}
		if !seen[tok.KeyID] {
			t.Fatalf("rotation %d: key %s signed before it was published", i, tok.KeyID)
		}
		seen = jwksKids(t, f.svc, domain)
	}
}

func TestRotateOnDemand(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	domain := f.org.Domain
	if _, err := f.svc.Rotate(ctx, "", domain); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("rotate without keys: %v", err)
	}
	first, err := f.svc.IssueAccessToken(ctx, f.req())
	if err != nil {
		t.Fatal(err)
	}
	// The next key was published a moment ago: the rotation waits until
	// every cached JWKS can have it.
	when, err := f.svc.Rotate(ctx, "", domain)
	if err != nil {
		t.Fatal(err)
	}
	if want := f.clock.Now().Add(f.svc.JWKSMaxAge()); !when.Equal(want) {
		t.Fatalf("scheduled at %v, want %v", when, want)
	}
	if tok, _ := f.svc.IssueAccessToken(ctx, f.req()); tok.KeyID != first.KeyID {
		t.Fatal("a too-fresh next key signed")
	}
	f.clock.Advance(f.svc.JWKSMaxAge())
	tok, err := f.svc.IssueAccessToken(ctx, f.req())
	if err != nil {
		t.Fatal(err)
	}
	if tok.KeyID == first.KeyID {
		t.Fatal("the scheduled rotation did not happen")
	}
	// Once the next key is old enough, Rotate takes effect at once.
	f.clock.Advance(f.svc.JWKSMaxAge())
	when, err = f.svc.Rotate(ctx, "", domain)
	if err != nil {
		t.Fatal(err)
	}
	if !when.Equal(f.clock.Now()) {
		t.Fatalf("immediate rotation reported %v", when)
	}
	tok2, _ := f.svc.IssueAccessToken(ctx, f.req())
	if tok2.KeyID == tok.KeyID {
		t.Fatal("on-demand rotation did not change the signing key")
	}
	if st := states(t, f.svc, domain); len(st["retired"]) != 2 {
		t.Fatalf("retired keys: %v", st)
	}
}

func TestConcurrentRotatorsRotateOnce(t *testing.T) {
	const period = 24 * time.Hour
	f := newFixture(t, func(o *Options) { o.RotationPeriod = period })
	ctx := context.Background()
	// A second instance on the same store.
	other, err := New(Options{Identity: f.id, BaseURL: testBase, RotationPeriod: period})
	if err != nil {
		t.Fatal(err)
	}
	first, err := f.svc.IssueAccessToken(ctx, f.req())
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := other.IssueAccessToken(ctx, f.req()); err != nil || tok.KeyID != first.KeyID {
		t.Fatalf("second instance: %v, %v", tok, err)
	}
	next := states(t, f.svc, f.org.Domain)["next"][0]

	run := func(fn func(svc *Service) (string, error)) []string {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var kids []string
		for i := 0; i < 8; i++ {
			svc := f.svc
			if i%2 == 1 {
				svc = other
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				kid, err := fn(svc)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				kids = append(kids, kid)
				mu.Unlock()
			}()
		}
		wg.Wait()
		return kids
	}
	issue := func(svc *Service) (string, error) {
		tok, err := svc.IssueAccessToken(ctx, f.req())
		if err != nil {
			return "", err
		}
		return tok.KeyID, nil
	}

	// Scheduled rotation raced by both instances.
	f.clock.Advance(period)
	for _, kid := range run(issue) {
		if kid != next {
			t.Fatalf("signed with %s, want the promoted key %s", kid, next)
		}
	}
	st := states(t, f.svc, f.org.Domain)
	if len(st["retired"]) != 1 || st["active"][0] != next {
		t.Fatalf("after racing scheduled rotations: %v", st)
	}

	// On-demand rotation raced by both instances.
	f.clock.Advance(f.svc.JWKSMaxAge())
	run(func(svc *Service) (string, error) {
		_, err := svc.Rotate(ctx, "", f.org.Domain)
		return "", err
	})
	st = states(t, f.svc, f.org.Domain)
	if len(st["retired"]) != 2 || len(st["active"]) != 1 || len(st["next"]) != 1 {
		t.Fatalf("after racing on-demand rotations: %v", st)
	}
	kids := run(issue)
	for _, kid := range kids {
		if kid != st["active"][0] {
			t.Fatalf("instances disagree on the signing key: %v", kids)
		}
	}
}

func TestRotateDue(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.RotationPeriod = time.Hour })
	ctx := context.Background()
	if _, err := f.svc.IssueAccessToken(ctx, f.req()); err != nil {
		t.Fatal(err)
	}
	if n, err := f.svc.RotateDue(ctx); err != nil || n != 0 {
		t.Fatalf("nothing due: n=%d err=%v", n, err)
	}
	f.clock.Advance(time.Hour)
	if n, err := f.svc.RotateDue(ctx); err != nil || n != 1 {
		t.Fatalf("one due: n=%d err=%v", n, err)
	}
	if n, err := f.svc.RotateDue(ctx); err != nil || n != 0 {
		t.Fatalf("rotated twice: n=%d err=%v", n, err)
	}
}

func rawRecord(t *testing.T, f *fixture, domain string) keySetRecord {
	t.Helper()
	var rec keySetRecord
	err := f.id.View(context.Background(), func(tx *identity.ReadTxn) error {
		var err error
		rec, err = records(identity.Production).Get(tx.KV(kv.Inside()), domain)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestSealedKeys(t *testing.T) {
	kek := bytes.Repeat([]byte{7}, 32)
	f := newFixture(t, func(o *Options) { o.KeyEncryptionKey = kek })
	ctx := context.Background()
	tok, err := f.svc.IssueAccessToken(ctx, f.req())
	if err != nil {
		t.Fatal(err)
	}
	rec := rawRecord(t, f, f.org.Domain)
	for _, k := range []storedKey{rec.Algs[RS256].Active, rec.Algs[RS256].Next} {
		if !k.Sealed {
			t.Fatal("key stored unsealed")
		}
		if _, err := x509.ParsePKCS8PrivateKey(k.Private); err == nil {
			t.Fatal("sealed key parses as plaintext PKCS#8")
		}
	}
	if _, err := f.verifier(t).Verify(ctx, tok.Value); err != nil {
		t.Fatal(err)
	}
	// Instances with another key or none cannot sign with it.
	for name, k := range map[string][]byte{"wrong key": bytes.Repeat([]byte{8}, 32), "no key": nil} {
		svc, err := New(Options{Identity: f.id, BaseURL: testBase, KeyEncryptionKey: k})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.IssueAccessToken(ctx, f.req()); !errors.Is(err, ErrSealedKey) {
			t.Errorf("%s: err = %v, want ErrSealedKey", name, err)
		}
	}
	// A sealed key moved to another issuer does not open (bound by AAD).
	if _, err := unseal(kek, rec.Algs[RS256].Active.Private, keyAAD(identity.Production, "other", rec.Algs[RS256].Active.KID)); !errors.Is(err, ErrSealedKey) {
		t.Errorf("unseal under another issuer: %v", err)
	}
	if _, err := New(Options{Identity: f.id, BaseURL: testBase, KeyEncryptionKey: []byte("short")}); err == nil {
		t.Error("a 5-byte key-encryption key was accepted")
	}

	// Without a key-encryption key, keys are plaintext PKCS#8.
	p := newFixture(t)
	if _, err := p.svc.IssueAccessToken(ctx, p.req()); err != nil {
		t.Fatal(err)
	}
	prec := rawRecord(t, p, p.org.Domain)
	if k := prec.Algs[RS256].Active; k.Sealed {
		t.Fatal("sealed without a key")
	} else if _, err := x509.ParsePKCS8PrivateKey(k.Private); err != nil {
		t.Fatalf("plaintext key: %v", err)
	}
}

func TestKeyCacheAvoidsStoreReads(t *testing.T) {
	const period = 24 * time.Hour
	f := newFixture(t, func(o *Options) { o.RotationPeriod = period; o.MaxTokenTTL = time.Hour })
	ctx := context.Background()
	es := *f.app
	es.SigningAlg = ES256
	esReq := f.req()
	esReq.App = &es
	// Keys for two algorithms; then ES256 falls due while only RS256 signs,
	// and RS256's retired key expires.
	if _, err := f.svc.IssueAccessToken(ctx, esReq); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	if _, err := f.svc.IssueAccessToken(ctx, f.req()); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(period - 30*time.Minute) // ES256 due, RS256 not yet
	if _, err := f.svc.IssueAccessToken(ctx, f.req()); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour) // RS256 rotates
	tok, err := f.svc.IssueAccessToken(ctx, f.req())
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour + retireLeeway + time.Second) // RS256's retired key expired
	v := f.verifier(t, func(c *VerifierConfig) { c.CacheSize = -1; c.SkipAudience = true })
	for round := 0; round < 2; round++ {
		before := f.store.views.Load()
		for i := 0; i < 20; i++ {
			tok, err = f.svc.IssueAccessToken(ctx, f.req())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(ctx, tok.Value); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.JWKS(ctx, "", f.org.Domain); err != nil {
				t.Fatal(err)
			}
		}
		// At most one read (the refresh after the state changed).
		if n := f.store.views.Load() - before; n > 1 {
			t.Fatalf("round %d: %d store reads for 20 issue/verify/JWKS rounds", round, n)
		}
	}
}

func TestUnknownIssuersAreCheap(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	v := f.verifier(t, func(c *VerifierConfig) { c.CacheSize = -1; c.SkipAudience = true })
	tok, err := f.svc.IssueAccessToken(ctx, f.req())
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := f.svc.activeSigner(ctx, identity.Production, f.org.Domain, RS256)
	m := decodePart(t, tok.Value, 1)
	m["iss"], m["tnt"] = testBase+"/t/ghost", "ghost"
	forged := forgeNoTest(sk, m)
	before := f.store.views.Load()
	for i := 0; i < 50; i++ {
		if _, err := v.Verify(ctx, forged); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("forged issuer: %v", err)
		}
	}
	if n := f.store.views.Load() - before; n > 1 {
		t.Fatalf("%d store reads for 50 tokens of an issuer without keys", n)
	}
	// The issuer gets keys: they are found (unknown kid reloads the set).
	name := "Ghost"
	if _, err := f.id.CreateOrganization(ctx, identity.OrganizationInput{Name: &name}); err != nil {
		t.Fatal(err)
	}
	req := f.req()
	req.OrgDomain = "ghost"
	other, err := New(Options{Identity: f.id, BaseURL: testBase}) // another instance signs
	if err != nil {
		t.Fatal(err)
	}
	gtok, err := other.IssueAccessToken(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Second) // past the unknown-kid reload limit
	if _, err := v.Verify(ctx, gtok.Value); err != nil {
		t.Fatalf("token of a new issuer: %v", err)
	}
}

// TestKeySetNeedsEnvironment guards the key cache and store against an
// unresolved environment: the internal entry points that name a key set
// refuse anything but sandbox or production (an empty one would name the
// account-wide key space), while the public ones resolve "" to the
// service's environment first.
func TestKeySetNeedsEnvironment(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, env := range []identity.Environment{"", "staging", "default"} {
		if _, err := f.svc.activeSigner(ctx, env, f.org.Domain, ES256); !errors.Is(err, identity.ErrInvalid) {
			t.Errorf("activeSigner(%q): %v, want ErrInvalid", env, err)
		}
		if _, err := f.svc.publicKey(ctx, env, f.org.Domain, "k"); !errors.Is(err, identity.ErrInvalid) {
			t.Errorf("publicKey(%q): %v, want ErrInvalid", env, err)
		}
		if ls := f.svc.keys.get(setKey{env, f.org.Domain}); ls != nil {
			t.Errorf("a key set is cached under environment %q", env)
		}
	}
	// The public API resolves "" to the service's environment: one set.
	req := f.req()
	req.Env = ""
	if _, err := f.svc.IssueAccessToken(ctx, req); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.JWKS(ctx, "", f.org.Domain); err != nil {
		t.Fatal(err)
	}
	if f.svc.keys.get(setKey{identity.Production, f.org.Domain}) == nil || f.svc.keys.get(setKey{"", f.org.Domain}) != nil {
		t.Error("the key set is not cached under the resolved environment only")
	}
}
