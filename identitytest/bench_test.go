package identitytest

import (
	"context"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/password"
)

// BenchmarkHash compares the test hasher with the product's argon2id
// (identity/password defaults): what a test suite saves per user with a
// password.
func BenchmarkHash(b *testing.B) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		h    identity.PasswordHasher
	}{{"identitytest", cheapHasher{}}, {"argon2id", password.New()}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := tc.h.Hash(ctx, "correct horse battery staple"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNew measures an Env with its first token (RS256 keys are
// generated on first use), the cost a host test pays per Env.
func BenchmarkNew(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256"} {
		b.Run(alg, func(b *testing.B) {
			for b.Loop() {
				env := New(b, WithSigningAlg(alg))
				env.Token(env.User())
			}
		})
	}
}
