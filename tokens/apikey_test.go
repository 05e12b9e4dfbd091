package tokens

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
)

func TestAPIKeyToken(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cred := &identity.Credential{ID: "6b1c0f0e-1111-4222-8333-944455556666", Environment: identity.Sandbox,
		Permissions: []string{"read_many:sso_connections", "update:sso_connections"}}
	tok, exp, err := f.svc.IssueAPIKeyToken(ctx, cred, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := f.clock.Now().Add(DefaultAPIKeyTokenTTL); !exp.Equal(want) {
		t.Errorf("expires %v, want %v", exp, want)
	}
	c := decodePart(t, tok, 1)
	want := map[string]any{
		"cid": cred.ID, "sub": cred.ID, "jtt": "api_key", "dbs": "sandbox", "tnt": "acme-account",
		"iss": testBase + "/sandbox/t/acme-account", "ver": 1.0,
		"scp": "read_many:sso_connections update:sso_connections",
	}
	for k, v := range want {
		if !reflect.DeepEqual(c[k], v) {
			t.Errorf("%s = %#v, want %#v", k, c[k], v)
		}
	}
	if got := keysOf(c); !reflect.DeepEqual(got, []string{"cid", "dbs", "exp", "iat", "iss", "jti", "jtt", "scp", "sub", "tnt", "ver"}) {
		t.Errorf("claim keys = %v", got)
	}
	claims, err := f.svc.VerifyAPIKeyToken(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if env, _ := claims.Environment(); env != identity.Sandbox || claims.Subject != cred.ID ||
		!reflect.DeepEqual(claims.Scopes, cred.Permissions) {
		t.Errorf("claims = %+v", claims)
	}
	again, _ := f.svc.VerifyAPIKeyToken(ctx, tok)
	if again != claims {
		t.Error("the second verification of the same token was not cached")
	}

	// A user access token is not a management token, and the reverse.
	user, err := f.svc.IssueAccessToken(ctx, f.req())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.VerifyAPIKeyToken(ctx, user.Value); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("user token accepted as API key token: %v", err)
	}
	v := f.verifier(t, func(c *VerifierConfig) { c.SkipAudience = true; c.Audiences = nil })
	if _, err := v.Verify(ctx, tok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("API key token accepted as user token: %v", err)
	}

	// Another account's token is refused.
	foreign, _, err := f.svc.IssueAPIKeyToken(ctx, cred, "other-account")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.VerifyAPIKeyToken(ctx, foreign); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("foreign account token: %v", err)
	}

	// Expiry, cached or not.
	f.clock.Advance(DefaultAPIKeyTokenTTL + DefaultLeeway)
	if _, err := f.svc.VerifyAPIKeyToken(ctx, tok); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("expired token: %v", err)
	}
}

func TestAPIKeyTokenLifetime(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	soon := f.clock.Now().Add(5 * time.Minute)
	past := f.clock.Now().Add(-time.Minute)
	tests := []struct {
		name    string
		cred    *identity.Credential
		want    time.Duration
		wantErr error
	}{
		{"default", &identity.Credential{ID: "k1"}, DefaultAPIKeyTokenTTL, nil},
		{"capped by credential expiry", &identity.Credential{ID: "k2", ExpiresAt: &soon}, 5 * time.Minute, nil},
		{"expired credential", &identity.Credential{ID: "k3", ExpiresAt: &past}, 0, identity.ErrExpired},
		{"no credential", nil, 0, identity.ErrInvalid},
		{"bad environment", &identity.Credential{ID: "k4", Environment: "qa"}, 0, identity.ErrInvalid},
	}
	for _, tt := range tests {
		_, exp, err := f.svc.IssueAPIKeyToken(ctx, tt.cred, "")
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%s: err = %v, want %v", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || exp.Sub(f.clock.Now()) != tt.want {
			t.Errorf("%s: lifetime %v (err %v), want %v", tt.name, exp.Sub(f.clock.Now()), err, tt.want)
		}
	}
}
