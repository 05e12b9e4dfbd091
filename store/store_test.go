package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store"
	"github.com/gatehouse-id/gatehouse/store/bolt"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	tests := []struct {
		url     string
		want    string // type of the store, or "" for an error
		errIs   error
		errText string
	}{
		{url: "memory:", want: "*memory.Store"},
		{url: "bolt:" + filepath.Join(dir, "a.db"), want: "*bolt.Store"},
		{url: "bolt://" + filepath.Join(dir, "b.db"), want: "*bolt.Store"},
		{url: filepath.Join(dir, "c.db"), want: "*bolt.Store"},
		{url: "bolt:", errIs: store.ErrUnsupported, errText: "file path"},
		{url: "memory:x", errIs: store.ErrUnsupported},
		// PostgreSQL is selected; nothing listens on port 1, so it fails fast
		// with a retryable error that does not repeat the password.
		{url: "postgres://gh:s3cret@127.0.0.1:1/gatehouse?connect_timeout=2", errIs: identity.ErrBusy, errText: "127.0.0.1"},
		{url: "postgresql://127.0.0.1:1/gatehouse?connect_timeout=2", errIs: identity.ErrBusy},
		{url: "redis://h:p@x", errIs: store.ErrUnsupported, errText: "unknown scheme"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			s, err := store.Open(ctx, tc.url)
			if tc.want == "" {
				if !errors.Is(err, tc.errIs) || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("Open = %v, want %v containing %q", err, tc.errIs, tc.errText)
				}
				if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), ":p@") {
					t.Errorf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := typeName(s); got != tc.want {
				t.Errorf("Open(%q) is a %s, want %s", tc.url, got, tc.want)
			}
		})
	}
}

func typeName(s identity.Store) string {
	switch s.(type) {
	case *memory.Store:
		return "*memory.Store"
	case *bolt.Store:
		return "*bolt.Store"
	}
	return "other"
}

func TestOpenWithOpener(t *testing.T) {
	var gotURL string
	s, err := store.Open(context.Background(), "postgres://db/g", store.WithOpener("postgres", func(_ context.Context, url string) (identity.Store, error) {
		gotURL = url
		return memory.New(), nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if gotURL != "postgres://db/g" {
		t.Errorf("opener got %q", gotURL)
	}
}

func TestOpenWithOpenerPostgresqlAlias(t *testing.T) {
	called := false
	s, err := store.Open(context.Background(), "postgresql://db/g", store.WithOpener("postgres", func(context.Context, string) (identity.Store, error) {
		called = true
		return memory.New(), nil
	}))
	if err != nil || !called {
		t.Fatalf("Open = %v, opener called %v", err, called)
	}
	s.Close()
}

func TestOpenPassesBoltOptions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.db")
	s, err := store.Open(context.Background(), "bolt:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = store.Open(context.Background(), "bolt:"+path, store.WithBolt(bolt.WithTimeout(20*time.Millisecond)))
	if !errors.Is(err, identity.ErrStoreLocked) {
		t.Fatalf("second Open = %v, want ErrStoreLocked", err)
	}
}

func TestOpenCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := store.Open(ctx, "memory:"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Open = %v", err)
	}
}

func ExampleOpen() {
	s, err := store.Open(context.Background(), "memory:")
	if err != nil {
		panic(err)
	}
	defer s.Close()
	_ = s.Update(context.Background(), func(tx identity.Tx) error {
		return tx.Put([]byte("greeting"), []byte("hello"))
	})
	_ = s.View(context.Background(), func(tx identity.ReadTx) error {
		v, err := tx.Get([]byte("greeting"))
		if err == nil {
			fmt.Println(string(v))
		}
		return err
	})
	// Output: hello
}
