package identity_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/password"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// A host opens the core on a store and manages its directory in-process,
// with no HTTP at all.
func Example() {
	ctx := context.Background()
	svc, err := identity.NewService(identity.Options{Store: memory.New()})
	if err != nil {
		panic(err)
	}
	name := "Misapret"
	org, _ := svc.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
	user, _ := svc.CreateUser(ctx, org.Domain, identity.User{
		Email:   "janis.joplin@example.com",
		Enabled: true,
		Profile: identity.Profile{GivenName: "Janis", FamilyName: "Joplin"},
	}, "")
	found, _ := svc.GetUserByEmail(ctx, org.Domain, "Janis.Joplin@example.com")
	fmt.Println(org.Domain, found.ID == user.ID, found.Profile.GivenName)
	// Output: misapret true Janis
}

// Every change lands in the audit log in the same transaction.
func ExampleService_ListEvents() {
	ctx := context.Background()
	svc, _ := identity.NewService(identity.Options{Store: memory.New()})
	name := "Shark Academy"
	org, _ := svc.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
	_, _ = svc.CreateUser(ctx, org.Domain, identity.User{Email: "a@example.com"}, "")
	page, _ := svc.ListEvents(ctx, org.Domain, identity.EventFilter{}, identity.PageRequest{})
	for _, e := range page.Items {
		fmt.Println(e.Code, e.TenantDomain)
	}
	// Output:
	// USER_CREATED shark-academy
	// ORGANIZATION_CREATED shark-academy
}

// ExampleService_ImportUsers imports users in one batch: one
// USERS_IMPORTED event records it (ImportOptions.EventPerUser would log a
// USER_CREATED per user instead).
func ExampleService_ImportUsers() {
	ctx := context.Background()
	svc, _ := identity.NewService(identity.Options{Store: memory.New()})
	name := "Shark Academy"
	org, _ := svc.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
	res, _ := svc.ImportUsers(ctx, org.Domain, []identity.User{
		{Email: "a@example.com", Enabled: true},
		{Email: "A@example.com", Enabled: true}, // the same email
	}, identity.ImportOptions{})
	for _, r := range res {
		fmt.Println(strings.TrimSpace(fmt.Sprint(r.Status, " ", r.Field)))
	}
	page, _ := svc.ListEvents(ctx, org.Domain, identity.EventFilter{Code: identity.EventUsersImported}, identity.PageRequest{})
	fmt.Println(page.Items[0].Code, page.Items[0].Data["count"])
	// Output:
	// created
	// duplicate email
	// USERS_IMPORTED 1
}

// A console role becomes the Scope of the Service the console acts
// through, so the core enforces it.
func ExampleConsoleMember_Scope() {
	m := identity.ConsoleMember{Role: identity.ConsoleViewer, Orgs: []string{"acme"}}
	sc := m.Scope(identity.Production)
	fmt.Println(sc.Orgs, sc.Permissions)
	fmt.Println(m.Allows(identity.ActionRead, "users"), m.Allows(identity.ActionUpdate, "users"))
	// Output:
	// [acme] [read:* read_many:*]
	// true false
}

// A token endpoint authenticates a client in one call; after a rotation
// the old secret is refused at once.
func ExampleService_AuthenticateClient() {
	ctx := context.Background()
	svc, _ := identity.NewService(identity.Options{Store: memory.New()})
	name := "Misapret"
	org, _ := svc.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
	app, secret, _ := svc.CreateApplication(ctx, org.Domain, identity.Application{Name: "cron", ApplicationType: identity.AppMachine})
	_, err := svc.AuthenticateClient(ctx, app.ClientID, secret, org.Domain)
	fmt.Println(err == nil)
	fresh, _ := svc.RotateApplicationSecret(ctx, org.Domain, app.ClientID)
	_, err = svc.AuthenticateClient(ctx, app.ClientID, secret, org.Domain)
	fmt.Println(errors.Is(err, identity.ErrUnauthenticated))
	_, err = svc.AuthenticateClient(ctx, app.ClientID, fresh, org.Domain)
	fmt.Println(err == nil)
	// Output:
	// true
	// true
	// true
}

// Concurrent LogEvent calls share their commits; each returns once its
// event is stored.
func ExampleService_LogEvent() {
	ctx := context.Background()
	svc, _ := identity.NewService(identity.Options{Store: memory.New()})
	name := "Misapret"
	org, _ := svc.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
	err := svc.LogEvent(ctx, &identity.Event{Code: identity.EventTokenIssued, TenantDomain: org.Domain, ClientID: "cron"})
	page, _ := svc.ListEvents(ctx, org.Domain, identity.EventFilter{Code: identity.EventTokenIssued}, identity.PageRequest{})
	fmt.Println(err, page.Total, page.Items[0].ClientID)
	// Output: <nil> 1 cron
}

