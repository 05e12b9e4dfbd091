package tokens

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
)

// Signing algorithms an application may select (identity.Application.SigningAlg).
const (
	RS256 = "RS256"
	ES256 = "ES256"
	EdDSA = "EdDSA"
)

// Algorithms returns the signing algorithms Gatehouse supports, for
// discovery documents (id_token_signing_alg_values_supported).
func Algorithms() []string { return []string{RS256, ES256, EdDSA} }

// Token types, the `jtt` claim.
const (
	TypeAccess = "access"
	TypeID     = "openid"
	TypeAPIKey = "api_key"
)

// Defaults of Options; see the package documentation for the reasons.
const (
	DefaultAccessTokenTTL = time.Hour
	DefaultIDTokenTTL     = time.Hour
	DefaultAPIKeyTokenTTL = 15 * time.Minute
	DefaultMaxTokenTTL    = 24 * time.Hour
	DefaultRotationPeriod = 7 * 24 * time.Hour
	DefaultKeyRefresh     = time.Minute
	DefaultRSABits        = 2048
	DefaultCacheSize      = 10000
)

// Version is the token format version written in `ver`.
const Version = 1

// Errors callers branch on. Verification failures wrap ErrInvalidToken (and
// identity.ErrUnauthenticated, so faces map them to 401).
var (
	// ErrInvalidToken: the token is malformed, wrongly signed or its claims
	// do not match what the verifier expects.
	ErrInvalidToken = fmt.Errorf("invalid token: %w", identity.ErrUnauthenticated)
	// ErrTokenExpired: the token was valid but has expired.
	ErrTokenExpired = fmt.Errorf("%w: expired", ErrInvalidToken)
	// ErrUnsupportedAlg: the requested signing algorithm is not one of
	// RS256, ES256 and EdDSA.
	ErrUnsupportedAlg = fmt.Errorf("unsupported signing algorithm: %w", identity.ErrInvalid)
)

// Options configure a Service. Identity and BaseURL are required.
type Options struct {
	// Identity is the identity core. Key sets are stored through it, in the
	// environment each token belongs to.
	Identity *identity.Service
	// BaseURL is the public service URL; issuers are BaseURL + "/t/" +
	// domain in production and BaseURL + "/sandbox/t/" + domain in the
	// sandbox (IssuerURL). A trailing slash is removed.
	BaseURL string
	// KeyEncryptionKey, when set, must be 32 bytes: private keys are sealed
	// with AES-256-GCM under it. Keys stored in clear before it was set are
	// sealed on the service's first use of the store (see SealKeys).
	KeyEncryptionKey []byte
	// Clock returns the current time (default: Identity.Now).
	Clock func() time.Time
	// Rand is the source of randomness for token ids (default: Identity.Rand).
	Rand io.Reader
	// AccessTokenTTL, IDTokenTTL and APIKeyTokenTTL are the default
	// lifetimes; applications may override the first two.
	AccessTokenTTL time.Duration
	IDTokenTTL     time.Duration
	APIKeyTokenTTL time.Duration
	// MaxTokenTTL caps every lifetime; a retired key stays published this long.
	MaxTokenTTL time.Duration
	// RotationPeriod is how long a key signs before the next one takes over.
	RotationPeriod time.Duration
	// KeyRefresh is how long an instance uses its in-memory copy of a key
	// set before reading the store again (to see rotations made by other
	// instances). Default one minute; it must stay well below RotationPeriod.
	KeyRefresh time.Duration
	// RSABits is the RSA modulus size (default 2048, at least 2048).
	RSABits int
	// ClaimsUpdater, when set, may add custom claims to user tokens.
	ClaimsUpdater ClaimsUpdater
	// MetadataInAccessToken also copies resource_owner_metadata into access
	// tokens (Cryptr puts it only in ID tokens).
	MetadataInAccessToken bool
	// CacheSize bounds the API-key token verification cache (default 10000).
	CacheSize int
	// RSASigner chooses what computes RS256 signatures: RSASignerAuto (the
	// default) signs with the system's OpenSSL 3 libcrypto, loaded at run
	// time, when the build has cgo on Linux and libcrypto.so.3 is there,
	// and with crypto/rsa otherwise; RSASignerGo always signs with
	// crypto/rsa; RSASignerOpenSSL makes New fail without OpenSSL. The
	// tokens are the same bytes whatever signs them
	// (Service.RSAImplementation says which one does).
	RSASigner RSASigner
}

// Service issues tokens and manages the signing keys of every issuer.
// It is safe for concurrent use.
type Service struct {
	id      *identity.Service
	envs    map[identity.Environment]*identity.Service
	base    string
	kek     []byte
	now     func() time.Time
	rand    io.Reader
	opts    Options
	updater ClaimsUpdater

	keys   keyCache
	apiKey *Verifier
	// rsa makes the RS256 signer of each key; it loads libcrypto once, on
	// the first RSA key.
	rsa *rsaBackend

	// sealMu and sealDone run SealKeys once, before the first read of the
	// key sets (when a key-encryption key is set).
	sealMu   sync.Mutex
	sealDone atomic.Bool

	sampleMu   sync.Mutex
	sampleKeys map[string]*signingKey
}

