package sso_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestMetadataExpiry: a connection's metadata expires at the earliest of
// its validUntil and its signing certificate's end; without metadata
// there is no date.
func TestMetadataExpiry(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	idp := f.connection()
	d, err := f.svc.GetConnection(ctx, f.id, idp)
	if err != nil {
		t.Fatal(err)
	}
	md := f.idp.Metadata()
	want := f.idp.Certificate.NotAfter
	if !md.ValidUntil.IsZero() && md.ValidUntil.Before(want) {
		want = md.ValidUntil
	}
	if got := d.Connection.MetadataExpiry(); !got.Equal(want.Truncate(time.Second)) && !got.Equal(want) {
		t.Errorf("MetadataExpiry = %v, want %v", got, want)
	}
	d.Connection.Metadata = ""
	if got := d.Connection.MetadataExpiry(); !got.IsZero() {
		t.Errorf("without metadata: %v", got)
	}
	d.Connection.Metadata = "<not metadata"
	if got := d.Connection.MetadataExpiry(); !got.IsZero() {
		t.Errorf("with broken metadata: %v", got)
	}
}

// TestSetupLinkAudited: creating a setup link (it opens the connection's
// configuration) writes an audit event naming the connection.
func TestSetupLinkAudited(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	idp := f.connection()
	before := f.lastEvent(identity.EventSSOOnboardingUpdated)
	if _, err := f.svc.NewSetupLink(identity.WithActor(ctx, "console-user"), f.id, idp); err != nil {
		t.Fatal(err)
	}
	e := f.lastEvent(identity.EventSSOOnboardingUpdated)
	if e == nil || (before != nil && e.ID == before.ID) || e.SAMLIdPID != idp || e.ActorID != "console-user" ||
		e.Data["setup_link"] != "created" {
		t.Errorf("event = %+v", e)
	}
}
