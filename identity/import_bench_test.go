package identity_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/bolt"
)

// BenchmarkImportUsers measures users written per second into a bolt
// store (default options: every commit is synced): ImportUsers, 100,000
// generated profiles in transactions of 1,000, against the baseline of
// CreateUser one user per transaction (5,000 users; no password, so
// neither side hashes). Each operation is a whole import into a fresh
// store; run it with -benchtime=1x:
//
//	go test -run '^$' -bench BenchmarkImportUsers -benchtime 1x ./identity/
func BenchmarkImportUsers(b *testing.B) {
	open := func(b *testing.B) *identity.Service {
		st, err := bolt.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		s, err := identity.NewService(identity.Options{Store: st, AccountDomain: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		mustOrg(b, s, "Bench")
		return s
	}
	users := func(n int) []identity.User {
		out := make([]identity.User, n)
		t0 := time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range out {
			out[i] = identity.User{ObjectID: fmt.Sprintf("%024x", i+1), Username: fmt.Sprintf("user%d", i),
				Email: fmt.Sprintf("user%d@example.com", i), Enabled: true, Verified: true,
				PasswordHash: crafterAdminHash, Roles: []string{"PROFILE_ADMIN"},
				Attributes: map[string]any{"firstName": "User", "plan": "free"},
				CreatedAt:  t0.Add(time.Duration(i) * time.Second)}
		}
		return out
	}
	ctx := context.Background()
	b.Run("ImportUsers-100k", func(b *testing.B) {
		const n = 100_000
		in := users(n)
		for b.Loop() {
			b.StopTimer()
			s := open(b)
			b.StartTimer()
			res, err := s.ImportUsers(ctx, "bench", in, identity.ImportOptions{BatchSize: 1000})
			if err != nil || res[n-1].Status != identity.ImportCreated {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "users/s")
	})
	b.Run("CreateUser-5k", func(b *testing.B) {
		const n = 5_000
		in := users(n)
		for b.Loop() {
			b.StopTimer()
			s := open(b)
			b.StartTimer()
			for i := range in {
				if _, err := s.CreateUser(ctx, "bench", in[i], ""); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "users/s")
	})
}
