package identity

import "context"

// CredentialRecord calls fn with the stored encoding (JSON, as Records
// keep every value) of the credential with id, inside a read transaction;
// raw is valid only during the call. A caller that caches decoded
// credentials (the management API checks the API key behind every request)
// uses it to confirm, at the cost of one key lookup and no decoding, that
// its copy is still current. A missing credential is an error wrapping
// ErrNotFound.
func (s *Service) CredentialRecord(ctx context.Context, id string, fn func(raw []byte) error) error {
	return s.store.View(ctx, func(tx ReadTx) error {
		raw, err := tx.Get(credentials().Key(id))
		if err != nil {
			return err
		}
		return fn(raw)
	})
}
