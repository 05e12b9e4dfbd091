package provider

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// orderedTime returns the time an ordered secret (or "org.secret") says
// it was made.
func orderedTime(t *testing.T, raw string) time.Time {
	t.Helper()
	s := raw[strings.LastIndexByte(raw, '.')+1:]
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("%q is not 32 bytes of base64url: %v", s, err)
	}
	var ms [8]byte
	copy(ms[2:], b[:6])
	return time.UnixMilli(int64(binary.BigEndian.Uint64(ms[:])))
}

// stored reports whether recs holds a record under key.
func stored[T any](t *testing.T, e *env, recs kv.Records[T], key string) bool {
	t.Helper()
	found := false
	if err := e.ids.View(context.Background(), func(tx *identity.ReadTxn) error {
		_, err := recs.Get(tx.KV(kv.Inside()), key)
		if errors.Is(err, identity.ErrNotFound) {
			return nil
		}
		found = err == nil
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return found
}

// TestOrderedSecrets: codes and refresh tokens carry the time they were
// made in their first 48 bits, their records are keyed by that time and
// the token's hash (never by the token), and later tokens sort after
// earlier ones, so the records of one commit sit together.
func TestOrderedSecrets(t *testing.T) {
	e := newEnv(t)
	code, v := e.spaCode(e.newBrowser())
	if len(code) != orderedSecretLen || !orderedTime(t, code).Equal(e.clock.Now().Truncate(time.Millisecond)) {
		t.Fatalf("code %q: made at %v, want %v", code, orderedTime(t, code), e.clock.Now())
	}
	if !stored(t, e, codes, secretKey(code)) || stored(t, e, codes, identity.HashSecret(code)) {
		t.Fatal("the code's record is not under its time and hash only")
	}
	r := e.exchange(code, v)
	if r.status != http.StatusOK {
		t.Fatalf("exchange: %d %s", r.status, r.body)
	}
	rt := r.json(t)["refresh_token"].(string)
	if !strings.HasPrefix(rt, e.org.Domain+".") || !orderedTime(t, rt).Equal(e.clock.Now().Truncate(time.Millisecond)) {
		t.Fatalf("refresh token %q", rt)
	}
	if !stored(t, e, refreshes, secretKey(rt)) || stored(t, e, refreshes, identity.HashSecret(rt)) {
		t.Fatal("the refresh token's record is not under its time and hash only")
	}
	e.clock.Advance(time.Second)
	r = e.refresh(rt)
	if r.status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	next := r.json(t)["refresh_token"].(string)
	if k1, k2 := secretKey(rt), secretKey(next); k1 >= k2 {
		t.Fatalf("a later token's key %q does not sort after %q", k2, k1)
	}
	// Anything else is keyed by its bare hash and found by nobody.
	for _, bad := range []string{"", "x", e.org.Domain + ".", strings.Repeat("*", orderedSecretLen), code + "A"} {
		if got := secretKey(bad); got != identity.HashSecret(bad) {
			t.Errorf("secretKey(%q) = %q, want the bare hash", bad, got)
		}
	}
}

// legacify moves the record of a code or refresh token to the key that
// Gatehouse used before ordered secrets (its bare hash), as a store
// written by an older version holds it, and forgets the family's record
// of its newest token (older versions kept none).
func legacify[T any](t *testing.T, e *env, recs kv.Records[T], raw, member string) {
	t.Helper()
	key, legacy := secretKey(raw), identity.HashSecret(raw)
	if err := e.ids.Update(context.Background(), func(tx *identity.Txn) error {
		w := tx.KVTx(kv.Inside())
		v, err := recs.Get(w, key)
		if err != nil {
			return err
		}
		if err := recs.Delete(w, key); err != nil {
			return err
		}
		if err := recs.Put(w, legacy, v); err != nil {
			return err
		}
		if rr, ok := any(v).(refreshRecord); ok {
			fam, err := families.Get(w, rr.FamilyID)
			if err != nil {
				return err
			}
			fam.Current, fam.Previous = "", ""
			return families.Put(w, rr.FamilyID, fam)
		}
		set := userGrants(identity.Production, e.user.ID)
		if err := set.Remove(w, member+key); err != nil {
			return err
		}
		return set.Add(w, member+legacy, nil)
	}); err != nil {
		t.Fatal(err)
	}
}

// TestLegacyTokens: codes and refresh tokens stored by an older version
// (keyed by their bare hash) still work after the upgrade: a code is
// redeemed once and its reuse revokes what it issued; a refresh token
// rotates (to an ordered successor), is honoured again within the grace
// window, is revoked and introspected, and names its family to keep on a
// password change.
func TestLegacyTokens(t *testing.T) {
	t.Run("code", func(t *testing.T) {
		e := newEnv(t)
		code, v := e.spaCode(e.newBrowser())
		legacify(t, e, codes, code, "c:")
		r := e.exchange(code, v)
		if r.status != http.StatusOK {
			t.Fatalf("legacy code: %d %s", r.status, r.body)
		}
		rt := r.json(t)["refresh_token"].(string)
		if r := e.exchange(code, v); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "already used") {
			t.Fatalf("legacy code reused: %d %s", r.status, r.body)
		}
		if r := e.refresh(rt); r.status != http.StatusBadRequest {
			t.Fatalf("the reused code's refresh token still works: %d %s", r.status, r.body)
		}
	})
	t.Run("refresh token", func(t *testing.T) {
		e := newEnv(t)
		rt := e.spaTokens()["refresh_token"].(string)
		legacify(t, e, refreshes, rt, "")
		r := e.refresh(rt)
		if r.status != http.StatusOK {
			t.Fatalf("legacy refresh: %d %s", r.status, r.body)
		}
		next := r.json(t)["refresh_token"].(string)
		if !stored(t, e, refreshes, secretKey(next)) {
			t.Fatal("the successor of a legacy token is not an ordered one")
		}
		if r := e.refresh(rt); r.status != http.StatusOK || r.json(t)["refresh_token"] != next {
			t.Fatalf("legacy token within the grace window: %d %s", r.status, r.body)
		}
		// Found by introspection (within the grace window it is still
		// usable) and by revocation, which ends the whole family.
		if act := e.introspect(rt); act["active"] != true || act["token_type"] != "refresh_token" {
			t.Fatalf("legacy token within the grace window introspects %v", act)
		}
		rv := e.postForm(http.DefaultClient, e.issuer()+"/oauth/revoke", map[string][]string{"token": {rt},
			"client_id": {e.spa.ClientID}})
		if rv.status != http.StatusOK {
			t.Fatalf("revoke: %d %s", rv.status, rv.body)
		}
		if r := e.refresh(next); r.status != http.StatusBadRequest {
			t.Fatalf("revoked token refreshed: %d %s", r.status, r.body)
		}
	})
}

// TestKeepNamesFamilyTokens: a password change keeping a refresh token
// (identity.SessionRef: the hash of the token) keeps its family whether
// the token is the family's newest, the one it replaced (grace window) or
// a legacy one; a token of another family, or the family's older ones,
// keep nothing.
func TestKeepNamesFamilyTokens(t *testing.T) {
	cases := []struct {
		name string
		keep func(e *env, s signedIn) string // the token to keep; "" keeps nothing
		want bool                            // the sign-in's family survives
	}{
		{"newest", func(e *env, s signedIn) string { return s.refresh }, true},
		{"replaced", func(e *env, s signedIn) string {
			prev := s.refresh
			s.refresh = e.refresh(prev).json(e.t)["refresh_token"].(string)
			return prev
		}, true},
		{"legacy", func(e *env, s signedIn) string {
			legacify(e.t.(*testing.T), e, refreshes, s.refresh, "")
			return s.refresh
		}, true},
		{"older than the replaced one", func(e *env, s signedIn) string {
			first := s.refresh
			second := e.refresh(first).json(e.t)["refresh_token"].(string)
			e.clock.Advance(2 * e.prov.opts.RefreshGrace)
			e.refresh(second)
			return first
		}, false},
		{"another family's", func(e *env, _ signedIn) string { return e.signIn("other").refresh }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			s := e.signIn("k")
			keep := tc.keep(e, s)
			if _, err := e.ids.ChangePassword(context.Background(), identity.PasswordChange{OrgDomain: e.org.Domain,
				UserID: e.user.ID, Password: "a new passphrase",
				Keep: identity.SessionRef{Kind: identity.SessionRefreshToken, Hash: identity.HashSecret(keep)}}); err != nil {
				t.Fatal(err)
			}
			if act := e.introspect(s.access); (act["active"] == true) != tc.want {
				t.Fatalf("the family's access token active = %v, want %v", act["active"], tc.want)
			}
		})
	}
}
