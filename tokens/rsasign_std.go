//go:build !gatehouse_openssl

package tokens

import (
	"crypto"
	"crypto/rsa"
)

// rsaImplementation names what signs RS256 tokens in this build.
const rsaImplementation = "crypto/rsa"

// newRSASigner signs with crypto/rsa (a parsed or generated key is
// precomputed: its CRT values are set).
func newRSASigner(k *rsa.PrivateKey) (rsaSigner, error) {
	return func(digest []byte) ([]byte, error) {
		return rsa.SignPKCS1v15(nil, k, crypto.SHA256, digest)
	}, nil
}
