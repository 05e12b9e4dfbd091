package provider

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestHeadlessCodeExpiredKey: once its API key has expired, its
// management token no longer redeems a headless code at /oauth/token (the
// token's lifetime ends with the key's, and the exchange checks the stored
// key too), and the refused attempt leaves the code to a valid key, which
// may leave grant_type out as Cryptr's Kotlin SDK does.
func TestHeadlessCodeExpiredKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	key := func(exp *time.Time) string {
		cred, _, err := e.ids.CreateCredential(ctx, identity.Credential{Name: "backend", Permissions: []string{"create:users"},
			ManagedOrgs: []string{e.org.Domain}, Environment: identity.Production, ExpiresAt: exp}, "")
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := e.tok.IssueAPIKeyToken(ctx, cred, "")
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + tok
	}
	soon := e.clock.Now().Add(time.Minute)
	expiring, lasting := key(&soon), key(nil)

	link := e.headlessChallenge(t, expiring, e.web.ClientID)
	c := e.newBrowser()
	confirm := e.get(c, link)
	_, csrf, _ := form(t, confirm.body)
	done := e.postForm(c, link, url.Values{"csrf_token": {csrf}})
	if done.status != http.StatusSeeOther {
		t.Fatalf("consume: %d %s", done.status, done.body)
	}
	code := done.location(t).Query().Get("code")
	e.clock.Advance(2 * time.Minute)
	oauthErr(t, e.postForm(http.DefaultClient, e.base+"/oauth/token", url.Values{"grant_type": {"authorization_code"},
		"code": {code}}, "Authorization", expiring), http.StatusUnauthorized, errInvalidClient)
	if ok := e.postForm(http.DefaultClient, e.base+"/oauth/token", url.Values{"code": {code}}, "Authorization", lasting); ok.status != http.StatusOK {
		t.Fatalf("a valid key after the refusal: %d %s", ok.status, ok.body)
	}
}
