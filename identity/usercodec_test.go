package identity

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

// codecUsers are users whose every field, and every special case of the
// compact form (ids that are and are not UUIDs or ObjectIDs, nil and
// empty lists and maps, times in and out of UTC, nil and zero time
// pointers, a username apart from the email), the codec tests cover.
func codecUsers(t *testing.T) map[string]User {
	var full User
	fill(t, reflect.ValueOf(&full).Elem(), 0)
	utc := time.Date(2026, 1, 1, 0, 0, 0, 123456789, time.UTC)
	zero := time.Time{}
	typical := User{ID: "01935e7a-1c2b-7d3e-8f40-123456789abc", ObjectID: "64f1a2b3c4d5e6f708192a3b",
		OrgID: "01935e7a-0000-7d3e-8f40-123456789abc", Email: "user000123@bench.example",
		Username: "user000123@bench.example", PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdA$aGFzaA",
		Enabled: true, Verified: true, Roles: []string{"member"}, Attributes: map[string]any{},
		Profile: Profile{GivenName: "Ada", FamilyName: "Lovelace"}, CreatedAt: utc, UpdatedAt: utc}
	odd := typical
	odd.ID = "01935E7A-1C2B-7D3E-8F40-123456789ABC" // not canonical: kept as text
	odd.ObjectID = "64F1A2B3C4D5E6F708192A3B"
	odd.OrgID = "01935e7a_0000-7d3e-8f40-123456789abc"
	odd.Username = "ada"
	odd.Roles = []string{}
	odd.Attributes = map[string]any{"n": json.Number("2.0"), "big": json.Number("12345678901234567"), "l": []any{"x", nil, true}}
	odd.SSOIdentities = []SSOIdentity{{ConnectionID: "c1", NameID: "n1"}, {ConnectionID: "c2", NameID: ""}}
	odd.FailedLogins = -3
	odd.LastFailedLogin = &zero
	paris := time.Date(2026, 6, 1, 12, 0, 0, 5, time.FixedZone("", 2*3600))
	odd.LockedUntil = &paris
	odd.CreatedAt = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	odd.UpdatedAt = paris
	nils := typical
	nils.Roles, nils.Attributes, nils.Email, nils.Username = nil, nil, "", ""
	nils.SSOIdentities = []SSOIdentity{} // empty: JSON omits it, so it reads back nil
	return map[string]User{"full": full, "zero": {}, "typical": typical, "odd": odd, "nils": nils}
}

// TestUserCodecDecodesLikeJSON guards the compact form of users
// (usercodec.go): for every case, a user stored compact reads back exactly
// as the same user stored as JSON (the form of earlier builds) reads,
// which also reads back through the same path; and the compact form is
// the smaller. A field added to User that the codec forgets fails here
// (fill sets every field).
func TestUserCodecDecodesLikeJSON(t *testing.T) {
	for name, u := range codecUsers(t) {
		t.Run(name, func(t *testing.T) {
			js, err := encodeRecord(u)
			if err != nil {
				t.Fatal(err)
			}
			var want User
			if err := unmarshalNumbers(js, &want); err != nil {
				t.Fatal(err)
			}
			compact, err := userCodec{}.Encode(u)
			if err != nil {
				t.Fatal(err)
			}
			for form, raw := range map[string][]byte{"compact": compact, "json": js} {
				var got User
				if err := (userCodec{}).Decode(raw, &got); err != nil {
					t.Fatalf("%s: %v", form, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s form read back\n got  %#v\n want %#v", form, got, want)
				}
				viaDecodeUser, err := DecodeUser(raw)
				if err != nil || !reflect.DeepEqual(*viaDecodeUser, want) {
					t.Errorf("DecodeUser(%s form) = %#v, %v", form, viaDecodeUser, err)
				}
			}
			if len(compact) >= len(js) {
				t.Errorf("compact form %d bytes, JSON %d", len(compact), len(js))
			}
			if name == "typical" {
				t.Logf("typical user: %d bytes compact, %d as JSON", len(compact), len(js))
			}
		})
	}
}

// TestUserCodecRefusesDamage: a damaged compact record (cut short
// anywhere, trailing bytes, an unknown tag) is an error, never a panic or
// a half-read user.
func TestUserCodecRefusesDamage(t *testing.T) {
	for name, u := range codecUsers(t) {
		raw, err := userCodec{}.Encode(u)
		if err != nil {
			t.Fatal(err)
		}
		for n := 1; n < len(raw); n++ {
			var got User
			if err := decodeUserRecord(raw[:n], &got); !errors.Is(err, errCorruptUser) {
				t.Fatalf("%s cut to %d of %d bytes: err %v", name, n, len(raw), err)
			}
			if !reflect.DeepEqual(got, User{}) {
				t.Fatalf("%s cut to %d bytes left a half-read user %+v", name, n, got)
			}
		}
		if err := decodeUserRecord(append(raw, 0), new(User)); !errors.Is(err, errCorruptUser) {
			t.Errorf("%s with a trailing byte: err %v", name, err)
		}
	}
	for _, raw := range [][]byte{{userCodecV1, 9}, {userCodecV1, 3, 0}, {userCodecV1, 1, 0xff}} {
		if err := decodeUserRecord(raw, new(User)); err == nil {
			t.Errorf("decode(%x) succeeded", raw)
		}
	}
	if _, err := (userCodec{}).Encode(User{CreatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}); err == nil {
		t.Error("a year JSON cannot write was encoded")
	}
}

// TestRawUserMayHold: the byte test of EachOrgUserRaw's callers finds
// every string field's value in both stored forms, and rules out a value
// no field has.
func TestRawUserMayHold(t *testing.T) {
	u := codecUsers(t)["typical"]
	u.Attributes = map[string]any{"plan": "gold-plan"}
	js, _ := encodeRecord(u)
	compact, _ := userCodec{}.Encode(u)
	for form, raw := range map[string][]byte{"compact": compact, "json": js} {
		for _, s := range []string{u.Email, u.PasswordHash, "Ada", "Lovelace", "gold-plan", "member"} {
			if !RawUserMayHold(raw, s) {
				t.Errorf("%s form: %q not found", form, s)
			}
		}
		if RawUserMayHold(raw, "gold") && form == "json" {
			t.Errorf("%s form: a part of a value (gold) matched", form)
		}
		if RawUserMayHold(raw, "absent-value") {
			t.Errorf("%s form: a value no field has matched", form)
		}
		if !RawUserMayHold(raw, "needs\"escaping") {
			t.Errorf("%s form: a value JSON escapes must not be ruled out", form)
		}
	}
}

func BenchmarkUserCodec(b *testing.B) {
	u := codecUsers(&testing.T{})["typical"]
	raw, _ := userCodec{}.Encode(u)
	js, _ := encodeRecord(u)
	b.Run("encode/compact", func(b *testing.B) {
		for b.Loop() {
			_, _ = userCodec{}.Encode(u)
		}
	})
	b.Run("encode/json", func(b *testing.B) {
		for b.Loop() {
			_, _ = encodeRecord(u)
		}
	})
	b.Run("decode/compact", func(b *testing.B) {
		for b.Loop() {
			var v User
			_ = decodeUserRecord(raw, &v)
		}
	})
	b.Run("decode/json", func(b *testing.B) {
		for b.Loop() {
			var v User
			_ = decodeUserRecord(js, &v)
		}
	})
}
