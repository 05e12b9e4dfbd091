package tokens

import (
	"bytes"
	"context"
	"crypto"
	"crypto/fips140"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/identity"
)

// requireOpenSSLEnv, when set (scripts/test.sh sets it on Linux), makes the
// tests fail instead of skip when this cgo build on Linux cannot load
// libcrypto.so.3, so that CI tests the OpenSSL signer, not only the
// fallback.
const requireOpenSSLEnv = "GATEHOUSE_TEST_REQUIRE_OPENSSL"

// openSSLOrSkip returns a backend of mode whose libcrypto loaded, or skips
// (fails under requireOpenSSLEnv in a build that loads libcrypto).
func openSSLOrSkip(t *testing.T, mode RSASigner) *rsaBackend {
	t.Helper()
	b, err := newRSABackend(mode, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.load(); err != nil {
		if errors.Is(err, errValidatedModule) {
			t.Skipf("auto keeps RS256 in the toolchain's validated module: %v", err)
		}
		openSSLOrSkipFailsIfRequired(t, err)
		t.Skipf("no OpenSSL 3 here: %v", err)
	}
	return b
}

// openSSLOrSkipFailsIfRequired fails the test when OpenSSL was required
// (requireOpenSSLEnv) in a build that loads it, and did not load (err).
func openSSLOrSkipFailsIfRequired(t *testing.T, err error) {
	t.Helper()
	if dlopenBuild && !validatedModule() && os.Getenv(requireOpenSSLEnv) != "" {
		t.Fatalf("%s is set and OpenSSL does not load: %v", requireOpenSSLEnv, err)
	}
}

// testRSAKeys are keys of the sizes Gatehouse accepts (2048 by default,
// larger through Options.RSABits).
func testRSAKeys(t *testing.T) map[string]*rsa.PrivateKey {
	t.Helper()
	keys := map[string]*rsa.PrivateKey{}
	for _, bits := range []int{2048, 2048, 3072} {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		keys[fmt.Sprintf("%d-%d", bits, len(keys))] = k
	}
	return keys
}

// TestRSASignerSignsAsCryptoRSA: each signer (auto, which is OpenSSL where
// it loads, openssl required, go) writes exactly crypto/rsa's
// RSASSA-PKCS1-v1_5 signatures for several keys and digests, from
// several goroutines at once (run under -race), and they verify with
// rsa.VerifyPKCS1v15: a token does not depend on what signed it.
func TestRSASignerSignsAsCryptoRSA(t *testing.T) {
	keys := testRSAKeys(t)
	digests := [][32]byte{sha256.Sum256(nil), sha256.Sum256([]byte("header.payload")), {}, {0xff, 0xff, 0xff}}
	tests := []struct {
		mode     RSASigner
		wantImpl string // "" : openssl where it loads, crypto/rsa elsewhere
	}{
		{RSASignerAuto, ""},
		{RSASignerOpenSSL, implOpenSSL},
		{RSASignerGo, implGo},
	}
	for _, tc := range tests {
		t.Run(string(tc.mode), func(t *testing.T) {
			var b *rsaBackend
			want := tc.wantImpl
			switch tc.mode {
			case RSASignerOpenSSL:
				b = openSSLOrSkip(t, tc.mode)
			default:
				var err error
				if b, err = newRSABackend(tc.mode, slog.New(slog.DiscardHandler)); err != nil {
					t.Fatal(err)
				}
				if lib, err := b.load(); want == "" && lib != nil {
					want = implOpenSSL
				} else if want == "" {
					if !errors.Is(err, errValidatedModule) {
						openSSLOrSkipFailsIfRequired(t, err)
					}
					want = implGo
				}
			}
			if !strings.HasPrefix(b.implementation(), want) {
				t.Fatalf("implementation %q, want %s", b.implementation(), want)
			}
			for name, k := range keys {
				sign, impl, err := b.signer(k, name)
				if err != nil || impl != want {
					t.Fatalf("key %s: signer %s, %v; want %s", name, impl, err, want)
				}
				var wg sync.WaitGroup
				errs := make(chan error, 4*len(digests))
				for g := range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i, d := range digests {
							got, err := sign(d[:])
							if err != nil {
								errs <- err
								return
							}
							ref, _ := rsa.SignPKCS1v15(nil, k, crypto.SHA256, d[:])
							if !bytes.Equal(got, ref) {
								errs <- fmt.Errorf("goroutine %d, digest %d: signature differs from crypto/rsa's", g, i)
							}
							if err := rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA256, d[:], got); err != nil {
								errs <- err
							}
						}
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Errorf("key %s: %v", name, err)
				}
				if _, err := sign(make([]byte, 20)); err == nil {
					t.Errorf("key %s: a 20-byte digest was signed", name)
				}
			}
		})
	}
}

