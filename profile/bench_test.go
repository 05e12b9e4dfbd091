package profile

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/password"
	"github.com/gatehouse-id/gatehouse/store/bolt"
	"github.com/gatehouse-id/gatehouse/store/memory"
	"golang.org/x/crypto/argon2"
)

var superCred = &identity.Credential{ID: "bench", Application: "bench", Environment: identity.Production,
	TenantPermissions: []identity.TenantPermission{{Tenant: "*", AllowedActions: []string{"*"}}}}

// BenchmarkAuthenticate compares a full authenticate request (HTTP
// handler, token check, lockout transactions, argon2id verify, ticket)
// with the bare argon2id computation at the same parameters, in the same
// run, and reports the overhead.
func BenchmarkAuthenticate(b *testing.B) {
	id, _ := identity.NewService(identity.Options{Store: memory.New()})
	h := password.New()
	svc, _ := New(Options{SyncMail: true, Identity: id, Hasher: h})
	ctx := context.Background()
	secret := "bench-access-token-0001"
	c := *superCred
	c.Secret = secret
	if _, _, err := id.CreateCredential(ctx, c, secret); err != nil {
		b.Fatal(err)
	}
	if _, err := svc.CreateTenant(ctx, superCred, TenantInput{Name: "acme"}); err != nil {
		b.Fatal(err)
	}
	if _, err := svc.CreateProfile(ctx, superCred, NewProfile{Tenant: "acme", Username: "alice", Password: "correct horse",
		Email: "alice@example.com", Enabled: true}); err != nil {
		b.Fatal(err)
	}
	handler := svc.Handler()
	form := url.Values{"accessTokenId": {secret}, "tenantName": {"acme"}, "username": {"alice"}, "password": {"correct horse"}}.Encode()
	p := h.Params()
	salt := make([]byte, 16)
	run := func() {
		req := httptest.NewRequest("POST", "/api/1/authentication/authenticate.json", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
	// The same request served with a no-op hasher: everything but argon2id.
	svc2, _ := New(Options{SyncMail: true, Identity: id, Hasher: &fakeHasher{}})
	if err := id.Update(ctx, func(tx *identity.Txn) error {
		o, err := tx.Org("acme")
		if err != nil {
			return err
		}
		u, err := id.NewUser(o.ID)
		if err != nil {
			return err
		}
		u.Username, u.Email, u.PasswordHash = "nohash", "nohash@example.com", "plain:correct horse"
		return tx.InsertUser(u)
	}); err != nil {
		b.Fatal(err)
	}
	h2 := svc2.Handler()
	form2 := strings.Replace(form, "username=alice", "username=nohash", 1)
	runNoHash := func() {
		req := httptest.NewRequest("POST", "/api/1/authentication/authenticate.json", strings.NewReader(form2))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h2.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
	// Interleave the three so that load on the machine hits them alike.
	var bare, full, rest time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		argon2.IDKey([]byte("correct horse"), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		t1 := time.Now()
		run()
		t2 := time.Now()
		for i := 0; i < 10; i++ {
			runNoHash()
		}
		rest += time.Since(t2) / 10
		full += t2.Sub(t1)
		bare += t1.Sub(t0)
		n++
	}
	b.ReportMetric(float64(bare.Nanoseconds())/float64(n), "bare-argon2id-ns/op")
	b.ReportMetric(float64(full.Nanoseconds())/float64(n), "authenticate-ns/op")
	b.ReportMetric(float64(rest.Nanoseconds())/float64(n), "authenticate-without-hash-ns/op")
	// The overhead is what authenticate adds to the hash: measured
	// directly (noisy on a loaded machine) and as the cost of the request
	// without the hash (stable).
	b.ReportMetric(100*(float64(full)/float64(bare)-1), "overhead-direct-%")
	b.ReportMetric(100*float64(rest)/float64(bare), "overhead-%")
}

// BenchmarkTicketRead measures reading a ticket in-process (the sliding
// expiry is rewritten at most once per TicketTouchInterval) and with a
// rewrite on every read.
func BenchmarkTicketRead(b *testing.B) {
	for _, tc := range []struct {
		name  string
		touch time.Duration
	}{{"throttled-touch", time.Second}, {"touch-every-read", time.Nanosecond}} {
		b.Run(tc.name, func(b *testing.B) {
			id, _ := identity.NewService(identity.Options{Store: memory.New()})
			svc, _ := New(Options{SyncMail: true, Identity: id, Hasher: &fakeHasher{}, TicketTouchInterval: tc.touch})
			ctx := context.Background()
			svc.CreateTenant(ctx, superCred, TenantInput{Name: "acme"})
			p, err := svc.CreateProfile(ctx, superCred, NewProfile{Tenant: "acme", Username: "a", Email: "a@example.com", Enabled: true})
			if err != nil {
				b.Fatal(err)
			}
			tk, err := svc.CreateTicket(ctx, superCred, p.ID)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := svc.GetTicket(ctx, superCred, tk.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

const benchProfiles = 100_000

var (
	bigOnce sync.Once
	bigSvc  *Service
)

// bigTenant is a tenant of 100,000 profiles with an indexed attribute
// "dept" and an unindexed copy "deptRaw" (10,000 values, 10 profiles each).
func bigTenant(b *testing.B) *Service {
	bigOnce.Do(func() {
		id, _ := identity.NewService(identity.Options{Store: memory.New()})
		svc, _ := New(Options{SyncMail: true, Identity: id, Hasher: &fakeHasher{}})
		ctx := context.Background()
		perm := []AttributePermission{{Application: "*", AllowedActions: []string{"*"}}}
		if _, err := svc.CreateTenant(ctx, superCred, TenantInput{Name: "big", AttributeDefinitions: []AttributeDefinition{
			{Name: "dept", Indexed: true, Permissions: perm}, {Name: "deptRaw", Permissions: perm}}}); err != nil {
			b.Fatal(err)
		}
		var orgID string
		_ = id.View(ctx, func(tx *identity.ReadTxn) error { o, err := tx.Org("big"); orgID = o.ID; return err })
		for batch := 0; batch < benchProfiles/1000; batch++ {
			err := id.Update(ctx, func(tx *identity.Txn) error {
				for i := batch * 1000; i < (batch+1)*1000; i++ {
					u, err := id.NewUser(orgID)
					if err != nil {
						return err
					}
					d := fmt.Sprintf("d%05d", i%10000)
					u.Username, u.Email = fmt.Sprintf("user%06d", i), fmt.Sprintf("user%06d@example.com", i)
					u.Attributes = map[string]any{"dept": d, "deptRaw": d}
					if err := tx.InsertUser(u); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		bigSvc = svc
	})
	return bigSvc
}

// BenchmarkLookup100k compares indexed and unindexed lookups on a tenant
// of 100,000 profiles (10 matches each).
func BenchmarkLookup100k(b *testing.B) {
	svc := bigTenant(b)
	ctx := context.Background()
	cases := []struct {
		name string
		fn   func() ([]Profile, error)
	}{
		{"by_attribute_value/indexed", func() ([]Profile, error) {
			return svc.ProfilesByAttributeValue(ctx, superCred, "big", "dept", "d04242", Sort{}, nil)
		}},
		{"by_attribute_value/unindexed", func() ([]Profile, error) {
			return svc.ProfilesByAttributeValue(ctx, superCred, "big", "deptRaw", "d04242", Sort{}, nil)
		}},
		{"by_query/indexed", func() ([]Profile, error) {
			return svc.ProfilesByQuery(ctx, superCred, "big", "{attributes.dept: 'd04242', username: {$regex: '^user'}}", Sort{By: "username"}, nil)
		}},
		{"by_query/unindexed", func() ([]Profile, error) {
			return svc.ProfilesByQuery(ctx, superCred, "big", "{attributes.deptRaw: 'd04242', username: {$regex: '^user'}}", Sort{By: "username"}, nil)
		}},
		{"by_query/username", func() ([]Profile, error) {
			return svc.ProfilesByQuery(ctx, superCred, "big", "{username: 'user042424'}", Sort{}, nil)
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				list, err := tc.fn()
				if err != nil {
					b.Fatal(err)
				}
				if len(list) == 0 {
					b.Fatal("no match")
				}
			}
		})
	}
}

// BenchmarkAuthenticateWithoutHash is the authenticate request with a
// no-op hasher: everything BenchmarkAuthenticate measures but argon2id.
func BenchmarkAuthenticateWithoutHash(b *testing.B) {
	id, _ := identity.NewService(identity.Options{Store: memory.New()})
	svc, _ := New(Options{SyncMail: true, Identity: id, Hasher: &fakeHasher{}})
	ctx := context.Background()
	secret := "bench-access-token-0001"
	c := *superCred
	c.Secret = secret
	if _, _, err := id.CreateCredential(ctx, c, secret); err != nil {
		b.Fatal(err)
	}
	svc.CreateTenant(ctx, superCred, TenantInput{Name: "acme"})
	if _, err := svc.CreateProfile(ctx, superCred, NewProfile{Tenant: "acme", Username: "alice", Password: "correct horse",
		Email: "alice@example.com", Enabled: true}); err != nil {
		b.Fatal(err)
	}
	handler := svc.Handler()
	form := url.Values{"accessTokenId": {secret}, "tenantName": {"acme"}, "username": {"alice"}, "password": {"correct horse"}}.Encode()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/api/1/authentication/authenticate.json", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkWrongPassword measures a wrong password for an existing
// username and for a missing one, alternately in the same run, on bolt
// (with fsync, so each store transaction costs what it does in
// production) and without the hash. The ratio should be near 1: the two
// paths run the same transactions.
func BenchmarkWrongPassword(b *testing.B) {
	st, err := bolt.Open(context.Background(), filepath.Join(b.TempDir(), "g.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	id, _ := identity.NewService(identity.Options{Store: st, LockAfter: 1 << 30})
	svc, _ := New(Options{SyncMail: true, Identity: id, Hasher: &fakeHasher{},
		Sleep: func(context.Context, time.Duration) error { return nil }})
	ctx := context.Background()
	svc.CreateTenant(ctx, superCred, TenantInput{Name: "acme"})
	if _, err := svc.CreateProfile(ctx, superCred, NewProfile{Tenant: "acme", Username: "alice", Password: "correct horse",
		Email: "alice@example.com", Enabled: true}); err != nil {
		b.Fatal(err)
	}
	var known, unknown time.Duration
	n := 0
	for b.Loop() {
		for i, user := range []string{"alice", "nobody"} {
			start := time.Now()
			_, err := svc.Authenticate(ctx, superCred, "acme", user, "wrong")
			if ErrorOf(err).Code != CodeBadCredentials {
				b.Fatal(err)
			}
			if i == 0 {
				known += time.Since(start)
			} else {
				unknown += time.Since(start)
			}
		}
		n++
	}
	b.ReportMetric(float64(known.Nanoseconds())/float64(n), "known-ns/op")
	b.ReportMetric(float64(unknown.Nanoseconds())/float64(n), "unknown-ns/op")
	b.ReportMetric(float64(unknown)/float64(known), "unknown/known")
}
