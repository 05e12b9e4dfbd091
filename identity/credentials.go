package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/internal/seal"
)

// Credentials are account-wide records (an id is unique across both
// environments, and a secret finds its credential whatever the
// environment), listed per environment. Every read, list and delete by id
// of a Service sees only the credentials of the service's environment: a
// credential of the other one answers like an unknown id. Only the
// authentications by secret (AuthenticateSecret, AuthenticateCredential)
// search both environments, and the credential they return decides the
// environment its caller acts in.

func credentials() kv.Records[credentialRecord] {
	return kv.Records[credentialRecord]{Kind: "credential", V2: true}
}

// credentialList is the list of the credentials of one environment.
func credentialList(env Environment) kv.Set {
	return kv.Set{Env: string(env), Parts: []string{"credentials"}}
}

// credentialMACs indexes the credentials of one environment by the keyed
// hash of their secret (secretKeys.lookupMAC). The index is per
// environment, so that creating a sandbox credential writes nothing
// production reads; a secret is still unique across both (CreateCredential
// checks the other environment's index), so it finds one credential.
func credentialMACs(env Environment) kv.Unique {
	return kv.Unique{Env: string(env), Name: "credential-mac"}
}

var (
	// legacyCredentialMACs is the account-wide keyed-hash index of stores
	// written at layout 1; openSecrets moves it to credentialMACs.
	legacyCredentialMACs = kv.Unique{Name: "credential-secret-mac"}
	// legacyCredentialSecrets is the index by bare SHA-256 of stores
	// written before keyed hashes; openSecrets empties it.
	legacyCredentialSecrets = kv.Unique{Name: "credential-secret"}
)

// credentialEnvs are the environments a secret is looked up in, always
// both and in this order (production first).
var credentialEnvs = [...]Environment{Production, Sandbox}

// credentialRecord is the stored form of a Credential.
type credentialRecord struct {
	Credential
	// SecretMAC is the keyed hash the credential is looked up by.
	SecretMAC string `json:"secret_mac,omitempty"`
	// SealedSecret is the sealed secret of a credential that keeps it
	// (a Crafter access token).
	SealedSecret []byte `json:"sealed_secret,omitempty"`
	// LegacyHash and LegacySecret are the bare SHA-256 and the clear
	// secret of stores written before sealing; openSecrets replaces them.
	LegacyHash   string `json:"secret_hash,omitempty"`
	LegacySecret string `json:"secret,omitempty"`
}

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

// MasterOverAll reports whether a Crafter access token may manage access
// tokens: a master token with every action on every tenant (a permission
// of tenant "*" allowing "*"). A master token limited to some tenants or
// actions may not: access tokens reach every tenant (their ids are their
// secrets, the host's master credential's among them), so it could read
// one wider than itself, or mint one.
func (c *Credential) MasterOverAll() bool {
	if !c.Master {
		return false
	}
	for _, p := range c.TenantPermissions {
		if p.Tenant == "*" && slices.Contains(p.AllowedActions, "*") {
			return true
		}
	}
	return false
}

// credentialWithin is the rule of credentials on a scoped Service (a
// limited API key, a console member): it needs the api_keys permission of
// action, and it may not create or delete a credential that reaches
// further than itself, in organizations or permissions (else a limited key
// could mint a full one). Either is an error wrapping ErrForbidden. An
// unscoped Service (an embedder's Go code, the Crafter face's directory)
// manages every credential.
func (s *Service) credentialWithin(action string, c *Credential) error {
	if s.scope == nil {
		return nil
	}
	if err := s.require(action, ResourceAPIKeys); err != nil {
		return err
	}
	if c == nil {
		return nil
	}
	for _, d := range c.ManagedOrgs {
		if !s.scope.Manages(d) {
			return fmt.Errorf("the credential reaches organization %q, outside the caller's scope: %w", d, ErrForbidden)
		}
	}
	for _, p := range c.Permissions {
		if !covers(s.scope.Permissions, p) {
			return fmt.Errorf("the credential's permission %q exceeds the caller's: %w", p, ErrForbidden)
		}
	}
	return nil
}

