package identity_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestCredentialEventsInTheLogsOfTheirOrganizations: the events of an API
// key are listed in the log of each organization it reaches (and the
// account organization's for a key over every organization), never in the
// log of an organization it does not reach.
func TestCredentialEventsInTheLogsOfTheirOrganizations(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	mustOrg(t, s, "acme-account")
	a, b, c := mustOrg(t, s, "Alpha"), mustOrg(t, s, "Beta"), mustOrg(t, s, "Gamma")
	mk := func(orgs ...string) *identity.Credential {
		t.Helper()
		cr, _, err := s.CreateCredential(ctx, identity.Credential{Name: "k", Permissions: []string{"read:users"}, ManagedOrgs: orgs}, "")
		if err != nil {
			t.Fatal(err)
		}
		return cr
	}
	both := mk(a.Domain, b.Domain, "no-such-org")
	onlyB := mk(b.Domain)
	every := mk(identity.AllOrgs)
	// A Crafter access token reaches its tenants.
	crafter, _, err := s.CreateCredential(ctx, identity.Credential{Name: "crafter",
		TenantPermissions: []identity.TenantPermission{{Tenant: c.Domain, AllowedActions: []string{"*"}}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCredential(ctx, both.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.LogEvent(ctx, identity.CredentialEvent(identity.EventAPIKeyTokenIssued, onlyB, nil)); err != nil {
		t.Fatal(err)
	}
	// ids lists the credential events of an organization's log as
	// "CODE credential".
	ids := func(domain string) map[string]bool {
		t.Helper()
		out := map[string]bool{}
		for _, code := range []string{identity.EventCredentialCreated, identity.EventCredentialDeleted, identity.EventAPIKeyTokenIssued} {
			// Through the code index and the organization's whole log.
			p, err := s.ListEvents(ctx, domain, identity.EventFilter{Code: code}, identity.PageRequest{PerPage: 100})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Items {
				out[e.Code+" "+credentialOf(&e)] = true
			}
		}
		all, err := s.ListEvents(ctx, domain, identity.EventFilter{}, identity.PageRequest{PerPage: 100})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range all.Items {
			if out[e.Code+" "+credentialOf(&e)] {
				n++
			}
		}
		if n != len(out) {
			t.Errorf("%s: the whole log holds %d of the %d credential events", domain, n, len(out))
		}
		return out
	}
	want := map[string][]string{
		a.Domain:       {"CREDENTIAL_CREATED " + both.ID, "CREDENTIAL_DELETED " + both.ID},
		b.Domain:       {"CREDENTIAL_CREATED " + both.ID, "CREDENTIAL_DELETED " + both.ID, "CREDENTIAL_CREATED " + onlyB.ID, "API_KEY_TOKEN_ISSUED " + onlyB.ID},
		c.Domain:       {"CREDENTIAL_CREATED " + crafter.ID},
		"acme-account": {"CREDENTIAL_CREATED " + every.ID},
	}
	for domain, codes := range want {
		got := ids(domain)
		if len(got) != len(codes) {
			t.Errorf("%s: %v, want %v", domain, got, codes)
		}
		for _, w := range codes {
			if !got[w] {
				t.Errorf("%s lacks %s (has %v)", domain, w, got)
			}
		}
	}
	// A key limited to Alpha reads Alpha's log, key events included, and
	// not Beta's.
	sa, err := s.For(identity.Scope{Environment: identity.Production, Orgs: []string{a.Domain}, Permissions: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := sa.ListEvents(ctx, a.Domain, identity.EventFilter{Code: identity.EventCredentialCreated}, identity.PageRequest{})
	if err != nil || p.Total != 1 || credentialOf(&p.Items[0]) != both.ID || p.Items[0].ActorID != "" {
		t.Errorf("alpha's key events through its scope: %+v %v", p, err)
	}
	if _, err := sa.ListEvents(ctx, b.Domain, identity.EventFilter{}, identity.PageRequest{}); err == nil {
		t.Error("a key of alpha reads beta's log")
	}
}

// credentialOf is the credential an event is about: data.credential_id
// (created, deleted; their actor is whoever created or deleted it), else
// its actor (a management token issued to the key).
func credentialOf(e *identity.Event) string {
	if id, ok := e.Data["credential_id"].(string); ok {
		return id
	}
	return e.ActorID
}

// TestMetaKeyWritesNeedThePermission: on a scoped Service, creating and
// deleting a MetaKey need create:/delete:user_metakeys (a read-only scope,
// a console viewer's, is refused), and another organization is not found.
func TestMetaKeyWritesNeedThePermission(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	a, b := mustOrg(t, s, "Alpha"), mustOrg(t, s, "Beta")
	scoped := func(perms ...string) *identity.Service {
		t.Helper()
		x, err := s.For(identity.Scope{Environment: identity.Production, Orgs: []string{a.Domain}, Permissions: perms})
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	viewer := scoped("read:*", "read_many:*")
	if _, err := viewer.CreateMetaKey(ctx, a.Domain, "plan", "string", false); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("read-only create: %v", err)
	}
	writer := scoped("create:user_metakeys", "delete:user_metakeys")
	if _, err := writer.CreateMetaKey(ctx, b.Domain, "plan", "string", false); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("create in another organization: %v", err)
	}
	if _, err := writer.CreateMetaKey(ctx, a.Domain, "plan", "string", false); err != nil {
		t.Fatal(err)
	}
	if _, err := viewer.DeleteMetaKey(ctx, a.Domain, "plan"); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("read-only delete: %v", err)
	}
	if keys, _ := s.ListMetaKeys(ctx, a.Domain); len(keys) != 1 {
		t.Fatalf("keys = %v", keys)
	}
	if _, err := writer.DeleteMetaKey(ctx, a.Domain, "plan"); err != nil {
		t.Fatal(err)
	}
	// A console admin's scope may write them.
	m := identity.ConsoleMember{Role: identity.ConsoleAdmin, Orgs: []string{a.Domain}}
	adm, err := s.For(m.Scope(identity.Production))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateMetaKey(ctx, a.Domain, "tier", "integer", true); err != nil {
		t.Errorf("console admin: %v", err)
	}
}
