package identity_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
)

const crafterAdminHash = "4rQ8a67wAk1GRwIqHix5kYw1MORa49o83Y7zXQhBqT0=|j4vsWtPbYjO3LfSiQcnGlw=="

func importUser(oid, username, email string) identity.User {
	return identity.User{ObjectID: oid, Username: username, Email: email, Enabled: true}
}

// TestImportUsers pins the outcome of every kind of record, across
// batch boundaries (BatchSize 2), and that indexes and counters agree with
// the users written.
func TestImportUsers(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	mustOrg(t, s, "Acme")
	other := mustOrg(t, s, "Other")
	if _, err := s.ImportUsers(ctx, other.Domain, []identity.User{importUser("aaaaaaaaaaaaaaaaaaaaaa99", "o", "o@x.test")}, identity.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2014, 5, 1, 0, 0, 0, 0, time.UTC)
	first := importUser("AAAAAAAAAAAAAAAAAAAAAA01", "ann", "ann@x.test")
	first.PasswordHash, first.CreatedAt, first.UpdatedAt = crafterAdminHash, created, created.Add(time.Hour)
	first.Roles = []string{"r", "r"}
	in := []identity.User{
		first,
		importUser("aaaaaaaaaaaaaaaaaaaaaa02", "bob", "bob@x.test"),
		importUser("aaaaaaaaaaaaaaaaaaaaaa03", "ann2", "ANN@x.test"),  // email of ann, other batch
		importUser("aaaaaaaaaaaaaaaaaaaaaa04", "bob", "bob2@x.test"),  // username of bob
		importUser("aaaaaaaaaaaaaaaaaaaaaa05", "eve", "not an email"), // invalid
		importUser("aaaaaaaaaaaaaaaaaaaaaa01", "ann3", "ann3@x.test"), // same ObjectID twice
		importUser("aaaaaaaaaaaaaaaaaaaaaa99", "o2", "o2@x.test"),     // ObjectID of another org
		importUser("zz", "zed", "zed@x.test"),                         // not an ObjectID
		importUser("", "", "new@x.test"),                              // ids made, username = email
	}
	want := []struct {
		status identity.ImportStatus
		field  string
	}{
		{identity.ImportCreated, ""}, {identity.ImportCreated, ""},
		{identity.ImportDuplicate, "email"}, {identity.ImportDuplicate, "username"},
		{identity.ImportInvalid, ""}, {identity.ImportDuplicate, "object_id"},
		{identity.ImportDuplicate, "object_id"}, {identity.ImportInvalid, ""},
		{identity.ImportCreated, ""},
	}
	for _, dry := range []bool{true, false} {
		res, err := s.ImportUsers(ctx, "acme", in, identity.ImportOptions{BatchSize: 2, DryRun: dry})
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range want {
			if res[i].Index != i || res[i].Status != w.status || res[i].Field != w.field {
				t.Errorf("dry=%v user %d: %+v, want %v %q", dry, i, res[i], w.status, w.field)
			}
			if w.status == identity.ImportDuplicate && !errors.Is(res[i].Err, identity.ErrConflict) ||
				w.status == identity.ImportInvalid && !errors.Is(res[i].Err, identity.ErrInvalid) {
				t.Errorf("dry=%v user %d: err %v", dry, i, res[i].Err)
			}
		}
		p, err := s.ListUsers(ctx, "acme", identity.PageRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if n := map[bool]int{true: 0, false: 3}[dry]; p.Total != n || len(p.Items) != n {
			t.Fatalf("dry=%v: %d users listed, total %d; want %d", dry, len(p.Items), p.Total, n)
		}
	}
	ann, err := s.GetUserByEmail(ctx, "acme", "Ann@X.test")
	if err != nil {
		t.Fatal(err)
	}
	if ann.ObjectID != "aaaaaaaaaaaaaaaaaaaaaa01" || ann.PasswordHash != crafterAdminHash || !ann.CreatedAt.Equal(created) ||
		!ann.UpdatedAt.Equal(created.Add(time.Hour)) || len(ann.Roles) != 1 || !ann.Enabled {
		t.Fatalf("ann = %+v", ann)
	}
	if nu, err := s.GetUserByEmail(ctx, "acme", "new@x.test"); err != nil || nu.Username != "new@x.test" || !identity.IsObjectID(nu.ObjectID) {
		t.Fatalf("new = %+v, %v", nu, err)
	}
	var byOID *identity.User
	if err := s.View(ctx, func(tx *identity.ReadTxn) error {
		var err error
		byOID, err = tx.UserByObjectID("aaaaaaaaaaaaaaaaaaaaaa02")
		return err
	}); err != nil || byOID.Username != "bob" {
		t.Fatalf("by object id: %+v, %v", byOID, err)
	}

	// Again: every user that was created now exists; nothing changes.
	res, err := s.ImportUsers(ctx, "acme", in, identity.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, 5} {
		if res[i].Status != identity.ImportExists {
			t.Errorf("again, user %d: %+v", i, res[i])
		}
	}
	if res[8].Status != identity.ImportDuplicate || res[8].Field != "email" { // no ObjectID: found by its email
		t.Errorf("again, user 8: %+v", res[8])
	}
	if p, err := s.ListUsers(ctx, "acme", identity.PageRequest{}); err != nil || p.Total != 3 {
		t.Fatalf("again: %+v, %v", p, err)
	}
	if res[0].UserID != ann.ID {
		t.Errorf("exists names %q, want %q", res[0].UserID, ann.ID)
	}
}

// TestImportUsersUnknownOrgAndScope: an unknown organization, or one
// outside the service's scope, fails the call as not found; the sandbox
// directory is its own.
func TestImportUsersUnknownOrgAndScope(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	mustOrg(t, s, "Acme")
	mustOrg(t, s, "Beta")
	in := []identity.User{importUser("", "u", "u@x.test")}
	if _, err := s.ImportUsers(ctx, "nope", in, identity.ImportOptions{}); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("unknown org: %v", err)
	}
	beta, err := s.For(identity.Scope{Environment: identity.Production, Orgs: []string{"beta"}, Permissions: []string{identity.PermAll}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := beta.ImportUsers(ctx, "acme", in, identity.ImportOptions{}); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("foreign org: %v", err)
	}
	sb, err := s.ForEnvironment(identity.Sandbox)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := sb.ImportUsers(ctx, "acme", in, identity.ImportOptions{}); err != nil || res[0].Status != identity.ImportCreated {
		t.Fatalf("sandbox import: %+v, %v", res, err)
	}
	if p, err := s.ListUsers(ctx, "acme", identity.PageRequest{}); err != nil || p.Total != 0 {
		t.Fatalf("production sees the sandbox import: %+v, %v", p, err)
	}
}

// TestAttributeValueKeyOfImportedNumbers: a number ImportUsers stores
// with its exact digits (json.Number) has the index key of the float64
// it reads back as.
func TestAttributeValueKeyOfImportedNumbers(t *testing.T) {
	for _, n := range []string{"12", "1.0", "12345678901234567", "-0.5"} {
		f, _ := json.Number(n).Float64()
		got, ok := identity.AttributeValueKey(json.Number(n))
		want, _ := identity.AttributeValueKey(f)
		if !ok || got != want {
			t.Errorf("%s: %q, want %q", n, got, want)
		}
	}
	if _, ok := identity.AttributeValueKey(json.Number("x")); ok {
		t.Error("a malformed number is indexed")
	}
}

// TestImportUsersNumbers: numbers that could not be stored and read back
// (infinite, NaN, out of float64's range) are invalid users, not a failed
// batch; exact digits are kept.
func TestImportUsersNumbers(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	mustOrg(t, s, "Acme")
	in := []identity.User{
		importUser("", "a", "a@x.test"), importUser("", "b", "b@x.test"), importUser("", "c", "c@x.test"),
		importUser("", "d", "d@x.test"), importUser("", "e", "e@x.test"),
	}
	in[0].Attributes = map[string]any{"n": json.Number("12345678901234567")}
	in[1].Attributes = map[string]any{"n": json.Number("1e400")}
	in[2].Attributes = map[string]any{"n": []any{math.Inf(1)}}
	in[3].Attributes = map[string]any{"n": map[string]any{"x": math.NaN()}}
	in[4].Attributes = map[string]any{"n": json.Number("0x10")}
	res, err := s.ImportUsers(ctx, "acme", in, identity.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []identity.ImportStatus{identity.ImportCreated, identity.ImportInvalid, identity.ImportInvalid,
		identity.ImportInvalid, identity.ImportInvalid} {
		if res[i].Status != want {
			t.Errorf("user %d: %+v, want %s", i, res[i], want)
		}
	}
	u, err := s.GetUser(ctx, "acme", res[0].UserID)
	if err != nil || u.Attributes["n"] == nil {
		t.Fatalf("read back: %+v, %v", u, err)
	}
}

// TestImportUsersEvents pins the audit of a bulk import: by default one
// USERS_IMPORTED event per batch that created users (its count and the
// first and last user ids; none for a batch that created nothing, none in
// a dry run), and with EventPerUser one USER_CREATED per user created.
func TestImportUsersEvents(t *testing.T) {
	ctx := context.Background()
	in := []identity.User{
		importUser("", "", "a@x.test"), importUser("", "", "b@x.test"),
		importUser("", "", "c@x.test"), importUser("", "", "a@x.test"), // duplicate
		importUser("", "", "A@x.test"), // duplicate: a batch that creates nothing
	}
	count := func(t *testing.T, s *identity.Service, code string) []identity.Event {
		t.Helper()
		p, err := s.ListEvents(ctx, "acme", identity.EventFilter{Code: code}, identity.PageRequest{PerPage: 100})
		if err != nil {
			t.Fatal(err)
		}
		return p.Items
	}
	t.Run("one event per batch", func(t *testing.T) {
		s, _ := newService(t)
		mustOrg(t, s, "Acme")
		if _, err := s.ImportUsers(ctx, "acme", in, identity.ImportOptions{BatchSize: 2, DryRun: true}); err != nil {
			t.Fatal(err)
		}
		if ev := count(t, s, identity.EventUsersImported); len(ev) != 0 {
			t.Fatalf("dry run logged %d events", len(ev))
		}
		res, err := s.ImportUsers(ctx, "acme", in, identity.ImportOptions{BatchSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		ev := count(t, s, identity.EventUsersImported) // newest first
		if len(ev) != 2 {
			t.Fatalf("%d USERS_IMPORTED events, want 2 (batches [a b] and [c dup])", len(ev))
		}
		for i, w := range []struct {
			n           string
			first, last string
		}{{"1", res[2].UserID, res[2].UserID}, {"2", res[0].UserID, res[1].UserID}} {
			d := ev[i].Data
			if fmt.Sprint(d["count"]) != w.n || d["first_user_id"] != w.first || d["last_user_id"] != w.last {
				t.Errorf("event %d data %v, want count %v, %s..%s", i, d, w.n, w.first, w.last)
			}
		}
		if ev := count(t, s, identity.EventUserCreated); len(ev) != 0 {
			t.Errorf("%d USER_CREATED events, want none", len(ev))
		}
	})
	t.Run("event per user", func(t *testing.T) {
		s, _ := newService(t)
		mustOrg(t, s, "Acme")
		res, err := s.ImportUsers(ctx, "acme", in, identity.ImportOptions{BatchSize: 2, EventPerUser: true})
		if err != nil {
			t.Fatal(err)
		}
		ev := count(t, s, identity.EventUserCreated)
		if len(ev) != 3 || ev[0].ResourceOwnerID != res[2].UserID || ev[2].ResourceOwnerID != res[0].UserID {
			t.Fatalf("USER_CREATED events %+v, want users c, b, a", ev)
		}
		if ev := count(t, s, identity.EventUsersImported); len(ev) != 0 {
			t.Errorf("%d USERS_IMPORTED events, want none", len(ev))
		}
	})
}
