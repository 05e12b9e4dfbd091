package profile_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/password"
	"github.com/gatehouse-id/gatehouse/profile"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// A host mounts the Crafter Profile API at /api/1/ and talks to it with an
// access token, as the Java client does (.json URLs, form bodies).
func ExampleNewHandler() {
	ctx := context.Background()
	id, _ := identity.NewService(identity.Options{Store: memory.New()})
	h, _ := profile.NewHandler(profile.Options{Identity: id, Hasher: password.New()})
	mux := http.NewServeMux()
	mux.Handle("/api/1/", h)

	// The bootstrap master token (the example server makes one at first start).
	_, token, _ := id.CreateCredential(ctx, identity.Credential{Application: "profile-admin", Master: true,
		Environment:       identity.Production,
		TenantPermissions: []identity.TenantPermission{{Tenant: "*", AllowedActions: []string{"*"}}}}, "")

	post := func(path, ctype, body string) int {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		return w.Code
	}
	fmt.Println(post("/api/1/tenant/create.json?accessTokenId="+url.QueryEscape(token), "application/json",
		`{"name":"acme","availableRoles":["USER"]}`))
	form := url.Values{"accessTokenId": {token}, "tenantName": {"acme"}, "username": {"alice"},
		"password": {"correct horse"}, "email": {"alice@example.com"}, "enabled": {"true"}}
	fmt.Println(post("/api/1/profile/create.json", "application/x-www-form-urlencoded", form.Encode()))
	login := url.Values{"accessTokenId": {token}, "tenantName": {"acme"}, "username": {"alice"}, "password": {"correct horse"}}
	fmt.Println(post("/api/1/authentication/authenticate.json", "application/x-www-form-urlencoded", login.Encode()))
	// Output:
	// 200
	// 200
	// 200
}
