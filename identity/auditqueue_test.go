package identity_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// slowStore counts write transactions and makes each last a while, as a
// durable commit (fsync) does, so concurrent writers overlap.
type slowStore struct {
	identity.Store
	updates atomic.Int64
}

func (s *slowStore) Update(ctx context.Context, fn func(tx identity.Tx) error) error {
	s.updates.Add(1)
	time.Sleep(2 * time.Millisecond)
	return s.Store.Update(ctx, fn)
}

// TestLogEventGroupCommit: concurrent LogEvent calls share transactions
// (far fewer commits than events), every call that returned nil has its
// event stored with a unique id, and an event that cannot be written
// fails alone without failing the others of its batch.
func TestLogEventGroupCommit(t *testing.T) {
	st := &slowStore{Store: memory.New()}
	svc, err := identity.NewService(identity.Options{Store: st, AccountDomain: "acme-account"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	name := "Acme"
	org, err := svc.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		events int
		bad    map[int]bool // events whose data cannot be encoded
	}{
		{name: "all good", events: 300},
		{name: "one bad event in a batch", events: 100, bad: map[int]bool{37: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, err := svc.ListEvents(ctx, org.Domain, identity.EventFilter{Code: identity.EventTokenIssued}, identity.PageRequest{PerPage: 1})
			if err != nil {
				t.Fatal(err)
			}
			commits := st.updates.Load()
			errs := make([]error, tc.events)
			ids := make([]int64, tc.events)
			var wg sync.WaitGroup
			for i := range tc.events {
				wg.Add(1)
				go func() {
					defer wg.Done()
					e := &identity.Event{Code: identity.EventTokenIssued, TenantDomain: org.Domain, ClientID: "c"}
					if tc.bad[i] {
						e.Data = map[string]any{"unencodable": make(chan int)}
					}
					errs[i] = svc.LogEvent(ctx, e)
					ids[i] = e.ID
				}()
			}
			wg.Wait()
			ok := 0
			seen := map[int64]bool{}
			for i, err := range errs {
				switch {
				case tc.bad[i] && err == nil:
					t.Errorf("event %d with unencodable data was accepted", i)
				case !tc.bad[i] && err != nil:
					t.Errorf("event %d failed with its batch: %v", i, err)
				case err == nil:
					ok++
					if seen[ids[i]] {
						t.Errorf("event id %d given twice", ids[i])
					}
					seen[ids[i]] = true
				}
			}
			after, err := svc.ListEvents(ctx, org.Domain, identity.EventFilter{Code: identity.EventTokenIssued}, identity.PageRequest{PerPage: 1})
			if err != nil {
				t.Fatal(err)
			}
			if got := after.Total - before.Total; got != ok {
				t.Fatalf("%d events acknowledged, %d stored", ok, got)
			}
			if n := st.updates.Load() - commits; tc.bad == nil && n > int64(tc.events)/5 {
				t.Fatalf("%d events took %d commits: not grouped", tc.events, n)
			}
		})
	}
}

// TestLogEventCanceled: a caller whose context has ended before its event
// is queued gets the context's error and writes nothing.
func TestLogEventCanceled(t *testing.T) {
	svc, _ := newService(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	name := "Acme"
	org, err := svc.CreateOrganization(context.Background(), identity.OrganizationInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.LogEvent(ctx, &identity.Event{Code: identity.EventTokenIssued, TenantDomain: org.Domain}); err == nil {
		t.Fatal("a canceled caller's event was written")
	}
	p, err := svc.ListEvents(context.Background(), org.Domain, identity.EventFilter{Code: identity.EventTokenIssued}, identity.PageRequest{})
	if err != nil || p.Total != 0 {
		t.Fatalf("events after a canceled call: %d %v", p.Total, err)
	}
}

// recordingStore's transactions offer Prefetch, Lane and AppendOnly, as
// store/postgres's do, and record how an Update used them.
type recordingStore struct {
	identity.Store
	mu  sync.Mutex
	txs []*recordingTx
}

type recordingTx struct {
	identity.Tx
	laneFirst  bool          // Lane came before any read
	lane       string        // the lane asked for
	appendOnly bool          // AppendOnly came before any read
	shards     map[byte]bool // the shards of the event sets' counts written
	fresh      map[string]bool
	reads      int // Gets and Prefetches before Lane
	prefetches int
	prefetched map[string]bool
	unfetched  []string // event and organization-domain keys read without a Prefetch first
}

func (t *recordingTx) Lane(name string) bool {
	t.lane, t.laneFirst = name, t.reads == 0
	return true
}

func (t *recordingTx) AppendOnly() bool {
	t.appendOnly = t.reads == 0
	return true
}

func (t *recordingTx) Put(key, value []byte) error {
	if k := string(key); strings.HasPrefix(k, "c\x00") && strings.Contains(k, "\x00events\x00") {
		if t.shards == nil {
			t.shards = map[byte]bool{}
		}
		t.shards[key[len(key)-1]] = true
	}
	return t.Tx.Put(key, value)
}

func (t *recordingTx) Fresh(keys ...[]byte) {
	for _, k := range keys {
		t.fresh[string(k)] = true
	}
}

func (t *recordingTx) Prefetch(keys ...[]byte) error {
	t.reads++
	t.prefetches++
	for _, k := range keys {
		t.prefetched[string(k)] = true
	}
	return nil
}

func (t *recordingTx) Get(key []byte) ([]byte, error) {
	t.reads++
	k := string(key)
	if (strings.Contains(k, "\x00event\x00") || strings.Contains(k, "\x00events\x00") ||
		strings.Contains(k, "\x00org-domain\x00")) && !t.prefetched[k] && !t.fresh[k] {
		t.unfetched = append(t.unfetched, k)
	}
	return t.Tx.Get(key)
}

func (s *recordingStore) Update(ctx context.Context, fn func(tx identity.Tx) error) error {
	time.Sleep(2 * time.Millisecond) // a durable commit's time, so batches form
	return s.Store.Update(ctx, func(tx identity.Tx) error {
		rt := &recordingTx{Tx: tx, prefetched: map[string]bool{}, fresh: map[string]bool{}}
		s.mu.Lock()
		s.txs = append(s.txs, rt)
		s.mu.Unlock()
		return fn(rt)
	})
}

// TestLogEventBatchAppendOnlyAndPrefetch: a batch of events runs append-only
// (snapshot isolation, asked for before it reads anything) and in no lane,
// so that the batches of instances sharing a store run side by side; it
// reads the organizations of its events (named by domain) in one Prefetch
// and then its sets' count shards in one more (one round trip each on
// PostgreSQL, instead of one per organization and about seven per event),
// declaring the keys it makes under new ids (events, set members) fresh
// rather than reading them; and it counts its events in one count shard per set, the one
// of its instance, whoever the members are.
func TestLogEventBatchAppendOnlyAndPrefetch(t *testing.T) {
	st := &recordingStore{Store: memory.New()}
	svc, err := identity.NewService(identity.Options{Store: st, AccountDomain: "acme-account"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var orgs []*identity.Organization
	for _, name := range []string{"Acme", "Globex", "Initech"} {
		org, err := svc.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
		if err != nil {
			t.Fatal(err)
		}
		orgs = append(orgs, org)
	}
	st.mu.Lock()
	st.txs = nil
	st.mu.Unlock()
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := svc.LogEvent(ctx, &identity.Event{Code: identity.EventTokenIssued, TenantDomain: orgs[i%3].Domain,
				ClientID: fmt.Sprintf("client-%d", i%3)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.txs) == 0 || len(st.txs) >= 64 {
		t.Fatalf("%d transactions for 64 events, want batches", len(st.txs))
	}
	for i, tx := range st.txs {
		if tx.lane != "" || !tx.appendOnly {
			t.Errorf("batch %d: lane %q, append-only before any read %v; want no lane, append-only", i, tx.lane, tx.appendOnly)
		}
		if len(tx.shards) != 1 {
			t.Errorf("batch %d wrote count shards %v, want the instance's one", i, tx.shards)
		}
		if tx.prefetches != 2 {
			t.Errorf("batch %d: %d prefetches, want 2 (organizations, then the count shards)", i, tx.prefetches)
		}
		for k := range tx.prefetched {
			if strings.HasPrefix(k, "r\x00production\x00event\x00") || strings.HasPrefix(k, "s\x00") {
				t.Errorf("batch %d prefetched %q, which it makes under a new id (kv.Fresh)", i, k)
				break
			}
		}
		if len(tx.fresh) == 0 {
			t.Errorf("batch %d declared no key fresh", i)
		}
		if len(tx.unfetched) > 0 {
			t.Errorf("batch %d read %d event or organization keys it did not prefetch, first %q", i, len(tx.unfetched), tx.unfetched[0])
		}
	}
	total := 0
	for _, org := range orgs {
		p, err := svc.ListEvents(ctx, org.Domain, identity.EventFilter{Code: identity.EventTokenIssued}, identity.PageRequest{PerPage: 1})
		if err != nil {
			t.Fatal(err)
		}
		total += p.Total
	}
	if total != 64 {
		t.Errorf("%d TOKEN_ISSUED events logged in the organizations' logs, want 64", total)
	}
}
