package kv

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// TestSetKeys pins the set key layout (kv.go) that stored data relies on.
func TestSetKeys(t *testing.T) {
	for _, tc := range []struct {
		set                   Set
		member                string
		prefix, count, record string
	}{
		{Set{Env: "production", Parts: []string{"users", "o1"}}, "u1",
			"s\x00production\x00users\x00o1\x01", "c\x00production\x00users\x00o1", "s\x00production\x00users\x00o1\x01u1"},
		{Set{Parts: []string{"orgs"}}, "",
			"s\x00-\x00orgs\x01", "c\x00-\x00orgs", "s\x00-\x00orgs\x01"},
		{Set{Env: "sandbox"}, "m",
			"s\x00sandbox\x01", "c\x00sandbox", "s\x00sandbox\x01m"},
	} {
		if got := tc.set.prefix(); !bytes.Equal(got, []byte(tc.prefix)) {
			t.Errorf("%v.prefix() = %q, want %q", tc.set, got, tc.prefix)
		}
		if got := tc.set.countKey(); !bytes.Equal(got, []byte(tc.count)) {
			t.Errorf("%v.countKey() = %q, want %q", tc.set, got, tc.count)
		}
		if got := tc.set.member(tc.member); !bytes.Equal(got, []byte(tc.record)) {
			t.Errorf("%v.member(%q) = %q, want %q", tc.set, tc.member, got, tc.record)
		}
		if got := tc.set.member(tc.member); cap(got) != len(got) {
			t.Errorf("%v.member(%q) has capacity %d for %d bytes", tc.set, tc.member, cap(got), len(got))
		}
	}
}

// TestKeysOfEachEnvironmentAreUnchanged pins, for both environments and
// the account-wide space, the bytes of every kind of key that stored data
// relies on: EnvPart is the one convention for the environment in a key,
// and moving the layer must not change a byte of what existing stores hold.
func TestKeysOfEachEnvironmentAreUnchanged(t *testing.T) {
	at := time.Unix(0, 0x0102030405060708).UTC()
	for _, env := range []string{"production", "sandbox", ""} {
		part := env
		if env == "" {
			part = "-"
		}
		if got := EnvPart(env); got != part {
			t.Fatalf("EnvPart(%q) = %q, want %q", env, got, part)
		}
		set := Set{Env: env, Parts: []string{"users", "o1"}}
		counterKey := Counter{Env: env, Name: "events"}.key()
		for _, c := range []struct {
			name string
			got  []byte
			want string
		}{
			{"record", Records[int]{Env: env, Kind: "user"}.Key("u1"), "r\x00" + part + "\x00user\x00u1"},
			{"unique", Unique{Env: env, Name: "user-email"}.key("o1", "a@b.c"), "u\x00" + part + "\x00user-email\x00o1\x00a@b.c"},
			{"set member", set.member("u1"), "s\x00" + part + "\x00users\x00o1\x01u1"},
			{"set count", set.countKey(), "c\x00" + part + "\x00users\x00o1"},
			{"counter", counterKey, "n\x00" + part + "\x00events"},
			{"blob header", blobHeaderKey(env, "b1"), "r\x00" + part + "\x00blob\x00b1"},
			{"blob chunk", blobKey(env, "b1", 3), "r\x00" + part + "\x00blob\x00b1\x0000000003"},
			{"blob prefix", blobPrefix(env, "b1"), "r\x00" + part + "\x00blob\x00b1\x00"},
			{"expiry", expiryKey(at, []byte("r\x00"+part+"\x00ticket\x00h")), "x\x00\x01\x02\x03\x04\x05\x06\x07\x08\x00r\x00" + part + "\x00ticket\x00h"},
		} {
			if !bytes.Equal(c.got, []byte(c.want)) {
				t.Errorf("%s key in %q = %q, want %q", c.name, env, c.got, c.want)
			}
		}
	}
}

// TestDecodeKeepsNumbers pins that numbers inside any values come back
// exactly as stored (as encoding/json's UseNumber reads them), in both
// configurations: a float64 would turn 12345678901234567 into
// 12345678901234568 and 1.0 into 1.
func TestDecodeKeepsNumbers(t *testing.T) {
	type rec struct {
		A map[string]any `json:"a"`
		X any            `json:"x"`
	}
	raw := []byte(`{"a":{"big":12345678901234567,"one":1.0,"exp":1e400,"list":[1.50,{"n":-0.0}],"s":"t","b":true,"z":null},"x":[]}`)
	for name, dec := range map[string]func([]byte, *rec) error{"Decode": Decode[rec], "DecodeV2": DecodeV2[rec]} {
		var got rec
		if err := dec(raw, &got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var want rec
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", name, got, want)
		}
		out, err := Encode(got)
		if err != nil || string(out) != `{"a":{"b":true,"big":12345678901234567,"exp":1e400,"list":[1.50,{"n":-0.0}],"one":1.0,"s":"t","z":null},"x":[]}` {
			t.Errorf("%s: Encode = %s, %v", name, out, err)
		}
	}
}
