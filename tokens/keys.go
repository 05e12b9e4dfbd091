package tokens

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"hash/maphash"
	"math/big"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	sealpkg "github.com/gatehouse-id/gatehouse/internal/seal"
)

// keyKind is the identity record kind of key sets (one record per
// environment and issuer domain).
const keyKind = "tokens-signing-keys"

// retireLeeway is added to MaxTokenTTL before a retired key is unpublished,
// to cover clock skew and verifier leeway.
const retireLeeway = 5 * time.Minute

// keySetRecord is the stored key set of one issuer in one environment.
type keySetRecord struct {
	Domain string              `json:"domain"`
	Algs   map[string]*algKeys `json:"algs"`
}

// algKeys are the keys of one algorithm.
type algKeys struct {
	Active       storedKey   `json:"active"`
	Next         storedKey   `json:"next"`
	Retired      []storedKey `json:"retired,omitempty"`
	RotatedAt    time.Time   `json:"rotated_at"`
	NextRotation time.Time   `json:"next_rotation"`
}

// storedKey is one key pair at rest.
type storedKey struct {
	KID string `json:"kid"`
	Alg string `json:"alg"`
	// Cert is the DER self-signed certificate that carries the public key.
	Cert []byte `json:"cert"`
	// Private is the PKCS#8 DER private key, or, when Sealed, a 12-byte
	// nonce followed by its AES-256-GCM ciphertext.
	Private   []byte     `json:"private"`
	Sealed    bool       `json:"sealed,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"` // retired keys: unpublished after
}

// KeyInfo describes a published key, for administration and tests.
type KeyInfo struct {
	KID       string
	Alg       string
	State     string // "active", "next" or "retired"
	CreatedAt time.Time
	ExpiresAt time.Time // zero unless retired
}

func records(env identity.Environment) kv.Records[keySetRecord] {
	return kv.Records[keySetRecord]{Env: string(env), Kind: keyKind}
}

func validAlg(alg string) bool { return alg == RS256 || alg == ES256 || alg == EdDSA }

// algFor returns the signing algorithm an application selects.
func algFor(app *identity.Application) (string, error) {
	if app == nil || app.SigningAlg == "" {
		return RS256, nil
	}
	if !validAlg(app.SigningAlg) {
		return "", fmt.Errorf("%w: %q", ErrUnsupportedAlg, app.SigningAlg)
	}
	return app.SigningAlg, nil
}

// generateKey makes a new key pair for alg, outside any transaction.
func (s *Service) generateKey(env identity.Environment, domain, alg string, now time.Time) (storedKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, s.opts.RSABits)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return storedKey{}, fmt.Errorf("%w: %q", ErrUnsupportedAlg, alg)
	}
	if err != nil {
		return storedKey{}, fmt.Errorf("generate %s key: %w", alg, err)
	}
	id, err := uuid.NewRandomFromReader(rand.Reader)
	if err != nil {
		return storedKey{}, fmt.Errorf("key id: %w", err)
	}
	kid := id.String()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return storedKey{}, fmt.Errorf("certificate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: kid, Organization: []string{"Gatehouse " + domain}},
		NotBefore:    now.Add(-time.Hour),
		// The certificate only carries the public key (trust comes from the
		// JWKS URL); a long validity keeps x5c readers that check dates happy.
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return storedKey{}, fmt.Errorf("self-signed certificate: %w", err)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return storedKey{}, fmt.Errorf("encode private key: %w", err)
	}
	k := storedKey{KID: kid, Alg: alg, Cert: der, Private: p8, CreatedAt: now}
	if s.kek != nil {
		sealed, err := seal(s.kek, p8, keyAAD(env, domain, kid))
		if err != nil {
			return storedKey{}, err
		}
		k.Private, k.Sealed = sealed, true
	}
	return k, nil
}

func keyAAD(env identity.Environment, domain, kid string) []byte {
	return []byte("gatehouse/tokens/v1\x00" + string(env) + "\x00" + domain + "\x00" + kid)
}

