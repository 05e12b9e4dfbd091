package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/journal"
)

// On a bolt store, with or without the metrics wrapper around it, the
// events LogEvent writes go through the store's audit journal, are listed
// at once, and a clean Close leaves no journal file behind.
func TestAuditJournalWiring(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"plain", nil},
		{"metrics wrapper", []string{"-metrics-addr", "127.0.0.1:0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "g.db")
			a := inProcess(t, append([]string{"-store", "bolt:" + path}, tc.args...)...)
			svc := a.envs[identity.Production]
			name := "Journal Co"
			org, err := svc.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
			if err != nil {
				t.Fatal(err)
			}
			if err := svc.LogEvent(ctx, &identity.Event{Code: identity.EventTokenIssued, TenantDomain: org.Domain,
				ClientID: "c1"}); err != nil {
				t.Fatal(err)
			}
			if segs, _ := journal.Segments(path); len(segs) != 1 {
				t.Fatalf("journal segments = %v, want one: the event did not go through the journal", segs)
			}
			p, err := svc.ListEvents(ctx, org.Domain, identity.EventFilter{Code: identity.EventTokenIssued}, identity.PageRequest{})
			if err != nil || p.Total != 1 {
				t.Fatalf("ListEvents = %d events, %v; want 1", p.Total, err)
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			if segs, _ := journal.Segments(path); len(segs) != 0 {
				t.Fatalf("journal segments after Close: %v", segs)
			}
		})
	}
}
