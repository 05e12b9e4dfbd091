package provider

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestClientCredentialsSecretChanges: at the token endpoint, a rotated
// client secret is refused by the very next request and the new one
// works; a deleted application is refused at once; and every token
// handed out has its TOKEN_ISSUED event stored.
func TestClientCredentialsSecretChanges(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tokenURL := e.issuer() + "/oauth/token"
	grant := func(secret string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(e.machine.ClientID), url.QueryEscape(secret))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	events := func() int {
		t.Helper()
		p, err := e.ids.ListEvents(ctx, e.org.Domain, identity.EventFilter{Code: identity.EventTokenIssued, ClientID: e.machine.ClientID},
			identity.PageRequest{PerPage: 1})
		if err != nil {
			t.Fatal(err)
		}
		return p.Total
	}
	old := e.macSecret
	if got := grant(old); got != http.StatusOK {
		t.Fatalf("first grant: %d", got)
	}
	fresh, err := e.ids.RotateApplicationSecret(ctx, e.org.Domain, e.machine.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name   string
		secret string
		want   int
	}{
		{"old secret after rotation", old, http.StatusUnauthorized},
		{"new secret", fresh, http.StatusOK},
		{"old secret again", old, http.StatusUnauthorized},
	}
	for _, s := range steps {
		if got := grant(s.secret); got != s.want {
			t.Fatalf("%s: %d, want %d", s.name, got, s.want)
		}
	}
	if n := events(); n != 2 {
		t.Fatalf("2 tokens handed out, %d TOKEN_ISSUED events", n)
	}
	if _, err := e.ids.DeleteApplication(ctx, e.org.Domain, e.machine.ClientID); err != nil {
		t.Fatal(err)
	}
	if got := grant(fresh); got != http.StatusUnauthorized {
		t.Fatalf("deleted application: %d", got)
	}
}
