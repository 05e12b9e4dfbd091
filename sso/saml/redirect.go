package saml

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
)

// errInflateLimit is returned by inflateBounded for output over its limit.
var errInflateLimit = errors.New("inflated message over the size limit")

// inflateBounded inflates raw DEFLATE data (HTTP-Redirect binding) and
// stops as soon as the output would exceed limit bytes, so a deflate bomb
// (CVE-2023-28119) costs at most limit+1 bytes of memory and the CPU to
// produce them.
func inflateBounded(data []byte, limit int) ([]byte, error) {
	r := flate.NewReader(bytes.NewReader(data))
	defer func() { _ = r.Close() }()
	out, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("inflate: %w", err)
	}
	if len(out) > limit {
		return nil, errInflateLimit
	}
	return out, nil
}
