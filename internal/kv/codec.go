package kv

import (
	"encoding/json"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
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
//
// Both read a JSON number held by an `any` (a custom attribute, a
// definition's default value, event data) as an encoding/json Number
// carrying the stored text, as encoding/json's Decoder.UseNumber does:
// 12345678901234567 stays 12345678901234567 and 1.0 stays 1.0 (a float64
// would round the first and print the second as 1). Since encoding/json
// writes a Number's text as is, such a value goes through storage
// unchanged.
var (
	coreDecoding   = jsonv2.JoinOptions(jsonv1.FormatDurationAsNano(true), exactNumbers)
	legacyDecoding = jsonv2.JoinOptions(jsonv1.DefaultOptionsV1(), exactNumbers)
	exactNumbers   = jsonv2.WithUnmarshalers(jsonv2.UnmarshalFromFunc(func(dec *jsontext.Decoder, v *any) error {
		x, err := decodeAny(dec)
		if err != nil {
			return err
		}
		*v = x
		return nil
	}))
)

// decodeAny reads the next JSON value as encoding/json with UseNumber
// would into an any: objects as map[string]any, arrays as []any, numbers
// as json.Number, strings, booleans and null.
func decodeAny(dec *jsontext.Decoder) (any, error) {
	switch dec.PeekKind() {
	case '{':
		if _, err := dec.ReadToken(); err != nil {
			return nil, err
		}
		m := map[string]any{}
		for dec.PeekKind() != '}' {
			tok, err := dec.ReadToken()
			if err != nil {
				return nil, err
			}
			name := tok.String() // before the next call voids tok
			e, err := decodeAny(dec)
			if err != nil {
				return nil, err
			}
			m[name] = e
		}
		_, err := dec.ReadToken()
		return m, err
	case '[':
		if _, err := dec.ReadToken(); err != nil {
			return nil, err
		}
		l := []any{}
		for dec.PeekKind() != ']' {
			e, err := decodeAny(dec)
			if err != nil {
				return nil, err
			}
			l = append(l, e)
		}
		_, err := dec.ReadToken()
		return l, err
	case '0':
		val, err := dec.ReadValue()
		if err != nil {
			return nil, err
		}
		return json.Number(string(val)), nil
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case 't', 'f':
		return tok.Bool(), nil
	case '"':
		return tok.String(), nil
	}
	return nil, nil
}

// Codec is a record encoding other than JSON, for a kind whose size
// matters (identity's users). Decode must read every form the kind was
// ever stored in, including the JSON of builds before the codec.
type Codec[T any] interface {
	// Encode returns the stored form of v.
	Encode(v T) ([]byte, error)
	// Decode reads a stored form into v, which is the zero value.
	Decode(raw []byte, v *T) error
}

// Encode returns the stored form of a record.
func Encode(v any) ([]byte, error) { return json.Marshal(v) }

// Decode decodes a stored record into v with encoding/json's semantics.
func Decode[T any](raw []byte, v *T) error { return jsonv2.Unmarshal(raw, v, legacyDecoding) }

// DecodeV2 decodes a stored record into v with the v2 defaults; only for
// types whose fields a test round-trips against encoding/json.
func DecodeV2[T any](raw []byte, v *T) error { return jsonv2.Unmarshal(raw, v, coreDecoding) }

// Decode decodes raw, a record of r's kind as Get reads it, into v.
func (r Records[T]) Decode(raw []byte, v *T) error { return r.decode(raw, v) }

func (r Records[T]) decode(raw []byte, v *T) error {
	if r.Codec != nil {
		return r.Codec.Decode(raw, v)
	}
	if r.V2 {
		return DecodeV2(raw, v)
	}
	return Decode(raw, v)
}
