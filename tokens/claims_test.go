package tokens

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
)

func TestAudienceJSON(t *testing.T) {
	tests := []struct {
		aud  Audience
		json string
	}{
		{nil, `null`},
		{Audience{"https://a.io"}, `"https://a.io"`},
		{Audience{"https://a.io", "client-1"}, `["https://a.io","client-1"]`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.aud)
		if err != nil || string(b) != tt.json {
			t.Errorf("marshal %v = %s, %v", tt.aud, b, err)
		}
		var back Audience
		if err := json.Unmarshal([]byte(tt.json), &back); err != nil || !reflect.DeepEqual(back, tt.aud) {
			t.Errorf("unmarshal %s = %v, %v", tt.json, back, err)
		}
	}
	var a Audience
	for _, bad := range []string{`5`, `[1]`, `{}`, `[`} {
		if err := json.Unmarshal([]byte(bad), &a); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if !(Audience{"a", "b"}).Contains("b") || (Audience{"a"}).Contains("b") {
		t.Error("Contains")
	}
}

func TestClaimsHelpers(t *testing.T) {
	c := &Claims{Expiry: 100, Scopes: []string{"openid", "email"}, Database: "default"}
	if !c.ExpiresAt().Equal(time.Unix(100, 0)) || !c.HasScope("email") || c.HasScope("phone") {
		t.Errorf("helpers: %+v", c)
	}
	if env, err := c.Environment(); err != nil || env != identity.Production {
		t.Errorf("Environment = %v, %v", env, err)
	}
	if !IsRegistered("iss") || IsRegistered("roles") {
		t.Error("IsRegistered")
	}
	if !reflect.DeepEqual(Algorithms(), []string{RS256, ES256, EdDSA}) {
		t.Error("Algorithms")
	}
	// Extra values that cannot be encoded fail signing rather than panic.
	c.Type = TypeAccess
	c.Extra = map[string]any{"bad": make(chan int)}
	if _, err := c.MarshalJSON(); err == nil {
		t.Error("an unencodable claim was accepted")
	}
	// Strings needing escapes are escaped.
	c.Extra = nil
	c.Email = "a\"<b>@x.io"
	b, err := c.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var back Claims
	if err := back.UnmarshalJSON(b); err != nil || back.Email != c.Email {
		t.Errorf("escaping: %s -> %q, %v", b, back.Email, err)
	}
}

func TestAPIKeyVerifierMiddleware(t *testing.T) {
	f := newFixture(t)
	tok, _, err := f.svc.IssueAPIKeyToken(context.Background(), &identity.Credential{ID: "k1", Permissions: []string{"read:users"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	var got *Claims
	h := Middleware(f.svc.APIKeyVerifier())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = ClaimsFrom(r.Context())
	}))
	r := httptest.NewRequest("GET", "/api/v2/org/x/users", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 || got == nil || got.Subject != "k1" || !got.HasScope("read:users") {
		t.Fatalf("%d %+v", w.Code, got)
	}
}

func TestInferAlg(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	e384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		key  any
		want string
	}{
		{&rk.PublicKey, RS256}, {&ek.PublicKey, ES256}, {&e384.PublicKey, ""}, {pub, EdDSA}, {"x", ""},
	}
	for _, tt := range tests {
		if got := inferAlg(tt.key); got != tt.want {
			t.Errorf("inferAlg(%T) = %q, want %q", tt.key, got, tt.want)
		}
	}
}
