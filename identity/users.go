package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/kv"
)

func users(env Environment) kv.Records[User] {
	return kv.Records[User]{Env: string(env), Kind: "user", V2: true, Codec: userCodec{}}
}

func userEmails(env Environment) kv.Unique { return kv.Unique{Env: string(env), Name: "user-email"} }
func userNames(env Environment) kv.Unique  { return kv.Unique{Env: string(env), Name: "user-name"} }
func userOIDs(env Environment) kv.Unique   { return kv.Unique{Env: string(env), Name: "user-oid"} }
func ssoIdentities(env Environment) kv.Unique {
	return kv.Unique{Env: string(env), Name: "sso-identity"}
}

// orgUsers is the sorted set of an organization's user ids (time-ordered).
func orgUsers(env Environment, orgID string) kv.Set {
	return kv.Set{Env: string(env), Parts: []string{"users", orgID}}
}

// roleUsers is the index of an organization's users that have role.
func roleUsers(env Environment, orgID, role string) kv.Set {
	return kv.Set{Env: string(env), Parts: []string{"user-role", orgID, role}}
}

// attributeUsers is the index of an organization's users whose indexed
// attribute name has the scalar value (or a list containing it).
func attributeUsers(env Environment, orgID, name string, value any) (kv.Set, bool) {
	vk, ok := AttributeValueKey(value)
	if !ok {
		return kv.Set{}, false
	}
	return kv.Set{Env: string(env), Parts: []string{"user-attr", orgID, hashIfNeeded(name), vk}}, true
}

// AttributeValueKey is the index form of a scalar attribute value: strings,
// numbers and booleans; other values are not indexed. A number's key is
// its nearest float64, whatever its type or text (json.Number("1.0"),
// int64(1) and 1.0 share one key), so numbers beyond 2^53 may share a key:
// an index lookup gives candidates that the caller matches exactly.
func AttributeValueKey(v any) (string, bool) {
	if n, ok := v.(json.Number); ok {
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return "", false
		}
		v = f
	}
	switch x := v.(type) {
	case string:
		return "s:" + hashIfNeeded(x), true
	case bool:
		return "b:" + strconv.FormatBool(x), true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", false
		}
		return "n:" + strconv.FormatFloat(x, 'g', -1, 64), true
	case int:
		return "n:" + strconv.FormatFloat(float64(x), 'g', -1, 64), true
	case int64:
		return "n:" + strconv.FormatFloat(float64(x), 'g', -1, 64), true
	case json.Number: // an imported number (ImportUsers), read back as float64
		f, err := x.Float64()
		if err != nil {
			return "", false
		}
		return AttributeValueKey(f)
	}
	return "", false
}

