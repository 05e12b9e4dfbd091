package identity_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// TestPasswordLoginRefusalReasons: every refused password login records
// its private reason in PASSWORD_LOGIN_FAILED (data.reason) and in the
// service's log, with the same field names as every face.
func TestPasswordLoginRefusalReasons(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	c := &clock{}
	c.t.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	s, err := identity.NewService(identity.Options{Store: memory.New(), Clock: c.Now, Hasher: &countingHasher{}, LockAfter: 2,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	o := mustOrg(t, s, "acme")
	for _, u := range []identity.User{{Email: "alice@acme.test", Enabled: true}, {Email: "off@acme.test"},
		{Email: "lock@acme.test", Enabled: true}} {
		if _, err := s.CreateUser(ctx, o.Domain, u, "right"); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		email, password string
		tries           int
		reason          string
	}{
		{"alice@acme.test", "wrong", 1, "bad_password"},
		{"ghost@acme.test", "wrong", 1, "unknown_email"},
		{"off@acme.test", "right", 1, "disabled"},
		// Two failures lock; the third attempt is refused while locked.
		{"lock@acme.test", "wrong", 3, "locked"},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			logs.Reset()
			for range tc.tries {
				if _, err := s.PasswordLogin(ctx, identity.PasswordLogin{OrgDomain: o.Domain, Email: tc.email,
					Password: tc.password, ClientID: "app-1"}); err == nil {
					t.Fatal("signed in")
				}
			}
			page, err := s.ListEvents(ctx, o.Domain, identity.EventFilter{Code: identity.EventPasswordLoginFailed},
				identity.PageRequest{Page: 1, PerPage: 1})
			if err != nil || len(page.Items) != 1 {
				t.Fatalf("events: %v %v", page.Items, err)
			}
			if e := page.Items[0]; e.Data["reason"] != tc.reason || e.ClientID != "app-1" || e.TenantDomain != o.Domain {
				t.Fatalf("latest PASSWORD_LOGIN_FAILED: %+v, want reason %s", e, tc.reason)
			}
			want := `msg="sign-in refused" event=PASSWORD_LOGIN_FAILED reason=` + tc.reason + " org=" + o.Domain
			if !strings.Contains(logs.String(), want) || !strings.Contains(logs.String(), "client_id=app-1") {
				t.Fatalf("log lacks %q:\n%s", want, logs.String())
			}
			if strings.Contains(logs.String(), tc.password) && tc.password != "right" {
				t.Fatalf("log holds the password:\n%s", logs.String())
			}
		})
	}
}

// TestOnEventSeesCommittedEvents: an event hook sees the events of a
// committed transaction (also of a derived service), never those of a
// rolled-back one.
func TestOnEventSeesCommittedEvents(t *testing.T) {
	ctx := context.Background()
	s, err := identity.NewService(identity.Options{Store: memory.New()})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	s.OnEvent(func(_ context.Context, e identity.Event) { seen = append(seen, e.Code+"/"+e.ActorID) })
	sandbox, err := s.ForEnvironment(identity.Sandbox)
	if err != nil {
		t.Fatal(err)
	}
	errBoom := errors.New("boom")
	for _, c := range []struct {
		svc *identity.Service
		id  string
		err error
	}{{s, "committed", nil}, {s, "rolled-back", errBoom}, {sandbox, "sandbox", nil}} {
		got := c.svc.Update(ctx, func(tx *identity.Txn) error {
			if err := tx.Log(&identity.Event{Code: identity.EventLogout, ActorID: c.id}); err != nil {
				return err
			}
			return c.err
		})
		if !errors.Is(got, c.err) {
			t.Fatalf("%s: %v", c.id, got)
		}
	}
	if want := []string{"LOGOUT/committed", "LOGOUT/sandbox"}; strings.Join(seen, ",") != strings.Join(want, ",") {
		t.Fatalf("hook saw %v, want %v", seen, want)
	}
}
