package tokens

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// TestCompactMatchesGoJose: the token writer produces the protected header
// go-jose wrote before it (byte for byte), and signatures that go-jose
// verifies with the public key, for every algorithm; a key of the wrong
// type for the algorithm is refused.
func TestCompactMatchesGoJose(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	const iss = "https://auth.example.com/t/acme-<&>"
	payload := []byte(`{"sub":"u","iss":"` + iss + `","n":1}`)
	tests := []struct {
		alg    string
		priv   crypto.Signer
		sigLen int
	}{
		{ES256, ec, 64},
		{RS256, rk, 256},
		{EdDSA, ed, 64},
	}
	for _, tc := range tests {
		t.Run(tc.alg, func(t *testing.T) {
			sk, err := newSigningKey(tc.priv, "kid-1", tc.alg, iss, nil)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := sk.compact(payload)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := newJoseSigner(tc.priv, "kid-1", tc.alg, iss)
			if err != nil {
				t.Fatal(err)
			}
			obj, err := ref.Sign(payload)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := obj.CompactSerialize()
			parts, wantParts := strings.Split(tok, "."), strings.Split(want, ".")
			if len(parts) != 3 || parts[0] != wantParts[0] || parts[1] != wantParts[1] {
				t.Fatalf("header or payload differ from go-jose's:\n%s\n%s", tok, want)
			}
			sig, err := base64.RawURLEncoding.DecodeString(parts[2])
			if err != nil || len(sig) != tc.sigLen {
				t.Fatalf("signature: %d bytes, %v", len(sig), err)
			}
			jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(tc.alg)})
			if err != nil {
				t.Fatal(err)
			}
			got, err := jws.Verify(tc.priv.Public())
			if err != nil || string(got) != string(payload) {
				t.Fatalf("go-jose does not verify it: %v", err)
			}
			// A changed payload does not verify.
			forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"v"}`)) + "." + parts[2]
			if jws, err := jose.ParseSignedCompact(forged, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(tc.alg)}); err == nil {
				if _, err := jws.Verify(tc.priv.Public()); err == nil {
					t.Fatal("a changed payload verifies")
				}
			}
		})
	}
	for _, bad := range []struct {
		alg  string
		priv crypto.Signer
	}{{ES256, rk}, {RS256, ed}, {EdDSA, ec}, {"HS256", ec}} {
		if _, err := newSigningKey(bad.priv, "k", bad.alg, iss, nil); err == nil {
			t.Errorf("%s accepted a %T", bad.alg, bad.priv)
		}
	}
}