// covers reports whether perms grant everything permission p grants,
// wildcards included ("*", "*:resource", "action:*").
func covers(perms []string, p string) bool {
	if slices.Contains(perms, PermAll) {
		return true
	}
	action, resource, ok := strings.Cut(p, ":")
	switch {
	case !ok || p == PermAll || (action == "*" && resource == "*"):
		return false
	case action == "*":
		return slices.Contains(perms, "*:"+resource)
	case resource == "*":
		return slices.Contains(perms, action+":*")
	}
	return allows(perms, action, resource)
}

// CreateCredential stores a new credential of c.Environment (empty: the
// service's). Provisioning belongs to production: a production-bound
// service may create credentials of either environment, a sandbox-bound
// one only sandbox credentials (another is an error wrapping
// ErrForbidden). If
// secret is empty a 256-bit one is generated. It returns the stored
// credential and the secret, which is shown once. A credential whose
// Secret is set keeps it, sealed (Crafter access tokens, whose API lists
// them again); secret must then be empty or equal to it. An id or secret
// already in use is a conflict.
func (s *Service) CreateCredential(ctx context.Context, c Credential, secret string) (*Credential, string, error) {
	var v Validation
	if c.Environment == "" {
		c.Environment = s.env
	}
	if !c.Environment.Valid() {
		v.Add("environment", "must be sandbox or production")
	} else if c.Environment != s.env && s.env != Production {
		return nil, "", fmt.Errorf("a %s service cannot create a %s credential: %w", s.env, c.Environment, ErrForbidden)
	}
	if err := s.credentialWithin(ActionCreate, &c); err != nil {
		return nil, "", err
	}
	if len(c.Name) > 255 {
		v.Add("name", "must be at most 255 characters")
	}
	keep := c.Secret != ""
	if keep {
		if secret == "" {
			secret = c.Secret
		} else if secret != c.Secret {
			v.Add("secret", "must equal the credential's Secret")
		}
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
	if err := checkParts(c.ID); err != nil {
		return nil, "", err
	}
	if secret == "" {
		if secret, err = NewSecret(s.rand); err != nil {
			return nil, "", err
		}
	}
	c.Secret = ""
	c.CreatedAt = now
	rec := credentialRecord{Credential: c, SecretMAC: s.secrets.lookupMAC(secret)}
	if keep {
		if rec.SealedSecret, err = s.secrets.sealString(secret, credentialAAD(c.Environment, c.ID)); err != nil {
			return nil, "", err
		}
		c.Secret = secret
	}
	err = s.Update(ctx, func(tx *Txn) error {
		if ok, err := credentials().Exists(tx.tx, c.ID); err != nil {
			return err
		} else if ok {
			return fmt.Errorf("credential %q: %w", c.ID, ErrConflict)
		}
		if s.secrets.legacy {
			if _, err := legacyCredentialSecrets.Lookup(tx.tx, "", HashSecret(secret)); err == nil {
				return fmt.Errorf("credential secret is taken: %w", ErrConflict)
			}
		}
		// A secret finds one credential: the other environment's index is
		// read (never written). The conflict tells the caller nothing that
		// authenticating with the secret would not.
		for _, env := range credentialEnvs {
			if env == c.Environment {
				continue
			}
			if _, err := credentialMACs(env).Lookup(tx.tx, "", rec.SecretMAC); err == nil {
				return fmt.Errorf("credential secret is taken: %w", ErrConflict)
			} else if !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		if err := credentialMACs(c.Environment).Claim(tx.w, "", rec.SecretMAC, c.ID); err != nil {
			return err
		}
		if err := credentials().Put(tx.w, c.ID, rec); err != nil {
			return err
		}
		if err := credentialList(c.Environment).Add(tx.w, c.ID, nil); err != nil {
			return err
		}
		// The actor is whoever creates the credential (the key or access
		// token of the request, a console member), never the new one.
		e := CredentialEvent(EventCredentialCreated, &c, map[string]any{"credential_id": c.ID})
		e.ActorID, e.ActorKind = tx.actor.ID, tx.actor.Kind
		return tx.Log(e)
	})
	if err != nil {
		return nil, "", err
	}
	return &c, secret, nil
}

// CredentialEvent returns an audit event about credential c (created,
// deleted, a management token issued to it). Its actor is c as an API key
// (APIKeyActor: a management token is issued to the key that
// authenticated); CreateCredential and DeleteCredential replace it with
// the actor of their transaction (the credential or member that creates
// or deletes c; none for the embedder's code). The event names the organizations c reaches (Event.Orgs: a Cryptr key's
// ManagedOrgs, a Crafter access token's tenants), so that each one's log
// lists it (the log of the account's organization for a credential over
// every organization). Every event about a known credential is built
// here, whichever face writes it.
func CredentialEvent(code string, c *Credential, data map[string]any) *Event {
	orgs := slices.Clone(c.ManagedOrgs)
	for _, tp := range c.TenantPermissions {
		if tp.Tenant != "" && !slices.Contains(orgs, tp.Tenant) {
			orgs = append(orgs, tp.Tenant)
		}
	}
	return &Event{Code: code, ActorID: c.ID, ActorKind: ActorAPIKey, Orgs: orgs, Data: data}
}

// credential returns the public form of a stored credential, its secret
// opened when it keeps one. A secret that does not open (sealed under
// another key-encryption key) is left empty and logged.
func (s *Service) credential(id string, rec *credentialRecord) *Credential {
	c := rec.Credential
	switch {
	case rec.SealedSecret != nil:
		secret, err := s.secrets.openString(rec.SealedSecret, credentialAAD(rec.Environment, id))
		if err != nil {
			s.log.Warn("identity: a credential's sealed secret does not open", "credential_id", id, "err", err)
		}
		c.Secret = secret
	case rec.LegacySecret != "":
		c.Secret = rec.LegacySecret
	}
	return &c
}

// credentialBySecret finds the credential whose secret is secret, in
// either environment. Both environments' indexes are always read, so the
// work (and its timing) does not depend on where the secret is; should
// both hold it (CreateCredential prevents it), production's wins.
func (s *Service) credentialBySecret(tx ReadTx, secret string) (string, credentialRecord, error) {
	mac := s.secrets.lookupMAC(secret)
	id, err := "", error(fmt.Errorf("credential: %w", ErrNotFound))
	for _, env := range credentialEnvs {
		got, lerr := credentialMACs(env).Lookup(tx, "", mac)
		if lerr != nil && !errors.Is(lerr, ErrNotFound) {
			return "", credentialRecord{}, lerr
		}
		if lerr == nil && id == "" {
			id, err = got, nil
		}
	}
	if errors.Is(err, ErrNotFound) && s.secrets.legacy {
		id, err = legacyCredentialSecrets.Lookup(tx, "", HashSecret(secret))
	}
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return "", credentialRecord{}, fmt.Errorf("credential: %w", ErrUnauthenticated)
		}
		return "", credentialRecord{}, err
	}
	rec, err := credentials().Get(tx, id)
	if errors.Is(err, ErrNotFound) {
		return "", rec, fmt.Errorf("credential: %w", ErrUnauthenticated)
	}
	return id, rec, err
}

