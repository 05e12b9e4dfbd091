package api

import (
	"strings"
	"testing"
)

func TestMalformedTarget(t *testing.T) {
	for _, tc := range []struct {
		target string
		claim  bool
	}{
		{"/api/v2/%zz", true},
		{"/api/v2", true},
		{"/api/v2/org/%zz/users?x=1", true},
		{"http://host/api/v2/%zz", true},
		{"/api/1/%zz", false}, // the Crafter face's
		{"/api/v20/%zz", false},
		{"/t/%zz", false},
	} {
		status, ctype, body, ok := MalformedTarget(tc.target)
		if ok != tc.claim {
			t.Fatalf("%s: claimed %v, want %v", tc.target, ok, tc.claim)
		}
		if ok && (status != 400 || ctype != "application/json" || !strings.Contains(string(body), `"error":"bad_request"`)) {
			t.Fatalf("%s: %d %s %s", tc.target, status, ctype, body)
		}
	}
}
