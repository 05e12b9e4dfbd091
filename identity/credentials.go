package identity

import (
	"context"
	"fmt"
	"strings"
)

func credentials() Records[Credential] { return Records[Credential]{Kind: "credential"} }

var (
	credentialSecrets = Unique{Name: "credential-secret"}
	credentialList    = Set{Parts: []string{"credentials"}}
)

// PermAll is the Cryptr permission that grants every action on every
// resource.
const PermAll = "*"

// Allows reports whether the credential's Cryptr permissions grant action
// on resource ("read:users", "create:organizations", ...). "*", "*:resource"
// and "action:*" are wildcards.
func (c *Credential) Allows(action, resource string) bool {
	return allows(c.Permissions, action, resource)
}

// Manages reports whether the credential may act on the organization with
// domain.
func (c *Credential) Manages(domain string) bool {
	return Scope{Orgs: c.ManagedOrgs}.Manages(domain)
}

// CreateCredential stores a new credential. If secret is empty a 256-bit
// one is generated. It returns the stored credential and the secret, which
// is shown once (Crafter access tokens keep it in Secret, because their API
// lists them again). An id or secret already in use is a conflict.
func (s *Service) CreateCredential(ctx context.Context, c Credential, secret string) (*Credential, string, error) {
	var v Validation
	if !c.Environment.Valid() {
		v.Add("environment", "must be sandbox or production")
	}
	if len(c.Name) > 255 {
		v.Add("name", "must be at most 255 characters")
	}
	if secret != "" && (len(secret) < 16 || len(secret) > 512 || strings.IndexByte(secret, 0) >= 0) {
		v.Add("secret", "must be 16 to 512 characters")
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	now := s.Now()
	var err error
	if c.ID == "" {
		if c.ID, err = s.newID(now); err != nil {
			return nil, "", err
		}
	}
	if secret == "" {
		if secret, err = NewSecret(s.rand); err != nil {
			return nil, "", err
		}
	}
	c.SecretHash = HashSecret(secret)
	c.CreatedAt = now
	err = s.Update(ctx, func(tx *Txn) error {
		if ok, err := credentials().Exists(tx.tx, c.ID); err != nil {
			return err
		} else if ok {
			return fmt.Errorf("credential %q: %w", c.ID, ErrConflict)
		}
		if err := credentialSecrets.Claim(tx.w, "", c.SecretHash, c.ID); err != nil {
			return err
		}
		if err := credentials().Put(tx.w, c.ID, c); err != nil {
			return err
		}
		if err := credentialList.Add(tx.w, c.ID, nil); err != nil {
			return err
		}
		return tx.Log(&Event{Code: EventCredentialCreated, ActorID: c.ID})
	})
	if err != nil {
		return nil, "", err
	}
	return &c, secret, nil
}

// CredentialBySecret returns the unexpired credential whose secret is
// secret (a Crafter accessTokenId). Unknown and expired secrets are
// ErrUnauthenticated / ErrExpired.
func (s *Service) CredentialBySecret(ctx context.Context, secret string) (*Credential, error) {
	var c Credential
	err := s.store.View(ctx, func(tx ReadTx) error {
		id, err := credentialSecrets.Lookup(tx, "", HashSecret(secret))
		if err != nil {
			return fmt.Errorf("credential: %w", ErrUnauthenticated)
		}
		c, err = credentials().Get(tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if c.ExpiresAt != nil && !s.Now().Before(*c.ExpiresAt) {
		return &c, fmt.Errorf("credential %s: %w", c.ID, ErrExpired)
	}
	return &c, nil
}

// AuthenticateCredential checks a Cryptr client_id and client_secret in
// constant time and returns the credential.
func (s *Service) AuthenticateCredential(ctx context.Context, id, secret string) (*Credential, error) {
	c, err := s.GetCredential(ctx, id)
	if err != nil {
		// Spend the same hash so unknown ids and wrong secrets look alike.
		SecretMatches(secret, strings.Repeat("0", 64))
		return nil, fmt.Errorf("credential: %w", ErrUnauthenticated)
	}
	if !SecretMatches(secret, c.SecretHash) {
		return nil, fmt.Errorf("credential: %w", ErrUnauthenticated)
	}
	if c.ExpiresAt != nil && !s.Now().Before(*c.ExpiresAt) {
		return nil, fmt.Errorf("credential %s: %w", c.ID, ErrExpired)
	}
	return c, nil
}

// GetCredential returns the credential with id.
func (s *Service) GetCredential(ctx context.Context, id string) (*Credential, error) {
	var c Credential
	err := s.store.View(ctx, func(tx ReadTx) (err error) { c, err = credentials().Get(tx, id); return })
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// ListCredentials returns every credential, oldest first.
func (s *Service) ListCredentials(ctx context.Context) ([]Credential, error) {
	out := []Credential{}
	err := s.store.View(ctx, func(tx ReadTx) error {
		return credentialList.Each(tx, false, func(id string, _ []byte) error {
			c, err := credentials().Get(tx, id)
			if err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	})
	return out, err
}

// DeleteCredential deletes the credential with id; a missing one is not an
// error (Crafter's rule).
func (s *Service) DeleteCredential(ctx context.Context, id string) error {
	return s.Update(ctx, func(tx *Txn) error {
		c, err := credentials().Get(tx.tx, id)
		if err != nil {
			return nil
		}
		if err := credentialSecrets.Release(tx.w, "", c.SecretHash, c.ID); err != nil {
			return err
		}
		if err := credentialList.Remove(tx.w, c.ID); err != nil {
			return err
		}
		if err := credentials().Delete(tx.w, c.ID); err != nil {
			return err
		}
		return tx.Log(&Event{Code: EventCredentialDeleted, ActorID: c.ID})
	})
}
