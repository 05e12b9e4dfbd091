package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/journal"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// The audit journal. On a store that offers one (store/bolt), the events
// LogEvent writes on their own are made durable by appending them to the
// store's journal (one sequential write and one fdatasync per group of
// concurrent callers) rather than by a transaction of the store; they are
// written into the store later, many per transaction (applyJournal):
//
//   - when journalApplyAfter events are pending, or the oldest has waited
//     journalApplyAge (checked by each group that appends; a goroutine
//     of its own writes them);
//   - before the audit log is read (ListEvents, ExportEvents), so a
//     reader sees every event acknowledged before its call;
//   - when the store closes, or after a crash when a Service is next
//     created on the store (NewService), from the journal's files.
//
// The transaction that writes a batch also records the journal sequence
// number of its last event (the counter journalMarker), and skips events
// at or below it: an event is written once, even when the process stopped
// between that commit and the journal forgetting the events.
//
// LogEvent still returns only once its event is durable, so an outcome
// acknowledged afterwards (a token handed out) is never ahead of its
// audit record; the event hooks run then, with the event's id.

// journalMarker is the sequence number of the last journaled event the
// store holds.
var journalMarker = kv.Counter{Name: "audit-journal"}

const (
	// journalApplyAfter is the number of pending events that starts a
	// write into the store.
	journalApplyAfter = 512
	// journalApplyAge is how long the oldest pending event waits at most
	// before a group that appends starts a write into the store.
	journalApplyAge = 100 * time.Millisecond
	// journalMaxPending bounds the pending events: beyond it, a group
	// writes them into the store itself before appending (back-pressure).
	journalMaxPending = 16 * MaxPendingEvents
)

// journaled is the store capability the audit journal needs; wrappers
// that pass it through implement Unwrap.
type journaled interface {
	AuditJournal() (*journal.Log, error)
}

// journalOf returns the audit journal of st, looking through wrappers
// that implement Unwrap() Store, or nil.
func journalOf(st Store) (*journal.Log, error) {
	for range 16 {
		if j, ok := st.(journaled); ok {
			return j.AuditJournal()
		}
		u, ok := st.(interface{ Unwrap() Store })
		if !ok {
			return nil, nil
		}
		st = u.Unwrap()
	}
	return nil, nil
}

// journalRecord is one event as the journal holds it.
type journalRecord struct {
	Env   Environment `json:"env"`
	Event Event       `json:"event"`
}

// openJournal attaches the store's audit journal to s and writes into the
// store the events a previous process journaled and did not write.
func (s *Service) openJournal(ctx context.Context) error {
	j, err := journalOf(s.store)
	if err != nil {
		return fmt.Errorf("open the audit journal: %w", err)
	}
	if j == nil {
		return nil
	}
	if n := j.Dropped(); n > 0 {
		s.log.Warn("identity: the audit journal had torn records at its end (a crash during an append, never acknowledged); they were cut",
			"count", n)
	}
	var marker int64
	if err := s.store.View(ctx, func(tx ReadTx) error {
		var err error
		marker, err = journalMarker.Value(tx)
		return err
	}); err != nil {
		return fmt.Errorf("read the audit journal's marker: %w", err)
	}
	j.Advance(uint64(marker))
	j.SetApplier(s.applyJournal)
	if n, _ := j.Pending(); n > 0 {
		if err := j.Apply(ctx); err != nil {
			return fmt.Errorf("write the %d events of the audit journal into the store: %w", n, err)
		}
		s.log.Info("identity: wrote the audit journal's pending events into the store", "count", n)
	}
	s.journal = j
	return nil
}

// ReplayAuditJournal writes into st the audit events that st's audit
// journal holds and st lacks (store/bolt, after a process stopped without
// closing it), as NewService does, for a tool that opens a store without
// a Service, such as a copy to another backend (cmd/gatehouse-migrate):
// it needs no key-encryption key. It returns how many events the journal
// held; the journal's files go when st closes.
func ReplayAuditJournal(ctx context.Context, st Store) (int, error) {
	s, err := newService(Options{Store: st})
	if err != nil {
		return 0, err
	}
	j, err := journalOf(st)
	if err != nil || j == nil {
		return 0, err
	}
	n, _ := j.Pending()
	if err := s.openJournal(ctx); err != nil {
		return 0, err
	}
	return n, nil
}

// drainJournal writes the pending journaled events into the store, so
// that a reader of the audit log sees them.
func (s *Service) drainJournal(ctx context.Context) error {
	if s.journal == nil {
		return nil
	}
	if n, _ := s.journal.Pending(); n == 0 {
		return nil
	}
	if err := s.journal.Apply(ctx); err != nil {
		return fmt.Errorf("write the audit journal into the store: %w", err)
	}
	return nil
}

