package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// ImportStatus is the outcome of one user of ImportUsers.
type ImportStatus string

// Outcomes of ImportUsers.
const (
	// ImportCreated: the user was written (or, in a dry run, would be).
	ImportCreated ImportStatus = "created"
	// ImportExists: a user with the same ObjectID is already in the
	// organization (an import run again); nothing was changed.
	ImportExists ImportStatus = "exists"
	// ImportDuplicate: the email (case-insensitively) or the username is
	// held by another user of the organization, or the ObjectID by a user
	// of another organization; ImportResult.Field names which.
	ImportDuplicate ImportStatus = "duplicate"
	// ImportInvalid: the user breaks the user rule (ValidateUser) or the
	// import's own (an ObjectID that is not 24 hex digits, SSO
	// identities); ImportResult.Err is the *InvalidError.
	ImportInvalid ImportStatus = "invalid"
)

// ImportOptions tune ImportUsers.
type ImportOptions struct {
	// BatchSize is the number of users written per transaction (default
	// 1000). A batch commits as a whole; a rejected user never stops its
	// batch.
	BatchSize int
	// DryRun runs every check a real import runs, against the store and
	// the users before it in the same call, and writes nothing.
	DryRun bool
	// EventPerUser logs a USER_CREATED event for each user created, as
	// CreateUser does. By default a batch logs one USERS_IMPORTED event
	// (its Data holds the count and the first and last user ids): a bulk
	// import is one change, and ten million events of one kind would
	// take a third of the store.
	EventPerUser bool
}

// DefaultImportBatch is ImportOptions.BatchSize's default.
const DefaultImportBatch = 1000

// ImportResult is the outcome of the user at Index of ImportUsers' input.
type ImportResult struct {
	Index int
	// ObjectID is the user's ObjectID (given, or generated when empty).
	ObjectID string
	// UserID is the id of the user created, or of the user that already
	// exists (ImportExists) or holds the field (ImportDuplicate).
	UserID string
	Status ImportStatus
	// Field is the field of a duplicate: "object_id", "email" or
	// "username".
	Field string
	// Err says why a user was not created (wraps ErrConflict or
	// ErrInvalid); nil for ImportCreated.
	Err error
}

// errDryRun rolls back a dry run's transaction.
var errDryRun = errors.New("identity: dry run")

