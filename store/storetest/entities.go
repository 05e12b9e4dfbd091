package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// clock is an injected clock that tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// env is a service on a fresh store in both environments, with a clock.
type env struct {
	prod, sand *identity.Service
	clock      *clock
}

func newEnv(t *testing.T, s identity.Store) *env {
	t.Helper()
	c := newClock()
	prod, err := identity.NewService(identity.Options{Store: s, Clock: c.Now, Environment: identity.Production, AccountDomain: "account"})
	if err != nil {
		t.Fatal(err)
	}
	sand, err := prod.ForEnvironment(identity.Sandbox)
	if err != nil {
		t.Fatal(err)
	}
	return &env{prod: prod, sand: sand, clock: c}
}

func ptr[T any](v T) *T { return &v }

func (e *env) org(t *testing.T, name string) *identity.Organization {
	t.Helper()
	o, err := e.prod.CreateOrganization(context.Background(), identity.OrganizationInput{Name: &name})
	if err != nil {
		t.Fatalf("CreateOrganization(%q): %v", name, err)
	}
	return o
}

func user(t *testing.T, s *identity.Service, domain, email string) *identity.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), domain, identity.User{Email: email}, "")
	if err != nil {
		t.Fatalf("CreateUser(%s, %s): %v", domain, email, err)
	}
	return u
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got %v, want %v", what, err, target)
	}
}

// runEntities runs the entity-level tests through the identity service.
func runEntities(t *testing.T, fresh func(t *testing.T) identity.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"Organizations", testOrganizations},
		{"OrganizationAtomicity", testOrganizationAtomicity},
		{"Users", testUsers},
		{"UserUniqueness", testUserUniqueness},
		{"UserAtomicity", testUserAtomicity},
		{"UserCompareAndSwap", testUserCompareAndSwap},
		{"UserPagination", testUserPagination},
		{"EnvironmentIsolation", testEnvironmentIsolation},
		{"Applications", testApplications},
		{"MetaKeys", testMetaKeys},
		{"Events", testEvents},
		{"Credentials", testCredentials},
		{"TicketExpiry", testTicketExpiry},
		{"EmailChangeVoidsTokens", testEmailChangeVoidsTokens},
		{"OrgDeletionSweeps", testOrgDeletionSweeps},
		{"ConcurrentSameEmail", testConcurrentSameEmail},
		{"ConcurrentCreates", testConcurrentCreates},
	}
	t.Run("Entities", func(t *testing.T) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) { tc.fn(t, newEnv(t, fresh(t))) })
		}
	})
}

func testOrganizations(t *testing.T, e *env) {
	ctx := context.Background()
	o := e.org(t, "Acme Corp")
	if o.Domain != "acme-corp" || o.ID == "" || o.ManagedBy != "account" {
		t.Fatalf("created %+v", o)
	}
	got, err := e.prod.GetOrganization(ctx, "acme-corp")
	if err != nil || got.ID != o.ID || got.Name != "Acme Corp" || !got.CreatedAt.Equal(o.CreatedAt) {
		t.Fatalf("GetOrganization = %+v, %v", got, err)
	}
	// Organizations are account-wide: the sandbox sees the same one.
	if sb, err := e.sand.GetOrganization(ctx, "acme-corp"); err != nil || sb.ID != o.ID {
		t.Errorf("sandbox GetOrganization = %v, %v", sb, err)
	}
	_, err = e.prod.GetOrganization(ctx, "nope")
	wantErr(t, "GetOrganization(nope)", err, identity.ErrNotFound)

	// The domain is unique: the same slug from another spelling conflicts.
	for _, name := range []string{"Acme Corp", "ACME  corp", "acme-corp"} {
		_, err := e.prod.CreateOrganization(ctx, identity.OrganizationInput{Name: ptr(name)})
		wantErr(t, "CreateOrganization("+name+")", err, identity.ErrConflict)
	}
	_, err = e.prod.CreateOrganization(ctx, identity.OrganizationInput{})
	wantErr(t, "CreateOrganization without a name", err, identity.ErrInvalid)

	e.clock.Add(time.Minute)
	up, err := e.prod.UpdateOrganization(ctx, "acme-corp", identity.OrganizationInput{Name: ptr("Acme Renamed"), Locality: ptr("Lille")})
	if err != nil {
		t.Fatal(err)
	}
	if up.Domain != "acme-corp" || up.Name != "Acme Renamed" || up.Locality != "Lille" || !up.UpdatedAt.After(o.UpdatedAt) {
		t.Errorf("UpdateOrganization = %+v", up)
	}
	if got, _ := e.prod.GetOrganization(ctx, "acme-corp"); got == nil || got.Name != "Acme Renamed" {
		t.Errorf("update not stored: %+v", got)
	}
	_, err = e.prod.UpdateOrganization(ctx, "nope", identity.OrganizationInput{Name: ptr("x")})
	wantErr(t, "UpdateOrganization(nope)", err, identity.ErrNotFound)

	for i := 0; i < 10; i++ {
		e.clock.Add(time.Second)
		e.org(t, fmt.Sprintf("Org %02d", i))
	}
	p, err := e.prod.ListOrganizations(ctx, identity.PageRequest{Page: 1, PerPage: 4})
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != 11 || len(p.Items) != 4 || p.Items[0].Domain != "org-09" || p.Items[3].Domain != "org-06" {
		t.Errorf("ListOrganizations page 1 = total %d, %v", p.Total, domains(p.Items))
	}
	p, _ = e.prod.ListOrganizations(ctx, identity.PageRequest{Page: 3, PerPage: 4})
	if len(p.Items) != 3 || p.Items[2].Domain != "acme-corp" {
		t.Errorf("ListOrganizations page 3 = %v", domains(p.Items))
	}
}

