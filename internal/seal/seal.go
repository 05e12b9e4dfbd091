// Package seal protects secrets at rest under one key-encryption key (KEK).
//
// A deployment has one KEK of 32 random bytes, kept outside the store (a
// file beside it, a flag, a secret manager). Each purpose derives its own
// subkey with HKDF-SHA256 ([Derive]), so a key that seals values never
// doubles as a key that hashes them; package identity seals and hashes its
// secrets under such subkeys. Private keys (token signing keys, SAML SP
// keys) are sealed under the KEK itself, in the format package tokens has
// always written, each bound by its additional data to its record.
//
//   - [Seal] and [Open] encrypt with AES-256-GCM and a random 96-bit nonce,
//     stored as nonce || ciphertext || tag (the format package tokens has
//     always used for signing keys, so values sealed by either open with
//     the other). The additional data binds a sealed value to the record it
//     belongs to (kind, environment, id): moved to another record, it does
//     not open.
//   - [MAC] is HMAC-SHA256, the keyed hash under which a bearer secret is
//     looked up: a copy of the store alone does not let anyone test guesses
//     or match secrets seen elsewhere. [Equal] compares two MACs in
//     constant time.
//
// Every primitive comes from the standard library (crypto/aes,
// crypto/cipher, crypto/hkdf, crypto/hmac); this package only fixes how
// Gatehouse uses them.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// KeySize is the size of a key-encryption key and of every derived key:
// 32 bytes (AES-256, HMAC-SHA256).
const KeySize = 32

// ErrKeySize is returned for a key that is not KeySize bytes.
var ErrKeySize = errors.New("seal: a key must be 32 bytes")

// ErrOpen is returned by Open for a value that does not open: a wrong key,
// other additional data, or a truncated or tampered value.
var ErrOpen = errors.New("seal: cannot open sealed value (wrong key-encryption key, or the value was altered or moved)")

// NewKey returns KeySize random bytes from r (crypto/rand when r is nil).
func NewKey(r io.Reader) ([]byte, error) {
	if r == nil {
		r = rand.Reader
	}
	k := make([]byte, KeySize)
	if _, err := io.ReadFull(r, k); err != nil {
		return nil, fmt.Errorf("seal: new key: %w", err)
	}
	return k, nil
}

// Derive returns the subkey of kek for purpose (HKDF-SHA256, no salt,
// purpose as the info string). Distinct purposes give independent keys;
// the same kek and purpose always give the same key. Name purposes with the
// package and a version ("gatehouse/identity/lookup/v1").
func Derive(kek []byte, purpose string) ([]byte, error) {
	if len(kek) != KeySize {
		return nil, ErrKeySize
	}
	if purpose == "" {
		return nil, errors.New("seal: Derive needs a purpose")
	}
	k, err := hkdf.Key(sha256.New, kek, nil, purpose, KeySize)
	if err != nil {
		return nil, fmt.Errorf("seal: derive %s: %w", purpose, err)
	}
	return k, nil
}

func aead(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, ErrKeySize
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if g, err := cipher.NewGCMWithRandomNonce(block); err == nil {
		return g, nil
	}
	// A build with GOEXPERIMENT=boringcrypto has its own AES block, which
	// NewGCMWithRandomNonce does not take: the same construction and format
	// with the nonce drawn here.
	g, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return randomNonceGCM{g}, nil
}

// randomNonceGCM is AES-GCM with a random 96-bit nonce drawn on Seal and
// written before the ciphertext (nonce || ciphertext || tag), exactly what
// cipher.NewGCMWithRandomNonce writes; Seal and Open take no nonce.
type randomNonceGCM struct{ gcm cipher.AEAD }

func (a randomNonceGCM) NonceSize() int { return 0 }

func (a randomNonceGCM) Overhead() int { return a.gcm.NonceSize() + a.gcm.Overhead() }

func (a randomNonceGCM) Seal(dst, nonce, plain, aad []byte) []byte {
	if len(nonce) != 0 {
		panic("seal: the nonce is drawn by Seal")
	}
	n := a.gcm.NonceSize()
	ret, out := sliceForAppend(dst, n+len(plain)+a.gcm.Overhead())
	if _, err := rand.Read(out[:n]); err != nil {
		panic(err) // crypto/rand does not fail
	}
	a.gcm.Seal(out[n:n], out[:n], plain, aad)
	return ret
}

func (a randomNonceGCM) Open(dst, nonce, sealed, aad []byte) ([]byte, error) {
	if len(nonce) != 0 {
		return nil, errors.New("seal: the nonce is read from the sealed value")
	}
	n := a.gcm.NonceSize()
	if len(sealed) < n+a.gcm.Overhead() {
		return nil, ErrOpen
	}
	return a.gcm.Open(dst, sealed[:n], sealed[n:], aad)
}

// sliceForAppend extends in by n bytes, returning the whole slice and the
// n new bytes.
func sliceForAppend(in []byte, n int) (whole, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		whole = in[:total]
	} else {
		whole = make([]byte, total)
		copy(whole, in)
	}
	return whole, whole[len(in):]
}

// Seal encrypts plain under key (AES-256-GCM, random nonce), bound to aad.
// The result is nonce || ciphertext || tag.
func Seal(key, plain, aad []byte) ([]byte, error) {
	g, err := aead(key)
	if err != nil {
		return nil, err
	}
	return g.Seal(nil, nil, plain, aad), nil
}

// Open decrypts a value made by Seal with the same key and aad. Any
// mismatch is ErrOpen.
func Open(key, sealed, aad []byte) ([]byte, error) {
	g, err := aead(key)
	if err != nil {
		return nil, err
	}
	plain, err := g.Open(nil, nil, sealed, aad)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// MAC returns the lowercase hex HMAC-SHA256 of value under key: the keyed
// hash a secret is indexed and compared by. It panics on a key of the
// wrong size, which Derive never returns.
func MAC(key []byte, value string) string {
	if len(key) != KeySize {
		panic(ErrKeySize)
	}
	m := hmac.New(sha256.New, key)
	io.WriteString(m, value)
	return hex.EncodeToString(m.Sum(nil))
}

// Equal compares two MACs (or any two strings) in constant time.
func Equal(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }

// ParseKey decodes a key-encryption key written in base64 (standard or
// URL alphabet, padded or not), as EncodeKey writes it, and checks its
// size. Surrounding white space (a newline at the end of a key file) is
// ignored. The error never contains the input.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != KeySize {
				return nil, fmt.Errorf("seal: the key-encryption key is %d bytes, not 32: %w", len(k), ErrKeySize)
			}
			return k, nil
		}
	}
	return nil, errors.New("seal: the key-encryption key is not base64")
}

// EncodeKey writes a key in standard padded base64.
func EncodeKey(k []byte) string { return base64.StdEncoding.EncodeToString(k) }
