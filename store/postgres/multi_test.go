package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/store/postgres"
)

// pair opens two stores on the same fresh schema with separate pools, as
// two instances of the host program on two machines would, and a Service
// on each.
func pair(t *testing.T) (a, b *postgres.Store, sa, sb *identity.Service) {
	t.Helper()
	c := need(t)
	schema := freshSchema()
	open := func() *postgres.Store {
		s, err := postgres.Open(context.Background(), c.URL("postgres"), postgres.WithSchema(schema), postgres.WithMaxConns(8))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	a, b = open(), open()
	// The instances of one deployment share its key-encryption key.
	sharedKEK := make([]byte, 32)
	svc := func(s identity.Store) *identity.Service {
		v, err := identity.NewService(identity.Options{Store: s, KeyEncryptionKey: sharedKEK})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	return a, b, svc(a), svc(b)
}

// race runs fn(instance, i) for i in [0, n) on n goroutines started
// together, alternating between the two instances.
func race(n int, fn func(inst, i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i%2, i)
		}()
	}
	close(start)
	wg.Wait()
}

func TestTwoInstancesUniqueUsers(t *testing.T) {
	_, _, sa, sb := pair(t)
	ctx := context.Background()
	svcs := []*identity.Service{sa, sb}
	name := "Acme"
	org, err := sa.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		input func(i int) identity.User
		field string
	}{
		{"same email", func(i int) identity.User {
			return identity.User{Email: "ada@example.com", Username: fmt.Sprintf("ada%02d", i), Enabled: true}
		}, "email"},
		{"same email, other case", func(i int) identity.User {
			email := "grace@example.com"
			if i%2 == 1 {
				email = "Grace@Example.com"
			}
			return identity.User{Email: email, Username: fmt.Sprintf("grace%02d", i), Enabled: true}
		}, "email"},
		{"same username", func(i int) identity.User {
			return identity.User{Email: fmt.Sprintf("u%02d@example.com", i), Username: "linus", Enabled: true}
		}, "username"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const n = 16
			errs := make([]error, n)
			race(n, func(inst, i int) {
				_, errs[i] = svcs[inst].CreateUser(ctx, org.Domain, tc.input(i), "")
			})
			wins := 0
			for i, err := range errs {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, identity.ErrConflict):
					t.Errorf("creator %d: %v, want success or ErrConflict", i, err)
				}
			}
			if wins != 1 {
				t.Fatalf("%d creators won, want exactly 1", wins)
			}
		})
	}
	// Both instances see the same directory: 3 users, counted once each.
	for i, s := range svcs {
		page, err := s.ListUsers(ctx, org.Domain, identity.PageRequest{Page: 1, PerPage: 50})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 3 || len(page.Items) != 3 {
			t.Errorf("instance %d lists %d users (total %d), want 3", i, len(page.Items), page.Total)
		}
	}
}

// token is a single-use credential (magic link, code, verification or
// reset token) or a refresh-token family.
type token struct {
	Subject string `json:"subject"`
	Current string `json:"current,omitempty"`
	Version int    `json:"version,omitempty"`
}

