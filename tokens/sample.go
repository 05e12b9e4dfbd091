package tokens

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
)

// MaxSampleTTL bounds the lifetime asked of a JWT sample.
const MaxSampleTTL = 366 * 24 * time.Hour

// SampleRequest asks for JWT samples (GET /api/v2/org/:domain/token-customization/sample).
type SampleRequest struct {
	Env       identity.Environment
	OrgDomain string
	// User and App, when set, are the subject and client of the samples;
	// without them sub, email, cid and aud are null, as in Cryptr's sample.
	User *identity.User
	App  *identity.Application
	// Expired issues tokens that have already expired (`expired=true`).
	Expired bool
	// ExpiresIn is the lifetime (`expiration_in_seconds`); zero means the
	// access-token default, at most MaxSampleTTL.
	ExpiresIn time.Duration
}

// JWTSample is Cryptr's `__JwtSamples__` resource: an access token and an
// ID token shaped like the ones the organization's sessions get, and the
// "tree view" of their keys: each entry is a claim name, or
// [name, subkeys] for an object claim, subkeys being null when it is empty.
type JWTSample struct {
	Domain          string `json:"__domain__"`
	Type            string `json:"__type__"`
	AccessTokenJWT  string `json:"access_token_jwt"`
	AccessTokenKeys []any  `json:"access_token_keys"`
	IDTokenJWT      string `json:"id_token_jwt"`
	IDTokenKeys     []any  `json:"id_token_keys"`
	// AccessTokenClaims and IDTokenClaims are the decoded claims of the
	// two samples (not part of Cryptr's resource).
	AccessTokenClaims *Claims `json:"-"`
	IDTokenClaims     *Claims `json:"-"`
}

