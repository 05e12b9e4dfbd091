package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestSendPasswordReset: an administrator's face mails a user the hosted
// reset link (in the environment's tree, in the locale asked); an address
// that is no user's sends nothing and is no error; the event names the
// actor of the context.
func TestSendPasswordReset(t *testing.T) {
	e := newEnv(t)
	ctx := identity.WithActor(context.Background(), "console-user")
	if err := e.prov.SendPasswordReset(ctx, identity.Production, e.org.Domain, "ghost@acme.test", "en", "192.0.2.1"); err != nil {
		t.Fatalf("unknown address: %v", err)
	}
	if err := e.prov.SendPasswordReset(ctx, identity.Production, e.org.Domain, userEmail, "fr", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if n := e.mailCount(); n != 1 {
		t.Fatalf("%d mails, want 1", n)
	}
	m := e.takeMail()
	if m.To[0] != userEmail || !strings.Contains(m.Text, e.base+"/t/"+e.org.Domain+"/") || !strings.Contains(m.Subject, "mot de passe") {
		t.Errorf("mail = %q %q", m.Subject, m.Text)
	}
	ev, _ := e.ids.ListEvents(context.Background(), e.org.Domain, identity.EventFilter{Code: identity.EventUserPasswordReset}, identity.PageRequest{})
	if ev.Total != 1 || ev.Items[0].ActorID != "console-user" {
		t.Errorf("events = %+v", ev.Items)
	}
}
