package tokens

// RS256 signatures go through an rsaSigner made once per signing key
// (newRSASigner). The standard build signs with crypto/rsa; a build with
// the gatehouse_openssl tag (cgo, OpenSSL 3's libcrypto) signs with
// OpenSSL, which is three to four times faster per signature on amd64.
// RSASSA-PKCS1-v1_5 is deterministic: both give the same bytes for the
// same key and digest, so the tokens do not change.

// rsaSigner signs a SHA-256 digest with RSASSA-PKCS1-v1_5 (RFC 8017
// §8.2) under one private key. It is safe for concurrent use.
type rsaSigner func(digest []byte) ([]byte, error)
