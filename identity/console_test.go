package identity_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/password"
)

// consoleService is a service with a real hasher and a console owner
// claimed through the setup link; it returns the owner.
func consoleService(t *testing.T) (*identity.Service, *clock, *identity.ConsoleMember) {
	t.Helper()
	s, c := newService(t)
	s = s.WithHasher(password.New(password.WithParams(password.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 16, SaltLen: 16})))
	ctx := context.Background()
	tok, exp, err := s.ConsoleSetup(ctx)
	if err != nil || tok == "" || !exp.After(c.Now()) {
		t.Fatalf("setup = %q, %v, %v", tok, exp, err)
	}
	m, err := s.ClaimConsoleSetup(ctx, identity.ConsoleSetupClaim{Token: tok, Email: "owner@acme.test", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	return s, c, m
}

func TestConsoleRoleAllows(t *testing.T) {
	cases := []struct {
		role     identity.ConsoleRole
		action   string
		resource string
		want     bool
	}{
		{identity.ConsoleOwner, "create", identity.ResourceAPIKeys, true},
		{identity.ConsoleOwner, "update", "users", true},
		{identity.ConsoleAdmin, "create", identity.ResourceAPIKeys, false},
		{identity.ConsoleAdmin, "read", identity.ResourceAPIKeys, false},
		{identity.ConsoleAdmin, "create", identity.ResourceConsoleMembers, false},
		{identity.ConsoleAdmin, "delete", "users", true},
		{identity.ConsoleAdmin, "create", identity.ResourceOrganizations, true},
		{identity.ConsoleViewer, "read", "users", true},
		{identity.ConsoleViewer, "read_many", identity.ResourceOrganizations, true},
		{identity.ConsoleViewer, "update", "users", false},
		{identity.ConsoleViewer, "create", identity.ResourceOrganizations, false},
		{identity.ConsoleViewer, "read", identity.ResourceAPIKeys, false},
		{identity.ConsoleViewer, "read", identity.ResourceConsoleMembers, false},
		{"root", "read", "users", false},
	}
	for _, c := range cases {
		if got := c.role.Allows(c.action, c.resource); got != c.want {
			t.Errorf("%s.Allows(%s, %s) = %v, want %v", c.role, c.action, c.resource, got, c.want)
		}
	}
	limited := identity.ConsoleMember{Role: identity.ConsoleOwner, Orgs: []string{"alpha"}}
	if limited.Allows("create", identity.ResourceConsoleMembers) || limited.Allows("read", identity.ResourceAPIKeys) ||
		!limited.Allows("delete", "users") {
		t.Error("an owner limited to some organizations manages roles or keys")
	}
}

// TestConsoleScopeEnforcedByCore: the Service made from a member's Scope
// refuses, in the core, what the role may not do and hides organizations
// outside the member's list.
func TestConsoleScopeEnforcedByCore(t *testing.T) {
	s, _, _ := consoleService(t)
	ctx := context.Background()
	mustOrg(t, s, "alpha")
	mustOrg(t, s, "beta")
	viewer := identity.ConsoleMember{Role: identity.ConsoleViewer}
	vs, err := s.For(viewer.Scope(identity.Production))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vs.UpdateOrganization(ctx, "alpha", identity.OrganizationInput{Name: ptr("x")}); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("viewer update org: %v", err)
	}
	if _, err := vs.CreateOrganization(ctx, identity.OrganizationInput{Name: ptr("gamma")}); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("viewer create org: %v", err)
	}
	limited := identity.ConsoleMember{Role: identity.ConsoleAdmin, Orgs: []string{"alpha"}}
	ls, err := s.For(limited.Scope(identity.Production))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ls.GetOrganization(ctx, "beta"); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("limited admin reads beta: %v", err)
	}
	if _, err := ls.UpdateOrganization(ctx, "alpha", identity.OrganizationInput{Name: ptr("Alpha 2")}); err != nil {
		t.Errorf("limited admin updates alpha: %v", err)
	}
	if _, err := ls.CreateOrganization(ctx, identity.OrganizationInput{Name: ptr("delta")}); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("limited admin creates an organization: %v", err)
	}
	page, err := ls.SearchOrganizations(ctx, identity.OrgSearch{})
	if err != nil || len(page.Orgs) != 1 || page.Orgs[0].Domain != "alpha" {
		t.Errorf("limited admin search = %+v, %v", page, err)
	}
}

