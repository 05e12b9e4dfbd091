package identity_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

func guess(t *testing.T, s *identity.Service, org, email string, right bool) (bool, error) {
	t.Helper()
	var ok bool
	err := s.Update(context.Background(), func(tx *identity.Txn) (err error) {
		ok, err = tx.CheckEmailCode(org, email, right)
		return err
	})
	return ok, err
}

// TestEmailCodeBudgets drives the guess and send budgets of the core with
// an injected clock.
func TestEmailCodeBudgets(t *testing.T) {
	ctx := context.Background()
	type step struct {
		advance time.Duration
		org     string
		email   string
		right   bool
		want    string // "ok", "wrong" or "locked"
	}
	limit := identity.DefaultCodeGuessLimit
	var steps []step
	for i := 0; i < limit; i++ {
		steps = append(steps, step{time.Minute, "acme", "jane@acme.test", false, "wrong"})
	}
	steps = append(steps,
		step{0, "acme", "jane@acme.test", true, "locked"},  // the right code too
		step{0, "acme", "JANE@acme.test", false, "locked"}, // case-insensitive
		step{0, "acme", "bob@acme.test", true, "ok"},       // per address
		step{0, "other", "jane@acme.test", true, "ok"},     // per organization
		// The first wrong guess leaves the sliding window: one guess again.
		step{time.Hour - 9*time.Minute, "acme", "jane@acme.test", false, "wrong"},
		step{0, "acme", "jane@acme.test", true, "locked"},
		step{time.Minute, "acme", "jane@acme.test", true, "ok"},
	)
	s, clk := loginService(t, memory.New(), nil)
	for i, st := range steps {
		clk.Advance(st.advance)
		ok, err := guess(t, s, st.org, st.email, st.right)
		got := "wrong"
		var be *identity.CodeBudgetError
		switch {
		case errors.As(err, &be) && errors.Is(err, identity.ErrLocked):
			got = "locked"
			if !be.RetryAt.After(clk.Now()) {
				t.Fatalf("step %d: retry at %v, now %v", i, be.RetryAt, clk.Now())
			}
		case err != nil:
			t.Fatalf("step %d: %v", i, err)
		case ok:
			got = "ok"
		}
		if got != st.want {
			t.Fatalf("step %d (%+v): %s", i, st, got)
		}
	}

	t.Run("sends", func(t *testing.T) {
		s, clk := loginService(t, memory.New(), nil)
		p := s.CodePolicy()
		send := func(addr string) error { return s.AllowCodeSend(ctx, "acme", "jane@acme.test", addr) }
		for i := 0; i < p.SendBurst; i++ {
			if err := send("10.0.0.1"); err != nil {
				t.Fatalf("burst send %d: %v", i+1, err)
			}
		}
		var be *identity.CodeBudgetError
		if err := send("10.0.0.1"); !errors.As(err, &be) || !errors.Is(err, identity.ErrBusy) ||
			!be.RetryAt.Equal(clk.Now().Add(p.SendCooldown)) {
			t.Fatalf("beyond the burst: %v", err)
		}
		// Another client address is not held back by the first one.
		if err := send("10.0.0.2"); err != nil {
			t.Fatalf("another client address: %v", err)
		}
		if err := send("10.0.0.2"); err == nil {
			t.Fatal("second address within its cooldown")
		}
		// The cooldown is bounded.
		clk.Advance(p.SendCooldown)
		if err := send("10.0.0.1"); err != nil {
			t.Fatalf("after the cooldown: %v", err)
		}
		// Another address of the organization has its own budget.
		if err := s.AllowCodeSend(ctx, "acme", "bob@acme.test", "10.0.0.1"); err != nil {
			t.Fatalf("another email: %v", err)
		}
		clk.Advance(p.SendWindow)
		for i := 0; i < p.SendBurst; i++ {
			if err := send("10.0.0.1"); err != nil {
				t.Fatalf("after the window, send %d: %v", i+1, err)
			}
		}
	})
	t.Run("options", func(t *testing.T) {
		s, err := identity.NewService(identity.Options{Store: memory.New(), CodeGuessLimit: 2, CodeGuessWindow: time.Minute,
			CodeSendBurst: 1, CodeSendWindow: time.Hour, CodeSendCooldown: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		want := identity.CodePolicy{GuessLimit: 2, GuessWindow: time.Minute, SendBurst: 1, SendWindow: time.Hour, SendCooldown: time.Hour}
		if s.CodePolicy() != want {
			t.Fatalf("policy %+v", s.CodePolicy())
		}
		for i := 0; i < 2; i++ {
			if _, err := guess(t, s, "acme", "a@acme.test", false); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := guess(t, s, "acme", "a@acme.test", true); !errors.Is(err, identity.ErrLocked) {
			t.Fatalf("third guess: %v", err)
		}
	})
}
