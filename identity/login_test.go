package identity_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/password"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/store/bolt"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// countingHasher stores "plain:"+password and counts real and dummy
// checks; busy makes every check answer ErrBusy.
type countingHasher struct {
	mu              sync.Mutex
	verifys, dummys int
	busy            bool
}

func (h *countingHasher) Hash(_ context.Context, pw string) (string, error) {
	return "plain:" + pw, nil
}

func (h *countingHasher) Verify(_ context.Context, pw, enc string) (bool, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.busy {
		return false, false, identity.ErrBusy
	}
	h.verifys++
	return enc == "plain:"+pw, false, nil
}

func (h *countingHasher) DummyVerify(context.Context, string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.busy {
		return identity.ErrBusy
	}
	h.dummys++
	return nil
}

func (h *countingHasher) checks() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.verifys + h.dummys
}

func loginService(t testing.TB, st identity.Store, h identity.PasswordHasher) (*identity.Service, *clock) {
	t.Helper()
	c := &clock{}
	c.t.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	s, err := identity.NewService(identity.Options{Store: st, Clock: c.Now, Hasher: h})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

// loginOutcome is what a face can observe of one attempt.
func loginOutcome(err error) string {
	var le *identity.LoginError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &le) && errors.Is(err, identity.ErrLocked):
		return "locked"
	case errors.As(err, &le) && errors.Is(err, identity.ErrDisabled):
		return "disabled"
	case errors.As(err, &le) && errors.Is(err, identity.ErrUnauthenticated):
		return "unauthenticated"
	}
	return "error: " + err.Error()
}

// TestPasswordLoginLockout drives every kind of identifier through the same
// schedule of wrong passwords and clock moves: an existing user, one
// without a password, a disabled one, an unknown address, a user of an
// unknown organization. Every answer and every password check must be
// the same (so nothing tells whether an account exists), and the right
// password works only when the schedule says the account is unlocked.
func TestPasswordLoginLockout(t *testing.T) {
	ctx := context.Background()
	n := identity.DefaultLockAfter
	type step struct {
		advance time.Duration
		wrong   int
		want    []string // outcomes of the wrong attempts
	}
	rep := func(s string, k int) []string {
		out := make([]string, k)
		for i := range out {
			out[i] = s
		}
		return out
	}
	schedule := []step{
		{0, n + 1, append(rep("unauthenticated", n), "locked")},
		{identity.DefaultLockFor - time.Second, 1, []string{"locked"}},
		// The lock is over; the count is kept, so one failure locks again.
		{time.Second, 2, []string{"unauthenticated", "locked"}},
		// Failures are forgotten FailureWindow after the latest.
		{identity.DefaultFailureWindow, 2, rep("unauthenticated", 2)},
	}
	cases := []struct {
		name  string
		org   string
		email string
	}{
		{"existing user", "acme", "alice@acme.test"},
		{"user without a password", "acme", "nopw@acme.test"},
		{"disabled user", "acme", "off@acme.test"},
		{"unknown address", "acme", "ghost@acme.test"},
		{"unknown organization", "nowhere", "alice@acme.test"},
	}
	var transcripts []string
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := &countingHasher{}
			s, clk := loginService(t, memory.New(), h)
			mustOrg(t, s, "acme")
			for _, u := range []identity.User{{Email: "alice@acme.test", Enabled: true}, {Email: "nopw@acme.test", Enabled: true},
				{Email: "off@acme.test"}} {
				pw := "right"
				if u.Email == "nopw@acme.test" {
					pw = ""
				}
				if _, err := s.CreateUser(ctx, "acme", u, pw); err != nil {
					t.Fatal(err)
				}
			}
			var got []string
			for i, st := range schedule {
				clk.Advance(st.advance)
				for j := 0; j < st.wrong; j++ {
					before := h.checks()
					_, err := s.PasswordLogin(ctx, identity.PasswordLogin{OrgDomain: tc.org, Email: tc.email, Password: "wrong"})
					o := loginOutcome(err)
					if o != st.want[j] {
						t.Fatalf("step %d attempt %d: %s, want %s", i, j+1, o, st.want[j])
					}
					checked := h.checks() - before
					if (o == "locked") != (checked == 0) || checked > 1 {
						t.Fatalf("step %d attempt %d: %d password checks for %s", i, j+1, checked, o)
					}
					var le *identity.LoginError
					if o == "locked" && errors.As(err, &le) && !le.LockedUntil.After(clk.Now()) {
						t.Fatalf("locked until %v, now %v", le.LockedUntil, clk.Now())
					}
					got = append(got, o)
				}
			}
			transcripts = append(transcripts, strings.Join(got, ","))
			// The right password: only the existing user gets in, and it
			// clears the count; the disabled user learns it is disabled only
			// with the right password.
			_, err := s.PasswordLogin(ctx, identity.PasswordLogin{OrgDomain: tc.org, Email: tc.email, Password: "right"})
			want := map[string]string{"existing user": "ok", "disabled user": "disabled"}[tc.name]
			if want == "" {
				want = "unauthenticated"
			}
			if o := loginOutcome(err); o != want {
				t.Fatalf("right password: %s, want %s", o, want)
			}
			if tc.name == "existing user" {
				u, _ := s.GetUserByEmail(ctx, "acme", tc.email)
				if u.FailedLogins != 0 || u.LockedUntil != nil {
					t.Fatalf("success left the count: %d %v", u.FailedLogins, u.LockedUntil)
				}
			}
		})
	}
	for i := range transcripts {
		if transcripts[i] != transcripts[0] {
			t.Errorf("%s answered %s; %s answered %s", cases[i].name, transcripts[i], cases[0].name, transcripts[0])
		}
	}
}