// New returns a Service for opts.
func New(opts Options) (*Service, error) {
	if opts.Identity == nil {
		return nil, errors.New("tokens: Options.Identity is required")
	}
	base := strings.TrimRight(opts.BaseURL, "/")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("tokens: Options.BaseURL %q must be an absolute http(s) URL", opts.BaseURL)
	}
	if opts.KeyEncryptionKey != nil && len(opts.KeyEncryptionKey) != 32 {
		return nil, errors.New("tokens: Options.KeyEncryptionKey must be 32 bytes (AES-256)")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.MaxTokenTTL, DefaultMaxTokenTTL)
	def(&opts.AccessTokenTTL, DefaultAccessTokenTTL)
	def(&opts.IDTokenTTL, DefaultIDTokenTTL)
	def(&opts.APIKeyTokenTTL, DefaultAPIKeyTokenTTL)
	def(&opts.RotationPeriod, DefaultRotationPeriod)
	def(&opts.KeyRefresh, DefaultKeyRefresh)
	if opts.KeyRefresh > opts.RotationPeriod/4 {
		opts.KeyRefresh = opts.RotationPeriod / 4
	}
	if opts.RSABits == 0 {
		opts.RSABits = DefaultRSABits
	}
	if opts.RSABits < 2048 {
		return nil, errors.New("tokens: Options.RSABits must be at least 2048")
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = DefaultCacheSize
	}
	s := &Service{id: opts.Identity, base: base, now: opts.Clock, rand: opts.Rand,
		updater: opts.ClaimsUpdater, sampleKeys: map[string]*signingKey{}}
	if opts.KeyEncryptionKey != nil {
		s.kek = append([]byte(nil), opts.KeyEncryptionKey...)
		opts.KeyEncryptionKey = nil
	}
	s.opts = opts
	if s.now == nil {
		s.now = opts.Identity.Now
	}
	if s.rand == nil {
		s.rand = opts.Identity.Rand()
	}
	s.envs = map[identity.Environment]*identity.Service{}
	for _, env := range []identity.Environment{identity.Production, identity.Sandbox} {
		es, err := opts.Identity.ForEnvironment(env)
		if err != nil {
			return nil, fmt.Errorf("tokens: %w", err)
		}
		s.envs[env] = es
	}
	if s.rsa, err = newRSABackend(opts.RSASigner, opts.Identity.Logger()); err != nil {
		return nil, err
	}
	if s.rsa.mode == RSASignerOpenSSL {
		if _, err := s.rsa.load(); err != nil {
			return nil, fmt.Errorf("tokens: Options.RSASigner requires OpenSSL: %w", err)
		}
	}
	s.keys.init()
	// Management tokens of both environments' API keys are accepted; each
	// is checked against its own environment's issuer and keys.
	apiCfg := VerifierConfig{TokenTypes: []string{TypeAPIKey}, SkipAudience: true, CacheSize: -1,
		Environments: []identity.Environment{identity.Production, identity.Sandbox}}
	if acct := opts.Identity.AccountDomain(); acct != "" {
		apiCfg.Domains = []string{acct}
	}
	s.apiKey, err = s.NewVerifier(apiCfg)
	if err != nil {
		return nil, err
	}
	// Management tokens are cached by their SHA-256 (32 bytes per entry).
	s.apiKey.c.hashed = newHashCache(opts.CacheSize)
	return s, nil
}

// RSAImplementation names what signs this service's RS256 tokens: "openssl
// 3.0.19" (the version of the system's libcrypto) or "crypto/rsa"
// (Options.RSASigner). With RSASignerAuto, it loads libcrypto if no RSA
// key has yet. A key that OpenSSL refuses, or signs differently from
// crypto/rsa, signs with crypto/rsa even so, and is logged.
func (s *Service) RSAImplementation() string { return s.rsa.implementation() }

// SandboxPath is the path prefix of the sandbox: sandbox issuers are
// {BaseURL}/sandbox/t/{domain}, production issuers {BaseURL}/t/{domain}.
const SandboxPath = "/sandbox"

// EnvironmentPath returns the path prefix under which env's issuers and
// endpoints live: "" for production (and ""), SandboxPath for the sandbox.
func EnvironmentPath(env identity.Environment) string {
	if env == identity.Sandbox {
		return SandboxPath
	}
	return ""
}

// IssuerURL returns the issuer of domain in env for a service at base:
// base/t/{domain} in production (Cryptr's issuer), base/sandbox/t/{domain}
// in the sandbox. Environments are separate issuers, each with its own
// discovery document and JWKS, so that a client configured for one
// environment refuses the other's tokens.
func IssuerURL(base string, env identity.Environment, domain string) string {
	return strings.TrimRight(base, "/") + EnvironmentPath(env) + "/t/" + domain
}

// Issuer returns the issuer URL of an organization (or account) domain in
// env (default: the identity service's environment); see IssuerURL.
func (s *Service) Issuer(env identity.Environment, domain string) string {
	return IssuerURL(s.base, s.envOrDefault(env), domain)
}

// BaseURL returns the service URL issuers are built from.
func (s *Service) BaseURL() string { return s.base }

// svcFor returns the identity service of env.
func (s *Service) svcFor(env identity.Environment) (*identity.Service, error) {
	if env == "" {
		return s.id, nil
	}
	es, ok := s.envs[env]
	if !ok {
		return nil, fmt.Errorf("environment %q: %w", env, identity.ErrInvalid)
	}
	return es, nil
}

// clampTTL bounds a lifetime by MaxTokenTTL.
func (s *Service) clampTTL(d time.Duration) time.Duration {
	if d <= 0 || d > s.opts.MaxTokenTTL {
		return s.opts.MaxTokenTTL
	}
	return d
}

// envOrDefault returns env, or the identity service's environment.
func (s *Service) envOrDefault(env identity.Environment) identity.Environment {
	if env == "" {
		return s.id.Environment()
	}
	return env
}

// checkEnv returns env (or the default) if it is one of the environments.
func (s *Service) checkEnv(env identity.Environment) (identity.Environment, error) {
	env = s.envOrDefault(env)
	if !env.Valid() {
		return "", fmt.Errorf("environment %q: %w", env, identity.ErrInvalid)
	}
	return env, nil
}
