package identity

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// Users are the bulk of a directory's bytes (a 10M-user file is mostly
// user records), so they have a compact stored form of their own instead
// of JSON: userCodecV1. A stored user is either
//
//   - JSON, as every build before the codec wrote it (it starts with '{'),
//   - or userCodecV1: the byte 0x01, then the fields below in order.
//
// decodeUserRecord reads both, so a store written by an earlier build
// needs no rewrite: its users turn compact as they are next written. Both
// forms decode to the same User (TestUserCodecDecodesLikeJSON), so nothing
// above the store can tell them apart.
//
// The fields of userCodecV1, in order (uvarint: an unsigned varint;
// string: uvarint length and the bytes as they are, so that byte searches
// over stored users still find the text of every string field):
//
//	id, object_id, org_id  compact id: 1 and 16 bytes (canonical UUID),
//	                       2 and 12 bytes (24 lowercase hex digits),
//	                       0 and a string (anything else)
//	email                  string
//	username               0: equals email, 1 and a string otherwise
//	password_hash          string
//	flags                  uvarint: 1 enabled, 2 verified, 4 awaits_verification
//	                       set, 8 its value
//	roles                  uvarint count+1 (0: nil), then strings
//	attributes             string holding the attributes' JSON ("null" when nil)
//	profile                uvarint mask of the non-empty string claims (bit i:
//	                       profileClaims' i-th), those strings in order, then
//	                       the address: 0 nil, 1 and a string holding its JSON
//	avatar_hexa_color      string
//	sso_identities         uvarint count, then connection id and name id strings
//	failed_logins          varint
//	last_failed_login, locked_until, password_changed_at, inserted_at,
//	updated_at             time: 0 nil pointer, 1 UTC (varint seconds,
//	                       uvarint nanoseconds), 2 other zone (string in
//	                       RFC 3339, as JSON holds it)
//
// A field added to User must be added here, with a new version byte if
// the layout changes; TestUserCodecDecodesLikeJSON fails until it is.
const userCodecV1 = 0x01

// userCodec is the kv.Codec of user records.
type userCodec struct{}

// Encode returns the userCodecV1 form of u.
func (userCodec) Encode(u User) ([]byte, error) { return encodeUser(make([]byte, 0, 256), &u) }

// Decode reads a stored user in either form.
func (userCodec) Decode(raw []byte, u *User) error { return decodeUserRecord(raw, u) }