// TestPasswordLoginParallelGuesses: a burst of parallel wrong passwords
// gets at most LockAfter password checks, for an existing user and an
// unknown address alike, on memory and on bolt.
func TestPasswordLoginParallelGuesses(t *testing.T) {
	stores := map[string]func(t *testing.T) identity.Store{
		"memory": func(*testing.T) identity.Store { return memory.New() },
		"bolt": func(t *testing.T) identity.Store {
			st, err := bolt.Open(context.Background(), filepath.Join(t.TempDir(), "g.db"), bolt.WithNoSync())
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
	}
	for name, open := range stores {
		for _, email := range []string{"alice@acme.test", "ghost@acme.test"} {
			t.Run(name+" "+email, func(t *testing.T) {
				ctx := context.Background()
				st := open(t)
				t.Cleanup(func() { st.Close() })
				h := &countingHasher{}
				s, _ := loginService(t, st, h)
				mustOrg(t, s, "acme")
				if _, err := s.CreateUser(ctx, "acme", identity.User{Email: "alice@acme.test", Enabled: true}, "right"); err != nil {
					t.Fatal(err)
				}
				before := h.checks()
				var wg sync.WaitGroup
				for i := 0; i < 40; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, err := s.PasswordLogin(ctx, identity.PasswordLogin{OrgDomain: "acme", Email: email, Password: "wrong"})
						if o := loginOutcome(err); o != "unauthenticated" && o != "locked" {
							t.Errorf("parallel attempt: %s", o)
						}
					}()
				}
				wg.Wait()
				if got := h.checks() - before; got != identity.DefaultLockAfter {
					t.Fatalf("%d password checks in a burst of 40, want exactly %d", got, identity.DefaultLockAfter)
				}
				_, err := s.PasswordLogin(ctx, identity.PasswordLogin{OrgDomain: "acme", Email: email, Password: "right"})
				if o := loginOutcome(err); o != "locked" {
					t.Fatalf("after the burst: %s", o)
				}
			})
		}
	}
}

