package bolt_test

import (
	"encoding/binary"
	"path/filepath"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/legacytest"
	"github.com/gatehouse-id/gatehouse/store/bolt"
)

// TestVersion1File opens a file as the builds of schema version 1 left
// it (users as JSON, unique index owners as text, version 1 recorded):
// Open migrates it to SchemaVersion, everything reads as it was written,
// writes over the old entries work, and the file reopens.
func TestVersion1File(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	st := openT(t, path)
	legacytest.Run(t, st, func(t *testing.T, old identity.Store) identity.Store {
		if err := old.(*bolt.Store).Close(); err != nil {
			t.Fatal(err)
		}
		setSchema(t, path, 1)
		openT(t, path).Close()
		if v := schemaOf(t, path); v != bolt.SchemaVersion {
			t.Fatalf("a version 1 file opened as schema %d, want %d", v, bolt.SchemaVersion)
		}
		s := openT(t, path)
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// setSchema records version v in the closed file at path.
func setSchema(t *testing.T, path string, v uint64) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bbolt.Tx) error {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], v)
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), b[:])
	}); err != nil {
		t.Fatal(err)
	}
}
