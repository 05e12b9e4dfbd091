package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// Email codes and magic links: the budgets that bound them, per
// (organization, email address), whatever request, browser or client
// address asks. They live in the core so that every face that sends or
// checks codes shares them.
//
// Guess budget (Options.CodeGuessLimit, CodeGuessWindow; defaults 10 per
// hour): at most CodeGuessLimit wrong codes for one address within any
// CodeGuessWindow (a sliding window). Sending a new code does not reset
// it. Once it is spent, codes for that address stop working, even the
// right one, until the oldest wrong guess leaves the window. A 6-digit
// code then gets at most 10 guesses an hour: a one-in-100,000 chance per
// hour, instead of about 25 guesses per ten minutes without end.
//
// Send budget (Options.CodeSendBurst, CodeSendWindow, CodeSendCooldown;
// defaults 5 per 10 minutes, 1 minute): up to CodeSendBurst mails to one
// address within any CodeSendWindow go at once; beyond that each client
// address may send again once per CodeSendCooldown. So a third party who
// floods an address can slow its mail down but never lock its owner out
// for longer than the cooldown (the owner's own client address has its own
// cooldown), and mail to one inbox stays bounded. Refused sends do not
// count, and the budgets never revoke a link or code already sent: it
// stays usable until it expires.

// Defaults of the code budgets.
const (
	DefaultCodeGuessLimit   = 10
	DefaultCodeGuessWindow  = time.Hour
	DefaultCodeSendBurst    = 5
	DefaultCodeSendWindow   = 10 * time.Minute
	DefaultCodeSendCooldown = time.Minute
)

// maxSendLog bounds the sends remembered per address beyond the burst.
const maxSendLog = 64

// CodeBudgetError is the refusal of a code guess or send whose budget is
// spent. It wraps ErrLocked (guesses) or ErrBusy (sends).
type CodeBudgetError struct {
	// Err is ErrLocked or ErrBusy.
	Err error
	// RetryAt is when the budget admits the next guess or send.
	RetryAt time.Time
}

// Error describes the refusal without the address.
func (e *CodeBudgetError) Error() string {
	return fmt.Sprintf("email code budget spent (%v) until %s", e.Err, e.RetryAt.UTC().Format(time.RFC3339))
}

// Unwrap returns the sentinel.
func (e *CodeBudgetError) Unwrap() error { return e.Err }

// codeBudget is the record of one (organization, email): the times of
// recent wrong guesses and of recent sends (with the hash of the client
// address that asked).
type codeBudget struct {
	Wrong []time.Time  `json:"wrong,omitempty"`
	Sends []codeSendAt `json:"sends,omitempty"`
	// Expires is when the record is due for the sweeper.
	Expires time.Time `json:"expires"`
}

type codeSendAt struct {
	At   time.Time `json:"at"`
	Addr string    `json:"addr"`
}

func codeBudgets(env Environment) kv.Records[codeBudget] {
	return kv.Records[codeBudget]{Env: string(env), Kind: "email-code-budget"}
}

// budgetKey is the record id of an address: a hash, so the store never
// holds the addresses typed on a login page.
func budgetKey(orgDomain, email string) string {
	return HashSecret(orgDomain + "\x00" + NormalizeEmail(email))
}

func (t *Txn) loadBudget(orgDomain, email string) (codeBudget, string, error) {
	id := budgetKey(orgDomain, email)
	b, err := codeBudgets(t.s.env).Get(t.tx, id)
	if errors.Is(err, ErrNotFound) {
		return codeBudget{}, id, nil
	}
	return b, id, err
}

// saveBudget writes b, moving its expiry to the end of its longest window.
func (t *Txn) saveBudget(id string, old, b codeBudget, now time.Time) error {
	recs := codeBudgets(t.s.env)
	if !old.Expires.IsZero() {
		if err := kv.CancelExpiry(t.w, old.Expires, recs.Key(id)); err != nil {
			return err
		}
	}
	b.Expires = now.Add(max(t.s.codes.GuessWindow, t.s.codes.SendWindow))
	if err := recs.Put(t.w, id, b); err != nil {
		return err
	}
	return kv.ScheduleExpiry(t.w, b.Expires, recs.Key(id))
}

