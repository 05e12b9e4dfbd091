package bolt_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/journal"
	"github.com/gatehouse-id/gatehouse/store/bolt"
)

// journalEnv is a service on a bolt store with one organization.
type journalEnv struct {
	path  string
	store *bolt.Store
	svc   *identity.Service
	org   string
}

func openJournalEnv(t *testing.T, path string, opts ...bolt.Option) *journalEnv {
	t.Helper()
	st := openT(t, path, opts...)
	svc, err := identity.NewService(identity.Options{Store: st, KeyEncryptionKey: make([]byte, 32),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	return &journalEnv{path: path, store: st, svc: svc}
}

// newJournalEnv opens a fresh store and creates the organization.
func newJournalEnv(t *testing.T, opts ...bolt.Option) *journalEnv {
	t.Helper()
	e := openJournalEnv(t, filepath.Join(t.TempDir(), "g.db"), opts...)
	name := "Acme"
	org, err := e.svc.CreateOrganization(context.Background(), identity.OrganizationInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	e.org = org.Domain
	return e
}

// logTokens logs n TOKEN_ISSUED events from n concurrent callers.
func (e *journalEnv) logTokens(t *testing.T, n int, client string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- e.svc.LogEvent(context.Background(), &identity.Event{Code: identity.EventTokenIssued,
				TenantDomain: e.org, ClientID: client, ResourceOwnerID: fmt.Sprint(i)})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("LogEvent: %v", err)
		}
	}
}

// tokenEvents returns the TOKEN_ISSUED events of client, most recent
// first.
func (e *journalEnv) tokenEvents(t *testing.T, client string) []identity.Event {
	t.Helper()
	p, err := e.svc.ListEvents(context.Background(), e.org, identity.EventFilter{Code: identity.EventTokenIssued, ClientID: client},
		identity.PageRequest{PerPage: 100})
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	if p.Total != len(p.Items) {
		t.Fatalf("ListEvents: total %d, %d items", p.Total, len(p.Items))
	}
	return p.Items
}

// copyStore copies the store's file, its audit journal's segments and its
// write-ahead log's files while the
// store is open and idle: what a machine that stopped at that moment
// leaves on its disk (bbolt's file is complete after each commit).
func copyStore(t *testing.T, path string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy.db")
	cp := func(from, to string) {
		raw, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cp(path, dst)
	segs, err := journal.Segments(path)
	if err != nil {
		t.Fatal(err)
	}
	logs, err := bolt.LogFiles(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append(segs, logs...) {
		cp(s, dst+s[len(path):])
	}
	return dst
}

// An event LogEvent acknowledged is in the audit log of the next reader,
// with the id the event hooks saw, and in the store once it is closed
// (which removes the journal's files).
func TestAuditJournalReadYourWrites(t *testing.T) {
	e := newJournalEnv(t)
	var hooked []int64
	var mu sync.Mutex
	e.svc.OnEvent(func(_ context.Context, ev identity.Event) {
		if ev.Code == identity.EventTokenIssued {
			mu.Lock()
			hooked = append(hooked, ev.ID)
			mu.Unlock()
		}
	})
	e.logTokens(t, 40, "c1")
	if segs, _ := journal.Segments(e.path); len(segs) == 0 {
		t.Fatal("no journal segment: the events did not go through the audit journal")
	}
	got := e.tokenEvents(t, "c1")
	if len(got) != 40 {
		t.Fatalf("%d events listed, want 40", len(got))
	}
	var ids []int64
	for _, ev := range got {
		ids = append(ids, ev.ID)
		if ev.TenantDomain != e.org || ev.OrgID == "" {
			t.Fatalf("event without its organization: %+v", ev)
		}
	}
	slices.Sort(ids)
	slices.Sort(hooked)
	if !slices.Equal(ids, hooked) {
		t.Fatalf("stored ids %v, hooks saw %v", ids, hooked)
	}
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	if segs, _ := journal.Segments(e.path); len(segs) != 0 {
		t.Fatalf("journal segments left after Close: %v", segs)
	}
	e2 := openJournalEnv(t, e.path)
	defer e2.store.Close()
	e2.org = e.org
	if n := len(e2.tokenEvents(t, "c1")); n != 40 {
		t.Fatalf("%d events after reopen, want 40", n)
	}
}

// A machine that stops after LogEvent returned, before the events were
// written into the store, loses none of them: the next service on the
// store writes them once. One that stops after they were written, before
// the journal forgot them, does not get them twice.
func TestAuditJournalCrash(t *testing.T) {
	for _, tc := range []struct {
		name    string
		applied bool // the events were written into the store before the stop
	}{
		{"before the store has them", false},
		{"after the store has them", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newJournalEnv(t)
			defer e.store.Close()
			e.logTokens(t, 25, "c1")
			if tc.applied {
				if n := len(e.tokenEvents(t, "c1")); n != 25 {
					t.Fatalf("%d events, want 25", n)
				}
			}
			crashed := copyStore(t, e.path)
			if segs, _ := journal.Segments(crashed); len(segs) == 0 {
				t.Fatal("the copy has no journal segment")
			}
			// The copy is what a restart finds: the service writes what the
			// journal holds and the store lacks.
			c := openJournalEnv(t, crashed)
			c.org = e.org
			got := c.tokenEvents(t, "c1")
			if len(got) != 25 {
				t.Fatalf("%d events after the restart, want 25", len(got))
			}
			// Events logged after the restart number on, and survive a
			// second stop.
			c.logTokens(t, 5, "c2")
			again := copyStore(t, crashed)
			if err := c.store.Close(); err != nil {
				t.Fatal(err)
			}
			d := openJournalEnv(t, again)
			defer d.store.Close()
			d.org = e.org
			if n1, n2 := len(d.tokenEvents(t, "c1")), len(d.tokenEvents(t, "c2")); n1 != 25 || n2 != 5 {
				t.Fatalf("after the second restart: %d and %d events, want 25 and 5", n1, n2)
			}
		})
	}
}

// A backup holds every event logged before it, journaled or not.
func TestAuditJournalBackup(t *testing.T) {
	e := newJournalEnv(t)
	defer e.store.Close()
	e.logTokens(t, 10, "c1")
	dst := filepath.Join(t.TempDir(), "backup.db")
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Backup(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	b := openJournalEnv(t, dst)
	defer b.store.Close()
	b.org = e.org
	if n := len(b.tokenEvents(t, "c1")); n != 10 {
		t.Fatalf("the backup has %d events, want 10", n)
	}
}

// WithoutAuditJournal writes events in the store's own transactions: no
// journal file, the same audit log.
func TestWithoutAuditJournal(t *testing.T) {
	e := newJournalEnv(t, bolt.WithoutAuditJournal())
	defer e.store.Close()
	e.logTokens(t, 10, "c1")
	if segs, _ := journal.Segments(e.path); len(segs) != 0 {
		t.Fatalf("journal segments with WithoutAuditJournal: %v", segs)
	}
	if n := len(e.tokenEvents(t, "c1")); n != 10 {
		t.Fatalf("%d events, want 10", n)
	}
}

// An event the store would refuse (a separator byte in an id) fails its
// own LogEvent, before the journal, and no other.
func TestAuditJournalRefusesBadEvent(t *testing.T) {
	e := newJournalEnv(t)
	defer e.store.Close()
	err := e.svc.LogEvent(context.Background(), &identity.Event{Code: identity.EventTokenIssued, TenantDomain: e.org,
		ClientID: "bad\x00id"})
	if err == nil {
		t.Fatal("LogEvent accepted a client id with a NUL byte")
	}
	e.logTokens(t, 3, "c1")
	if n := len(e.tokenEvents(t, "c1")); n != 3 {
		t.Fatalf("%d events, want 3", n)
	}
}

// A process killed (SIGKILL) while it logs events loses none that
// LogEvent acknowledged, and the next service on the store writes each
// once: the child logs events from 8 goroutines and prints the client id
// of each one acknowledged; the parent kills it mid-stream, opens the
// store and finds every printed event exactly once.
func TestAuditJournalKilledProcess(t *testing.T) {
	if path := os.Getenv("GATEHOUSE_TEST_JOURNAL_CHILD"); path != "" {
		e := openJournalEnv(t, path)
		e.org = os.Getenv("GATEHOUSE_TEST_JOURNAL_ORG")
		ackWriters(func(id string) error {
			return e.svc.LogEvent(context.Background(), &identity.Event{Code: identity.EventTokenIssued,
				TenantDomain: e.org, ClientID: id})
		})
		return
	}
	e := newJournalEnv(t)
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	acked := killedChild(t, "TestAuditJournalKilledProcess", 3000,
		"GATEHOUSE_TEST_JOURNAL_CHILD="+e.path, "GATEHOUSE_TEST_JOURNAL_ORG="+e.org)
	r := openJournalEnv(t, e.path)
	defer r.store.Close()
	seen := map[string]int{}
	err := r.svc.ExportEvents(context.Background(), e.org, identity.EventFilter{Code: identity.EventTokenIssued},
		func(ev *identity.Event) error {
			seen[ev.ClientID]++
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	for id := range acked {
		if seen[id] != 1 {
			t.Fatalf("acknowledged event %s is in the log %d times", id, seen[id])
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("event %s is in the log %d times", id, n)
		}
	}
	t.Logf("%d events acknowledged before the kill, %d in the log after the restart", len(acked), len(seen))
}

// ackWriters is the child of killedChild: 8 goroutines call write with
// ids of their own ("w" goroutine "-" count) and print "ack ID" once it
// returns, until one fails ("error ...").
func ackWriters(write func(id string) error) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				if err := write(id); err != nil {
					fmt.Println("error", err)
					return
				}
				mu.Lock()
				fmt.Println("ack", id)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// killedChild runs the test named test in a child process with env
// added, reads the ids it prints as "ack ID" once acknowledged until it
// has printed n, kills it (SIGKILL) and returns every id it acknowledged
// before the kill landed.
func killedChild(t *testing.T, test string, n int, env ...string) map[string]bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && len(acked) < n {
		if id, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
			acked[id] = true
		} else if strings.HasPrefix(sc.Text(), "error") {
			_ = cmd.Process.Kill()
			t.Fatalf("child: %s", sc.Text())
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() { // acknowledged before the kill landed
		if id, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
			acked[id] = true
		}
	}
	_ = cmd.Wait()
	if len(acked) < n {
		t.Fatalf("the child acknowledged only %d", len(acked))
	}
	return acked
}

// Journaled events land in the log of their own environment and
// organization only: a sandbox event is not in production's log, nor one
// of another organization in this one's, and a scoped service (a limited
// key) sees only its organization's events.
func TestAuditJournalKeepsEnvironmentsAndOrganizationsApart(t *testing.T) {
	ctx := context.Background()
	e := newJournalEnv(t)
	defer e.store.Close()
	other := "Other Corp"
	o2, err := e.svc.CreateOrganization(ctx, identity.OrganizationInput{Name: &other})
	if err != nil {
		t.Fatal(err)
	}
	sand, err := e.svc.ForEnvironment(identity.Sandbox)
	if err != nil {
		t.Fatal(err)
	}
	log := func(svc *identity.Service, org, client string) {
		if err := svc.LogEvent(ctx, &identity.Event{Code: identity.EventTokenIssued, TenantDomain: org, ClientID: client}); err != nil {
			t.Fatal(err)
		}
	}
	log(e.svc, e.org, "prod-a")
	log(sand, e.org, "sand-a")
	log(e.svc, o2.Domain, "prod-b")
	clients := func(svc *identity.Service, org string) []string {
		p, err := svc.ListEvents(ctx, org, identity.EventFilter{Code: identity.EventTokenIssued}, identity.PageRequest{})
		if err != nil {
			t.Fatalf("ListEvents(%s, %s): %v", svc.Environment(), org, err)
		}
		var out []string
		for _, ev := range p.Items {
			out = append(out, ev.ClientID)
		}
		return out
	}
	for _, tc := range []struct {
		svc  *identity.Service
		org  string
		want []string
	}{
		{e.svc, e.org, []string{"prod-a"}},
		{sand, e.org, []string{"sand-a"}},
		{e.svc, o2.Domain, []string{"prod-b"}},
		{sand, o2.Domain, nil},
	} {
		if got := clients(tc.svc, tc.org); !slices.Equal(got, tc.want) {
			t.Errorf("%s log of %s lists %v, want %v", tc.svc.Environment(), tc.org, got, tc.want)
		}
	}
	scoped, err := e.svc.For(identity.Scope{Environment: identity.Production, Orgs: []string{e.org}, Permissions: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	log(scoped, e.org, "key-a") // a limited key's event: its own transaction
	if _, err := scoped.ListEvents(ctx, o2.Domain, identity.EventFilter{}, identity.PageRequest{}); err == nil {
		t.Error("a service scoped to one organization read another's log")
	}
	if got := clients(scoped, e.org); !slices.Equal(got, []string{"key-a", "prod-a"}) {
		t.Errorf("the scoped service lists %v, want [key-a prod-a]", got)
	}
}
