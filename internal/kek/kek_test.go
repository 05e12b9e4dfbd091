package kek

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/seal"
)

func TestStoreScheme(t *testing.T) {
	for _, tc := range []struct{ url, scheme, rest string }{
		{"bolt:g.db", "bolt", "g.db"},
		{"BOLT://g.db", "bolt", "//g.db"},
		{"postgres://u@h/db", "postgres", "//u@h/db"},
		{"memory:", "memory", ""},
		{"g.db", "", "g.db"},
		{"C:/data/g.db", "", "C:/data/g.db"},
		{"a1:x", "", "a1:x"},
	} {
		if s, r := StoreScheme(tc.url); s != tc.scheme || r != tc.rest {
			t.Errorf("StoreScheme(%q) = %q, %q", tc.url, s, r)
		}
	}
}

// TestResolve: the order of the sources, a key file created once (0600)
// and read back, and the stores that need an explicit key.
func TestResolve(t *testing.T) {
	dir := t.TempDir()
	given, _ := seal.NewKey(nil)
	src, err := Resolve("postgres://h/db", seal.EncodeKey(given), "", nil)
	if err != nil || !bytes.Equal(src.Key, given) || src.File != "" {
		t.Fatalf("given key: %+v, %v", src, err)
	}
	bolt := "bolt:" + filepath.Join(dir, "g.db")
	first, err := Resolve(bolt, "", "", nil)
	if err != nil || !first.Created || first.File != filepath.Join(dir, "g.db.kek") {
		t.Fatalf("first: %+v, %v", first, err)
	}
	if st, err := os.Stat(first.File); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	again, err := Resolve(bolt, "", "", nil)
	if err != nil || again.Created || !bytes.Equal(again.Key, first.Key) {
		t.Fatalf("again: %+v, %v", again, err)
	}
	if mem, err := Resolve("memory:", "", "", nil); err != nil || len(mem.Key) != 32 || mem.File != "" {
		t.Fatalf("memory: %+v, %v", mem, err)
	}
	for _, tc := range []struct{ url, key, file, want string }{
		{"postgres://h/db", "", "", "needs -key-encryption-key"},
		{"memory:", "k", "f", "not both"},
		{"memory:", "short", "", "32 bytes"},
		{"bolt:", "", "", "needs a file path"},
	} {
		if _, err := Resolve(tc.url, tc.key, tc.file, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Resolve(%q, %q, %q) = %v, want %q", tc.url, tc.key, tc.file, err, tc.want)
		}
	}
	bad := filepath.Join(dir, "bad.kek")
	if err := os.WriteFile(bad, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Resolve("memory:", "", bad, nil); err == nil || strings.Contains(err.Error(), "not a key") {
		t.Errorf("bad key file: %v (must not echo the file)", err)
	}
}
