package testing_test

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-id/gatehouse/identitytest"

	invoices "github.com/gatehouse-id/gatehouse/examples/testing"
)

// A host test: an in-memory Gatehouse, the host's handler behind the
// token middleware, and a real access token of the seeded user. (An
// Example gets no *testing.T; a test passes its own t.)
func Example() {
	env := identitytest.New(&testing.T{})
	h := invoices.NewHandler(env.Middleware(), books)

	req := httptest.NewRequest("GET", "/orgs/acme/invoices", nil)
	req.Header.Set("Authorization", "Bearer "+env.Token(env.User(), identitytest.Scopes(invoices.ScopeRead)))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code)

	req.Header.Del("Authorization")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	// Output:
	// 200
	// 401 Bearer
}