func TestConsoleSetupLinkSingleUseExpiringHashed(t *testing.T) {
	ctx := context.Background()
	t.Run("single use and only while no owner exists", func(t *testing.T) {
		s, _, owner := consoleService(t)
		if owner.Role != identity.ConsoleOwner || !owner.AllOrgs() {
			t.Fatalf("owner = %+v", owner)
		}
		tok, _, err := s.ConsoleSetup(ctx)
		if err != nil || tok != "" {
			t.Fatalf("a second setup with an owner = %q, %v", tok, err)
		}
		if _, err := s.ClaimConsoleSetup(ctx, identity.ConsoleSetupClaim{Token: "anything", Email: "x@acme.test", Password: "12345678"}); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Errorf("claim after owner: %v", err)
		}
		events, _ := s.ListEvents(ctx, "acme-account", identity.EventFilter{Code: identity.EventConsoleSetupClaimed}, identity.PageRequest{})
		if events.Total != 1 || events.Items[0].ActorID != owner.UserID {
			t.Errorf("setup events = %+v", events)
		}
	})
	t.Run("used, wrong and expired tokens", func(t *testing.T) {
		s, c := newService(t)
		s = s.WithHasher(password.New(password.WithParams(password.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 16, SaltLen: 16})))
		tok, _, err := s.ConsoleSetup(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) < 22 { // 128 bits in base64url
			t.Fatalf("token too short: %q", tok)
		}
		if !s.ValidConsoleSetup(ctx, tok) || s.ValidConsoleSetup(ctx, tok+"x") {
			t.Error("ValidConsoleSetup")
		}
		// Bad input leaves the token usable.
		_, err = s.ClaimConsoleSetup(ctx, identity.ConsoleSetupClaim{Token: tok, Email: "not-an-email", Password: "12345678"})
		if !errors.Is(err, identity.ErrInvalid) || !fieldsOf(err)["email"] {
			t.Fatalf("bad email: %v", err)
		}
		_, err = s.ClaimConsoleSetup(ctx, identity.ConsoleSetupClaim{Token: tok, Email: "a@acme.test", Password: "short"})
		if !fieldsOf(err)["password"] {
			t.Fatalf("short password: %v", err)
		}
		if _, err := s.ClaimConsoleSetup(ctx, identity.ConsoleSetupClaim{Token: tok + "x", Email: "a@acme.test", Password: "12345678"}); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Fatalf("wrong token: %v", err)
		}
		// A new token replaces the old one; it expires.
		tok2, _, _ := s.ConsoleSetup(ctx)
		if s.ValidConsoleSetup(ctx, tok) {
			t.Error("the replaced token is still valid")
		}
		c.Advance(identity.ConsoleSetupTTL)
		if _, err := s.ClaimConsoleSetup(ctx, identity.ConsoleSetupClaim{Token: tok2, Email: "a@acme.test", Password: "12345678"}); !errors.Is(err, identity.ErrExpired) {
			t.Fatalf("expired token: %v", err)
		}
		members, _ := s.ListConsoleMembers(ctx)
		if len(members) != 0 {
			t.Fatalf("members after refusals: %+v", members)
		}
		tok3, _, _ := s.ConsoleSetup(ctx)
		if _, err := s.ClaimConsoleSetup(ctx, identity.ConsoleSetupClaim{Token: tok3, Email: "a@acme.test", Password: "12345678"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ClaimConsoleSetup(ctx, identity.ConsoleSetupClaim{Token: tok3, Email: "b@acme.test", Password: "12345678"}); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Fatalf("token used twice: %v", err)
		}
	})
	t.Run("scoped and sandbox services cannot manage the console", func(t *testing.T) {
		s, _ := newService(t)
		sb, _ := s.ForEnvironment(identity.Sandbox)
		if _, _, err := sb.ConsoleSetup(ctx); !errors.Is(err, identity.ErrForbidden) {
			t.Errorf("sandbox: %v", err)
		}
		sc, _ := s.For(identity.Scope{Environment: identity.Production, Orgs: []string{"*"}, Permissions: []string{"*"}})
		if _, err := sc.PutConsoleMember(ctx, identity.ConsoleMember{UserID: "x", Role: identity.ConsoleOwner}); !errors.Is(err, identity.ErrForbidden) {
			t.Errorf("scoped: %v", err)
		}
	})
}