// AuthenticateSecret finds the credential whose secret is secret (a
// Crafter accessTokenId) in either environment and returns it with the
// Service bound to the credential's environment, which the caller must use
// for everything the credential does; its writes name the credential as
// their actor (AccessTokenActor) unless their context names another. Unknown secrets are
// ErrUnauthenticated; an expired credential is returned with its service
// and an error wrapping ErrExpired.
func (s *Service) AuthenticateSecret(ctx context.Context, secret string) (*Credential, *Service, error) {
	var c *Credential
	err := s.store.View(ctx, func(tx ReadTx) error {
		id, rec, err := s.credentialBySecret(tx, secret)
		if err != nil {
			return err
		}
		c = s.credential(id, &rec)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	svc, err := s.ForEnvironment(c.Environment)
	if err != nil {
		return nil, nil, fmt.Errorf("credential %s: %w", c.ID, ErrUnauthenticated)
	}
	svc.actor = AccessTokenActor(c)
	if c.ExpiresAt != nil && !s.Now().Before(*c.ExpiresAt) {
		return c, svc, fmt.Errorf("credential %s: %w", c.ID, ErrExpired)
	}
	return c, svc, nil
}

// CredentialBySecret returns the credential of the service's environment
// whose secret is secret (a Crafter accessTokenId). Unknown secrets and
// those of the other environment are ErrUnauthenticated; an expired
// credential is returned with an error wrapping ErrExpired.
func (s *Service) CredentialBySecret(ctx context.Context, secret string) (*Credential, error) {
	var c *Credential
	err := s.store.View(ctx, func(tx ReadTx) error {
		id, rec, err := s.credentialBySecret(tx, secret)
		if err != nil {
			return err
		}
		if rec.Environment != s.env {
			return fmt.Errorf("credential: %w", ErrUnauthenticated)
		}
		c = s.credential(id, &rec)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if c.ExpiresAt != nil && !s.Now().Before(*c.ExpiresAt) {
		return c, fmt.Errorf("credential %s: %w", c.ID, ErrExpired)
	}
	return c, nil
}

// AuthenticateCredential checks a Cryptr client_id and client_secret in
// constant time and returns the credential, whatever its environment: the
// caller acts through the Service of the credential's Environment (see
// ForEnvironment), never through its own.
func (s *Service) AuthenticateCredential(ctx context.Context, id, secret string) (*Credential, error) {
	mac := s.secrets.lookupMAC(secret)
	var rec credentialRecord
	err := s.store.View(ctx, func(tx ReadTx) (err error) { rec, err = credentials().Get(tx, id); return })
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("credential: %w", ErrUnauthenticated)
		}
		return nil, err
	}
	ok := seal.Equal(mac, rec.SecretMAC)
	if rec.LegacyHash != "" {
		ok = SecretMatches(secret, rec.LegacyHash)
	}
	if !ok {
		return nil, fmt.Errorf("credential: %w", ErrUnauthenticated)
	}
	c := s.credential(id, &rec)
	if c.ExpiresAt != nil && !s.Now().Before(*c.ExpiresAt) {
		return nil, fmt.Errorf("credential %s: %w", c.ID, ErrExpired)
	}
	return c, nil
}

// getCredential reads the credential with id of the service's
// environment; one of the other environment is not found.
func (s *Service) getCredential(tx ReadTx, id string) (credentialRecord, error) {
	rec, err := credentials().Get(tx, id)
	if err != nil {
		return rec, err
	}
	if rec.Environment != s.env {
		return credentialRecord{}, fmt.Errorf("credential %w", ErrNotFound)
	}
	return rec, nil
}

// GetCredential returns the credential with id of the service's
// environment; an unknown id and one of the other environment are
// ErrNotFound.
func (s *Service) GetCredential(ctx context.Context, id string) (*Credential, error) {
	if err := s.credentialWithin(ActionRead, nil); err != nil {
		return nil, err
	}
	var rec credentialRecord
	err := s.store.View(ctx, func(tx ReadTx) (err error) { rec, err = s.getCredential(tx, id); return })
	if err != nil {
		return nil, err
	}
	return s.credential(id, &rec), nil
}

// ListCredentials returns every credential of the service's environment,
// oldest first.
func (s *Service) ListCredentials(ctx context.Context) ([]Credential, error) {
	if err := s.credentialWithin(ActionReadMany, nil); err != nil {
		return nil, err
	}
	out := []Credential{}
	err := s.store.View(ctx, func(tx ReadTx) error {
		return credentialList(s.env).Each(tx, false, func(id string, _ []byte) error {
			rec, err := s.getCredential(tx, id)
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			out = append(out, *s.credential(id, &rec))
			return nil
		})
	})
	return out, err
}

// DeleteCredential deletes the credential with id of the service's
// environment; a missing one, or one of the other environment, is not an
// error and changes nothing (Crafter's rule).
func (s *Service) DeleteCredential(ctx context.Context, id string) error {
	if err := s.credentialWithin(ActionDelete, nil); err != nil {
		return err
	}
	return s.Update(ctx, func(tx *Txn) error {
		rec, err := s.getCredential(tx.tx, id)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.credentialWithin(ActionDelete, &rec.Credential); err != nil {
			return err
		}
		if rec.SecretMAC != "" {
			if err := credentialMACs(rec.Environment).Release(tx.w, "", rec.SecretMAC, id); err != nil {
				return err
			}
		}
		if rec.LegacyHash != "" {
			if err := legacyCredentialSecrets.Release(tx.w, "", rec.LegacyHash, id); err != nil {
				return err
			}
		}
		if err := credentialList(rec.Environment).Remove(tx.w, id); err != nil {
			return err
		}
		if err := credentials().Delete(tx.w, id); err != nil {
			return err
		}
		e := CredentialEvent(EventCredentialDeleted, &rec.Credential, map[string]any{"credential_id": id})
		e.ActorID, e.ActorKind = tx.actor.ID, tx.actor.Kind
		return tx.Log(e)
	})
}