func hashIfNeeded(s string) string {
	if len(s) <= 128 && strings.IndexByte(s, 0) < 0 && strings.IndexByte(s, 1) < 0 && !strings.HasPrefix(s, "#") {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "#" + hex.EncodeToString(sum[:])
}

func indexedValues(v any) []any {
	if list, ok := v.([]any); ok {
		return list
	}
	if list, ok := v.([]string); ok {
		out := make([]any, len(list))
		for i, s := range list {
			out[i] = s
		}
		return out
	}
	return []any{v}
}

// User returns the user with id in the transaction's environment, in any
// organization. Callers acting for one organization must check OrgID (the
// Service's methods do, and answer ErrNotFound across organizations).
func (t *ReadTxn) User(id string) (*User, error) {
	return t.readUser(t.s.env, id)
}

// OrgUser returns the user with id if it belongs to organization orgID.
func (t *ReadTxn) OrgUser(orgID, id string) (*User, error) {
	u, err := t.User(id)
	if err != nil {
		return nil, err
	}
	if u.OrgID != orgID {
		return nil, fmt.Errorf("user %w", ErrNotFound)
	}
	return u, nil
}

// UserByEmail returns the user of orgID with email (case-insensitive).
func (t *ReadTxn) UserByEmail(orgID, email string) (*User, error) {
	id, err := userEmails(t.s.env).Lookup(t.tx, orgID, NormalizeEmail(email))
	if err != nil {
		return nil, err
	}
	return t.OrgUser(orgID, id)
}

// UserByUsername returns the user of orgID with username.
func (t *ReadTxn) UserByUsername(orgID, username string) (*User, error) {
	id, err := userNames(t.s.env).Lookup(t.tx, orgID, username)
	if err != nil {
		return nil, err
	}
	return t.OrgUser(orgID, id)
}

// UserByObjectID returns the user whose Crafter id is oid.
func (t *ReadTxn) UserByObjectID(oid string) (*User, error) {
	id, err := userOIDs(t.s.env).Lookup(t.tx, "", oid)
	if err != nil {
		return nil, err
	}
	return t.User(id)
}

// UserBySSOIdentity returns the user linked to (connection, NameID).
func (t *ReadTxn) UserBySSOIdentity(connectionID, nameID string) (*User, error) {
	id, err := ssoIdentities(t.s.env).Lookup(t.tx, connectionID, nameID)
	if err != nil {
		return nil, err
	}
	return t.User(id)
}

// CheckUser validates a user's own fields (the rules of ValidateUser
// that need no directory settings): email, username, roles, attribute
// names and values, OIDC claims, SSO identities, and no NUL or control
// characters in any string. A username that is the email (what a face
// without usernames, such as Cryptr's, stores) is not reported again when
// the email is invalid: the email's reason names the one value at fault.
func CheckUser(u *User) error {
	var v Validation
	emailBad := false
	if r := textReason(u.Email, false); r != "" {
		v.Add("email", r)
		emailBad = true
	} else if r := CheckEmail(u.Email); r != "" {
		v.Add("email", r)
		emailBad = true
	}
	switch {
	case emailBad && u.Username == u.Email:
		// The email's reason covers the username.
	case u.Username == "":
		v.Add("username", "is required")
	case len(u.Username) > 255:
		v.Add("username", "must be at most 255 characters of text")
	default:
		checkText(&v, "username", u.Username, false)
	}
	for _, r := range u.Roles {
		if r == "" || len(r) > 255 {
			v.Add("roles", "must be non-empty names of at most 255 characters")
			break
		}
		if reason := textReason(r, false); reason != "" {
			v.Add("roles", reason)
			break
		}
	}
	for k, val := range u.Attributes {
		if k == "" || len(k) > 255 {
			v.Add("attributes", "names must be non-empty and at most 255 characters")
			continue
		}
		if r := textReason(k, false); r != "" {
			v.Add("attributes", "names "+r)
			continue
		}
		checkValueText(&v, "attributes."+k, val, 0)
	}
	for _, sid := range u.SSOIdentities {
		if sid.ConnectionID == "" || sid.NameID == "" {
			v.Add("sso_identities", "need a connection and a NameID")
			break
		}
		if r := textReason(sid.ConnectionID+sid.NameID, false); r != "" {
			v.Add("sso_identities", r)
			break
		}
	}
	checkText(&v, "avatar_hexa_color", u.AvatarHexColor, false)
	checkText(&v, "password_hash", u.PasswordHash, false)
	v.Merge("profile", CheckProfile(&u.Profile))
	return v.Err()
}

// InsertUser stores a new user with its indexes, checking it with
// ValidateUser (its fields and its organization's MetaKeys) and that the
// email (case-insensitively) and the username are free in its
// organization, and logs USER_CREATED.
func (t *Txn) InsertUser(u *User) error {
	if ok, err := t.s.orgs().Exists(t.tx, u.OrgID); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("organization %w", ErrNotFound)
	}
	tn, err := t.Tenant(u.OrgID)
	if err != nil {
		return err
	}
	return t.insertUser(tn, u)
}

// insertUser is InsertUser for a user of an existing organization whose
// tenant settings tn the caller has read in this transaction. It runs
// ValidateUser.
func (t *Txn) insertUser(tn *Tenant, u *User) error {
	typeMetaValues(tn, u)
	if err := ValidateUser(tn, u); err != nil {
		return err
	}
	if err := t.insertValid(tn, u); err != nil {
		return err
	}
	return t.Log(&Event{Code: EventUserCreated, OrgID: u.OrgID, Email: u.Email, ResourceOwnerID: u.ID})
}

