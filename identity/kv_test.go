package identity

import (
	"bytes"
	"testing"
)

// TestSetKeys pins the set key layout (kv.go) that stored data relies on.
func TestSetKeys(t *testing.T) {
	for _, tc := range []struct {
		set                   Set
		member                string
		prefix, count, record string
	}{
		{Set{Env: Production, Parts: []string{"users", "o1"}}, "u1",
			"s\x00production\x00users\x00o1\x01", "c\x00production\x00users\x00o1", "s\x00production\x00users\x00o1\x01u1"},
		{Set{Parts: []string{"orgs"}}, "",
			"s\x00-\x00orgs\x01", "c\x00-\x00orgs", "s\x00-\x00orgs\x01"},
		{Set{Env: Sandbox}, "m",
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
