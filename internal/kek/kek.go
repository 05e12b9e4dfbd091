// Package kek resolves the key-encryption key that seals a Gatehouse
// store's secrets at rest (access-token ids, persistent-login tokens,
// signing keys, SAML SP keys), the same way for every program that opens a
// store: the example server and the import commands.
//
// The key comes from, in order:
//
//   - a base64 key given directly (-key-encryption-key), or
//   - a key file (-key-encryption-key-file): read, or created with a new
//     random key (mode 0600) when it does not exist;
//   - otherwise, for a bolt store, the file PATH.kek beside the store,
//     read or created the same way; for a memory store, an ephemeral key;
//     any other store (PostgreSQL, shared by several instances) requires
//     one of the two, so that every instance uses the same key.
package kek

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/seal"
)

// Source is a resolved key-encryption key and where it came from.
type Source struct {
	// Key is the 32-byte key.
	Key []byte
	// File is the key file read or created (empty for a key given
	// directly or an ephemeral one).
	File string
	// Created is set when this call wrote File.
	Created bool
}

// FileSuffix names the key file kept beside a bolt store.
const FileSuffix = ".kek"

// Resolve returns the key-encryption key for the store at storeURL (see
// the package doc): key is a base64 key, keyFile a key file; at most one
// of them may be set. log receives a warning when a key file is created
// or readable by other users (nil: no log).
func Resolve(storeURL, key, keyFile string, log *slog.Logger) (*Source, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch {
	case key != "" && keyFile != "":
		return nil, errors.New("give -key-encryption-key or -key-encryption-key-file, not both")
	case key != "":
		k, err := seal.ParseKey(key)
		if err != nil {
			return nil, errors.New("-key-encryption-key must be 32 bytes, base64-encoded")
		}
		return &Source{Key: k}, nil
	case keyFile != "":
		return fromFile(keyFile, log)
	}
	scheme, rest := StoreScheme(storeURL)
	switch scheme {
	case "memory", "mem":
		k, err := seal.NewKey(nil)
		if err != nil {
			return nil, err
		}
		return &Source{Key: k}, nil
	case "bolt", "":
		path := strings.TrimPrefix(rest, "//")
		if path == "" {
			return nil, errors.New("-store bolt: needs a file path")
		}
		return fromFile(path+FileSuffix, log)
	}
	return nil, fmt.Errorf("a %s store needs -key-encryption-key or -key-encryption-key-file "+
		"(the same key for every instance; create one with: head -c 32 /dev/urandom | base64)", scheme)
}

// StoreScheme splits a store URL as store.Open does: "scheme:rest", or ""
// and the whole string for a bare path.
func StoreScheme(url string) (scheme, rest string) {
	i := strings.IndexByte(url, ':')
	if i < 2 {
		return "", url
	}
	for _, r := range url[:i] {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return "", url
		}
	}
	return strings.ToLower(url[:i]), url[i+1:]
}

// fromFile reads the key in path, or creates it with a new random key when
// it does not exist (never replacing one: O_EXCL).
func fromFile(path string, log *slog.Logger) (*Source, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		k, err := seal.NewKey(nil)
		if err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return fromFile(path, log) // created meanwhile by another process
		}
		if err != nil {
			return nil, fmt.Errorf("cannot create the key-encryption key file: %w", err)
		}
		_, werr := f.WriteString(seal.EncodeKey(k) + "\n")
		if werr == nil {
			werr = f.Sync()
		}
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			_ = os.Remove(path)
			return nil, fmt.Errorf("cannot write the key-encryption key file %s: %w", path, werr)
		}
		log.Warn("created a new key-encryption key: it seals this server's secrets at rest; "+
			"back it up with the store, the store cannot be opened without it", "file", path)
		return &Source{Key: k, File: path, Created: true}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the key-encryption key file: %w", err)
	}
	k, err := seal.ParseKey(string(raw))
	if err != nil {
		return nil, fmt.Errorf("the key-encryption key file %s must hold 32 bytes, base64-encoded", path)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		log.Warn("the key-encryption key file is readable by other users; chmod 600 it", "file", path, "mode", st.Mode().Perm().String())
	}
	return &Source{Key: k, File: path}, nil
}
