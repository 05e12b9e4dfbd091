package kv

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
//   - record types whose every field a test round-trips against
//     encoding/json (identity's TestCoreRecordsDecodeLikeEncodingJSON; their
//     Records set V2) use the v2 defaults, with durations as integer
//     nanoseconds as encoding/json writes them (DecodeV2);
//   - every other record type uses the engine with encoding/json's exact
//     semantics (Decode).
var (
	coreDecoding   = jsonv1.FormatDurationAsNano(true)
	legacyDecoding = jsonv1.DefaultOptionsV1()
)

// Encode returns the stored form of a record.
func Encode(v any) ([]byte, error) { return json.Marshal(v) }

// Decode decodes a stored record into v with encoding/json's semantics.
func Decode[T any](raw []byte, v *T) error { return jsonv2.Unmarshal(raw, v, legacyDecoding) }

// DecodeV2 decodes a stored record into v with the v2 defaults; only for
// types whose fields a test round-trips against encoding/json.
func DecodeV2[T any](raw []byte, v *T) error { return jsonv2.Unmarshal(raw, v, coreDecoding) }

func (r Records[T]) decode(raw []byte, v *T) error {
	if r.V2 {
		return DecodeV2(raw, v)
	}
	return Decode(raw, v)
}
