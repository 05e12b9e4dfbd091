package tokens

import (
	"bytes"
	"crypto"
	"crypto/fips140"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// RS256 signatures go through an rsaSigner made once per signing key by
// the Service's rsaBackend. On Linux with cgo (Go's default for a native
// build where a C compiler exists), the backend loads the system's OpenSSL
// 3 libcrypto at run time (dlopen of libcrypto.so.3: no OpenSSL headers
// or library are needed to build, rsasign_dl.go) and signs with it, three
// to four times faster per signature than crypto/rsa on amd64. Anywhere
// else (CGO_ENABLED=0, other systems), when libcrypto is absent or older
// than 3.0, when it refuses a key, or when Options.RSASigner is
// RSASignerGo, crypto/rsa signs. RSASSA-PKCS1-v1_5 is deterministic: both
// give the same bytes for the same key and digest, and each key's first
// OpenSSL signature is compared with crypto/rsa's before the key signs a
// token, so the tokens do not depend on which one signed them. When the
// toolchain's validated module does the process's cryptography (a
// GOEXPERIMENT=boringcrypto build, or GODEBUG=fips140=on), RSASignerAuto
// keeps RS256 in it: crypto/rsa signs, and libcrypto is not loaded.

// RSASigner chooses what computes the RS256 signatures of a Service
// (Options.RSASigner). Every choice writes the same tokens: only the CPU
// time per signature differs.
type RSASigner string

const (
	// RSASignerAuto (the zero value, "" or "auto") signs with the system's
	// OpenSSL 3 libcrypto, loaded at run time, when the build has cgo on
	// Linux and libcrypto.so.3 loads; with crypto/rsa otherwise, and for a
	// key whose OpenSSL signature is not crypto/rsa's (never an error).
	// In a GOEXPERIMENT=boringcrypto build or under GODEBUG=fips140=on it
	// signs with crypto/rsa, inside the toolchain's validated module.
	RSASignerAuto RSASigner = "auto"
	// RSASignerGo always signs with Go's crypto/rsa.
	RSASignerGo RSASigner = "go"
	// RSASignerOpenSSL requires OpenSSL: New fails when libcrypto.so.3
	// cannot be loaded (a CGO_ENABLED=0 build, a system without OpenSSL
	// 3), and a key that OpenSSL refuses or signs differently from
	// crypto/rsa cannot sign (signing with it returns an error).
	RSASignerOpenSSL RSASigner = "openssl"
)

// Names of the implementations, as Service.RSAImplementation reports them.
const (
	implGo      = "crypto/rsa"
	implOpenSSL = "openssl"
)

// libcryptoName is the shared library the backend loads: OpenSSL 3's
// soname, whose ABI is stable across 3.x.
const libcryptoName = "libcrypto.so.3"

// errValidatedModule is why RSASignerAuto does not load libcrypto when
// the Go toolchain's validated cryptographic module is in use.
var errValidatedModule = errors.New("tokens: the toolchain's validated crypto module is in use (boringcrypto or fips140 mode)")

// rsaSigner signs a SHA-256 digest with RSASSA-PKCS1-v1_5 (RFC 8017
// §8.2) under one private key. It is safe for concurrent use.
type rsaSigner func(digest []byte) ([]byte, error)

// goSigner signs with crypto/rsa (a parsed or generated key is
// precomputed: its CRT values are set).
func goSigner(k *rsa.PrivateKey) rsaSigner {
	return func(digest []byte) ([]byte, error) {
		return rsa.SignPKCS1v15(nil, k, crypto.SHA256, digest)
	}
}

// rsaBackend is what a Service signs RS256 with. libcrypto is loaded the
// first time an RSA key is prepared (or at New with RSASignerOpenSSL), once
// per Service.
type rsaBackend struct {
	mode   RSASigner
	soname string // libcryptoName; tests name a missing library
	// validated: tests pretend a validated module is in use.
	validated bool
	log       *slog.Logger

	once sync.Once
	lib  *libcrypto // nil: crypto/rsa
	err  error      // why lib is nil (mode go: nil)
}

// newRSABackend returns the backend of mode (which it checks); nothing is
// loaded yet.
func newRSABackend(mode RSASigner, log *slog.Logger) (*rsaBackend, error) {
	switch mode {
	case "":
		mode = RSASignerAuto
	case RSASignerAuto, RSASignerGo, RSASignerOpenSSL:
	default:
		return nil, fmt.Errorf("tokens: Options.RSASigner %q is not auto, go or openssl", mode)
	}
	return &rsaBackend{mode: mode, soname: libcryptoName, log: log}, nil
}

// load loads libcrypto once (unless the mode is go) and returns it, or nil
// and the reason crypto/rsa signs instead.
func (b *rsaBackend) load() (*libcrypto, error) {
	b.once.Do(func() {
		if b.mode == RSASignerGo {
			return
		}
		if b.mode == RSASignerAuto && (b.validated || boringModule() || fips140.Enabled()) {
			// The operator chose the toolchain's validated module
			// (GOEXPERIMENT=boringcrypto, GODEBUG=fips140=on): RS256
			// stays inside it.
			b.err = errValidatedModule
			if b.log != nil {
				b.log.Info("tokens: a validated go crypto module is in use, rs256 signs with crypto/rsa")
			}
			return
		}
		b.lib, b.err = openLibcrypto(b.soname)
		if b.err != nil && b.mode == RSASignerAuto && dlopenBuild && b.log != nil {
			b.log.Info("tokens: openssl not loaded, rs256 signs with crypto/rsa", "err", b.err)
		}
	})
	return b.lib, b.err
}

// implementation names what signs RS256: "openssl 3.0.19" or "crypto/rsa".
func (b *rsaBackend) implementation() string {
	if lib, _ := b.load(); lib != nil {
		return implOpenSSL + " " + lib.version
	}
	return implGo
}

// signer returns the signer of k and the name of its implementation (implGo
// or implOpenSSL). With RSASignerAuto it never fails: crypto/rsa signs
// whatever OpenSSL did. A nil backend signs with crypto/rsa.
func (b *rsaBackend) signer(k *rsa.PrivateKey, kid string) (rsaSigner, string, error) {
	if b == nil {
		return goSigner(k), implGo, nil
	}
	lib, err := b.load()
	if b.mode == RSASignerGo || (lib == nil && b.mode == RSASignerAuto) {
		return goSigner(k), implGo, nil
	}
	var sign rsaSigner
	if err == nil {
		sign, err = lib.newSigner(k)
	}
	return b.checked(k, kid, sign, err)
}

// checked returns sign (an OpenSSL signer of k, or nil with the error that
// prevented it) if its signature of a test digest is byte for byte
// crypto/rsa's; otherwise crypto/rsa's signer (RSASignerAuto, the failure
// logged) or the error (RSASignerOpenSSL).
func (b *rsaBackend) checked(k *rsa.PrivateKey, kid string, sign rsaSigner, err error) (rsaSigner, string, error) {
	if err == nil {
		d := sha256.Sum256([]byte("gatehouse openssl rsa self-check"))
		var got, want []byte
		if got, err = sign(d[:]); err == nil {
			if want, err = rsa.SignPKCS1v15(nil, k, crypto.SHA256, d[:]); err == nil && !bytes.Equal(got, want) {
				err = errors.New("openssl rsa: self-check signature differs from crypto/rsa's")
			}
		}
	}
	if err == nil {
		return sign, implOpenSSL, nil
	}
	if b.mode == RSASignerOpenSSL {
		return nil, "", err
	}
	if b.log != nil {
		b.log.Warn("tokens: openssl cannot sign with an rs256 key, crypto/rsa signs with it", "kid", kid, "err", err)
	}
	return goSigner(k), implGo, nil
}
