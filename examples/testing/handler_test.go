package testing_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identitytest"

	invoices "github.com/gatehouse-id/gatehouse/examples/testing"
)

// books is the host's data: invoices per organization domain.
func books(org string) []invoices.Invoice {
	switch org {
	case "acme":
		return []invoices.Invoice{{Number: "A-1", Amount: 1200}}
	case "globex":
		return []invoices.Invoice{{Number: "G-7", Amount: 99}}
	}
	return nil
}

// get calls the host handler with token ("" for none) and returns the
// status and the JSON body.
func get(t *testing.T, h http.Handler, path, token string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("%s: body %q is not JSON: %v", path, rec.Body, err)
	}
	return rec.Code, body
}

// TestInvoices is the host's table: each kind of token a client may send
// and what the API must answer. The tokens are real: signed by the
// organization's key, with the claims Gatehouse issues.
func TestInvoices(t *testing.T) {
	env := identitytest.New(t) // organization "acme", user jane@acme.test, an application
	h := invoices.NewHandler(env.Middleware(), books)
	globex := env.AddOrganization("Globex")
	sam := env.AddUser(globex.Domain, "sam@globex.test")
	read := identitytest.Scopes("openid", invoices.ScopeRead)

	for _, tc := range []struct {
		name   string
		token  string
		status int
		errKey string // the error the host answers, or "" for success
	}{
		{"valid token", env.Token(env.User(), read), http.StatusOK, ""},
		{"expired", env.Token(env.User(), read, identitytest.Expired()), http.StatusUnauthorized, "invalid_token"},
		{"wrong audience", env.Token(env.User(), read, identitytest.Audience("https://other-app.test")),
			http.StatusUnauthorized, "invalid_token"},
		{"other organization", env.Token(sam, read), http.StatusForbidden, "other_organization"},
		{"sandbox token", env.Token(env.User(), read, identitytest.Sandbox()), http.StatusUnauthorized, "invalid_token"},
		{"missing scope", env.Token(env.User()), http.StatusForbidden, "insufficient_scope"},
		{"no token", "", http.StatusUnauthorized, "authorization_header_missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, h, "/orgs/acme/invoices", tc.token)
			if status != tc.status || body["error"] != nilIfEmpty(tc.errKey) {
				t.Fatalf("status %d, body %v; want %d and error %q", status, body, tc.status, tc.errKey)
			}
			if tc.status == http.StatusOK {
				list, _ := body["invoices"].([]any)
				if len(list) != 1 || !strings.Contains(toJSON(t, list), `"A-1"`) || body["user"] != env.User().ID {
					t.Fatalf("acme's invoices for jane: %v", body)
				}
			}
		})
	}
	// Sam sees his own organization's invoices: the refusal above is about
	// the organization, not about Sam.
	if status, body := get(t, h, "/orgs/globex/invoices", env.Token(sam, read)); status != http.StatusOK ||
		!strings.Contains(toJSON(t, body["invoices"]), `"G-7"`) {
		t.Fatalf("globex's invoices for sam: %d %v", status, body)
	}
}

// TestTokenExpiresDuringSession moves the fake clock: the same token is
// accepted, then refused once its lifetime (here 10 minutes) has passed.
func TestTokenExpiresDuringSession(t *testing.T) {
	env := identitytest.New(t)
	h := invoices.NewHandler(env.Middleware(), books)
	tok := env.Token(env.User(), identitytest.Scopes(invoices.ScopeRead), identitytest.ExpiresIn(10*time.Minute))
	if status, _ := get(t, h, "/orgs/acme/invoices", tok); status != http.StatusOK {
		t.Fatalf("fresh token: %d", status)
	}
	env.Advance(11 * time.Minute)
	if status, body := get(t, h, "/orgs/acme/invoices", tok); status != http.StatusUnauthorized {
		t.Fatalf("token after its lifetime: %d %v", status, body)
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
