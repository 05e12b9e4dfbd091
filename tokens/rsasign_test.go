package tokens

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
)

// TestRSASigner: the RS256 signer of this build (crypto/rsa, or OpenSSL
// with -tags gatehouse_openssl) writes, from any number of goroutines at
// once, exactly crypto/rsa's RSASSA-PKCS1-v1_5 signatures, so a token does
// not depend on the build that signed it.
func TestRSASigner(t *testing.T) {
	t.Logf("RS256 signed by %s", rsaImplementation)
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sign, err := newRSASigner(k)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 8 {
				d := sha256.Sum256(fmt.Appendf(nil, "token %d/%d", g, i))
				got, err := sign(d[:])
				if err != nil {
					errs <- err
					return
				}
				want, _ := rsa.SignPKCS1v15(nil, k, crypto.SHA256, d[:])
				if !bytes.Equal(got, want) {
					errs <- fmt.Errorf("signature %d/%d differs from crypto/rsa's", g, i)
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
		t.Error(err)
	}
}
