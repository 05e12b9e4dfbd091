package identity

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/internal/seal"
)

// Secrets at rest. The service derives two subkeys from its key-encryption
// key (Options.KeyEncryptionKey) with HKDF:
//
//   - a sealing key: bearer secrets that an API must return again (a
//     Crafter access token's id, which GET /access_token/all lists; a
//     persistent login's token, which GET /persistent_login/{id} returns)
//     are stored AES-256-GCM-sealed, bound to their environment and record;
//   - a lookup key: a credential is found by the HMAC-SHA256 of the SHA-256
//     of its secret, never by the secret or its bare hash, and compared in
//     constant time.
//
// A store records which key sealed it (a keyed check value, in the
// account-wide "secrets-state" record), so opening it with another key is a
// clear error instead of credentials that silently stop working.

// ErrKeyEncryptionKey is returned by NewService when the key-encryption key
// is missing or is not the one the store's secrets were sealed with.
var ErrKeyEncryptionKey = errors.New("identity: key-encryption key")

// Purposes of the subkeys derived from the key-encryption key.
const (
	purposeSeal   = "gatehouse/identity/seal/v1"
	purposeLookup = "gatehouse/identity/lookup/v1"
	purposeCheck  = "gatehouse/identity/kek-check/v1"
)

// secretKeys are the service's subkeys, shared by the services derived
// with ForEnvironment.
type secretKeys struct {
	seal      []byte
	lookup    []byte
	check     string
	ephemeral bool
	// legacy is set while the store may still hold credentials indexed by
	// the bare SHA-256 of their secret (opened without a key-encryption key
	// since the upgrade): lookups fall back to that index.
	legacy bool
}

func newSecretKeys(kek []byte) (*secretKeys, error) {
	sk, err := seal.Derive(kek, purposeSeal)
	if err != nil {
		return nil, err
	}
	lk, err := seal.Derive(kek, purposeLookup)
	if err != nil {
		return nil, err
	}
	ck, err := seal.Derive(kek, purposeCheck)
	if err != nil {
		return nil, err
	}
	return &secretKeys{seal: sk, lookup: lk, check: seal.MAC(ck, "gatehouse key-encryption key check")}, nil
}

// lookupMAC is the keyed hash a secret is indexed by. It is computed over
// the secret's SHA-256 (HashSecret), so that stores written before keyed
// hashes existed can be re-indexed without knowing the secrets.
func (k *secretKeys) lookupMAC(secret string) string { return k.lookupOfHash(HashSecret(secret)) }

func (k *secretKeys) lookupOfHash(hash string) string { return seal.MAC(k.lookup, hash) }

func (k *secretKeys) sealString(plain string, aad []byte) ([]byte, error) {
	return seal.Seal(k.seal, []byte(plain), aad)
}

func (k *secretKeys) openString(sealed, aad []byte) (string, error) {
	p, err := seal.Open(k.seal, sealed, aad)
	if err != nil {
		return "", err
	}
	return string(p), nil
}

func credentialAAD(env Environment, id string) []byte {
	return []byte("gatehouse/identity/credential-secret/v1\x00" + string(env) + "\x00" + id)
}

func ploginAAD(env Environment, hash string) []byte {
	return []byte("gatehouse/identity/persistent-login-token/v1\x00" + string(env) + "\x00" + hash)
}

// secretsState is the account-wide marker of how the store keeps secrets.
type secretsState struct {
	// Layout is the version of the credential indexes: 1 keeps one list
	// of credentials per environment; 2 also keeps one keyed-hash index
	// per environment (credentialMACs).
	Layout int `json:"layout"`
	// KEKCheck is a keyed check value of the key-encryption key that
	// sealed the store's secrets; empty until a service opened the store
	// with an explicit key.
	KEKCheck string `json:"kek_check,omitempty"`
}

const secretsLayout = 2

func secretsStates() kv.Records[secretsState] { return kv.Records[secretsState]{Kind: "secrets-state"} }

// upgradeReport is what an upgrade did, logged after its transaction.
type upgradeReport struct {
	credentials, logins, unreadable int
}