// insertValid stores a new user that the caller has checked with
// ValidateUser, with its indexes; it logs nothing.
func (t *Txn) insertValid(tn *Tenant, u *User) error {
	if u.AwaitsVerification == nil {
		// Every new user states whether a verification may enable it.
		no := false
		u.AwaitsVerification = &no
	}
	if err := t.indexUser(u, t.keysOf(tn, u), nil); err != nil {
		return err
	}
	return users(t.s.env).Put(t.w, u.ID, *u)
}

// ReplaceUser writes u over old (the same user as read in this
// transaction), keeping every index in step. u is checked with
// ValidateUser; a problem old already had does not block the replace. It
// logs nothing: callers log the event that names the change.
//
// When the address changes (NormalizeEmail differs) every link mailed to
// the old one dies in this write: the user's pending invitation, reset
// and verification tokens are deleted, and u.Verified is cleared unless
// this write itself marks the address verified (old unverified, u
// verified: a host asserting what it checked). Sessions stay. See
// emailChanged.
func (t *Txn) ReplaceUser(old, u *User) error {
	if old.ID != u.ID || old.OrgID != u.OrgID || old.ObjectID != u.ObjectID {
		return fmt.Errorf("user id, organization and object id are immutable: %w", ErrInvalid)
	}
	if NormalizeEmail(old.Email) != NormalizeEmail(u.Email) {
		if err := t.emailChanged(old, u); err != nil {
			return err
		}
	}
	if !old.Enabled && u.Enabled {
		// Enabled, by whoever: a later disable is an administrator's
		// decision that no verification link undoes.
		no := false
		u.AwaitsVerification = &no
	}
	if old.Email != u.Email {
		if err := t.consoleMemberRenamed(u); err != nil {
			return err
		}
	}
	if old.Enabled && !u.Enabled {
		if err := t.consoleMemberLeaves(u, false); err != nil {
			return err
		}
		// A disabled user's sessions of every kind end, whichever face
		// disabled it (Crafter's disable and update included), with its
		// pending reset, verification and invitation links: enabling it
		// again brings none back.
		if _, err := t.EndUserSessions(u, SessionRef{}); err != nil {
			return err
		}
	}
	tn, err := t.Tenant(u.OrgID)
	if err != nil {
		return err
	}
	typeMetaValues(tn, u)
	if err := validateReplace(tn, old, u); err != nil {
		return err
	}
	u.UpdatedAt = t.s.Now()
	ok, nk := t.keysOf(tn, old), t.keysOf(tn, u)
	if err := t.unindexUser(old, ok, nk); err != nil {
		return err
	}
	if err := t.indexUser(u, nk, ok); err != nil {
		return err
	}
	return users(t.s.env).Put(t.w, u.ID, *u)
}

// DeleteUser removes a user, its index entries, its sessions and tokens and
// what UserDeleteHooks remove, and logs USER_DELETED.
func (t *Txn) DeleteUser(u *User) error {
	if err := t.consoleMemberLeaves(u, true); err != nil {
		return err
	}
	// Sessions, remember-me logins and verification tokens go with the user
	// (tickets leave a tombstone until they would expire: TicketByHash),
	// then whatever other packages keep about it (their hooks).
	if _, err := t.revokeUserSessions(u.ID, true, SessionRef{}, true); err != nil {
		return err
	}
	if err := t.runUserDeleteHooks(u); err != nil {
		return err
	}
	tn, err := t.Tenant(u.OrgID)
	if err != nil {
		return err
	}
	if err := t.unindexUser(u, t.keysOf(tn, u), nil); err != nil {
		return err
	}
	if err := users(t.s.env).Delete(t.w, u.ID); err != nil {
		return err
	}
	return t.Log(&Event{Code: EventUserDeleted, OrgID: u.OrgID, Email: u.Email, ResourceOwnerID: u.ID})
}

type userKeys struct {
	email, username, oid string
	roles                map[string]bool
	attrs                map[string]kv.Set
	sso                  map[SSOIdentity]bool
}

