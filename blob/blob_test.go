package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/gatehouse-id/gatehouse/blob"
	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

func stores(t *testing.T) map[string]blob.Store {
	t.Helper()
	d, err := blob.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return map[string]blob.Store{"kv": blob.NewKV(memory.New()), "dir": d}
}

func get(t *testing.T, s blob.Store, key string) ([]byte, error) {
	t.Helper()
	rc, size, err := s.Get(context.Background(), key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err == nil && int64(len(b)) != size {
		t.Fatalf("%s: Get said %d bytes, read %d", key, size, len(b))
	}
	return b, err
}

func TestStores(t *testing.T) {
	ctx := context.Background()
	big := make([]byte, 700<<10) // three KV chunks
	for i := range big {
		big[i] = byte(i * 13)
	}
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			if _, err := get(t, s, "production/missing"); !errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("missing blob: %v, want ErrNotFound", err)
			}
			if err := s.Put(ctx, "production/a1", bytes.NewReader(big), int64(len(big))); err != nil {
				t.Fatal(err)
			}
			if b, err := get(t, s, "production/a1"); err != nil || !bytes.Equal(b, big) {
				t.Fatalf("read back %d bytes, %v", len(b), err)
			}
			// A non-seekable reader in small reads works too.
			if err := s.Put(ctx, "k", iotest.OneByteReader(strings.NewReader("hello")), 5); err != nil {
				t.Fatal(err)
			}
			if b, err := get(t, s, "k"); err != nil || string(b) != "hello" {
				t.Fatalf("non-seekable: %q %v", b, err)
			}
			// Replace.
			if err := s.Put(ctx, "production/a1", strings.NewReader("abc"), 3); err != nil {
				t.Fatal(err)
			}
			if b, err := get(t, s, "production/a1"); err != nil || string(b) != "abc" {
				t.Fatalf("after replace: %q %v", b, err)
			}
			// Wrong sizes fail with ErrSize and keep the old blob.
			for _, size := range []int64{2, 4, -1} {
				if err := s.Put(ctx, "production/a1", strings.NewReader("xyz"), size); !errors.Is(err, blob.ErrSize) {
					t.Fatalf("size %d: %v, want ErrSize", size, err)
				}
				if b, err := get(t, s, "production/a1"); err != nil || string(b) != "abc" {
					t.Fatalf("size %d: old blob now %q %v", size, b, err)
				}
			}
			// A failing reader stores nothing.
			if err := s.Put(ctx, "production/a2", iotest.ErrReader(errors.New("disk on fire")), 10); err == nil {
				t.Fatal("failing reader accepted")
			}
			if _, err := get(t, s, "production/a2"); !errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("failed put left a blob: %v", err)
			}
			// Empty blob.
			if err := s.Put(ctx, "empty", strings.NewReader(""), 0); err != nil {
				t.Fatal(err)
			}
			if b, err := get(t, s, "empty"); err != nil || len(b) != 0 {
				t.Fatalf("empty: %q %v", b, err)
			}
			// Delete, twice.
			for i := 0; i < 2; i++ {
				if err := s.Delete(ctx, "production/a1"); err != nil {
					t.Fatalf("delete %d: %v", i, err)
				}
			}
			if _, err := get(t, s, "production/a1"); !errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("deleted blob: %v", err)
			}
		})
	}
}

func TestKeysRefused(t *testing.T) {
	ctx := context.Background()
	bad := []string{"", "../etc/passwd", "a/../../b", "/abs", "a//b", "a/", ".hidden", "a/.tmp-x", "a\\b",
		"a\x00b", "ünï", "a b", "C:x", strings.Repeat("a", 129), strings.Repeat("a/", 256) + "a", ".", ".."}
	for name, s := range stores(t) {
		for _, k := range bad {
			if err := s.Put(ctx, k, strings.NewReader("x"), 1); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("%s: Put(%q) = %v, want ErrInvalidKey", name, k, err)
			}
			if _, _, err := s.Get(ctx, k); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("%s: Get(%q) = %v, want ErrInvalidKey", name, k, err)
			}
			if err := s.Delete(ctx, k); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("%s: Delete(%q) = %v, want ErrInvalidKey", name, k, err)
			}
		}
	}
	for _, k := range []string{"a", "production/0190-ab_c.d", strings.Repeat("b", 128)} {
		if err := blob.CheckKey(k); err != nil {
			t.Errorf("CheckKey(%q) = %v", k, err)
		}
	}
}

func TestDirStaysInsideRoot(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
	if err := os.MkdirAll(outside, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := blob.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// A symbolic link planted in the root cannot lead out of it.
	if err := os.Symlink(outside, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Get(ctx, "link/secret"); err == nil {
		t.Fatal("read through a symlink out of the root")
	}
	if err := d.Put(ctx, "link/planted", strings.NewReader("x"), 1); err == nil {
		t.Fatal("wrote through a symlink out of the root")
	}
	if _, err := os.Stat(filepath.Join(outside, "planted")); err == nil {
		t.Fatal("file created outside the root")
	}
	// Failed and cancelled writes leave no temporary file.
	_ = d.Put(ctx, "p/a", strings.NewReader("abc"), 5)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := d.Put(cctx, "p/b", strings.NewReader("abc"), 3); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled put: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Join(root, "p"))
	if len(ents) != 0 {
		t.Fatalf("left behind: %v", ents)
	}
}

func TestKVStreamsAndJoinsTransactions(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	kvs := blob.NewKV(st)
	data := bytes.Repeat([]byte("0123456789abcdef"), 48<<10) // 768 KiB: three chunks
	// PutTx commits with the transaction, or not at all.
	boom := errors.New("metadata refused")
	err := st.Update(ctx, func(tx identity.Tx) error {
		if err := kvs.PutTx(tx, "production/x", bytes.NewReader(data), int64(len(data))); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, _, err := kvs.Get(ctx, "production/x"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("blob of a rolled-back transaction: %v", err)
	}
	if err := st.Update(ctx, func(tx identity.Tx) error {
		return kvs.PutTx(tx, "production/x", bytes.NewReader(data), int64(len(data)))
	}); err != nil {
		t.Fatal(err)
	}
	// The environment prefix selects the identity core's space.
	_ = st.View(ctx, func(tx identity.ReadTx) error {
		if n, chunks, err := kv.BlobSize(tx, string(identity.Production), "x"); err != nil || n != int64(len(data)) || chunks != 3 {
			t.Fatalf("identity layout: %d bytes in %d chunks, %v", n, chunks, err)
		}
		return nil
	})
	// Reads stream: a blob deleted after the first chunk fails the read
	// instead of returning a short body as complete.
	rc, size, err := kvs.Get(ctx, "production/x")
	if err != nil || size != int64(len(data)) {
		t.Fatal(size, err)
	}
	first := make([]byte, 1000)
	if _, err := io.ReadFull(rc, first); err != nil {
		t.Fatal(err)
	}
	if err := st.Update(ctx, func(tx identity.Tx) error { return kvs.DeleteTx(tx, "production/x") }); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(rc); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read of a deleted blob: %v, want ErrUnexpectedEOF", err)
	}
	rc.Close()
	if kvs.IdentityStore() != st {
		t.Fatal("IdentityStore is not the store given")
	}
}
