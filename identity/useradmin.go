package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Administrator operations on users and directory searches: what a
// management face (the admin console) offers beyond the faces' own
// endpoints, with its rules here once.

// SetUserEnabled enables or disables a user and logs USER_ENABLED or
// USER_DISABLED. Disabling also ends every session of the user, of every
// kind, in the same transaction: a disabled person must not keep a
// signed-in browser. Setting the state the user already has changes
// nothing and logs nothing.
func (s *Service) SetUserEnabled(ctx context.Context, orgDomain, id string, enabled bool) (*User, error) {
	if err := s.mayWrite(orgDomain, ActionUpdate, ResourceUsers); err != nil {
		return nil, err
	}
	var out *User
	err := s.withOrgUser(ctx, orgDomain, id, func(tx *Txn, orgID string, old *User) error {
		out = old
		if old.Enabled == enabled {
			return nil
		}
		u := cloneUser(old)
		u.Enabled, u.UpdatedAt = enabled, s.Now()
		code := EventUserEnabled
		if !enabled {
			code = EventUserDisabled // ReplaceUser ends its sessions
		}
		if err := tx.ReplaceUser(old, u); err != nil {
			return err
		}
		out = u
		return tx.Log(&Event{Code: code, OrgID: orgID, Email: u.Email, ResourceOwnerID: u.ID})
	})
	return out, err
}

// UnlockUser clears a user's password lockout (the failure count and the
// lock) and logs USER_UNLOCKED.
func (s *Service) UnlockUser(ctx context.Context, orgDomain, id string) (*User, error) {
	if err := s.mayWrite(orgDomain, ActionUpdate, ResourceUsers); err != nil {
		return nil, err
	}
	var out *User
	err := s.withOrgUser(ctx, orgDomain, id, func(tx *Txn, orgID string, old *User) error {
		u := cloneUser(old)
		u.FailedLogins, u.LastFailedLogin, u.LockedUntil = 0, nil, nil
		u.UpdatedAt = s.Now()
		if err := tx.ReplaceUser(old, u); err != nil {
			return err
		}
		out = u
		return tx.Log(&Event{Code: EventUserUnlocked, OrgID: orgID, Email: u.Email, ResourceOwnerID: u.ID})
	})
	return out, err
}

// LockedAt reports whether the user's password sign-in is locked at now.
func (u *User) LockedAt(now time.Time) bool {
	return u.LockedUntil != nil && now.Before(*u.LockedUntil)
}

// EndSessions ends every session of the user, of every kind (tickets,
// persistent logins, pending tokens, OIDC refresh families and browser
// sessions), returns how many ended, and logs USER_SESSIONS_ENDED.
func (s *Service) EndSessions(ctx context.Context, orgDomain, id string) (int, error) {
	if err := s.mayWrite(orgDomain, ActionUpdate, ResourceUsers); err != nil {
		return 0, err
	}
	n := 0
	err := s.withOrgUser(ctx, orgDomain, id, func(tx *Txn, orgID string, u *User) (err error) {
		if n, err = tx.EndUserSessions(u, SessionRef{}); err != nil {
			return err
		}
		return tx.Log(&Event{Code: EventUserSessionsEnded, OrgID: orgID, Email: u.Email, ResourceOwnerID: u.ID,
			Data: map[string]any{"sessions": n}})
	})
	return n, err
}

// UserSearch asks for one page of a directory search (SearchUsers).
type UserSearch struct {
	// Query: empty lists every user, newest first; with an "@" it is
	// the start of an email address (case-insensitive), matched through
	// the email index in address order; otherwise it is found anywhere in
	// the email, username or name fields (case-insensitive), newest
	// first.
	Query string
	// MetaKey and MetaValue, when MetaKey is set, keep only the users
	// whose MetaData (attributes) holds MetaKey with exactly MetaValue
	// (a string value as is, another value as its JSON: 42, true), newest
	// first, with the SearchBudget of a text search; a Query then also
	// has to be found in the email, username or name fields.
	MetaKey, MetaValue string
	// After is the cursor of the previous page's Next ("" for the first).
	After string
	// Limit is the page size (default DefaultPerPage, at most MaxPerPage).
	Limit int
}

// UserSearchPage is one page of SearchUsers. Next is the cursor of the
// following page, "" on the last. Scanned counts the users a text search
// read (zero for the other kinds).
type UserSearchPage struct {
	Users   []User
	Next    string
	Scanned int
}