// ImportUsers creates users that come from another system (a Crafter
// Profile database) in the organization with domain orgDomain, in
// transactions of opts.BatchSize users, and returns one result per input
// user, in order. It is the bulk form of CreateUser for records that
// already have an identity:
//
//   - ObjectID is kept (a new one is made when empty); an ObjectID
//     already in the organization answers ImportExists, so running the
//     same import again changes nothing;
//   - PasswordHash is stored as given: an argon2id hash or a legacy
//     Crafter hash (base64(hash)|base64(salt)), which the password
//     hasher verifies and upgrades to argon2id at the next login;
//   - CreatedAt and UpdatedAt are kept when set (the user's id is a
//     time-ordered UUID of CreatedAt, so lists keep the original order);
//   - Username defaults to the email, Roles are deduplicated, and the
//     tenant's attribute default values fill the attributes a user lacks,
//     as CreateUser does.
//
// Every user passes the one user rule (ValidateUser, once) and the
// uniqueness of its email (case-insensitively) and username in the
// organization, and is written with its indexes and counters, as
// Txn.InsertUser does; each batch that creates users logs one
// USERS_IMPORTED event (or one USER_CREATED per user: see
// ImportOptions.EventPerUser). A user that fails is reported (ImportDuplicate,
// ImportInvalid) and never fails the rest. The error is for the store,
// the context or an unknown organization (ErrNotFound); results of
// batches committed before it stay written.
func (s *Service) ImportUsers(ctx context.Context, orgDomain string, in []User, opts ImportOptions) ([]ImportResult, error) {
	if err := s.mayWrite(orgDomain, ActionCreate, ResourceUsers); err != nil {
		return nil, err
	}
	size := opts.BatchSize
	if size <= 0 {
		size = DefaultImportBatch
	}
	out := make([]ImportResult, len(in))
	prepared := make([]*User, len(in))
	for i := range in {
		u, err := s.importable(&in[i])
		var invalid *InvalidError
		switch {
		case errors.As(err, &invalid):
			out[i] = ImportResult{Index: i, ObjectID: in[i].ObjectID, Status: ImportInvalid, Err: err}
			continue
		case err != nil: // the random source
			return nil, err
		}
		prepared[i] = u
	}
	seen := newImportSeen(nil)
	ctx = kv.WithBulk(ctx) // large transactions, written straight into the store
	for start := 0; start < len(in); start += size {
		if err := ctx.Err(); err != nil {
			return out[:start], err
		}
		end := min(start+size, len(in))
		batch := make([]ImportResult, end-start)
		var layer *importSeen
		err := s.Update(ctx, func(tx *Txn) error {
			layer = newImportSeen(seen)
			// The users join their sets' counts once per batch.
			tx.counts = &kv.CountBatch{}
			orgID, err := tx.OrgID(orgDomain)
			if err != nil {
				return err
			}
			tn, err := tx.Tenant(orgID)
			if err != nil {
				return err
			}
			created, first, last := 0, "", ""
			for i := start; i < end; i++ {
				r := &batch[i-start]
				if prepared[i] == nil {
					*r = out[i]
					continue
				}
				u := cloneUser(prepared[i])
				u.OrgID = orgID
				*r = ImportResult{Index: i, ObjectID: u.ObjectID}
				if err := tx.importUser(tn, u, r, layer, opts.EventPerUser); err != nil {
					return err
				}
				if r.Status == ImportCreated {
					if created == 0 {
						first = u.ID
					}
					created, last = created+1, u.ID
				}
			}
			if opts.DryRun {
				return errDryRun
			}
			if err := tx.counts.Flush(tx.w); err != nil {
				return err
			}
			tx.counts = nil
			if created > 0 && !opts.EventPerUser {
				return tx.Log(&Event{Code: EventUsersImported, OrgID: orgID,
					Data: map[string]any{"count": created, "first_user_id": first, "last_user_id": last}})
			}
			return nil
		})
		if err != nil && !(opts.DryRun && errors.Is(err, errDryRun)) {
			return out[:start], err
		}
		copy(out[start:end], batch)
		seen.merge(layer)
	}
	return out, nil
}