// A user's live tickets and persistent logins, as an admin page lists
// them; EndSessions ends them (and the OIDC and browser sessions).
func ExampleService_ListUserSessions() {
	ctx := context.Background()
	svc, _ := identity.NewService(identity.Options{Store: memory.New()})
	name := "Session Club"
	org, _ := svc.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
	u, _ := svc.CreateUser(ctx, org.Domain, identity.User{Email: "a@example.com"}, "")
	now := svc.Now()
	_ = svc.Update(ctx, func(tx *identity.Txn) error {
		return tx.PutTicket(nil, &identity.Ticket{IDHash: identity.HashSecret("ticket-id"), OrgID: org.ID, UserID: u.ID,
			CreatedAt: now, LastRequestAt: now, ExpiresAt: now.Add(time.Hour)})
	})
	list, n, _ := svc.ListUserSessions(ctx, org.Domain, u.ID)
	fmt.Println(n, list[0].Kind)
	_, _ = svc.EndSessions(ctx, org.Domain, u.ID)
	_, n, _ = svc.ListUserSessions(ctx, org.Domain, u.ID)
	fmt.Println(n)
	// Output:
	// 1 ticket
	// 0
}

// A face writes what a password sign-in opens (here a Crafter ticket) in
// the transaction that records the success, and counts its own limit in
// the one that reserves the attempt: two commits in all.
func ExampleService_PasswordLogin() {
	ctx := context.Background()
	svc, _ := identity.NewService(identity.Options{Store: memory.New(), Hasher: password.New()})
	name := "Misapret"
	org, _ := svc.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
	_, _ = svc.CreateUser(ctx, org.Domain, identity.User{Email: "a@example.com", Enabled: true}, "correct horse battery")
	attempts := 0
	u, err := svc.PasswordLogin(ctx, identity.PasswordLogin{OrgDomain: org.Domain, Email: "a@example.com",
		Password: "correct horse battery",
		Before: func(tx *identity.Txn) error {
			attempts++ // a face's per-address count would be written here
			return nil
		},
		Then: func(tx *identity.Txn, u *identity.User) error {
			now := svc.Now()
			return tx.PutTicket(nil, &identity.Ticket{IDHash: identity.HashSecret("ticket-id"), OrgID: u.OrgID,
				UserID: u.ID, CreatedAt: now, LastRequestAt: now, ExpiresAt: now.Add(time.Hour)})
		}})
	_, sessions, _ := svc.ListUserSessions(ctx, org.Domain, u.ID)
	fmt.Println(err, attempts, u.Email, sessions)
	// Output: <nil> 1 a@example.com 1
}

// The email send budget spent in the transaction that stores what is
// sent: up to CodeSendBurst mails to one address go at once, then one per
// client address and CodeSendCooldown.
func ExampleTxn_AllowCodeSend() {
	ctx := context.Background()
	svc, _ := identity.NewService(identity.Options{Store: memory.New()})
	name := "Misapret"
	org, _ := svc.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
	for range identity.DefaultCodeSendBurst + 1 {
		err := svc.Update(ctx, func(tx *identity.Txn) error {
			return tx.AllowCodeSend(org.Domain, "a@example.com", "192.0.2.1")
		})
		fmt.Print(errors.Is(err, identity.ErrBusy), " ")
	}
	fmt.Println()
	// Output: false false false false false true
}

// A proof of email signs in an existing, enabled, verified user as is,
// inside the transaction that checked the proof; anyone else goes through
// SignInWithEmail.
func ExampleReadTxn_EmailSignInUser() {
	ctx := context.Background()
	svc, _ := identity.NewService(identity.Options{Store: memory.New()})
	name := "Misapret"
	org, _ := svc.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
	_, _ = svc.CreateUser(ctx, org.Domain, identity.User{Email: "a@example.com", Enabled: true, Verified: true}, "")
	_, _ = svc.CreateUser(ctx, org.Domain, identity.User{Email: "b@example.com", Enabled: true}, "")
	_ = svc.View(ctx, func(tx *identity.ReadTxn) error {
		for _, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
			u, err := tx.EmailSignInUser(org.Domain, email)
			fmt.Println(email, u != nil, errors.Is(err, identity.ErrNotFound))
		}
		return nil
	})
	// Output:
	// a@example.com true false
	// b@example.com false true
	// c@example.com false true
}

