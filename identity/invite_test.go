package identity_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/testkit"
	"github.com/gatehouse-id/gatehouse/store/bolt"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// TestInvitation: the core's invitation rule. A token is single use,
// of its organization, purpose and environment only, and expires; a
// disabled, unknown or foreign user is refused; a scoped Service needs
// the organization and update:users; the invitation and its use are
// audited, the first with the actor of the context.
func TestInvitation(t *testing.T) {
	ctx := context.Background()
	clock := testkit.NewClock(time.Now().UTC().Truncate(time.Second))
	s, err := identity.NewService(identity.Options{Store: memory.New(), Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	mustOrg(t, s, "acme")
	mustOrg(t, s, "other")
	u, err := s.CreateUser(ctx, "acme", identity.User{Email: "a@acme.test", Enabled: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	off, err := s.CreateUser(ctx, "acme", identity.User{Email: "off@acme.test", Enabled: false}, "")
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := s.CreateUser(ctx, "other", identity.User{Email: "b@other.test", Enabled: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	app, _, err := s.CreateApplication(ctx, "acme", identity.Application{Name: "web", ApplicationType: identity.AppRegularWeb,
		AllowedRedirectURLs: []string{"https://acme.test/cb"}, AllowedWebOrigins: []string{"https://acme.test"},
		DefaultWebOrigin: "https://acme.test"})
	if err != nil {
		t.Fatal(err)
	}
	bare, _, err := s.CreateApplication(ctx, "acme", identity.Application{Name: "api", ApplicationType: identity.AppRegularWeb,
		AllowedRedirectURLs: []string{"https://acme.test/api"}})
	if err != nil {
		t.Fatal(err)
	}
	otherApp, _, err := s.CreateApplication(ctx, "other", identity.Application{Name: "web", ApplicationType: identity.AppRegularWeb,
		OrganizationScope: "other", AllowedRedirectURLs: []string{"https://other.test/cb"}, AllowedWebOrigins: []string{"https://other.test"},
		DefaultWebOrigin: "https://other.test"})
	if err != nil {
		t.Fatal(err)
	}
	actx := identity.WithActor(ctx, "admin-1")
	invite := func(svc *identity.Service, in identity.InvitationRequest) (*identity.Invitation, error) {
		in.ClientAddr = "192.0.2.1"
		return svc.InviteUser(actx, in)
	}

	// Refusals change nothing and issue no token.
	scoped := func(orgs []string, perms ...string) *identity.Service {
		sc, err := s.For(identity.Scope{Environment: identity.Production, Orgs: orgs, Permissions: perms})
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	for _, c := range []struct {
		name string
		svc  *identity.Service
		in   identity.InvitationRequest
		want error
	}{
		{"disabled user", s, identity.InvitationRequest{OrgDomain: "acme", UserID: off.ID}, identity.ErrDisabled},
		{"unknown user", s, identity.InvitationRequest{OrgDomain: "acme", UserID: "nope"}, identity.ErrNotFound},
		{"other organization's user", s, identity.InvitationRequest{OrgDomain: "acme", UserID: stranger.ID}, identity.ErrNotFound},
		{"unknown organization", s, identity.InvitationRequest{OrgDomain: "nope", UserID: u.ID}, identity.ErrNotFound},
		{"scoped without users permission", scoped([]string{"acme"}, "read:users", "create:applications"),
			identity.InvitationRequest{OrgDomain: "acme", UserID: u.ID}, identity.ErrForbidden},
		{"scoped to another organization", scoped([]string{"other"}, identity.PermAll),
			identity.InvitationRequest{OrgDomain: "acme", UserID: u.ID}, identity.ErrNotFound},
		{"application of another organization", s, identity.InvitationRequest{OrgDomain: "acme", UserID: u.ID, ClientID: otherApp.ClientID}, identity.ErrInvalid},
		{"application without a web origin", s, identity.InvitationRequest{OrgDomain: "acme", UserID: u.ID, ClientID: bare.ClientID}, identity.ErrInvalid},
		{"unknown application", s, identity.InvitationRequest{OrgDomain: "acme", UserID: u.ID, ClientID: "nope"}, identity.ErrInvalid},
	} {
		if inv, err := invite(c.svc, c.in); !errors.Is(err, c.want) || inv != nil {
			t.Errorf("%s: %v, %+v; want %v", c.name, err, inv, c.want)
		}
	}
	if ev, _ := s.ListEvents(ctx, "acme", identity.EventFilter{Code: identity.EventUserInvited}, identity.PageRequest{}); ev.Total != 0 {
		t.Fatalf("refused invitations were audited: %+v", ev.Items)
	}

	// A scoped service with the permission invites; the link lands in the
	// application chosen.
	inv, err := invite(scoped([]string{"acme"}, "update:users"), identity.InvitationRequest{OrgDomain: "acme", UserID: u.ID, ClientID: app.ClientID})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Token) < 43 || inv.User.ID != u.ID || inv.LandingURL != "https://acme.test" ||
		!inv.ExpiresAt.Equal(s.Now().Add(identity.DefaultInvitationTTL)) {
		t.Fatalf("invitation %+v", inv)
	}
	ev, _ := s.ListEvents(ctx, "acme", identity.EventFilter{Code: identity.EventUserInvited}, identity.PageRequest{})
	if ev.Total != 1 || ev.Items[0].ActorID != "admin-1" || ev.Items[0].ResourceOwnerID != u.ID || ev.Items[0].ClientID != app.ClientID {
		t.Fatalf("USER_INVITED events %+v", ev.Items)
	}
	// Reading consumes nothing; another organization, another purpose's
	// reader and the other environment do not know the token.
	for i := 0; i < 2; i++ {
		if got, err := s.CheckInvitation(ctx, "acme", inv.Token); err != nil || got.User.ID != u.ID || got.LandingURL != "https://acme.test" {
			t.Fatalf("check %d: %v %+v", i, err, got)
		}
	}
	if _, err := s.CheckInvitation(ctx, "other", inv.Token); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("other organization: %v", err)
	}
	if _, err := s.CheckPasswordReset(ctx, "acme", inv.Token); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("read as a reset token: %v", err)
	}
	sb, err := s.ForEnvironment(identity.Sandbox)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sb.AcceptInvitation(ctx, identity.InvitationAcceptance{OrgDomain: "acme", Token: inv.Token}); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("sandbox: %v", err)
	}
	// Single use: the first accept verifies the address and is audited.
	got, err := s.AcceptInvitation(ctx, identity.InvitationAcceptance{OrgDomain: "acme", Token: inv.Token})
	if err != nil || got.User.ID != u.ID || !got.User.Verified || got.LandingURL != "https://acme.test" {
		t.Fatalf("accept: %v %+v", err, got)
	}
	if _, err := s.AcceptInvitation(ctx, identity.InvitationAcceptance{OrgDomain: "acme", Token: inv.Token}); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("second accept: %v", err)
	}
	ev, _ = s.ListEvents(ctx, "acme", identity.EventFilter{Code: identity.EventUserInvitationAccepted}, identity.PageRequest{})
	if ev.Total != 1 || ev.Items[0].ActorID != u.ID {
		t.Errorf("USER_INVITATION_ACCEPTED events %+v", ev.Items)
	}

	// Without a default web origin, the first allowed one is the landing.
	origins, _, err := s.CreateApplication(ctx, "acme", identity.Application{Name: "spa", ApplicationType: identity.AppRegularWeb,
		AllowedRedirectURLs: []string{"https://spa.acme.test/cb"}, AllowedWebOrigins: []string{"https://spa.acme.test", "https://b.acme.test"}})
	if err != nil {
		t.Fatal(err)
	}
	if inv, err := invite(s, identity.InvitationRequest{OrgDomain: "acme", UserID: u.ID, ClientID: origins.ClientID}); err != nil ||
		inv.LandingURL != "https://spa.acme.test" {
		t.Fatalf("landing on the first web origin: %v %+v", err, inv)
	}

	// Expiry: a link past its TTL is refused, and stays refused.
	inv, err = invite(s, identity.InvitationRequest{OrgDomain: "acme", UserID: u.ID, TTL: 48 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !inv.ExpiresAt.Equal(s.Now().Add(identity.MaxInvitationTTL)) || inv.LandingURL != "" {
		t.Fatalf("capped invitation %+v", inv)
	}
	clock.Advance(identity.MaxInvitationTTL)
	if _, err := s.AcceptInvitation(ctx, identity.InvitationAcceptance{OrgDomain: "acme", Token: inv.Token}); !errors.Is(err, identity.ErrExpired) {
		t.Errorf("expired accept: %v", err)
	}
	if _, err := s.AcceptInvitation(ctx, identity.InvitationAcceptance{OrgDomain: "acme", Token: inv.Token}); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("expired accept again: %v", err)
	}

	// A user disabled after the invitation cannot use it; ending the
	// user's sessions ends pending invitations too.
	inv, err = invite(s, identity.InvitationRequest{OrgDomain: "acme", UserID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetUserEnabled(ctx, "acme", u.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcceptInvitation(ctx, identity.InvitationAcceptance{OrgDomain: "acme", Token: inv.Token}); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("disabled user's accept: %v", err)
	}
	if _, err := s.SetUserEnabled(ctx, "acme", u.ID, true); err != nil {
		t.Fatal(err)
	}
	inv, err = invite(s, identity.InvitationRequest{OrgDomain: "acme", UserID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.EndSessions(ctx, "acme", u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CheckInvitation(ctx, "acme", inv.Token); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("after EndSessions: %v", err)
	}
}

// TestInvitationSendBudget: invitations spend the address's email send
// budget, shared with magic links and reset mails.
func TestInvitationSendBudget(t *testing.T) {
	ctx := context.Background()
	s, err := identity.NewService(identity.Options{Store: memory.New()})
	if err != nil {
		t.Fatal(err)
	}
	mustOrg(t, s, "acme")
	u, err := s.CreateUser(ctx, "acme", identity.User{Email: "a@acme.test", Enabled: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	busy := 0
	for i := 0; i < 10; i++ {
		_, err := s.InviteUser(ctx, identity.InvitationRequest{OrgDomain: "acme", UserID: u.ID, ClientAddr: "192.0.2.1"})
		if errors.Is(err, identity.ErrBusy) {
			busy++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if busy == 0 {
		t.Fatal("ten invitations in a row were all sent")
	}
	// The magic-link budget of the address is the same one.
	if err := s.AllowCodeSend(ctx, "acme", "a@acme.test", "192.0.2.1"); !errors.Is(err, identity.ErrBusy) {
		t.Errorf("magic link after the invitations: %v", err)
	}
}

// TestSearchUsersByMetaData: a MetaData condition keeps exactly the users
// whose attribute holds the value (strings as is, other values as their
// JSON), with a text query as a further condition, newest first and by
// pages; a malformed condition is ErrInvalid on "meta".
func TestSearchUsersByMetaData(t *testing.T) {
	ctx := context.Background()
	s, err := identity.NewService(identity.Options{Store: memory.New()})
	if err != nil {
		t.Fatal(err)
	}
	mustOrg(t, s, "acme")
	mustOrg(t, s, "other")
	for _, k := range []struct{ name, typ string }{{"plan", identity.MetaString}, {"seats", identity.MetaInteger}, {"city", identity.MetaString}} {
		for _, org := range []string{"acme", "other"} {
			if _, err := s.CreateMetaKey(ctx, org, k.name, k.typ, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	mk := func(org, email, name string, attrs map[string]any) {
		t.Helper()
		if _, err := s.CreateUser(ctx, org, identity.User{Email: email, Enabled: true, Profile: identity.Profile{Name: name},
			Attributes: attrs}, ""); err != nil {
			t.Fatal(err)
		}
	}
	mk("acme", "a@acme.test", "Ann", map[string]any{"plan": "gold", "seats": "42", "city": "Orléans"})
	mk("acme", "b@acme.test", "Bob", map[string]any{"plan": "golden", "city": `say "hi"`})
	mk("acme", "c@acme.test", "Cid", map[string]any{"plan": "Gold"})
	mk("acme", "d@acme.test", "Dan gold", map[string]any{"seats": "4"})
	mk("acme", "e@acme.test", "Eve", map[string]any{"plan": "gold"})
	mk("other", "x@other.test", "Xi", map[string]any{"plan": "gold"})
	emails := func(q identity.UserSearch) []string {
		t.Helper()
		var out []string
		for {
			p, err := s.SearchUsers(ctx, "acme", q)
			if err != nil {
				t.Fatalf("%+v: %v", q, err)
			}
			for _, u := range p.Users {
				out = append(out, u.Email)
			}
			if p.Next == "" {
				return out
			}
			q.After = p.Next
		}
	}
	for _, c := range []struct {
		q    identity.UserSearch
		want string
	}{
		{identity.UserSearch{MetaKey: "plan", MetaValue: "gold"}, "e@acme.test a@acme.test"},
		{identity.UserSearch{MetaKey: "plan", MetaValue: "gold", Limit: 1}, "e@acme.test a@acme.test"},
		{identity.UserSearch{MetaKey: "plan", MetaValue: "Gold"}, "c@acme.test"},
		{identity.UserSearch{MetaKey: "plan", MetaValue: "gold", Query: "ann"}, "a@acme.test"},
		{identity.UserSearch{MetaKey: "plan", MetaValue: "gold", Query: "@acme"}, "e@acme.test a@acme.test"},
		{identity.UserSearch{MetaKey: "seats", MetaValue: "42"}, "a@acme.test"},
		{identity.UserSearch{MetaKey: "seats", MetaValue: "4"}, "d@acme.test"},
		{identity.UserSearch{MetaKey: "city", MetaValue: "Orléans"}, "a@acme.test"},
		{identity.UserSearch{MetaKey: "city", MetaValue: `say "hi"`}, "b@acme.test"},
		{identity.UserSearch{MetaKey: "plan", MetaValue: "silver"}, ""},
		{identity.UserSearch{MetaKey: "nokey", MetaValue: "gold"}, ""},
	} {
		if got := strings.Join(emails(c.q), " "); got != c.want {
			t.Errorf("%+v: %q, want %q", c.q, got, c.want)
		}
	}
	for _, q := range []identity.UserSearch{{MetaValue: "gold"}, {MetaKey: strings.Repeat("k", 129), MetaValue: "x"},
		{MetaKey: "plan", MetaValue: strings.Repeat("v", 255)}, {MetaKey: "plan", MetaValue: "\xff"}} {
		if _, err := s.SearchUsers(ctx, "acme", q); !errors.Is(err, identity.ErrInvalid) || fieldsOf(err)["meta"] != true {
			t.Errorf("%+v: %v", q, err)
		}
	}
}

// updateCounter counts the write transactions asked of its store.
type updateCounter struct {
	identity.Store
	updates atomic.Int64
}

func (s *updateCounter) Update(ctx context.Context, fn func(identity.Tx) error) error {
	s.updates.Add(1)
	return s.Store.Update(ctx, fn)
}

// TestAcceptInvitationThen: the face's hook writes in the transaction
// that consumes the token, on memory and on bolt. A hook that fails rolls
// everything back (the token stays usable, the address unverified, no
// event, none of the hook's writes) and its error comes back unchanged;
// a hook that succeeds commits with the acceptance in one write
// transaction; concurrent acceptances of one token run exactly one hook
// that commits.
func TestAcceptInvitationThen(t *testing.T) {
	stores := []struct {
		name string
		open func(t *testing.T) identity.Store
	}{
		{"memory", func(*testing.T) identity.Store { return memory.New() }},
		{"bolt", func(t *testing.T) identity.Store {
			st, err := bolt.Open(context.Background(), filepath.Join(t.TempDir(), "i.db"), bolt.WithNoSync())
			if err != nil {
				t.Fatal(err)
			}
			return st
		}},
	}
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			inner := sc.open(t)
			t.Cleanup(func() { _ = inner.Close() })
			st := &updateCounter{Store: inner}
			s, err := identity.NewService(identity.Options{Store: st, CodeSendBurst: 100})
			if err != nil {
				t.Fatal(err)
			}
			mustOrg(t, s, "acme")
			u, err := s.CreateUser(ctx, "acme", identity.User{Email: "a@acme.test", Enabled: true}, "")
			if err != nil {
				t.Fatal(err)
			}
			invite := func() string {
				t.Helper()
				inv, err := s.InviteUser(ctx, identity.InvitationRequest{OrgDomain: "acme", UserID: u.ID, ClientAddr: "192.0.2.1"})
				if err != nil {
					t.Fatal(err)
				}
				return inv.Token
			}
			// session is the hook's own write, a stand-in for the face's
			// browser session: an event in the same transaction.
			session := func(tx *identity.Txn, inv *identity.Invitation, n int) error {
				return tx.Log(&identity.Event{Code: identity.EventTicketCreated, OrgID: inv.User.OrgID, TenantDomain: inv.OrgDomain,
					ResourceOwnerID: inv.User.ID, Data: map[string]any{"n": n}})
			}
			count := func(code string) int {
				t.Helper()
				ev, err := s.ListEvents(ctx, "acme", identity.EventFilter{Code: code}, identity.PageRequest{})
				if err != nil {
					t.Fatal(err)
				}
				return ev.Total
			}

			// The hook's write fails: nothing of the acceptance is written.
			token := invite()
			boom := errors.New("session store down")
			var seen *identity.Invitation
			got, err := s.AcceptInvitation(ctx, identity.InvitationAcceptance{OrgDomain: "acme", Token: token,
				Then: func(tx *identity.Txn, inv *identity.Invitation) error {
					seen = inv
					if err := session(tx, inv, 0); err != nil {
						return err
					}
					return boom
				}})
			if err != boom || got != nil {
				t.Fatalf("failing hook: %v %+v, want the hook's error unchanged", err, got)
			}
			if seen == nil || seen.User.ID != u.ID || !seen.User.Verified {
				t.Fatalf("the hook saw %+v, want the accepted invitation with the verified user", seen)
			}
			if _, err := s.CheckInvitation(ctx, "acme", token); err != nil {
				t.Fatalf("the token is spent after a failed hook: %v", err)
			}
			if now, _ := s.GetUser(ctx, "acme", u.ID); now.Verified {
				t.Error("the address was verified by a rolled back acceptance")
			}
			if n, m := count(identity.EventUserInvitationAccepted), count(identity.EventTicketCreated); n != 0 || m != 0 {
				t.Errorf("a rolled back acceptance left %d acceptance and %d hook events", n, m)
			}

			// The same token, a hook that succeeds: one write transaction.
			w0 := st.updates.Load()
			got, err = s.AcceptInvitation(ctx, identity.InvitationAcceptance{OrgDomain: "acme", Token: token,
				Then: func(tx *identity.Txn, inv *identity.Invitation) error { return session(tx, inv, 1) }})
			if err != nil || got.User.ID != u.ID || !got.User.Verified {
				t.Fatalf("accept after the failure: %v %+v", err, got)
			}
			if n := st.updates.Load() - w0; n != 1 {
				t.Errorf("an acceptance with its hook took %d write transactions, want 1", n)
			}
			if n, m := count(identity.EventUserInvitationAccepted), count(identity.EventTicketCreated); n != 1 || m != 1 {
				t.Errorf("%d acceptance and %d hook events, want 1 and 1", n, m)
			}
			called := false
			if _, err := s.AcceptInvitation(ctx, identity.InvitationAcceptance{OrgDomain: "acme", Token: token,
				Then: func(*identity.Txn, *identity.Invitation) error { called = true; return nil }}); !errors.Is(err, identity.ErrNotFound) || called {
				t.Errorf("second use: %v, hook called %v", err, called)
			}

			// Concurrent acceptances of one token: one winner, one hook
			// committed.
			token = invite()
			const n = 8
			errs := make([]error, n)
			testkit.AtOnce(n, func(i int) {
				_, errs[i] = s.AcceptInvitation(ctx, identity.InvitationAcceptance{OrgDomain: "acme", Token: token,
					Then: func(tx *identity.Txn, inv *identity.Invitation) error { return session(tx, inv, 2+i) }})
			})
			won := 0
			for i, err := range errs {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, identity.ErrNotFound):
					t.Errorf("acceptance %d: %v", i, err)
				}
			}
			if won != 1 {
				t.Errorf("%d concurrent acceptances of one token succeeded, want 1", won)
			}
			if n, m := count(identity.EventUserInvitationAccepted), count(identity.EventTicketCreated); n != 2 || m != 2 {
				t.Errorf("after the concurrent acceptances: %d acceptance and %d hook events, want 2 and 2", n, m)
			}
		})
	}
}
