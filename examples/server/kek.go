package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/seal"
)

// kekSource is where the key-encryption key came from.
type kekSource struct {
	key []byte
	// file is the key file read or created (empty for a flag or an
	// ephemeral key).
	file string
	// created is set when this start wrote file.
	created bool
}

// kekFileSuffix names the key file kept beside a bolt store.
const kekFileSuffix = ".kek"

// resolveKEK returns the key-encryption key that seals the server's secrets
// at rest (access-token ids, persistent-login tokens, signing keys, SAML SP
// keys):
//
//   - -key-encryption-key (base64), or
//   - -key-encryption-key-file: the file is read, or created with a new
//     random key (mode 0600) when it does not exist;
//   - otherwise, for a bolt store, the file PATH.kek beside the store, read
//     or created the same way; for a memory store, an ephemeral key; any
//     other store (PostgreSQL, shared by several instances) requires one of
//     the two flags, so that every instance uses the same key.
func resolveKEK(cfg *config, log *slog.Logger) (*kekSource, error) {
	switch {
	case cfg.KeyEncryptionKey != "" && cfg.KeyEncryptionKeyFile != "":
		return nil, errors.New("give -key-encryption-key or -key-encryption-key-file, not both")
	case cfg.KeyEncryptionKey != "":
		k, err := seal.ParseKey(cfg.KeyEncryptionKey)
		if err != nil {
			return nil, errors.New("-key-encryption-key must be 32 bytes, base64-encoded")
		}
		return &kekSource{key: k}, nil
	case cfg.KeyEncryptionKeyFile != "":
		return kekFile(cfg.KeyEncryptionKeyFile, log)
	}
	scheme, rest := storeScheme(cfg.Store)
	switch scheme {
	case "memory", "mem":
		k, err := seal.NewKey(nil)
		if err != nil {
			return nil, err
		}
		return &kekSource{key: k}, nil
	case "bolt", "":
		path := strings.TrimPrefix(rest, "//")
		if path == "" {
			return nil, errors.New("-store bolt: needs a file path")
		}
		return kekFile(path+kekFileSuffix, log)
	}
	return nil, fmt.Errorf("a %s store needs -key-encryption-key or -key-encryption-key-file "+
		"(the same key for every instance; create one with: head -c 32 /dev/urandom | base64)", scheme)
}

// storeScheme splits a store URL as store.Open does: "scheme:rest", or ""
// and the whole string for a bare path.
func storeScheme(url string) (scheme, rest string) {
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

// kekFile reads the key in path, or creates it with a new random key when
// it does not exist (never replacing one: O_EXCL).
func kekFile(path string, log *slog.Logger) (*kekSource, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		k, err := seal.NewKey(nil)
		if err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return kekFile(path, log) // created meanwhile by another process
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
		return &kekSource{key: k, file: path, created: true}, nil
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
	return &kekSource{key: k, file: path}, nil
}