func TestTwoInstancesSingleUseTokens(t *testing.T) {
	a, b, _, _ := pair(t)
	ctx := context.Background()
	stores := []identity.Store{a, b}
	tokens := kv.Records[token]{Env: string(identity.Production), Kind: "magic-link"}
	const n = 40
	if err := a.Update(ctx, func(tx identity.Tx) error {
		for i := 0; i < n; i++ {
			if err := tokens.Put(tx, fmt.Sprintf("tok%02d", i), token{Subject: fmt.Sprintf("user%02d", i)}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Every token is presented 6 times at once, on both instances.
	var consumed [n]atomic.Int32
	race(n*6, func(inst, i int) {
		id := fmt.Sprintf("tok%02d", i%n)
		err := stores[inst].Update(ctx, func(tx identity.Tx) error {
			if _, err := tokens.Get(tx, id); err != nil {
				return err
			}
			return tokens.Delete(tx, id)
		})
		switch {
		case err == nil:
			consumed[i%n].Add(1)
		case !errors.Is(err, identity.ErrNotFound):
			t.Errorf("consume %s: %v", id, err)
		}
	})
	for i := range consumed {
		if got := consumed[i].Load(); got != 1 {
			t.Errorf("tok%02d consumed %d times, want exactly once", i, got)
		}
	}
}

func TestTwoInstancesAssertionReplayCache(t *testing.T) {
	a, b, _, _ := pair(t)
	ctx := context.Background()
	stores := []identity.Store{a, b}
	seen := kv.Unique{Env: string(identity.Production), Name: "saml-assertion"}
	const assertions, replays = 10, 8
	var accepted [assertions]atomic.Int32
	race(assertions*replays, func(inst, i int) {
		id := fmt.Sprintf("_assertion-%d", i%assertions)
		err := stores[inst].Update(ctx, func(tx identity.Tx) error {
			// Each presentation claims the assertion id for itself; the
			// entry expires with the assertion's validity window.
			if err := seen.Claim(tx, "idp-1", id, fmt.Sprintf("presentation-%d", i)); err != nil {
				return err
			}
			k := kv.Key('u', "production", "saml-assertion", "idp-1", id)
			return kv.ScheduleExpiry(tx, time.Now().Add(time.Hour), k)
		})
		switch {
		case err == nil:
			accepted[i%assertions].Add(1)
		case !errors.Is(err, identity.ErrConflict):
			t.Errorf("assertion %s: %v", id, err)
		}
	})
	for i := range accepted {
		if got := accepted[i].Load(); got != 1 {
			t.Errorf("assertion %d accepted %d times, want once", i, got)
		}
	}
}

// rotate spends refresh token old of family and issues new, or fails with
// ErrConflict when old was already spent (a replayed refresh token).
func rotate(ctx context.Context, s identity.Store, family, old, next string) error {
	fams := kv.Records[token]{Env: string(identity.Production), Kind: "refresh-family"}
	return s.Update(ctx, func(tx identity.Tx) error {
		f, err := fams.Get(tx, family)
		if err != nil {
			return err
		}
		if f.Current != old {
			return fmt.Errorf("refresh token %s already spent: %w", old, identity.ErrConflict)
		}
		f.Current, f.Version = next, f.Version+1
		return fams.Put(tx, family, f)
	})
}

func TestTwoInstancesRefreshRotation(t *testing.T) {
	a, b, _, _ := pair(t)
	ctx := context.Background()
	stores := []identity.Store{a, b}
	fams := kv.Records[token]{Env: string(identity.Production), Kind: "refresh-family"}
	if err := a.Update(ctx, func(tx identity.Tx) error {
		return fams.Put(tx, "fam", token{Subject: "u1", Current: "r0"})
	}); err != nil {
		t.Fatal(err)
	}
	const rounds, racers = 15, 6
	current := "r0"
	for r := 1; r <= rounds; r++ {
		var winners []string
		var mu sync.Mutex
		race(racers, func(inst, i int) {
			next := fmt.Sprintf("r%d-%d", r, i)
			err := rotate(ctx, stores[inst], "fam", current, next)
			switch {
			case err == nil:
				mu.Lock()
				winners = append(winners, next)
				mu.Unlock()
			case !errors.Is(err, identity.ErrConflict):
				t.Errorf("round %d racer %d: %v", r, i, err)
			}
		})
		if len(winners) != 1 {
			t.Fatalf("round %d: %d rotations of the same refresh token succeeded (%v), want 1", r, len(winners), winners)
		}
		current = winners[0]
	}
	if err := b.View(ctx, func(tx identity.ReadTx) error {
		f, err := fams.Get(tx, "fam")
		if err == nil && (f.Current != current || f.Version != rounds) {
			err = fmt.Errorf("family = %+v, want current %s version %d", f, current, rounds)
		}
		return err
	}); err != nil {
		t.Error(err)
	}
}

func TestTwoInstancesCountersExact(t *testing.T) {
	a, b, sa, sb := pair(t)
	ctx := context.Background()
	stores := []identity.Store{a, b}
	seq := kv.Counter{Env: string(identity.Production), Name: "events"}
	const workers, each = 16, 25
	got := make([][]int64, workers)
	race(workers, func(inst, i int) {
		for j := 0; j < each; j++ {
			var n int64
			err := stores[inst].Update(ctx, func(tx identity.Tx) error {
				var err error
				n, err = seq.Next(tx)
				return err
			})
			if err != nil {
				t.Errorf("worker %d: %v", i, err)
				return
			}
			got[i] = append(got[i], n)
		}
	})
	var all []int64
	for _, g := range got {
		all = append(all, g...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	if len(all) != workers*each {
		t.Fatalf("%d increments acknowledged, want %d", len(all), workers*each)
	}
	for i, n := range all {
		if n != int64(i+1) {
			t.Fatalf("counter values are not 1..%d without gaps or repeats: position %d holds %d", len(all), i, n)
		}
	}

	// Retried transactions went through the retry lane; no connection
	// may keep its session lock once the writers are done.
	if st := a.Stats(); st.Conflicts == 0 {
		t.Logf("no conflicts on instance a (%+v): the retry lane was not exercised", st)
	}
	conn, err := pgx.Connect(ctx, need(t).URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var held int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted").Scan(&held); err != nil {
		t.Fatal(err)
	}
	if held != 0 {
		t.Errorf("%d advisory locks still held after the writers finished: the retry lane leaked", held)
	}

	// Lockout counter: failed logins recorded on both instances at once
	// are all counted.
	name := "Lockout Inc"
	svcs := []*identity.Service{sa, sb}
	org, err := sa.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	u, err := sa.CreateUser(ctx, org.Domain, identity.User{Email: "eve@example.com", Enabled: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	const failures = 24
	race(failures, func(inst, i int) {
		if _, err := svcs[inst].UpdateUser(ctx, org.Domain, u.ID, func(u *identity.User) error {
			u.FailedLogins++
			return nil
		}); err != nil {
			t.Errorf("failed login %d: %v", i, err)
		}
	})
	after, err := sb.GetUser(ctx, org.Domain, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.FailedLogins != failures {
		t.Errorf("FailedLogins = %d after %d concurrent failures, want exact", after.FailedLogins, failures)
	}
}

func TestTwoInstancesKeyRotationOnce(t *testing.T) {
	a, b, _, _ := pair(t)
	ctx := context.Background()
	stores := []identity.Store{a, b}
	keys := kv.Records[token]{Env: string(identity.Production), Kind: "signing-key"}
	if err := a.Update(ctx, func(tx identity.Tx) error {
		return keys.Put(tx, "current", token{Current: "k1", Version: 1})
	}); err != nil {
		t.Fatal(err)
	}
	// Every instance's scheduler sees the key is due and rotates it unless
	// someone did already: the version must move by exactly one.
	var rotated atomic.Int32
	race(12, func(inst, i int) {
		did := false
		err := stores[inst].Update(ctx, func(tx identity.Tx) error {
			did = false
			k, err := keys.Get(tx, "current")
			if err != nil {
				return err
			}
			if k.Version >= 2 {
				return nil // rotated by another instance
			}
			did = true
			return keys.Put(tx, "current", token{Current: fmt.Sprintf("k2-by-%d", i), Version: 2})
		})
		if err != nil {
			t.Errorf("rotator %d: %v", i, err)
		}
		if did {
			rotated.Add(1)
		}
	})
	if n := rotated.Load(); n != 1 {
		t.Errorf("the key was rotated %d times, want once", n)
	}
}

func TestTwoInstancesSweepConcurrently(t *testing.T) {
	a, b, _, _ := pair(t)
	ctx := context.Background()
	recs := kv.Records[string]{Env: string(identity.Production), Kind: "code"}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const expired, live = 600, 50
	if err := a.Update(ctx, func(tx identity.Tx) error {
		for i := 0; i < expired+live; i++ {
			id := fmt.Sprintf("c%04d", i)
			if err := recs.Put(tx, id, "x"); err != nil {
				return err
			}
			at := t0.Add(time.Duration(i) * time.Second)
			if i >= expired {
				at = t0.Add(24 * time.Hour)
			}
			if err := kv.ScheduleExpiry(tx, at, recs.Key(id)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Hour)
	var swept [4]int
	var errs [4]error
	race(4, func(inst, i int) {
		s := identity.Store(a)
		if inst == 1 {
			s = b
		}
		swept[i], errs[i] = kv.SweepExpired(ctx, identity.KVStoreOf(kv.Inside(), s), now, 25)
	})
	total := 0
	for i := range swept {
		if errs[i] != nil {
			t.Fatalf("sweeper %d: %v", i, errs[i])
		}
		total += swept[i]
	}
	if total != expired {
		t.Errorf("sweepers removed %d entries together (%v), want %d: each exactly once", total, swept, expired)
	}
	if err := b.View(ctx, func(tx identity.ReadTx) error {
		n := 0
		if err := recs.Scan(tx, func(string, string) error { n++; return nil }); err != nil {
			return err
		}
		if n != live {
			return fmt.Errorf("%d records left, want the %d live ones", n, live)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}

// noLaneStore passes its transactions on with Prefetch and AppendOnly but
// without a lane: Lane counts the request and does nothing.
type noLaneStore struct {
	identity.Store
	lanes *atomic.Int64
}

type noLaneTx struct {
	identity.Tx
	lanes *atomic.Int64
}

func (t noLaneTx) Lane(string) bool              { t.lanes.Add(1); return false }
func (t noLaneTx) Prefetch(keys ...[]byte) error { return t.Tx.(prefetcher).Prefetch(keys...) }
func (t noLaneTx) AppendOnly() bool              { return t.Tx.(appender).AppendOnly() }
func (s noLaneStore) Update(ctx context.Context, fn func(tx identity.Tx) error) error {
	return s.Store.Update(ctx, func(tx identity.Tx) error { return fn(noLaneTx{Tx: tx, lanes: s.lanes}) })
}

// TestTwoInstancesAuditLog: two Services on one database (two instances)
// log events concurrently through LogEvent's group commit, in no lane.
// Every acknowledged event is listed once, under its own id, in its
// organization's log and in its client's, newest first across pages, and
// the maintained counts equal what was logged; the instances' batches do
// not abort each other (at most the few retries of two instances that
// drew the same discriminator, each of which draws again).
func TestTwoInstancesAuditLog(t *testing.T) {
	a, b, sa, _ := pair(t)
	ctx := context.Background()
	var lanes atomic.Int64
	kek := make([]byte, 32) // pair's
	var svcs []*identity.Service
	for _, s := range []*postgres.Store{a, b} {
		v, err := identity.NewService(identity.Options{Store: noLaneStore{Store: s, lanes: &lanes}, KeyEncryptionKey: kek})
		if err != nil {
			t.Fatal(err)
		}
		svcs = append(svcs, v)
	}
	var orgs []*identity.Organization
	for _, name := range []string{"Acme", "Globex"} {
		o, err := sa.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
		if err != nil {
			t.Fatal(err)
		}
		orgs = append(orgs, o)
	}
	// The organizations' logs hold their creation already.
	byOrg := map[string][]int64{}
	for _, o := range orgs {
		p, err := sa.ListEvents(ctx, o.Domain, identity.EventFilter{}, identity.PageRequest{PerPage: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Items {
			byOrg[o.Domain] = append(byOrg[o.Domain], e.ID)
		}
	}
	updates := a.Stats().Updates + b.Stats().Updates
	conflicts := a.Stats().Conflicts + b.Stats().Conflicts

	const workers, each = 16, 40
	logged := make([][]*identity.Event, workers)
	race(workers, func(inst, i int) {
		for j := range each {
			e := &identity.Event{Code: identity.EventTokenIssued, TenantDomain: orgs[j%2].Domain,
				ClientID: fmt.Sprintf("client-%d", (i+j)%3)}
			if err := svcs[inst].LogEvent(ctx, e); err != nil {
				t.Errorf("instance %d, event %d: %v", inst, j, err)
				return
			}
			logged[i] = append(logged[i], e)
		}
	})
	if t.Failed() {
		return
	}
	if n := lanes.Load(); n != 0 {
		t.Errorf("%d transactions asked for a lane", n)
	}
	batches := a.Stats().Updates + b.Stats().Updates - updates
	retries := a.Stats().Conflicts + b.Stats().Conflicts - conflicts
	t.Logf("%d events in %d batches, %d retries", workers*each, batches, retries)
	if batches >= workers*each {
		t.Errorf("%d transactions for %d events: not batched", batches, workers*each)
	}
	if retries > 4 {
		t.Errorf("%d retries in %d batches: the instances' batches conflict", retries, batches)
	}

	byClient := map[string]int{}
	ids := map[int64]bool{}
	for _, es := range logged {
		for _, e := range es {
			if ids[e.ID] {
				t.Fatalf("two events acknowledged with id %d", e.ID)
			}
			ids[e.ID] = true
			byOrg[e.TenantDomain] = append(byOrg[e.TenantDomain], e.ID)
			byClient[e.TenantDomain+" "+e.ClientID]++
		}
	}
	for _, o := range orgs {
		want := byOrg[o.Domain]
		sort.Slice(want, func(i, j int) bool { return want[i] > want[j] })
		var got []int64
		for page := 1; ; page++ {
			p, err := svcs[page%2].ListEvents(ctx, o.Domain, identity.EventFilter{}, identity.PageRequest{Page: page, PerPage: 50})
			if err != nil {
				t.Fatal(err)
			}
			if p.Total != len(want) {
				t.Fatalf("%s: count %d, want %d logged", o.Domain, p.Total, len(want))
			}
			for _, e := range p.Items {
				got = append(got, e.ID)
			}
			if len(p.Items) < 50 {
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: the log lists %d events, want the %d logged, newest first", o.Domain, len(got), len(want))
		}
		for c := range 3 {
			client := fmt.Sprintf("client-%d", c)
			p, err := svcs[c%2].ListEvents(ctx, o.Domain, identity.EventFilter{ClientID: client}, identity.PageRequest{PerPage: 1})
			if err != nil {
				t.Fatal(err)
			}
			if p.Total != byClient[o.Domain+" "+client] {
				t.Errorf("%s, %s: count %d, want %d", o.Domain, client, p.Total, byClient[o.Domain+" "+client])
			}
		}
	}
}
