package identity

import (
	"context"
	"errors"
	"sync"

	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// MaxPendingEvents bounds the events of one environment that LogEvent
// callers have handed over and that are not yet committed. A caller beyond
// it waits for room (back-pressure) until its context ends.
const MaxPendingEvents = 4096

// auditQueues group-commit the events that LogEvent writes on their own:
// concurrent callers of one environment share one store transaction, and
// so one durable write, instead of paying one each. Each caller still
// returns only once its event is committed (or failed), so an outcome it
// acknowledges afterwards (a token handed out) is never ahead of its audit
// record. There is no background goroutine and no timer: the first caller
// to find the queue idle commits whatever has accumulated, including its
// own event; callers arriving meanwhile queue up, and when the commit ends
// the first of them takes over with everything that accumulated, so a
// batch is what arrived during one commit.
type auditQueues struct {
	byEnv [2]auditQueue // Production, Sandbox
}

func (a *auditQueues) of(env Environment) *auditQueue {
	if env == Sandbox {
		return &a.byEnv[1]
	}
	return &a.byEnv[0]
}

type auditQueue struct {
	once     sync.Once
	room     chan struct{} // one token per pending event (bounded)
	mu       sync.Mutex
	pending  []*pendingEvent
	flushing bool
}

// pendingEvent is one caller's event. wake is signalled once, either with
// the outcome (done) or to make the caller commit the next batch.
type pendingEvent struct {
	e    *Event
	wake chan struct{}
	done bool
	err  error
}

func (q *auditQueue) init() { q.once.Do(func() { q.room = make(chan struct{}, MaxPendingEvents) }) }

// logBatched writes e in a transaction shared with the events other
// callers are writing at the same time, and returns once it is committed.
func (s *Service) logBatched(ctx context.Context, e *Event) error {
	q := s.audit.of(s.env)
	q.init()
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case q.room <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	setActor(e, s.actorOf(ctx)) // the caller's, not the batch leader's
	pe := &pendingEvent{e: e, wake: make(chan struct{}, 1)}
	q.mu.Lock()
	q.pending = append(q.pending, pe)
	lead := !q.flushing
	q.flushing = true
	q.mu.Unlock()
	if !lead {
		// Committed by another caller, or handed the next batch. Waiting
		// is bounded by one commit, so it does not watch ctx: the event
		// may be committing already.
		<-pe.wake
		if pe.done {
			return pe.err
		}
	}
	q.flush(context.WithoutCancel(ctx), s)
	return pe.err
}

// flush commits every pending event (its caller's among them), wakes their
// callers, and hands the queue to the first caller that arrived meanwhile.
// The batch is taken when the transaction starts (see commitEvents), so
// it also holds the events that arrived while the store got ready.
func (q *auditQueue) flush(ctx context.Context, s *Service) {
	var batch []*pendingEvent
	take := func() []*pendingEvent {
		if batch == nil {
			q.mu.Lock()
			batch = q.pending
			q.pending = nil
			q.mu.Unlock()
		}
		return batch
	}
	if s.journal != nil {
		s.journalEvents(ctx, take())
	} else {
		s.commitEvents(ctx, take)
	}
	take() // when the transaction failed before taking it
	for _, pe := range batch {
		<-q.room
		pe.done = true
		pe.wake <- struct{}{}
	}
	q.mu.Lock()
	if len(q.pending) > 0 {
		q.pending[0].wake <- struct{}{} // not done: it commits the next batch
	} else {
		q.flushing = false
	}
	q.mu.Unlock()
}

// commitEvents writes the batch that take returns (the same at each
// call) in one transaction. If that transaction fails, each event is
// written on its own, so one bad event fails alone; each event's outcome
// is set in its pendingEvent.
//
// On a store shared by several instances, their batches append to the
// same sets at the same time. They do not conflict: each instance's
// events have ids of their own (the discriminator of eventIDs) and its
// batches count them in a count shard of their own (the same
// discriminator), and the transaction runs at snapshot isolation
// (kv.AppendOnly), where only a key that two transactions write is a
// conflict; the only other reads are the organizations of the events,
// which the batch does not write. An instance whose batch lost a conflict
// anyway (another drew the same discriminator) draws another one.
func (s *Service) commitEvents(ctx context.Context, take func() []*pendingEvent) {
	var batch []*pendingEvent
	attempts := 0
	err := s.Update(ctx, func(tx *Txn) error {
		if attempts++; attempts > 1 {
			s.events.redraw()
		}
		kv.AppendOnly(tx.w)
		batch = take()
		es := make([]*Event, len(batch))
		for i, pe := range batch {
			es[i] = pe.e
		}
		if err := tx.batchEventOrgs(es); err != nil {
			return err
		}
		return tx.logEvents(es, kv.InShard(s.events.shard()))
	})
	if batch == nil {
		batch = take()
	}
	if err == nil || len(batch) == 1 {
		for _, pe := range batch {
			pe.err = err
		}
		return
	}
	for _, pe := range batch {
		pe.err = s.Update(ctx, func(tx *Txn) error { return tx.logEvent(pe.e) })
	}
}

// logEvent is LogEvent's write: the event's organization is found by
// TenantDomain (see eventOrg), then the event is logged.
func (tx *Txn) logEvent(e *Event) error {
	if err := tx.eventOrg(e); err != nil {
		return err
	}
	return tx.Log(e)
}

// batchEventOrgs is eventOrg for a batch of events: their organizations
// are read in one round trip (kv.Prefetch), and each domain once.
func (tx *Txn) batchEventOrgs(es []*Event) error {
	var domains [][]byte
	for _, e := range es {
		if e.OrgID == "" && e.TenantDomain != "" {
			domains = append(domains, orgDomains.LookupKey("", e.TenantDomain))
		}
	}
	if err := kv.Prefetch(tx.w, domains...); err != nil {
		return err
	}
	ids := map[string]string{} // domain → id ("" unknown)
	for _, e := range es {
		if e.OrgID != "" || e.TenantDomain == "" {
			continue
		}
		id, seen := ids[e.TenantDomain]
		if !seen {
			probe := Event{TenantDomain: e.TenantDomain}
			if err := tx.eventOrg(&probe); err != nil {
				return err
			}
			id, ids[e.TenantDomain] = probe.OrgID, probe.OrgID
		}
		if e.OrgID = id; id == "" {
			e.TenantDomain = "" // unknown: the account-wide log, as eventOrg does
		}
	}
	return nil
}

// eventOrg sets the OrgID of an event that has none from its
// TenantDomain; an unknown domain leaves it without organization.
func (tx *Txn) eventOrg(e *Event) error {
	if e.OrgID != "" || e.TenantDomain == "" {
		return nil
	}
	id, err := tx.OrgID(e.TenantDomain)
	switch {
	case err == nil:
		e.OrgID = id
	case errors.Is(err, ErrNotFound):
		e.TenantDomain = ""
	default:
		return err
	}
	return nil
}
