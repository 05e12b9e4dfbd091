package tokens

import "errors"

// ErrKeyEncryptionKeySize is returned by Seal and Unseal for a
// key-encryption key that is not 32 bytes (AES-256).
var ErrKeyEncryptionKeySize = errors.New("tokens: the key-encryption key must be 32 bytes")

// Seal encrypts a private key (or any secret) with AES-256-GCM under kek,
// bound to aad, exactly as this package seals its signing keys
// ([Options.KeyEncryptionKey]): a random 12-byte nonce followed by the
// ciphertext. Other packages that keep private keys at rest (enterprise
// SSO's service provider keys) use it so that one key-encryption key and
// one format protect every key of the deployment. aad must name what is
// sealed (a record kind and its id), so a sealed value moved to another
// record does not open.
func Seal(kek, plain, aad []byte) ([]byte, error) {
	if len(kek) != 32 {
		return nil, ErrKeyEncryptionKeySize
	}
	return seal(kek, plain, aad)
}

// Unseal opens a value sealed by Seal with the same kek and aad. A missing,
// wrong or tampered key, value or aad is ErrSealedKey.
func Unseal(kek, sealed, aad []byte) ([]byte, error) {
	if kek == nil {
		return nil, ErrSealedKey
	}
	if len(kek) != 32 {
		return nil, ErrKeyEncryptionKeySize
	}
	return unseal(kek, sealed, aad)
}
