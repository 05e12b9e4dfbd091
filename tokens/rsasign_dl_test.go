//go:build cgo && linux

package tokens

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLibcryptoRefusesBadKeys: libcrypto's parser refuses what is not an
// RSA private key of the announced size, without leaving an OpenSSL key
// behind or failing later calls.
func TestLibcryptoRefusesBadKeys(t *testing.T) {
	b := openSSLOrSkip(t, RSASignerAuto)
	lib, _ := b.load()
	k := testRSAKeys(t)["2048-0"]
	good := x509.MarshalPKCS1PrivateKey(k)
	for _, tc := range []struct {
		name string
		der  []byte
		size int
	}{
		{"empty", nil, 256},
		{"garbage", []byte("not a key at all"), 256},
		{"truncated", good[:len(good)/2], 256},
		{"wrong size", good, 384},
	} {
		if _, err := lib.parse(tc.der, tc.size); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	if _, err := lib.parse(good, 256); err != nil {
		t.Fatalf("a good key after refusals: %v", err)
	}
}

// TestLibcryptoTooOld: a library with every function but an OpenSSL
// version before 3.0 (a stub built here with the C compiler cgo uses) is
// not used: it is refused, and crypto/rsa is what the backend reports.
func TestLibcryptoTooOld(t *testing.T) {
	cc := strings.Fields(goEnv(t, "CC"))
	if len(cc) == 0 {
		t.Skip("no C compiler")
	}
	dir := t.TempDir()
	var src strings.Builder
	src.WriteString("unsigned long OpenSSL_version_num(void) { return 0x1010117fUL; }\n")
	for _, name := range []string{"d2i_PrivateKey", "EVP_PKEY_get_base_id", "EVP_PKEY_get_size",
		"EVP_PKEY_free", "EVP_PKEY_CTX_new", "EVP_PKEY_CTX_free", "EVP_PKEY_sign_init",
		"EVP_PKEY_CTX_set_rsa_padding", "EVP_PKEY_CTX_set_signature_md", "EVP_sha256",
		"EVP_PKEY_sign", "ERR_clear_error"} {
		fmt.Fprintf(&src, "void %s(void) {}\n", name)
	}
	c, so := filepath.Join(dir, "old.c"), filepath.Join(dir, "libcrypto-old.so")
	if err := os.WriteFile(c, []byte(src.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append(cc[1:], "-shared", "-fPIC", "-o", so, c)
	if out, err := exec.Command(cc[0], args...).CombinedOutput(); err != nil {
		t.Skipf("cannot build a stub library: %v\n%s", err, out)
	}
	// RSASignerOpenSSL: auto does not load libcrypto at all in a build
	// that uses the toolchain's validated module.
	b, err := newRSABackend(RSASignerOpenSSL, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	b.soname = so
	if _, err := b.load(); err == nil || !strings.Contains(err.Error(), "not 3.x") {
		t.Fatalf("a 1.1.1 library loads: %v", err)
	}
	if got := b.implementation(); got != implGo {
		t.Fatalf("implementation %q", got)
	}
}

// goEnv returns `go env name`.
func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Skipf("go env: %v", err)
	}
	return strings.TrimSpace(string(out))
}
