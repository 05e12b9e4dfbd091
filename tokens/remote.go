package tokens

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/identity"
)

// RemoteVerifier defaults.
const (
	DefaultMaxJWKSBytes = 1 << 20
	DefaultJWKSCooldown = 30 * time.Second
	DefaultJWKSMaxAge   = time.Hour
	MaxJWKSMaxAge       = 24 * time.Hour
	DefaultMaxIssuers   = 1000
)

// RemoteConfig configures a RemoteVerifier.
type RemoteConfig struct {
	// BaseURL is the Gatehouse service URL; issuers are BaseURL/t/{domain}
	// in production and BaseURL/sandbox/t/{domain} in the sandbox.
	BaseURL string
	// JWKSURL maps an issuer to its JWKS URL (default issuer + "/.well-known",
	// Cryptr's path).
	JWKSURL func(issuer string) string
	// HTTPClient fetches JWKS documents (default: a client with a 10 s timeout).
	HTTPClient *http.Client
	// MaxJWKSBytes bounds a JWKS response (default 1 MiB).
	MaxJWKSBytes int64
	// Cooldown is the least time between two fetches of one issuer's JWKS,
	// including refetches for an unknown kid (default 30 s).
	Cooldown time.Duration
	// MaxAge is how long a JWKS is used when the response has no
	// Cache-Control max-age (default 1 h; any max-age is capped at 24 h).
	MaxAge time.Duration
	// MaxIssuers bounds how many issuers' key sets are kept (default 1000).
	MaxIssuers int
	// VerifierConfig holds the claim rules, as for Verifier: production
	// tokens only unless Environments says otherwise.
	VerifierConfig
}

// RemoteVerifier verifies Gatehouse tokens in another process: it fetches
// each issuer's JWKS over HTTP (the JWKS of the token's environment's
// issuer, so a sandbox key never verifies a production token), caches it, and fetches it again when a token
// names an unknown kid (at most once per Cooldown). It is safe for
// concurrent use.
type RemoteVerifier struct {
	c    *checker
	cfg  RemoteConfig
	base string

	mu      sync.Mutex
	issuers map[string]*remoteSet
}

type remoteSet struct {
	mu          sync.Mutex
	keys        map[string]*verifyKey
	expires     time.Time
	lastAttempt time.Time
}

// NewRemoteVerifier returns a RemoteVerifier for cfg.
func NewRemoteVerifier(cfg RemoteConfig) (*RemoteVerifier, error) {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return nil, fmt.Errorf("tokens: RemoteConfig.BaseURL must be an http(s) URL: %w", identity.ErrInvalid)
	}
	if cfg.JWKSURL == nil {
		cfg.JWKSURL = func(iss string) string { return iss + "/.well-known" }
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.MaxJWKSBytes <= 0 {
		cfg.MaxJWKSBytes = DefaultMaxJWKSBytes
	}
	if cfg.Cooldown <= 0 {
		cfg.Cooldown = DefaultJWKSCooldown
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultJWKSMaxAge
	}
	if cfg.MaxIssuers <= 0 {
		cfg.MaxIssuers = DefaultMaxIssuers
	}
	v := &RemoteVerifier{cfg: cfg, base: base, issuers: map[string]*remoteSet{}}
	c, err := newChecker(cfg.VerifierConfig, base, v.lookup)
	if err != nil {
		return nil, err
	}
	v.c, v.cfg.VerifierConfig = c, c.cfg
	return v, nil
}

// Verify checks a token like Verifier.Verify, with keys fetched from the
// issuer's JWKS.
func (v *RemoteVerifier) Verify(ctx context.Context, token string) (*Claims, error) {
	return v.c.verify(ctx, token)
}

func (v *RemoteVerifier) set(issuer string) *remoteSet {
	v.mu.Lock()
	defer v.mu.Unlock()
	rs := v.issuers[issuer]
	if rs == nil {
		if len(v.issuers) >= v.cfg.MaxIssuers {
			for k := range v.issuers { // evict one at random (map order)
				delete(v.issuers, k)
				break
			}
		}
		rs = &remoteSet{}
		v.issuers[issuer] = rs
	}
	return rs
}

// lookup returns the key kid of the issuer domain in env, from that
// issuer's own JWKS (each environment's issuer publishes only its keys).
func (v *RemoteVerifier) lookup(ctx context.Context, env identity.Environment, domain, kid string) (*verifyKey, error) {
	if len(v.cfg.Domains) > 0 && !contains(v.cfg.Domains, domain) {
		return nil, invalid("unexpected issuer")
	}
	issuer := IssuerURL(v.base, env, domain)
	rs := v.set(issuer)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	now := v.cfg.Clock()
	vk := rs.keys[kid]
	if vk != nil && now.Before(rs.expires) {
		return vk, nil
	}
	if now.Sub(rs.lastAttempt) < v.cfg.Cooldown {
		if vk != nil { // stale but known: keep using it until we may fetch
			return vk, nil
		}
		return nil, invalid("unknown key id")
	}
	rs.lastAttempt = now
	keys, maxAge, err := v.fetch(ctx, issuer)
	if err != nil {
		if vk != nil {
			return vk, nil
		}
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	rs.keys, rs.expires = keys, now.Add(maxAge)
	if vk = rs.keys[kid]; vk == nil {
		return nil, invalid("unknown key id")
	}
	return vk, nil
}

// errJWKS reports a JWKS that could not be fetched or read.
var errJWKS = errors.New("fetch JWKS")

func (v *RemoteVerifier) fetch(ctx context.Context, issuer string) (map[string]*verifyKey, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.JWKSURL(issuer), nil)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", errJWKS, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", errJWKS, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("%w: status %d", errJWKS, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, v.cfg.MaxJWKSBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", errJWKS, err)
	}
	if int64(len(body)) > v.cfg.MaxJWKSBytes {
		return nil, 0, fmt.Errorf("%w: response larger than %d bytes", errJWKS, v.cfg.MaxJWKSBytes)
	}
	var doc jose.JSONWebKeySet
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, 0, fmt.Errorf("%w: %w", errJWKS, err)
	}
	keys := map[string]*verifyKey{}
	for _, k := range doc.Keys {
		if k.KeyID == "" || !k.IsPublic() || (k.Use != "" && k.Use != "sig") {
			continue
		}
		alg := k.Algorithm
		if alg == "" {
			alg = inferAlg(k.Key)
		}
		if !validAlg(alg) || !keyMatchesAlg(k.Key, alg) {
			continue
		}
		keys[k.KeyID] = &verifyKey{kid: k.KeyID, alg: alg, pub: k.Key}
	}
	return keys, v.maxAge(resp.Header.Get("Cache-Control")), nil
}

func (v *RemoteVerifier) maxAge(cc string) time.Duration {
	d := v.cfg.MaxAge
	for _, part := range strings.Split(cc, ",") {
		part = strings.TrimSpace(part)
		if n, ok := strings.CutPrefix(part, "max-age="); ok {
			if secs, err := strconv.Atoi(n); err == nil && secs >= 0 {
				d = time.Duration(secs) * time.Second
			}
		}
	}
	if d < v.cfg.Cooldown {
		d = v.cfg.Cooldown
	}
	if d > MaxJWKSMaxAge {
		d = MaxJWKSMaxAge
	}
	return d
}

func inferAlg(key any) string {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return RS256
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return ES256
		}
	case ed25519.PublicKey:
		return EdDSA
	}
	return ""
}

func keyMatchesAlg(key any, alg string) bool {
	return inferAlg(key) == alg
}
