package blob_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gatehouse-id/gatehouse/blob"
)

// A Dir keeps one file per key; Get streams it back.
func ExampleDir() {
	dir, _ := os.MkdirTemp("", "blobs")
	defer os.RemoveAll(dir)
	store, err := blob.NewDir(dir)
	if err != nil {
		panic(err)
	}
	defer store.Close()
	ctx := context.Background()
	if err := store.Put(ctx, "production/avatar", strings.NewReader("GIF89a..."), 9); err != nil {
		panic(err)
	}
	rc, size, err := store.Get(ctx, "production/avatar")
	if err != nil {
		panic(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	fmt.Println(size, string(b))
	_, _, err = store.Get(ctx, "../etc/passwd")
	fmt.Println(err != nil)
	// Output:
	// 9 GIF89a...
	// true
}
