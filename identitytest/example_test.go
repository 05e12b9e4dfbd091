package identitytest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-id/gatehouse/identitytest"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// A host test wraps its handler with the Env's middleware and calls it
// with a real token of the seeded user. (An Example gets no *testing.T;
// a test passes its own t, and the Env is released when the test ends.)
func Example() {
	t := &testing.T{}
	env := identitytest.New(t)

	hello := env.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := tokens.ClaimsFrom(r.Context())
		fmt.Fprintf(w, "hello %s of %s", c.Email, c.Tenant)
	}))

	req := httptest.NewRequest("GET", "/hello", nil)
	req.Header.Set("Authorization", "Bearer "+env.Token(env.User()))
	rec := httptest.NewRecorder()
	hello.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.String())
	// Output: 200 hello jane@acme.test of acme
}

// Token options make the tokens a host must refuse: a sandbox token, an
// expired one, another application's audience.
func ExampleEnv_Token() {
	env := identitytest.New(&testing.T{})
	v := env.Verifier()
	for _, tc := range []struct {
		name string
		opt  identitytest.TokenOption
	}{
		{"production", identitytest.Scopes("read:invoices")},
		{"sandbox", identitytest.Sandbox()},
		{"expired", identitytest.Expired()},
		{"other audience", identitytest.Audience("https://other.test")},
	} {
		_, err := v.Verify(context.Background(), env.Token(env.User(), tc.opt))
		fmt.Printf("%s: accepted=%v\n", tc.name, err == nil)
	}
	// Output:
	// production: accepted=true
	// sandbox: accepted=false
	// expired: accepted=false
	// other audience: accepted=false
}