// TestRSASignerFallback: when OpenSSL cannot sign with a key (library
// missing, a library without OpenSSL's functions, a key refused, a
// self-check that differs), auto signs with crypto/rsa, without error and
// with the same signatures; openssl (required) fails instead.
func TestRSASignerFallback(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("token"))
	ref, _ := rsa.SignPKCS1v15(nil, k, crypto.SHA256, d[:])

	// load: a backend whose library cannot serve.
	for _, soname := range []string{"libcrypto-gatehouse-missing.so.3", "libc.so.6"} {
		for _, mode := range []RSASigner{RSASignerAuto, RSASignerOpenSSL} {
			t.Run(soname+"/"+string(mode), func(t *testing.T) {
				b, err := newRSABackend(mode, slog.New(slog.DiscardHandler))
				if err != nil {
					t.Fatal(err)
				}
				b.soname = soname
				if _, err := b.load(); err == nil {
					t.Fatalf("%s loaded as libcrypto", soname)
				} else {
					t.Log(err)
				}
				if got := b.implementation(); got != implGo {
					t.Errorf("implementation %q, want crypto/rsa", got)
				}
				sign, impl, err := b.signer(k, "k1")
				if mode == RSASignerOpenSSL {
					if err == nil {
						t.Fatal("openssl required: a key signs without OpenSSL")
					}
					return
				}
				if err != nil || impl != implGo {
					t.Fatalf("signer %s, %v; want crypto/rsa", impl, err)
				}
				if got, err := sign(d[:]); err != nil || !bytes.Equal(got, ref) {
					t.Fatalf("fallback signature differs from crypto/rsa's (%v)", err)
				}
			})
		}
	}

	// checked: OpenSSL loaded but unable to sign with this key.
	b := openSSLOrSkip(t, RSASignerAuto)
	lib, _ := b.load()
	wrongKey, err := lib.newSigner(other) // signs, but not with k
	if err != nil {
		t.Fatal(err)
	}
	failing := func([]byte) ([]byte, error) { return nil, errors.New("signing failed") }
	cases := []struct {
		name string
		sign rsaSigner
		err  error
	}{
		{"self-check differs", wrongKey, nil},
		{"key refused", nil, errors.New("openssl rsa: libcrypto refused the key")},
		{"first signature fails", failing, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sign, impl, err := b.checked(k, "k1", tc.sign, tc.err)
			if err != nil || impl != implGo {
				t.Fatalf("auto: signer %s, %v; want crypto/rsa", impl, err)
			}
			if got, err := sign(d[:]); err != nil || !bytes.Equal(got, ref) {
				t.Fatalf("fallback signature differs from crypto/rsa's (%v)", err)
			}
			required := &rsaBackend{mode: RSASignerOpenSSL}
			if _, _, err := required.checked(k, "k1", tc.sign, tc.err); err == nil {
				t.Fatal("openssl required: the key signs anyway")
			}
		})
	}
}

