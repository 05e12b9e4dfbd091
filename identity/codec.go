package identity

import (
	"encoding/json"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// Records are stored as the JSON that encoding/json writes, and read back
// with the engine of encoding/json/v2 (github.com/go-json-experiment/json,
// which aliases the standard library's package once the toolchain ships
// it): it decodes the same bytes two to three times faster, and reading is
// on every hot path (get, list, authenticate).
//
// Two configurations of that engine are used:
//   - record types declared in this package, whose every field a test
//     round-trips against encoding/json (TestCoreRecordsDecodeLikeEncodingJSON),
//     use the v2 defaults, with durations as integer nanoseconds as
//     encoding/json writes them;
//   - record types declared elsewhere (Records[T] is exported) use the
//     engine with encoding/json's exact semantics.
var (
	coreDecoding   = jsonv1.FormatDurationAsNano(true)
	legacyDecoding = jsonv1.DefaultOptionsV1()
)

// encodeRecord is the stored form of a record.
func encodeRecord(v any) ([]byte, error) { return json.Marshal(v) }

// decodeRecord decodes a stored record into v.
func decodeRecord[T any](raw []byte, v *T) error {
	switch any(v).(type) {
	case *User, *Organization, *Tenant, *Application, *Credential, *credentialRecord, *Event:
		return jsonv2.Unmarshal(raw, v, coreDecoding)
	}
	return jsonv2.Unmarshal(raw, v, legacyDecoding)
}

// DecodeUser decodes the stored form of a user, as EachOrgUserRaw passes
// it; it is faster than json.Unmarshal on the same bytes.
func DecodeUser(raw []byte) (*User, error) {
	var u User
	if err := decodeRecord(raw, &u); err != nil {
		return nil, err
	}
	return &u, nil
}
