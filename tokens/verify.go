package tokens

import (
	"context"
	"crypto"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/identity"
)

// Verification defaults.
const (
	DefaultLeeway        = 30 * time.Second
	MaxLeeway            = 5 * time.Minute
	DefaultMaxTokenBytes = 16 << 10
	DefaultCacheBytes    = 8 << 20
)

// TokenVerifier verifies a bearer token and returns its claims. Verifier,
// RemoteVerifier and the API-key verifier implement it.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (*Claims, error)
}

// VerifierConfig says what a verifier accepts. Empty lists accept anything
// the issuer could have signed, except Audiences: set it, or set
// SkipAudience to accept any audience explicitly.
type VerifierConfig struct {
	// Audiences accepted in aud (one match suffices).
	Audiences    []string
	SkipAudience bool
	// ClientIDs accepted in cid; empty accepts any.
	ClientIDs []string
	// Domains accepted in tnt (the issuer's domain); empty accepts any.
	Domains []string
	// Environments accepted; empty accepts production only. A token's
	// environment is the one its issuer names ({BaseURL}/t/{domain} is
	// production, {BaseURL}/sandbox/t/{domain} the sandbox), and its `dbs`
	// must agree. List identity.Sandbox (alone, or with
	// identity.Production) to accept sandbox tokens.
	Environments []identity.Environment
	// TokenTypes accepted in jtt; default access tokens only.
	TokenTypes []string
	// Algorithms accepted; default RS256, ES256 and EdDSA. "none" and any
	// other algorithm are always refused.
	Algorithms []string
	// Leeway tolerated on exp and iat (default 30 s, at most 5 min).
	Leeway time.Duration
	// AcceptExpiredFor accepts a token that expired at most this long
	// ago, every other check made: for ID tokens presented as
	// id_token_hint, which OpenID Connect lets a client send after they
	// expire (OIDC Core §3.1.2.1, RP-Initiated Logout §2). Zero refuses
	// expired tokens.
	AcceptExpiredFor time.Duration
	// CacheSize bounds the verified-token cache (default 10000 entries;
	// negative disables caching).
	CacheSize int
	// CacheBytes bounds the token bytes the cache keeps (default 8 MiB).
	CacheBytes int
	// MaxTokenBytes refuses longer tokens (default 16 KiB).
	MaxTokenBytes int
	// Clock returns the current time (default: the service's clock, or
	// time.Now for a RemoteVerifier).
	Clock func() time.Time
}

// keyLookup finds the public key kid of an issuer domain in env.
type keyLookup func(ctx context.Context, env identity.Environment, domain, kid string) (*verifyKey, error)

// checker holds the rules common to every verifier.
type checker struct {
	cfg  VerifierConfig
	algs []jose.SignatureAlgorithm
	// issuerBases are the issuer prefixes, BaseURL + EnvironmentPath(env)
	// + "/t/", of the environments (sandbox first: its prefix is longer).
	issuerBases []envBase
	cache       *tokenCache[string]
	hashed      *tokenCache[[32]byte] // API-key tokens: keyed by SHA-256
	lookup      keyLookup
}

// envBase is the issuer prefix of one environment.
type envBase struct {
	env    identity.Environment
	prefix string
}

