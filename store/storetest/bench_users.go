package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// users is a service with one organization and its users, for benchmarks.
type users struct {
	svc    *identity.Service
	domain string
	ids    []string // oldest first
	emails []string
}

// fakeClock returns a clock that moves one millisecond per call, so ids
// made from it are unique in time and sort in creation order.
func fakeClock() func() time.Time {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var n atomic.Int64
	return func() time.Time { return base.Add(time.Duration(n.Add(1)) * time.Millisecond) }
}

// buildUsers creates an organization with n users, a thousand per
// transaction.
func buildUsers(s identity.Store, n int) (*users, error) {
	ctx := context.Background()
	svc, err := identity.NewService(identity.Options{Store: s, Clock: fakeClock()})
	if err != nil {
		return nil, err
	}
	name := "Bench Org"
	org, err := svc.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
	if err != nil {
		return nil, err
	}
	f := &users{svc: svc, domain: org.Domain}
	const batch = 1000
	for start := 0; start < n; start += batch {
		var ids, emails []string
		err := svc.Update(ctx, func(tx *identity.Txn) error {
			ids, emails = ids[:0], emails[:0]
			for i := start; i < start+batch && i < n; i++ {
				u, err := svc.NewUser(org.ID)
				if err != nil {
					return err
				}
				u.Email = fmt.Sprintf("user%06d@bench.example", i)
				u.Username = u.Email
				u.Profile.GivenName, u.Profile.FamilyName = "Ada", fmt.Sprintf("Lovelace %d", i)
				if err := tx.InsertUser(u); err != nil {
					return err
				}
				ids, emails = append(ids, u.ID), append(emails, u.Email)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		f.ids, f.emails = append(f.ids, ids...), append(f.emails, emails...)
	}
	return f, nil
}

func benchUsers(b *testing.B, fresh func() identity.Store, fixture func(b *testing.B) *users) {
	ctx := context.Background()
	b.Run("Create", func(b *testing.B) {
		f, err := buildUsers(fresh(), 0)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; b.Loop(); i++ {
			if _, err := f.svc.CreateUser(ctx, f.domain, identity.User{Email: fmt.Sprintf("c%d@bench.example", i)}, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The reads below each run beside the bare engine read of the same
	// user record (see paired), so their cost is also reported as a ratio
	// measured under the same machine load.
	b.Run("GetByID", func(b *testing.B) {
		f := fixture(b)
		paired(b, f, func(i int) string {
			id := f.ids[(i*7919)%len(f.ids)]
			u, err := f.svc.GetUser(ctx, f.domain, id)
			if err != nil || u.ID != id {
				b.Fatalf("GetUser(%s) = %v, %v", id, u, err)
			}
			return id
		})
	})
	b.Run("GetByEmail", func(b *testing.B) {
		f := fixture(b)
		paired(b, f, func(i int) string {
			n := (i * 7919) % len(f.emails)
			if _, err := f.svc.GetUserByEmail(ctx, f.domain, f.emails[n]); err != nil {
				b.Fatal(err)
			}
			return f.ids[n]
		})
	})
	list := func(name string, page int, first func(f *users) string) {
		b.Run(name, func(b *testing.B) {
			f := fixture(b)
			paired(b, f, func(int) string {
				p, err := f.svc.ListUsers(ctx, f.domain, identity.PageRequest{Page: page, PerPage: 8})
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Items) != 8 || p.Total != len(f.ids) || p.Items[0].ID != first(f) {
					b.Fatalf("page %d: %d items, total %d", page, len(p.Items), p.Total)
				}
				return p.Items[0].ID
			})
		})
	}
	list("ListFirstPage", 1, func(f *users) string { return f.ids[len(f.ids)-1] })
	list("ListLastPage", FixtureSize/8, func(f *users) string { return f.ids[7] })
	b.Run("ConcurrentCreate64", func(b *testing.B) {
		f, err := buildUsers(fresh(), 0)
		if err != nil {
			b.Fatal(err)
		}
		var seq atomic.Int64
		parallelism(b, 64)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				email := fmt.Sprintf("p%d@bench.example", seq.Add(1))
				if _, err := f.svc.CreateUser(ctx, f.domain, identity.User{Email: email}, ""); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
	})
}

// paired runs op (which returns the id of a user it read) and, after each
// call, the bare engine read of that user's record in its own read
// transaction, timing both. It reports op-ns/op, engine-get-ns/op and
// their ratio x-engine-get, all measured under the same machine load
// (ns/op is the sum of the two).
func paired(b *testing.B, f *users, op func(i int) string) {
	b.Helper()
	ctx := context.Background()
	store := f.svc.Backend(kv.Inside())
	var opTime, getTime time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		id := op(i)
		t1 := time.Now()
		if err := store.View(ctx, func(tx identity.ReadTx) error {
			_, err := tx.Get(identity.UserKey(kv.Inside(), f.svc.Environment(), id))
			return err
		}); err != nil {
			b.Fatalf("engine get of user %s: %v", id, err)
		}
		opTime += t1.Sub(t0)
		getTime += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(opTime.Nanoseconds())/n, "op-ns/op")
	b.ReportMetric(float64(getTime.Nanoseconds())/n, "engine-get-ns/op")
	b.ReportMetric(float64(opTime)/float64(getTime), "x-engine-get")
}