func TestConsoleMembersKeepAnOwner(t *testing.T) {
	s, _, owner := consoleService(t)
	ctx := context.Background()
	acct := "acme-account"
	u, err := s.CreateUser(ctx, acct, identity.User{Email: "viewer@acme.test", Enabled: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		m     identity.ConsoleMember
		field string
	}{
		{"bad role", identity.ConsoleMember{UserID: u.ID, Role: "root"}, "role"},
		{"bad org", identity.ConsoleMember{UserID: u.ID, Role: identity.ConsoleAdmin, Orgs: []string{"Not A Domain"}}, "orgs"},
		{"unknown user", identity.ConsoleMember{UserID: "nobody", Role: identity.ConsoleAdmin}, "user_id"},
	}
	for _, c := range cases {
		if _, err := s.PutConsoleMember(ctx, c.m); !fieldsOf(err)[c.field] {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	other := mustOrg(t, s, "other")
	ou, _ := s.CreateUser(ctx, other.Domain, identity.User{Email: "o@other.test", Enabled: true}, "")
	if _, err := s.PutConsoleMember(ctx, identity.ConsoleMember{UserID: ou.ID, Role: identity.ConsoleOwner}); !fieldsOf(err)["user_id"] {
		t.Errorf("a user of another organization became a member: %v", err)
	}
	if _, err := s.PutConsoleMember(ctx, identity.ConsoleMember{UserID: u.ID, Role: identity.ConsoleViewer, Orgs: []string{"other"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutConsoleMember(ctx, identity.ConsoleMember{UserID: owner.UserID, Role: identity.ConsoleAdmin}); !errors.Is(err, identity.ErrConflict) {
		t.Errorf("the last owner demoted: %v", err)
	}
	if err := s.RevokeConsoleRole(ctx, owner.UserID); !errors.Is(err, identity.ErrConflict) {
		t.Errorf("the last owner revoked: %v", err)
	}
	if err := s.RevokeConsoleRole(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsoleMember(ctx, u.ID); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("revoked member: %v", err)
	}
}

func TestConsoleSessionTimeouts(t *testing.T) {
	ctx := context.Background()
	pol := identity.ConsoleSessionPolicy{Idle: 10 * time.Minute, Absolute: time.Hour}
	cases := []struct {
		name string
		run  func(s *identity.Service, c *clock, owner *identity.ConsoleMember, tok string)
		ok   bool
	}{
		{"fresh", func(*identity.Service, *clock, *identity.ConsoleMember, string) {}, true},
		{"idle", func(_ *identity.Service, c *clock, _ *identity.ConsoleMember, _ string) { c.Advance(10 * time.Minute) }, false},
		{"kept alive until the absolute timeout", func(s *identity.Service, c *clock, _ *identity.ConsoleMember, tok string) {
			for i := 0; i < 6; i++ {
				c.Advance(9 * time.Minute)
				if _, _, err := s.ConsoleSession(ctx, tok); err != nil {
					t.Fatalf("active session ended at step %d: %v", i, err)
				}
			}
			c.Advance(6 * time.Minute)
		}, false},
		{"signed out", func(s *identity.Service, _ *clock, _ *identity.ConsoleMember, tok string) {
			_ = s.EndConsoleSession(ctx, tok)
		}, false},
		{"role revoked", func(s *identity.Service, _ *clock, owner *identity.ConsoleMember, _ string) {
			u, _ := s.CreateUser(ctx, "acme-account", identity.User{Email: "o2@acme.test", Enabled: true}, "")
			if _, err := s.PutConsoleMember(ctx, identity.ConsoleMember{UserID: u.ID, Role: identity.ConsoleOwner}); err != nil {
				t.Fatal(err)
			}
			if err := s.RevokeConsoleRole(ctx, owner.UserID); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"disabled", func(s *identity.Service, _ *clock, owner *identity.ConsoleMember, _ string) {
			u, _ := s.CreateUser(ctx, "acme-account", identity.User{Email: "o2@acme.test", Enabled: true}, "")
			if _, err := s.PutConsoleMember(ctx, identity.ConsoleMember{UserID: u.ID, Role: identity.ConsoleOwner}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.SetUserEnabled(ctx, "acme-account", owner.UserID, false); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"password changed", func(s *identity.Service, c *clock, owner *identity.ConsoleMember, _ string) {
			c.Advance(time.Second)
			if _, err := s.SetPassword(ctx, "acme-account", owner.UserID, "another password"); err != nil {
				t.Fatal(err)
			}
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, c, owner := consoleService(t)
			tok, cs, err := s.OpenConsoleSession(ctx, owner.UserID, pol)
			if err != nil {
				t.Fatal(err)
			}
			if cs.IDHash == tok || cs.IDHash != identity.HashSecret(tok) {
				t.Fatal("the session must be stored by hash")
			}
			tc.run(s, c, owner, tok)
			_, m, err := s.ConsoleSession(ctx, tok)
			if tc.ok != (err == nil) {
				t.Fatalf("session valid = %v (err %v), want %v", err == nil, err, tc.ok)
			}
			if err != nil && !errors.Is(err, identity.ErrUnauthenticated) {
				t.Errorf("ended session error %v does not wrap ErrUnauthenticated", err)
			}
			if tc.ok && m.Role != identity.ConsoleOwner {
				t.Errorf("member = %+v", m)
			}
		})
	}
	t.Run("non-members cannot open one", func(t *testing.T) {
		s, _, _ := consoleService(t)
		u, _ := s.CreateUser(ctx, "acme-account", identity.User{Email: "x@acme.test", Enabled: true}, "")
		if _, _, err := s.OpenConsoleSession(ctx, u.ID, pol); !errors.Is(err, identity.ErrForbidden) {
			t.Errorf("non-member: %v", err)
		}
	})
}

// TestWithActorAttributesEvents: every event a service writes under
// WithActor names the actor.
func TestWithActorAttributesEvents(t *testing.T) {
	s, _ := newService(t)
	ctx := identity.WithActor(context.Background(), "console-user-1")
	o, err := s.CreateOrganization(ctx, identity.OrganizationInput{Name: ptr("Actor Org")})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(ctx, o.Domain, identity.User{Email: "a@actor.test", Enabled: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetUserEnabled(ctx, o.Domain, u.ID, false); err != nil {
		t.Fatal(err)
	}
	ev, _ := s.ListEvents(context.Background(), o.Domain, identity.EventFilter{}, identity.PageRequest{PerPage: 100})
	if ev.Total != 3 {
		t.Fatalf("events = %+v", ev.Items)
	}
	for _, e := range ev.Items {
		if e.ActorID != "console-user-1" {
			t.Errorf("%s actor = %q", e.Code, e.ActorID)
		}
	}
}

func TestUserAdminOperations(t *testing.T) {
	s, c := newService(t)
	ctx := context.Background()
	o := mustOrg(t, s, "ops")
	u, _ := s.CreateUser(ctx, o.Domain, identity.User{Email: "u@ops.test", Enabled: true}, "")
	if _, err := s.UnlockUser(ctx, o.Domain, u.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.SetUserEnabled(ctx, o.Domain, u.ID, false); got.Enabled {
		t.Error("still enabled")
	}
	if got, _ := s.SetUserEnabled(ctx, o.Domain, u.ID, true); !got.Enabled {
		t.Error("still disabled")
	}
	if _, err := s.EndSessions(ctx, o.Domain, u.ID); err != nil {
		t.Fatal(err)
	}
	other := mustOrg(t, s, "other")
	for name, call := range map[string]func() error{
		"enable":  func() error { _, err := s.SetUserEnabled(ctx, other.Domain, u.ID, false); return err },
		"unlock":  func() error { _, err := s.UnlockUser(ctx, other.Domain, u.ID); return err },
		"end":     func() error { _, err := s.EndSessions(ctx, other.Domain, u.ID); return err },
		"unknown": func() error { _, err := s.UnlockUser(ctx, o.Domain, "nope"); return err },
	} {
		if err := call(); !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("%s across organizations: %v", name, err)
		}
	}
	_ = c
	ev, _ := s.ListEvents(ctx, o.Domain, identity.EventFilter{}, identity.PageRequest{PerPage: 100})
	var codes []string
	for _, e := range ev.Items {
		codes = append(codes, e.Code)
	}
	for _, want := range []string{identity.EventUserUnlocked, identity.EventUserDisabled, identity.EventUserEnabled, identity.EventUserSessionsEnded} {
		if !slices.Contains(codes, want) {
			t.Errorf("no %s in %v", want, codes)
		}
	}
}

func TestSearchUsers(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	o := mustOrg(t, s, "search")
	for i := 0; i < 30; i++ {
		name := fmt.Sprintf("Person %02d", i)
		if i%10 == 3 {
			name = "Zoé Martin"
		}
		if _, err := s.CreateUser(ctx, o.Domain, identity.User{Email: fmt.Sprintf("user%02d@search.test", i), Enabled: true,
			Profile: identity.Profile{Name: name}}, ""); err != nil {
			t.Fatal(err)
		}
	}
	other := mustOrg(t, s, "elsewhere")
	_, _ = s.CreateUser(ctx, other.Domain, identity.User{Email: "user01@elsewhere.test", Enabled: true, Profile: identity.Profile{Name: "Zoé Martin"}}, "")
	collect := func(q identity.UserSearch) []string {
		var out []string
		for i := 0; i < 20; i++ {
			p, err := s.SearchUsers(ctx, o.Domain, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range p.Users {
				out = append(out, u.Email)
			}
			if p.Next == "" {
				return out
			}
			q.After = p.Next
		}
		t.Fatal("pagination does not end")
		return nil
	}
	cases := []struct {
		q    string
		want int
	}{
		{"", 30},
		{"USER1", 10},
		{"user1", 10},
		{"USER0@", 0},
		{"user0", 10},
		{"user05@search", 1},
		{"martin", 3},
		{"zoé", 3},
		{"nobody", 0},
	}
	for _, c := range cases {
		got := collect(identity.UserSearch{Query: c.q, Limit: 4})
		if len(got) != c.want {
			t.Errorf("search %q: %d results %v, want %d", c.q, len(got), got, c.want)
		}
		for _, e := range got {
			if e == "user01@elsewhere.test" {
				t.Errorf("search %q found another organization's user", c.q)
			}
		}
	}
	if _, err := s.SearchUsers(ctx, "nope", identity.UserSearch{Query: "x"}); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("unknown org: %v", err)
	}
}

func TestSearchOrganizations(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	for _, n := range []string{"Acme", "Acme Labs", "Acorn", "Beta"} {
		mustOrg(t, s, n)
	}
	var got []string
	q := identity.OrgSearch{Query: "ac", Limit: 2}
	for {
		p, err := s.SearchOrganizations(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range p.Orgs {
			got = append(got, o.Domain)
		}
		if p.Next == "" {
			break
		}
		q.After = p.Next
	}
	if !slices.Equal(got, []string{"acme", "acme-labs", "acorn"}) {
		t.Errorf("search = %v", got)
	}
	if p, _ := s.SearchOrganizations(ctx, identity.OrgSearch{Query: "Acme L"}); len(p.Orgs) != 1 {
		t.Errorf("name search = %+v", p.Orgs)
	}
}

func TestEventFilterActorAndTimeRange(t *testing.T) {
	s, c := newService(t)
	o := mustOrg(t, s, "audit")
	start := c.Now()
	for i, actor := range []string{"ann", "bob", "ann", "bob", "ann"} {
		c.Advance(time.Hour)
		ctx := identity.WithActor(context.Background(), actor)
		if _, err := s.CreateUser(ctx, o.Domain, identity.User{Email: fmt.Sprintf("u%d@audit.test", i), Enabled: true}, ""); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	cases := []struct {
		name string
		f    identity.EventFilter
		want int
	}{
		{"actor", identity.EventFilter{ActorID: "ann"}, 3},
		{"actor and code", identity.EventFilter{ActorID: "bob", Code: identity.EventUserCreated}, 2},
		{"since", identity.EventFilter{Since: start.Add(3*time.Hour + time.Minute)}, 2},
		{"until", identity.EventFilter{Until: start.Add(2*time.Hour + time.Minute)}, 3}, // the organization's creation, u0, u1
		{"range and actor", identity.EventFilter{ActorID: "ann", Since: start.Add(2 * time.Hour), Until: start.Add(4 * time.Hour)}, 1},
		{"nobody", identity.EventFilter{ActorID: "eve"}, 0},
	}
	for _, tc := range cases {
		p, err := s.ListEvents(ctx, o.Domain, tc.f, identity.PageRequest{PerPage: 2})
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != tc.want {
			t.Errorf("%s: total %d, want %d", tc.name, p.Total, tc.want)
		}
		n := 0
		if err := s.ExportEvents(ctx, o.Domain, tc.f, func(*identity.Event) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		if n != tc.want {
			t.Errorf("%s: export %d, want %d", tc.name, n, tc.want)
		}
	}
}

func TestRotateApplicationSecret(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	o := mustOrg(t, s, "rot")
	web, old, err := s.CreateApplication(ctx, o.Domain, identity.Application{Name: "web", ApplicationType: identity.AppRegularWeb,
		AllowedRedirectURLs: []string{"https://rot.test/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	spa, _, _ := s.CreateApplication(ctx, o.Domain, identity.Application{Name: "spa", ApplicationType: identity.AppReact,
		AllowedRedirectURLs: []string{"https://rot.test/cb"}})
	secret, err := s.RotateApplicationSecret(ctx, o.Domain, web.ClientID)
	if err != nil || secret == "" || secret == old {
		t.Fatalf("rotate = %q, %v", secret, err)
	}
	got, _ := s.GetApplication(ctx, o.Domain, web.ClientID)
	if !identity.SecretMatches(secret, got.ClientSecretHash) || identity.SecretMatches(old, got.ClientSecretHash) {
		t.Error("the stored hash is not the new secret's")
	}
	if _, err := s.RotateApplicationSecret(ctx, o.Domain, spa.ClientID); !fieldsOf(err)["application_type"] {
		t.Errorf("public client: %v", err)
	}
	other := mustOrg(t, s, "other")
	if _, err := s.RotateApplicationSecret(ctx, other.Domain, web.ClientID); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("through another organization: %v", err)
	}
	viewer := identity.ConsoleMember{Role: identity.ConsoleViewer}
	vs, _ := s.For(viewer.Scope(identity.Production))
	if _, err := vs.RotateApplicationSecret(ctx, o.Domain, web.ClientID); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("viewer: %v", err)
	}
	ev, _ := s.ListEvents(ctx, o.Domain, identity.EventFilter{Code: identity.EventApplicationSecretRotated}, identity.PageRequest{})
	if ev.Total != 1 {
		t.Errorf("rotation events: %d", ev.Total)
	}
}

// hashCounter counts Hash calls (the argon2id runs a caller causes).
type hashCounter struct {
	countingHasher
	hashes atomic.Int64
}

func (h *hashCounter) Hash(ctx context.Context, pw string) (string, error) {
	h.hashes.Add(1)
	return h.countingHasher.Hash(ctx, pw)
}

// TestConsoleSetupHashesOnlyForAValidLink (the attacker's test): the
// setup form is anonymous, so a claim with a wrong, expired or spent link
// is refused before the password is hashed: it must not cost the server
// an argon2id run (whose slots the sign-ins share).
func TestConsoleSetupHashesOnlyForAValidLink(t *testing.T) {
	s, _ := newService(t)
	h := &hashCounter{}
	s = s.WithHasher(h)
	ctx := context.Background()
	tok, _, err := s.ConsoleSetup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	claim := func(token string) error {
		_, err := s.ClaimConsoleSetup(ctx, identity.ConsoleSetupClaim{Token: token, Email: "owner@acme.test", Password: "correct horse"})
		return err
	}
	if err := claim(tok + "x"); !errors.Is(err, identity.ErrUnauthenticated) || h.hashes.Load() != 0 {
		t.Fatalf("wrong link: %v, %d hashes", err, h.hashes.Load())
	}
	if err := claim(tok); err != nil || h.hashes.Load() != 1 {
		t.Fatalf("right link: %v, %d hashes", err, h.hashes.Load())
	}
	if err := claim(tok); !errors.Is(err, identity.ErrUnauthenticated) || h.hashes.Load() != 1 {
		t.Fatalf("spent link: %v, %d hashes", err, h.hashes.Load())
	}
}

// TestLastOwnerStays: the console's last owner over every organization
// cannot be deleted or disabled, through any face (ErrConflict, nothing
// changes: the console would have no owner, and a stale member record
// would refuse a new setup link); another owner can, and a deleted
// member's role goes with the user.
func TestLastOwnerStays(t *testing.T) {
	s, _, owner := consoleService(t)
	ctx := context.Background()
	for name, leave := range map[string]func() error{
		"delete":  func() error { _, err := s.DeleteUser(ctx, "acme-account", owner.UserID); return err },
		"disable": func() error { _, err := s.SetUserEnabled(ctx, "acme-account", owner.UserID, false); return err },
		"disable by update": func() error {
			_, err := s.UpdateUser(ctx, "acme-account", owner.UserID, func(u *identity.User) error { u.Enabled = false; return nil })
			return err
		},
	} {
		if err := leave(); !errors.Is(err, identity.ErrConflict) {
			t.Errorf("%s the last owner: %v, want ErrConflict", name, err)
		}
	}
	if u, err := s.GetUser(ctx, "acme-account", owner.UserID); err != nil || !u.Enabled {
		t.Fatalf("the last owner after refusals: %+v %v", u, err)
	}
	u, _ := s.CreateUser(ctx, "acme-account", identity.User{Email: "o2@acme.test", Enabled: true}, "")
	if _, err := s.PutConsoleMember(ctx, identity.ConsoleMember{UserID: u.ID, Role: identity.ConsoleOwner}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteUser(ctx, "acme-account", owner.UserID); err != nil {
		t.Fatalf("delete an owner while another remains: %v", err)
	}
	if _, err := s.ConsoleMember(ctx, owner.UserID); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("the deleted owner's role: %v", err)
	}
	if _, err := s.DeleteUser(ctx, "acme-account", u.ID); !errors.Is(err, identity.ErrConflict) {
		t.Fatalf("delete the new last owner: %v", err)
	}
}

// TestConsoleMemberEmailFollowsItsUser: the members list shows a member's
// current address after its user's email changed (through any face: the
// core's ReplaceUser), not the one it had when the role was granted.
func TestConsoleMemberEmailFollowsItsUser(t *testing.T) {
	s, _, owner := consoleService(t)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, "acme-account", identity.User{Email: "viewer@acme.test", Enabled: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutConsoleMember(ctx, identity.ConsoleMember{UserID: u.ID, Role: identity.ConsoleViewer}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ userID, email string }{
		{u.ID, "renamed@acme.test"},
		{u.ID, "Renamed@acme.test"}, // case only: the list shows it as stored
		{owner.UserID, "boss@acme.test"},
	} {
		if _, err := s.UpdateUser(ctx, "acme-account", c.userID, func(u *identity.User) error {
			u.Email, u.Username = c.email, c.email
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		m, err := s.ConsoleMember(ctx, c.userID)
		if err != nil || m.Email != c.email {
			t.Fatalf("member after the change to %s: %+v, %v", c.email, m, err)
		}
		list, err := s.ListConsoleMembers(ctx)
		if err != nil || !slices.ContainsFunc(list, func(m identity.ConsoleMember) bool { return m.UserID == c.userID && m.Email == c.email }) {
			t.Fatalf("list after the change to %s: %+v, %v", c.email, list, err)
		}
	}
}
