//go:build gatehouse_openssl

package tokens

/*
#cgo LDFLAGS: -lcrypto
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

// gh_rsa_key parses a PKCS #8 RSA private key; NULL if it is not one.
static EVP_PKEY *gh_rsa_key(const unsigned char *der, long len) {
	const unsigned char *p = der;
	PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, len);
	if (p8 == NULL) return NULL;
	EVP_PKEY *k = EVP_PKCS82PKEY(p8);
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (k != NULL && EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

// gh_rsa_sign writes the RSASSA-PKCS1-v1_5 signature of a SHA-256 digest
// into sig, exactly siglen (the modulus size) bytes; 1 on success.
static int gh_rsa_sign(EVP_PKEY *k, const unsigned char *digest, unsigned char *sig, size_t siglen) {
	size_t n = siglen;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k, NULL);
	if (ctx == NULL) return 0;
	int ok = EVP_PKEY_sign_init(ctx) == 1 &&
		EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
		EVP_PKEY_sign(ctx, sig, &n, digest, 32) == 1 && n == siglen;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}
*/
import "C"

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"runtime"
	"unsafe"
)

// rsaImplementation names what signs RS256 tokens in this build.
const rsaImplementation = "openssl"

// opensslKey owns an OpenSSL copy of a private key; it is freed when the
// opensslKey is collected.
type opensslKey struct {
	pkey *C.EVP_PKEY
	size int
}

// newRSASigner hands k to OpenSSL's libcrypto (as PKCS #8) and signs with
// it. Before it is used, the key's first signature is compared with
// crypto/rsa's (RSASSA-PKCS1-v1_5 is deterministic): a mismatch is an
// error, never a token.
func newRSASigner(k *rsa.PrivateKey) (rsaSigner, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("openssl rsa: %w", err)
	}
	pkey := C.gh_rsa_key((*C.uchar)(unsafe.Pointer(&der[0])), C.long(len(der)))
	clear(der)
	if pkey == nil {
		return nil, errors.New("openssl rsa: libcrypto refused the key")
	}
	ok := &opensslKey{pkey: pkey, size: k.Size()}
	runtime.AddCleanup(ok, func(p *C.EVP_PKEY) { C.EVP_PKEY_free(p) }, pkey)
	sign := func(digest []byte) ([]byte, error) {
		if len(digest) != sha256.Size {
			return nil, errors.New("openssl rsa: not a SHA-256 digest")
		}
		sig := make([]byte, ok.size)
		r := C.gh_rsa_sign(ok.pkey, (*C.uchar)(unsafe.Pointer(&digest[0])), (*C.uchar)(unsafe.Pointer(&sig[0])), C.size_t(len(sig)))
		runtime.KeepAlive(ok)
		if r != 1 {
			return nil, errors.New("openssl rsa: signing failed")
		}
		return sig, nil
	}
	d := sha256.Sum256([]byte("gatehouse openssl rsa self-check"))
	got, err := sign(d[:])
	if err != nil {
		return nil, err
	}
	want, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, d[:])
	if err != nil {
		return nil, fmt.Errorf("openssl rsa self-check: %w", err)
	}
	if !bytes.Equal(got, want) {
		return nil, errors.New("openssl rsa: self-check signature differs from crypto/rsa's")
	}
	return sign, nil
}