// TestPasswordLoginDetails: the policy comes from Options; usernames work
// like emails; a busy hasher counts nothing; the counters of unknown
// identifiers are hashes that expire; a legacy Crafter hash is upgraded.
func TestPasswordLoginDetails(t *testing.T) {
	ctx := context.Background()
	t.Run("options", func(t *testing.T) {
		st := memory.New()
		s, err := identity.NewService(identity.Options{Store: st, Hasher: &countingHasher{}, LockAfter: 3,
			LockFor: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if p := s.Lockout(); p.LockAfter != 3 || p.LockFor != time.Hour || p.FailureWindow != identity.DefaultFailureWindow {
			t.Fatalf("policy %+v", p)
		}
		mustOrg(t, s, "acme")
		if _, err := s.CreateUser(ctx, "acme", identity.User{Email: "bob@acme.test", Username: "bob", Enabled: true}, "right"); err != nil {
			t.Fatal(err)
		}
		// Failures by username and by email share the user's counter.
		for i, in := range []identity.PasswordLogin{{Username: "bob"}, {Email: "BOB@acme.test"}, {Username: "bob"}} {
			in.OrgDomain, in.Password = "acme", "wrong"
			if o := loginOutcome(pick(s.PasswordLogin(ctx, in))); o != "unauthenticated" {
				t.Fatalf("attempt %d: %s", i+1, o)
			}
		}
		if o := loginOutcome(pick(s.PasswordLogin(ctx, identity.PasswordLogin{OrgDomain: "acme", Email: "bob@acme.test",
			Password: "right"}))); o != "locked" {
			t.Fatalf("after 3 failures: %s", o)
		}
		if _, err := s.PasswordLogin(ctx, identity.PasswordLogin{OrgDomain: "acme", Password: "x"}); !errors.Is(err, identity.ErrInvalid) {
			t.Fatalf("no identifier: %v", err)
		}
	})
	t.Run("busy hasher counts nothing", func(t *testing.T) {
		h := &countingHasher{busy: true}
		s, _ := loginService(t, memory.New(), h)
		mustOrg(t, s, "acme")
		if _, err := s.CreateUser(ctx, "acme", identity.User{Email: "alice@acme.test", Enabled: true}, "right"); err != nil {
			t.Fatal(err)
		}
		for _, email := range []string{"alice@acme.test", "ghost@acme.test"} {
			for i := 0; i < 2*identity.DefaultLockAfter; i++ {
				if _, err := s.PasswordLogin(ctx, identity.PasswordLogin{OrgDomain: "acme", Email: email, Password: "w"}); !errors.Is(err, identity.ErrBusy) {
					t.Fatalf("%s attempt %d: %v", email, i+1, err)
				}
			}
		}
		h.busy = false
		if _, err := s.PasswordLogin(ctx, identity.PasswordLogin{OrgDomain: "acme", Email: "alice@acme.test", Password: "right"}); err != nil {
			t.Fatalf("after busy attempts: %v", err)
		}
	})
	t.Run("unknown identifiers are stored hashed and expire", func(t *testing.T) {
		st := memory.New()
		s, clk := loginService(t, st, &countingHasher{})
		mustOrg(t, s, "acme")
		for _, e := range []string{"ghost1@acme.test", "ghost2@acme.test"} {
			_, _ = s.PasswordLogin(ctx, identity.PasswordLogin{OrgDomain: "acme", Email: e, Password: "w"})
		}
		if storeHas(t, st, "ghost1") {
			t.Fatal("an unknown address is stored in clear")
		}
		before := storeSize(t, st)
		clk.Advance(identity.DefaultFailureWindow)
		if _, err := kv.SweepExpired(ctx, identity.KVStoreOf(kv.Inside(), st), clk.Now(), 0); err != nil {
			t.Fatal(err)
		}
		if after := storeSize(t, st); after >= before {
			t.Fatalf("store kept %d keys after the window (%d before)", after, before)
		}
	})
	t.Run("legacy Crafter hash is upgraded", func(t *testing.T) {
		s, _ := loginService(t, memory.New(), password.New())
		mustOrg(t, s, "acme")
		u, err := s.CreateUser(ctx, "acme", identity.User{Email: "old@acme.test", Enabled: true}, "")
		if err != nil {
			t.Fatal(err)
		}
		legacy := password.CrafterHash("old secret", []byte("saltsaltsaltsalt"))
		if _, err := s.UpdateUser(ctx, "acme", u.ID, func(x *identity.User) error { x.PasswordHash = legacy; return nil }); err != nil {
			t.Fatal(err)
		}
		got, err := s.PasswordLogin(ctx, identity.PasswordLogin{OrgDomain: "acme", Email: "old@acme.test", Password: "old secret"})
		if err != nil {
			t.Fatal(err)
		}
		if got.PasswordHash == legacy || !strings.HasPrefix(got.PasswordHash, "$argon2id$") {
			t.Fatalf("hash not upgraded: %q", got.PasswordHash)
		}
	})
}

func pick(_ *identity.User, err error) error { return err }

// storeHas reports whether any key or value of st contains s.
func storeHas(t *testing.T, st identity.Store, s string) bool {
	t.Helper()
	found := false
	err := st.View(context.Background(), func(tx identity.ReadTx) error {
		return tx.Scan(nil, identity.ScanOptions{}, func(k, v []byte) error {
			if bytes.Contains(k, []byte(s)) || bytes.Contains(v, []byte(s)) {
				found = true
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func storeSize(t *testing.T, st identity.Store) int {
	t.Helper()
	n := 0
	err := st.View(context.Background(), func(tx identity.ReadTx) error {
		return tx.Scan(nil, identity.ScanOptions{KeysOnly: true}, func(_, _ []byte) error { n++; return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPasswordLoginHooks guards PasswordLogin's Before and Then, which let
// a face share the login's commits: Before runs in the transaction that
// counts the attempt (its refusal counts nothing and checks no password),
// Then in the one that records the success (its writes commit with it; if
// it fails, the success is recorded without them and its error returned).
func TestPasswordLoginHooks(t *testing.T) {
	ctx := context.Background()
	errRefused := errors.New("face refuses")
	errThen := errors.New("face write failed")
	key := []byte("test\x00login-hook")
	cases := []struct {
		name     string
		password string
		before   error // Before's answer (nil: passes)
		then     error // Then's answer after its write
		wantErr  error // nil: success
		failures int   // the user's FailedLogins afterwards
		checks   int   // password checks
		written  bool  // Then's write is stored
		success  bool  // PASSWORD_LOGIN_SUCCESS logged
	}{
		{"both pass", "right", nil, nil, nil, 0, 1, true, true},
		{"before refuses", "right", errRefused, nil, errRefused, 0, 0, false, false},
		{"then fails", "right", nil, errThen, errThen, 0, 1, false, true},
		{"wrong password", "wrong", nil, nil, identity.ErrUnauthenticated, 1, 1, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := &countingHasher{}
			s, _ := loginService(t, memory.New(), h)
			mustOrg(t, s, "acme")
			u, err := s.CreateUser(ctx, "acme", identity.User{Email: "alice@acme.test", Enabled: true}, "right")
			if err != nil {
				t.Fatal(err)
			}
			beforeRan, thenUser := false, ""
			got, err := s.PasswordLogin(ctx, identity.PasswordLogin{OrgDomain: "acme", Email: "alice@acme.test",
				Password: tc.password,
				Before: func(tx *identity.Txn) error {
					beforeRan = true
					return tc.before
				},
				Then: func(tx *identity.Txn, su *identity.User) error {
					thenUser = su.ID
					if err := tx.KVTx(kv.Inside()).Put(key, []byte(su.ID)); err != nil {
						return err
					}
					return tc.then
				}})
			if tc.wantErr == nil && (err != nil || got == nil || got.ID != u.ID) {
				t.Fatalf("login: %v %v", got, err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("login: %v, want %v", err, tc.wantErr)
			}
			if !beforeRan {
				t.Fatal("Before did not run")
			}
			if tc.wantErr == nil && thenUser != u.ID {
				t.Fatalf("Then got user %q, want %q", thenUser, u.ID)
			}
			if h.checks() != tc.checks {
				t.Fatalf("%d password checks, want %d", h.checks(), tc.checks)
			}
			after, err := s.GetUser(ctx, "acme", u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if after.FailedLogins != tc.failures {
				t.Fatalf("FailedLogins %d, want %d", after.FailedLogins, tc.failures)
			}
			var stored []byte
			if err := s.View(ctx, func(tx *identity.ReadTxn) error {
				v, err := tx.KV(kv.Inside()).Get(key)
				if err == nil {
					stored = bytes.Clone(v)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if (stored != nil) != tc.written || (stored != nil && string(stored) != u.ID) {
				t.Fatalf("Then's write stored: %q, want %v", stored, tc.written)
			}
			evs, err := s.ListEvents(ctx, "acme", identity.EventFilter{}, identity.PageRequest{})
			if err != nil {
				t.Fatal(err)
			}
			success := false
			for _, e := range evs.Items {
				success = success || e.Code == identity.EventPasswordLoginSuccess
			}
			if success != tc.success {
				t.Fatalf("PASSWORD_LOGIN_SUCCESS logged: %v, want %v", success, tc.success)
			}
		})
	}
}

// TestPasswordLoginBeforeWhenLocked: an attempt on a locked identifier is
// refused without a password check, and PasswordLogin.Before's writes
// still commit (a face's count of attempts per client address counts it).
func TestPasswordLoginBeforeWhenLocked(t *testing.T) {
	ctx := context.Background()
	for _, email := range []string{"alice@acme.test", "ghost@acme.test"} {
		t.Run(email, func(t *testing.T) {
			h := &countingHasher{}
			s, _ := loginService(t, memory.New(), h)
			mustOrg(t, s, "acme")
			if _, err := s.CreateUser(ctx, "acme", identity.User{Email: "alice@acme.test", Enabled: true}, "right"); err != nil {
				t.Fatal(err)
			}
			for range identity.DefaultLockAfter {
				_, _ = s.PasswordLogin(ctx, identity.PasswordLogin{OrgDomain: "acme", Email: email, Password: "wrong"})
			}
			checks := h.checks()
			counted := 0
			key := []byte("test\x00attempts")
			_, err := s.PasswordLogin(ctx, identity.PasswordLogin{OrgDomain: "acme", Email: email, Password: "right",
				Before: func(tx *identity.Txn) error {
					counted++
					return tx.KVTx(kv.Inside()).Put(key, []byte("1"))
				}})
			if !errors.Is(err, identity.ErrLocked) {
				t.Fatalf("locked identifier: %v", err)
			}
			if h.checks() != checks {
				t.Fatal("a locked attempt checked a password")
			}
			if counted == 0 {
				t.Fatal("Before did not run")
			}
			if err := s.View(ctx, func(tx *identity.ReadTxn) error {
				_, err := tx.KV(kv.Inside()).Get(key)
				return err
			}); err != nil {
				t.Fatalf("Before's write of a locked attempt: %v", err)
			}
		})
	}
}
