package tokens

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// A token is a compact JWS (RFC 7515 §7.1) that Gatehouse writes itself:
// the protected header of a signing key never changes, so it is encoded
// once, when the key is parsed, and each token costs one payload encoding,
// one signature and one buffer. Verification still goes through go-jose.

// jwsHeader is the protected header of every token: its members in the
// order go-jose wrote them (sorted), so tokens look as they always did.
type jwsHeader struct {
	Alg string `json:"alg"`
	Iss string `json:"iss"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

// newSigningKey prepares priv (an *ecdsa.PrivateKey for ES256, an
// *rsa.PrivateKey for RS256, an ed25519.PrivateKey for EdDSA) to sign
// tokens of issuer under kid; rb chooses what signs RS256 (nil:
// crypto/rsa).
func newSigningKey(priv crypto.Signer, kid, alg, issuer string, rb *rsaBackend) (*signingKey, error) {
	switch k := priv.(type) {
	case *ecdsa.PrivateKey:
		if alg != ES256 || k.Curve.Params().BitSize != 256 {
			return nil, fmt.Errorf("%w: %s with a P-%d key", ErrUnsupportedAlg, alg, k.Curve.Params().BitSize)
		}
	case *rsa.PrivateKey:
		if alg != RS256 {
			return nil, fmt.Errorf("%w: %s with an RSA key", ErrUnsupportedAlg, alg)
		}
	case ed25519.PrivateKey:
		if alg != EdDSA {
			return nil, fmt.Errorf("%w: %s with an Ed25519 key", ErrUnsupportedAlg, alg)
		}
	default:
		return nil, fmt.Errorf("%w: key type %T", ErrUnsupportedAlg, priv)
	}
	h, err := json.Marshal(jwsHeader{Alg: alg, Iss: issuer, Kid: kid, Typ: "JWT"})
	if err != nil {
		return nil, fmt.Errorf("token header: %w", err)
	}
	head := base64.RawURLEncoding.EncodeToString(h) + "."
	sk := &signingKey{kid: kid, alg: alg, head: head, priv: priv}
	if k, ok := priv.(*rsa.PrivateKey); ok {
		if sk.rsa, sk.rsaImpl, err = rb.signer(k, kid); err != nil {
			return nil, err
		}
	}
	return sk, nil
}

// sigLen is the length of alg's signature of key (before base64).
func (sk *signingKey) sigLen() int {
	switch k := sk.priv.(type) {
	case *rsa.PrivateKey:
		return k.Size()
	default:
		return 64 // ES256 (r || s) and Ed25519
	}
}

// compact signs payload and returns the compact serialization
// header.payload.signature, built in one buffer.
func (sk *signingKey) compact(payload []byte) (string, error) {
	enc := base64.RawURLEncoding
	n := len(sk.head) + enc.EncodedLen(len(payload))
	buf := make([]byte, 0, n+1+enc.EncodedLen(sk.sigLen()))
	buf = append(buf, sk.head...)
	buf = enc.AppendEncode(buf, payload)
	var sig []byte
	switch k := sk.priv.(type) {
	case *ecdsa.PrivateKey:
		d := sha256.Sum256(buf)
		r, s, err := ecdsa.Sign(rand.Reader, k, d[:])
		if err != nil {
			return "", fmt.Errorf("sign token: %w", err)
		}
		// JWS writes the two 32-byte integers, not ASN.1 (RFC 7518 §3.4).
		var rs [64]byte
		r.FillBytes(rs[:32])
		s.FillBytes(rs[32:])
		sig = rs[:]
	case *rsa.PrivateKey:
		d := sha256.Sum256(buf)
		sign := sk.rsa
		if sign == nil { // a signingKey not made by newSigningKey
			sign = func(d []byte) ([]byte, error) { return rsa.SignPKCS1v15(nil, k, crypto.SHA256, d) }
		}
		var err error
		if sig, err = sign(d[:]); err != nil {
			return "", fmt.Errorf("sign token: %w", err)
		}
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, buf)
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), nil
}
