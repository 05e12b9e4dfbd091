//go:build cgo && linux

package tokens

/*
// Only libc is needed to build: libcrypto is opened at run time and the
// few functions used are declared here with opaque handles. OpenSSL 3
// keeps their ABI across 3.x (the soname libcrypto.so.3 says so), and the
// version is checked after loading. -ldl: dlopen lives in libdl before
// glibc 2.34 (an empty stub from 2.34 on, and in musl).
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stddef.h>

// gh_crypto holds the libcrypto functions used, in the order of gh_names.
typedef struct {
	void *handle;
	unsigned long (*version_num)(void);
	void *(*d2i_private_key)(int type, void **out, const unsigned char **der, long len);
	int (*pkey_get_base_id)(const void *pkey);
	int (*pkey_get_size)(const void *pkey);
	void (*pkey_free)(void *pkey);
	void *(*ctx_new)(void *pkey, void *engine);
	void (*ctx_free)(void *ctx);
	int (*sign_init)(void *ctx);
	int (*set_rsa_padding)(void *ctx, int padding);
	int (*set_signature_md)(void *ctx, const void *md);
	const void *(*sha256)(void);
	int (*sign)(void *ctx, unsigned char *sig, size_t *siglen, const unsigned char *tbs, size_t tbslen);
	void (*clear_error)(void);
} gh_crypto;

enum { GH_NFUNCS = 13, GH_EVP_PKEY_RSA = 6, GH_RSA_PKCS1_PADDING = 1 };

static const char *const gh_names[GH_NFUNCS] = {
	"OpenSSL_version_num", "d2i_PrivateKey", "EVP_PKEY_get_base_id", "EVP_PKEY_get_size",
	"EVP_PKEY_free", "EVP_PKEY_CTX_new", "EVP_PKEY_CTX_free", "EVP_PKEY_sign_init",
	"EVP_PKEY_CTX_set_rsa_padding", "EVP_PKEY_CTX_set_signature_md", "EVP_sha256",
	"EVP_PKEY_sign", "ERR_clear_error",
};

// gh_load opens the library name and fills f. It returns 0, -1 when the
// library does not open (dlerror's message copied into msg), or i+1 when
// symbol gh_names[i] is missing (the library is closed again).
static int gh_load(const char *name, gh_crypto *f, char *msg, size_t msglen) {
	void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		const char *e = dlerror();
		size_t i = 0;
		for (; e != NULL && e[i] != 0 && i + 1 < msglen; i++) msg[i] = e[i];
		if (msglen > 0) msg[i] = 0;
		return -1;
	}
	void *p[GH_NFUNCS];
	for (int i = 0; i < GH_NFUNCS; i++) {
		p[i] = dlsym(h, gh_names[i]);
		if (p[i] == NULL) {
			dlclose(h);
			return i + 1;
		}
	}
	f->handle = h;
	// POSIX lets a dlsym result be converted to a function pointer.
	*(void **)&f->version_num = p[0];
	*(void **)&f->d2i_private_key = p[1];
	*(void **)&f->pkey_get_base_id = p[2];
	*(void **)&f->pkey_get_size = p[3];
	*(void **)&f->pkey_free = p[4];
	*(void **)&f->ctx_new = p[5];
	*(void **)&f->ctx_free = p[6];
	*(void **)&f->sign_init = p[7];
	*(void **)&f->set_rsa_padding = p[8];
	*(void **)&f->set_signature_md = p[9];
	*(void **)&f->sha256 = p[10];
	*(void **)&f->sign = p[11];
	*(void **)&f->clear_error = p[12];
	return 0;
}

static const char *gh_name(int i) { return gh_names[i]; }

static unsigned long gh_version(const gh_crypto *f) { return f->version_num(); }

// gh_close closes a library gh_load opened and that is not used after all.
static void gh_close(gh_crypto *f) {
	dlclose(f->handle);
	f->handle = NULL;
}

// gh_rsa_key parses a PKCS #1 RSA private key of size bytes; NULL if
// libcrypto refuses it or reads another type or size.
static void *gh_rsa_key(const gh_crypto *f, const unsigned char *der, long len, int size) {
	const unsigned char *p = der;
	void *k = f->d2i_private_key(GH_EVP_PKEY_RSA, NULL, &p, len);
	if (k != NULL && (f->pkey_get_base_id(k) != GH_EVP_PKEY_RSA || f->pkey_get_size(k) != size)) {
		f->pkey_free(k);
		k = NULL;
	}
	if (k == NULL) f->clear_error();
	return k;
}

static void gh_rsa_free(const gh_crypto *f, void *k) { f->pkey_free(k); }

// gh_rsa_sign writes the RSASSA-PKCS1-v1_5 signature of a SHA-256 digest
// into sig, exactly siglen (the modulus size) bytes; 1 on success.
static int gh_rsa_sign(const gh_crypto *f, void *k, const unsigned char *digest, unsigned char *sig, size_t siglen) {
	size_t n = siglen;
	void *ctx = f->ctx_new(k, NULL);
	if (ctx == NULL) {
		f->clear_error();
		return 0;
	}
	int ok = f->sign_init(ctx) == 1 &&
		f->set_rsa_padding(ctx, GH_RSA_PKCS1_PADDING) == 1 &&
		f->set_signature_md(ctx, f->sha256()) == 1 &&
		f->sign(ctx, sig, &n, digest, 32) == 1 && n == siglen;
	f->ctx_free(ctx);
	if (!ok) f->clear_error();
	return ok;
}
*/
import "C"

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"runtime"
	"unsafe"
)

