package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/journal"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/store/bolt"
	"github.com/gatehouse-id/gatehouse/store/postgres"
	"github.com/gatehouse-id/gatehouse/store/postgres/pgtest"
)

var server *pgtest.Cluster

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c, err := pgtest.Start(ctx, pgtest.Options{})
	cancel()
	switch {
	case errors.Is(err, pgtest.ErrNotInstalled):
		fmt.Fprintf(os.Stderr, "SKIP cmd/gatehouse-migrate: %v; these tests need it (%s)\n", err, pgtest.InstallHint)
	case err != nil:
		fmt.Fprintf(os.Stderr, "cmd/gatehouse-migrate: start a throwaway PostgreSQL: %v\n", err)
		os.Exit(1)
	}
	server = c
	code := m.Run()
	if c != nil {
		_ = c.Stop()
	}
	os.Exit(code)
}

func need(t *testing.T) *pgtest.Cluster {
	t.Helper()
	if server == nil {
		t.Skipf("PostgreSQL server not installed; run %s to include these tests", pgtest.InstallHint)
	}
	return server
}

// seed writes a directory into a bolt store: organizations, users (with
// their unique indexes, sets and counts), an expiring record.
func seed(t *testing.T, path string) (org string, ids []string) {
	t.Helper()
	ctx := context.Background()
	s, err := bolt.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	svc, err := identity.NewService(identity.Options{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	name := "Blue Fin"
	o, err := svc.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 120; i++ {
		u, err := svc.CreateUser(ctx, o.Domain, identity.User{Email: fmt.Sprintf("u%03d@bluefin.example", i), Enabled: true}, "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	if err := s.Update(ctx, func(tx identity.Tx) error {
		return kv.ScheduleExpiry(tx, time.Now().Add(time.Hour), []byte("r\x00-\x00code\x00c1"))
	}); err != nil {
		t.Fatal(err)
	}
	return o.Domain, ids
}

func TestCopyBoltToPostgres(t *testing.T) {
	c := need(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	org, ids := seed(t, path)
	url := c.URL("postgres")

	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"-from", "bolt:" + path, "-to", url, "-schema", "copy1", "-batch", "100"}, &out, &errOut); err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "verified") {
		t.Errorf("output does not report the verification: %q", out.String())
	}

	// The copy serves the same directory through the identity service.
	s, err := postgres.Open(ctx, url, postgres.WithSchema("copy1"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	svc, err := identity.NewService(identity.Options{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	page, err := svc.ListUsers(ctx, org, identity.PageRequest{Page: 2, PerPage: 50})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != len(ids) || len(page.Items) != 50 {
		t.Errorf("copied directory lists %d users on page 2 of %d, want 50 of %d", len(page.Items), page.Total, len(ids))
	}
	u, err := svc.GetUserByEmail(ctx, org, "u077@bluefin.example")
	if err != nil || u.ID != ids[77] {
		t.Errorf("GetUserByEmail after the copy = %v, %v; want %s", u, err, ids[77])
	}
	if _, err := svc.CreateUser(ctx, org, identity.User{Email: "U001@bluefin.example", Enabled: true}, ""); !errors.Is(err, identity.ErrConflict) {
		t.Errorf("the copied unique email index let a duplicate in: %v", err)
	}

	// A second copy into the same schema is refused.
	err = run(ctx, []string{"-from", path, "-to", url, "-schema", "copy1"}, &out, &errOut)
	if !errors.Is(err, errNotEmpty) {
		t.Errorf("copy into a non-empty target = %v, want errNotEmpty", err)
	}
}

func TestCopyRefusals(t *testing.T) {
	c := need(t)
	ctx := context.Background()
	dir := t.TempDir()
	url := c.URL("postgres")
	var out, errOut bytes.Buffer

	path := filepath.Join(dir, "busy.db")
	s, err := bolt.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	err = run(ctx, []string{"-from", path, "-to", url, "-schema", "busy", "-lock-wait", "100ms"}, &out, &errOut)
	_ = s.Close()
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("copy of a store in use = %v, want a refusal", err)
	}

	foreign := filepath.Join(dir, "foreign.db")
	if err := os.WriteFile(foreign, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"-from", foreign, "-to", url, "-schema", "foreign"}, &out, &errOut); err == nil {
		t.Error("copy of a file that is not a bbolt store succeeded")
	}
	if err := run(ctx, []string{"-from", filepath.Join(dir, "missing.db"), "-to", url}, &out, &errOut); err == nil {
		t.Error("copy of a missing file succeeded")
	}
	if err := run(ctx, []string{"-from", path, "-to", "bolt:other.db"}, &out, &errOut); err == nil {
		t.Error("a non-PostgreSQL target was accepted")
	}

	out.Reset()
	if err := run(ctx, []string{"-migrate-only", "-to", url, "-schema", "only"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.Open(ctx, url, postgres.WithSchema("only"), postgres.WithoutMigrations()); err != nil {
		t.Errorf("Open after -migrate-only: %v", err)
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"help", []string{"-h"}, "flag: help requested"},
		{"no target", []string{"-from", "x.db"}, "-to must be a postgres:// URL"},
		{"bolt target", []string{"-from", "x.db", "-to", "bolt:y.db"}, "-to must be a postgres:// URL"},
		{"no source", []string{"-to", "postgres://h/db"}, "-from is required"},
		{"bad batch", []string{"-from", "x.db", "-to", "postgres://h/db", "-batch", "0"}, "-batch must be positive"},
		{"unknown flag", []string{"-frm", "x.db"}, "flag provided but not defined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GATEHOUSE_STORE", "")
			var out, errOut bytes.Buffer
			err := run(context.Background(), tc.args, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run(%q) = %v, want an error containing %q", tc.args, err, tc.want)
			}
		})
	}
}

// A store whose process stopped without closing it (killed) still holds
// writes in its write-ahead log and audit events in its journal: the copy
// writes both into the source first, and the target has every one.
func TestCopyReplaysTheLogs(t *testing.T) {
	c := need(t)
	ctx := context.Background()
	dir := t.TempDir()
	live := filepath.Join(dir, "live.db")
	org, _ := seed(t, live)
	s, err := bolt.Open(ctx, live)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	svc, err := identity.NewService(identity.Options{Store: s, KeyEncryptionKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		if err := svc.LogEvent(ctx, &identity.Event{Code: identity.EventTokenIssued, TenantDomain: org,
			ClientID: fmt.Sprintf("c%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	// A write that only the write-ahead log holds yet.
	if _, err := svc.CreateUser(ctx, org, identity.User{Email: "logged@acme.test"}, ""); err != nil {
		t.Fatal(err)
	}
	// What a kill leaves on the disk: the file, the write-ahead log and
	// the audit journal, copied while the process still has them open.
	crashed := filepath.Join(dir, "crashed.db")
	segs, err := journal.Segments(live)
	if err != nil || len(segs) == 0 {
		t.Fatalf("journal segments = %v, %v", segs, err)
	}
	logs, err := bolt.LogFiles(live)
	if err != nil || len(logs) == 0 {
		t.Fatalf("write-ahead log files = %v, %v", logs, err)
	}
	for _, f := range append(append([]string{live}, segs...), logs...) {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(crashed+strings.TrimPrefix(f, live), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"-from", crashed, "-to", c.URL("postgres"), "-schema", "replayed"}, &out, &errOut); err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "wrote the 7 audit events") {
		t.Errorf("the output does not report the journal: %q", out.String())
	}
	if !strings.Contains(out.String(), "wrote the source's write-ahead log") {
		t.Errorf("the output does not report the write-ahead log: %q", out.String())
	}
	if left, _ := journal.Segments(crashed); len(left) != 0 {
		t.Errorf("journal segments left beside the source: %v", left)
	}
	if left, _ := bolt.LogFiles(crashed); len(left) != 0 {
		t.Errorf("write-ahead log files left beside the source: %v", left)
	}
	dst, err := postgres.Open(ctx, c.URL("postgres"), postgres.WithSchema("replayed"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	copied, err := identity.NewService(identity.Options{Store: dst, KeyEncryptionKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	p, err := copied.ListEvents(ctx, org, identity.EventFilter{Code: identity.EventTokenIssued}, identity.PageRequest{})
	if err != nil || p.Total != 7 {
		t.Fatalf("the copy lists %d TOKEN_ISSUED events (%v), want 7", p.Total, err)
	}
	if _, err := copied.GetUserByEmail(ctx, org, "logged@acme.test"); err != nil {
		t.Fatalf("the user only the write-ahead log held is not in the copy: %v", err)
	}
}
