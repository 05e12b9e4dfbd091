package tokens

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
)

// IssueAPIKeyToken issues the management token of a Cryptr API key (the
// client_credentials grant of POST /api/v2/oauth/token): `jtt: api_key`,
// `sub` = `cid` = the credential id, `scp` = its permissions joined by
// spaces, `tnt` = the account domain, `dbs` = the credential's environment,
// issued by the account's issuer in that environment ({BaseURL}/t/{account}
// in production, {BaseURL}/sandbox/t/{account} in the sandbox) and signed
// with the account's RS256 key there. It lives Options.APIKeyTokenTTL (15 minutes by
// default), never beyond the credential's own expiry.
func (s *Service) IssueAPIKeyToken(ctx context.Context, cred *identity.Credential, accountDomain string) (string, time.Time, error) {
	if cred == nil || cred.ID == "" {
		return "", time.Time{}, fmt.Errorf("API-key token needs a credential: %w", identity.ErrInvalid)
	}
	if accountDomain == "" {
		accountDomain = s.id.AccountDomain()
	}
	if accountDomain == "" {
		return "", time.Time{}, fmt.Errorf("API-key token needs the account domain: %w", identity.ErrInvalid)
	}
	env := cred.Environment
	if env == "" {
		env = identity.Production
	}
	if !env.Valid() {
		return "", time.Time{}, fmt.Errorf("credential environment %q: %w", env, identity.ErrInvalid)
	}
	now := s.now()
	exp := now.Add(s.clampTTL(s.opts.APIKeyTokenTTL))
	if cred.ExpiresAt != nil {
		if !now.Before(*cred.ExpiresAt) {
			return "", time.Time{}, fmt.Errorf("credential: %w", identity.ErrExpired)
		}
		if cred.ExpiresAt.Before(exp) {
			exp = *cred.ExpiresAt
		}
	}
	jti, err := s.newJTI()
	if err != nil {
		return "", time.Time{}, err
	}
	c := &Claims{
		Issuer: s.Issuer(env, accountDomain), Subject: cred.ID, ClientID: cred.ID,
		Tenant: accountDomain, Database: env.DBS(), ID: jti, Type: TypeAPIKey,
		Version: Version, Scopes: cred.Permissions, IssuedAt: now.Unix(), Expiry: exp.Unix(),
	}
	tok, err := s.sign(ctx, env, accountDomain, RS256, c)
	if err != nil {
		return "", time.Time{}, err
	}
	return tok.Value, time.Unix(c.Expiry, 0), nil
}

// VerifyAPIKeyToken verifies a management token for an /api/v2 request, of
// either environment: signature by the account's key of the environment its
// issuer names (and `dbs` agrees), `jtt: api_key`, ver, exp, and, when the
// identity service names an account domain, that `tnt` is it. It is meant
// to run on every request: a token verified before is answered from a
// bounded cache (keyed by its SHA-256, evicted when it expires) without a
// new signature check. The claims give the credential id (Subject), its
// permissions (Scopes) and environment (Environment()); the caller checks
// that the credential still exists when it must. Errors wrap ErrInvalidToken.
func (s *Service) VerifyAPIKeyToken(ctx context.Context, token string) (*Claims, error) {
	c, err := s.apiKey.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	if acct := s.id.AccountDomain(); acct != "" && c.Tenant != acct {
		return nil, invalid("not issued by this account")
	}
	return c, nil
}

// APIKeyVerifier returns VerifyAPIKeyToken as a TokenVerifier, for Middleware.
func (s *Service) APIKeyVerifier() TokenVerifier { return apiKeyVerifier{s} }

type apiKeyVerifier struct{ s *Service }

func (v apiKeyVerifier) Verify(ctx context.Context, token string) (*Claims, error) {
	return v.s.VerifyAPIKeyToken(ctx, token)
}