// journalEvents appends the batch's events to the journal and sets each
// caller's outcome: durable (nil) or not acknowledged (an error). An
// event the store would refuse fails alone, before the append.
func (s *Service) journalEvents(ctx context.Context, batch []*pendingEvent) {
	j := s.journal
	if n, _ := j.Pending(); n >= journalMaxPending {
		// The store does not keep up: write what is pending first.
		if err := j.Apply(ctx); err != nil {
			for _, pe := range batch {
				pe.err = fmt.Errorf("audit journal full and the store refused its events: %w", err)
			}
			return
		}
	}
	recs := make([][]byte, 0, len(batch))
	ok := make([]*pendingEvent, 0, len(batch))
	for _, pe := range batch {
		e := pe.e
		if err := checkEvent(e); err != nil {
			pe.err = err
			continue
		}
		if e.CreatedAt.IsZero() {
			e.CreatedAt = s.Now()
		}
		if slices.Contains(e.Orgs, AllOrgs) && s.account != "" {
			// The account's organization, named now: whoever writes the
			// journal into the store needs no account option.
			e.Orgs = slices.Clone(e.Orgs)
			for i, d := range e.Orgs {
				if d == AllOrgs {
					e.Orgs[i] = s.account
				}
			}
		}
		e.ID = s.events.next(eventMS(e.CreatedAt))
		raw, err := json.Marshal(journalRecord{Env: s.env, Event: *e})
		if err != nil {
			pe.err = fmt.Errorf("%w: event: %v", ErrInvalid, err)
			continue
		}
		recs, ok = append(recs, raw), append(ok, pe)
	}
	if _, err := j.Append(recs); err != nil {
		for _, pe := range ok {
			pe.err = fmt.Errorf("audit journal: %w", err)
		}
		return
	}
	logged := make([]Event, len(ok))
	for i, pe := range ok {
		logged[i] = *pe.e
	}
	s.runEventHooks(ctx, logged)
	if n, oldest := j.Pending(); n >= journalApplyAfter || (n > 0 && time.Since(oldest) >= journalApplyAge) {
		j.ApplyAsync(func(err error) {
			s.log.Warn("identity: writing the audit journal into the store failed; its events stay in the journal", "err", err)
		})
	}
}

// advanceMarker moves the journal marker up to seq (never down).
func advanceMarker(tx Tx, seq uint64) error {
	marker, err := journalMarker.Value(tx)
	if err != nil || int64(seq) <= marker {
		return err
	}
	return journalMarker.Set(tx, int64(seq))
}

// checkEvent refuses an event whose keys the store would refuse (a
// separator byte in an id), so that a journaled event is always written.
func checkEvent(e *Event) error {
	return kv.CheckParts(append([]string{e.OrgID, e.TenantDomain, e.Code, e.ClientID, e.SAMLIdPID}, e.Orgs...)...)
}

// applyJournal is the journal's applier: it writes recs into the store in
// one transaction with the marker, skipping those at or below it. If that
// transaction fails, each record is written alone; one that the store
// refuses while it still accepts the marker past it is reported and
// skipped (the journal must not stall on it), and a store that accepts
// nothing keeps them all pending.
func (s *Service) applyJournal(ctx context.Context, recs []journal.Record) error {
	decoded := make([]journalRecord, len(recs))
	for i, r := range recs {
		if err := json.Unmarshal(r.Data, &decoded[i]); err != nil || !decoded[i].Env.Valid() {
			s.log.Error("identity: an audit journal record is unreadable; skipped", "journal_seq", r.Seq, "err", err)
			decoded[i].Env = ""
		}
	}
	ctx = kv.WithBulk(ctx) // many events at once, which no request waits for
	write := func(from, to int) error {
		return s.store.Update(ctx, func(tx Tx) error {
			marker, err := journalMarker.Value(tx)
			if err != nil {
				return err
			}
			byEnv := map[Environment][]*Event{}
			for i := from; i < to; i++ {
				if int64(recs[i].Seq) <= marker || decoded[i].Env == "" {
					continue
				}
				e := decoded[i].Event
				byEnv[decoded[i].Env] = append(byEnv[decoded[i].Env], &e)
			}
			for _, env := range []Environment{Production, Sandbox} {
				es := byEnv[env]
				if len(es) == 0 {
					continue
				}
				es2 := *s
				es2.env = env
				t := &Txn{ReadTxn: ReadTxn{s: &es2, tx: tx}, w: tx}
				if err := t.batchEventOrgs(es); err != nil {
					return err
				}
				if err := t.logEvents(es, kv.InShard(s.events.shard())); err != nil {
					return err
				}
			}
			return advanceMarker(tx, recs[to-1].Seq)
		})
	}
	err := write(0, len(recs))
	if err == nil || len(recs) == 1 {
		return err
	}
	for i := range recs {
		if err := write(i, i+1); err != nil {
			if ctx.Err() != nil {
				return err
			}
			s.log.Error("identity: the store refuses an audit journal event; skipped", "journal_seq", recs[i].Seq,
				"event", decoded[i].Event.Code, "err", err)
			if err := s.store.Update(ctx, func(tx Tx) error { return advanceMarker(tx, recs[i].Seq) }); err != nil {
				return err
			}
		}
	}
	return nil
}