// SearchBudget bounds the users one page of a text search reads. When it
// is spent before the page fills, the page ends early with a Next cursor,
// so a page's cost stays bounded in any directory size.
const SearchBudget = 5000

// SearchUsers searches an organization's directory (see UserSearch). Its
// cost does not grow with the directory: an email search reads the index
// from the prefix on, an empty query one page of the user list, and a text
// search at most SearchBudget users, skipping most of them with a test on
// their stored bytes before decoding the matches.
func (s *Service) SearchUsers(ctx context.Context, orgDomain string, q UserSearch) (UserSearchPage, error) {
	if q.Limit <= 0 {
		q.Limit = DefaultPerPage
	}
	q.Limit = min(q.Limit, MaxPerPage)
	query := strings.TrimSpace(q.Query)
	var meta *metaMatch
	if q.MetaKey != "" || q.MetaValue != "" {
		m, err := newMetaMatch(q.MetaKey, q.MetaValue)
		if err != nil {
			return UserSearchPage{}, err
		}
		meta = m
	}
	if query == "" && meta == nil {
		users, next, err := s.IterateUsers(ctx, orgDomain, q.After, q.Limit)
		return UserSearchPage{Users: users, Next: next}, err
	}
	if len(query) > 254 || !utf8.ValidString(query) {
		return UserSearchPage{}, Invalid("q", "must be at most 254 characters of text")
	}
	var page UserSearchPage
	err := s.View(ctx, func(tx *ReadTxn) error {
		orgID, err := tx.OrgID(orgDomain)
		if err != nil {
			return err
		}
		if meta == nil && strings.Contains(query, "@") {
			return tx.searchEmail(orgID, NormalizeEmail(query), q, &page)
		}
		return tx.searchText(orgID, query, meta, q, &page)
	})
	return page, err
}

// metaMatch is the MetaData condition of a search: attribute key holds
// value (a string as is, another value as its JSON).
type metaMatch struct {
	key, value string
	// needle is what the stored bytes of a match contain (ASCII case
	// folded): the value as it appears in the record's JSON.
	needle []byte
}

func newMetaMatch(key, value string) (*metaMatch, error) {
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	if key == "" || len(key) > 128 || !utf8.ValidString(key) {
		return nil, Invalid("meta", "must be key=value with a key of at most 128 characters")
	}
	if len(value) > 254 || !utf8.ValidString(value) {
		return nil, Invalid("meta", "must have a value of at most 254 characters of text")
	}
	m := &metaMatch{key: key, value: value}
	// A string value is stored JSON-escaped; only plain ASCII values give
	// a byte test that cannot miss a match.
	plain := value != ""
	for _, c := range []byte(value) {
		if c >= 0x80 || c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			plain = false
		}
	}
	if plain {
		m.needle = []byte(strings.ToLower(value))
	}
	return m, nil
}

// matches reports whether the user's MetaData holds the key with the value.
func (m *metaMatch) matches(u *User) bool {
	v, ok := u.Attributes[m.key]
	if !ok || v == nil {
		return false
	}
	if s, ok := v.(string); ok {
		return s == m.value
	}
	b, err := json.Marshal(v)
	return err == nil && string(b) == m.value
}

func (t *ReadTxn) searchEmail(orgID, prefix string, q UserSearch, page *UserSearchPage) error {
	last := ""
	n := 0
	err := userEmails(t.s.env).Scan(t.tx, orgID, prefix, q.After, q.Limit+1, func(email, id string) error {
		n++
		if n > q.Limit {
			page.Next = last
			return ErrStopScan
		}
		u, err := t.OrgUser(orgID, id)
		if errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		page.Users = append(page.Users, *u)
		last = email
		return nil
	})
	return err
}

