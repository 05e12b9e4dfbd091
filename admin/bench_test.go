package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/bolt"
)

// BenchmarkUserSearchPage measures the console's user search page over an
// organization of 100,000 users on bolt (the whole request: session check,
// scoped service, search, template) beside the bare service call it makes
// (identity.Service.SearchUsers with the same query, by a service scoped
// like the member's), for three queries: an email prefix (the email
// index), a name that many users share (a text search that fills its page
// early), and a name nobody has (a text search that spends its whole
// budget of identity.SearchBudget users and offers "More results"), and
// two MetaData conditions (key=value, identity.UserSearch.MetaKey): one
// that a tenth of the users match (the page fills early) and one that a
// thousandth match (the page spends its whole budget). The ratio
// page/service is the console's own cost.
//
//	go test -run '^$' -bench BenchmarkUserSearchPage -benchtime 200x ./admin/
func BenchmarkUserSearchPage(b *testing.B) {
	ctx := context.Background()
	st, err := bolt.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	h := newHarness(b, harnessOpt{prefix: "/admin", store: st, skipOrgs: true})
	name := "Big"
	if _, err := h.ids.CreateOrganization(ctx, identity.OrganizationInput{Name: &name}); err != nil {
		b.Fatal(err)
	}
	for _, k := range []string{"tier", "plan"} {
		if _, err := h.ids.CreateMetaKey(ctx, "big", k, identity.MetaString, false); err != nil {
			b.Fatal(err)
		}
	}
	const n = 100_000
	users := make([]identity.User, n)
	for i := range users {
		users[i] = identity.User{Email: fmt.Sprintf("user%06d@big.test", i), Enabled: true,
			Profile:    identity.Profile{GivenName: "Given", FamilyName: fmt.Sprintf("Family%d", i%1000), Name: fmt.Sprintf("Person %d", i)},
			Attributes: map[string]any{"tier": fmt.Sprintf("t%d", i%10), "plan": fmt.Sprintf("p%d", i%1000)}}
	}
	res, err := h.ids.ImportUsers(ctx, "big", users, identity.ImportOptions{BatchSize: 2000})
	if err != nil || res[n-1].Status != identity.ImportCreated {
		b.Fatal(err)
	}
	br := h.signedIn(h.owner.UserID)
	u, _ := url.Parse(h.base + "/admin/")
	var cookie string
	for _, c := range br.c.Jar.Cookies(u) {
		cookie = c.Name + "=" + c.Value
	}
	scoped, err := h.ids.For(h.owner.Scope(identity.Production))
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range []struct{ name, query, meta, want string }{
		{"email-prefix", "user042100@", "", "user042100@big.test"},
		{"common-name", "family7", "", "@big.test"},
		{"no-match", "zebulon", "", "More results"},
		{"meta-common", "", "tier=t7", "@big.test"},
		{"meta-rare", "", "plan=p421", "More results"},
	} {
		key, value, _ := strings.Cut(q.meta, "=")
		b.Run(q.name+"/service", func(b *testing.B) {
			for b.Loop() {
				p, err := scoped.SearchUsers(ctx, "big", identity.UserSearch{Query: q.query, MetaKey: key, MetaValue: value, Limit: 20})
				if err != nil || (len(p.Users) == 0) != (q.name == "no-match") {
					b.Fatalf("%v %+v", err, p)
				}
			}
		})
		b.Run(q.name+"/page", func(b *testing.B) {
			path := "/orgs/big/users?q=" + url.QueryEscape(q.query) + "&meta=" + url.QueryEscape(q.meta)
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, path, nil)
				req.Header.Set("Cookie", cookie)
				rec := httptest.NewRecorder()
				h.con.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), q.want) {
					b.Fatalf("%d %s", rec.Code, rec.Body.String())
				}
			}
		})
	}
}
