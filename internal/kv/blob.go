package kv

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Blobs: bytes kept in this store in chunks under a blob id, so a large file
// never becomes one huge store value and can be read a chunk at a time
// (package blob's KV store and profile attachments use them).

const blobChunk = 256 << 10

// blobHeaderKey holds a blob's size and chunk count; it sorts outside the
// chunk prefix (which ends with a separator).
func blobHeaderKey(env string, id string) []byte {
	return Key(NSRecord, EnvPart(env), "blob", id)
}

func blobKey(env string, id string, chunk int) []byte {
	return Key(NSRecord, EnvPart(env), "blob", id, fmt.Sprintf("%08d", chunk))
}

func blobPrefix(env string, id string) []byte {
	return append(Key(NSRecord, EnvPart(env), "blob", id), Sep)
}

// blobHeader is the value of a blob's header key.
type blobHeader struct {
	Size   int64 `json:"size"`
	Chunks int   `json:"chunks"`
}

// PutBlob stores the bytes r yields (which must be exactly size) as the
// blob id of env (an environment's name, "" for the account-wide space), in chunks of 256 KiB,
// replacing any blob of that id. r is consumed: a caller whose transaction
// may run again must hand each run a fresh reader.
func PutBlob(tx Tx, env string, id string, r io.Reader, size int64) error {
	if err := CheckParts(id); err != nil || id == "" {
		return fmt.Errorf("blob: id must be non-empty, without control bytes 0x00 or 0x01: %w", ErrInvalid)
	}
	if size < 0 {
		return fmt.Errorf("blob: size must not be negative: %w", ErrInvalid)
	}
	if err := DeleteBlob(tx, env, id); err != nil {
		return err
	}
	var n int64
	chunks := 0
	for {
		buf := make([]byte, min(int64(blobChunk), size-n+1))
		k, err := io.ReadFull(r, buf)
		if k > 0 {
			n += int64(k)
			if n > size {
				return fmt.Errorf("blob %s: reader yields more than %d bytes: %w", id, size, ErrInvalid)
			}
			if err := tx.Put(blobKey(env, id, chunks), buf[:k]); err != nil {
				return err
			}
			chunks++
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("blob %s: read: %w", id, err)
		}
	}
	if n != size {
		return fmt.Errorf("blob %s: reader yields %d bytes, want %d: %w", id, n, size, ErrInvalid)
	}
	raw, err := json.Marshal(blobHeader{Size: n, Chunks: chunks})
	if err != nil {
		return err
	}
	return tx.Put(blobHeaderKey(env, id), raw)
}

// BlobSize returns the size and chunk count of a blob, or an error
// wrapping ErrNotFound. Blobs written before headers existed are measured
// by scanning their chunks.
func BlobSize(tx ReadTx, env string, id string) (size int64, chunks int, err error) {
	if CheckParts(id) != nil || id == "" {
		return 0, 0, fmt.Errorf("blob %w", ErrNotFound)
	}
	raw, err := tx.Get(blobHeaderKey(env, id))
	if err == nil {
		var h blobHeader
		if err := json.Unmarshal(raw, &h); err != nil {
			return 0, 0, fmt.Errorf("decode blob header: %w", err)
		}
		return h.Size, h.Chunks, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return 0, 0, err
	}
	err = tx.Scan(blobPrefix(env, id), ScanOptions{}, func(_, v []byte) error {
		size += int64(len(v))
		chunks++
		return nil
	})
	if err == nil && chunks == 0 {
		err = fmt.Errorf("blob %w", ErrNotFound)
	}
	return size, chunks, err
}

// BlobChunk returns a copy of chunk i of a blob, or an error wrapping
// ErrNotFound.
func BlobChunk(tx ReadTx, env string, id string, i int) ([]byte, error) {
	if CheckParts(id) != nil || id == "" || i < 0 {
		return nil, fmt.Errorf("blob chunk %w", ErrNotFound)
	}
	v, err := tx.Get(blobKey(env, id, i))
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("blob chunk %w", ErrNotFound)
		}
		return nil, err
	}
	return append([]byte(nil), v...), nil
}

// DeleteBlob removes a blob (silently if absent).
func DeleteBlob(tx Tx, env string, id string) error {
	if CheckParts(id) != nil || id == "" {
		return nil
	}
	var keys [][]byte
	if err := tx.Scan(blobPrefix(env, id), ScanOptions{KeysOnly: true}, func(k, _ []byte) error {
		keys = append(keys, append([]byte(nil), k...))
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return tx.Delete(blobHeaderKey(env, id))
}