// An administrator invites a user: the face mails the token in a link;
// the user's POST on the link accepts it, once.
func ExampleService_InviteUser() {
	ctx := context.Background()
	svc, _ := identity.NewService(identity.Options{Store: memory.New()})
	name := "Invite Club"
	org, _ := svc.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
	u, _ := svc.CreateUser(ctx, org.Domain, identity.User{Email: "a@example.com", Enabled: true}, "")
	inv, err := svc.InviteUser(identity.WithActor(ctx, "admin-id"), identity.InvitationRequest{OrgDomain: org.Domain, UserID: u.ID,
		ClientAddr: "192.0.2.1"})
	if err != nil {
		panic(err)
	}
	// The link's GET: reads, consumes nothing.
	seen, _ := svc.CheckInvitation(ctx, org.Domain, inv.Token)
	// The link's POST: consumes the token and verifies the address.
	got, _ := svc.AcceptInvitation(ctx, identity.InvitationAcceptance{OrgDomain: org.Domain, Token: inv.Token})
	_, again := svc.AcceptInvitation(ctx, identity.InvitationAcceptance{OrgDomain: org.Domain, Token: inv.Token})
	fmt.Println(seen.User.Email, got.User.Verified, errors.Is(again, identity.ErrNotFound))
	// Output: a@example.com true true
}

// A face accepts an invitation and writes what signs the user in (here
// an audit event standing in for a browser session) in the same
// transaction: a hook that fails leaves the link usable.
func ExampleService_AcceptInvitation() {
	ctx := context.Background()
	svc, _ := identity.NewService(identity.Options{Store: memory.New()})
	name := "Hook Club"
	org, _ := svc.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
	u, _ := svc.CreateUser(ctx, org.Domain, identity.User{Email: "a@example.com", Enabled: true}, "")
	inv, _ := svc.InviteUser(ctx, identity.InvitationRequest{OrgDomain: org.Domain, UserID: u.ID, ClientAddr: "192.0.2.1"})
	down := errors.New("session store down")
	_, err := svc.AcceptInvitation(ctx, identity.InvitationAcceptance{OrgDomain: org.Domain, Token: inv.Token,
		Then: func(*identity.Txn, *identity.Invitation) error { return down }})
	_, live := svc.CheckInvitation(ctx, org.Domain, inv.Token)
	fmt.Println(errors.Is(err, down), live == nil)
	got, err := svc.AcceptInvitation(ctx, identity.InvitationAcceptance{OrgDomain: org.Domain, Token: inv.Token,
		Then: func(tx *identity.Txn, inv *identity.Invitation) error {
			return tx.Log(&identity.Event{Code: identity.EventTicketCreated, OrgID: inv.User.OrgID,
				TenantDomain: inv.OrgDomain, ResourceOwnerID: inv.User.ID})
		}})
	fmt.Println(err == nil, got.User.Verified)
	// Output:
	// true true
	// true true
}

// The directory search finds users by a MetaData value.
func ExampleService_SearchUsers_metaData() {
	ctx := context.Background()
	svc, _ := identity.NewService(identity.Options{Store: memory.New()})
	name := "Meta Club"
	org, _ := svc.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
	_, _ = svc.CreateMetaKey(ctx, org.Domain, "plan", identity.MetaString, false)
	for _, p := range []string{"gold", "silver"} {
		_, _ = svc.CreateUser(ctx, org.Domain, identity.User{Email: p + "@example.com", Enabled: true,
			Attributes: map[string]any{"plan": p}}, "")
	}
	page, _ := svc.SearchUsers(ctx, org.Domain, identity.UserSearch{MetaKey: "plan", MetaValue: "gold"})
	for _, u := range page.Users {
		fmt.Println(u.Email)
	}
	// Output: gold@example.com
}

// CheckAttributeName is the one rule for the names of attribute
// definitions and MetaKeys: a Crafter query reads attributes.a.b as a
// path, so a name has no dot.
func ExampleCheckAttributeName() {
	for _, name := range []string{"department", "user.department", "$set", ""} {
		fmt.Printf("%q: %q\n", name, identity.CheckAttributeName(name))
	}
	// Output:
	// "department": ""
	// "user.department": "must not contain dots or control characters"
	// "$set": "must not start with '$'"
	// "": "is required"
}
