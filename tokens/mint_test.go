package tokens

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
)

// decodePart decodes one base64url segment of a compact JWS into a map.
func decodePart(t *testing.T, tok string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestAccessTokenLayout(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tok, err := f.svc.IssueAccessToken(ctx, f.req())
	if err != nil {
		t.Fatal(err)
	}
	h := decodePart(t, tok.Value, 0)
	iss := testBase + "/t/shark-academy"
	if h["alg"] != "RS256" || h["typ"] != "JWT" || h["iss"] != iss || h["kid"] != tok.KeyID {
		t.Fatalf("header = %v", h)
	}
	if got := keysOf(h); !reflect.DeepEqual(got, []string{"alg", "iss", "kid", "typ"}) {
		t.Fatalf("header keys = %v", got)
	}
	c := decodePart(t, tok.Value, 1)
	want := []string{"application_metadata", "aud", "cid", "dbs", "email", "exp", "iat", "ips", "iss",
		"jti", "jtt", "sci", "scp", "sub", "tnt", "ver"}
	if got := keysOf(c); !reflect.DeepEqual(got, want) {
		t.Fatalf("claim keys = %v, want %v", got, want)
	}
	now := f.clock.Now().Unix()
	checks := map[string]any{
		"iss": iss, "sub": f.user.ID, "aud": "http://localhost:4200", "cid": f.app.ClientID,
		"tnt": "shark-academy", "dbs": "default", "jtt": "access", "ver": 1.0, "email": "jane.doe@example.com",
		"ips": "cryptr", "sci": nil, "iat": float64(now), "exp": float64(now + 3600),
		"scp":                  []any{"openid", "email", "profile"},
		"application_metadata": map[string]any{"plan": "gold"},
	}
	for k, v := range checks {
		if !reflect.DeepEqual(c[k], v) {
			t.Errorf("%s = %#v, want %#v", k, c[k], v)
		}
	}
	if _, err := uuidParse(c["jti"]); err != nil {
		t.Errorf("jti %v is not a UUID", c["jti"])
	}
	if _, err := uuidParse(tok.KeyID); err != nil {
		t.Errorf("kid %v is not a UUID", tok.KeyID)
	}
	// The payload is written in alphabetical order, as Cryptr's tokens are.
	raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok.Value, ".")[1])
	if !strings.HasPrefix(string(raw), `{"application_metadata":{"plan":"gold"},"aud":"http://localhost:4200","cid":`) {
		t.Errorf("payload order: %s", raw)
	}
}

func TestIDTokenClaims(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	req := f.req()
	access, id, err := f.svc.IssueTokens(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if id == nil {
		t.Fatal("no ID token for an openid scope")
	}
	c := decodePart(t, id.Value, 1)
	at, _ := HalfHash(RS256, access.Value)
	ch, _ := HalfHash(RS256, req.Code)
	sh, _ := HalfHash(RS256, req.State)
	checks := map[string]any{
		"jtt": "openid", "nonce": req.Nonce, "at_hash": at, "c_hash": ch, "s_hash": sh,
		"given_name": "Jane", "family_name": "Doe", "name": "Jane Doe", "locale": "fr",
		"email": "jane.doe@example.com", "email_verified": true,
		"resource_owner_metadata": map[string]any{}, "aud": "http://localhost:4200", "sub": f.user.ID,
	}
	for k, v := range checks {
		if !reflect.DeepEqual(c[k], v) {
			t.Errorf("%s = %#v, want %#v", k, c[k], v)
		}
	}
	if len(at) != 22 {
		t.Errorf("at_hash length %d, want 22", len(at))
	}
	// No openid scope: no ID token.
	req.Scopes = []string{"email"}
	if _, id, err = f.svc.IssueTokens(ctx, req); err != nil || id != nil {
		t.Fatalf("id = %v, err = %v; want no ID token", id, err)
	}
}

func TestProfileClaimsByScope(t *testing.T) {
	u := &identity.User{Email: "a@b.co", Verified: false, UpdatedAt: time.Unix(100, 0),
		Profile: identity.Profile{Name: "A B", PhoneNumber: "+33123456789",
			Address: &identity.Address{Locality: "Lille", Country: "FR"}}}
	tests := []struct {
		scopes []string
		want   []string
	}{
		{nil, []string{}},
		{[]string{"openid"}, []string{}},
		{[]string{"profile"}, []string{"name", "updated_at"}},
		{[]string{"email"}, []string{"email", "email_verified"}},
		{[]string{"phone"}, []string{"phone_number", "phone_number_verified"}},
		{[]string{"address"}, []string{"address"}},
		{[]string{"openid", "profile", "email"}, []string{"email", "email_verified", "name", "updated_at"}},
	}
	for _, tt := range tests {
		got := keysOf(ProfileClaims(u, tt.scopes))
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("scopes %v: claims %v, want %v", tt.scopes, got, tt.want)
		}
	}
}

