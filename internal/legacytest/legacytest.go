// Package legacytest checks, for any backend, that a store whose data was
// written by builds before the compact encodings (user records as JSON,
// unique index owners as text) reads and writes as before: Run fills a
// store, turns every compact value back into the old form, reopens the
// store, reads everything, writes, reopens and reads again.
package legacytest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// Reopen closes st when the backend needs it and opens the same data
// again; it may return st itself (an in-memory store).
type Reopen func(t *testing.T, st identity.Store) identity.Store

// Run checks st (empty) as the package documentation says.
func Run(t *testing.T, st identity.Store, reopen Reopen) {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	svc := service(t, st, clock)
	name := "Legacy Org"
	org, err := svc.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateUser(ctx, org.Domain, identity.User{Email: "ada@legacy.example", Username: "ada",
		Roles: []string{"admin", "member"}, Attributes: map[string]any{"plan": "pro", "seats": json.Number("12")},
		Profile: identity.Profile{GivenName: "Ada", FamilyName: "Lovelace", Address: &identity.Address{Country: "FR"}}}, ""); err != nil {
		t.Fatal(err)
	}
	var in []identity.User
	for i := range 5 {
		in = append(in, identity.User{ObjectID: "00000000000000000000000" + string(rune('1'+i)),
			Email: string(rune('a'+i)) + "@legacy.example", Enabled: true, Roles: []string{"member"},
			Profile: identity.Profile{GivenName: "User"}, CreatedAt: now.Add(time.Duration(i) * time.Millisecond)})
	}
	if _, err := svc.ImportUsers(ctx, org.Domain, in, identity.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	before := readAll(t, svc, org.Domain)
	if len(before) != 6 {
		t.Fatalf("%d users stored, want 6", len(before))
	}

	// What an earlier build would have written.
	users, owners := downgrade(t, st)
	if users != 6 || owners < 6*3 {
		t.Fatalf("downgraded %d user records and %d index owners; want 6 and at least 18 (the store did not hold the compact forms)", users, owners)
	}
	st = reopen(t, st)
	svc = service(t, st, clock)
	if got := readAll(t, svc, org.Domain); !reflect.DeepEqual(got, before) {
		t.Fatalf("users read from the old encodings differ:\n got  %+v\n want %+v", got, before)
	}

	// Writes over old entries: an update, an email change (releases a
	// text owner, claims a compact one), a refused duplicate (compares
	// with a text owner), a deletion.
	// before is in email order: a, ada, b, c, d, e.
	ada := before[1]
	if _, err := svc.UpdateUser(ctx, org.Domain, ada.ID, func(u *identity.User) error {
		u.Profile.GivenName = "Augusta"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b := before[2]
	if _, err := svc.UpdateUser(ctx, org.Domain, b.ID, func(u *identity.User) error {
		u.Email = "b2@legacy.example"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateUser(ctx, org.Domain, identity.User{Email: before[3].Email}, ""); !errors.Is(err, identity.ErrConflict) {
		t.Fatalf("a user with a taken email (old index entry) = %v, want ErrConflict", err)
	}
	if _, err := svc.CreateUser(ctx, org.Domain, identity.User{Email: "c@other.example", Username: ada.Username}, ""); !errors.Is(err, identity.ErrConflict) {
		t.Fatalf("a user with a taken username (old index entry) = %v, want ErrConflict", err)
	}
	if _, err := svc.DeleteUser(ctx, org.Domain, before[4].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateUser(ctx, org.Domain, identity.User{Email: before[4].Email}, ""); err != nil {
		t.Fatalf("the email of a deleted user (old index entry) stays taken: %v", err)
	}

	st = reopen(t, st)
	svc = service(t, st, clock)
	after := readAll(t, svc, org.Domain)
	if len(after) != 6 {
		t.Fatalf("%d users after the writes, want 6", len(after))
	}
	byID := map[string]identity.User{}
	for _, u := range after {
		byID[u.ID] = u
	}
	if u := byID[ada.ID]; u.Profile.GivenName != "Augusta" || u.Profile.FamilyName != "Lovelace" || !reflect.DeepEqual(u.Attributes, ada.Attributes) {
		t.Errorf("updated user = %+v", u)
	}
	if u := byID[b.ID]; u.Email != "b2@legacy.example" {
		t.Errorf("user whose email changed = %+v", u)
	}
	if _, err := svc.GetUserByEmail(ctx, org.Domain, b.Email); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("old email still finds the user: %v", err)
	}
	if _, ok := byID[before[4].ID]; ok {
		t.Error("deleted user still listed")
	}
	for _, id := range []string{before[0].ID, before[3].ID, before[5].ID} {
		if !reflect.DeepEqual(byID[id], find(before, id)) {
			t.Errorf("untouched user %s changed:\n got  %+v\n want %+v", id, byID[id], find(before, id))
		}
	}
	// The updated record is stored in the compact form now.
	if err := st.View(ctx, func(tx identity.ReadTx) error {
		raw, err := tx.Get(identity.UserKey(kv.Inside(), identity.Production, ada.ID))
		if err != nil {
			return err
		}
		if raw[0] == '{' {
			t.Errorf("an updated user is still stored as JSON: %.60s", raw)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func find(us []identity.User, id string) identity.User {
	for _, u := range us {
		if u.ID == id {
			return u
		}
	}
	return identity.User{}
}

func service(t *testing.T, st identity.Store, clock func() time.Time) *identity.Service {
	t.Helper()
	svc, err := identity.NewService(identity.Options{Store: st, Clock: clock, AccountDomain: "legacy-account"})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// readAll reads every user of org through each read path (list, id,
// email, username, object id) and checks they agree.
func readAll(t *testing.T, svc *identity.Service, org string) []identity.User {
	t.Helper()
	ctx := context.Background()
	p, err := svc.ListUsers(ctx, org, identity.PageRequest{Page: 1, PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	out := slices.Clone(p.Items)
	slices.SortFunc(out, func(a, b identity.User) int { return strings.Compare(a.Email, b.Email) })
	for _, u := range out {
		for what, get := range map[string]func() (*identity.User, error){
			"id":    func() (*identity.User, error) { return svc.GetUser(ctx, org, u.ID) },
			"email": func() (*identity.User, error) { return svc.GetUserByEmail(ctx, org, u.Email) },
			"username": func() (got *identity.User, err error) {
				err = svc.View(ctx, func(tx *identity.ReadTxn) error {
					got, err = tx.UserByUsername(u.OrgID, u.Username)
					return err
				})
				return got, err
			},
			"object id": func() (got *identity.User, err error) {
				err = svc.View(ctx, func(tx *identity.ReadTxn) error {
					got, err = tx.UserByObjectID(u.ObjectID)
					return err
				})
				return got, err
			},
		} {
			if what == "object id" && u.ObjectID == "" {
				continue
			}
			got, err := get()
			if err != nil || !reflect.DeepEqual(*got, u) {
				t.Fatalf("user by %s = %+v, %v; listed %+v", what, got, err, u)
			}
		}
	}
	return out
}

// downgrade rewrites every compact value of st in the form earlier builds
// wrote: user records as JSON, unique index owners as text.
func downgrade(t *testing.T, st identity.Store) (users, owners int) {
	t.Helper()
	err := st.Update(context.Background(), func(tx identity.Tx) error {
		users, owners = 0, 0
		type kvPair struct{ k, v []byte }
		var rewrites []kvPair
		userPrefix := append(identity.UserKey(kv.Inside(), identity.Production, "x")[:0:0], identity.UserKey(kv.Inside(), identity.Production, "")...)
		if err := tx.Scan([]byte{kv.NSRecord, kv.Sep}, identity.ScanOptions{}, func(k, v []byte) error {
			if !bytes.HasPrefix(k, userPrefix) || v[0] == '{' {
				return nil
			}
			u, err := identity.DecodeUser(v)
			if err != nil {
				return err
			}
			raw, err := json.Marshal(u)
			if err != nil {
				return err
			}
			users++
			rewrites = append(rewrites, kvPair{bytes.Clone(k), raw})
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Scan([]byte{kv.NSUnique, kv.Sep}, identity.ScanOptions{}, func(k, v []byte) error {
			if len(v) == 17 && v[0] == 0 {
				owners++
				rewrites = append(rewrites, kvPair{bytes.Clone(k), []byte(kv.DecodeID(v))})
			}
			return nil
		}); err != nil {
			return err
		}
		for _, r := range rewrites {
			if err := tx.Put(r.k, r.v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return users, owners
}