// TestRSASignerOption: Options.RSASigner is checked by New, reported by
// RSAImplementation, and the tokens of every choice are the same bytes
// for the same key and claims, verified by go-jose and by
// rsa.VerifyPKCS1v15.
func TestRSASignerOption(t *testing.T) {
	if _, err := New(Options{Identity: newFixture(t).id, BaseURL: testBase, RSASigner: "fast"}); err == nil {
		t.Fatal(`RSASigner "fast" accepted`)
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	const iss = testBase + "/t/acme"
	payload := []byte(`{"iss":"` + iss + `","sub":"u"}`)
	var first string
	for _, mode := range []RSASigner{"", RSASignerAuto, RSASignerGo, RSASignerOpenSSL} {
		t.Run("mode="+string(mode), func(t *testing.T) {
			f := newFixture(t)
			svc, err := New(Options{Identity: f.id, BaseURL: testBase, RSASigner: mode})
			if mode == RSASignerOpenSSL && !dlopenBuild {
				if err == nil {
					t.Fatal("openssl required: New succeeds in a build without cgo on Linux")
				}
				return
			}
			if mode == RSASignerOpenSSL && err != nil {
				openSSLOrSkip(t, mode) // skips, or fails under requireOpenSSLEnv
			}
			if err != nil {
				t.Fatal(err)
			}
			impl := svc.RSAImplementation()
			t.Logf("RS256 signed by %s", impl)
			switch {
			case mode == RSASignerGo && impl != implGo,
				mode == RSASignerOpenSSL && !strings.HasPrefix(impl, implOpenSSL+" 3."),
				!dlopenBuild && impl != implGo:
				t.Fatalf("RSAImplementation %q with %q", impl, mode)
			}
			sk, err := newSigningKey(k, "kid-1", RS256, iss, svc.rsa)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(impl, sk.rsaImpl) {
				t.Errorf("the key signs with %s, the service reports %s", sk.rsaImpl, impl)
			}
			tok, err := sk.compact(payload)
			if err != nil {
				t.Fatal(err)
			}
			if first == "" {
				first = tok
			} else if tok != first {
				t.Fatalf("token differs from the first mode's:\n%s\n%s", tok, first)
			}
			verifyRS256(t, tok, &k.PublicKey)
		})
	}
}

// verifyRS256 checks an RS256 compact token with go-jose and with
// rsa.VerifyPKCS1v15.
func verifyRS256(t *testing.T, tok string, pub *rsa.PublicKey) {
	t.Helper()
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jws.Verify(pub); err != nil {
		t.Fatalf("go-jose: %v", err)
	}
	i := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte(tok[:i]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig); err != nil {
		t.Fatalf("rsa.VerifyPKCS1v15: %v", err)
	}
}

// TestIssueRS256Default: an access token issued by a service of the
// default options (OpenSSL where it loads) verifies with the service's
// Verifier, go-jose and rsa.VerifyPKCS1v15 against the published key.
func TestIssueRS256Default(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tok, err := f.svc.IssueAccessToken(ctx, f.req())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.verifier(t).Verify(ctx, tok.Value); err != nil {
		t.Fatal(err)
	}
	sk, err := f.svc.activeSigner(ctx, identity.Production, f.org.Domain, RS256)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("signed by %s (service: %s)", sk.rsaImpl, f.svc.RSAImplementation())
	if dlopenBuild && !validatedModule() && os.Getenv(requireOpenSSLEnv) != "" && sk.rsaImpl != implOpenSSL {
		t.Fatalf("%s is set and the key signs with %s", requireOpenSSLEnv, sk.rsaImpl)
	}
	verifyRS256(t, tok.Value, sk.priv.Public().(*rsa.PublicKey))
}

// validatedModule reports whether this test process runs with the
// toolchain's validated module (RSASignerAuto then signs with crypto/rsa).
func validatedModule() bool { return boringModule() || fips140.Enabled() }

// TestRSASignerValidatedModule: when the toolchain's validated module
// does the process's cryptography (GOEXPERIMENT=boringcrypto,
// GODEBUG=fips140=on), RSASignerAuto does not load libcrypto and signs
// with crypto/rsa; RSASignerOpenSSL, an explicit choice, still loads it.
func TestRSASignerValidatedModule(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("token"))
	ref, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		pretend   bool
		mustApply bool
	}{
		{"pretended", true, true},
		{"this build", false, validatedModule()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !c.mustApply {
				t.Skip("no validated module in this build")
			}
			b, err := newRSABackend(RSASignerAuto, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			b.validated = c.pretend
			if lib, err := b.load(); lib != nil || !errors.Is(err, errValidatedModule) {
				t.Fatalf("load: %v, %v; want no library and errValidatedModule", lib, err)
			}
			if got := b.implementation(); got != implGo {
				t.Fatalf("implementation %q, want crypto/rsa", got)
			}
			sign, impl, err := b.signer(k, "k1")
			if err != nil || impl != implGo {
				t.Fatalf("signer %s, %v; want crypto/rsa", impl, err)
			}
			if got, err := sign(d[:]); err != nil || !bytes.Equal(got, ref) {
				t.Fatalf("signature differs from crypto/rsa's (%v)", err)
			}
		})
	}
}
