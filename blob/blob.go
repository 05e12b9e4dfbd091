// Package blob stores opaque byte strings (profile attachments) under
// string keys, behind a small interface with two implementations:
//
//   - KV keeps blobs in the identity store itself (bolt, memory, PostgreSQL),
//     in 256 KiB chunks. It is the default of the Crafter face: its writes
//     can join the transaction that writes an attachment's metadata
//     (TxStore), so the two commit together, and reads stream a chunk at a
//     time.
//   - Dir keeps one file per blob in a directory, written to a temporary
//     file and renamed into place, so a reader never sees half a blob. It
//     is the example of a pluggable backend (an object store would follow
//     the same pattern).
//
// Keys are one or more '/'-separated segments of ASCII letters, digits,
// '.', '_' and '-'; no segment is empty, starts with '.', or exceeds 128
// bytes, and a key is at most 512 bytes (CheckKey). Any backend can
// therefore map a key to a path without escaping its root.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrNotFound is wrapped by Get when no blob has the key.
var ErrNotFound = errors.New("blob: not found")

// ErrInvalidKey is wrapped when a key breaks the rules of CheckKey.
var ErrInvalidKey = errors.New("blob: invalid key")

// ErrSize is wrapped by Put when the reader yields another number of
// bytes than announced.
var ErrSize = errors.New("blob: size mismatch")

// Store keeps blobs. Implementations are safe for concurrent use.
type Store interface {
	// Put stores the size bytes that r yields under key, replacing any
	// blob of that key. A reader yielding another number of bytes fails
	// with ErrSize and stores nothing; a concurrent Get sees the old blob
	// or the new one, never a part.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Get opens the blob under key and returns its size; a missing blob is
	// an error wrapping ErrNotFound. The caller closes the reader, which
	// may read lazily (in ctx) rather than hold the blob in memory.
	Get(ctx context.Context, key string) (io.ReadCloser, int64, error)
	// Delete removes the blob under key; a missing blob is not an error.
	Delete(ctx context.Context, key string) error
}

// CheckKey returns an error wrapping ErrInvalidKey unless key follows the
// rules in the package documentation.
func CheckKey(key string) error {
	if key == "" || len(key) > 512 {
		return fmt.Errorf("%w: length %d (1 to 512)", ErrInvalidKey, len(key))
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg[0] == '.' || len(seg) > 128 {
			return fmt.Errorf("%w: %q: empty, dot-prefixed or over-long segment", ErrInvalidKey, key)
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
				return fmt.Errorf("%w: %q: byte %#x not allowed", ErrInvalidKey, key, c)
			}
		}
	}
	return nil
}