func newChecker(cfg VerifierConfig, base string, lookup keyLookup) (*checker, error) {
	if len(cfg.Audiences) == 0 && !cfg.SkipAudience {
		return nil, fmt.Errorf("tokens: VerifierConfig needs Audiences (or SkipAudience): %w", identity.ErrInvalid)
	}
	if len(cfg.TokenTypes) == 0 {
		cfg.TokenTypes = []string{TypeAccess}
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = []string{RS256, ES256, EdDSA}
	}
	if len(cfg.Environments) == 0 {
		cfg.Environments = []identity.Environment{identity.Production}
	}
	for _, env := range cfg.Environments {
		if !env.Valid() {
			return nil, fmt.Errorf("tokens: VerifierConfig.Environments: %q: %w", env, identity.ErrInvalid)
		}
	}
	c := &checker{lookup: lookup}
	for _, env := range []identity.Environment{identity.Sandbox, identity.Production} {
		c.issuerBases = append(c.issuerBases, envBase{env, IssuerURL(base, env, "")})
	}
	for _, a := range cfg.Algorithms {
		if !validAlg(a) {
			return nil, fmt.Errorf("tokens: %w: %q", ErrUnsupportedAlg, a)
		}
		c.algs = append(c.algs, jose.SignatureAlgorithm(a))
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = DefaultLeeway
	}
	if cfg.Leeway > MaxLeeway {
		cfg.Leeway = MaxLeeway
	}
	if cfg.MaxTokenBytes <= 0 {
		cfg.MaxTokenBytes = DefaultMaxTokenBytes
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.CacheBytes <= 0 {
		cfg.CacheBytes = DefaultCacheBytes
	}
	if cfg.CacheSize > 0 {
		c.cache = newStringCache(cfg.CacheSize, cfg.CacheBytes)
	}
	c.cfg = cfg
	return c, nil
}

// validDomain is identity.CheckDomain without a regular expression (it runs
// on every verification): 1 to 63 lowercase letters, digits and single
// inner dashes.
func validDomain(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && s[i-1] != '-':
		default:
			return false
		}
	}
	return true
}

func invalid(reason string) error { return fmt.Errorf("%w: %s", ErrInvalidToken, reason) }

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// verify checks token and returns its claims.
func (c *checker) verify(ctx context.Context, token string) (*Claims, error) {
	if token == "" {
		return nil, invalid("empty token")
	}
	if len(token) > c.cfg.MaxTokenBytes {
		return nil, invalid("token too long")
	}
	now := c.cfg.Clock()
	var key [32]byte
	switch {
	case c.hashed != nil:
		key = cacheKey(token)
		if cl, ok := c.hashed.get(key, now); ok {
			return cl, nil
		}
	case c.cache != nil:
		if cl, ok := c.cache.get(token, now); ok {
			return cl, nil
		}
	}
	jws, err := jose.ParseSignedCompact(token, c.algs)
	if err != nil {
		return nil, invalid("malformed or unexpected algorithm")
	}
	if len(jws.Signatures) != 1 {
		return nil, invalid("one signature expected")
	}
	h := jws.Signatures[0].Header
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "JWT" {
		return nil, invalid("typ must be JWT")
	}
	if h.KeyID == "" {
		return nil, invalid("kid missing")
	}
	if len(h.ExtraHeaders) > 0 {
		if crit, ok := h.ExtraHeaders["crit"]; ok && crit != nil {
			return nil, invalid("unsupported critical header")
		}
	}
	// Decode the claims before the signature check (to find the key set);
	// they are trusted only once the signature matches.
	cl := new(Claims)
	if err := cl.UnmarshalJSON(jws.UnsafePayloadWithoutVerification()); err != nil {
		return nil, invalid("malformed claims")
	}
	// The issuer names the environment: {BaseURL}/sandbox/t/{domain} or
	// {BaseURL}/t/{domain}.
	var env identity.Environment
	var domain string
	for _, b := range c.issuerBases {
		if d, ok := strings.CutPrefix(cl.Issuer, b.prefix); ok {
			env, domain = b.env, d
			break
		}
	}
	if env == "" {
		return nil, invalid("unknown issuer")
	}
	if !validDomain(domain) || cl.Tenant != domain {
		return nil, invalid("issuer and tnt disagree")
	}
	if hiss, ok := h.ExtraHeaders["iss"]; ok && hiss != cl.Issuer {
		return nil, invalid("header iss and payload iss disagree")
	}
	dbs, err := identity.ParseEnvironment(cl.Database)
	if err != nil {
		return nil, invalid("unknown dbs")
	}
	if dbs != env {
		return nil, invalid("issuer and dbs disagree")
	}
	// Refuse unwanted issuers and environments before looking up keys.
	if len(c.cfg.Domains) > 0 && !contains(c.cfg.Domains, domain) {
		return nil, invalid("unexpected issuer")
	}
	if !contains(c.cfg.Environments, env) {
		return nil, invalid("unexpected environment")
	}
	vk, err := c.lookup(ctx, env, domain, h.KeyID)
	if err != nil {
		return nil, err
	}
	if vk.alg != h.Algorithm {
		return nil, invalid("algorithm does not match the key")
	}
	if err := verifySig(jws, vk.pub); err != nil {
		return nil, err
	}
	if err := c.checkClaims(cl, env, domain, now); err != nil {
		return nil, err
	}
	switch {
	case c.hashed != nil:
		c.hashed.put(key, cl, time.Unix(cl.Expiry, 0), now)
	case c.cache != nil:
		// Keep a private copy of the key: the caller's string may share
		// memory with a larger buffer (a request header).
		c.cache.put(strings.Clone(token), cl, time.Unix(cl.Expiry, 0), now)
	}
	return cl, nil
}

