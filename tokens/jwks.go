package tokens

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/identity"
)

// emptyJWKSMaxAge is the cache lifetime of a JWKS with no key yet: short, so
// the first key of a new issuer is seen quickly.
const emptyJWKSMaxAge = time.Minute

// jwksMaxAge is the Cache-Control max-age of a JWKS document: at most an
// hour, and at most a quarter of the rotation period, so a next key has been
// in every cached copy long before it signs.
func (s *Service) jwksMaxAge() time.Duration {
	d := s.opts.RotationPeriod / 4
	if d > time.Hour {
		d = time.Hour
	}
	return d
}

// jwkOf renders a published key: kty, kid, use "sig", alg, the key material
// (n/e, crv/x/y or crv/x) and x5c.
func jwkOf(vk *verifyKey) jose.JSONWebKey {
	return jose.JSONWebKey{Key: vk.pub, KeyID: vk.kid, Algorithm: vk.alg, Use: "sig",
		Certificates: []*x509.Certificate{vk.cert}}
}

// jwksOf renders the JWKS document of a loaded set (one issuer in one
// environment), in publication order (active keys first).
func jwksOf(ls *loadedSet) ([]byte, error) {
	doc := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, state := range []string{"active", "next", "retired"} {
		for _, info := range ls.info {
			if info.State == state {
				doc.Keys = append(doc.Keys, jwkOf(ls.public[info.KID]))
			}
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("render JWKS: %w", err)
	}
	return b, nil
}

// setFor returns the loaded key set of (env, domain). It creates the
// default RS256 keys of a known issuer (an organization, or the account)
// that has none yet, so the JWKS is never empty for a real issuer and a
// client that caches it does not miss the first key; it creates nothing for
// unknown domains.
func (s *Service) setFor(ctx context.Context, env identity.Environment, domain string) (*loadedSet, error) {
	ls := s.keys.get(setKey{env, domain})
	if ls == nil || !s.now().Before(ls.validUntil) {
		var err error
		if ls, err = s.load(ctx, env, domain, ""); err != nil {
			return nil, err
		}
	}
	if len(ls.info) > 0 || !s.knownIssuer(ctx, domain) {
		return ls, nil
	}
	return s.load(ctx, env, domain, RS256)
}

// knownIssuer reports whether domain is the account's or an organization's.
func (s *Service) knownIssuer(ctx context.Context, domain string) bool {
	if domain == s.opts.Identity.AccountDomain() {
		return true
	}
	_, err := s.opts.Identity.GetOrganization(ctx, domain)
	return err == nil
}

// JWKS renders the JSON Web Key Set of the issuer domain in env (only that
// environment's keys: each environment is its own issuer, IssuerURL):
// {"keys":[{kty,kid,use:"sig",alg,n,e|crv,x[,y],x5c:[...]}]}. It lists the
// active keys first, then the next keys, then retired keys still within
// their publication window. An issuer that has not signed yet has an empty
// set. The document is cached in memory until the key set changes.
func (s *Service) JWKS(ctx context.Context, env identity.Environment, domain string) ([]byte, error) {
	env, err := s.checkEnv(env)
	if err != nil {
		return nil, err
	}
	ls, err := s.setFor(ctx, env, domain)
	if err != nil {
		return nil, err
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.jwks == nil {
		if ls.jwks, err = jwksOf(ls); err != nil {
			return nil, err
		}
	}
	return ls.jwks, nil
}

// JWKSMaxAge is the Cache-Control max-age JWKSHandler sends for a non-empty
// key set: min(1h, RotationPeriod/4).
func (s *Service) JWKSMaxAge() time.Duration { return s.jwksMaxAge() }

// JWKSHandler returns a handler that serves the JWKS of env's issuer for
// the domain that domain extracts from the request (for example
// r.PathValue("domain")): the keys of env only ("" is the identity
// service's environment). Mount the production handler at
// /t/{domain}/.well-known and /t/{domain}/.well-known/jwks, the sandbox
// one under /sandbox/t/{domain}/ (IssuerURL). It answers GET and HEAD with
// `Content-Type: application/json` and `Cache-Control: public, max-age=N`
// (JWKSMaxAge; one minute while the set is empty), 405 to other methods,
// 404 to an empty domain and 500 only when the store fails.
func (s *Service) JWKSHandler(env identity.Environment, domain func(r *http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		d := domain(r)
		if d == "" || identity.CheckDomain(d) != "" {
			http.NotFound(w, r)
			return
		}
		body, err := s.JWKS(r.Context(), env, d)
		if err != nil {
			s.id.Logger().ErrorContext(r.Context(), "tokens: render JWKS", "org", d, "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		maxAge := s.jwksMaxAge()
		if len(body) <= len(`{"keys":[]}`) {
			maxAge = emptyJWKSMaxAge
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(maxAge/time.Second)))
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(body)
		}
	})
}
