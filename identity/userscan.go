package identity

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// EachOrgUserRaw calls fn with the id and the stored encoding of every
// user of orgID, in creation order, without decoding them, so a caller
// scanning a large directory can skip most users with a cheap test on the
// bytes (RawUserMayHold) before decoding the few it keeps (DecodeUser).
// raw is valid only during the call. Return ErrStopScan to stop.
func (t *ReadTxn) EachOrgUserRaw(orgID string, fn func(id string, raw []byte) error) error {
	recs := users(t.s.env)
	err := orgUsers(t.s.env, orgID).Each(t.tx, false, func(id string, _ []byte) error {
		raw, err := t.tx.Get(recs.Key(id))
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("user %s: %w", id, err)
		}
		return fn(id, raw)
	})
	if errors.Is(err, ErrStopScan) {
		return nil
	}
	return err
}

// RawUserMayHold reports whether the user stored as raw (as
// EachOrgUserRaw passes it) may have a string field, a profile claim or a
// string attribute equal to s: false means that none has. s must be
// printable ASCII without the characters a JSON encoder may escape
// (", \\, <, >, &); for any other s it answers true. Both stored forms
// (usercodec.go) hold every such string as its bytes, JSON quoted or not.
func RawUserMayHold(raw []byte, s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return true
		}
	}
	if len(raw) > 0 && raw[0] == '{' {
		return containsQuoted(raw, s)
	}
	return bytes.Contains(raw, []byte(s))
}

// containsQuoted reports whether raw contains s between double quotes.
func containsQuoted(raw []byte, s string) bool {
	for {
		i := bytes.Index(raw, []byte(s))
		if i < 0 {
			return false
		}
		if i > 0 && raw[i-1] == '"' && i+len(s) < len(raw) && raw[i+len(s)] == '"' {
			return true
		}
		raw = raw[i+1:]
	}
}

// UserKey returns the store key of the record of user id in env, for
// Gatehouse's own tools and benchmarks that read the engine directly.
func UserKey(a kv.Access, env Environment, id string) []byte {
	a.Check()
	return users(env).Key(id)
}
