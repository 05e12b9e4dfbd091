//go:build boringcrypto

package tokens

import "crypto/boring"

// boringModule reports whether the toolchain's BoringCrypto module handles
// the process's cryptography (a GOEXPERIMENT=boringcrypto build).
func boringModule() bool { return boring.Enabled() }
