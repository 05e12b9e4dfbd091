package tokens

import (
	"context"
	"reflect"
	"sort"
	"testing"
	"time"
)

// TestJWTSampleIsWhatTheIssuerSigns: with a user and an application, the
// samples carry the claims the issuer gives a real sign-in (the host's
// ClaimsUpdater, MetaData, the application's lifetimes, the same claim
// names), and only the sample's own values (jti, iat, hashes) differ.
func TestJWTSampleIsWhatTheIssuerSigns(t *testing.T) {
	hook := ClaimsUpdaterFunc(func(_ context.Context, req *TokenRequest, c *Claims) error {
		if c.Extra == nil {
			c.Extra = map[string]any{}
		}
		c.Extra["plan_tier"] = "gold-" + req.User.Email
		c.ApplicationMetadata["hooked"] = true
		return nil
	})
	f := newFixture(t, func(o *Options) { o.ClaimsUpdater = hook; o.MetadataInAccessToken = true })
	ctx := context.Background()
	if _, err := f.id.CreateMetaKey(ctx, f.org.Domain, "seats", "integer", false); err != nil {
		t.Fatal(err)
	}
	u, err := f.id.SetUserMetadata(ctx, f.org.Domain, f.user.ID, "seats", "12")
	if err != nil {
		t.Fatal(err)
	}
	app := *f.app
	app.AccessTokenTTL, app.IDTokenTTL = 7*time.Minute, 3*time.Minute
	req := f.req()
	req.User, req.App = u, &app
	at, it, err := f.svc.IssueTokens(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.svc.JWTSample(ctx, SampleRequest{OrgDomain: f.org.Domain, User: u, App: &app})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name           string
		issued, sample map[string]any
		claims         *Claims
		ttl            time.Duration
	}{
		{"access", decodePart(t, at.Value, 1), decodePart(t, s.AccessTokenJWT, 1), s.AccessTokenClaims, 7 * time.Minute},
		{"id", decodePart(t, it.Value, 1), decodePart(t, s.IDTokenJWT, 1), s.IDTokenClaims, 3 * time.Minute},
	} {
		if !reflect.DeepEqual(sortedKeys(c.issued), sortedKeys(c.sample)) {
			t.Errorf("%s: claim names %v, issued %v", c.name, sortedKeys(c.sample), sortedKeys(c.issued))
		}
		for k, v := range c.issued {
			switch k {
			case "jti", "at_hash", "c_hash", "s_hash", "nonce":
				continue
			}
			if !reflect.DeepEqual(v, c.sample[k]) {
				t.Errorf("%s: %s = %v, issued %v", c.name, k, c.sample[k], v)
			}
		}
		if c.sample["plan_tier"] != "gold-jane.doe@example.com" ||
			c.sample["application_metadata"].(map[string]any)["hooked"] != true ||
			c.sample["resource_owner_metadata"].(map[string]any)["seats"] == nil {
			t.Errorf("%s: custom claims missing: %v", c.name, c.sample)
		}
		if got := time.Duration(c.sample["exp"].(float64)-c.sample["iat"].(float64)) * time.Second; got != c.ttl {
			t.Errorf("%s: lifetime %v, want the application's %v", c.name, got, c.ttl)
		}
		if c.claims == nil || c.claims.ID != c.sample["jti"] {
			t.Errorf("%s: decoded claims %+v do not match the JWT", c.name, c.claims)
		}
	}
	// The ID token's at_hash binds it to the sample's access token.
	if h, _ := HalfHash(RS256, s.AccessTokenJWT); decodePart(t, s.IDTokenJWT, 1)["at_hash"] != h {
		t.Error("at_hash is not the sample access token's")
	}
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
