package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/api"
	"github.com/gatehouse-id/gatehouse/identity/gazetteer"
	"github.com/gatehouse-id/gatehouse/store/memory"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// A host mounts the handler at /api/v2/, exchanges an API key for a
// management token and calls the API with it.
func Example() {
	ctx := context.Background()
	places, _ := gazetteer.New() // offline resolver for autocomplete_address
	svc, _ := identity.NewService(identity.Options{Store: memory.New(), AccountDomain: "acme", Places: places})
	ts, _ := tokens.New(tokens.Options{Identity: svc, BaseURL: "https://auth.example.com"})
	h, err := api.New(api.Options{Service: svc, TokenService: ts})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v2/", h)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	key, secret, _ := svc.CreateCredential(ctx, identity.Credential{Name: "backend", Environment: identity.Production,
		Permissions: []string{"*"}, ManagedOrgs: []string{"*"}}, "")
	res, _ := http.PostForm(srv.URL+"/api/v2/oauth/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {key.ID}, "client_secret": {secret}, "domain": {"acme"}})
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/api/v2/organizations", strings.NewReader(`{"name":"Misapret","autocomplete_address":"Lille"}`))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	res, _ = http.DefaultClient.Do(req)
	var org map[string]any
	_ = json.NewDecoder(res.Body).Decode(&org)
	res.Body.Close()
	fmt.Println(res.StatusCode, org["domain"], org["__access__"], org["country_name"])
	// Output: 201 misapret limited_to:misapret FR
}

// A route group adds endpoints behind the same authentication, with the
// same parameter parsing, errors and list envelopes.
func ExampleRouteGroupFunc() {
	group := api.RouteGroupFunc(func(m *api.Mux) error {
		m.Handle("GET /api/v2/org/{domain}/widgets", "read_many", "widgets", api.HandlerFunc(
			func(w http.ResponseWriter, r *http.Request) error {
				p, _ := api.PrincipalFrom(r.Context())
				ps, err := api.DecodeParams(r)
				if err != nil {
					return err
				}
				rd := ps.Reader()
				page := rd.Page()
				if err := rd.Err(); err != nil {
					return err // 422 naming the fields
				}
				api.WriteList(w, api.Paginate, []string{"widget of " + string(p.Environment())}, page, 1)
				return nil
			}))
		return nil
	})
	svc, _ := identity.NewService(identity.Options{Store: memory.New(), AccountDomain: "acme"})
	ts, _ := tokens.New(tokens.Options{Identity: svc, BaseURL: "https://auth.example.com"})
	_, err := api.New(api.Options{Service: svc, TokenService: ts, Routes: []api.RouteGroup{group}})
	fmt.Println(err)
	// Output: <nil>
}
