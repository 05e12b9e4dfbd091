package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// TxStore is a Store kept in an identity store, whose writes can join a
// transaction of that store: a face writes a blob and the record that
// points to it in one commit.
type TxStore interface {
	Store
	// IdentityStore returns the store the blobs live in; PutTx and
	// DeleteTx must only be given transactions of that store.
	IdentityStore() identity.Store
	// PutTx is Put inside tx. r is consumed: when the store may run the
	// transaction again, hand each run a fresh reader.
	PutTx(tx identity.Tx, key string, r io.Reader, size int64) error
	// DeleteTx is Delete inside tx.
	DeleteTx(tx identity.Tx, key string) error
}

// KV keeps blobs in an identity store, in the chunked layout of the core's
// blobs. A key whose first segment is an environment ("sandbox", "production")
// is stored in that environment's space, as the identity core keeps its
// per-environment data; other keys go to the account-wide space.
//
// Put writes the whole blob in one transaction; Get reads one chunk per
// transaction, so a download holds 256 KiB at a time and never blocks
// writers for long. Blobs are written once under fresh keys by the
// Crafter face; a blob replaced or deleted while it is being read fails
// the read with io.ErrUnexpectedEOF rather than mixing versions.
type KV struct {
	st identity.Store
}

var _ TxStore = (*KV)(nil)

// NewKV returns a KV over st.
func NewKV(st identity.Store) *KV { return &KV{st: st} }

// IdentityStore returns the store the blobs live in.
func (k *KV) IdentityStore() identity.Store { return k.st }

// split maps a key to the identity core's environment and blob id.
func split(key string) (identity.Environment, string, error) {
	if err := CheckKey(key); err != nil {
		return "", "", err
	}
	if first, rest, ok := strings.Cut(key, "/"); ok {
		if env, err := identity.ParseEnvironment(first); err == nil && string(env) == first {
			return env, rest, nil
		}
	}
	return "", key, nil
}

func kvErr(key string, err error) error {
	switch {
	case errors.Is(err, identity.ErrNotFound):
		return fmt.Errorf("%w: %s", ErrNotFound, key)
	case errors.Is(err, identity.ErrInvalid):
		return fmt.Errorf("%w: %s: %w", ErrSize, key, err)
	}
	return err
}

// PutTx stores a blob inside tx.
func (k *KV) PutTx(tx identity.Tx, key string, r io.Reader, size int64) error {
	env, id, err := split(key)
	if err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("%w: negative size %d", ErrSize, size)
	}
	return kvErr(key, kv.PutBlob(tx, string(env), id, r, size))
}

// DeleteTx deletes a blob inside tx.
func (k *KV) DeleteTx(tx identity.Tx, key string) error {
	env, id, err := split(key)
	if err != nil {
		return err
	}
	return kv.DeleteBlob(tx, string(env), id)
}

// Put stores a blob in one transaction. A reader that is not an
// io.Seeker is read into memory first (at most size+1 bytes), since the
// store may run the transaction more than once.
func (k *KV) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if _, _, err := split(key); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("%w: negative size %d", ErrSize, size)
	}
	rs, ok := r.(io.ReadSeeker)
	if !ok {
		b, err := io.ReadAll(io.LimitReader(r, size+1))
		if err != nil {
			return fmt.Errorf("blob: read %s: %w", key, err)
		}
		rs = bytes.NewReader(b)
	}
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("blob: seek %s: %w", key, err)
	}
	return k.st.Update(ctx, func(tx identity.Tx) error {
		if _, err := rs.Seek(start, io.SeekStart); err != nil {
			return fmt.Errorf("blob: seek %s: %w", key, err)
		}
		return k.PutTx(tx, key, rs, size)
	})
}

// Get opens a blob; the reader fetches one chunk per read transaction, in
// ctx.
func (k *KV) Get(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	env, id, err := split(key)
	if err != nil {
		return nil, 0, err
	}
	var size int64
	var chunks int
	err = k.st.View(ctx, func(tx identity.ReadTx) (err error) {
		size, chunks, err = kv.BlobSize(tx, string(env), id)
		return err
	})
	if err != nil {
		return nil, 0, kvErr(key, err)
	}
	return &kvReader{ctx: ctx, st: k.st, env: env, id: id, size: size, chunks: chunks}, size, nil
}

// Delete removes a blob.
func (k *KV) Delete(ctx context.Context, key string) error {
	env, id, err := split(key)
	if err != nil {
		return err
	}
	return k.st.Update(ctx, func(tx identity.Tx) error { return kv.DeleteBlob(tx, string(env), id) })
}

type kvReader struct {
	ctx    context.Context
	st     identity.Store
	env    identity.Environment
	id     string
	size   int64
	chunks int
	next   int
	read   int64
	buf    []byte
	closed bool
}

func (r *kvReader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, errors.New("blob: read after close")
	}
	for len(r.buf) == 0 {
		if r.next >= r.chunks {
			if r.read != r.size {
				return 0, fmt.Errorf("blob %s: %d of %d bytes: %w", r.id, r.read, r.size, io.ErrUnexpectedEOF)
			}
			return 0, io.EOF
		}
		err := r.st.View(r.ctx, func(tx identity.ReadTx) (err error) {
			r.buf, err = kv.BlobChunk(tx, string(r.env), r.id, r.next)
			return err
		})
		if errors.Is(err, identity.ErrNotFound) {
			return 0, fmt.Errorf("blob %s: removed while reading: %w", r.id, io.ErrUnexpectedEOF)
		}
		if err != nil {
			return 0, err
		}
		r.next++
		r.read += int64(len(r.buf))
		if r.read > r.size {
			return 0, fmt.Errorf("blob %s: replaced while reading: %w", r.id, io.ErrUnexpectedEOF)
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *kvReader) Close() error {
	r.closed, r.buf = true, nil
	return nil
}
