package profile

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// attempt is what a caller observes of one authentication.
type attempt struct {
	status int
	body   string
	slept  []time.Duration
	hashed int // password checks, real or dummy
}

// observe signs in as user with a wrong password and records what the
// caller can see: status, body and the delay the injected sleeper got.
func (e *env) observe(tenant, user string) attempt {
	e.sleepM.Lock()
	n := len(e.sleeps)
	e.sleepM.Unlock()
	e.hasher.mu.Lock()
	h := e.hasher.verifys + e.hasher.dummies
	e.hasher.mu.Unlock()
	r := e.do("POST", "/api/1/authentication/authenticate.json", e.master,
		url.Values{"tenantName": {tenant}, "username": {user}, "password": {"wrong"}})
	e.sleepM.Lock()
	slept := append([]time.Duration{}, e.sleeps[n:]...)
	e.sleepM.Unlock()
	e.hasher.mu.Lock()
	h = e.hasher.verifys + e.hasher.dummies - h
	e.hasher.mu.Unlock()
	return attempt{status: r.status, body: string(r.body), slept: slept, hashed: h}
}

func (a attempt) String() string {
	return fmt.Sprintf("%d %s slept %v hashed %d", a.status, a.body, a.slept, a.hashed)
}

// TestUnknownUsernameIndistinguishable drives an existing and a missing
// username through the same schedule of wrong passwords and clock moves:
// every answer, body, delay and password check must be the same.
func TestUnknownUsernameIndistinguishable(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	e.profile("acme", "alice", nil)
	type step struct {
		advance  time.Duration
		attempts int
	}
	schedule := []step{
		{0, 12},               // delays from the 3rd, lock from the 10th: 401 x10 then 403
		{9 * time.Minute, 1},  // still locked
		{61 * time.Second, 2}, // lock over: one counted failure re-locks (401 + delay), then 403
		{11 * time.Minute, 1}, // again
		{25 * time.Hour, 4},   // failures forgotten after FailureWindow: no delay for two
	}
	var known, unknown []attempt
	for _, s := range schedule {
		e.clock.add(s.advance)
		for i := 0; i < s.attempts; i++ {
			known = append(known, e.observe("acme", "alice"))
			unknown = append(unknown, e.observe("acme", "nobody"))
		}
	}
	for i := range known {
		if known[i].String() != unknown[i].String() {
			t.Errorf("attempt %d: existing %q, missing %q", i+1, known[i], unknown[i])
		}
	}
	// The schedule really went through the delay and the lock.
	want := []int{401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 403, 403, 403, 401, 403, 401, 401, 401, 401, 401}
	for i, w := range want {
		if known[i].status != w {
			t.Fatalf("attempt %d: %s, want %d", i+1, known[i], w)
		}
	}
	if len(known[2].slept) != 1 || known[2].slept[0] != time.Second || len(known[1].slept) != 0 ||
		len(known[16].slept) != 0 || len(known[18].slept) != 1 {
		t.Fatalf("delays: 2nd %v, 3rd %v, after the window %v then %v", known[1].slept, known[2].slept, known[16].slept, known[18].slept)
	}
	if known[10].hashed != 0 || known[0].hashed != 1 {
		t.Fatalf("password checks: %d while locked, %d otherwise", known[10].hashed, known[0].hashed)
	}
	// Usernames are counted one by one, per tenant.
	e.tenant("other")
	if a := e.observe("acme", "nobody2"); a.status != 401 || len(a.slept) != 0 {
		t.Fatalf("another unknown name inherited a count: %s", a)
	}
	if a := e.observe("other", "nobody"); a.status != 401 || len(a.slept) != 0 {
		t.Fatalf("the same name in another tenant inherited a count: %s", a)
	}
}

// TestUnknownUsernameBurst: parallel guesses at a missing username are
// capped like those at an existing one.
func TestUnknownUsernameBurst(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	before := e.hasher.dummies
	var wg sync.WaitGroup
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if a := e.observe("acme", "nobody"); a.status != 401 && a.status != 403 {
				t.Errorf("parallel attempt: %s", a)
			}
		}()
	}
	wg.Wait()
	e.hasher.mu.Lock()
	got := e.hasher.dummies - before
	e.hasher.mu.Unlock()
	if got != 10 {
		t.Fatalf("%d dummy checks in a burst of 30, want exactly 10", got)
	}
}

// fullHasher refuses every check, dummy ones included, as a full hasher
// does.
type fullHasher struct{ busyHasher }

func (b *fullHasher) DummyVerify(context.Context, string) error { return identity.ErrBusy }

// TestBusyHasherGivesAttemptsBack: an attempt whose password was never
// checked is not counted, for existing and missing usernames alike.
func TestBusyHasherGivesAttemptsBack(t *testing.T) {
	e := newEnvWith(t, memory.New(), func(o *Options) { o.Hasher = &fullHasher{} })
	e.tenant("acme")
	e.profile("acme", "alice", nil)
	for _, u := range []string{"alice", "nobody"} {
		for i := 0; i < 12; i++ {
			if a := e.observe("acme", u); a.status != 429 || len(a.slept) != 0 {
				t.Fatalf("%s attempt %d: %s, want 429 without delay", u, i+1, a)
			}
		}
	}
}