// JWTSample builds JWT samples for an organization. The ID token's nonce is
// "*". When no user is given, resource_owner_metadata shows the MetaKey
// definitions ({id, name, required, type}) in place of values, as Cryptr's
// sample does.
//
// With a user and an application, the claims are built by the code that
// issues the tokens of a sign-in with the scopes openid, email and
// profile (IssueAccessToken, IssueIDToken): the application's lifetimes
// and algorithm, the user's MetaData, Options.MetadataInAccessToken and
// the host's ClaimsUpdater, which is called as for a real token. Only
// the lifetime asked of the sample (ExpiresIn, Expired) replaces the
// issued one.
//
// The samples are signed with an in-memory key whose kid is not in any
// JWKS, so they never verify: a sample must not be a usable token (Cryptr's
// endpoint takes any user_id and a lifetime of a year, which would let the
// holder of a token-customization permission impersonate users).
func (s *Service) JWTSample(ctx context.Context, req SampleRequest) (*JWTSample, error) {
	if req.OrgDomain == "" {
		return nil, fmt.Errorf("sample needs the organization domain: %w", identity.ErrInvalid)
	}
	env := s.envOrDefault(req.Env)
	svc, err := s.svcFor(env)
	if err != nil {
		return nil, err
	}
	var tn *identity.Tenant
	err = svc.View(ctx, func(tx *identity.ReadTxn) error {
		org, err := tx.Org(req.OrgDomain)
		if err != nil {
			return err
		}
		tn, err = tx.Tenant(org.ID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sample for %s: %w", req.OrgDomain, err)
	}
	alg, err := algFor(req.App)
	if err != nil {
		return nil, err
	}
	sk, err := s.sampleKey(alg, env, req.OrgDomain)
	if err != nil {
		return nil, err
	}
	ttl := req.ExpiresIn
	if ttl <= 0 {
		ttl = s.opts.AccessTokenTTL
	}
	if ttl > MaxSampleTTL {
		ttl = MaxSampleTTL
	}
	now := s.now()
	exp := now.Add(ttl)
	if req.Expired {
		exp = now.Add(-time.Second)
	}
	if req.User != nil && req.App != nil {
		return s.issuedSample(ctx, req, env, tn, sk, alg, exp)
	}
	base := Claims{Issuer: s.Issuer(env, req.OrgDomain), Tenant: req.OrgDomain, Database: env.DBS(),
		Version: Version, IssuedAt: now.Unix(), Expiry: exp.Unix(), ApplicationMetadata: map[string]any{}}
	if req.App != nil {
		base.ClientID = req.App.ClientID
		if a := DefaultAudience(req.App, ""); a != "" {
			base.Audience = Audience{a}
		}
		base.ApplicationMetadata = appMetadata(req.App)
	}
	if req.User != nil {
		base.Subject, base.Email = req.User.ID, req.User.Email
		base.Scopes = []string{"openid", "email", "profile"}
	}
	access := base
	if access.ID, err = s.newJTI(); err != nil {
		return nil, err
	}
	access.Type = TypeAccess
	at, err := signWith(sk, &access)
	if err != nil {
		return nil, err
	}
	id := base
	if id.ID, err = s.newJTI(); err != nil {
		return nil, err
	}
	id.Type, id.Nonce = TypeID, "*"
	code, err := identity.NewSecret(rand.Reader)
	if err != nil {
		return nil, err
	}
	state, err := identity.NewSecret(rand.Reader)
	if err != nil {
		return nil, err
	}
	for _, h := range []struct {
		dst *string
		v   string
	}{{&id.AtHash, at.Value}, {&id.CHash, code}, {&id.SHash, state}} {
		if *h.dst, err = HalfHash(alg, h.v); err != nil {
			return nil, err
		}
	}
	if req.User != nil {
		id.ResourceOwnerMetadata = identity.TokenMetadata(tn, req.User)
		id.Extra = ProfileClaims(req.User, id.Scopes)
	} else {
		id.ResourceOwnerMetadata = map[string]any{}
		for _, d := range tn.AttributeDefinitions {
			if d.InToken {
				id.ResourceOwnerMetadata[d.Name] = map[string]any{"id": d.ID, "name": d.Name,
					"required": d.Required, "type": d.Type}
			}
		}
	}
	it, err := signWith(sk, &id)
	if err != nil {
		return nil, err
	}
	return newSample(req.OrgDomain, at, it)
}

// newSample wraps two signed samples.
func newSample(domain string, at, it *Token) (*JWTSample, error) {
	out := &JWTSample{Domain: domain, Type: "__JwtSamples__", AccessTokenJWT: at.Value, IDTokenJWT: it.Value,
		AccessTokenClaims: at.Claims, IDTokenClaims: it.Claims}
	var err error
	if out.AccessTokenKeys, err = keysTree(at.Claims); err != nil {
		return nil, err
	}
	if out.IDTokenKeys, err = keysTree(it.Claims); err != nil {
		return nil, err
	}
	return out, nil
}

// issuedSample builds the samples of a user and an application with the
// issuer's own claims (accessClaims, idClaims), signed with the sample
// key sk; exp replaces the lifetime when the request asks for one.
func (s *Service) issuedSample(ctx context.Context, req SampleRequest, env identity.Environment, tn *identity.Tenant,
	sk *signingKey, alg string, exp time.Time) (*JWTSample, error) {
	code, err := identity.NewSecret(rand.Reader)
	if err != nil {
		return nil, err
	}
	state, err := identity.NewSecret(rand.Reader)
	if err != nil {
		return nil, err
	}
	tr := &TokenRequest{Env: env, OrgDomain: req.OrgDomain, User: req.User, Tenant: tn, App: req.App,
		Scopes: []string{"openid", "email", "profile"}, Nonce: "*", Code: code, State: state}
	lifetime := func(c *Claims) {
		if req.Expired || req.ExpiresIn > 0 {
			c.Expiry = exp.Unix()
		}
	}
	access, calg, err := s.accessClaims(ctx, tr)
	if err != nil {
		return nil, err
	}
	if calg != alg {
		return nil, fmt.Errorf("sample: the issuer signs with %s, the sample key is %s", calg, alg)
	}
	lifetime(access)
	at, err := signWith(sk, access)
	if err != nil {
		return nil, err
	}
	id, _, err := s.idClaims(ctx, tr, at.Value)
	if err != nil {
		return nil, err
	}
	lifetime(id)
	it, err := signWith(sk, id)
	if err != nil {
		return nil, err
	}
	return newSample(req.OrgDomain, at, it)
}

// keysTree lists a token's claim names in order; object claims become
// [name, sorted subkeys] (null subkeys when the object is empty).
func keysTree(c *Claims) ([]any, error) {
	b, err := c.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("sample keys: %w", err)
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]any, 0, len(names))
	for _, k := range names {
		obj, ok := m[k].(map[string]any)
		if !ok {
			out = append(out, k)
			continue
		}
		if len(obj) == 0 {
			out = append(out, []any{k, nil})
			continue
		}
		sub := make([]string, 0, len(obj))
		for sk := range obj {
			sub = append(sub, sk)
		}
		sort.Strings(sub)
		out = append(out, []any{k, sub})
	}
	return out, nil
}

// sampleKey returns the unpublished in-memory key that signs samples.
func (s *Service) sampleKey(alg string, env identity.Environment, domain string) (*signingKey, error) {
	s.sampleMu.Lock()
	defer s.sampleMu.Unlock()
	k := alg + "\x00" + string(env) + "\x00" + domain
	if sk := s.sampleKeys[k]; sk != nil {
		return sk, nil
	}
	gen := s.sampleKeys[alg]
	if gen == nil {
		stored, err := s.generateKey("", "", alg, s.now())
		if err != nil {
			return nil, err
		}
		p, err := s.parsePrivate("", "", stored)
		if err != nil {
			return nil, err
		}
		gen = &signingKey{kid: stored.KID, alg: alg, priv: p}
		s.sampleKeys[alg] = gen
	}
	priv, err := newSigningKey(gen.priv, gen.kid, alg, s.Issuer(env, domain), s.rsa)
	if err != nil {
		return nil, fmt.Errorf("sample signer: %w", err)
	}
	if len(s.sampleKeys) < 1024 {
		s.sampleKeys[k] = priv
	}
	return priv, nil
}