// importable checks what ImportUsers needs of a user before any
// transaction and returns the user to write (ids, defaults).
func (s *Service) importable(in *User) (*User, error) {
	u := cloneUser(in)
	u.ObjectID = strings.ToLower(strings.TrimSpace(u.ObjectID))
	u.Email = strings.TrimSpace(u.Email)
	if u.Username == "" {
		u.Username = u.Email
	}
	u.Roles = dedupe(u.Roles)
	var v Validation
	if u.ObjectID != "" && !IsObjectID(u.ObjectID) {
		v.Add("object_id", "must be 24 hexadecimal digits")
	}
	if len(u.SSOIdentities) > 0 {
		v.Add("sso_identities", "cannot be imported")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.Now()
	if u.CreatedAt.IsZero() {
		u.CreatedAt = now
	}
	u.CreatedAt = u.CreatedAt.UTC().Truncate(time.Microsecond)
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	u.UpdatedAt = u.UpdatedAt.UTC().Truncate(time.Microsecond)
	var err error
	if u.ID, err = NewID(s.rand, u.CreatedAt); err != nil {
		return nil, err
	}
	if u.ObjectID == "" {
		if u.ObjectID, err = NewObjectID(s.rand, u.CreatedAt); err != nil {
			return nil, err
		}
	}
	u.FailedLogins, u.LastFailedLogin, u.LockedUntil = 0, nil, nil
	return u, nil
}

// importSeen is what one ImportUsers call has created: the user ids (a
// second user with the same ObjectID in one input is a duplicate, not an
// import run again) and the values they claimed, which a dry run, whose
// batches roll back, cannot find in the store. A batch's attempt writes
// into its own layer (a transaction may run more than once), merged into
// the call's once the batch is done.
type importSeen struct {
	parent *importSeen
	ids    map[string]bool
	oids   map[string]string
	emails map[string]string
	names  map[string]string
}

func newImportSeen(parent *importSeen) *importSeen {
	return &importSeen{parent: parent, ids: map[string]bool{}, oids: map[string]string{},
		emails: map[string]string{}, names: map[string]string{}}
}

// add notes u, created.
func (s *importSeen) add(u *User) {
	s.ids[u.ID] = true
	s.oids[u.ObjectID] = u.ID
	s.emails[NormalizeEmail(u.Email)] = u.ID
	s.names[u.Username] = u.ID
}

// merge adds the layer l into s.
func (s *importSeen) merge(l *importSeen) {
	for k := range l.ids {
		s.ids[k] = true
	}
	for _, m := range [][2]map[string]string{{s.oids, l.oids}, {s.emails, l.emails}, {s.names, l.names}} {
		for k, v := range m[1] {
			m[0][k] = v
		}
	}
}

// created reports whether this call created the user with id.
func (s *importSeen) created(id string) bool {
	for l := s; l != nil; l = l.parent {
		if l.ids[id] {
			return true
		}
	}
	return false
}

// find returns who this call gave value in the map pick selects.
func (s *importSeen) find(pick func(*importSeen) map[string]string, value string) (string, bool) {
	for l := s; l != nil; l = l.parent {
		if id, ok := pick(l)[value]; ok {
			return id, true
		}
	}
	return "", false
}

// lookup finds value in the index or, for a dry run, among the users
// this call would have created.
func (s *importSeen) lookup(tx ReadTx, index kv.Unique, scope, value string, pick func(*importSeen) map[string]string) (string, error) {
	if id, ok := s.find(pick, value); ok {
		return id, nil
	}
	return index.Lookup(tx, scope, value)
}

// importUser classifies u into r and, when it is new and valid, inserts
// it (logging USER_CREATED when event is set). The error is a store error
// only (it aborts the batch).
func (t *Txn) importUser(tn *Tenant, u *User, r *ImportResult, seen *importSeen, event bool) error {
	env := t.s.env
	if id, err := seen.lookup(t.tx, userOIDs(env), "", u.ObjectID, func(l *importSeen) map[string]string { return l.oids }); err == nil {
		r.UserID = id
		if seen.created(id) {
			r.Status, r.Field = ImportDuplicate, "object_id"
			r.Err = fmt.Errorf("object id %s is given twice: %w", u.ObjectID, ErrConflict)
			return nil
		}
		other, err := t.User(id)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if other != nil && other.OrgID == u.OrgID {
			r.Status, r.Err = ImportExists, fmt.Errorf("user %s already exists: %w", u.ObjectID, ErrConflict)
			return nil
		}
		// Held in another organization: say so without naming it.
		r.UserID = ""
		r.Status, r.Field = ImportDuplicate, "object_id"
		r.Err = fmt.Errorf("object id %s is taken: %w", u.ObjectID, ErrConflict)
		return nil
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	for _, d := range tn.AttributeDefinitions {
		if _, ok := u.Attributes[d.Name]; !ok && d.DefaultValue != nil {
			if u.Attributes == nil {
				u.Attributes = map[string]any{}
			}
			u.Attributes[d.Name] = d.DefaultValue
		}
	}
	if u.Attributes == nil {
		u.Attributes = map[string]any{}
	}
	typeMetaValues(tn, u)
	if err := ValidateUser(tn, u); err != nil {
		r.Status, r.Err = ImportInvalid, err
		return nil
	}
	for _, c := range []struct {
		field, value string
		index        kv.Unique
		pick         func(*importSeen) map[string]string
	}{
		{"email", NormalizeEmail(u.Email), userEmails(env), func(l *importSeen) map[string]string { return l.emails }},
		{"username", u.Username, userNames(env), func(l *importSeen) map[string]string { return l.names }},
	} {
		id, err := seen.lookup(t.tx, c.index, u.OrgID, c.value, c.pick)
		if err == nil {
			r.UserID, r.Status, r.Field = id, ImportDuplicate, c.field
			r.Err = &conflictField{field: c.field, err: fmt.Errorf("%s %q: %w", c.field, c.value, ErrConflict)}
			return nil
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	if err := t.insertValid(tn, u); err != nil {
		return err
	}
	if event {
		if err := t.Log(&Event{Code: EventUserCreated, OrgID: u.OrgID, Email: u.Email, ResourceOwnerID: u.ID}); err != nil {
			return err
		}
	}
	seen.add(u)
	r.UserID, r.Status = u.ID, ImportCreated
	return nil
}
