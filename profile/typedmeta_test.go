package profile

import (
	"context"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// A value set through Cryptr's MetaData (text) for a typed MetaKey is
// stored with the MetaKey's JSON type, so Crafter's profile shows it
// typed and a Crafter query by that typed value finds the user, as it
// finds a value written through Crafter.
func TestCryptrMetaDataIsTypedForCrafter(t *testing.T) {
	ctx := context.Background()
	id, err := identity.NewService(identity.Options{Store: memory.New()})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Options{SyncMail: true, Identity: id, Hasher: &fakeHasher{}})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if _, err := svc.CreateTenant(ctx, superCred, TenantInput{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	for _, k := range [][2]string{{"age", identity.MetaInteger}, {"score", identity.MetaNumber},
		{"vip", identity.MetaBoolean}, {"nick", identity.MetaString}} {
		if _, err := id.CreateMetaKey(ctx, "acme", k[0], k[1], false); err != nil {
			t.Fatal(err)
		}
	}
	u, err := id.CreateUser(ctx, "acme", identity.User{Email: "jane@acme.test", Username: "jane", Enabled: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{{"age", "42"}, {"score", "1.50"}, {"vip", "true"}, {"nick", "42"}} {
		if _, err := id.SetUserMetadata(ctx, "acme", u.ID, kv[0], kv[1]); err != nil {
			t.Fatalf("SetUserMetadata(%s): %v", kv[0], err)
		}
	}
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"{attributes.age: 42}", 1},
		{"{attributes.age: '42'}", 0},
		{"{attributes.score: 1.5}", 1},
		{"{attributes.vip: true}", 1},
		{"{attributes.nick: '42'}", 1},
		{"{attributes.nick: 42}", 0},
	} {
		n, err := svc.CountByQuery(ctx, superCred, "acme", tc.query)
		if err != nil || n != tc.want {
			t.Errorf("CountByQuery(%s) = %d, %v; want %d", tc.query, n, err, tc.want)
		}
	}
	got, err := id.GetUser(ctx, "acme", u.ID)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"age": "42", "score": "1.50", "vip": "true", "nick": "42"} {
		if txt := identity.MetaDataText(got.Attributes[name]); txt != want {
			t.Errorf("MetaDataText(%s) = %q, want %q (Cryptr's answers and tokens are unchanged)", name, txt, want)
		}
	}
}
