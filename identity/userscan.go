package identity

import (
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// EachOrgUserRaw calls fn with the id and the stored JSON encoding of
// every user of orgID, in creation order, without decoding them, so a
// caller scanning a large directory can skip most users with a cheap test
// on the bytes before decoding the few it keeps (DecodeUser, or
// json.Unmarshal into a User). raw is valid only during the call. Return
// ErrStopScan to stop.
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

// UserKey returns the store key of the record of user id in env, for
// Gatehouse's own tools and benchmarks that read the engine directly.
func UserKey(a kv.Access, env Environment, id string) []byte {
	a.Check()
	return users(env).Key(id)
}
