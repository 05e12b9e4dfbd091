package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
)

func TestJWTSampleWithoutUser(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.id.CreateMetaKey(ctx, f.org.Domain, "displayname", "string", false); err != nil {
		t.Fatal(err)
	}
	s, err := f.svc.JWTSample(ctx, SampleRequest{OrgDomain: f.org.Domain})
	if err != nil {
		t.Fatal(err)
	}
	if s.Type != "__JwtSamples__" || s.Domain != f.org.Domain {
		t.Fatalf("envelope: %+v", s)
	}
	b, _ := json.Marshal(s)
	var doc map[string]any
	_ = json.Unmarshal(b, &doc)
	if got := keysOf(doc); !reflect.DeepEqual(got, []string{"__domain__", "__type__", "access_token_jwt", "access_token_keys", "id_token_jwt", "id_token_keys"}) {
		t.Fatalf("fields %v", got)
	}
	access := decodePart(t, s.AccessTokenJWT, 1)
	for _, k := range []string{"aud", "cid", "email", "scp", "sub"} {
		if v, ok := access[k]; !ok || v != nil {
			t.Errorf("access %s = %v (present %v), want null", k, v, ok)
		}
	}
	id := decodePart(t, s.IDTokenJWT, 1)
	if id["nonce"] != "*" || id["jtt"] != "openid" {
		t.Errorf("id token: %v", id)
	}
	for _, k := range []string{"at_hash", "c_hash", "s_hash"} {
		if v, _ := id[k].(string); len(v) != 22 {
			t.Errorf("%s = %v", k, id[k])
		}
	}
	md := id["resource_owner_metadata"].(map[string]any)["displayname"].(map[string]any)
	if md["name"] != "displayname" || md["type"] != "string" || md["required"] != false || md["id"] == "" {
		t.Errorf("MetaKey description: %v", md)
	}
	// The key tree follows Cryptr's layout.
	wantAccess := []any{[]any{"application_metadata", nil}, "aud", "cid", "dbs", "email", "exp", "iat", "ips",
		"iss", "jti", "jtt", "sci", "scp", "sub", "tnt", "ver"}
	if got := jsonRound(s.AccessTokenKeys); !reflect.DeepEqual(got, wantAccess) {
		t.Errorf("access keys %v\nwant %v", got, wantAccess)
	}
	wantID := []any{[]any{"application_metadata", nil}, "at_hash", "c_hash", "dbs", "exp", "iat", "iss", "jti",
		"jtt", "nonce", []any{"resource_owner_metadata", []any{"displayname"}}, "s_hash", "tnt", "ver"}
	if got := jsonRound(s.IDTokenKeys); !reflect.DeepEqual(got, wantID) {
		t.Errorf("id keys %v\nwant %v", got, wantID)
	}
	// Samples are never usable tokens.
	v := f.verifier(t, func(c *VerifierConfig) { c.SkipAudience = true; c.TokenTypes = []string{TypeAccess, TypeID} })
	for _, tok := range []string{s.AccessTokenJWT, s.IDTokenJWT} {
		if _, err := v.Verify(ctx, tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("a sample verified: %v", err)
		}
	}
}

func jsonRound(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

func TestJWTSampleWithUser(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	app := *f.app
	app.SigningAlg = ES256
	tests := []struct {
		name    string
		req     SampleRequest
		wantTTL time.Duration
	}{
		{"user and app", SampleRequest{OrgDomain: f.org.Domain, User: f.user, App: &app, ExpiresIn: 31536000 * time.Second}, 31536000 * time.Second},
		{"expired", SampleRequest{OrgDomain: f.org.Domain, User: f.user, Expired: true}, -time.Second},
		{"capped", SampleRequest{OrgDomain: f.org.Domain, ExpiresIn: 10 * MaxSampleTTL}, MaxSampleTTL},
		{"sandbox", SampleRequest{OrgDomain: f.org.Domain, Env: identity.Sandbox}, DefaultAccessTokenTTL},
	}
	for _, tt := range tests {
		s, err := f.svc.JWTSample(ctx, tt.req)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		c := decodePart(t, s.AccessTokenJWT, 1)
		if got := time.Duration(c["exp"].(float64)-c["iat"].(float64)) * time.Second; got != tt.wantTTL {
			t.Errorf("%s: lifetime %v, want %v", tt.name, got, tt.wantTTL)
		}
		if tt.req.User != nil && (c["sub"] != f.user.ID || c["email"] != f.user.Email) {
			t.Errorf("%s: %v", tt.name, c)
		}
		if tt.req.App != nil {
			if c["cid"] != app.ClientID || c["aud"] != "http://localhost:4200" {
				t.Errorf("%s: %v", tt.name, c)
			}
			if h := decodePart(t, s.AccessTokenJWT, 0); h["alg"] != ES256 {
				t.Errorf("%s: alg %v", tt.name, h["alg"])
			}
		}
		if tt.req.Env == identity.Sandbox && c["dbs"] != "sandbox" {
			t.Errorf("%s: dbs %v", tt.name, c["dbs"])
		}
	}
	if _, err := f.svc.JWTSample(ctx, SampleRequest{OrgDomain: "no-such-org"}); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("unknown org: %v", err)
	}
}
