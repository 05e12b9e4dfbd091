package multiinstance

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/mail"
	"github.com/gatehouse-id/gatehouse/profile"
)

const lockAfter = identity.DefaultLockAfter

// crafter is two Crafter Profile services on one database.
type crafter struct {
	insts  [2]*instance
	hasher *countingHasher
	svcs   [2]*profile.Service
	creds  [2]*identity.Credential
	mu     sync.Mutex
	mails  []mail.Message
}

func newCrafter(t *testing.T) *crafter {
	t.Helper()
	c := &crafter{hasher: newCountingHasher()}
	c.insts = pair(t, newClock(), setup{hasher: c.hasher})
	ctx := context.Background()
	for i, in := range c.insts {
		svc, err := profile.New(profile.Options{Identity: in.ids, Hasher: c.hasher, SyncMail: true,
			Sleep: func(context.Context, time.Duration) error { return nil },
			Mailer: mail.MailerFunc(func(_ context.Context, m mail.Message) error {
				c.mu.Lock()
				c.mails = append(c.mails, m)
				c.mu.Unlock()
				return nil
			})})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = svc.Close() })
		c.svcs[i] = svc
	}
	secret, err := c.insts[0].ids.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.insts[0].ids.CreateCredential(ctx, identity.Credential{Application: "admin", Master: true,
		Secret: secret, Environment: identity.Production,
		TenantPermissions: []identity.TenantPermission{{Tenant: "*", AllowedActions: []string{"*"}}}}, secret); err != nil {
		t.Fatal(err)
	}
	for i, svc := range c.svcs {
		if c.creds[i], err = svc.Authorize(ctx, secret); err != nil {
			t.Fatalf("instance %d: access token: %v", i, err)
		}
	}
	if _, err := c.svcs[1].CreateTenant(ctx, c.creds[1], profile.TenantInput{Name: "acme", AvailableRoles: []string{"USER"}}); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *crafter) profile(t *testing.T, inst int, username string, enabled bool) *profile.Profile {
	t.Helper()
	p, err := c.svcs[inst].CreateProfile(context.Background(), c.creds[inst], profile.NewProfile{Tenant: "acme",
		Username: username, Password: "pw-" + username, Email: username + "@example.com", Enabled: enabled})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (c *crafter) login(inst int, username, pw string) error {
	_, err := c.svcs[inst].Authenticate(context.Background(), c.creds[inst], "acme", username, pw)
	return err
}

// status is the HTTP status the Crafter API answers err with.
func status(err error) int {
	if err == nil {
		return http.StatusOK
	}
	return profile.ErrorOf(err).Status
}

func TestLockoutAcrossInstances(t *testing.T) {
	c := newCrafter(t)
	ctx := context.Background()
	failures := func(t *testing.T, username string) int {
		t.Helper()
		u, err := c.insts[1].ids.GetUserByEmail(ctx, "acme", username+"@example.com")
		if err != nil {
			t.Fatal(err)
		}
		return u.FailedLogins
	}
	// burst sends n wrong passwords for username over both instances at
	// once and returns the answers' statuses: status → count.
	burst := func(t *testing.T, username string, n int) map[int]int {
		t.Helper()
		statuses := make([]int, n)
		race(n, func(inst, i int) { statuses[i] = status(c.login(inst, username, fmt.Sprintf("wrong-%d", i))) })
		out := map[int]int{}
		for _, s := range statuses {
			out[s]++
		}
		return out
	}

	t.Run("below the limit the counter is exact", func(t *testing.T) {
		c.profile(t, 0, "bob", true)
		before := c.hasher.verifys.Load()
		got := burst(t, "bob", lockAfter-1)
		if got[http.StatusUnauthorized] != lockAfter-1 {
			t.Fatalf("answers %v, want %d × 401", got, lockAfter-1)
		}
		if n := failures(t, "bob"); n != lockAfter-1 {
			t.Fatalf("FailedLogins = %d after %d concurrent failures on two instances, want exact", n, lockAfter-1)
		}
		if n := c.hasher.verifys.Load() - before; n != lockAfter-1 {
			t.Fatalf("%d password checks for %d attempts", n, lockAfter-1)
		}
		// Not locked: the right password works and clears the counter.
		if err := c.login(1, "bob", "pw-bob"); err != nil {
			t.Fatalf("right password below the limit: %v", err)
		}
		if n := failures(t, "bob"); n != 0 {
			t.Fatalf("FailedLogins = %d after a success, want 0", n)
		}
	})

	t.Run("a burst gets at most LockAfter password checks", func(t *testing.T) {
		c.profile(t, 1, "alice", true)
		before := c.hasher.verifys.Load()
		const n = 40
		got := burst(t, "alice", n)
		if got[http.StatusUnauthorized] != lockAfter || got[http.StatusForbidden] != n-lockAfter {
			t.Fatalf("answers %v, want %d × 401 and %d × 403", got, lockAfter, n-lockAfter)
		}
		if checks := c.hasher.verifys.Load() - before; checks != lockAfter {
			t.Fatalf("%d passwords checked in a burst of %d over two instances, want %d", checks, n, lockAfter)
		}
		if f := failures(t, "alice"); f != lockAfter {
			t.Fatalf("FailedLogins = %d, want %d", f, lockAfter)
		}
		for inst := range 2 {
			if s := status(c.login(inst, "alice", "pw-alice")); s != http.StatusForbidden {
				t.Fatalf("right password on instance %d after the burst: %d, want 403 (locked)", inst, s)
			}
		}
	})

	t.Run("an unknown username is counted the same way", func(t *testing.T) {
		before := c.hasher.verifys.Load()
		const n = 30
		got := burst(t, "ghost", n)
		if got[http.StatusUnauthorized] != lockAfter || got[http.StatusForbidden] != n-lockAfter {
			t.Fatalf("answers %v, want %d × 401 and %d × 403", got, lockAfter, n-lockAfter)
		}
		if checks := c.hasher.verifys.Load() - before; checks != 0 {
			t.Fatalf("%d stored hashes checked for a username without a profile", checks)
		}
	})
}

func TestVerificationTokenConsumedOnce(t *testing.T) {
	c := newCrafter(t)
	ctx := context.Background()
	const racers = 8
	// consume races fn over both instances and checks that exactly one
	// call succeeded and the others found no token; it returns the winner.
	consume := func(t *testing.T, fn func(inst, i int) error) int {
		t.Helper()
		errs := make([]error, racers)
		race(racers, func(inst, i int) { errs[i] = fn(inst, i) })
		winner := -1
		for i, err := range errs {
			var pe *profile.Error
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("racers %d and %d both consumed the token", winner, i)
			case err == nil:
				winner = i
			case !errors.As(err, &pe) || pe.Code != profile.CodeNoSuchVerificationToken:
				t.Errorf("racer %d (instance %d): %v, want success or %s", i, i%2, err, profile.CodeNoSuchVerificationToken)
			}
		}
		if winner < 0 {
			t.Fatal("nobody consumed the token")
		}
		return winner
	}

	t.Run("verification", func(t *testing.T) {
		p := c.profile(t, 0, "carol", false)
		vt, err := c.svcs[1].CreateVerificationToken(ctx, c.creds[1], p.ID)
		if err != nil {
			t.Fatal(err)
		}
		consume(t, func(inst, i int) error {
			_, err := c.svcs[inst].VerifyProfile(ctx, c.creds[inst], vt.ID, nil)
			return err
		})
		got, err := c.svcs[1].GetProfile(ctx, c.creds[1], p.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Enabled || !got.Verified {
			t.Fatalf("profile after verification: enabled %v verified %v", got.Enabled, got.Verified)
		}
	})

	t.Run("password reset", func(t *testing.T) {
		p := c.profile(t, 1, "dave", true)
		if _, err := c.svcs[0].ResetPassword(ctx, c.creds[0], p.ID, "https://app.example.com/reset", nil); err != nil {
			t.Fatal(err)
		}
		c.mu.Lock()
		var link string
		for _, m := range c.mails {
			if i := strings.Index(m.Text, "https://app.example.com/reset?"); i >= 0 && len(m.To) > 0 && strings.Contains(m.To[0], "dave") {
				link = strings.Fields(m.Text[i:])[0]
			}
		}
		c.mu.Unlock()
		u, err := url.Parse(link)
		if err != nil || u.Query().Get("tokenId") == "" {
			t.Fatalf("no reset link mailed (%q)", link)
		}
		tokenID := u.Query().Get("tokenId")
		w := consume(t, func(inst, i int) error {
			_, err := c.svcs[inst].ChangePassword(ctx, c.creds[inst], tokenID, fmt.Sprintf("new-pass-%d", i), nil)
			return err
		})
		// Only the winner's password was set.
		for i := 0; i < racers; i++ {
			want := http.StatusUnauthorized
			if i == w {
				want = http.StatusOK
			}
			if s := status(c.login(i%2, "dave", fmt.Sprintf("new-pass-%d", i))); s != want {
				t.Fatalf("password of racer %d (winner %d): %d, want %d", i, w, s, want)
			}
		}
	})
}