func verifySig(jws *jose.JSONWebSignature, pub crypto.PublicKey) error {
	if _, err := jws.Verify(pub); err != nil {
		return invalid("bad signature")
	}
	return nil
}

// checkClaims applies the configured rules to signed claims.
func (c *checker) checkClaims(cl *Claims, env identity.Environment, domain string, now time.Time) error {
	cfg := &c.cfg
	if cl.Version != Version {
		return invalid("unsupported ver")
	}
	if !contains(cfg.TokenTypes, cl.Type) {
		return invalid("unexpected token type")
	}
	if !contains(cfg.Environments, env) {
		return invalid("unexpected environment")
	}
	if len(cfg.Domains) > 0 && !contains(cfg.Domains, domain) {
		return invalid("unexpected issuer")
	}
	if len(cfg.ClientIDs) > 0 && !contains(cfg.ClientIDs, cl.ClientID) {
		return invalid("unexpected client id")
	}
	if !cfg.SkipAudience {
		ok := false
		for _, a := range cl.Audience {
			if contains(cfg.Audiences, a) {
				ok = true
				break
			}
		}
		if !ok {
			return invalid("unexpected audience")
		}
	}
	if cl.Expiry == 0 {
		return invalid("exp missing")
	}
	if !now.Before(time.Unix(cl.Expiry, 0).Add(cfg.Leeway + max(cfg.AcceptExpiredFor, 0))) {
		return ErrTokenExpired
	}
	if cl.IssuedAt != 0 && time.Unix(cl.IssuedAt, 0).After(now.Add(cfg.Leeway)) {
		return invalid("issued in the future")
	}
	if cl.ID == "" {
		return invalid("jti missing")
	}
	return nil
}

// Verifier verifies tokens issued by this process's Service against the
// local key sets, with no HTTP. By default it accepts production tokens
// only (VerifierConfig.Environments). It is safe for concurrent use.
type Verifier struct {
	c *checker
}

// NewVerifier returns a Verifier for tokens issued by s.
func (s *Service) NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if cfg.Clock == nil {
		cfg.Clock = s.now
	}
	c, err := newChecker(cfg, s.base, s.publicKey)
	if err != nil {
		return nil, err
	}
	return &Verifier{c: c}, nil
}

// Verify checks the token's signature against the issuer's published keys
// (active, next and unexpired retired keys) in the environment the issuer
// names, its header (typ JWT, kid, an allowed alg matching the key), and its
// claims (iss = {BaseURL}/t/{tnt} in production or {BaseURL}/sandbox/t/{tnt}
// in the sandbox, an accepted environment whose `dbs` agrees with the
// issuer, ver 1, jtt, audience, client id, exp and iat with leeway). A token
// verified before is answered from the cache until it expires. Errors wrap
// ErrInvalidToken (ErrTokenExpired for expired tokens).
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	return v.c.verify(ctx, token)
}
