package identity_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

func kekOf(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// rawContains reports whether any key or value of the store contains
// needle (as is, base64 or hex).
func rawContains(t *testing.T, st identity.Store, needle string) bool {
	t.Helper()
	forms := [][]byte{[]byte(needle), []byte(base64.StdEncoding.EncodeToString([]byte(needle))),
		[]byte(base64.RawURLEncoding.EncodeToString([]byte(needle))), []byte(hex.EncodeToString([]byte(needle)))}
	found := false
	err := st.View(context.Background(), func(tx identity.ReadTx) error {
		return tx.Scan(nil, identity.ScanOptions{}, func(k, v []byte) error {
			for _, f := range forms {
				if bytes.Contains(k, f) || bytes.Contains(v, f) {
					found = true
					return identity.ErrStopScan
				}
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestCredentialsSeeOnlyTheirEnvironment guards breach 1 of issue 10 in
// the core: reads, lists and deletes by id of a service never reach a
// credential of the other environment; the secret lookups that search both
// return the service of the credential's own environment.
func TestCredentialsSeeOnlyTheirEnvironment(t *testing.T) {
	ctx := context.Background()
	prod, err := identity.NewService(identity.Options{Store: memory.New(), Logger: quiet(), KeyEncryptionKey: kekOf(1)})
	if err != nil {
		t.Fatal(err)
	}
	sand, _ := prod.ForEnvironment(identity.Sandbox)
	svcs := map[identity.Environment]*identity.Service{identity.Production: prod, identity.Sandbox: sand}
	type made struct {
		c      *identity.Credential
		secret string
	}
	creds := map[identity.Environment]made{}
	for env, svc := range svcs {
		c, secret, err := svc.CreateCredential(ctx, identity.Credential{Name: "master", Master: true, Secret: "kept-" + string(env) + "-secret-0123456789"}, "")
		if err != nil {
			t.Fatal(err)
		}
		if c.Environment != env || c.Secret != secret {
			t.Fatalf("created %+v", c)
		}
		creds[env] = made{c, secret}
	}
	if _, _, err := sand.CreateCredential(ctx, identity.Credential{Environment: identity.Production}, ""); !errors.Is(err, identity.ErrForbidden) {
		t.Fatalf("a sandbox service created a production credential: %v", err)
	}
	for _, tc := range []struct{ own, other identity.Environment }{
		{identity.Sandbox, identity.Production}, {identity.Production, identity.Sandbox},
	} {
		t.Run(string(tc.own), func(t *testing.T) {
			svc, foreign := svcs[tc.own], creds[tc.other]
			if _, err := svc.GetCredential(ctx, foreign.c.ID); !errors.Is(err, identity.ErrNotFound) {
				t.Errorf("GetCredential of the other environment = %v", err)
			}
			if err := svc.CredentialRecord(ctx, foreign.c.ID, func([]byte) error { return nil }); !errors.Is(err, identity.ErrNotFound) {
				t.Errorf("CredentialRecord of the other environment = %v", err)
			}
			if _, err := svc.CredentialBySecret(ctx, foreign.secret); !errors.Is(err, identity.ErrUnauthenticated) {
				t.Errorf("CredentialBySecret of the other environment = %v", err)
			}
			list, err := svc.ListCredentials(ctx)
			if err != nil || len(list) != 1 || list[0].ID != creds[tc.own].c.ID || list[0].Secret != creds[tc.own].secret {
				t.Errorf("ListCredentials = %+v, %v", list, err)
			}
			if err := svc.DeleteCredential(ctx, foreign.c.ID); err != nil {
				t.Fatal(err)
			}
			if got, err := svcs[tc.other].GetCredential(ctx, foreign.c.ID); err != nil || got.Secret != foreign.secret {
				t.Fatalf("the other environment's credential after the delete: %v, %v", got, err)
			}
			// The account-wide lookup returns the credential's own service.
			c, envSvc, err := svc.AuthenticateSecret(ctx, foreign.secret)
			if err != nil || c.ID != foreign.c.ID || envSvc.Environment() != tc.other {
				t.Fatalf("AuthenticateSecret = %v, %v, %v", c, envSvc, err)
			}
			if got, err := svc.AuthenticateCredential(ctx, foreign.c.ID, foreign.secret); err != nil || got.Environment != tc.other {
				t.Fatalf("AuthenticateCredential = %v, %v", got, err)
			}
		})
	}
}

// TestSecretsSealedAtRest guards breach 8 of issue 10 in the core: no
// secret an API returns again, nor any credential secret, is in the store
// in clear, hex or base64; the sealed values are bound to their record.
func TestSecretsSealedAtRest(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	svc, err := identity.NewService(identity.Options{Store: st, Logger: quiet(), KeyEncryptionKey: kekOf(1)})
	if err != nil {
		t.Fatal(err)
	}
	kept := "crafter-access-token-id-0123456789"
	if _, _, err := svc.CreateCredential(ctx, identity.Credential{Name: "app", Secret: kept}, ""); err != nil {
		t.Fatal(err)
	}
	_, apiSecret, err := svc.CreateCredential(ctx, identity.Credential{Name: "api key"}, "")
	if err != nil {
		t.Fatal(err)
	}
	org := mustOrg(t, svc, "Acme")
	now := svc.Now()
	token := "persistent-login-token-0123456789"
	if err := svc.Update(ctx, func(tx *identity.Txn) error {
		return tx.PutPersistentLogin(nil, &identity.PersistentLogin{ID: identity.HashSecret("pl-id"), OrgID: org.ID,
			UserID: "u1", Token: token, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{kept, apiSecret, token, identity.HashSecret(kept), identity.HashSecret(apiSecret)} {
		if rawContains(t, st, s) {
			t.Errorf("the store holds %q (or its hex/base64/SHA-256 form)", s)
		}
	}
	var pl *identity.PersistentLogin
	if err := svc.View(ctx, func(tx *identity.ReadTxn) (err error) {
		pl, err = tx.PersistentLoginByHash(identity.HashSecret("pl-id"))
		return err
	}); err != nil || pl.Token != token {
		t.Fatalf("persistent login = %+v, %v", pl, err)
	}
}

// legacyCredential and legacyLogin are the stored forms written before
// secrets were sealed.
type legacyCredential struct {
	ID          string               `json:"id"`
	SecretHash  string               `json:"secret_hash"`
	Secret      string               `json:"secret,omitempty"`
	Name        string               `json:"name"`
	Master      bool                 `json:"master"`
	Environment identity.Environment `json:"environment"`
	CreatedAt   time.Time            `json:"inserted_at"`
}

type legacyLogin struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"org_id"`
	UserID    string    `json:"user_id"`
	Token     string    `json:"token"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// writeLegacyStore writes credentials and a persistent login the way
// stores were written before sealing.
func writeLegacyStore(t *testing.T, st identity.Store, now time.Time) {
	t.Helper()
	creds := []legacyCredential{
		{ID: "c-prod", Secret: "legacy-production-master-secret", Name: "master", Master: true, Environment: identity.Production},
		{ID: "c-sand", Secret: "legacy-sandbox-master-secret-xx", Name: "master", Master: true, Environment: identity.Sandbox},
		{ID: "c-api", Name: "api key", Environment: identity.Production},
	}
	err := st.Update(context.Background(), func(tx identity.Tx) error {
		for _, c := range creds {
			secret := c.Secret
			if secret == "" {
				secret = "legacy-api-key-secret-0123456789"
			}
			c.SecretHash, c.CreatedAt = identity.HashSecret(secret), now
			if err := (kv.Records[legacyCredential]{Kind: "credential"}).Put(tx, c.ID, c); err != nil {
				return err
			}
			if err := (kv.Unique{Name: "credential-secret"}).Claim(tx, "", c.SecretHash, c.ID); err != nil {
				return err
			}
			if err := (kv.Set{Parts: []string{"credentials"}}).Add(tx, c.ID, nil); err != nil {
				return err
			}
		}
		pl := legacyLogin{ID: identity.HashSecret("legacy-login-id"), OrgID: "o1", UserID: "u1",
			Token: "legacy-login-token-0123456789", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		return kv.Records[legacyLogin]{Env: string(identity.Production), Kind: "persistent-login"}.Put(tx, pl.ID, pl)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLegacyStoreUpgradesOnOpen: a store written before sealing is sealed
// and re-indexed the first time a service opens it with a key; the
// credentials keep working, a second open changes nothing, and the store
// then refuses a missing or another key.
func TestLegacyStoreUpgradesOnOpen(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	now := time.Now().UTC().Truncate(time.Second)
	writeLegacyStore(t, st, now)
	secrets := []string{"legacy-production-master-secret", "legacy-sandbox-master-secret-xx", "legacy-login-token-0123456789"}

	for _, s := range secrets {
		if !rawContains(t, st, s) {
			t.Fatalf("the legacy store lacks %q: the scan sees nothing", s)
		}
	}

	// Opened without a key, the old store keeps working as it was.
	eph, err := identity.NewService(identity.Options{Store: st, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if c, _, err := eph.AuthenticateSecret(ctx, secrets[0]); err != nil || c.ID != "c-prod" || c.Secret != secrets[0] {
		t.Fatalf("legacy lookup without a key: %+v, %v", c, err)
	}
	if list, err := eph.ListCredentials(ctx); err != nil || len(list) != 2 {
		t.Fatalf("legacy list without a key: %+v, %v", list, err)
	}

	for i := range 2 { // the second open must be a no-op
		svc, err := identity.NewService(identity.Options{Store: st, Logger: quiet(), KeyEncryptionKey: kekOf(3)})
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		for _, s := range secrets {
			if rawContains(t, st, s) || rawContains(t, st, identity.HashSecret(s)) {
				t.Fatalf("open %d: %q still in the store", i, s)
			}
		}
		c, envSvc, err := svc.AuthenticateSecret(ctx, secrets[1])
		if err != nil || c.ID != "c-sand" || envSvc.Environment() != identity.Sandbox {
			t.Fatalf("open %d: sandbox master: %+v, %v", i, c, err)
		}
		if c, err := svc.AuthenticateCredential(ctx, "c-api", "legacy-api-key-secret-0123456789"); err != nil || c.Secret != "" {
			t.Fatalf("open %d: API key: %+v, %v", i, c, err)
		}
		list, err := svc.ListCredentials(ctx)
		if err != nil || len(list) != 2 || list[0].ID != "c-api" && list[1].ID != "c-api" {
			t.Fatalf("open %d: production list: %+v, %v", i, list, err)
		}
		for _, c := range list {
			if c.ID == "c-prod" && c.Secret != secrets[0] {
				t.Fatalf("open %d: the listed secret is %q", i, c.Secret)
			}
		}
		// The keyed-hash index is per environment: nothing account-wide.
		for env, want := range map[string]int{"-": 0, string(identity.Production): 2, string(identity.Sandbox): 1} {
			name := "credential-mac"
			if env == "-" {
				name = "credential-secret-mac"
			}
			if n := countKeys(t, st, kv.Key('u', env, name, "")); n != want {
				t.Errorf("open %d: %d entries in the %s keyed-hash index %q, want %d", i, n, env, name, want)
			}
		}
		var pl *identity.PersistentLogin
		if err := svc.View(ctx, func(tx *identity.ReadTxn) (err error) {
			pl, err = tx.PersistentLoginByHash(identity.HashSecret("legacy-login-id"))
			return err
		}); err != nil || pl.Token != secrets[2] {
			t.Fatalf("open %d: persistent login: %+v, %v", i, pl, err)
		}
	}

	for name, kek := range map[string][]byte{"no key": nil, "another key": kekOf(4)} {
		_, err := identity.NewService(identity.Options{Store: st, Logger: quiet(), KeyEncryptionKey: kek})
		if !errors.Is(err, identity.ErrKeyEncryptionKey) || !strings.Contains(err.Error(), "key-encryption key") {
			t.Errorf("%s: NewService = %v, want ErrKeyEncryptionKey", name, err)
		}
	}
	if _, err := identity.NewService(identity.Options{Store: st, Logger: quiet(), KeyEncryptionKey: []byte("short")}); !errors.Is(err, identity.ErrKeyEncryptionKey) {
		t.Errorf("a short key: %v", err)
	}
}

// countKeys counts the keys of the store under prefix.
func countKeys(t *testing.T, st identity.Store, prefix []byte) int {
	t.Helper()
	n := 0
	err := st.View(context.Background(), func(tx identity.ReadTx) error {
		return tx.Scan(prefix, identity.ScanOptions{KeysOnly: true}, func(_, _ []byte) error { n++; return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLayout1StoreMovesKeyedHashIndex: a store written at layout 1 keeps
// its keyed-hash index account-wide ("credential-secret-mac", no
// environment in the key). Opening it moves every entry to the index of
// the credential's environment, the credentials of both environments keep
// authenticating (each with its own environment), a second open changes
// nothing, and creating a sandbox credential then writes no account-wide
// index entry.
func TestLayout1StoreMovesKeyedHashIndex(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	kek := kekOf(5)
	svc, err := identity.NewService(identity.Options{Store: st, Logger: quiet(), KeyEncryptionKey: kek})
	if err != nil {
		t.Fatal(err)
	}
	sbx, err := svc.ForEnvironment(identity.Sandbox)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[identity.Environment]string{identity.Production: "layout1-production-secret-0123456789",
		identity.Sandbox: "layout1-sandbox-secret-0123456789"}
	for env, s := range secrets {
		if _, _, err := svc.CreateCredential(ctx, identity.Credential{ID: "c-" + string(env), Environment: env, Secret: s}, ""); err != nil {
			t.Fatal(err)
		}
	}
	// Rewrite the store as layout 1 wrote it: the per-environment entries
	// become account-wide ones.
	global := kv.Key('u', "-", "credential-secret-mac", "")
	err = st.Update(ctx, func(tx identity.Tx) error {
		type entry struct{ k, v []byte }
		var moved []entry
		for _, env := range []identity.Environment{identity.Production, identity.Sandbox} {
			prefix := kv.Key('u', string(env), "credential-mac", "")
			if err := tx.Scan(prefix, identity.ScanOptions{}, func(k, v []byte) error {
				moved = append(moved, entry{bytes.Clone(k), bytes.Clone(v)})
				return nil
			}); err != nil {
				return err
			}
		}
		if len(moved) != 2 {
			t.Fatalf("per-environment index entries: %d, want 2", len(moved))
		}
		for _, e := range moved {
			mac := e.k[bytes.LastIndexByte(e.k, 0)+1:]
			if err := tx.Delete(e.k); err != nil {
				return err
			}
			if err := tx.Put(kv.Key('u', "-", "credential-secret-mac", "", string(mac)), e.v); err != nil {
				return err
			}
		}
		raw, err := tx.Get(kv.Key('r', "-", "secrets-state", "state"))
		if err != nil {
			return err
		}
		return tx.Put(kv.Key('r', "-", "secrets-state", "state"), bytes.Replace(raw, []byte(`"layout":2`), []byte(`"layout":1`), 1))
	})
	if err != nil {
		t.Fatal(err)
	}
	countGlobal := func() int { return countKeys(t, st, global) }
	if countGlobal() != 2 {
		t.Fatalf("the layout-1 store has %d account-wide entries, want 2", countGlobal())
	}
	for i := range 2 {
		svc, err := identity.NewService(identity.Options{Store: st, Logger: quiet(), KeyEncryptionKey: kek})
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if n := countGlobal(); n != 0 {
			t.Errorf("open %d: %d account-wide index entries left", i, n)
		}
		for env, s := range secrets {
			c, envSvc, err := svc.AuthenticateSecret(ctx, s)
			if err != nil || c.ID != "c-"+string(env) || envSvc.Environment() != env {
				t.Errorf("open %d: %s secret: %+v, %v", i, env, c, err)
			}
		}
		// A secret stays unique across the environments.
		if _, _, err := sbx.CreateCredential(ctx, identity.Credential{Environment: identity.Sandbox,
			Secret: secrets[identity.Production]}, ""); !errors.Is(err, identity.ErrConflict) {
			t.Errorf("open %d: a sandbox credential with a production secret: %v", i, err)
		}
	}
	if _, _, err := sbx.CreateCredential(ctx, identity.Credential{Environment: identity.Sandbox}, ""); err != nil {
		t.Fatal(err)
	}
	if n := countGlobal(); n != 0 {
		t.Errorf("a new sandbox credential wrote %d account-wide index entries", n)
	}
}

// persistentStore hides the memory store's VolatileStore method, as a
// persistent backend would.
type persistentStore struct{ identity.Store }

// TestEphemeralKeyWarning: without Options.KeyEncryptionKey, NewService
// warns once on a persistent store, and the Services derived from it
// (ForEnvironment, For, WithHasher) add nothing; on a volatile store
// (store/memory) it does not warn at all.
func TestEphemeralKeyWarning(t *testing.T) {
	tests := []struct {
		name  string
		store identity.Store
		kek   []byte
		want  int
	}{
		{"memory store", memory.New(), nil, 0},
		{"persistent store", persistentStore{memory.New()}, nil, 1},
		{"persistent store with a key", persistentStore{memory.New()}, kekOf(6), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&buf, nil))
			svc, err := identity.NewService(identity.Options{Store: tc.store, Logger: log, KeyEncryptionKey: tc.kek})
			if err != nil {
				t.Fatal(err)
			}
			sbx, err := svc.ForEnvironment(identity.Sandbox)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sbx.For(identity.Scope{Environment: identity.Sandbox, Orgs: []string{"*"}}); err != nil {
				t.Fatal(err)
			}
			_ = svc.WithHasher(nil)
			if n := strings.Count(buf.String(), "no Options.KeyEncryptionKey"); n != tc.want {
				t.Errorf("%d warnings, want %d: %s", n, tc.want, buf.String())
			}
		})
	}
}
