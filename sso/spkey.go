package sso

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/internal/seal"
)

// SPKeyBits is the size of the RSA key each connection's service provider
// signs AuthnRequests and logout messages with, and that IdPs encrypt
// assertions to.
const SPKeyBits = 2048

// spKeyValidity is the life of the self-signed SP certificate. SAML trusts
// the certificate as a bare key (IdPs do not check its dates against a CA),
// so a long validity avoids an expiry nobody plans for; rotating the SP
// key is not supported (see the package documentation).
const spKeyValidity = 20 * 365 * 24 * time.Hour

// spKeyRecord is a connection's SP key pair, in {env}/sso-sp-keys/{idp_id}.
// The private key is PKCS#8, sealed (AES-256-GCM under the key-encryption
// key, bound to the environment and connection; the format of internal/seal)
// when the service has a key-encryption key. A key stored in clear before
// the service had one is sealed the first time it is used with a key.
type spKeyRecord struct {
	Cert      []byte    `json:"cert"`
	Private   []byte    `json:"private"`
	Sealed    bool      `json:"sealed,omitempty"`
	CreatedAt time.Time `json:"inserted_at"`
}

func spKeys(env identity.Environment) kv.Records[spKeyRecord] {
	return kv.Records[spKeyRecord]{Env: string(env), Kind: "sso-sp-keys"}
}

// spKeyPair is a parsed SP key pair.
type spKeyPair struct {
	key  crypto.Signer
	cert *x509.Certificate
}

// fingerprint identifies the key pair in the service provider cache.
func (k *spKeyPair) fingerprint() string {
	if k == nil {
		return "none"
	}
	sum := sha256.Sum256(k.cert.Raw)
	return hex.EncodeToString(sum[:8])
}

func spKeyAAD(env identity.Environment, idpID string) []byte {
	return []byte("gatehouse/sso-sp-key/v1\x00" + string(env) + "\x00" + idpID)
}

// newSPKey generates an SP key pair (outside any transaction: RSA key
// generation is slow). The private key is sealed when bound to a
// connection (sealSPKey).
func (s *Service) newSPKey() (*rsa.PrivateKey, []byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, SPKeyBits)
	if err != nil {
		return nil, nil, fmt.Errorf("sso: SP key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("sso: SP certificate serial: %w", err)
	}
	now := s.now()
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "Gatehouse SAML service provider"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(spKeyValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("sso: SP certificate: %w", err)
	}
	return key, der, nil
}

// spKeyRecordFor encodes (and seals) a generated key for connection idpID.
func (s *Service) spKeyRecordFor(env identity.Environment, idpID string, key *rsa.PrivateKey, cert []byte) (spKeyRecord, error) {
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return spKeyRecord{}, fmt.Errorf("sso: encode SP key: %w", err)
	}
	rec := spKeyRecord{Cert: cert, Private: p8, CreatedAt: s.now()}
	if s.opts.KeyEncryptionKey != nil {
		sealed, err := seal.Seal(s.opts.KeyEncryptionKey, p8, spKeyAAD(env, idpID))
		if err != nil {
			return spKeyRecord{}, fmt.Errorf("sso: seal SP key: %w", err)
		}
		rec.Private, rec.Sealed = sealed, true
	}
	return rec, nil
}

