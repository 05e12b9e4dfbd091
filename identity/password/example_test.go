package password_test

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/identity/password"
)

func ExampleHasher_Verify() {
	h := password.New()
	ctx := context.Background()
	// A hash imported from Crafter Profile verifies and asks to be
	// replaced by an argon2id one.
	ok, rehash, _ := h.Verify(ctx, "admin", "4rQ8a67wAk1GRwIqHix5kYw1MORa49o83Y7zXQhBqT0=|j4vsWtPbYjO3LfSiQcnGlw==")
	fmt.Println(ok, rehash)
	enc, _ := h.Hash(ctx, "admin")
	ok, rehash, _ = h.Verify(ctx, "admin", enc)
	fmt.Println(ok, rehash)
	// Output:
	// true true
	// true false
}
