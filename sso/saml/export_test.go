package saml

import (
	"crypto/rsa"
	"crypto/x509"
)

// IdPKeyPairForExample exposes a test IdP key pair to the external example.
func IdPKeyPairForExample() (*rsa.PrivateKey, *x509.Certificate) {
	kp := idpKeys()
	return kp.key, kp.cert
}