func domains(os []identity.Organization) []string {
	var out []string
	for _, o := range os {
		out = append(out, o.Domain)
	}
	return out
}

func testOrganizationAtomicity(t *testing.T, e *env) {
	ctx := context.Background()
	_, err := e.prod.CreateOrganization(ctx, identity.OrganizationInput{Name: ptr("First"), AllowedEmailDomains: &[]string{"first.example"}})
	if err != nil {
		t.Fatal(err)
	}
	// The second claims its domain slug, then fails on the email domain:
	// nothing of it may remain.
	_, err = e.prod.CreateOrganization(ctx, identity.OrganizationInput{Name: ptr("Second"), AllowedEmailDomains: &[]string{"second.example", "first.example"}})
	if err == nil {
		t.Fatal("two organizations own first.example")
	}
	_, err = e.prod.GetOrganization(ctx, "second")
	wantErr(t, "failed organization", err, identity.ErrNotFound)
	_, err = e.prod.OrgForEmailDomain(ctx, "second.example")
	wantErr(t, "email domain of the failed organization", err, identity.ErrNotFound)
	if o, err := e.prod.OrgForEmailDomain(ctx, "FIRST.example"); err != nil || o.Domain != "first" {
		t.Errorf("OrgForEmailDomain(first) = %v, %v", o, err)
	}
	p, err := e.prod.ListOrganizations(ctx, identity.PageRequest{})
	if err != nil || p.Total != 1 || len(p.Items) != 1 {
		t.Errorf("after a failed create: total %d, items %d, %v", p.Total, len(p.Items), err)
	}
	if _, err := e.prod.CreateOrganization(ctx, identity.OrganizationInput{Name: ptr("Second"), AllowedEmailDomains: &[]string{"second.example"}}); err != nil {
		t.Errorf("the failed organization's domain stayed taken: %v", err)
	}
}