// seal encrypts plain under kek (internal/seal: AES-256-GCM, nonce ||
// ciphertext, the format every sealed value of a deployment shares).
func seal(kek, plain, aad []byte) ([]byte, error) {
	out, err := sealpkg.Seal(kek, plain, aad)
	if err != nil {
		return nil, fmt.Errorf("key encryption key: %w", err)
	}
	return out, nil
}

// ErrSealedKey: a stored private key is sealed and no (or another)
// key-encryption key was configured.
var ErrSealedKey = errors.New("tokens: cannot unseal signing key (missing or wrong KeyEncryptionKey)")

// unseal opens a value sealed by seal; any failure is ErrSealedKey.
func unseal(kek, sealed, aad []byte) ([]byte, error) {
	if kek == nil {
		return nil, ErrSealedKey
	}
	plain, err := sealpkg.Open(kek, sealed, aad)
	if err != nil {
		return nil, ErrSealedKey
	}
	return plain, nil
}

// signingKey is a parsed private key, ready to sign for one issuer (see
// newSigningKey): head is the encoded protected header and its dot.
type signingKey struct {
	kid  string
	alg  string
	head string
	priv crypto.Signer
	// rsa signs RS256 digests (rsaBackend.signer); nil for other keys.
	// rsaImpl names its implementation: "openssl" or "crypto/rsa".
	rsa     rsaSigner
	rsaImpl string
}

// verifyKey is a parsed public key.
type verifyKey struct {
	kid  string
	alg  string
	pub  crypto.PublicKey
	cert *x509.Certificate
}

func (s *Service) parsePrivate(env identity.Environment, domain string, k storedKey) (crypto.Signer, error) {
	der := k.Private
	if k.Sealed {
		var err error
		if der, err = unseal(s.kek, k.Private, keyAAD(env, domain, k.KID)); err != nil {
			return nil, err
		}
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse signing key %s: %w", k.KID, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("signing key %s: unexpected type %T", k.KID, key)
	}
	return signer, nil
}

func parsePublic(k storedKey) (*verifyKey, error) {
	cert, err := x509.ParseCertificate(k.Cert)
	if err != nil {
		return nil, fmt.Errorf("parse certificate of key %s: %w", k.KID, err)
	}
	return &verifyKey{kid: k.KID, alg: k.Alg, pub: cert.PublicKey, cert: cert}, nil
}

// loadedSet is the in-memory, parsed copy of one key set.
type loadedSet struct {
	env        identity.Environment
	domain     string
	rec        *keySetRecord
	validUntil time.Time
	public     map[string]*verifyKey // published keys by kid
	info       []KeyInfo             // published keys in publication order

	mu      sync.Mutex
	signers map[string]*signingKey // active key by alg, parsed lazily (under mu)
	// parsed holds the parsed active keys of RS256, ES256 and EdDSA once
	// parsed, read without a lock by every signature.
	parsed   [3]atomic.Pointer[signingKey]
	jwks     []byte
	lastMiss time.Time
}

type setKey struct {
	env    identity.Environment
	domain string
}

// flightStripes is the number of mutexes that serialize key-set loads.
const flightStripes = 64

// keyCache holds the loaded key sets of this instance.
type keyCache struct {
	mu   sync.RWMutex
	sets map[setKey]*loadedSet
	// flights serialize the loads and rotations of a key set within the
	// instance, so concurrent requests do not generate keys in parallel.
	// They are striped by set, so their number stays fixed whatever
	// domains requests name.
	flights [flightStripes]sync.Mutex
	seed    maphash.Seed
	empty   int // cached sets without keys
}

func (c *keyCache) init() {
	c.sets = map[setKey]*loadedSet{}
	c.seed = maphash.MakeSeed()
}

func (c *keyCache) get(k setKey) *loadedSet {
	c.mu.RLock()
	ls := c.sets[k]
	c.mu.RUnlock()
	return ls
}

