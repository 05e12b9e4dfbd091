package identity_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

type clock struct{ t atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(0, c.t.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.t.Add(int64(d)) }

func newService(t testing.TB) (*identity.Service, *clock) {
	t.Helper()
	c := &clock{}
	c.t.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	st := memory.New()
	t.Cleanup(func() { st.Close() })
	s, err := identity.NewService(identity.Options{Store: st, Clock: c.Now, AccountDomain: "acme-account"})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func ptr[T any](v T) *T { return &v }

func mustOrg(t testing.TB, s *identity.Service, name string) *identity.Organization {
	t.Helper()
	o, err := s.CreateOrganization(context.Background(), identity.OrganizationInput{Name: ptr(name)})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func fieldsOf(err error) map[string]bool {
	var ie *identity.InvalidError
	out := map[string]bool{}
	if errors.As(err, &ie) {
		for _, f := range ie.Fields {
			out[f.Field] = true
		}
	}
	return out
}

func TestOrganizationDomainIsSlugAndUnique(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	o := mustOrg(t, s, "Another Organization")
	if o.Domain != "another-organization" {
		t.Fatalf("domain = %q", o.Domain)
	}
	_, err := s.CreateOrganization(ctx, identity.OrganizationInput{Name: ptr("another organization")})
	if !errors.Is(err, identity.ErrConflict) {
		t.Fatalf("duplicate slug: err = %v, want conflict", err)
	}
	// Renaming never changes the domain.
	u, err := s.UpdateOrganization(ctx, o.Domain, identity.OrganizationInput{Name: ptr("Renamed Inc")})
	if err != nil || u.Domain != "another-organization" || u.Name != "Renamed Inc" {
		t.Fatalf("update: %+v %v", u, err)
	}
	p, err := s.ListOrganizations(ctx, identity.PageRequest{})
	if err != nil || p.Total != 1 || len(p.Items) != 1 {
		t.Fatalf("list: %+v %v", p, err)
	}
}

func TestOrganizationValidation(t *testing.T) {
	s, _ := newService(t)
	tests := []struct {
		name   string
		in     identity.OrganizationInput
		fields []string
	}{
		{"missing name", identity.OrganizationInput{}, []string{"name"}},
		{"blank name", identity.OrganizationInput{Name: ptr("  ")}, []string{"name"}},
		{"no slug", identity.OrganizationInput{Name: ptr("!!!")}, []string{"name"}},
		{"bad country", identity.OrganizationInput{Name: ptr("A"), CountryName: ptr("France")}, []string{"country_name"}},
		{"bad url", identity.OrganizationInput{Name: ptr("A"), PrivacyPolicyURL: ptr("javascript:alert(1)")}, []string{"privacy_policy_url"}},
		{"fragment url", identity.OrganizationInput{Name: ptr("A"), TermsOfServiceURL: ptr("https://a.example/t#x")}, []string{"terms_of_service_url"}},
		{"bad email domain", identity.OrganizationInput{Name: ptr("A"), AllowedEmailDomains: &[]string{"not a domain"}}, []string{"allowed_email_domains"}},
		{"no resolver", identity.OrganizationInput{Name: ptr("A"), AutocompleteAddress: ptr("Lille")}, []string{"autocomplete_address"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateOrganization(context.Background(), tc.in)
			if !errors.Is(err, identity.ErrInvalid) {
				t.Fatalf("err = %v, want invalid", err)
			}
			got := fieldsOf(err)
			for _, f := range tc.fields {
				if !got[f] {
					t.Errorf("field %q not reported in %v", f, err)
				}
			}
		})
	}
	p, _ := s.ListOrganizations(context.Background(), identity.PageRequest{})
	if p.Total != 0 {
		t.Fatalf("invalid input wrote %d organizations", p.Total)
	}
}

type places map[string]identity.Place

func (p places) ResolvePlace(_ context.Context, q string) (identity.Place, error) {
	if pl, ok := p[q]; ok {
		return pl, nil
	}
	return identity.Place{}, fmt.Errorf("place %q: %w", q, identity.ErrNotFound)
}

func TestAutocompleteAddress(t *testing.T) {
	st := memory.New()
	s, _ := identity.NewService(identity.Options{Store: st,
		Places: places{"Lille": {Locality: "Lille", State: "Hauts-de-France", Country: "FR"}}})
	o, err := s.CreateOrganization(context.Background(), identity.OrganizationInput{Name: ptr("Misapret"), AutocompleteAddress: ptr("Lille")})
	if err != nil || o.Locality != "Lille" || o.State != "Hauts-de-France" || o.CountryName != "FR" {
		t.Fatalf("%+v %v", o, err)
	}
	_, err = s.UpdateOrganization(context.Background(), o.Domain, identity.OrganizationInput{AutocompleteAddress: ptr("Atlantis")})
	if !fieldsOf(err)["autocomplete_address"] {
		t.Fatalf("unknown place: %v", err)
	}
}

func TestAllowedEmailDomainsBelongToOneOrganization(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	a := mustOrg(t, s, "Alpha")
	b := mustOrg(t, s, "Beta")
	if _, err := s.UpdateOrganization(ctx, a.Domain, identity.OrganizationInput{AllowedEmailDomains: &[]string{"Alpha.example"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateOrganization(ctx, b.Domain, identity.OrganizationInput{AllowedEmailDomains: &[]string{"alpha.example"}}); !errors.Is(err, identity.ErrInvalid) {
		t.Fatalf("second claim: %v", err)
	}
	o, err := s.OrgForEmailDomain(ctx, "ALPHA.example")
	if err != nil || o.ID != a.ID {
		t.Fatalf("lookup: %v %v", o, err)
	}
	// Releasing lets another organization claim it.
	if _, err := s.UpdateOrganization(ctx, a.Domain, identity.OrganizationInput{AllowedEmailDomains: &[]string{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateOrganization(ctx, b.Domain, identity.OrganizationInput{AllowedEmailDomains: &[]string{"alpha.example"}}); err != nil {
		t.Fatal(err)
	}
}

func TestUserEmailUniqueCaseInsensitivePerOrganization(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	a := mustOrg(t, s, "Alpha")
	b := mustOrg(t, s, "Beta")
	u, err := s.CreateUser(ctx, a.Domain, identity.User{Email: "Jane@Example.com", Enabled: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "Jane@Example.com" || !identity.IsObjectID(u.ObjectID) {
		t.Fatalf("defaults: %+v", u)
	}
	_, err = s.CreateUser(ctx, a.Domain, identity.User{Email: "jane@example.COM"}, "")
	if !errors.Is(err, identity.ErrConflict) || identity.ConflictField(err) != "email" {
		t.Fatalf("duplicate email: %v", err)
	}
	// Another organization has its own directory.
	if _, err := s.CreateUser(ctx, b.Domain, identity.User{Email: "jane@example.com"}, ""); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetUserByEmail(ctx, a.Domain, "JANE@example.com")
	if err != nil || got.ID != u.ID {
		t.Fatalf("by email: %v %v", got, err)
	}
	// Tenant isolation: B cannot read A's user by id.
	if _, err := s.GetUser(ctx, b.Domain, u.ID); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("cross-org read: %v", err)
	}
	// Environment isolation.
	sb, _ := s.ForEnvironment(identity.Sandbox)
	if _, err := sb.GetUser(ctx, a.Domain, u.ID); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("cross-environment read: %v", err)
	}
}

func TestUserValidation(t *testing.T) {
	s, _ := newService(t)
	o := mustOrg(t, s, "Alpha")
	tests := []struct {
		name  string
		user  identity.User
		field string
	}{
		{"no email", identity.User{}, "email"},
		{"display name form", identity.User{Email: "Jane <jane@example.com>"}, "email"},
		{"phone", identity.User{Email: "a@example.com", Profile: identity.Profile{PhoneNumber: "555"}}, "profile.phone_number"},
		{"birthdate", identity.User{Email: "a@example.com", Profile: identity.Profile{Birthdate: "1943-02-30"}}, "profile.birthdate"},
		{"zoneinfo", identity.User{Email: "a@example.com", Profile: identity.Profile{Zoneinfo: "Mars/Olympus"}}, "profile.zoneinfo"},
		{"locale", identity.User{Email: "a@example.com", Profile: identity.Profile{Locale: "not a locale!"}}, "profile.locale"},
		{"gender", identity.User{Email: "a@example.com", Profile: identity.Profile{Gender: "robot"}}, "profile.gender"},
		{"picture", identity.User{Email: "a@example.com", Profile: identity.Profile{Picture: "ftp://x"}}, "profile.picture"},
		{"country", identity.User{Email: "a@example.com", Profile: identity.Profile{Address: &identity.Address{Country: "XX"}}}, "profile.address.country"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateUser(context.Background(), o.Domain, tc.user, "")
			if !fieldsOf(err)[tc.field] {
				t.Fatalf("err = %v, want field %s", err, tc.field)
			}
		})
	}
	ok := identity.User{Email: "janis.joplin@example.com", Profile: identity.Profile{PhoneNumber: "+1-555-415-1337",
		Birthdate: "1943-01-19", Zoneinfo: "America/Los_Angeles", Locale: "fr", Gender: "female",
		Address: &identity.Address{Country: "FR", Locality: "Lille"}}}
	if _, err := s.CreateUser(context.Background(), o.Domain, ok, ""); err != nil {
		t.Fatalf("document sample refused: %v", err)
	}
	p, _ := s.ListUsers(context.Background(), o.Domain, identity.PageRequest{})
	if p.Total != 1 {
		t.Fatalf("total = %d, want 1 (invalid users must not be written)", p.Total)
	}
}

func TestListUsersNewestFirstWithPagination(t *testing.T) {
	s, c := newService(t)
	ctx := context.Background()
	o := mustOrg(t, s, "Alpha")
	var ids []string
	for i := 0; i < 20; i++ {
		c.Advance(time.Millisecond)
		u, err := s.CreateUser(ctx, o.Domain, identity.User{Email: fmt.Sprintf("u%02d@example.com", i)}, "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	p, err := s.ListUsers(ctx, o.Domain, identity.PageRequest{Page: 3, PerPage: 8})
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != 20 || p.TotalPages() != 3 || len(p.Items) != 4 {
		t.Fatalf("page 3: total %d pages %d items %d", p.Total, p.TotalPages(), len(p.Items))
	}
	if p.Items[0].ID != ids[3] || p.Items[3].ID != ids[0] {
		t.Fatalf("order: got %s..%s", p.Items[0].Email, p.Items[3].Email)
	}
	// Cursor iteration visits everything once, newest first.
	var seen []string
	after := ""
	for {
		batch, next, err := s.IterateUsers(ctx, o.Domain, after, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range batch {
			seen = append(seen, u.ID)
		}
		if next == "" {
			break
		}
		after = next
	}
	if len(seen) != 20 || seen[0] != ids[19] || seen[19] != ids[0] {
		t.Fatalf("iteration saw %d users", len(seen))
	}
	// Deleting keeps the count exact.
	if _, err := s.DeleteUser(ctx, o.Domain, ids[5]); err != nil {
		t.Fatal(err)
	}
	p, _ = s.ListUsers(ctx, o.Domain, identity.PageRequest{})
	if p.Total != 19 {
		t.Fatalf("total after delete = %d", p.Total)
	}
	// The email is free again.
	if _, err := s.CreateUser(ctx, o.Domain, identity.User{Email: "u05@example.com"}, ""); err != nil {
		t.Fatal(err)
	}
}

func TestUpdateUserKeepsIndexesAndRejectsInvalid(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	o := mustOrg(t, s, "Alpha")
	u, _ := s.CreateUser(ctx, o.Domain, identity.User{Email: "a@example.com", Roles: []string{"admin"}}, "")
	other, _ := s.CreateUser(ctx, o.Domain, identity.User{Email: "b@example.com"}, "")
	_, err := s.UpdateUser(ctx, o.Domain, u.ID, func(x *identity.User) error { x.Email = "B@example.com"; return nil })
	if !errors.Is(err, identity.ErrConflict) {
		t.Fatalf("email taken: %v", err)
	}
	_, err = s.UpdateUser(ctx, o.Domain, u.ID, func(x *identity.User) error { x.Profile.Locale = "??"; return nil })
	if !errors.Is(err, identity.ErrInvalid) {
		t.Fatalf("invalid update: %v", err)
	}
	got, _ := s.GetUser(ctx, o.Domain, u.ID)
	if got.Email != "a@example.com" || got.Profile.Locale != "" {
		t.Fatalf("failed update changed the user: %+v", got)
	}
	_, err = s.UpdateUser(ctx, o.Domain, u.ID, func(x *identity.User) error {
		x.Email, x.Roles = "c@example.com", []string{"editor"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUserByEmail(ctx, o.Domain, "a@example.com"); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("old email still indexed: %v", err)
	}
	err = s.View(ctx, func(tx *identity.ReadTxn) error {
		for role, want := range map[string]int{"admin": 0, "editor": 1} {
			n, err := identity.RoleUsers(kv.Inside(), identity.Production, o.ID, role).Count(tx.KV(kv.Inside()))
			if err != nil || n != want {
				return fmt.Errorf("role %s count %d want %d (%v)", role, n, want, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.UpdateUser(ctx, o.Domain, u.ID, func(x *identity.User) error { x.ID = other.ID; return nil })
	if !errors.Is(err, identity.ErrInvalid) {
		t.Fatalf("id change: %v", err)
	}
}

func TestConcurrentCreateSameEmailOneWins(t *testing.T) {
	s, _ := newService(t)
	o := mustOrg(t, s, "Alpha")
	var wins, conflicts atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.CreateUser(context.Background(), o.Domain, identity.User{Email: "race@example.com"}, "")
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, identity.ErrConflict):
				conflicts.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || conflicts.Load() != 63 {
		t.Fatalf("wins %d conflicts %d", wins.Load(), conflicts.Load())
	}
}

func TestEventsWrittenWithChangesAndFiltered(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	o := mustOrg(t, s, "Alpha")
	app, _, err := s.CreateApplication(ctx, o.Domain, identity.Application{Name: "App", ApplicationType: identity.AppReact,
		AllowedRedirectURLs: []string{"http://localhost:3000/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, o.Domain, identity.User{Email: "a@example.com"}, ""); err != nil {
		t.Fatal(err)
	}
	err = s.LogEvent(ctx, &identity.Event{Code: identity.EventSSOSAMLStarted, OrgID: o.ID, ClientID: app.ClientID, SAMLIdPID: "alpha_x"})
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.ListEvents(ctx, o.Domain, identity.EventFilter{}, identity.PageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if all.Total != 4 || all.Items[0].Code != identity.EventSSOSAMLStarted || all.Items[3].Code != identity.EventOrganizationCreated {
		t.Fatalf("events: %+v", all)
	}
	if all.Items[0].ID <= all.Items[1].ID {
		t.Fatalf("ids must increase: %d %d", all.Items[1].ID, all.Items[0].ID)
	}
	for _, tc := range []struct {
		f    identity.EventFilter
		want int
	}{
		{identity.EventFilter{Code: identity.EventUserCreated}, 1},
		{identity.EventFilter{ClientID: app.ClientID}, 2},
		{identity.EventFilter{ClientID: app.ClientID, Code: identity.EventSSOSAMLStarted}, 1},
		{identity.EventFilter{ClientID: app.ClientID, SAMLIdPID: "other"}, 0},
	} {
		p, err := s.ListEvents(ctx, o.Domain, tc.f, identity.PageRequest{})
		if err != nil || p.Total != tc.want || len(p.Items) != tc.want {
			t.Errorf("filter %+v: total %d items %d err %v", tc.f, p.Total, len(p.Items), err)
		}
	}
	// A failed write leaves no event behind.
	_, _ = s.CreateUser(ctx, o.Domain, identity.User{Email: "a@example.com"}, "")
	again, _ := s.ListEvents(ctx, o.Domain, identity.EventFilter{}, identity.PageRequest{})
	if again.Total != all.Total {
		t.Fatalf("failed create logged an event: %d -> %d", all.Total, again.Total)
	}
}

func TestApplicationsAndSecrets(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	o := mustOrg(t, s, "Alpha")
	_, _, err := s.CreateApplication(ctx, o.Domain, identity.Application{Name: "x", ApplicationType: "flash",
		AllowedRedirectURLs: []string{"http://a.example/cb#frag"}, AllowedOriginsCORS: []string{"http://a.example/path"}})
	f := fieldsOf(err)
	if !f["application_type"] || !f["allowed_redirect_urls"] || !f["allowed_origins_cors"] {
		t.Fatalf("validation: %v", err)
	}
	spa, secret, err := s.CreateApplication(ctx, o.Domain, identity.Application{Name: "SPA", ApplicationType: identity.AppVue})
	if err != nil || secret != "" || !spa.Public() {
		t.Fatalf("spa: %v %q", err, secret)
	}
	web, secret, err := s.CreateApplication(ctx, o.Domain, identity.Application{Name: "Web", ApplicationType: identity.AppRegularWeb})
	if err != nil || len(secret) < 43 || web.Public() || !identity.SecretMatches(secret, web.ClientSecretHash) {
		t.Fatalf("web: %v %q", err, secret)
	}
	other := mustOrg(t, s, "Beta")
	if _, err := s.GetApplication(ctx, other.Domain, web.ClientID); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("cross-org app: %v", err)
	}
	p, _ := s.ListApplications(ctx, o.Domain, identity.PageRequest{})
	if p.Total != 2 || p.Items[0].ClientID != web.ClientID {
		t.Fatalf("apps: %+v", p)
	}
}

func TestMetaKeysAndMetadata(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	o := mustOrg(t, s, "Alpha")
	u, _ := s.CreateUser(ctx, o.Domain, identity.User{Email: "a@example.com"}, "")
	k, err := s.CreateMetaKey(ctx, o.Domain, "department", "STRING", false)
	if err != nil || k.Type != "string" {
		t.Fatalf("metakey: %+v %v", k, err)
	}
	if _, err := s.CreateMetaKey(ctx, o.Domain, "department", "string", false); !errors.Is(err, identity.ErrConflict) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := s.CreateMetaKey(ctx, o.Domain, "age", "integer", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetUserMetadata(ctx, o.Domain, u.ID, "age", "old"); !fieldsOf(err)["key_value"] {
		t.Fatalf("typed value: %v", err)
	}
	if _, err := s.SetUserMetadata(ctx, o.Domain, u.ID, "nope", "x"); !fieldsOf(err)["key_name"] {
		t.Fatalf("unknown key: %v", err)
	}
	got, err := s.SetUserMetadata(ctx, o.Domain, u.ID, "department", "R&D")
	if err != nil || got.Attributes["department"] != "R&D" {
		t.Fatalf("set: %v %v", got, err)
	}
	// A required key is enforced on new users.
	if _, err := s.CreateMetaKey(ctx, o.Domain, "badge", "string", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, o.Domain, identity.User{Email: "b@example.com"}, ""); !fieldsOf(err)["metadata.badge"] {
		t.Fatalf("required metakey: %v", err)
	}
	if _, err := s.DeleteMetaKey(ctx, o.Domain, "department"); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetUser(ctx, o.Domain, u.ID)
	if _, ok := got.Attributes["department"]; ok {
		t.Fatal("deleting a metakey must remove its values")
	}
	keys, _ := s.ListMetaKeys(ctx, o.Domain)
	if len(keys) != 2 {
		t.Fatalf("keys: %+v", keys)
	}
}

func TestCredentials(t *testing.T) {
	prod, c := newService(t)
	s, err := prod.ForEnvironment(identity.Sandbox)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	exp := c.Now().Add(time.Hour)
	cred, secret, err := s.CreateCredential(ctx, identity.Credential{Name: "ci", Environment: identity.Sandbox,
		Permissions: []string{"read:users"}, ManagedOrgs: []string{"alpha"}, ExpiresAt: &exp}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.AuthenticateCredential(ctx, cred.ID, secret); err != nil || got.ID != cred.ID {
		t.Fatalf("auth: %v", err)
	}
	if _, err := s.AuthenticateCredential(ctx, cred.ID, secret+"x"); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Fatalf("wrong secret: %v", err)
	}
	if got, err := s.CredentialBySecret(ctx, secret); err != nil || got.ID != cred.ID {
		t.Fatalf("by secret: %v", err)
	}
	if !cred.Allows("read", "users") || cred.Allows("delete", "users") || !cred.Manages("alpha") || cred.Manages("beta") {
		t.Fatal("permissions")
	}
	c.Advance(2 * time.Hour)
	if _, err := s.CredentialBySecret(ctx, secret); !errors.Is(err, identity.ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
	if _, _, err := s.CreateCredential(ctx, identity.Credential{ID: cred.ID, Environment: identity.Sandbox}, ""); !errors.Is(err, identity.ErrConflict) {
		t.Fatalf("duplicate id: %v", err)
	}
	if err := s.DeleteCredential(ctx, cred.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CredentialBySecret(ctx, secret); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Fatalf("deleted: %v", err)
	}
}

func TestValidators(t *testing.T) {
	tests := []struct {
		name string
		fn   func(string) string
		good []string
		bad  []string
	}{
		{"email", identity.CheckEmail, []string{"a@b.co", "first.last+tag@example.org"}, []string{"", "a", "a@", "@b", "a b@c.d", "A <a@b.c>"}},
		{"url", identity.CheckURL, []string{"http://localhost:3000", "https://a.example/cb?x=1"}, []string{"", "/relative", "ftp://a", "https://a#f", "https://user:pw@a.example", "javascript:alert(1)"}},
		{"country", identity.CheckCountry, []string{"FR", "US"}, []string{"fr", "FRA", "XX", ""}},
		{"phone", identity.CheckPhone, []string{"+33612345678", "+1-555-415-1337"}, []string{"0612345678", "+0123456789", "+1", "+1234567890123456"}},
		{"zoneinfo", identity.CheckZoneinfo, []string{"Europe/Paris", "UTC"}, []string{"", "Local", "../etc/passwd", "Nowhere/City"}},
		{"locale", identity.CheckLocale, []string{"fr", "en-US", "zh-Hant-TW"}, []string{"", "not a tag", "12345678901"}},
		{"birthdate", identity.CheckBirthdate, []string{"1943-01-19", "0000-12-31"}, []string{"1943-1-19", "19-01-1943", "2001-02-29"}},
		{"domain", identity.CheckDomain, []string{"misapret", "shark-academy"}, []string{"", "Upper", "under_score", "-lead", "trail-"}},
	}
	for _, tc := range tests {
		for _, g := range tc.good {
			if r := tc.fn(g); r != "" {
				t.Errorf("%s(%q) = %q, want ok", tc.name, g, r)
			}
		}
		for _, b := range tc.bad {
			if tc.fn(b) == "" {
				t.Errorf("%s(%q) accepted", tc.name, b)
			}
		}
	}
}

func TestDeepPagesMatchFromBothEnds(t *testing.T) {
	s, c := newService(t)
	ctx := context.Background()
	o := mustOrg(t, s, "Alpha")
	var ids []string
	for i := 0; i < 29; i++ {
		c.Advance(time.Millisecond)
		u, err := s.CreateUser(ctx, o.Domain, identity.User{Email: fmt.Sprintf("d%02d@example.com", i)}, "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	// Newest first: page p of size 4 holds ids[28-4(p-1)] down to ...
	for page := 1; page <= 8; page++ {
		p, err := s.ListUsers(ctx, o.Domain, identity.PageRequest{Page: page, PerPage: 4})
		if err != nil {
			t.Fatal(err)
		}
		first := 28 - 4*(page-1)
		want := 4
		if first+1 < 4 {
			want = first + 1
		}
		if len(p.Items) != want {
			t.Fatalf("page %d: %d items, want %d", page, len(p.Items), want)
		}
		for i, u := range p.Items {
			if u.ID != ids[first-i] {
				t.Fatalf("page %d item %d: got %s want %s", page, i, u.Email, ids[first-i])
			}
		}
	}
}

// Reads reuse decoded users only for identical stored bytes, and never hand
// out memory that another read or the cache shares.
func TestUserCacheNeverStaleNorShared(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	o := mustOrg(t, s, "Alpha")
	u, err := s.CreateUser(ctx, o.Domain, identity.User{Email: "a@example.com",
		Attributes: map[string]any{"tags": []any{"x"}, "nested": map[string]any{"k": "v"}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	first, _ := s.GetUser(ctx, o.Domain, u.ID)
	first.Attributes["tags"].([]any)[0] = "mutated"
	first.Attributes["nested"].(map[string]any)["k"] = "mutated"
	first.Roles = append(first.Roles, "mutated")
	second, _ := s.GetUser(ctx, o.Domain, u.ID)
	if second.Attributes["tags"].([]any)[0] != "x" || second.Attributes["nested"].(map[string]any)["k"] != "v" || len(second.Roles) != 0 {
		t.Fatalf("a caller's mutation leaked into later reads: %+v", second)
	}
	if _, err := s.UpdateUser(ctx, o.Domain, u.ID, func(x *identity.User) error { x.Profile.GivenName = "New"; return nil }); err != nil {
		t.Fatal(err)
	}
	third, _ := s.GetUser(ctx, o.Domain, u.ID)
	if third.Profile.GivenName != "New" {
		t.Fatalf("stale read after update: %+v", third.Profile)
	}
	p, _ := s.ListUsers(ctx, o.Domain, identity.PageRequest{})
	if len(p.Items) != 1 || p.Items[0].Profile.GivenName != "New" {
		t.Fatalf("stale list after update: %+v", p.Items)
	}
}
