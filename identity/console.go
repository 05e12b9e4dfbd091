package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// Console roles: who may do what in the admin console (package admin).
//
// A console member is a user of the account's own organization (the one
// whose domain is Options.AccountDomain) holding one ConsoleRole, optionally
// limited to some organizations. The rule of what a role may do lives here,
// once: ConsoleRole.Allows answers for every action, and
// ConsoleMember.Scope turns a member into the Scope of the Service the
// console acts through, so the core enforces the member's organizations
// exactly as it enforces an API key's (an organization outside them is
// ErrNotFound).

// ConsoleRole is a role in the admin console.
type ConsoleRole string

// The console roles.
const (
	// ConsoleOwner may do everything, API keys included.
	ConsoleOwner ConsoleRole = "owner"
	// ConsoleAdmin may do everything but manage API keys.
	ConsoleAdmin ConsoleRole = "admin"
	// ConsoleViewer may only read.
	ConsoleViewer ConsoleRole = "viewer"
)

// ResourceAPIKeys is the resource of API keys (credentials) in console
// permissions: only owners manage it.
const ResourceAPIKeys = "api_keys"

// ResourceConsoleMembers is the resource of console roles: only owners
// grant and revoke them.
const ResourceConsoleMembers = "console_members"

// ConsoleRoles returns the roles, most powerful first.
func ConsoleRoles() []ConsoleRole { return []ConsoleRole{ConsoleOwner, ConsoleAdmin, ConsoleViewer} }

// Valid reports whether r is one of the console roles.
func (r ConsoleRole) Valid() bool { return slices.Contains(ConsoleRoles(), r) }

// Allows reports whether the role grants action ("read", "read_many",
// "create", "update", "delete") on resource ("organizations", "users",
// "applications", "api_keys", ...): an owner everything, an admin
// everything but API keys and console roles, a viewer only reads, and
// neither API keys nor console roles.
func (r ConsoleRole) Allows(action, resource string) bool {
	switch r {
	case ConsoleOwner:
		return true
	case ConsoleAdmin:
		return resource != ResourceAPIKeys && resource != ResourceConsoleMembers
	case ConsoleViewer:
		return (action == ActionRead || action == ActionReadMany) && resource != ResourceAPIKeys &&
			resource != ResourceConsoleMembers
	}
	return false
}

// consoleResources are the resources an admin's Scope names (a Scope has
// no "everything but" form).
var consoleResources = []string{ResourceOrganizations, ResourceApplications, "users", ResourceUserMetaKeys,
	"sso_connections", "log_events", "tenants"}

// permissions returns the Cryptr permissions of the role's Scope.
func (r ConsoleRole) permissions() []string {
	switch r {
	case ConsoleOwner:
		return []string{PermAll}
	case ConsoleAdmin:
		out := make([]string, 0, len(consoleResources))
		for _, res := range consoleResources {
			out = append(out, "*:"+res)
		}
		return out
	case ConsoleViewer:
		return []string{ActionRead + ":*", ActionReadMany + ":*"}
	}
	return nil
}

