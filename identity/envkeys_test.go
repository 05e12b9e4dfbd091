package identity

import "testing"

// TestRawKeysOfEachEnvironmentAreUnchanged pins the keys this package
// builds by hand (the user-session index and attachments), for both
// environments: kv.EnvPart now writes their environment part, and existing
// stores must read unchanged.
func TestRawKeysOfEachEnvironmentAreUnchanged(t *testing.T) {
	for _, env := range []Environment{Production, Sandbox} {
		e := string(env)
		for _, c := range []struct{ name, got, want string }{
			{"user session", string(userSessionKey(env, "u1", "ticket", "h")), "r\x00" + e + "\x00user-session\x00u1\x00ticket\x00h"},
			{"user sessions", string(userSessionPrefix(env, "u1")), "r\x00" + e + "\x00user-session\x00u1\x00"},
			{"attachment", string(attachmentKey(env, "u1", "a.png")), "r\x00" + e + "\x00attachment\x00u1\x00a.png"},
			{"attachments", string(attachmentPrefix(env, "u1")), "r\x00" + e + "\x00attachment\x00u1\x00"},
			{"user", string(users(env).Key("u1")), "r\x00" + e + "\x00user\x00u1"},
			{"org users", string(orgUsers(env, "o1").Prefix()), "s\x00" + e + "\x00users\x00o1\x01"},
		} {
			if c.got != c.want {
				t.Errorf("%s key in %s = %q, want %q", c.name, env, c.got, c.want)
			}
		}
	}
	if got, want := string((&Service{}).orgs().Key("o1")), "r\x00-\x00org\x00o1"; got != want {
		t.Errorf("org key = %q, want %q", got, want)
	}
}
