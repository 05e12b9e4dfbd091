//go:build gatehouse_openssl && !cgo

package tokens

// The gatehouse_openssl tag signs RS256 with OpenSSL through cgo: a build
// with CGO_ENABLED=0 stops here, on this undefined name, rather than sign
// with crypto/rsa behind the operator's back.
var _ = theGatehouseOpensslTagNeedsCgo
