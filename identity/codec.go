package identity

import "github.com/gatehouse-id/gatehouse/internal/kv"

// Records are stored as the JSON that encoding/json writes and read back
// with the engine of encoding/json/v2 (see internal/kv's codec.go). The
// record types of this package listed in decodeRecord, whose every field
// TestCoreRecordsDecodeLikeEncodingJSON round-trips against encoding/json,
// use the v2 defaults (their Records set V2); every other type uses
// encoding/json's exact semantics.

// encodeRecord is the stored form of a record.
func encodeRecord(v any) ([]byte, error) { return kv.Encode(v) }

// decodeRecord decodes a stored record into v.
func decodeRecord[T any](raw []byte, v *T) error {
	switch u := any(v).(type) {
	case *User:
		return decodeUserRecord(raw, u)
	case *Organization, *Tenant, *Application, *Credential, *credentialRecord, *Event:
		return kv.DecodeV2(raw, v)
	}
	return kv.Decode(raw, v)
}

// DecodeUser decodes the stored form of a user, as EachOrgUserRaw passes
// it: the compact form of usercodec.go, or the JSON of earlier builds.
func DecodeUser(raw []byte) (*User, error) {
	var u User
	if err := decodeRecord(raw, &u); err != nil {
		return nil, err
	}
	return &u, nil
}
