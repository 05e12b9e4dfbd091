package tokens

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealUnseal(t *testing.T) {
	kek := bytes.Repeat([]byte{7}, 32)
	other := bytes.Repeat([]byte{8}, 32)
	plain := []byte("private key bytes")
	sealed, err := Seal(kek, plain, []byte("aad-1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, plain) {
		t.Fatal("sealed value holds the plaintext")
	}
	again, _ := Seal(kek, plain, []byte("aad-1"))
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals of the same value are equal (nonce reused)")
	}
	got, err := Unseal(kek, sealed, []byte("aad-1"))
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Unseal = %q, %v", got, err)
	}
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	cases := []struct {
		name      string
		kek, data []byte
		aad       string
		want      error
	}{
		{"wrong aad", kek, sealed, "aad-2", ErrSealedKey},
		{"wrong key", other, sealed, "aad-1", ErrSealedKey},
		{"no key", nil, sealed, "aad-1", ErrSealedKey},
		{"tampered", kek, tampered, "aad-1", ErrSealedKey},
		{"truncated", kek, sealed[:5], "aad-1", ErrSealedKey},
		{"short key", kek[:16], sealed, "aad-1", ErrKeyEncryptionKeySize},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Unseal(c.kek, c.data, []byte(c.aad)); !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
		})
	}
	if _, err := Seal(kek[:16], plain, nil); !errors.Is(err, ErrKeyEncryptionKeySize) {
		t.Fatalf("Seal with a 16-byte key: %v", err)
	}
}