// errCorruptUser is the cause of every userCodecV1 decoding error.
var errCorruptUser = errors.New("corrupt record")

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendBytesField(b, s []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// appendCompactID appends a compact id (see the layout above).
func appendCompactID(b []byte, id string) []byte {
	if u, ok := kv.ParseUUID(id); ok {
		return append(append(b, 1), u[:]...)
	}
	if len(id) == 24 {
		if out, ok := kv.ParseHex(id, append(b, 2)); ok {
			return out
		}
	}
	return appendString(append(b, 0), id)
}

// encodeUser appends the userCodecV1 form of u to b.
func encodeUser(b []byte, u *User) ([]byte, error) {
	attrs, err := json.Marshal(u.Attributes)
	if err != nil {
		return nil, fmt.Errorf("attributes: %w", err)
	}
	b = append(b, userCodecV1)
	b = appendCompactID(b, u.ID)
	b = appendCompactID(b, u.ObjectID)
	b = appendCompactID(b, u.OrgID)
	b = appendString(b, u.Email)
	if u.Username == u.Email {
		b = append(b, 0)
	} else {
		b = appendString(append(b, 1), u.Username)
	}
	b = appendString(b, u.PasswordHash)
	var flags uint64
	if u.Enabled {
		flags |= 1
	}
	if u.Verified {
		flags |= 2
	}
	if u.AwaitsVerification != nil {
		flags |= 4
		if *u.AwaitsVerification {
			flags |= 8
		}
	}
	b = binary.AppendUvarint(b, flags)
	if u.Roles == nil {
		b = append(b, 0)
	} else {
		b = binary.AppendUvarint(b, uint64(len(u.Roles))+1)
		for _, r := range u.Roles {
			b = appendString(b, r)
		}
	}
	b = appendBytesField(b, attrs)
	if b, err = appendProfile(b, &u.Profile); err != nil {
		return nil, err
	}
	b = appendString(b, u.AvatarHexColor)
	b = binary.AppendUvarint(b, uint64(len(u.SSOIdentities)))
	for _, s := range u.SSOIdentities {
		b = appendString(appendString(b, s.ConnectionID), s.NameID)
	}
	b = binary.AppendVarint(b, int64(u.FailedLogins))
	for _, t := range []*time.Time{u.LastFailedLogin, u.LockedUntil, u.PasswordChangedAt, &u.CreatedAt, &u.UpdatedAt} {
		if b, err = appendTime(b, t); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// profileClaims are the string claims of p, in their stored order: append
// new ones at the end.
func profileClaims(p *Profile) [14]*string {
	return [...]*string{&p.Name, &p.GivenName, &p.FamilyName, &p.MiddleName, &p.Nickname,
		&p.PreferredUsername, &p.ProfileURL, &p.Picture, &p.Website, &p.Gender, &p.Birthdate,
		&p.Zoneinfo, &p.Locale, &p.PhoneNumber}
}

func appendProfile(b []byte, p *Profile) ([]byte, error) {
	claims := profileClaims(p)
	var mask uint64
	for i, c := range claims {
		if *c != "" {
			mask |= 1 << i
		}
	}
	b = binary.AppendUvarint(b, mask)
	for _, c := range claims {
		if *c != "" {
			b = appendString(b, *c)
		}
	}
	if p.Address == nil {
		return append(b, 0), nil
	}
	addr, err := json.Marshal(p.Address)
	if err != nil {
		return nil, fmt.Errorf("address: %w", err)
	}
	return appendBytesField(append(b, 1), addr), nil
}

// appendTime appends t (nil: absent). Like encoding/json, it refuses a
// year outside 0..9999.
func appendTime(b []byte, t *time.Time) ([]byte, error) {
	if t == nil {
		return append(b, 0), nil
	}
	if y := t.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("time %s: year outside of range [0,9999]", t)
	}
	if t.Location() == time.UTC {
		b = binary.AppendVarint(append(b, 1), t.Unix())
		return binary.AppendUvarint(b, uint64(t.Nanosecond())), nil
	}
	text, err := t.MarshalText()
	if err != nil {
		return nil, err
	}
	return appendBytesField(append(b, 2), text), nil
}

// decodeUserRecord decodes a stored user in either form into u.
func decodeUserRecord(raw []byte, u *User) error {
	if len(raw) > 0 && raw[0] == userCodecV1 {
		r := userReader{b: raw[1:], s: string(raw[1:])}
		r.user(u)
		if r.err != nil {
			*u = User{}
			return r.err
		}
		return nil
	}
	return kv.DecodeV2(raw, u)
}

// userReader reads the fields of userCodecV1; the first error sticks.
// Its strings are slices of s, one copy of the record's bytes, so that a
// decode allocates once for all of them.
type userReader struct {
	b   []byte
	s   string
	err error
}

func (r *userReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("stored user: %s: %w", what, errCorruptUser)
	}
	r.b = nil
}

func (r *userReader) uvarint(what string) uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *userReader) varint(what string) int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *userReader) bytes(what string, n uint64) []byte {
	if uint64(len(r.b)) < n {
		r.fail(what)
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *userReader) field(what string) []byte { return r.bytes(what, r.uvarint(what)) }
func (r *userReader) string(what string) string {
	n := r.uvarint(what)
	start := len(r.s) - len(r.b)
	if r.bytes(what, n) == nil {
		return ""
	}
	return r.s[start : start+int(n)]
}

func (r *userReader) compactID(what string) string {
	tag := r.bytes(what, 1)
	if tag == nil {
		return ""
	}
	switch tag[0] {
	case 0:
		return r.string(what)
	case 1:
		if b := r.bytes(what, 16); b != nil {
			return kv.FormatUUID(b)
		}
	case 2:
		if b := r.bytes(what, 12); b != nil {
			return kv.FormatHex(b)
		}
	default:
		r.fail(what)
	}
	return ""
}

// time reads a time; ok is false for an absent one (a nil pointer).
func (r *userReader) time(what string) (t time.Time, ok bool) {
	tag := r.bytes(what, 1)
	if tag == nil {
		return t, false
	}
	switch tag[0] {
	case 0:
		return t, false
	case 1:
		sec, nsec := r.varint(what), r.uvarint(what)
		if nsec >= 1e9 {
			r.fail(what)
			return t, false
		}
		return time.Unix(sec, int64(nsec)).UTC(), true
	case 2:
		p := new(time.Time)
		if err := p.UnmarshalText(r.field(what)); err != nil {
			r.fail(what)
			return t, false
		}
		return *p, true
	}
	r.fail(what)
	return t, false
}

// timePtr reads a time held by a pointer field.
func (r *userReader) timePtr(what string) *time.Time {
	t, ok := r.time(what)
	if !ok {
		return nil
	}
	p := new(time.Time)
	*p = t
	return p
}

func (r *userReader) user(u *User) {
	u.ID = r.compactID("id")
	u.ObjectID = r.compactID("object_id")
	u.OrgID = r.compactID("org_id")
	u.Email = r.string("email")
	if same := r.bytes("username", 1); same != nil {
		switch same[0] {
		case 0:
			u.Username = u.Email
		case 1:
			u.Username = r.string("username")
		default:
			r.fail("username")
		}
	}
	u.PasswordHash = r.string("password_hash")
	flags := r.uvarint("flags")
	u.Enabled, u.Verified = flags&1 != 0, flags&2 != 0
	if flags&4 != 0 {
		awaits := flags&8 != 0
		u.AwaitsVerification = &awaits
	}
	if n := r.uvarint("roles"); n > 0 {
		if n-1 > uint64(len(r.b)) {
			r.fail("roles")
			return
		}
		u.Roles = make([]string, 0, n-1)
		for range n - 1 {
			u.Roles = append(u.Roles, r.string("roles"))
		}
	}
	switch a := r.field("attributes"); {
	case r.err != nil:
	case string(a) == "{}":
		u.Attributes = map[string]any{}
	case string(a) == "null":
	default:
		if err := kv.DecodeV2(a, &u.Attributes); err != nil {
			r.fail("attributes")
		}
	}
	claims := profileClaims(&u.Profile)
	mask := r.uvarint("profile")
	if mask >= 1<<len(claims) {
		r.fail("profile")
	}
	for i, c := range claims {
		if mask&(1<<i) != 0 {
			*c = r.string("profile")
		}
	}
	if tag := r.bytes("address", 1); tag != nil {
		switch tag[0] {
		case 0:
		case 1:
			u.Profile.Address = new(Address)
			if err := kv.DecodeV2(r.field("address"), u.Profile.Address); err != nil {
				r.fail("address")
			}
		default:
			r.fail("address")
		}
	}
	u.AvatarHexColor = r.string("avatar_hexa_color")
	if n := r.uvarint("sso_identities"); n > 0 {
		if n > uint64(len(r.b)) {
			r.fail("sso_identities")
			return
		}
		u.SSOIdentities = make([]SSOIdentity, 0, n)
		for range n {
			u.SSOIdentities = append(u.SSOIdentities, SSOIdentity{ConnectionID: r.string("sso_identities"), NameID: r.string("sso_identities")})
		}
	}
	u.FailedLogins = int(r.varint("failed_logins"))
	u.LastFailedLogin = r.timePtr("last_failed_login")
	u.LockedUntil = r.timePtr("locked_until")
	u.PasswordChangedAt = r.timePtr("password_changed_at")
	var ok bool
	if u.CreatedAt, ok = r.time("inserted_at"); !ok {
		r.fail("inserted_at")
	}
	if u.UpdatedAt, ok = r.time("updated_at"); !ok {
		r.fail("updated_at")
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("trailing bytes")
	}
}