// openSecrets checks the store against the service's key-encryption key
// and upgrades it when needed: credentials move to per-environment lists
// (layout 1), the account-wide keyed-hash index moves to one index per
// environment (layout 2), clear secrets are sealed and bare SHA-256
// lookups re-indexed under keyed hashes. Everything runs in one transaction and is idempotent; when
// nothing needs upgrading it costs one read.
func (s *Service) openSecrets(ctx context.Context) error {
	k := s.secrets
	var st secretsState
	err := s.store.View(ctx, func(tx ReadTx) (err error) {
		st, err = secretsStates().Get(tx, "state")
		return err
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("identity: read secrets state: %w", err)
	}
	if err := k.matches(st); err != nil {
		return err
	}
	if st.Layout >= secretsLayout && (k.ephemeral || st.KEKCheck != "") {
		k.legacy = st.KEKCheck == ""
		return nil
	}
	var rep upgradeReport
	err = s.store.Update(ctx, func(tx Tx) error {
		rep = upgradeReport{}
		cur, err := secretsStates().Get(tx, "state")
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := k.matches(cur); err != nil {
			return err
		}
		if cur.Layout < 1 {
			if err := moveCredentialLists(tx); err != nil {
				return err
			}
			cur.Layout = 1
		}
		if cur.Layout < 2 {
			if err := moveCredentialMACs(tx); err != nil {
				return err
			}
			cur.Layout = 2
		}
		if !k.ephemeral && cur.KEKCheck == "" {
			if err := s.sealLegacySecrets(tx, &rep); err != nil {
				return err
			}
			cur.KEKCheck = k.check
		}
		st = cur
		return secretsStates().Put(tx, "state", cur)
	})
	if err != nil {
		return fmt.Errorf("identity: upgrade stored secrets: %w", err)
	}
	k.legacy = st.KEKCheck == ""
	if rep.credentials+rep.logins > 0 {
		s.log.Info("identity: sealed the store's clear secrets under the key-encryption key",
			"credentials", rep.credentials, "persistent_logins", rep.logins)
	}
	if rep.unreadable > 0 {
		s.log.Warn("identity: some secrets were sealed with an ephemeral key-encryption key and cannot be opened; "+
			"delete and recreate those access tokens and persistent logins", "count", rep.unreadable)
	}
	return nil
}

// matches checks st against the service's key.
func (k *secretKeys) matches(st secretsState) error {
	switch {
	case st.KEKCheck == "":
		return nil
	case k.ephemeral:
		return fmt.Errorf("%w: this store's secrets are sealed with a key-encryption key; set Options.KeyEncryptionKey to it", ErrKeyEncryptionKey)
	case !seal.Equal(st.KEKCheck, k.check):
		return fmt.Errorf("%w: Options.KeyEncryptionKey is not the key this store's secrets were sealed with", ErrKeyEncryptionKey)
	}
	return nil
}

// moveCredentialLists splits the account-wide list of credentials of
// stores written before layout 1 into one list per environment.
func moveCredentialLists(tx Tx) error {
	legacy := kv.Set{Parts: []string{"credentials"}}
	var ids []string
	if err := legacy.Each(tx, false, func(id string, _ []byte) error {
		ids = append(ids, id)
		return nil
	}); err != nil {
		return err
	}
	for _, id := range ids {
		rec, err := credentials().Get(tx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if err := credentialList(rec.Environment).Add(tx, id, nil); err != nil {
			return err
		}
	}
	return legacy.Clear(tx)
}

// moveCredentialMACs moves the keyed-hash index of stores written at
// layout 1 (one account-wide index) to one index per environment.
func moveCredentialMACs(tx Tx) error {
	type entry struct{ id, env, mac string }
	var list []entry
	err := credentials().Scan(tx, func(id string, rec credentialRecord) error {
		if rec.SecretMAC != "" {
			list = append(list, entry{id, string(rec.Environment), rec.SecretMAC})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, e := range list {
		if err := legacyCredentialMACs.Release(tx, "", e.mac, e.id); err != nil {
			return err
		}
		if err := credentialMACs(Environment(e.env)).Claim(tx, "", e.mac, e.id); err != nil {
			return err
		}
	}
	return nil
}

// sealLegacySecrets seals clear credential secrets and persistent-login
// tokens and re-indexes credentials under keyed hashes.
func (s *Service) sealLegacySecrets(tx Tx, rep *upgradeReport) error {
	k := s.secrets
	type change struct {
		id  string
		rec credentialRecord
	}
	var changes []change
	err := credentials().Scan(tx, func(id string, rec credentialRecord) error {
		changed := false
		if rec.LegacySecret != "" {
			sealed, err := k.sealString(rec.LegacySecret, credentialAAD(rec.Environment, id))
			if err != nil {
				return err
			}
			rec.SealedSecret, rec.LegacySecret = sealed, ""
			changed = true
		} else if rec.SealedSecret != nil {
			if _, err := k.openString(rec.SealedSecret, credentialAAD(rec.Environment, id)); err != nil {
				rep.unreadable++
			}
		}
		if rec.LegacyHash != "" {
			rec.SecretMAC = k.lookupOfHash(rec.LegacyHash)
			changed = true
		}
		if changed {
			changes = append(changes, change{id, rec})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, c := range changes {
		if c.rec.LegacyHash != "" {
			if err := legacyCredentialSecrets.Release(tx, "", c.rec.LegacyHash, c.id); err != nil {
				return err
			}
			c.rec.LegacyHash = ""
			if err := credentialMACs(c.rec.Environment).Claim(tx, "", c.rec.SecretMAC, c.id); err != nil {
				return err
			}
		}
		if err := credentials().Put(tx, c.id, c.rec); err != nil {
			return err
		}
		rep.credentials++
	}
	for _, env := range []Environment{Sandbox, Production} {
		var logins []ploginRecord
		err := ploginStored(env).Scan(tx, func(_ string, pl ploginRecord) error {
			if pl.LegacyToken != "" {
				logins = append(logins, pl)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, pl := range logins {
			sealed, err := k.sealString(pl.LegacyToken, ploginAAD(env, pl.ID))
			if err != nil {
				return err
			}
			pl.SealedToken, pl.LegacyToken = sealed, ""
			if err := ploginStored(env).Put(tx, pl.ID, pl); err != nil {
				return err
			}
			rep.logins++
		}
	}
	return nil
}