// keysOf lists the index entries of u under the tenant settings tn.
func (t *Txn) keysOf(tn *Tenant, u *User) *userKeys {
	k := &userKeys{email: NormalizeEmail(u.Email), username: u.Username, oid: u.ObjectID,
		roles: make(map[string]bool, len(u.Roles)), sso: make(map[SSOIdentity]bool, len(u.SSOIdentities))}
	for _, r := range u.Roles {
		k.roles[r] = true
	}
	for _, s := range u.SSOIdentities {
		k.sso[s] = true
	}
	for _, d := range tn.AttributeDefinitions {
		if !d.Indexed {
			continue
		}
		v, ok := u.Attributes[d.Name]
		if !ok {
			continue
		}
		for _, e := range indexedValues(v) {
			if set, ok := attributeUsers(t.s.env, u.OrgID, d.Name, e); ok {
				if k.attrs == nil {
					k.attrs = map[string]kv.Set{}
				}
				k.attrs[string(set.Prefix())] = set
			}
		}
	}
	return k
}

// indexUser claims u's index entries nk that the entries ok of its
// previous version lack (ok is nil for a new user).
func (t *Txn) indexUser(u *User, nk, ok *userKeys) error {
	isNew := ok == nil
	if isNew {
		ok = &userKeys{}
	}
	env := t.s.env
	if isNew || ok.email != nk.email {
		if err := userEmails(env).Claim(t.w, u.OrgID, nk.email, u.ID); err != nil {
			return &conflictField{field: "email", err: err}
		}
	}
	if isNew || ok.username != nk.username {
		if err := userNames(env).Claim(t.w, u.OrgID, nk.username, u.ID); err != nil {
			return &conflictField{field: "username", err: err}
		}
	}
	if isNew {
		if err := userOIDs(env).Claim(t.w, "", nk.oid, u.ID); err != nil {
			return err
		}
		if err := orgUsers(env, u.OrgID).AddBatched(t.w, u.ID, nil, t.counts); err != nil {
			return err
		}
	}
	for r := range nk.roles {
		if !ok.roles[r] {
			if err := roleUsers(env, u.OrgID, r).AddBatched(t.w, u.ID, nil, t.counts); err != nil {
				return err
			}
		}
	}
	for key, set := range nk.attrs {
		if _, had := ok.attrs[key]; !had {
			if err := set.AddBatched(t.w, u.ID, nil, t.counts); err != nil {
				return err
			}
		}
	}
	for s := range nk.sso {
		if !ok.sso[s] {
			if err := ssoIdentities(env).Claim(t.w, s.ConnectionID, s.NameID, u.ID); err != nil {
				return &conflictField{field: "sso_identities", err: err}
			}
		}
	}
	return nil
}

