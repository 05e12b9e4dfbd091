package api_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/api"
)

// testTokens is a stand-in for the tokens package: opaque random tokens.
type testTokens struct {
	svc *identity.Service
	mu  sync.Mutex
	m   map[string]api.TokenClaims
}

func newTestTokens(t testing.TB, svc *identity.Service) api.ManagementTokens {
	return &testTokens{svc: svc, m: map[string]api.TokenClaims{}}
}

func (tt *testTokens) IssueManagementToken(ctx context.Context, c *identity.Credential, account string) (string, time.Time, error) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	exp := tt.svc.Now().Add(15 * time.Minute)
	tt.mu.Lock()
	tt.m[tok] = api.TokenClaims{CredentialID: c.ID, AccountDomain: account, Environment: c.Environment,
		Permissions: c.Permissions, ExpiresAt: exp}
	tt.mu.Unlock()
	return tok, exp, nil
}

func (tt *testTokens) VerifyManagementToken(ctx context.Context, tok string) (*api.TokenClaims, error) {
	tt.mu.Lock()
	c, ok := tt.m[tok]
	tt.mu.Unlock()
	if !ok || !tt.svc.Now().Before(c.ExpiresAt) {
		return nil, errors.New("invalid token")
	}
	return &c, nil
}