// maxEmptySets bounds how many issuers without keys are remembered (so
// tokens naming unknown issuers do not each cost a store read, and cannot
// grow the cache without bound).
const maxEmptySets = 4096

func (c *keyCache) put(k setKey, ls *loadedSet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.sets[k]; old != nil && old.rec == nil {
		c.empty--
	}
	if ls == nil {
		delete(c.sets, k)
		return
	}
	if ls.rec == nil {
		if c.empty >= maxEmptySets {
			delete(c.sets, k)
			return
		}
		c.empty++
	}
	c.sets[k] = ls
}

func (c *keyCache) flight(k setKey) *sync.Mutex {
	return &c.flights[maphash.String(c.seed, string(k.env)+"\x00"+k.domain)%flightStripes]
}

// buildSet parses a record's public keys and decides how long the copy is used.
func (s *Service) buildSet(env identity.Environment, domain string, rec *keySetRecord, now time.Time) (*loadedSet, error) {
	ls := &loadedSet{env: env, domain: domain, rec: rec, public: map[string]*verifyKey{},
		signers: map[string]*signingKey{}, validUntil: now.Add(s.opts.KeyRefresh)}
	if rec == nil {
		return ls, nil
	}
	add := func(k storedKey, state string) error {
		if k.KID == "" {
			return nil
		}
		if k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) {
			return nil
		}
		vk, err := parsePublic(k)
		if err != nil {
			return err
		}
		ls.public[k.KID] = vk
		info := KeyInfo{KID: k.KID, Alg: k.Alg, State: state, CreatedAt: k.CreatedAt}
		if k.ExpiresAt != nil {
			info.ExpiresAt = *k.ExpiresAt
		}
		ls.info = append(ls.info, info)
		return nil
	}
	for _, alg := range []string{RS256, ES256, EdDSA} {
		ak := rec.Algs[alg]
		if ak == nil {
			continue
		}
		// Reload when a rotation falls due (one already overdue is done by
		// the next signature of that algorithm, see activeSigner).
		if ak.NextRotation.After(now) && ak.NextRotation.Before(ls.validUntil) {
			ls.validUntil = ak.NextRotation
		}
		if err := add(ak.Active, "active"); err != nil {
			return nil, err
		}
		if err := add(ak.Next, "next"); err != nil {
			return nil, err
		}
		for _, r := range ak.Retired {
			if err := add(r, "retired"); err != nil {
				return nil, err
			}
			if r.ExpiresAt != nil && r.ExpiresAt.After(now) && r.ExpiresAt.Before(ls.validUntil) {
				ls.validUntil = *r.ExpiresAt
			}
		}
	}
	return ls, nil
}

