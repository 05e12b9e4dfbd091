package multiinstance

import (
	"context"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// keyStates returns the published keys of an issuer as seen by svc:
// state → kids.
func keyStates(t *testing.T, svc *tokens.Service, domain string) map[string][]string {
	t.Helper()
	infos, err := svc.Keys(context.Background(), identity.Production, domain)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, in := range infos {
		out[in.State] = append(out[in.State], in.KID)
	}
	for _, kids := range out {
		slices.Sort(kids)
	}
	return out
}

func TestKeyRotationOnceAcrossInstances(t *testing.T) {
	const period = 24 * time.Hour
	clk := newClock()
	var rotations atomic.Int64
	logger := slog.New(logCounter{msg: "tokens: signing key rotated", n: &rotations})
	insts := pair(t, clk, setup{logger: logger})
	ctx := context.Background()
	var svcs [2]*tokens.Service
	for i, in := range insts {
		svc, err := tokens.New(tokens.Options{Identity: in.ids, BaseURL: "https://id.example.test", RotationPeriod: period})
		if err != nil {
			t.Fatal(err)
		}
		svcs[i] = svc
	}
	name := "Key Rotators"
	org, err := insts[0].ids.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	app, _, err := insts[1].ids.CreateApplication(ctx, org.Domain, identity.Application{Name: "front",
		ApplicationType: identity.AppReact, AllowedRedirectURLs: []string{"http://localhost:4200/callback"},
		AllowedOriginsCORS: []string{"http://localhost:4200"}})
	if err != nil {
		t.Fatal(err)
	}
	user, err := insts[0].ids.CreateUser(ctx, org.Domain, identity.User{Email: "kim@example.com", Enabled: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	req := func() *tokens.TokenRequest {
		return &tokens.TokenRequest{OrgDomain: org.Domain, User: user, App: app, Scopes: []string{"openid", "email"}}
	}
	const racers = 8
	// sign races both instances signing a token; it returns the kids used.
	sign := func(t *testing.T) []string {
		t.Helper()
		kids := make([]string, racers)
		race(racers, func(inst, i int) {
			tok, err := svcs[inst].IssueAccessToken(ctx, req())
			if err != nil {
				t.Errorf("instance %d signs: %v", inst, err)
				return
			}
			kids[i] = tok.KeyID
		})
		return kids
	}
	// agree checks that both instances read the same key set and returns
	// it.
	agree := func(t *testing.T) map[string][]string {
		t.Helper()
		a, b := keyStates(t, svcs[0], org.Domain), keyStates(t, svcs[1], org.Domain)
		for _, st := range []string{"active", "next", "retired"} {
			if !slices.Equal(a[st], b[st]) {
				t.Fatalf("instances disagree on the %s keys: %v vs %v", st, a, b)
			}
		}
		return a
	}

	// The first signature, raced, creates one key set.
	kids := sign(t)
	if len(slices.Compact(slices.Clone(kids))) != 1 || kids[0] == "" {
		t.Fatalf("first signatures used keys %v, want one key for every racer", kids)
	}
	st := agree(t)
	if len(st["active"]) != 1 || len(st["next"]) != 1 || len(st["retired"]) != 0 || st["active"][0] != kids[0] {
		t.Fatalf("after creation: %v (signed with %s)", st, kids[0])
	}
	first, next := st["active"][0], st["next"][0]

	t.Run("scheduled, RotateDue", func(t *testing.T) {
		rotations.Store(0)
		clk.Advance(period)
		var reported atomic.Int64
		race(racers, func(inst, i int) {
			n, err := svcs[inst].RotateDue(ctx)
			if err != nil {
				t.Errorf("instance %d RotateDue: %v", inst, err)
			}
			reported.Add(int64(n))
		})
		if n := rotations.Load(); n != 1 {
			t.Fatalf("%d rotations performed by %d racing RotateDue calls, want exactly 1", n, racers)
		}
		if n := reported.Load(); n < 1 {
			t.Errorf("RotateDue calls reported %d rotations in total, want at least 1", n)
		} else if n > 1 {
			// RotateDue counts a rotation made by the other instance
			// while it waited as its own (keys.go: the active kid
			// changed); the key set itself was rotated once.
			t.Logf("RotateDue calls reported %d rotations in total for 1 performed", n)
		}
		st := agree(t)
		if !slices.Equal(st["active"], []string{next}) || !slices.Equal(st["retired"], []string{first}) ||
			len(st["next"]) != 1 || st["next"][0] == next {
			t.Fatalf("after racing RotateDue: %v, want active %s (the published next), retired %s, one new next", st, next, first)
		}
		for _, kid := range sign(t) {
			if kid != next {
				t.Fatalf("an instance signed with %s after the rotation, want %s", kid, next)
			}
		}
		next = st["next"][0]
	})

	t.Run("on demand, Rotate", func(t *testing.T) {
		rotations.Store(0)
		before := agree(t)
		// The next key must be known to every cached JWKS before it signs.
		clk.Advance(svcs[0].JWKSMaxAge())
		race(racers, func(inst, i int) {
			if _, err := svcs[inst].Rotate(ctx, identity.Production, org.Domain); err != nil {
				t.Errorf("instance %d Rotate: %v", inst, err)
			}
		})
		if n := rotations.Load(); n != 1 {
			t.Fatalf("%d rotations performed by %d racing Rotate calls, want exactly 1", n, racers)
		}
		st := agree(t)
		if !slices.Equal(st["active"], []string{next}) || len(st["retired"]) != len(before["retired"])+1 ||
			!slices.Contains(st["retired"], before["active"][0]) || len(st["next"]) != 1 || st["next"][0] == next {
			t.Fatalf("after racing Rotate: %v (before: %v)", st, before)
		}
		for _, kid := range sign(t) {
			if kid != next {
				t.Fatalf("an instance signed with %s after the rotation, want %s", kid, next)
			}
		}
	})
}
