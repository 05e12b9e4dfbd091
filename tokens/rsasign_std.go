//go:build !cgo || !linux

package tokens

import (
	"crypto/rsa"
	"errors"
)

// dlopenBuild: this build cannot load libcrypto (no cgo, or not Linux).
const dlopenBuild = false

// libcrypto is never loaded in this build: crypto/rsa signs.
type libcrypto struct {
	version string
}

// openLibcrypto fails: OpenSSL is loaded only by Linux builds with cgo.
func openLibcrypto(name string) (*libcrypto, error) {
	return nil, errors.New("openssl: this build of Gatehouse loads " + name + " only on Linux with cgo (CGO_ENABLED=1)")
}

// newSigner is never called: openLibcrypto returns no libcrypto.
func (l *libcrypto) newSigner(*rsa.PrivateKey) (rsaSigner, error) {
	return nil, errors.New("openssl: not loaded in this build")
}
