package identity

import (
	"context"
	"fmt"
)

// CredentialRecord calls fn with the stored encoding (JSON, as Records
// keep every value) of the credential with id of the service's
// environment, inside a read transaction; raw is valid only during the
// call. It decodes into a Credential with encoding/json (the stored form
// has more fields, which hold no clear secret). A caller that caches
// decoded credentials (the management API checks the API key behind every
// request) uses it to confirm, at the cost of two key lookups and no
// decoding, that its copy is still current. A missing credential, or one
// of the other environment, is an error wrapping ErrNotFound.
func (s *Service) CredentialRecord(ctx context.Context, id string, fn func(raw []byte) error) error {
	return s.store.View(ctx, func(tx ReadTx) error {
		if ok, err := credentialList(s.env).Has(tx, id); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("credential %w", ErrNotFound)
		}
		raw, err := tx.Get(credentials().Key(id))
		if err != nil {
			return err
		}
		return fn(raw)
	})
}