func TestDefaultAudience(t *testing.T) {
	tests := []struct {
		name string
		app  identity.Application
		uri  string
		want string
	}{
		{"default origin", identity.Application{DefaultOriginCORS: "https://a.io", AllowedOriginsCORS: []string{"https://b.io"}}, "", "https://a.io"},
		{"first allowed origin", identity.Application{AllowedOriginsCORS: []string{"https://b.io", "https://c.io"}}, "", "https://b.io"},
		{"web origin", identity.Application{DefaultWebOrigin: "https://w.io"}, "", "https://w.io"},
		{"redirect origin", identity.Application{}, "https://r.io:8443/cb?x=1", "https://r.io:8443"},
		{"nothing", identity.Application{}, "", ""},
	}
	for _, tt := range tests {
		if got := DefaultAudience(&tt.app, tt.uri); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestLifetimes(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.MaxTokenTTL = 2 * time.Hour })
	ctx := context.Background()
	tests := []struct {
		name    string
		appTTL  time.Duration
		reqTTL  time.Duration
		expired bool
		want    time.Duration
	}{
		{"default", 0, 0, false, DefaultAccessTokenTTL},
		{"per application", 10 * time.Minute, 0, false, 10 * time.Minute},
		{"clamped to max", 10 * time.Hour, 0, false, 2 * time.Hour},
		{"request override", 0, 5 * time.Minute, false, 5 * time.Minute},
		{"expired", 0, 0, true, -time.Second},
	}
	for _, tt := range tests {
		app := *f.app
		app.AccessTokenTTL = tt.appTTL
		req := f.req()
		req.App, req.TTL, req.Expired = &app, tt.reqTTL, tt.expired
		tok, err := f.svc.IssueAccessToken(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if got := tok.ExpiresAt.Sub(f.clock.Now()); got != tt.want {
			t.Errorf("%s: lifetime %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSigningAlgorithms(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, alg := range []string{RS256, ES256, EdDSA} {
		app := *f.app
		app.SigningAlg = alg
		req := f.req()
		req.App = &app
		access, id, err := f.svc.IssueTokens(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		if h := decodePart(t, access.Value, 0); h["alg"] != alg {
			t.Errorf("%s: header alg %v", alg, h["alg"])
		}
		want, _ := HalfHash(alg, access.Value)
		if c := decodePart(t, id.Value, 1); c["at_hash"] != want {
			t.Errorf("%s: at_hash %v, want %v", alg, c["at_hash"], want)
		}
		v := f.verifier(t, func(c *VerifierConfig) { c.TokenTypes = []string{TypeAccess, TypeID} })
		for _, tok := range []*Token{access, id} {
			if _, err := v.Verify(ctx, tok.Value); err != nil {
				t.Errorf("%s: verify: %v", alg, err)
			}
		}
	}
	// One key set per issuer holds every algorithm in use.
	infos, err := f.svc.Keys(ctx, "", f.org.Domain)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 6 {
		t.Errorf("published keys = %d, want 6 (active and next for 3 algorithms)", len(infos))
	}
	app := *f.app
	app.SigningAlg = "HS256"
	req := f.req()
	req.App = &app
	if _, err := f.svc.IssueAccessToken(ctx, req); !errors.Is(err, ErrUnsupportedAlg) {
		t.Errorf("HS256: err = %v, want ErrUnsupportedAlg", err)
	}
}

func TestHalfHashVectors(t *testing.T) {
	// OpenID Connect Core 1.0, Appendix A.3 and A.4 (RS256).
	tests := []struct{ value, want string }{
		{"jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", "77QmUPtjPfzWtF2AnpK9RQ"},
		{"Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk", "LDktKdoQak3Pk0cnXxCltA"},
	}
	for _, tt := range tests {
		for _, alg := range []string{RS256, ES256} {
			if got, err := HalfHash(alg, tt.value); err != nil || got != tt.want {
				t.Errorf("HalfHash(%s, %s) = %q, %v; want %q", alg, tt.value, got, err, tt.want)
			}
		}
	}
	if got, _ := HalfHash(EdDSA, "x"); len(got) != 43 {
		t.Errorf("EdDSA half hash length %d, want 43 (half of SHA-512)", len(got))
	}
	if _, err := HalfHash("none", "x"); !errors.Is(err, ErrUnsupportedAlg) {
		t.Errorf("none: %v", err)
	}
}

func TestClaimsUpdater(t *testing.T) {
	hook := ClaimsUpdaterFunc(func(ctx context.Context, req *TokenRequest, c *Claims) error {
		if c.Extra == nil {
			c.Extra = map[string]any{}
		}
		c.Extra["roles"] = []string{"admin"}
		c.Extra["iss"] = "https://evil.example"
		c.Subject = "someone-else"
		c.Expiry += 1e6
		return nil
	})
	f := newFixture(t, func(o *Options) { o.ClaimsUpdater = hook })
	tok, err := f.svc.IssueAccessToken(context.Background(), f.req())
	if err != nil {
		t.Fatal(err)
	}
	c := decodePart(t, tok.Value, 1)
	if !reflect.DeepEqual(c["roles"], []any{"admin"}) {
		t.Errorf("roles = %v", c["roles"])
	}
	if c["iss"] != testBase+"/t/shark-academy" || c["sub"] != f.user.ID ||
		c["exp"] != float64(f.clock.Now().Add(time.Hour).Unix()) {
		t.Errorf("hook changed registered claims: %v", c)
	}
	failing := ClaimsUpdaterFunc(func(context.Context, *TokenRequest, *Claims) error { return errors.New("boom") })
	f2 := newFixture(t, func(o *Options) { o.ClaimsUpdater = failing })
	if _, err := f2.svc.IssueAccessToken(context.Background(), f2.req()); err == nil {
		t.Error("a failing hook must fail issuance")
	}
}

func TestResourceOwnerMetadata(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.MetadataInAccessToken = true })
	ctx := context.Background()
	if _, err := f.id.CreateMetaKey(ctx, f.org.Domain, "department", "string", false); err != nil {
		t.Fatal(err)
	}
	u, err := f.id.SetUserMetadata(ctx, f.org.Domain, f.user.ID, "department", "R&D")
	if err != nil {
		t.Fatal(err)
	}
	req := f.req()
	req.User = u
	access, id, err := f.svc.IssueTokens(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"department": "R&D"}
	for _, tok := range []*Token{access, id} {
		if got := decodePart(t, tok.Value, 1)["resource_owner_metadata"]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: resource_owner_metadata = %v", tok.Claims.Type, got)
		}
	}
}

func TestIssueRequestErrors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for name, req := range map[string]*TokenRequest{
		"nil":       nil,
		"no user":   {OrgDomain: "x", App: f.app},
		"no app":    {OrgDomain: "x", User: f.user},
		"no domain": {User: f.user, App: f.app},
		"bad env":   {OrgDomain: "x", User: f.user, App: f.app, Env: "staging"},
	} {
		if _, err := f.svc.IssueAccessToken(ctx, req); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestClaimsRoundTrip(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	access, id, err := f.svc.IssueTokens(ctx, f.req())
	if err != nil {
		t.Fatal(err)
	}
	apiTok, _, err := f.svc.IssueAPIKeyToken(ctx, &identity.Credential{ID: "k", Permissions: []string{"read:users", "*"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{access.Value, id.Value, apiTok} {
		raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
		var fast Claims
		if err := fast.UnmarshalJSON(raw); err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		var slow Claims
		if err := slow.fromMap(m); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Errorf("decoders disagree:\n%+v\n%+v", fast, slow)
		}
		// Re-encoding gives the signed payload back.
		again, err := fast.MarshalJSON()
		if err != nil || string(again) != string(raw) {
			t.Errorf("round trip:\n%s\n%s", raw, again)
		}
	}
	for _, bad := range []string{
		`{"exp":"soon"}`, `{"exp":1.5}`, `{"aud":5}`, `{"scp":[1]}`, `{"scp":{}}`, `{"sub":7}`,
		`{"application_metadata":[]}`, `[]`, `{`,
	} {
		var c Claims
		if err := c.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
