//go:build !boringcrypto

package tokens

// boringModule reports whether the toolchain's BoringCrypto module handles
// the process's cryptography: never in a build without boringcrypto.
func boringModule() bool { return false }
