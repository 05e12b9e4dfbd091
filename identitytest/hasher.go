package identitytest

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// hashPrefix marks the cheap test hashes; no product hasher reads them.
const hashPrefix = "$identitytest-sha256$"

// cheapHasher is the Env's identity.PasswordHasher: one salted SHA-256,
// with no work factor, so that tests creating many users with passwords
// stay fast. It is for tests only (see the package documentation): the
// product hashes with argon2id (identity/password).
type cheapHasher struct{}

func (cheapHasher) Hash(_ context.Context, password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	return encodeHash(salt, password), nil
}

func (cheapHasher) Verify(_ context.Context, password, encoded string) (ok, rehash bool, err error) {
	rest, found := strings.CutPrefix(encoded, hashPrefix)
	salt64, _, found2 := strings.Cut(rest, "$")
	if !found || !found2 {
		return false, false, errors.New("identitytest: not a test password hash")
	}
	salt, err := base64.RawStdEncoding.DecodeString(salt64)
	if err != nil {
		return false, false, errors.New("identitytest: malformed test password hash")
	}
	return hmac.Equal([]byte(encodeHash(salt, password)), []byte(encoded)), false, nil
}

func encodeHash(salt []byte, password string) string {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(password))
	return hashPrefix + base64.RawStdEncoding.EncodeToString(salt) + "$" +
		base64.RawStdEncoding.EncodeToString(h.Sum(nil))
}
