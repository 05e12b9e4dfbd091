package identity

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// fill sets every field reachable from v (a pointer) to a non-zero value
// derived from seed, so that a round trip exercises every field.
func fill(t *testing.T, v reflect.Value, seed int) {
	t.Helper()
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), seed)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 3, 4, 5, 6, 7, 890123000+seed, time.UTC)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(t, v.Field(i), seed+i+1)
			}
		}
	case reflect.String:
		v.SetString("s\u00e9\"<&>\\" + string(rune('a'+seed%26)))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Uint8:
		v.SetUint(uint64(seed % 256))
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(int64(1000003 * (seed + 1)))
	case reflect.Float64:
		v.SetFloat(float64(seed) + 0.25)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(t, s.Index(i), seed+i)
		}
		v.Set(s)
	case reflect.Array:
		for i := range v.Len() {
			fill(t, v.Index(i), seed+i)
		}
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for i := range 2 {
			k := reflect.New(v.Type().Key()).Elem()
			fill(t, k, seed+i)
			e := reflect.New(v.Type().Elem()).Elem()
			fill(t, e, seed+i)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Interface:
		v.Set(reflect.ValueOf(map[string]any{"n": 1.5, "list": []any{"x", true, nil}, "s": "v"}))
	default:
		t.Fatalf("fill: unhandled kind %s (%s): extend the test", v.Kind(), v.Type())
	}
}

// roundTrip checks that decodeRecord reads what encoding/json writes
// exactly as encoding/json reads it with UseNumber (numbers inside any
// values stay as written, internal/kv's codec.go).
func roundTrip[T any](t *testing.T, name string) {
	t.Run(name, func(t *testing.T) {
		var full T
		fill(t, reflect.ValueOf(&full).Elem(), 0)
		for _, in := range []T{full, *new(T)} {
			raw, err := encodeRecord(in)
			if err != nil {
				t.Fatal(err)
			}
			var want, got T
			if err := unmarshalNumbers(raw, &want); err != nil {
				t.Fatal(err)
			}
			if err := decodeRecord(raw, &got); err != nil {
				t.Fatalf("decodeRecord(%s): %v", raw, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decodeRecord(%s)\n got  %#v\n want %#v", raw, got, want)
			}
		}
	})
}

// TestCoreRecordsDecodeLikeEncodingJSON guards the fast decoding of this
// package's record types (codec.go): a field added to one of them that the
// v2 defaults would read differently fails here.
func TestCoreRecordsDecodeLikeEncodingJSON(t *testing.T) {
	roundTrip[User](t, "User")
	roundTrip[Organization](t, "Organization")
	roundTrip[Tenant](t, "Tenant")
	roundTrip[Application](t, "Application")
	roundTrip[Credential](t, "Credential")
	roundTrip[credentialRecord](t, "credentialRecord")
	roundTrip[Event](t, "Event")
}

// TestForeignRecordsDecodeLikeEncodingJSON checks the legacy configuration
// on shapes v2 reads differently by default: a duration, a fixed array and
// a ",string" field.
func TestForeignRecordsDecodeLikeEncodingJSON(t *testing.T) {
	type foreign struct {
		TTL   time.Duration `json:"ttl"`
		Pair  [2]int        `json:"pair"`
		Count int           `json:"count,string"`
		Name  string        `json:"name,string"`
		Any   any           `json:"any"`
	}
	roundTrip[foreign](t, "foreign")
	var got, want foreign
	raw := []byte(`{"TTL":5,"pair":[1,2,3],"NAME":"\"x\""}`) // case-insensitive names, a longer array
	if err := unmarshalNumbers(raw, &want); err != nil {
		t.Fatal(err)
	}
	if err := decodeRecord(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("decodeRecord(%s) = %+v, want %+v", raw, got, want)
	}
}

// unmarshalNumbers is json.Unmarshal with UseNumber.
func unmarshalNumbers(raw []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	return d.Decode(v)
}

func TestDecodeUser(t *testing.T) {
	u := User{ID: "u1", Email: "a@example.com", Roles: []string{},
		Attributes: map[string]any{"n": json.Number("2.0"), "big": json.Number("12345678901234567")}}
	raw, err := encodeRecord(u)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeUser(raw)
	if err != nil || !reflect.DeepEqual(*got, u) {
		t.Errorf("DecodeUser = %+v, %v; want %+v", got, err, u)
	}
	for _, bad := range []string{``, `{`, `{"id":1}`, `[]`, `{"attributes":[]}`} {
		if _, err := DecodeUser([]byte(bad)); err == nil {
			t.Errorf("DecodeUser(%q) succeeded", bad)
		}
	}
}

// BenchmarkDecodeUser decodes a stored user with encoding/json and with
// decodeRecord in turn, each iteration, and reports both costs and their
// ratio (x-faster) measured under the same machine load.
func BenchmarkDecodeUser(b *testing.B) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 123456000, time.UTC)
	u := User{ID: "01935e7a-1c2b-7d3e-8f40-123456789abc", ObjectID: "64f1a2b3c4d5e6f708192a3b",
		OrgID: "01935e7a-0000-7d3e-8f40-123456789abc", Email: "user000123@bench.example",
		Username: "user000123@bench.example", Enabled: true, Roles: []string{"admin"},
		Attributes: map[string]any{"plan": "pro", "seats": 12.0}, AvatarHexColor: "#a1b2c3",
		Profile:   Profile{GivenName: "Ada", FamilyName: "Lovelace", Address: &Address{Locality: "Lyon", Country: "FR"}},
		CreatedAt: now, UpdatedAt: now}
	raw, err := encodeRecord(u)
	if err != nil {
		b.Fatal(err)
	}
	var std, rec time.Duration
	for b.Loop() {
		t0 := time.Now()
		var v1, v2 User
		if err := json.Unmarshal(raw, &v1); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := decodeRecord(raw, &v2); err != nil {
			b.Fatal(err)
		}
		std += t1.Sub(t0)
		rec += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(std.Nanoseconds())/n, "encoding-json-ns/op")
	b.ReportMetric(float64(rec.Nanoseconds())/n, "decodeRecord-ns/op")
	b.ReportMetric(float64(std)/float64(rec), "x-faster")
}
