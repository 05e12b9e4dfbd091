package api

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// Tokens adapts the tokens package to ManagementTokens: management tokens
// are RS256 JWTs signed with the account's key (`jtt: api_key`), verified
// through its cache, so a token seen before costs a hash and a map lookup
// rather than a signature check.
func Tokens(s *tokens.Service) ManagementTokens { return tokenService{s} }

type tokenService struct{ s *tokens.Service }

func (t tokenService) IssueManagementToken(ctx context.Context, cred *identity.Credential, account string) (string, time.Time, error) {
	return t.s.IssueAPIKeyToken(ctx, cred, account)
}

func (t tokenService) VerifyManagementToken(ctx context.Context, token string) (*TokenClaims, error) {
	c, err := t.s.VerifyAPIKeyToken(ctx, token)
	if err != nil {
		return nil, err
	}
	env, err := c.Environment()
	if err != nil {
		return nil, err
	}
	return &TokenClaims{CredentialID: c.Subject, AccountDomain: c.Tenant, Environment: env,
		Permissions: c.Scopes, ExpiresAt: c.ExpiresAt()}, nil
}
