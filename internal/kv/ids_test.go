package kv

import (
	"strings"
	"testing"
)

// TestCompactIDs: a canonical UUID is stored in 17 bytes and any other id
// as its text, and both, like the text that earlier builds stored, read
// back as the same id.
func TestCompactIDs(t *testing.T) {
	tests := []struct {
		id      string
		compact bool
	}{
		{"018cc251-f400-7864-9aea-cc43e3de9287", true},
		{"00000000-0000-0000-0000-000000000000", true},
		{"ffffffff-ffff-ffff-ffff-ffffffffffff", true},
		{"018CC251-F400-7864-9AEA-CC43E3DE9287", false}, // uppercase: not canonical
		{"018cc251-f400-7864-9aea-cc43e3de928", false},
		{"018cc251f4007864-9aea-cc43e3de92870", false},
		{"018cc251-f400-7864-9aea_cc43e3de9287", false},
		{"018cc251-f400-7864-9aea-cc43e3de928g", false},
		{"u1", false},
		{"", false},
	}
	for _, tc := range tests {
		v := AppendID(nil, tc.id)
		if got := len(v) == 17 && v[0] == 0; got != tc.compact {
			t.Errorf("AppendID(%q) = %x: compact %v, want %v", tc.id, v, got, tc.compact)
		}
		if got := DecodeID(v); got != tc.id {
			t.Errorf("DecodeID(AppendID(%q)) = %q", tc.id, got)
		}
		if got := DecodeID([]byte(tc.id)); got != tc.id {
			t.Errorf("DecodeID of the text %q = %q", tc.id, got)
		}
	}
	if b, ok := ParseHex("64f1a2b3c4d5e6f708192a3b", nil); !ok || len(b) != 12 || FormatHex(b) != "64f1a2b3c4d5e6f708192a3b" {
		t.Errorf("ParseHex = %x, %v", b, ok)
	}
	for _, bad := range []string{"64F1", "abc", "zz", strings.Repeat("g", 24)} {
		if _, ok := ParseHex(bad, nil); ok {
			t.Errorf("ParseHex(%q) accepted", bad)
		}
	}
}