func testUsers(t *testing.T, e *env) {
	ctx := context.Background()
	o := e.org(t, "Acme")
	in := identity.User{Email: "Ada@Example.com", Roles: []string{"admin", "admin", "dev"}, Verified: true, Enabled: true,
		Profile: identity.Profile{GivenName: "Ada", FamilyName: "Lovelace", Address: &identity.Address{Country: "GB"}}}
	u, err := e.prod.CreateUser(ctx, "acme", in, "")
	if err != nil {
		t.Fatal(err)
	}
	if u.OrgID != o.ID || u.Username != "Ada@Example.com" || !slices.Equal(u.Roles, []string{"admin", "dev"}) || u.ObjectID == "" {
		t.Errorf("created %+v", u)
	}
	got, err := e.prod.GetUser(ctx, "acme", u.ID)
	if err != nil || got.Email != "Ada@Example.com" || got.Profile.Address == nil || got.Profile.Address.Country != "GB" || !got.CreatedAt.Equal(u.CreatedAt) {
		t.Fatalf("GetUser = %+v, %v", got, err)
	}
	for _, email := range []string{"ada@example.com", "ADA@EXAMPLE.COM", " Ada@Example.com"} {
		if got, err := e.prod.GetUserByEmail(ctx, "acme", email); err != nil || got.ID != u.ID {
			t.Errorf("GetUserByEmail(%q) = %v, %v", email, got, err)
		}
	}
	_, err = e.prod.GetUser(ctx, "acme", "00000000-0000-7000-8000-000000000000")
	wantErr(t, "GetUser(unknown)", err, identity.ErrNotFound)
	_, err = e.prod.GetUser(ctx, "nope", u.ID)
	wantErr(t, "GetUser in an unknown organization", err, identity.ErrNotFound)
	// Another organization's user is not found through this one.
	e.org(t, "Other")
	_, err = e.prod.GetUser(ctx, "other", u.ID)
	wantErr(t, "GetUser across organizations", err, identity.ErrNotFound)
	_, err = e.prod.CreateUser(ctx, "acme", identity.User{Email: "not an email"}, "")
	wantErr(t, "CreateUser with a bad email", err, identity.ErrInvalid)

	e.clock.Add(time.Minute)
	up, err := e.prod.UpdateUser(ctx, "acme", u.ID, func(u *identity.User) error {
		u.Email = "ada.lovelace@example.com"
		u.Profile.GivenName = "Augusta"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !up.UpdatedAt.After(u.UpdatedAt) || up.Profile.GivenName != "Augusta" {
		t.Errorf("UpdateUser = %+v", up)
	}
	if got, err := e.prod.GetUserByEmail(ctx, "acme", "ada.lovelace@example.com"); err != nil || got.ID != u.ID {
		t.Errorf("lookup by the new email = %v, %v", got, err)
	}
	_, err = e.prod.GetUserByEmail(ctx, "acme", "ada@example.com")
	wantErr(t, "lookup by the old email", err, identity.ErrNotFound)
	// The old email is free again.
	other := user(t, e.prod, "acme", "ada@example.com")

	del, err := e.prod.DeleteUser(ctx, "acme", u.ID)
	if err != nil || del.ID != u.ID {
		t.Fatalf("DeleteUser = %v, %v", del, err)
	}
	_, err = e.prod.GetUser(ctx, "acme", u.ID)
	wantErr(t, "GetUser after delete", err, identity.ErrNotFound)
	_, err = e.prod.DeleteUser(ctx, "acme", u.ID)
	wantErr(t, "second DeleteUser", err, identity.ErrNotFound)
	_, err = e.prod.UpdateUser(ctx, "acme", u.ID, func(*identity.User) error { return nil })
	wantErr(t, "UpdateUser after delete", err, identity.ErrNotFound)
	p, err := e.prod.ListUsers(ctx, "acme", identity.PageRequest{})
	if err != nil || p.Total != 1 || len(p.Items) != 1 || p.Items[0].ID != other.ID {
		t.Errorf("ListUsers after delete = %+v, %v", p, err)
	}
	user(t, e.prod, "acme", "ada.lovelace@example.com") // freed by the delete
}

func testUserUniqueness(t *testing.T, e *env) {
	ctx := context.Background()
	e.org(t, "Acme")
	e.org(t, "Globex")
	user(t, e.prod, "acme", "ada@example.com")
	_, err := e.prod.CreateUser(ctx, "acme", identity.User{Email: "ADA@example.COM"}, "")
	wantErr(t, "same email, other case, same organization", err, identity.ErrConflict)
	if f := identity.ConflictField(err); f != "email" {
		t.Errorf("conflict field = %q, want email", f)
	}
	user(t, e.prod, "globex", "ada@example.com") // another organization: fine

	if _, err := e.prod.CreateUser(ctx, "acme", identity.User{Email: "bob@example.com", Username: "bob"}, ""); err != nil {
		t.Fatal(err)
	}
	_, err = e.prod.CreateUser(ctx, "acme", identity.User{Email: "robert@example.com", Username: "bob"}, "")
	wantErr(t, "same username, same organization", err, identity.ErrConflict)
	if f := identity.ConflictField(err); f != "username" {
		t.Errorf("conflict field = %q, want username", f)
	}
	if _, err := e.prod.CreateUser(ctx, "globex", identity.User{Email: "robert@example.com", Username: "bob"}, ""); err != nil {
		t.Errorf("same username in another organization: %v", err)
	}
	// An update into a taken email conflicts and changes nothing.
	carol := user(t, e.prod, "acme", "carol@example.com")
	_, err = e.prod.UpdateUser(ctx, "acme", carol.ID, func(u *identity.User) error { u.Email = "Bob@Example.com"; return nil })
	wantErr(t, "update into a taken email", err, identity.ErrConflict)
	if got, err := e.prod.GetUserByEmail(ctx, "acme", "carol@example.com"); err != nil || got.ID != carol.ID {
		t.Errorf("failed update lost carol's email: %v, %v", got, err)
	}
}

func testUserAtomicity(t *testing.T, e *env) {
	ctx := context.Background()
	e.org(t, "Acme")
	user(t, e.prod, "acme", "ada@example.com") // username ada@example.com too
	// Whichever index a failed create claims before hitting the conflict
	// must be released: try both orders.
	_, err := e.prod.CreateUser(ctx, "acme", identity.User{Email: "ada@example.com", Username: "fresh-name"}, "")
	wantErr(t, "duplicate email", err, identity.ErrConflict)
	_, err = e.prod.CreateUser(ctx, "acme", identity.User{Email: "fresh@example.com", Username: "ada@example.com"}, "")
	wantErr(t, "duplicate username", err, identity.ErrConflict)
	if _, err := e.prod.CreateUser(ctx, "acme", identity.User{Email: "fresh@example.com", Username: "fresh-name"}, ""); err != nil {
		t.Errorf("a failed create left its email or username claimed: %v", err)
	}
	p, err := e.prod.ListUsers(ctx, "acme", identity.PageRequest{})
	if err != nil || p.Total != 2 || len(p.Items) != 2 {
		t.Errorf("ListUsers = total %d, %d items, %v; want 2", p.Total, len(p.Items), err)
	}
	events, err := e.prod.ListEvents(ctx, "acme", identity.EventFilter{Code: identity.EventUserCreated}, identity.PageRequest{})
	if err != nil || events.Total != 2 {
		t.Errorf("USER_CREATED events = %d, %v; want 2 (none for the failed create)", events.Total, err)
	}
	// A failing compare-and-swap function leaves the user unchanged and
	// its error comes back as is.
	u, _ := e.prod.GetUserByEmail(ctx, "acme", "ada@example.com")
	refuse := errors.New("refused by the caller")
	_, err = e.prod.UpdateUser(ctx, "acme", u.ID, func(u *identity.User) error {
		u.Email = "changed@example.com"
		return refuse
	})
	if !errors.Is(err, refuse) {
		t.Errorf("UpdateUser returned %v, want the function's error", err)
	}
	if got, _ := e.prod.GetUser(ctx, "acme", u.ID); got == nil || got.Email != "ada@example.com" {
		t.Errorf("failed update changed the user: %+v", got)
	}
	_, err = e.prod.GetUserByEmail(ctx, "acme", "changed@example.com")
	wantErr(t, "email of a failed update", err, identity.ErrNotFound)
}

func testUserCompareAndSwap(t *testing.T, e *env) {
	ctx := context.Background()
	e.org(t, "Acme")
	u := user(t, e.prod, "acme", "ada@example.com")
	// 64 writers each add a role to the current record: none is lost.
	errs := make([]error, 64)
	parallel(64, func(i int) {
		_, errs[i] = e.prod.UpdateUser(ctx, "acme", u.ID, func(u *identity.User) error {
			u.Roles = append(u.Roles, fmt.Sprintf("role-%02d", i))
			return nil
		})
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.prod.GetUser(ctx, "acme", u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Roles) != 64 {
		t.Errorf("%d roles after 64 concurrent updates, want 64", len(got.Roles))
	}
	if err := e.prod.View(ctx, func(tx *identity.ReadTxn) error {
		n, err := identity.RoleUsers(kv.Inside(), identity.Production, u.OrgID, "role-33").Count(tx.KV(kv.Inside()))
		if err == nil && n != 1 {
			err = fmt.Errorf("role index count %d, want 1", n)
		}
		return err
	}); err != nil {
		t.Error(err)
	}
}

func testUserPagination(t *testing.T, e *env) {
	ctx := context.Background()
	e.org(t, "Acme")
	var ids []string
	for i := 0; i < 20; i++ {
		e.clock.Add(time.Second)
		ids = append(ids, user(t, e.prod, "acme", fmt.Sprintf("u%02d@example.com", i)).ID)
	}
	// Newest first.
	slices.Reverse(ids)
	var listed []string
	for page := 1; page <= 4; page++ {
		p, err := e.prod.ListUsers(ctx, "acme", identity.PageRequest{Page: page, PerPage: 8})
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != 20 || p.Page != page || p.PerPage != 8 || p.TotalPages() != 3 {
			t.Errorf("page %d: total %d page %d per page %d pages %d", page, p.Total, p.Page, p.PerPage, p.TotalPages())
		}
		want := []int{8, 8, 4, 0}[page-1]
		if len(p.Items) != want {
			t.Errorf("page %d has %d items, want %d", page, len(p.Items), want)
		}
		for _, u := range p.Items {
			listed = append(listed, u.ID)
		}
	}
	if !slices.Equal(listed, ids) {
		t.Errorf("pages are not newest first:\n got  %v\n want %v", listed, ids)
	}
	// Cursor iteration visits the same order.
	var iterated []string
	after := ""
	for range 10 {
		us, next, err := e.prod.IterateUsers(ctx, "acme", after, 6)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range us {
			iterated = append(iterated, u.ID)
		}
		if next == "" {
			break
		}
		after = next
	}
	if !slices.Equal(iterated, ids) {
		t.Errorf("IterateUsers order:\n got  %v\n want %v", iterated, ids)
	}
	// Out-of-range and oversized requests are bounded.
	p, err := e.prod.ListUsers(ctx, "acme", identity.PageRequest{Page: -3, PerPage: 1000})
	if err != nil || p.Page != 1 || len(p.Items) != 20 {
		t.Errorf("normalized request: page %d, %d items, %v", p.Page, len(p.Items), err)
	}
}

func testEnvironmentIsolation(t *testing.T, e *env) {
	ctx := context.Background()
	e.org(t, "Acme")
	sb := user(t, e.sand, "acme", "ada@example.com")
	_, err := e.prod.GetUserByEmail(ctx, "acme", "ada@example.com")
	wantErr(t, "production lookup of a sandbox email", err, identity.ErrNotFound)
	_, err = e.prod.GetUser(ctx, "acme", sb.ID)
	wantErr(t, "production GetUser of a sandbox id", err, identity.ErrNotFound)
	pr := user(t, e.prod, "acme", "ada@example.com") // same email, other environment
	user(t, e.prod, "acme", "bob@example.com")
	_, err = e.sand.GetUser(ctx, "acme", pr.ID)
	wantErr(t, "sandbox GetUser of a production id", err, identity.ErrNotFound)
	ps, _ := e.sand.ListUsers(ctx, "acme", identity.PageRequest{})
	pp, _ := e.prod.ListUsers(ctx, "acme", identity.PageRequest{})
	if ps.Total != 1 || pp.Total != 2 {
		t.Errorf("totals sandbox %d production %d, want 1 and 2", ps.Total, pp.Total)
	}
	if _, err := e.sand.DeleteUser(ctx, "acme", pr.ID); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("sandbox DeleteUser of a production user = %v", err)
	}
	if got, err := e.prod.GetUser(ctx, "acme", pr.ID); err != nil || got.ID != pr.ID {
		t.Errorf("production user after a sandbox delete attempt: %v, %v", got, err)
	}
	app, _, err := e.sand.CreateApplication(ctx, "acme", identity.Application{Name: "SPA", ApplicationType: identity.AppReact})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.prod.GetApplication(ctx, "acme", app.ClientID)
	wantErr(t, "production GetApplication of a sandbox app", err, identity.ErrNotFound)
	se, _ := e.sand.ListEvents(ctx, "acme", identity.EventFilter{Code: identity.EventUserCreated}, identity.PageRequest{})
	pe, _ := e.prod.ListEvents(ctx, "acme", identity.EventFilter{Code: identity.EventUserCreated}, identity.PageRequest{})
	if se.Total != 1 || pe.Total != 2 {
		t.Errorf("USER_CREATED events sandbox %d production %d, want 1 and 2", se.Total, pe.Total)
	}
}

func testApplications(t *testing.T, e *env) {
	ctx := context.Background()
	e.org(t, "Acme")
	in := identity.Application{Name: "Portal", ApplicationType: identity.AppRegularWeb,
		AllowedRedirectURLs: []string{"https://portal.example/cb"}, Metadata: map[string]string{"tier": "gold"}}
	a, secret, err := e.prod.CreateApplication(ctx, "acme", in)
	if err != nil {
		t.Fatal(err)
	}
	if secret == "" || a.ClientSecretHash != identity.HashSecret(secret) || a.ClientID == "" {
		t.Errorf("confidential app: secret %q hash %q", secret, a.ClientSecretHash)
	}
	got, err := e.prod.GetApplication(ctx, "acme", a.ClientID)
	if err != nil || got.Name != "Portal" || got.Metadata["tier"] != "gold" || !slices.Equal(got.AllowedRedirectURLs, in.AllowedRedirectURLs) {
		t.Fatalf("GetApplication = %+v, %v", got, err)
	}
	if got, err := e.prod.ApplicationByClientID(ctx, a.ClientID); err != nil || got.ID != a.ID {
		t.Errorf("ApplicationByClientID = %v, %v", got, err)
	}
	spa, secret2, err := e.prod.CreateApplication(ctx, "acme", identity.Application{Name: "SPA", ApplicationType: identity.AppVue})
	if err != nil || secret2 != "" || spa.ClientSecretHash != "" {
		t.Errorf("public app: secret %q, %v", secret2, err)
	}
	_, _, err = e.prod.CreateApplication(ctx, "acme", identity.Application{Name: "", ApplicationType: "rocket"})
	wantErr(t, "invalid application", err, identity.ErrInvalid)
	_, _, err = e.prod.CreateApplication(ctx, "nope", in)
	wantErr(t, "application of an unknown organization", err, identity.ErrNotFound)

	up, err := e.prod.UpdateApplication(ctx, "acme", a.ClientID, func(a *identity.Application) error {
		a.Description = "the customer portal"
		return nil
	})
	if err != nil || up.Description != "the customer portal" {
		t.Fatalf("UpdateApplication = %+v, %v", up, err)
	}
	if got, _ := e.prod.GetApplication(ctx, "acme", a.ClientID); got == nil || got.Description != "the customer portal" {
		t.Errorf("update not stored: %+v", got)
	}
	p, err := e.prod.ListApplications(ctx, "acme", identity.PageRequest{})
	if err != nil || p.Total != 2 || len(p.Items) != 2 || p.Items[0].ID != spa.ID {
		t.Errorf("ListApplications = %+v, %v (want 2, newest first)", p, err)
	}
	if _, err := e.prod.DeleteApplication(ctx, "acme", a.ClientID); err != nil {
		t.Fatal(err)
	}
	_, err = e.prod.GetApplication(ctx, "acme", a.ClientID)
	wantErr(t, "GetApplication after delete", err, identity.ErrNotFound)
	_, err = e.prod.ApplicationByClientID(ctx, a.ClientID)
	wantErr(t, "ApplicationByClientID after delete", err, identity.ErrNotFound)
	if p, _ := e.prod.ListApplications(ctx, "acme", identity.PageRequest{}); p.Total != 1 {
		t.Errorf("ListApplications total after delete = %d", p.Total)
	}
}

func testMetaKeys(t *testing.T, e *env) {
	ctx := context.Background()
	e.org(t, "Acme")
	u := user(t, e.prod, "acme", "ada@example.com")
	k, err := e.prod.CreateMetaKey(ctx, "acme", "plan", "String", false)
	if err != nil || k.Type != identity.MetaString || k.Name != "plan" {
		t.Fatalf("CreateMetaKey = %+v, %v", k, err)
	}
	_, err = e.prod.CreateMetaKey(ctx, "acme", "plan", "string", false)
	wantErr(t, "duplicate MetaKey", err, identity.ErrConflict)
	_, err = e.prod.CreateMetaKey(ctx, "acme", "seats", "rocket", false)
	wantErr(t, "MetaKey of an unknown type", err, identity.ErrInvalid)
	if _, err := e.prod.CreateMetaKey(ctx, "acme", "seats", "integer", false); err != nil {
		t.Fatal(err)
	}
	keys, err := e.prod.ListMetaKeys(ctx, "acme")
	if err != nil || len(keys) != 2 || keys[0].Name != "plan" || keys[1].Name != "seats" {
		t.Errorf("ListMetaKeys = %+v, %v", keys, err)
	}
	// MetaKeys are per environment.
	if sk, _ := e.sand.ListMetaKeys(ctx, "acme"); len(sk) != 0 {
		t.Errorf("sandbox sees %d production MetaKeys", len(sk))
	}
	// An integer MetaKey's text is stored as a JSON number, read back as
	// json.Number by every backend.
	got, err := e.prod.SetUserMetadata(ctx, "acme", u.ID, "seats", "12")
	if err != nil || got.Attributes["seats"] != json.Number("12") {
		t.Fatalf("SetUserMetadata = %+v, %v", got, err)
	}
	_, err = e.prod.SetUserMetadata(ctx, "acme", u.ID, "seats", "twelve")
	wantErr(t, "value of the wrong type", err, identity.ErrInvalid)
	if got, _ := e.prod.GetUser(ctx, "acme", u.ID); got == nil || got.Attributes["seats"] != json.Number("12") {
		t.Errorf("stored metadata = %+v", got)
	}
	if _, err := e.prod.CreateMetaKey(ctx, "acme", "region", "string", true); err != nil {
		t.Fatal(err)
	}
	_, err = e.prod.CreateUser(ctx, "acme", identity.User{Email: "bob@example.com"}, "")
	wantErr(t, "user without a required MetaKey", err, identity.ErrInvalid)
	_, err = e.prod.GetUserByEmail(ctx, "acme", "bob@example.com")
	wantErr(t, "user refused for a missing MetaKey", err, identity.ErrNotFound)
	if _, err := e.prod.CreateUser(ctx, "acme", identity.User{Email: "bob@example.com", Attributes: map[string]any{"region": "eu"}}, ""); err != nil {
		t.Errorf("user with the required MetaKey: %v", err)
	}
	if _, err := e.prod.DeleteMetaKey(ctx, "acme", "seats"); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.prod.GetUser(ctx, "acme", u.ID); got == nil {
		t.Error("user lost")
	} else if _, ok := got.Attributes["seats"]; ok {
		t.Errorf("deleting a MetaKey left its value on users: %v", got.Attributes)
	}
	_, err = e.prod.DeleteMetaKey(ctx, "acme", "seats")
	wantErr(t, "second DeleteMetaKey", err, identity.ErrNotFound)
}

func testEvents(t *testing.T, e *env) {
	ctx := context.Background()
	e.org(t, "Acme")
	for i := 0; i < 5; i++ {
		e.clock.Add(time.Second)
		user(t, e.prod, "acme", fmt.Sprintf("u%d@example.com", i))
	}
	a, _, err := e.prod.CreateApplication(ctx, "acme", identity.Application{Name: "SPA", ApplicationType: identity.AppReact})
	if err != nil {
		t.Fatal(err)
	}
	all, err := e.prod.ListEvents(ctx, "acme", identity.EventFilter{}, identity.PageRequest{PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	// The organization's own creation event is account-wide (logged by the
	// production service) and counts here too if it belongs to the org.
	if all.Total < 6 || len(all.Items) != all.Total {
		t.Fatalf("ListEvents = total %d, %d items", all.Total, len(all.Items))
	}
	for i := 1; i < len(all.Items); i++ {
		if all.Items[i-1].ID <= all.Items[i].ID {
			t.Fatalf("events not newest first: %d before %d", all.Items[i-1].ID, all.Items[i].ID)
		}
	}
	if all.Items[0].Code != identity.EventApplicationCreated || all.Items[0].ClientID != a.ClientID || all.Items[0].TenantDomain != "acme" {
		t.Errorf("newest event = %+v", all.Items[0])
	}
	users, err := e.prod.ListEvents(ctx, "acme", identity.EventFilter{Code: identity.EventUserCreated}, identity.PageRequest{Page: 2, PerPage: 2})
	if err != nil || users.Total != 5 || len(users.Items) != 2 || users.Items[0].Email != "u2@example.com" {
		t.Errorf("USER_CREATED page 2 = %+v, %v", users, err)
	}
	both, err := e.prod.ListEvents(ctx, "acme", identity.EventFilter{Code: identity.EventApplicationCreated, ClientID: a.ClientID}, identity.PageRequest{})
	if err != nil || both.Total != 1 || len(both.Items) != 1 {
		t.Errorf("two filters = %+v, %v", both, err)
	}
}

func testCredentials(t *testing.T, e *env) {
	ctx := context.Background()
	exp := e.clock.Now().Add(time.Hour)
	c, secret, err := e.prod.CreateCredential(ctx, identity.Credential{Name: "ci", Environment: identity.Production,
		Permissions: []string{"read:users"}, ExpiresAt: &exp}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) < 32 || c.Secret != "" {
		t.Errorf("credential %+v with secret %q", c, secret)
	}
	// The other environment neither sees nor deletes it.
	_, err = e.sand.GetCredential(ctx, c.ID)
	wantErr(t, "GetCredential from the other environment", err, identity.ErrNotFound)
	_, err = e.sand.CredentialBySecret(ctx, secret)
	wantErr(t, "CredentialBySecret from the other environment", err, identity.ErrUnauthenticated)
	if list, err := e.sand.ListCredentials(ctx); err != nil || len(list) != 0 {
		t.Errorf("sandbox ListCredentials = %+v, %v", list, err)
	}
	if err := e.sand.DeleteCredential(ctx, c.ID); err != nil {
		t.Errorf("sandbox DeleteCredential: %v", err)
	}
	if got, err := e.prod.AuthenticateCredential(ctx, c.ID, secret); err != nil || got.ID != c.ID {
		t.Errorf("AuthenticateCredential = %v, %v", got, err)
	}
	_, err = e.prod.AuthenticateCredential(ctx, c.ID, secret+"x")
	wantErr(t, "wrong secret", err, identity.ErrUnauthenticated)
	if got, err := e.prod.CredentialBySecret(ctx, secret); err != nil || got.ID != c.ID {
		t.Errorf("CredentialBySecret = %v, %v", got, err)
	}
	_, _, err = e.prod.CreateCredential(ctx, identity.Credential{ID: c.ID, Environment: identity.Production}, "")
	wantErr(t, "credential id reused", err, identity.ErrConflict)
	_, _, err = e.prod.CreateCredential(ctx, identity.Credential{Name: "dup", Environment: identity.Production}, secret)
	wantErr(t, "credential secret reused", err, identity.ErrConflict)
	if list, err := e.prod.ListCredentials(ctx); err != nil || len(list) != 1 {
		t.Errorf("ListCredentials = %d, %v; the failed creates must leave nothing", len(list), err)
	}

	// Expiry follows the injected clock.
	e.clock.Add(59 * time.Minute)
	if _, err := e.prod.AuthenticateCredential(ctx, c.ID, secret); err != nil {
		t.Errorf("a minute before expiry: %v", err)
	}
	e.clock.Add(time.Minute)
	_, err = e.prod.AuthenticateCredential(ctx, c.ID, secret)
	wantErr(t, "at expiry", err, identity.ErrExpired)
	_, err = e.prod.CredentialBySecret(ctx, secret)
	wantErr(t, "CredentialBySecret at expiry", err, identity.ErrExpired)

	if err := e.prod.DeleteCredential(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.prod.CredentialBySecret(ctx, secret)
	wantErr(t, "deleted credential", err, identity.ErrUnauthenticated)
	_, err = e.prod.GetCredential(ctx, c.ID)
	wantErr(t, "GetCredential after delete", err, identity.ErrNotFound)
	if err := e.prod.DeleteCredential(ctx, c.ID); err != nil {
		t.Errorf("deleting a missing credential: %v", err)
	}
	// The secret is free again.
	if _, _, err := e.prod.CreateCredential(ctx, identity.Credential{Name: "again", Environment: identity.Production}, secret); err != nil {
		t.Errorf("reusing a deleted credential's secret: %v", err)
	}
}

func testConcurrentSameEmail(t *testing.T, e *env) {
	ctx := context.Background()
	e.org(t, "Acme")
	errs := make([]error, 64)
	parallel(64, func(i int) {
		_, errs[i] = e.prod.CreateUser(ctx, "acme", identity.User{Email: "race@example.com", Username: fmt.Sprintf("racer-%02d", i)}, "")
	})
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, identity.ErrConflict):
			t.Errorf("creator %d: %v, want ErrConflict", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d creators won the same email, want exactly 1", won)
	}
	p, err := e.prod.ListUsers(ctx, "acme", identity.PageRequest{})
	if err != nil || p.Total != 1 || len(p.Items) != 1 {
		t.Errorf("ListUsers = total %d, %d items, %v; want 1", p.Total, len(p.Items), err)
	}
	// The losers' usernames were rolled back.
	if _, err := e.prod.CreateUser(ctx, "acme", identity.User{Email: "late@example.com", Username: "racer-00"}, ""); err != nil && p.Items[0].Username != "racer-00" {
		t.Errorf("a loser's username stayed claimed: %v", err)
	}
}

func testConcurrentCreates(t *testing.T, e *env) {
	ctx := context.Background()
	e.org(t, "Acme")
	errs := make([]error, 64)
	ids := make([]string, 64)
	parallel(64, func(i int) {
		var u *identity.User
		u, errs[i] = e.prod.CreateUser(ctx, "acme", identity.User{Email: fmt.Sprintf("p%02d@example.com", i)}, "")
		if u != nil {
			ids[i] = u.ID
		}
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	p, err := e.prod.ListUsers(ctx, "acme", identity.PageRequest{PerPage: 100})
	if err != nil || p.Total != 64 || len(p.Items) != 64 {
		t.Fatalf("ListUsers = total %d, %d items, %v; want 64", p.Total, len(p.Items), err)
	}
	for i := 1; i < len(p.Items); i++ {
		if p.Items[i-1].ID <= p.Items[i].ID {
			t.Fatalf("list not in descending id order at %d", i)
		}
	}
	slices.Sort(ids)
	if len(slices.Compact(ids)) != 64 {
		t.Error("concurrent creates returned duplicate ids")
	}
	ev, err := e.prod.ListEvents(ctx, "acme", identity.EventFilter{Code: identity.EventUserCreated}, identity.PageRequest{})
	if err != nil || ev.Total != 64 {
		t.Errorf("USER_CREATED events = %d, %v; want 64", ev.Total, err)
	}
}

func testTicketExpiry(t *testing.T, e *env) {
	ctx := context.Background()
	e.org(t, "Acme")
	u := user(t, e.prod, "acme", "ada@example.com")
	now := e.clock.Now()
	ticket := func(name string, ttl time.Duration) *identity.Ticket {
		return &identity.Ticket{IDHash: identity.HashSecret(name), OrgID: u.OrgID, UserID: u.ID,
			CreatedAt: now, LastRequestAt: now, ExpiresAt: now.Add(ttl)}
	}
	a, b, c := ticket("a", time.Hour), ticket("b", 3*time.Hour), ticket("c", time.Hour)
	if err := e.prod.Update(ctx, func(tx *identity.Txn) error {
		for _, tk := range []*identity.Ticket{a, b, c} {
			if err := tx.PutTicket(nil, tk); err != nil {
				return err
			}
		}
		// c is renewed: its expiry moves to +5h.
		renewed := *c
		renewed.ExpiresAt = now.Add(5 * time.Hour)
		return tx.PutTicket(c, &renewed)
	}); err != nil {
		t.Fatal(err)
	}
	lookup := func(tk *identity.Ticket) error {
		return e.prod.View(ctx, func(tx *identity.ReadTxn) error {
			_, err := tx.TicketByHash(tk.IDHash)
			return err
		})
	}
	e.clock.Add(2 * time.Hour)
	// Readers check expiry before the sweeper runs.
	wantErr(t, "expired ticket before the sweep", lookup(a), identity.ErrExpired)
	if err := lookup(b); err != nil {
		t.Errorf("live ticket b: %v", err)
	}
	if err := lookup(c); err != nil {
		t.Errorf("renewed ticket c: %v", err)
	}
	// The sweeper only removes what expired by the injected clock.
	n, err := kv.SweepExpired(ctx, e.prod.KVStore(kv.Inside()), e.clock.Now(), 0)
	if err != nil || n != 1 {
		t.Fatalf("SweepExpired = %d, %v; want 1", n, err)
	}
	wantErr(t, "swept ticket", lookup(a), identity.ErrNotFound)
	var revoked int
	if err := e.prod.Update(ctx, func(tx *identity.Txn) (err error) {
		revoked, err = tx.RevokeUserSessions(u.ID, false)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if revoked != 2 {
		t.Errorf("RevokeUserSessions = %d, want 2 (b and c; a was swept with its index entry)", revoked)
	}
	wantErr(t, "revoked ticket", lookup(b), identity.ErrNotFound)
	if n, err := kv.SweepExpired(ctx, e.prod.KVStore(kv.Inside()), e.clock.Now().Add(24*time.Hour), 0); err != nil || n != 0 {
		t.Errorf("sweep after revocation = %d, %v; want 0 (revocation removes expiry entries)", n, err)
	}
}

// testOrgDeletionSweeps: deleting an organization takes its domain out
// of the credentials and of other organizations' applications, in both
// environments, through each store's own scans, so that none reaches an
// organization that takes the domain next.
func testOrgDeletionSweeps(t *testing.T, e *env) {
	ctx := context.Background()
	gone := e.org(t, "Gone")
	e.org(t, "Acme")
	var served [2]*identity.Application
	for i, svc := range []*identity.Service{e.prod, e.sand} {
		a, _, err := svc.CreateApplication(ctx, "acme", identity.Application{Name: "shared", ApplicationType: identity.AppMachine})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Update(ctx, func(tx *identity.Txn) error {
			n := *a
			n.ServedOrgs = []string{"gone", "acme"}
			return tx.PutApp(a, &n)
		}); err != nil {
			t.Fatal(err)
		}
		served[i] = a
	}
	if _, _, err := e.prod.CreateCredential(ctx, identity.Credential{ID: "key-gone", ManagedOrgs: []string{"gone", "acme"},
		Permissions: []string{"*"}}, "key-gone-secret-0123456789abcdef"); err != nil {
		t.Fatal(err)
	}
	if err := e.prod.Update(ctx, func(tx *identity.Txn) error {
		ok, err := tx.DeleteOrgIfEmpty(gone.ID)
		if err == nil && !ok {
			t.Error("the organization was not deleted")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for i, svc := range []*identity.Service{e.prod, e.sand} {
		a, err := svc.ApplicationFor(ctx, served[i].ClientID, "acme")
		if err != nil || !slices.Equal(a.ServedOrgs, []string{"acme"}) {
			t.Errorf("application of environment %d after the deletion: %+v, %v", i, a, err)
		}
	}
	c, err := e.prod.GetCredential(ctx, "key-gone")
	if err != nil || !slices.Equal(c.ManagedOrgs, []string{"acme"}) {
		t.Errorf("credential after the deletion: %+v, %v", c, err)
	}
}

// testEmailChangeVoidsTokens: an address change deletes, in its write,
// the user's pending tokens of every purpose (read back through the
// store's own prefix scan) and clears verified; its ticket stays.
func testEmailChangeVoidsTokens(t *testing.T, e *env) {
	ctx := context.Background()
	e.org(t, "Acme")
	u, err := e.prod.CreateUser(ctx, "acme", identity.User{Email: "ada@example.com", Enabled: true, Verified: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	tk := &identity.Ticket{IDHash: identity.HashSecret("t"), OrgID: u.OrgID, UserID: u.ID, CreatedAt: now,
		LastRequestAt: now, ExpiresAt: now.Add(time.Hour)}
	var toks []string
	if err := e.prod.Update(ctx, func(tx *identity.Txn) error {
		toks = toks[:0]
		for _, p := range []string{identity.PurposeVerify, identity.PurposeReset, identity.PurposeVerify} {
			tok, err := tx.IssueUserToken(u, p, time.Hour)
			if err != nil {
				return err
			}
			toks = append(toks, tok)
		}
		return tx.PutTicket(nil, tk)
	}); err != nil {
		t.Fatal(err)
	}
	n, err := e.prod.UpdateUser(ctx, "acme", u.ID, func(n *identity.User) error { n.Email = "ADA@example.com"; return nil })
	if err != nil || !n.Verified {
		t.Fatalf("case-only change = %+v, %v", n, err)
	}
	if _, err := e.prod.CheckPasswordReset(ctx, "acme", toks[1]); err != nil {
		t.Errorf("reset token after a case-only change: %v", err)
	}
	n, err = e.prod.UpdateUser(ctx, "acme", u.ID, func(n *identity.User) error { n.Email = "augusta@example.com"; return nil })
	if err != nil || n.Verified {
		t.Fatalf("address change = %+v, %v", n, err)
	}
	if err := e.prod.View(ctx, func(tx *identity.ReadTxn) error {
		for i, tok := range toks {
			purpose := identity.PurposeVerify
			if i == 1 {
				purpose = identity.PurposeReset
			}
			_, err := tx.VerificationTokenByHash(purpose, identity.HashSecret(tok))
			wantErr(t, "token after the address change", err, identity.ErrNotFound)
		}
		_, err := tx.TicketByHash(tk.IDHash)
		return err
	}); err != nil {
		t.Errorf("ticket after the address change: %v", err)
	}
	if got, err := e.prod.GetUser(ctx, "acme", u.ID); err != nil || got.Verified {
		t.Errorf("stored user = %+v, %v", got, err)
	}
}