func (t *ReadTxn) searchText(orgID, query string, meta *metaMatch, q UserSearch, page *UserSearchPage) error {
	needle := []byte(strings.ToLower(query))
	asciiOnly := true
	for _, c := range needle {
		if c >= 0x80 || c == '"' || c == '\\' {
			asciiOnly = false
		}
	}
	lower := strings.ToLower(query)
	set := orgUsers(t.s.env, orgID)
	prefix := set.Prefix()
	opts := ScanOptions{Reverse: true, KeysOnly: true}
	if q.After != "" {
		opts.After = append(append([]byte(nil), prefix...), q.After...)
	}
	recs := users(t.s.env)
	visited := ""
	err := t.tx.Scan(prefix, opts, func(k, _ []byte) error {
		if len(page.Users) >= q.Limit || page.Scanned >= SearchBudget {
			page.Next = visited
			return ErrStopScan
		}
		id := string(k[len(prefix):])
		page.Scanned++
		visited = id
		raw, err := t.tx.Get(recs.Key(id))
		if errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		// The stored JSON holds every searched field: a record whose bytes
		// do not contain the query (ASCII case folded) cannot match.
		if asciiOnly && !containsFold(raw, needle) {
			return nil
		}
		if meta != nil && meta.needle != nil && !containsFold(raw, meta.needle) {
			return nil
		}
		u, err := DecodeUser(raw)
		if err != nil {
			return fmt.Errorf("user %s: %w", id, err)
		}
		if meta != nil && !meta.matches(u) {
			return nil
		}
		p := &u.Profile
		for _, f := range []string{u.Email, u.Username, p.Name, p.GivenName, p.FamilyName, p.Nickname} {
			if strings.Contains(strings.ToLower(f), lower) {
				page.Users = append(page.Users, *u)
				break
			}
		}
		return nil
	})
	if errors.Is(err, ErrStopScan) {
		err = nil
	}
	return err
}

// containsFold reports whether b contains the lower-case ASCII needle,
// ignoring ASCII case in b.
func containsFold(b, needle []byte) bool {
	if len(needle) == 0 {
		return true
	}
	c0 := needle[0]
	up := c0
	if 'a' <= c0 && c0 <= 'z' {
		up = c0 - 'a' + 'A'
	}
	for i := 0; i+len(needle) <= len(b); {
		j := bytes.IndexByte(b[i:], c0)
		if up != c0 {
			if k := bytes.IndexByte(b[i:], up); k >= 0 && (j < 0 || k < j) {
				j = k
			}
		}
		if j < 0 {
			return false
		}
		i += j
		if i+len(needle) > len(b) {
			return false
		}
		ok := true
		for n := 1; n < len(needle); n++ {
			c := b[i+n]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != needle[n] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
		i++
	}
	return false
}

// OrgSearch asks for one page of SearchOrganizations.
type OrgSearch struct {
	// Query is the start of the organizations' domain or name (matched on
	// its slug, as domains are made).
	Query string
	// After is the cursor of the previous page's Next ("" for the first).
	After string
	// Limit is the page size (default DefaultPerPage, at most MaxPerPage).
	Limit int
}

// OrgSearchPage is one page of SearchOrganizations, in domain order.
type OrgSearchPage struct {
	Orgs []Organization
	Next string
}

// SearchOrganizations finds organizations whose domain starts with the
// slug of q.Query, in domain order, through the domain index: its cost is
// that of the page, whatever the number of organizations. A scoped
// Service finds only organizations in its scope.
func (s *Service) SearchOrganizations(ctx context.Context, q OrgSearch) (OrgSearchPage, error) {
	if q.Limit <= 0 {
		q.Limit = DefaultPerPage
	}
	q.Limit = min(q.Limit, MaxPerPage)
	if len(q.Query) > 255 || !utf8.ValidString(q.Query) {
		return OrgSearchPage{}, Invalid("q", "must be at most 255 characters of text")
	}
	prefix := Slug(q.Query)
	if strings.TrimSpace(q.Query) != "" && prefix == "" {
		return OrgSearchPage{}, nil
	}
	var page OrgSearchPage
	err := s.View(ctx, func(tx *ReadTxn) error {
		page = OrgSearchPage{}
		last := ""
		// A limited scope lists few organizations: filter them.
		return orgDomains.Scan(tx.tx, "", prefix, q.After, 0, func(domain, id string) error {
			if !s.Manages(domain) {
				return nil
			}
			if len(page.Orgs) == q.Limit {
				page.Next = last
				return ErrStopScan
			}
			o, err := tx.OrgByID(id)
			if errors.Is(err, ErrNotFound) {
				return nil
			} else if err != nil {
				return err
			}
			page.Orgs = append(page.Orgs, *o)
			last = domain
			return nil
		})
	})
	return page, err
}