// parseSPKey opens a stored key pair.
func (s *Service) parseSPKey(env identity.Environment, idpID string, rec spKeyRecord) (*spKeyPair, error) {
	der := rec.Private
	if rec.Sealed {
		if s.opts.KeyEncryptionKey == nil {
			return nil, fmt.Errorf("sso: SP key of %s is sealed and Options.KeyEncryptionKey is not set", idpID)
		}
		var err error
		if der, err = seal.Open(s.opts.KeyEncryptionKey, rec.Private, spKeyAAD(env, idpID)); err != nil {
			return nil, fmt.Errorf("sso: SP key of %s: %w", idpID, err)
		}
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("sso: SP key of %s: %w", idpID, err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("sso: SP key of %s: unexpected type %T", idpID, k)
	}
	cert, err := x509.ParseCertificate(rec.Cert)
	if err != nil {
		return nil, fmt.Errorf("sso: SP certificate of %s: %w", idpID, err)
	}
	return &spKeyPair{key: signer, cert: cert}, nil
}

// spKeyOf returns the SP key pair of connection idpID, from the cache
// when it is there (a connection's key never changes).
func (s *Service) spKeyOf(ctx context.Context, idpID string) (*spKeyPair, error) {
	s.spKeys.mu.Lock()
	k, ok := s.spKeys.m[idpID]
	s.spKeys.mu.Unlock()
	if ok {
		return k, nil
	}
	env, err := s.ConnectionEnvironment(ctx, idpID)
	if err != nil {
		return nil, err
	}
	return s.connectionSPKey(ctx, env, idpID)
}

// connectionSPKey returns the SP key pair of a connection, creating it
// for a connection made before connections had one (the key is generated
// outside the transaction and stored only if no other instance stored one
// meanwhile).
func (s *Service) connectionSPKey(ctx context.Context, env identity.Environment, idpID string) (*spKeyPair, error) {
	s.spKeys.mu.Lock()
	k, ok := s.spKeys.m[idpID]
	s.spKeys.mu.Unlock()
	if ok {
		return k, nil
	}
	id, err := s.Identity(env)
	if err != nil {
		return nil, err
	}
	var rec spKeyRecord
	err = id.View(ctx, func(tx *identity.ReadTxn) (err error) {
		rec, err = spKeys(env).Get(tx.KV(kv.Inside()), idpID)
		return err
	})
	if errors.Is(err, identity.ErrNotFound) {
		key, cert, gerr := s.newSPKey()
		if gerr != nil {
			return nil, gerr
		}
		if rec, err = s.spKeyRecordFor(env, idpID, key, cert); err != nil {
			return nil, err
		}
		err = id.Update(ctx, func(tx *identity.Txn) error {
			existing, err := spKeys(env).Get(tx.KVTx(kv.Inside()), idpID)
			if err == nil {
				rec = existing
				return nil
			}
			if !errors.Is(err, identity.ErrNotFound) {
				return err
			}
			if _, err := connections(env).Get(tx.KVTx(kv.Inside()), idpID); err != nil {
				return err
			}
			return spKeys(env).Put(tx.KVTx(kv.Inside()), idpID, rec)
		})
	}
	if err == nil && !rec.Sealed && s.opts.KeyEncryptionKey != nil {
		rec, err = s.sealClearSPKey(ctx, id, env, idpID, rec)
	}
	if err != nil {
		return nil, err
	}
	k, err = s.parseSPKey(env, idpID, rec)
	if err != nil {
		return nil, err
	}
	s.spKeys.mu.Lock()
	if s.spKeys.m == nil {
		s.spKeys.m = map[string]*spKeyPair{}
	}
	s.spKeys.m[idpID] = k
	s.spKeys.mu.Unlock()
	return k, nil
}

// sealClearSPKey seals a key stored in clear (before the service had a
// key-encryption key) and stores it in place of the clear one, unless
// another instance sealed it meanwhile; it returns the stored record.
func (s *Service) sealClearSPKey(ctx context.Context, id *identity.Service, env identity.Environment, idpID string, rec spKeyRecord) (spKeyRecord, error) {
	sealed, err := seal.Seal(s.opts.KeyEncryptionKey, rec.Private, spKeyAAD(env, idpID))
	if err != nil {
		return rec, fmt.Errorf("sso: seal SP key: %w", err)
	}
	next := spKeyRecord{Cert: rec.Cert, Private: sealed, Sealed: true, CreatedAt: rec.CreatedAt}
	err = id.Update(ctx, func(tx *identity.Txn) error {
		cur, err := spKeys(env).Get(tx.KVTx(kv.Inside()), idpID)
		if err != nil {
			return err
		}
		if cur.Sealed || !bytes.Equal(cur.Private, rec.Private) {
			next = cur
			return nil
		}
		return spKeys(env).Put(tx.KVTx(kv.Inside()), idpID, next)
	})
	if err != nil {
		return rec, err
	}
	return next, nil
}

// spKeyCache keeps parsed SP keys; a connection's key never changes.
type spKeyCache struct {
	mu sync.Mutex
	m  map[string]*spKeyPair
}
