package blob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
)

// Dir keeps each blob in a file under a root directory: the key is the
// file's relative path (CheckKey guarantees it stays beneath the root, and
// every access goes through an os.Root, which refuses to leave it even
// through symbolic links). Put writes a temporary file, syncs it and
// renames it over the key, so readers and crashes see the old blob or the
// new one. Temporary files start with '.', which no key may, so they
// never collide with blobs.
type Dir struct {
	root *os.Root
}

var _ Store = (*Dir)(nil)

// NewDir opens (creating it with mode 0700 if needed) the directory dir.
// Close releases it.
func NewDir(dir string) (*Dir, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("blob: create %s: %w", dir, err)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("blob: open %s: %w", dir, err)
	}
	return &Dir{root: r}, nil
}

// Close releases the directory.
func (d *Dir) Close() error { return d.root.Close() }

// ctxReader fails reads once ctx ends, so a long copy stops.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Put writes the blob to a temporary file and renames it into place.
func (d *Dir) Put(ctx context.Context, key string, r io.Reader, size int64) (err error) {
	if err := CheckKey(key); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("%w: negative size %d", ErrSize, size)
	}
	parent := path.Dir(key)
	if err := d.root.MkdirAll(parent, 0o700); err != nil {
		return fmt.Errorf("blob: create directory for %s: %w", key, err)
	}
	var rnd [12]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	tmp := path.Join(parent, ".tmp-"+hex.EncodeToString(rnd[:]))
	f, err := d.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("blob: create %s: %w", key, err)
	}
	defer func() {
		if f != nil {
			_ = f.Close()
		}
		if err != nil {
			_ = d.root.Remove(tmp)
		}
	}()
	n, err := io.Copy(f, io.LimitReader(ctxReader{ctx, r}, size+1))
	if err != nil {
		return fmt.Errorf("blob: write %s: %w", key, err)
	}
	if n != size {
		return fmt.Errorf("%w: %s: reader yields %d bytes, want %d", ErrSize, key, n, size)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("blob: sync %s: %w", key, err)
	}
	cerr := f.Close()
	f = nil
	if cerr != nil {
		return fmt.Errorf("blob: close %s: %w", key, cerr)
	}
	if err := d.root.Rename(tmp, key); err != nil {
		return fmt.Errorf("blob: rename into %s: %w", key, err)
	}
	// Make the rename durable.
	if pd, err := d.root.Open(parent); err == nil {
		_ = pd.Sync()
		_ = pd.Close()
	}
	return nil
}

// Get opens the blob's file; reads stream from disk.
func (d *Dir) Get(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	if err := CheckKey(key); err != nil {
		return nil, 0, err
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	f, err := d.root.Open(key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("blob: open %s: %w", key, err)
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		_ = f.Close()
		if err == nil {
			err = fmt.Errorf("%w: %s is not a regular file", ErrNotFound, key)
		}
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// Delete removes the blob's file.
func (d *Dir) Delete(ctx context.Context, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err := d.root.Remove(key)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return fmt.Errorf("blob: delete %s: %w", key, err)
}