// CodePolicy is the service's email-code budget policy.
type CodePolicy struct {
	GuessLimit   int
	GuessWindow  time.Duration
	SendBurst    int
	SendWindow   time.Duration
	SendCooldown time.Duration
}

// CodePolicy returns the service's email-code budgets (defaults applied).
func (s *Service) CodePolicy() CodePolicy { return s.codes }

// CheckEmailCode spends the guess budget of (orgDomain, email) on one code
// guess, inside the caller's transaction (which also consumes the code
// when right reports a match). It returns whether the guess is accepted:
// right, with budget left. A wrong guess is counted; once the budget is
// spent every guess, right or not, is refused with a *CodeBudgetError
// wrapping ErrLocked. Unknown addresses are counted alike.
func (t *Txn) CheckEmailCode(orgDomain, email string, right bool) (bool, error) {
	now := t.s.Now()
	b, id, err := t.loadBudget(orgDomain, email)
	if err != nil {
		return false, err
	}
	old := b
	b.Wrong = keepAfter(b.Wrong, now.Add(-t.s.codes.GuessWindow))
	if len(b.Wrong) >= t.s.codes.GuessLimit {
		return false, &CodeBudgetError{Err: ErrLocked, RetryAt: b.Wrong[len(b.Wrong)-t.s.codes.GuessLimit].Add(t.s.codes.GuessWindow)}
	}
	if right {
		return true, nil
	}
	b.Wrong = append(b.Wrong, now)
	return false, t.saveBudget(id, old, b, now)
}

// AllowCodeSend spends the send budget of (orgDomain, email) on one mail
// asked from clientAddr (see the send budget above). A refusal is a
// *CodeBudgetError wrapping ErrBusy, with the time the client may retry.
// Known and unknown addresses are counted alike.
func (s *Service) AllowCodeSend(ctx context.Context, orgDomain, email, clientAddr string) error {
	return s.Update(ctx, func(tx *Txn) error { return tx.spendSendBudget(orgDomain, email, clientAddr) })
}

// AllowCodeSend is Service.AllowCodeSend inside the caller's
// transaction, so that a face spends the send budget in the commit that
// stores the code or link it sends (a refusal then rolls that back too).
func (t *Txn) AllowCodeSend(orgDomain, email, clientAddr string) error {
	return t.spendSendBudget(orgDomain, email, clientAddr)
}

// spendSendBudget is AllowCodeSend inside the caller's transaction.
func (t *Txn) spendSendBudget(orgDomain, email, clientAddr string) error {
	s := t.s
	now := s.Now()
	b, id, err := t.loadBudget(orgDomain, email)
	if err != nil {
		return err
	}
	old := b
	from := now.Add(-s.codes.SendWindow)
	kept := b.Sends[:0:0]
	for _, x := range b.Sends {
		if x.At.After(from) {
			kept = append(kept, x)
		}
	}
	b.Sends = kept
	addr := HashSecret("addr\x00" + clientAddr)
	if len(b.Sends) >= s.codes.SendBurst {
		for i := len(b.Sends) - 1; i >= 0; i-- {
			if b.Sends[i].Addr == addr && now.Before(b.Sends[i].At.Add(s.codes.SendCooldown)) {
				return &CodeBudgetError{Err: ErrBusy, RetryAt: b.Sends[i].At.Add(s.codes.SendCooldown)}
			}
		}
	}
	b.Sends = append(b.Sends, codeSendAt{At: now, Addr: addr})
	if n := len(b.Sends) - (s.codes.SendBurst + maxSendLog); n > 0 {
		b.Sends = b.Sends[n:]
	}
	return t.saveBudget(id, old, b, now)
}

// keepAfter returns the times of ts after from (ts is in order).
func keepAfter(ts []time.Time, from time.Time) []time.Time {
	i := 0
	for i < len(ts) && !ts[i].After(from) {
		i++
	}
	return append([]time.Time(nil), ts[i:]...)
}