// ConsoleMember is a user of the account's organization who holds a
// console role.
type ConsoleMember struct {
	// UserID is the user's id in the account's organization (production).
	UserID string `json:"user_id"`
	// Email is the user's email (for lists), kept in step when the
	// user's address changes.
	Email string      `json:"email"`
	Role  ConsoleRole `json:"role"`
	// Orgs, when not empty, are the only organization domains the member
	// sees; empty means every organization.
	Orgs      []string  `json:"orgs,omitempty"`
	GrantedBy string    `json:"granted_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// AllOrgs reports whether the member sees every organization.
func (m *ConsoleMember) AllOrgs() bool { return len(m.Orgs) == 0 }

// Scope is the Scope of the Service the console acts through for the
// member in env: the member's organizations and the role's permissions.
func (m *ConsoleMember) Scope(env Environment) Scope {
	orgs := []string{AllOrgs}
	if !m.AllOrgs() {
		orgs = slices.Clone(m.Orgs)
	}
	// Only an owner reaches the account's organization: its users are the
	// console's members (owners included) and its application the
	// console's own, so an admin who could change them (an SSO connection
	// asserting an owner's email, an owner disabled or deleted, the
	// console's redirect URIs) could make itself owner.
	return Scope{Environment: env, Orgs: orgs, Permissions: m.Role.permissions(), ExceptAccount: m.Role != ConsoleOwner}
}

// Allows reports whether the member's role grants action on resource.
// API keys and console roles reach every organization, so only a member
// over every organization may manage them.
func (m *ConsoleMember) Allows(action, resource string) bool {
	if (resource == ResourceAPIKeys || resource == ResourceConsoleMembers) && !m.AllOrgs() {
		return false
	}
	return m.Role.Allows(action, resource)
}

func consoleMembers() kv.Records[ConsoleMember] {
	return kv.Records[ConsoleMember]{Kind: "console-member"}
}

var consoleMemberList = kv.Set{Parts: []string{"console-members"}}

// consoleAdmin is ErrForbidden unless s is an unscoped, production-bound
// Service: console roles and sessions are account-wide, and only the
// host's own code (the console itself) manages them.
func (s *Service) consoleAdmin() error {
	if s.scope != nil || s.env != Production {
		return fmt.Errorf("console roles are managed through the unscoped production service: %w", ErrForbidden)
	}
	if s.account == "" {
		return fmt.Errorf("the service has no AccountDomain: %w", ErrInvalid)
	}
	return nil
}

// checkMember validates a member's role and organizations.
func checkMember(m *ConsoleMember) error {
	var v Validation
	if !m.Role.Valid() {
		v.Add("role", "must be owner, admin or viewer")
	}
	for _, d := range m.Orgs {
		if r := CheckDomain(d); r != "" || d == AllOrgs {
			v.Add("orgs", "must be organization domains: "+d)
		}
	}
	return v.Err()
}

// PutConsoleMember grants a console role to a user of the account's
// organization (identified by m.UserID), or changes it. An owner cannot
// lose the role while no other owner remains (ErrConflict), so the console
// always keeps one. It logs CONSOLE_ROLE_GRANTED.
func (s *Service) PutConsoleMember(ctx context.Context, m ConsoleMember) (*ConsoleMember, error) {
	if err := s.consoleAdmin(); err != nil {
		return nil, err
	}
	if err := checkMember(&m); err != nil {
		return nil, err
	}
	m.Orgs = slices.Compact(slices.Sorted(slices.Values(m.Orgs)))
	var out ConsoleMember
	err := s.Update(ctx, func(tx *Txn) error {
		org, err := tx.Org(s.account)
		if err != nil {
			return Invalid("user_id", "the account's organization does not exist")
		}
		u, err := tx.OrgUser(org.ID, m.UserID)
		if err != nil {
			return Invalid("user_id", "is not a user of the account's organization")
		}
		now := s.Now()
		old, err := consoleMembers().Get(tx.w, u.ID)
		switch {
		case err == nil:
			m.CreatedAt = old.CreatedAt
			if old.Role == ConsoleOwner && (m.Role != ConsoleOwner || !m.AllOrgs()) {
				if err := tx.keepAnOwner(u.ID); err != nil {
					return err
				}
			}
		case errors.Is(err, ErrNotFound):
			m.CreatedAt = now
		default:
			return err
		}
		m.UserID, m.Email, m.UpdatedAt = u.ID, u.Email, now
		if err := consoleMembers().Put(tx.w, u.ID, m); err != nil {
			return err
		}
		if err := consoleMemberList.Add(tx.w, u.ID, nil); err != nil {
			return err
		}
		out = m
		return tx.Log(&Event{Code: EventConsoleRoleGranted, OrgID: org.ID, Email: u.Email, ResourceOwnerID: u.ID,
			Data: map[string]any{"role": string(m.Role), "orgs": m.Orgs}})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// keepAnOwner is ErrConflict unless an owner over every organization other
// than userID remains.
func (t *Txn) keepAnOwner(userID string) error {
	found := false
	err := consoleMemberList.Each(t.tx, false, func(id string, _ []byte) error {
		if id == userID {
			return nil
		}
		m, err := consoleMembers().Get(t.tx, id)
		if err != nil {
			return err
		}
		if m.Role == ConsoleOwner && m.AllOrgs() {
			found = true
			return ErrStopScan
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrStopScan) {
		return err
	}
	if !found {
		return fmt.Errorf("the console must keep an owner over every organization: %w", ErrConflict)
	}
	return nil
}

// ConsoleMember returns the console role of the user with userID, or
// ErrNotFound when the user holds none.
func (s *Service) ConsoleMember(ctx context.Context, userID string) (*ConsoleMember, error) {
	if err := s.consoleAdmin(); err != nil {
		return nil, err
	}
	var m ConsoleMember
	err := s.View(ctx, func(tx *ReadTxn) (err error) {
		if kv.CheckParts(userID) != nil {
			return fmt.Errorf("console member: %w", ErrNotFound)
		}
		m, err = consoleMembers().Get(tx.tx, userID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// ListConsoleMembers lists the console members in the order they were
// first granted a role.
func (s *Service) ListConsoleMembers(ctx context.Context) ([]ConsoleMember, error) {
	if err := s.consoleAdmin(); err != nil {
		return nil, err
	}
	var out []ConsoleMember
	err := s.View(ctx, func(tx *ReadTxn) error {
		out = out[:0]
		return consoleMemberList.Each(tx.tx, false, func(id string, _ []byte) error {
			m, err := consoleMembers().Get(tx.tx, id)
			if err != nil {
				return err
			}
			out = append(out, m)
			return nil
		})
	})
	slices.SortStableFunc(out, func(a, b ConsoleMember) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, err
}

// RevokeConsoleRole removes the user's console role; the last owner over
// every organization cannot be removed (ErrConflict). Revoking an unknown
// member changes nothing. The member's console sessions stop working at
// once (ConsoleSession reads the role on every request).
func (s *Service) RevokeConsoleRole(ctx context.Context, userID string) error {
	if err := s.consoleAdmin(); err != nil {
		return err
	}
	return s.Update(ctx, func(tx *Txn) error {
		if kv.CheckParts(userID) != nil {
			return nil
		}
		m, err := consoleMembers().Get(tx.w, userID)
		if errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if m.Role == ConsoleOwner && m.AllOrgs() {
			if err := tx.keepAnOwner(userID); err != nil {
				return err
			}
		}
		if err := consoleMembers().Delete(tx.w, userID); err != nil {
			return err
		}
		if err := consoleMemberList.Remove(tx.w, userID); err != nil {
			return err
		}
		orgID, _ := tx.OrgID(s.account)
		return tx.Log(&Event{Code: EventConsoleRoleRevoked, OrgID: orgID, Email: m.Email, ResourceOwnerID: userID,
			Data: map[string]any{"role": string(m.Role)}})
	})
}

// consoleMemberLeaves applies the console's rules to a user of the
// account's organization that is being deleted (deleting) or disabled:
// the last owner over every organization cannot go (ErrConflict: the
// console would have no owner, and no setup link either, while a stale
// member record stood); a deleted user's member record goes with it.
// Txn.DeleteUser and Txn.ReplaceUser call it, so every face obeys it.
func (t *Txn) consoleMemberLeaves(u *User, deleting bool) error {
	m, err := t.accountMember(u)
	if m == nil || err != nil {
		return err
	}
	if m.Role == ConsoleOwner && m.AllOrgs() {
		if err := t.keepAnOwner(u.ID); err != nil {
			return err
		}
	}
	if !deleting {
		return nil
	}
	if err := consoleMembers().Delete(t.w, u.ID); err != nil {
		return err
	}
	return consoleMemberList.Remove(t.w, u.ID)
}

// consoleMemberRenamed keeps the email a console member's record shows
// (for lists) in step with its user's, when u holds a console role.
func (t *Txn) consoleMemberRenamed(u *User) error {
	m, err := t.accountMember(u)
	if m == nil || err != nil {
		return err
	}
	m.Email, m.UpdatedAt = u.Email, t.s.Now()
	return consoleMembers().Put(t.w, u.ID, *m)
}

// accountMember returns the console role of u, a user of the account's
// organization in production, or nil when u holds none (or the service
// has no console).
func (t *Txn) accountMember(u *User) (*ConsoleMember, error) {
	if t.s.account == "" || t.s.env != Production {
		return nil, nil
	}
	accountID, err := orgDomains.Lookup(t.tx, "", t.s.account)
	if err != nil || u.OrgID != accountID {
		return nil, nil
	}
	m, err := consoleMembers().Get(t.w, u.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return &m, nil
}

// consoleSetupOpen is nil when token is the live setup link and the
// console has no owner yet; otherwise ErrUnauthenticated (with ErrExpired
// for an expired link).
func (t *ReadTxn) consoleSetupOpen(token string) error {
	refused := fmt.Errorf("setup link: %w", ErrUnauthenticated)
	rec, err := consoleSetups().Get(t.tx, "setup")
	if err != nil || !SecretMatches(token, rec.Hash) {
		return refused
	}
	if !t.s.Now().Before(rec.ExpiresAt) {
		return fmt.Errorf("setup link: %w, %w", ErrUnauthenticated, ErrExpired)
	}
	if owner, err := t.hasConsoleOwner(); err != nil {
		return err
	} else if owner {
		return refused
	}
	return nil
}

// hasOwner reports whether any console owner exists.
func (t *ReadTxn) hasConsoleOwner() (bool, error) {
	found := false
	err := consoleMemberList.Each(t.tx, false, func(id string, _ []byte) error {
		m, err := consoleMembers().Get(t.tx, id)
		if err != nil {
			return err
		}
		if m.Role == ConsoleOwner {
			found = true
			return ErrStopScan
		}
		return nil
	})
	if errors.Is(err, ErrStopScan) {
		err = nil
	}
	return found, err
}

// The console's setup link: the one way to create its first owner. There
// is no default password; instead a host calls ConsoleSetup on start and,
// while no owner exists, prints the link it returns. The link's token
// carries 256 random bits, is stored as its SHA-256 only, expires after
// ConsoleSetupTTL and is consumed by the first ClaimConsoleSetup that
// presents it; issuing a new one replaces the previous.

// ConsoleSetupTTL is how long a console setup token stays valid.
const ConsoleSetupTTL = 24 * time.Hour

type consoleSetupRecord struct {
	Hash      string    `json:"hash"`
	ExpiresAt time.Time `json:"expires_at"`
}

func consoleSetups() kv.Records[consoleSetupRecord] {
	return kv.Records[consoleSetupRecord]{Kind: "console-setup"}
}

// ConsoleSetup issues the setup token of the console's first owner when no
// owner exists yet: it returns the token (shown once; only its hash is
// stored) and its expiry, replacing any earlier token. Once an owner
// exists it returns "" and a zero time: there is nothing to set up.
func (s *Service) ConsoleSetup(ctx context.Context) (string, time.Time, error) {
	if err := s.consoleAdmin(); err != nil {
		return "", time.Time{}, err
	}
	tok, err := NewSecret(s.rand)
	if err != nil {
		return "", time.Time{}, err
	}
	exp := s.Now().Add(ConsoleSetupTTL)
	issued := false
	err = s.Update(ctx, func(tx *Txn) error {
		issued = false
		owner, err := tx.hasConsoleOwner()
		if err != nil || owner {
			return err
		}
		if old, err := consoleSetups().Get(tx.w, "setup"); err == nil {
			if err := kv.CancelExpiry(tx.w, old.ExpiresAt, consoleSetups().Key("setup")); err != nil {
				return err
			}
		}
		if err := consoleSetups().Put(tx.w, "setup", consoleSetupRecord{Hash: HashSecret(tok), ExpiresAt: exp}); err != nil {
			return err
		}
		issued = true
		return kv.ScheduleExpiry(tx.w, exp, consoleSetups().Key("setup"))
	})
	if err != nil || !issued {
		return "", time.Time{}, err
	}
	return tok, exp, nil
}

// ConsoleSetupClaim is what the person holding the setup link gives to
// become the console's first owner.
type ConsoleSetupClaim struct {
	// Token is the setup token (ConsoleSetup).
	Token string
	// Email is the owner's email; the user is created in the account's
	// organization unless it exists there already.
	Email string
	// Name is the owner's name (optional).
	Name string
	// Password is the owner's password for the hosted login (required for
	// a new user, at least 8 characters). A user who exists already keeps
	// their own credentials: the password given is ignored.
	Password string
}

// ValidConsoleSetup reports whether token is the current, unexpired setup
// token, without consuming it (a GET of the setup page).
func (s *Service) ValidConsoleSetup(ctx context.Context, token string) bool {
	if s.consoleAdmin() != nil || token == "" {
		return false
	}
	ok := false
	_ = s.View(ctx, func(tx *ReadTxn) error {
		rec, err := consoleSetups().Get(tx.tx, "setup")
		if err != nil {
			return nil
		}
		ok = SecretMatches(token, rec.Hash) && s.Now().Before(rec.ExpiresAt)
		return nil
	})
	return ok
}

// ClaimConsoleSetup consumes the setup token and makes the person its
// first owner, in one transaction: it creates the account's organization
// if missing, creates the user (or finds the one with that email) and
// grants ConsoleOwner over every organization. A wrong, used or expired
// token is ErrUnauthenticated (an expired one also wraps ErrExpired) and
// changes nothing; so is any token once an owner exists. Bad input is an
// *InvalidError and leaves the token usable.
func (s *Service) ClaimConsoleSetup(ctx context.Context, c ConsoleSetupClaim) (*ConsoleMember, error) {
	if err := s.consoleAdmin(); err != nil {
		return nil, err
	}
	var v Validation
	email := strings.TrimSpace(c.Email)
	if r := CheckEmail(email); r != "" {
		v.Add("email", r)
	}
	if c.Password != "" && len(c.Password) < 8 {
		v.Add("password", "must be at least 8 characters")
	}
	if len(c.Password) > 1024 {
		v.Add("password", "must be at most 1024 characters")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	// The link is checked, in a read, before the password is hashed: an
	// anonymous caller must not make the server run argon2id (the hasher's
	// slots are the sign-ins' too). The transaction below checks it again.
	err := s.View(ctx, func(tx *ReadTxn) error { return tx.consoleSetupOpen(c.Token) })
	if err != nil {
		return nil, err
	}
	hash := ""
	if c.Password != "" {
		var err error
		if hash, err = s.hashPassword(ctx, c.Password); err != nil {
			return nil, err
		}
	}
	var out ConsoleMember
	err = s.Update(ctx, func(tx *Txn) error {
		if err := tx.consoleSetupOpen(c.Token); err != nil {
			return err
		}
		rec, err := consoleSetups().Get(tx.w, "setup")
		if err != nil {
			return err
		}
		org, err := tx.Org(s.account)
		if errors.Is(err, ErrNotFound) {
			now := s.Now()
			o := Organization{Domain: s.account, Name: s.account, ManagedBy: s.account, CreatedAt: now, UpdatedAt: now}
			if o.ID, err = s.newID(now); err != nil {
				return err
			}
			if o.ObjectID, err = NewObjectID(s.rand, now); err != nil {
				return err
			}
			if err := tx.InsertOrg(&o); err != nil {
				return err
			}
			org = &o
		} else if err != nil {
			return err
		}
		u, err := tx.UserByEmail(org.ID, email)
		switch {
		case errors.Is(err, ErrNotFound):
			if hash == "" {
				return Invalid("password", "is required")
			}
			if u, err = s.NewUser(org.ID); err != nil {
				return err
			}
			u.Email, u.Username, u.Verified, u.PasswordHash = email, email, true, hash
			u.Profile.Name = strings.TrimSpace(c.Name)
			tn, err := tx.Tenant(org.ID)
			if err != nil {
				return err
			}
			if err := tx.insertUser(tn, u); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		if err := kv.CancelExpiry(tx.w, rec.ExpiresAt, consoleSetups().Key("setup")); err != nil {
			return err
		}
		if err := consoleSetups().Delete(tx.w, "setup"); err != nil {
			return err
		}
		now := s.Now()
		out = ConsoleMember{UserID: u.ID, Email: u.Email, Role: ConsoleOwner, GrantedBy: "setup", CreatedAt: now, UpdatedAt: now}
		if err := consoleMembers().Put(tx.w, u.ID, out); err != nil {
			return err
		}
		if err := consoleMemberList.Add(tx.w, u.ID, nil); err != nil {
			return err
		}
		return tx.Log(&Event{Code: EventConsoleSetupClaimed, OrgID: org.ID, Email: u.Email, ResourceOwnerID: u.ID,
			ActorID: u.ID, Data: map[string]any{"role": string(ConsoleOwner)}})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