// dlopenBuild: this build loads libcrypto at run time.
const dlopenBuild = true

// libcrypto is OpenSSL 3's libcrypto, loaded by openLibcrypto. Its library
// handle is never closed: a dlopen handle is process-wide (loading it again
// only counts a reference), and keys made by it may outlive any one user.
type libcrypto struct {
	// fns is in Go memory and holds no Go pointer, so it is passed to C
	// on every call; each key's cleanup keeps it alive until the key is
	// freed.
	fns     *C.gh_crypto
	version string // "3.0.19"
}

// openLibcrypto dlopens name and checks it is OpenSSL 3.0 or later with
// every function the signer uses.
func openLibcrypto(name string) (*libcrypto, error) {
	fns := new(C.gh_crypto)
	cname := append([]byte(name), 0)
	var msg [256]C.char
	switch r := C.gh_load((*C.char)(unsafe.Pointer(&cname[0])), fns, &msg[0], C.size_t(len(msg))); {
	case r < 0:
		return nil, fmt.Errorf("openssl: load %s: %s", name, C.GoString(&msg[0]))
	case r > 0:
		return nil, fmt.Errorf("openssl: %s has no %s", name, C.GoString(C.gh_name(r-1)))
	}
	v := uint64(C.gh_version(fns))
	// OPENSSL_VERSION_NUMBER is 0xMNN00PP0 from 3.0 on.
	major, minor, patch := v>>28, (v>>20)&0xff, (v>>4)&0xff
	if v < 0x30000000 {
		C.gh_close(fns)
		return nil, fmt.Errorf("openssl: %s is version %#x, not 3.x", name, v)
	}
	return &libcrypto{fns: fns, version: fmt.Sprintf("%d.%d.%d", major, minor, patch)}, nil
}

// pkeyRef is what frees an OpenSSL key: the functions and the key.
type pkeyRef struct {
	fns  *C.gh_crypto
	pkey unsafe.Pointer
}

// opensslKey owns an OpenSSL copy of a private key; the copy is freed
// (EVP_PKEY_free, which clears it) when the opensslKey is collected.
type opensslKey struct {
	ref  pkeyRef
	size int
}

// newSigner hands k to libcrypto (as PKCS #1 DER, cleared afterwards) and
// returns a signer that signs with it. The caller compares its first
// signature with crypto/rsa's (rsaBackend.checked).
func (l *libcrypto) newSigner(k *rsa.PrivateKey) (rsaSigner, error) {
	der := x509.MarshalPKCS1PrivateKey(k)
	ok, err := l.parse(der, k.Size())
	clear(der)
	if err != nil {
		return nil, err
	}
	return ok.sign, nil
}

// parse hands a PKCS #1 RSA private key of size bytes to libcrypto.
func (l *libcrypto) parse(der []byte, size int) (*opensslKey, error) {
	if len(der) == 0 {
		return nil, errors.New("openssl rsa: empty key")
	}
	pkey := C.gh_rsa_key(l.fns, (*C.uchar)(unsafe.Pointer(&der[0])), C.long(len(der)), C.int(size))
	if pkey == nil {
		return nil, errors.New("openssl rsa: libcrypto refused the key")
	}
	ok := &opensslKey{ref: pkeyRef{fns: l.fns, pkey: pkey}, size: size}
	runtime.AddCleanup(ok, func(r pkeyRef) { C.gh_rsa_free(r.fns, r.pkey) }, ok.ref)
	return ok, nil
}

// sign writes the RSASSA-PKCS1-v1_5 signature of a SHA-256 digest.
func (ok *opensslKey) sign(digest []byte) ([]byte, error) {
	if len(digest) != sha256.Size {
		return nil, errors.New("openssl rsa: not a SHA-256 digest")
	}
	sig := make([]byte, ok.size)
	r := C.gh_rsa_sign(ok.ref.fns, ok.ref.pkey, (*C.uchar)(unsafe.Pointer(&digest[0])),
		(*C.uchar)(unsafe.Pointer(&sig[0])), C.size_t(len(sig)))
	runtime.KeepAlive(ok)
	if r != 1 {
		return nil, errors.New("openssl rsa: signing failed")
	}
	return sig, nil
}