// readRecord reads the key set of (env, domain); nil when there is none.
func (s *Service) readRecord(ctx context.Context, env identity.Environment, domain string) (*keySetRecord, error) {
	if err := s.ensureSealed(ctx); err != nil {
		return nil, err
	}
	var rec *keySetRecord
	err := s.id.View(ctx, func(tx *identity.ReadTxn) error {
		r, err := records(env).Get(tx.KV(kv.Inside()), domain)
		if errors.Is(err, identity.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		rec = &r
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read key set %s/%s: %w", env, domain, err)
	}
	return rec, nil
}

// load reads the key set again and caches it. When alg is set, it makes sure
// the set has keys for alg and that no scheduled rotation is overdue.
func (s *Service) load(ctx context.Context, env identity.Environment, domain, alg string) (*loadedSet, error) {
	if reason := identity.CheckDomain(domain); reason != "" {
		return nil, fmt.Errorf("issuer domain %q %s: %w", domain, reason, identity.ErrInvalid)
	}
	// Key sets are cached and stored per (environment, domain): only a
	// resolved environment may name one, so that no caller can reach a
	// set outside both environments (an empty env would name the
	// account-wide key space) or cache one set under two names.
	if !env.Valid() {
		return nil, fmt.Errorf("key set environment %q: %w", env, identity.ErrInvalid)
	}
	k := setKey{env, domain}
	m := s.keys.flight(k)
	m.Lock()
	defer m.Unlock()
	now := s.now()
	// Another goroutine may have loaded it while we waited.
	if ls := s.keys.get(k); ls != nil && now.Before(ls.validUntil) && (alg == "" || ls.ready(alg, now)) {
		return ls, nil
	}
	rec, err := s.readRecord(ctx, env, domain)
	if err != nil {
		return nil, err
	}
	if alg != "" {
		var ak *algKeys
		if rec != nil {
			ak = rec.Algs[alg]
		}
		switch {
		case ak == nil:
			if rec, err = s.createAlg(ctx, env, domain, alg); err != nil {
				return nil, err
			}
		case !now.Before(ak.NextRotation):
			if rec, _, err = s.rotate(ctx, env, domain, alg, rec, false); err != nil {
				return nil, err
			}
		}
	}
	ls, err := s.buildSet(env, domain, rec, now)
	if err != nil {
		return nil, err
	}
	s.keys.put(k, ls)
	return ls, nil
}

// ready reports whether the set has keys for alg and no rotation of alg is due.
func (ls *loadedSet) ready(alg string, now time.Time) bool {
	if ls.rec == nil {
		return false
	}
	ak := ls.rec.Algs[alg]
	return ak != nil && now.Before(ak.NextRotation)
}

// createAlg creates the first active and next keys of alg, unless another
// instance did it first.
func (s *Service) createAlg(ctx context.Context, env identity.Environment, domain, alg string) (*keySetRecord, error) {
	now := s.now()
	active, err := s.generateKey(env, domain, alg, now)
	if err != nil {
		return nil, err
	}
	next, err := s.generateKey(env, domain, alg, now)
	if err != nil {
		return nil, err
	}
	var out keySetRecord
	err = s.id.Update(ctx, func(tx *identity.Txn) error {
		r := records(env)
		rec, err := r.Get(tx.KVTx(kv.Inside()), domain)
		if errors.Is(err, identity.ErrNotFound) {
			rec, err = keySetRecord{Domain: domain}, nil
		}
		if err != nil {
			return err
		}
		if rec.Algs == nil {
			rec.Algs = map[string]*algKeys{}
		}
		if rec.Algs[alg] == nil { // re-check: still missing
			rec.Algs[alg] = &algKeys{Active: active, Next: next, RotatedAt: now,
				NextRotation: now.Add(s.opts.RotationPeriod)}
			if err := r.Put(tx.KVTx(kv.Inside()), domain, rec); err != nil {
				return err
			}
		}
		out = rec
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create %s keys of %s/%s: %w", alg, env, domain, err)
	}
	if a := out.Algs[alg]; a != nil && a.Active.KID == active.KID {
		s.id.Logger().InfoContext(ctx, "tokens: signing keys created", "env", env, "org", domain,
			"alg", alg, "kid", active.KID, "next_kid", next.KID)
	}
	return &out, nil
}

// publishDelay is how long a next key must have been published before it
// may sign: the JWKS max-age, so every cached JWKS already has it.
func (s *Service) publishDelay() time.Duration { return s.jwksMaxAge() }

// rotate promotes the next key of alg, retires the active one and publishes a
// freshly generated next key. seen is the record read before; the rotation
// happens only if, inside the transaction, it is still due and nobody else
// rotated since. A forced rotation (on demand) is due at once, except that
// the next key must have been published for publishDelay: until then the
// rotation is only scheduled. It returns the record and when the promotion
// takes (or took) effect.
func (s *Service) rotate(ctx context.Context, env identity.Environment, domain, alg string, seen *keySetRecord, force bool) (*keySetRecord, time.Time, error) {
	ak := seen.Algs[alg]
	observed := ak.Active.KID
	now := s.now()
	if ready := ak.Next.CreatedAt.Add(s.publishDelay()); force && now.Before(ready) {
		// The next key is too fresh to sign: schedule instead.
		var out keySetRecord
		err := s.id.Update(ctx, func(tx *identity.Txn) error {
			r := records(env)
			rec, err := r.Get(tx.KVTx(kv.Inside()), domain)
			if err != nil {
				return err
			}
			a := rec.Algs[alg]
			if a == nil || a.Active.KID != observed {
				out = rec
				return nil
			}
			if a.NextRotation.After(ready) {
				a.NextRotation = ready
			}
			out = rec
			return r.Put(tx.KVTx(kv.Inside()), domain, rec)
		})
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("schedule rotation of %s/%s: %w", env, domain, err)
		}
		return &out, ready, nil
	}
	fresh, err := s.generateKey(env, domain, alg, now)
	if err != nil {
		return nil, time.Time{}, err
	}
	var out keySetRecord
	err = s.id.Update(ctx, func(tx *identity.Txn) error {
		r := records(env)
		rec, err := r.Get(tx.KVTx(kv.Inside()), domain)
		if err != nil {
			return err
		}
		out = rec
		a := rec.Algs[alg]
		if a == nil || a.Active.KID != observed {
			return nil // another instance rotated first
		}
		if !force && now.Before(a.NextRotation) {
			return nil
		}
		exp := now.Add(s.opts.MaxTokenTTL + retireLeeway)
		old := a.Active
		old.ExpiresAt = &exp
		kept := a.Retired[:0:0]
		for _, k := range a.Retired {
			if k.ExpiresAt != nil && now.Before(*k.ExpiresAt) {
				kept = append(kept, k)
			}
		}
		a.Retired = append([]storedKey{old}, kept...)
		a.Active, a.Next = a.Next, fresh
		a.RotatedAt, a.NextRotation = now, now.Add(s.opts.RotationPeriod)
		out = rec
		return r.Put(tx.KVTx(kv.Inside()), domain, rec)
	})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("rotate %s keys of %s/%s: %w", alg, env, domain, err)
	}
	if a := out.Algs[alg]; a != nil && a.Next.KID == fresh.KID {
		s.id.Logger().InfoContext(ctx, "tokens: signing key rotated", "env", env, "org", domain,
			"alg", alg, "retired_kid", observed, "kid", a.Active.KID, "next_kid", fresh.KID)
	}
	return &out, now, nil
}

// Rotate rotates, on demand, every algorithm's keys of the issuer domain in
// env: the next key (already published) starts signing, the active key is
// retired and stays published for MaxTokenTTL, and a new next key is
// published. If the next key has been published for less than the JWKS
// max-age, clients may not know it yet: the rotation is then scheduled for
// the moment they do, and that time is returned. An issuer without keys is
// ErrNotFound. When two instances rotate at once, one rotation happens.
func (s *Service) Rotate(ctx context.Context, env identity.Environment, domain string) (time.Time, error) {
	env, err := s.checkEnv(env)
	if err != nil {
		return time.Time{}, err
	}
	k := setKey{env, domain}
	m := s.keys.flight(k)
	m.Lock()
	defer m.Unlock()
	rec, err := s.readRecord(ctx, env, domain)
	if err != nil {
		return time.Time{}, err
	}
	if rec == nil || len(rec.Algs) == 0 {
		return time.Time{}, fmt.Errorf("signing keys of %s/%s: %w", env, domain, identity.ErrNotFound)
	}
	var when time.Time
	for _, alg := range []string{RS256, ES256, EdDSA} {
		if rec.Algs[alg] == nil {
			continue
		}
		var at time.Time
		if rec, at, err = s.rotate(ctx, env, domain, alg, rec, true); err != nil {
			return time.Time{}, err
		}
		if at.After(when) {
			when = at
		}
	}
	s.keys.put(k, nil) // read again at next use
	return when, nil
}

// RotateDue rotates every key set, in every environment, whose scheduled
// rotation is due, and returns how many algorithms were rotated. Signing
// also rotates lazily; a host may call RotateDue from a timer so idle issuers
// rotate too.
func (s *Service) RotateDue(ctx context.Context) (int, error) {
	type due struct {
		env    identity.Environment
		domain string
	}
	var list []due
	now := s.now()
	err := s.id.View(ctx, func(tx *identity.ReadTxn) error {
		for _, env := range []identity.Environment{identity.Production, identity.Sandbox} {
			err := records(env).Scan(tx.KV(kv.Inside()), func(id string, rec keySetRecord) error {
				for _, ak := range rec.Algs {
					if !now.Before(ak.NextRotation) {
						list = append(list, due{env, id})
						break
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("scan key sets: %w", err)
	}
	n := 0
	for _, d := range list {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		k := setKey{d.env, d.domain}
		m := s.keys.flight(k)
		m.Lock()
		rec, err := s.readRecord(ctx, d.env, d.domain)
		for _, alg := range []string{RS256, ES256, EdDSA} {
			if err != nil || rec == nil {
				break
			}
			if ak := rec.Algs[alg]; ak != nil && !s.now().Before(ak.NextRotation) {
				before := ak.Active.KID
				rec, _, err = s.rotate(ctx, d.env, d.domain, alg, rec, false)
				if err == nil && rec.Algs[alg].Active.KID != before {
					n++
				}
			}
		}
		s.keys.put(k, nil)
		m.Unlock()
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Keys describes the published keys of an issuer in env (active and next
// keys, then retired ones), creating nothing.
func (s *Service) Keys(ctx context.Context, env identity.Environment, domain string) ([]KeyInfo, error) {
	env, err := s.checkEnv(env)
	if err != nil {
		return nil, err
	}
	rec, err := s.readRecord(ctx, env, domain)
	if err != nil {
		return nil, err
	}
	ls, err := s.buildSet(env, domain, rec, s.now())
	if err != nil {
		return nil, err
	}
	return ls.info, nil
}

// activeSigner returns the parsed active key of alg for (env, domain),
// creating or rotating keys when needed.
func (s *Service) activeSigner(ctx context.Context, env identity.Environment, domain, alg string) (*signingKey, error) {
	k := setKey{env, domain}
	ls := s.keys.get(k)
	if now := s.now(); ls == nil || !now.Before(ls.validUntil) || !ls.ready(alg, now) {
		var err error
		if ls, err = s.load(ctx, env, domain, alg); err != nil {
			return nil, err
		}
	}
	return ls.signer(s, alg)
}

// algIndex is alg's slot in loadedSet.parsed (-1: none).
func algIndex(alg string) int {
	switch alg {
	case RS256:
		return 0
	case ES256:
		return 1
	case EdDSA:
		return 2
	}
	return -1
}

// signer returns the parsed active key of alg, parsing it on first use.
func (ls *loadedSet) signer(s *Service, alg string) (*signingKey, error) {
	i := algIndex(alg)
	if i >= 0 {
		if sk := ls.parsed[i].Load(); sk != nil {
			return sk, nil
		}
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if sk := ls.signers[alg]; sk != nil {
		return sk, nil
	}
	ak := ls.rec.Algs[alg]
	priv, err := s.parsePrivate(ls.env, ls.domain, ak.Active)
	if err != nil {
		return nil, err
	}
	sk, err := newSigningKey(priv, ak.Active.KID, alg, s.Issuer(ls.env, ls.domain), s.rsa)
	if err != nil {
		return nil, fmt.Errorf("signer for key %s: %w", ak.Active.KID, err)
	}
	ls.signers[alg] = sk
	if i >= 0 {
		ls.parsed[i].Store(sk)
	}
	return sk, nil
}

// publicKey returns the published key kid of (env, domain). An unknown kid
// makes the instance read the store again, at most once a second per set.
func (s *Service) publicKey(ctx context.Context, env identity.Environment, domain, kid string) (*verifyKey, error) {
	k := setKey{env, domain}
	now := s.now()
	ls := s.keys.get(k)
	if ls != nil && now.Before(ls.validUntil) {
		if vk := ls.public[kid]; vk != nil {
			return vk, nil
		}
		ls.mu.Lock()
		recent := now.Sub(ls.lastMiss) < time.Second
		if !recent {
			ls.lastMiss = now
		}
		ls.mu.Unlock()
		if recent {
			return nil, fmt.Errorf("%w: unknown key id", ErrInvalidToken)
		}
		s.keys.put(k, nil)
	}
	ls, err := s.load(ctx, env, domain, "")
	if err != nil {
		return nil, err
	}
	if vk := ls.public[kid]; vk != nil {
		return vk, nil
	}
	ls.mu.Lock()
	ls.lastMiss = now
	ls.mu.Unlock()
	return nil, fmt.Errorf("%w: unknown key id", ErrInvalidToken)
}

// SealKeys seals under Options.KeyEncryptionKey every private key stored
// in clear (written before the host configured a key-encryption key), in
// both environments and for every issuer, and returns how many it sealed.
// It is idempotent: sealed keys are left as they are, so a second call
// seals nothing. Without a key-encryption key it does nothing. A Service
// with a key-encryption key calls it by itself before its first read of
// the key sets, so hosts need not; calling it at start-up surfaces a store
// error early.
func (s *Service) SealKeys(ctx context.Context) (int, error) {
	if s.kek == nil {
		return 0, nil
	}
	n := 0
	for _, env := range []identity.Environment{identity.Production, identity.Sandbox} {
		err := s.id.Update(ctx, func(tx *identity.Txn) error {
			raw := tx.KVTx(kv.Inside())
			r := records(env)
			type pending struct {
				domain string
				rec    keySetRecord
			}
			var todo []pending
			err := r.Scan(raw, func(domain string, rec keySetRecord) error {
				for _, ak := range rec.Algs {
					if ak == nil {
						continue
					}
					for _, k := range append([]storedKey{ak.Active, ak.Next}, ak.Retired...) {
						if k.KID != "" && !k.Sealed {
							todo = append(todo, pending{domain, rec})
							return nil
						}
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			// Written after the scan: the store's cursors do not see
			// writes made while they run.
			sealed := 0
			for _, p := range todo {
				sealOne := func(k *storedKey) error {
					if k.KID == "" || k.Sealed {
						return nil
					}
					c, err := seal(s.kek, k.Private, keyAAD(env, p.domain, k.KID))
					if err != nil {
						return err
					}
					k.Private, k.Sealed = c, true
					sealed++
					return nil
				}
				for _, ak := range p.rec.Algs {
					if ak == nil {
						continue
					}
					if err := sealOne(&ak.Active); err != nil {
						return err
					}
					if err := sealOne(&ak.Next); err != nil {
						return err
					}
					for i := range ak.Retired {
						if err := sealOne(&ak.Retired[i]); err != nil {
							return err
						}
					}
				}
				if err := r.Put(raw, p.domain, p.rec); err != nil {
					return err
				}
			}
			n += sealed
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("tokens: seal signing keys of %s: %w", env, err)
		}
	}
	if n > 0 {
		s.id.Logger().InfoContext(ctx, "tokens: signing keys stored in clear are now sealed", "count", n)
	}
	return n, nil
}

// ensureSealed runs SealKeys once per Service, before its first read of the
// key sets (again after a failure).
func (s *Service) ensureSealed(ctx context.Context) error {
	if s.kek == nil || s.sealDone.Load() {
		return nil
	}
	s.sealMu.Lock()
	defer s.sealMu.Unlock()
	if s.sealDone.Load() {
		return nil
	}
	if _, err := s.SealKeys(ctx); err != nil {
		return err
	}
	s.sealDone.Store(true)
	return nil
}
