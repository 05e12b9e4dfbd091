package api

import (
	"context"
	"fmt"
	"net/http"
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

// sampleHandler serves GET /api/v2/org/{domain}/token-customization/sample:
// JWT samples for the organization, optionally for one of its users
// (user_id) and applications (application_id), expired (expired=true) or
// with a lifetime (expiration_in_seconds). authorization_id is accepted and
// ignored. The samples never verify (see tokens.Service.JWTSample).
func sampleHandler(h *Handler, ts *tokens.Service) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := caller(r)
		if err != nil {
			return err
		}
		rd, err := params(r, p)
		if err != nil {
			return err
		}
		domain := r.PathValue("domain")
		req := tokens.SampleRequest{Env: p.Environment(), OrgDomain: domain}
		userID, appID := rd.String("user_id"), rd.String("application_id")
		_ = rd.String("authorization_id")
		if b := rd.Bool("expired"); b != nil {
			req.Expired = *b
		}
		if n := rd.Int("expiration_in_seconds"); n != nil {
			if *n < 1 || time.Duration(*n)*time.Second > tokens.MaxSampleTTL {
				rd.Invalid("expiration_in_seconds", fmt.Sprintf("must be between 1 and %d", int64(tokens.MaxSampleTTL/time.Second)))
			} else {
				req.ExpiresIn = time.Duration(*n) * time.Second
			}
		}
		if err := rd.Err(); err != nil {
			return err
		}
		if _, err := p.Service.GetOrganization(r.Context(), domain); err != nil {
			return err
		}
		if userID != nil && *userID != "" {
			if req.User, err = p.Service.GetUser(r.Context(), domain, *userID); err != nil {
				return err
			}
		}
		if appID != nil && *appID != "" {
			if req.App, err = p.Service.GetApplication(r.Context(), domain, *appID); err != nil {
				return err
			}
		}
		sample, err := ts.JWTSample(r.Context(), req)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, sample)
		return nil
	}
}
