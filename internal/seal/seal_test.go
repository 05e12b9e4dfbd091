package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"strings"
	"testing"
)

func testKEK(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func TestSealOpen(t *testing.T) {
	key, err := Derive(testKEK(1), "test/seal/v1")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := Derive(testKEK(2), "test/seal/v1")
	plain, aad := []byte("the master secret"), []byte("credential\x00production\x00id1")
	sealed, err := Seal(key, plain, aad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, plain) {
		t.Fatal("sealed value contains the plaintext")
	}
	again, _ := Seal(key, plain, aad)
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals of one value are equal: the nonce must be random")
	}
	if got, err := Open(key, sealed, aad); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	flipped := append([]byte(nil), sealed...)
	flipped[len(flipped)-1] ^= 1
	tests := []struct {
		name        string
		key, s, aad []byte
	}{
		{"other key", other, sealed, aad},
		{"other aad", key, sealed, []byte("credential\x00sandbox\x00id1")},
		{"tampered", key, flipped, aad},
		{"truncated", key, sealed[:10], aad},
		{"empty", key, nil, aad},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Open(tc.key, tc.s, tc.aad); !errors.Is(err, ErrOpen) {
				t.Fatalf("Open = %v, want ErrOpen", err)
			}
		})
	}
	if _, err := Seal([]byte("short"), plain, aad); !errors.Is(err, ErrKeySize) {
		t.Fatalf("Seal with a short key = %v", err)
	}
	if _, err := Open(nil, sealed, aad); !errors.Is(err, ErrKeySize) {
		t.Fatalf("Open with no key = %v", err)
	}
}

// TestFormatMatchesTokens: a value sealed here opens as nonce || ciphertext
// with a plain AES-GCM, the format package tokens uses for signing keys.
func TestFormatMatchesTokens(t *testing.T) {
	key := testKEK(7)
	sealed, err := Seal(key, []byte("pkcs8"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(key)
	g, _ := cipher.NewGCM(block)
	plain, err := g.Open(nil, sealed[:g.NonceSize()], sealed[g.NonceSize():], []byte("aad"))
	if err != nil || string(plain) != "pkcs8" {
		t.Fatalf("plain GCM open = %q, %v", plain, err)
	}
	nonce := bytes.Repeat([]byte{9}, g.NonceSize())
	old := g.Seal(append([]byte(nil), nonce...), nonce, []byte("old"), []byte("aad"))
	if got, err := Open(key, old, []byte("aad")); err != nil || string(got) != "old" {
		t.Fatalf("Open of a tokens-format value = %q, %v", got, err)
	}
}

func TestDerive(t *testing.T) {
	a, _ := Derive(testKEK(1), "a")
	a2, _ := Derive(testKEK(1), "a")
	b, _ := Derive(testKEK(1), "b")
	c, _ := Derive(testKEK(2), "a")
	if !bytes.Equal(a, a2) || bytes.Equal(a, b) || bytes.Equal(a, c) || bytes.Equal(a, testKEK(1)) || len(a) != KeySize {
		t.Fatal("Derive must be deterministic per (kek, purpose), distinct otherwise, and never the kek")
	}
	if _, err := Derive([]byte("short"), "a"); !errors.Is(err, ErrKeySize) {
		t.Fatalf("Derive(short) = %v", err)
	}
	if _, err := Derive(testKEK(1), ""); err == nil {
		t.Fatal("Derive without a purpose must fail")
	}
}

func TestMAC(t *testing.T) {
	k1, _ := Derive(testKEK(1), "lookup")
	k2, _ := Derive(testKEK(2), "lookup")
	m := MAC(k1, "secret")
	if len(m) != 64 || strings.Contains(m, "secret") || m != MAC(k1, "secret") || m == MAC(k2, "secret") || m == MAC(k1, "secreT") {
		t.Fatalf("MAC = %q", m)
	}
	if !Equal(m, MAC(k1, "secret")) || Equal(m, MAC(k2, "secret")) {
		t.Fatal("Equal")
	}
}

func TestParseKey(t *testing.T) {
	k, err := NewKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	enc := EncodeKey(k)
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"std", enc, true},
		{"std with newline", enc + "\n", true},
		{"raw url", strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(enc), "="), true},
		{"16 bytes", EncodeKey(k[:16]), false},
		{"not base64", "not base64 at all!", false},
		{"empty", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseKey(tc.in)
			if tc.ok != (err == nil) {
				t.Fatalf("ParseKey = %v", err)
			}
			if tc.ok && !bytes.Equal(got, k) {
				t.Fatal("ParseKey returned another key")
			}
			if err != nil && tc.in != "" && strings.Contains(err.Error(), tc.in) {
				t.Fatal("the error repeats the key")
			}
		})
	}
}

// TestRandomNonceGCM: the construction a BoringCrypto build uses
// (randomNonceGCM over cipher.NewGCM) writes and reads exactly what
// cipher.NewGCMWithRandomNonce does, and refuses what it refuses.
func TestRandomNonceGCM(t *testing.T) {
	key := testKEK(3)
	block, _ := aes.NewCipher(key)
	std, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		// A BoringCrypto build: Seal and Open use randomNonceGCM, which
		// TestSealOpen and TestFormatMatchesTokens check there.
		t.Skipf("no NewGCMWithRandomNonce in this build: %v", err)
	}
	g, _ := cipher.NewGCM(block)
	alt := randomNonceGCM{g}
	if alt.NonceSize() != std.NonceSize() || alt.Overhead() != std.Overhead() {
		t.Fatalf("sizes: nonce %d overhead %d, want %d %d", alt.NonceSize(), alt.Overhead(), std.NonceSize(), std.Overhead())
	}
	aad := []byte("aad")
	for _, plain := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("k"), 1000)} {
		a := alt.Seal([]byte("prefix"), nil, plain, aad)
		if !bytes.HasPrefix(a, []byte("prefix")) || len(a) != len("prefix")+len(plain)+std.Overhead() {
			t.Fatalf("Seal appended %d bytes to the prefix, want %d", len(a)-len("prefix"), len(plain)+std.Overhead())
		}
		if got, err := std.Open(nil, nil, a[len("prefix"):], aad); err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("NewGCMWithRandomNonce opens randomNonceGCM's value: %q, %v", got, err)
		}
		s := std.Seal(nil, nil, plain, aad)
		if got, err := alt.Open(nil, nil, s, aad); err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("randomNonceGCM opens NewGCMWithRandomNonce's value: %q, %v", got, err)
		}
		if _, err := alt.Open(nil, nil, s, []byte("other")); err == nil {
			t.Fatal("randomNonceGCM opened a value under other additional data")
		}
		if _, err := alt.Open(nil, nil, s[:alt.Overhead()-1], aad); err == nil {
			t.Fatal("randomNonceGCM opened a truncated value")
		}
	}
	if bytes.Equal(alt.Seal(nil, nil, []byte("v"), aad), alt.Seal(nil, nil, []byte("v"), aad)) {
		t.Fatal("two seals of one value are equal: the nonce must be random")
	}
}