// unindexUser releases old's index entries okk that the entries nk of its
// new version no longer have (nk is nil when deleting).
func (t *Txn) unindexUser(old *User, okk, nk *userKeys) error {
	deleting := nk == nil
	if deleting {
		nk = &userKeys{}
	}
	env := t.s.env
	if deleting || okk.email != nk.email {
		if err := userEmails(env).Release(t.w, old.OrgID, okk.email, old.ID); err != nil {
			return err
		}
	}
	if deleting || okk.username != nk.username {
		if err := userNames(env).Release(t.w, old.OrgID, okk.username, old.ID); err != nil {
			return err
		}
	}
	if deleting {
		if err := userOIDs(env).Release(t.w, "", okk.oid, old.ID); err != nil {
			return err
		}
		if err := orgUsers(env, old.OrgID).Remove(t.w, old.ID); err != nil {
			return err
		}
	}
	for r := range okk.roles {
		if !nk.roles[r] {
			if err := roleUsers(env, old.OrgID, r).Remove(t.w, old.ID); err != nil {
				return err
			}
		}
	}
	for key, set := range okk.attrs {
		if _, keep := nk.attrs[key]; !keep {
			if err := set.Remove(t.w, old.ID); err != nil {
				return err
			}
		}
	}
	for s := range okk.sso {
		if !nk.sso[s] {
			if err := ssoIdentities(env).Release(t.w, s.ConnectionID, s.NameID, old.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// conflictField is a uniqueness conflict on one field; it matches
// ErrConflict and names the field.
type conflictField struct {
	field string
	err   error
}

func (c *conflictField) Error() string { return c.field + " is already taken" }
func (c *conflictField) Unwrap() error { return c.err }

// ConflictField returns the field a conflict error is about, if known.
func ConflictField(err error) string {
	for err != nil {
		if c, ok := err.(*conflictField); ok {
			return c.field
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return ""
		}
		err = u.Unwrap()
	}
	return ""
}

// NewUser prepares a user of org with fresh ids and timestamps; the caller
// fills the rest and passes it to CreateUser or Txn.InsertUser.
func (s *Service) NewUser(orgID string) (*User, error) {
	now := s.Now()
	id, err := s.newID(now)
	if err != nil {
		return nil, err
	}
	oid, err := NewObjectID(s.rand, now)
	if err != nil {
		return nil, err
	}
	var c [3]byte
	if _, err := io.ReadFull(s.rand, c[:]); err != nil {
		return nil, err
	}
	return &User{ID: id, ObjectID: oid, OrgID: orgID, Enabled: true, Roles: []string{},
		Attributes: map[string]any{}, AvatarHexColor: "#" + hex.EncodeToString(c[:]),
		CreatedAt: now, UpdatedAt: now}, nil
}

// CreateUser creates a user in the organization with domain. Fields the
// caller leaves empty get defaults: the username is the email. A non-empty
// password is hashed with the configured hasher before the transaction.
// Required MetaKeys must have a value (or a default).
func (s *Service) CreateUser(ctx context.Context, orgDomain string, in User, password string) (*User, error) {
	if err := s.mayWrite(orgDomain, ActionCreate, ResourceUsers); err != nil {
		return nil, err
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return nil, err
	}
	var out *User
	err = s.Update(ctx, func(tx *Txn) error {
		orgID, err := tx.OrgID(orgDomain)
		if err != nil {
			return err
		}
		u, err := s.NewUser(orgID)
		if err != nil {
			return err
		}
		u.Email = strings.TrimSpace(in.Email)
		u.Username = in.Username
		if u.Username == "" {
			u.Username = u.Email
		}
		u.Enabled, u.Verified, u.Profile, u.SSOIdentities = in.Enabled, in.Verified, in.Profile, in.SSOIdentities
		if in.Roles != nil {
			u.Roles = dedupe(in.Roles)
		}
		if in.PasswordHash != "" {
			u.PasswordHash = in.PasswordHash
		}
		if hash != "" {
			u.PasswordHash = hash
		}
		tn, err := tx.Tenant(orgID)
		if err != nil {
			return err
		}
		for _, d := range tn.AttributeDefinitions {
			if d.DefaultValue != nil {
				u.Attributes[d.Name] = d.DefaultValue
			}
		}
		for k, v := range in.Attributes {
			u.Attributes[k] = v
		}
		if err := tx.insertUser(tn, u); err != nil {
			return err
		}
		out = u
		return nil
	})
	return out, err
}

func (s *Service) hashPassword(ctx context.Context, password string) (string, error) {
	if password == "" {
		return "", nil
	}
	if s.hasher == nil {
		return "", Invalid("password", "cannot be set: no password hasher is configured")
	}
	if len(password) > 1024 {
		return "", Invalid("password", "must be at most 1024 characters")
	}
	return s.hasher.Hash(ctx, password)
}

func dedupe(list []string) []string {
	seen := make(map[string]bool, len(list))
	out := make([]string, 0, len(list))
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// GetUser returns the user with id of the organization with domain;
// another organization's user is ErrNotFound.
func (s *Service) GetUser(ctx context.Context, orgDomain, id string) (*User, error) {
	var u *User
	err := s.View(ctx, func(tx *ReadTxn) error {
		orgID, err := tx.OrgID(orgDomain)
		if err != nil {
			return err
		}
		u, err = tx.OrgUser(orgID, id)
		return err
	})
	return u, err
}

// GetUserByEmail returns the user of the organization with that email,
// case-insensitively.
func (s *Service) GetUserByEmail(ctx context.Context, orgDomain, email string) (*User, error) {
	var u *User
	err := s.View(ctx, func(tx *ReadTxn) error {
		orgID, err := tx.OrgID(orgDomain)
		if err != nil {
			return err
		}
		u, err = tx.UserByEmail(orgID, email)
		return err
	})
	return u, err
}

// ListUsers lists an organization's users, most recent first. Deep pages
// skip index keys without decoding the users skipped.
func (s *Service) ListUsers(ctx context.Context, orgDomain string, req PageRequest) (Page[User], error) {
	var p Page[User]
	err := s.View(ctx, func(tx *ReadTxn) error {
		orgID, err := tx.OrgID(orgDomain)
		if err != nil {
			return err
		}
		p, err = pageOf(tx.tx, orgUsers(s.env, orgID), req, func(id string) (User, error) {
			u, err := tx.readUser(s.env, id)
			if err != nil {
				return User{}, err
			}
			return *u, nil
		})
		return err
	})
	return p, err
}

// IterateUsers returns up to limit users of the organization that come
// after the cursor user id (most recent first), and the cursor of the next
// call ("" at the end). Its cost does not grow with the depth.
func (s *Service) IterateUsers(ctx context.Context, orgDomain, after string, limit int) ([]User, string, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var out []User
	next := ""
	err := s.View(ctx, func(tx *ReadTxn) error {
		orgID, err := tx.OrgID(orgDomain)
		if err != nil {
			return err
		}
		ids, err := orgUsers(s.env, orgID).After(tx.tx, after, true, limit)
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			out = make([]User, 0, len(ids))
		}
		for _, id := range ids {
			u, err := tx.readUser(s.env, id)
			if err != nil {
				return err
			}
			out = append(out, *u)
		}
		if len(ids) == limit {
			next = ids[len(ids)-1]
		}
		return nil
	})
	return out, next, err
}

// VerifyAddress stores old with its address verified (a verification
// link mailed there was followed) and returns the new record. A user
// that was made to wait for this verification (AwaitsVerification) is
// enabled, as Crafter Profile's verification enables a new profile; any
// other disabled user stays disabled (created disabled, or disabled by
// an administrator, before or after a change of address): no link (a
// verification or reset token the user can still get mailed) undoes an
// administrator's decision.
func (t *Txn) VerifyAddress(old *User) (*User, error) {
	u := CloneUser(old)
	if old.AwaitsVerification != nil && *old.AwaitsVerification || old.AwaitsVerification == nil && !old.Verified {
		u.Enabled = true
	}
	done := false
	u.Verified, u.AwaitsVerification = true, &done
	if err := t.ReplaceUser(old, u); err != nil {
		return nil, err
	}
	return u, nil
}

// UpdateUser applies fn to the user inside one transaction
// (compare-and-swap: fn sees the current record) and stores the result with
// its indexes. The id, organization and object id cannot change. A new
// email voids the links pending for the old one and clears Verified
// unless fn marks an unverified user verified (see Txn.ReplaceUser).
func (s *Service) UpdateUser(ctx context.Context, orgDomain, id string, fn func(u *User) error) (*User, error) {
	if err := s.mayWrite(orgDomain, ActionUpdate, ResourceUsers); err != nil {
		return nil, err
	}
	var out *User
	err := s.withOrgUser(ctx, orgDomain, id, func(tx *Txn, orgID string, old *User) error {
		u := cloneUser(old)
		if err := fn(u); err != nil {
			return err
		}
		if err := tx.ReplaceUser(old, u); err != nil {
			return err
		}
		out = u
		return tx.Log(&Event{Code: EventUserUpdated, OrgID: orgID, Email: u.Email, ResourceOwnerID: u.ID})
	})
	return out, err
}

// PasswordChange sets a user's password (see ChangePassword).
type PasswordChange struct {
	// OrgDomain and UserID name the user.
	OrgDomain string
	UserID    string
	// Password is the new password.
	Password string
	// Keep names the session of a user who changes the password while
	// signed in: it stays open and every other one ends. Leave it zero for
	// a reset through the recovery path or an administrator's change:
	// then every session ends.
	Keep SessionRef
	// ActorID is recorded in the audit event.
	ActorID string
}

// ChangePassword hashes the new password (outside the transaction), sets
// it, clears the lockout and, in the same transaction, ends the user's
// sessions of every kind except in.Keep (see SetPasswordHash).
func (s *Service) ChangePassword(ctx context.Context, in PasswordChange) (*User, error) {
	if in.Password == "" {
		return nil, Invalid("password", "is required")
	}
	hash, err := s.hashPassword(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	var out *User
	err = s.Update(ctx, func(tx *Txn) error {
		orgID, err := tx.OrgID(in.OrgDomain)
		if err != nil {
			return err
		}
		old, err := tx.OrgUser(orgID, in.UserID)
		if err != nil {
			return err
		}
		u := cloneUser(old)
		if err := tx.SetPasswordHash(u, hash, in.Keep); err != nil {
			return err
		}
		if err := tx.ReplaceUser(old, u); err != nil {
			return err
		}
		out = u
		return tx.Log(&Event{Code: EventUserPasswordChanged, OrgID: orgID, TenantDomain: in.OrgDomain, Email: u.Email,
			ResourceOwnerID: u.ID, ActorID: in.ActorID})
	})
	return out, err
}

// SetPassword sets a user's password and ends every one of the user's
// sessions (ChangePassword with no session kept): what a host calls after
// its own reset flow or for an administrator.
func (s *Service) SetPassword(ctx context.Context, orgDomain, id, password string) (*User, error) {
	return s.ChangePassword(ctx, PasswordChange{OrgDomain: orgDomain, UserID: id, Password: password})
}

// SetPasswordHash is the one rule of a password change, for a face that
// changes a password inside its own transaction (u is the caller's copy,
// which the caller then writes with ReplaceUser): it stores hash, clears
// the lockout and ends the user's sessions of every kind except keep, with
// its pending verification and reset tokens (EndUserSessions), unless
// Options.KeepSessionsOnPasswordChange restores Crafter's rule.
func (t *Txn) SetPasswordHash(u *User, hash string, keep SessionRef) error {
	now := t.s.Now()
	u.PasswordHash, u.PasswordChangedAt = hash, &now
	u.FailedLogins, u.LastFailedLogin, u.LockedUntil = 0, nil, nil
	if t.s.keepSessions {
		return nil
	}
	_, err := t.EndUserSessions(u, keep)
	return err
}

// DeleteUser deletes the user and returns what was deleted.
func (s *Service) DeleteUser(ctx context.Context, orgDomain, id string) (*User, error) {
	if err := s.mayWrite(orgDomain, ActionDelete, ResourceUsers); err != nil {
		return nil, err
	}
	var out *User
	err := s.withOrgUser(ctx, orgDomain, id, func(tx *Txn, _ string, u *User) error {
		out = u
		return tx.DeleteUser(u)
	})
	return out, err
}

// withOrgUser runs fn in one write transaction with the user id of the
// organization with domain (its id and the stored record, which fn must
// not mutate: clone it); an unknown or out-of-scope organization or user is
// ErrNotFound.
func (s *Service) withOrgUser(ctx context.Context, orgDomain, id string, fn func(tx *Txn, orgID string, u *User) error) error {
	return s.Update(ctx, func(tx *Txn) error {
		orgID, err := tx.OrgID(orgDomain)
		if err != nil {
			return err
		}
		u, err := tx.OrgUser(orgID, id)
		if err != nil {
			return err
		}
		return fn(tx, orgID, u)
	})
}

// CloneUser returns a deep copy of u, so a mutation can be compared with
// the original.
func CloneUser(u *User) *User { return cloneUser(u) }

func cloneUser(u *User) *User {
	c := *u
	if u.AwaitsVerification != nil {
		a := *u.AwaitsVerification
		c.AwaitsVerification = &a
	}
	c.Roles = append([]string(nil), u.Roles...)
	if c.Roles == nil {
		c.Roles = []string{}
	}
	c.Attributes = make(map[string]any, len(u.Attributes))
	for k, v := range u.Attributes {
		c.Attributes[k] = v
	}
	c.SSOIdentities = append([]SSOIdentity(nil), u.SSOIdentities...)
	if u.Profile.Address != nil {
		a := *u.Profile.Address
		c.Profile.Address = &a
	}
	return &c
}
