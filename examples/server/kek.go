package main

import (
	"log/slog"

	"github.com/gatehouse-id/gatehouse/internal/kek"
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

// resolveKEK returns the key-encryption key that seals the server's secrets
// at rest (access-token ids, persistent-login tokens, signing keys, SAML SP
// keys), by the rule of internal/kek (shared with cmd/gatehouse-import-crafter):
//
//   - -key-encryption-key (base64), or
//   - -key-encryption-key-file: the file is read, or created with a new
//     random key (mode 0600) when it does not exist;
//   - otherwise, for a bolt store, the file PATH.kek beside the store, read
//     or created the same way; for a memory store, an ephemeral key; any
//     other store (PostgreSQL, shared by several instances) requires one of
//     the two flags, so that every instance uses the same key.
func resolveKEK(cfg *config, log *slog.Logger) (*kekSource, error) {
	src, err := kek.Resolve(cfg.Store, cfg.KeyEncryptionKey, cfg.KeyEncryptionKeyFile, log)
	if err != nil {
		return nil, err
	}
	return &kekSource{key: src.Key, file: src.File, created: src.Created}, nil
}
