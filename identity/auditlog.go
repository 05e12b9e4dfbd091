package identity

import (
	"context"
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/kv"
)

func events(env Environment) kv.Records[Event] {
	return kv.Records[Event]{Env: string(env), Kind: "event", V2: true}
}

func eventSeq(id int64) string { return fmt.Sprintf("%016x", id) }

// event indexes: all events of an organization, and by each filter.
func eventSet(env Environment, orgID string, filter ...string) kv.Set {
	return kv.Set{Env: string(env), Parts: append([]string{"events", orgID}, filter...)}
}

// eventEpoch is the origin of event ids' time part.
var eventEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// nextEventID returns an event id: milliseconds since 2020 shifted left 14
// bits, plus a per-process sequence that starts each millisecond at a random
// offset below 2^13 and whose low eventDiscBits bits are the process's
// discriminator (see eventIDs), so instances sharing a store do not pick
// the same id. Ids increase within a process, follow time across
// processes, and stay below 2^53 so JavaScript clients read them exactly.
// They come from no shared counter, so audited writes of different
// organizations never contend on one key (which on PostgreSQL would
// serialize every write of the environment). A clash with an id written by
// another instance (one that drew the same discriminator) is detected in
// the transaction and skipped: here, on stores that answer the check, or
// on PostgreSQL by the insert's unique violation, which runs the
// transaction again with new ids. id is the first candidate (from
// eventIDs.next); keys returns the keys that writing the event under a
// candidate will read, read with the check of each further candidate in
// one round trip on stores where a read is one (kv.Prefetch).
func (t *Txn) nextEventID(ms, id int64, keys func(seq string) [][]byte) (int64, error) {
	for i := 0; i < 64; i++ {
		if i > 0 {
			if err := kv.Prefetch(t.tx, keys(eventSeq(id))...); err != nil {
				return 0, err
			}
		}
		ok, err := events(t.s.env).Exists(t.tx, eventSeq(id))
		if err != nil {
			return 0, err
		}
		if !ok {
			return id, nil
		}
		id = t.s.events.next(ms)
	}
	return 0, fmt.Errorf("no free event id at %d: %w", ms, ErrBusy)
}

// eventDiscBits is the width of the discriminator in an event id's low bits.
const eventDiscBits = 6

// eventIDs hands out strictly increasing event ids in one process. The low
// eventDiscBits bits of its ids are its discriminator, drawn at random when
// its Service is created: the ids of two instances that drew different
// ones never collide, whatever their clocks. The discriminator also names
// the count shard that the audit batches of the process write (see
// commitEvents), so that the batches of two instances never write one key.
type eventIDs struct {
	mu   sync.Mutex
	last int64
	disc int64
}

// newEventIDs returns a generator with a random discriminator.
func newEventIDs() *eventIDs {
	var b [1]byte
	_, _ = cryptorand.Read(b[:]) // never fails (it panics instead)
	return &eventIDs{disc: int64(b[0]) % (1 << eventDiscBits)}
}

func (g *eventIDs) next(ms int64) int64 {
	r := rand.Int64N(1 << (13 - eventDiscBits))
	g.mu.Lock()
	defer g.mu.Unlock()
	id := ms<<14 | r<<eventDiscBits | g.disc
	if id <= g.last {
		id = (g.last>>eventDiscBits+1)<<eventDiscBits | g.disc
	}
	g.last = id
	return id
}

// shard returns the count shard of the process's audit batches.
func (g *eventIDs) shard() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return int(g.disc)
}

// redraw replaces the discriminator with another one, for an instance
// whose batch lost a conflict: another instance may have drawn the same.
func (g *eventIDs) redraw() {
	d := 1 + rand.Int64N(1<<eventDiscBits-1)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.disc = (g.disc + d) % (1 << eventDiscBits)
}

// Log appends e to the audit log in the transaction: it assigns a new,
// increasing id (see nextEventID), stamps the time and indexes the event
// for the filters of ListEvents (code, client_id, saml_identity_provider_id).
func (t *Txn) Log(e *Event) error { return t.logEvents([]*Event{e}, nil) }

// logEvents logs es in order, as Log each. The keys their writes read
// (the id checks, the sets' members and counts) are read first, all in one
// round trip on stores where a read is one (kv.Prefetch), so that a batch
// of events costs a few round trips, not a few per event. With counts
// (a batch), the sets' count changes go through it, each count key
// written once at the end.
func (t *Txn) logEvents(es []*Event, counts *kv.CountBatch) error {
	sets := make([][]kv.Set, len(es))
	ids := make([]int64, len(es))
	var keys, fresh [][]byte
	for i, e := range es {
		if e.CreatedAt.IsZero() {
			e.CreatedAt = t.s.Now()
		}
		setActor(e, t.actor)
		var err error
		if sets[i], err = t.eventSets(e); err != nil {
			return err
		}
		if e.ID > 0 {
			ids[i] = e.ID // given when it was journaled (see journalEvents)
		} else {
			ids[i] = t.s.events.next(eventMS(e.CreatedAt))
		}
		seq := eventSeq(ids[i])
		fresh = append(fresh, events(t.s.env).Key(seq))
		for _, set := range sets[i] {
			k := set.AddKeysBatched(seq, counts) // the member's key, then its count's
			fresh, keys = append(fresh, k[0]), append(keys, k[1:]...)
		}
	}
	// The event's key and its sets' members are new under an id of this
	// instance (see nextEventID): stores where a read is a round trip do
	// not read them.
	kv.Fresh(t.w, fresh...)
	if err := kv.Prefetch(t.tx, keys...); err != nil {
		return err
	}
	for i, e := range es {
		id, err := t.nextEventID(eventMS(e.CreatedAt), ids[i],
			func(seq string) [][]byte { return t.eventKeys(sets[i], seq, counts) })
		if err != nil {
			return err
		}
		e.ID = id
		if e.TenantDomain == "" && e.OrgID != "" {
			if o, err := t.OrgByID(e.OrgID); err == nil {
				e.TenantDomain = o.Domain
			}
		}
		seq := eventSeq(id)
		if err := events(t.s.env).Put(t.w, seq, *e); err != nil {
			return err
		}
		for _, set := range sets[i] {
			if err := set.AddBatched(t.w, seq, nil, counts); err != nil {
				return err
			}
		}
		t.logged = append(t.logged, *e)
	}
	if counts != nil {
		return counts.Flush(t.w)
	}
	return nil
}

// setActor names a as the actor of e unless e names another: an event
// that names a's id without a kind gets a's kind.
func setActor(e *Event, a Actor) {
	switch e.ActorID {
	case "":
		e.ActorID, e.ActorKind = a.ID, a.Kind
	case a.ID:
		if e.ActorKind == "" {
			e.ActorKind = a.Kind
		}
	}
}

// eventMS is the time part of the ids of events created at.
func eventMS(at time.Time) int64 { return max(at.Sub(eventEpoch).Milliseconds(), 0) }

// eventKeys are the keys that writing an event with seq into sets
// (their counts through counts, if set) reads.
func (t *Txn) eventKeys(sets []kv.Set, seq string, counts *kv.CountBatch) [][]byte {
	keys := [][]byte{events(t.s.env).Key(seq)}
	for _, set := range sets {
		keys = append(keys, set.AddKeysBatched(seq, counts)...)
	}
	return keys
}

// eventSets are the sets that index e: the log of each organization it
// belongs to (eventOrgs) and the log's filters that e has a value for.
func (t *Txn) eventSets(e *Event) ([]kv.Set, error) {
	one := [1]string{e.OrgID}
	if one[0] == "" {
		one[0] = "-"
	}
	orgs := one[:]
	if len(e.Orgs) > 0 {
		var err error
		if orgs, err = t.eventOrgs(e); err != nil {
			return nil, err
		}
	}
	var sets []kv.Set
	for _, org := range orgs {
		sets = append(sets, eventSet(t.s.env, org))
		if e.Code != "" {
			sets = append(sets, eventSet(t.s.env, org, "code", e.Code))
		}
		if e.ClientID != "" {
			sets = append(sets, eventSet(t.s.env, org, "client", e.ClientID))
		}
		if e.SAMLIdPID != "" {
			sets = append(sets, eventSet(t.s.env, org, "idp", e.SAMLIdPID))
		}
	}
	return sets, nil
}

// eventOrgs returns the ids of the organizations whose logs list e: its
// OrgID's and those of its Orgs (AllOrgs standing for the account's
// organization), or "-" (the account-wide log) when there is none. The
// organizations are found whatever the scope of the service writing the
// event: a limited key's event belongs to the logs of what it reaches.
func (t *Txn) eventOrgs(e *Event) ([]string, error) {
	var out []string
	if e.OrgID != "" {
		out = append(out, e.OrgID)
	}
	for _, d := range e.Orgs {
		if d == AllOrgs {
			if d = t.s.account; d == "" {
				continue
			}
		}
		id, err := orgDomains.Lookup(t.tx, "", d)
		if errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if len(out) == 0 {
		out = append(out, "-")
	}
	return out, nil
}

// EventFilter selects log events; empty fields do not filter.
type EventFilter struct {
	Code      string
	ClientID  string
	SAMLIdPID string
	// ActorID keeps the events of one actor (a credential or a user).
	ActorID string
	// Since and Until, when set, keep the events created in [Since, Until].
	Since, Until time.Time
}

// eventClockSlack bounds how far an event's id may run ahead of its time
// (ids of one millisecond burst spill into the next ones; instances'
// clocks differ): a newest-first scan stops only this long before Since.
const eventClockSlack = time.Minute

// matches applies the filters that have no index (actor and time range).
func (f *EventFilter) matches(e *Event) bool {
	return (f.ActorID == "" || e.ActorID == f.ActorID) &&
		(f.Since.IsZero() || !e.CreatedAt.Before(f.Since)) &&
		(f.Until.IsZero() || !e.CreatedAt.After(f.Until))
}

func (f *EventFilter) unindexed() bool {
	return f.ActorID != "" || !f.Since.IsZero() || !f.Until.IsZero()
}

// pastSince reports whether a newest-first scan that reached e can stop.
func (f *EventFilter) pastSince(e *Event) bool {
	return !f.Since.IsZero() && e.CreatedAt.Before(f.Since.Add(-eventClockSlack))
}

// ListEvents lists an organization's log events, most recent first. With
// one filter the page comes straight from that filter's index and its
// maintained count; with several, the most selective index is read and the
// others are applied to it.
func (s *Service) ListEvents(ctx context.Context, orgDomain string, f EventFilter, req PageRequest) (Page[Event], error) {
	if err := s.drainJournal(ctx); err != nil {
		return Page[Event]{}, err
	}
	var p Page[Event]
	err := s.View(ctx, func(tx *ReadTxn) error {
		o, err := tx.Org(orgDomain)
		if err != nil {
			return err
		}
		type cand struct {
			set   kv.Set
			check func(*Event) bool
		}
		var cs []cand
		if f.Code != "" {
			cs = append(cs, cand{eventSet(s.env, o.ID, "code", f.Code), func(e *Event) bool { return e.Code == f.Code }})
		}
		if f.ClientID != "" {
			cs = append(cs, cand{eventSet(s.env, o.ID, "client", f.ClientID), func(e *Event) bool { return e.ClientID == f.ClientID }})
		}
		if f.SAMLIdPID != "" {
			cs = append(cs, cand{eventSet(s.env, o.ID, "idp", f.SAMLIdPID), func(e *Event) bool { return e.SAMLIdPID == f.SAMLIdPID }})
		}
		load := func(seq string) (Event, error) { return events(s.env).Get(tx.tx, seq) }
		if len(cs) <= 1 && !f.unindexed() {
			set := eventSet(s.env, o.ID)
			if len(cs) == 1 {
				set = cs[0].set
			}
			p, err = pageOf(tx.tx, set, req, load)
			return err
		}
		if len(cs) == 0 {
			cs = append(cs, cand{eventSet(s.env, o.ID), func(*Event) bool { return true }})
		}
		best, bestN := 0, -1
		for i, c := range cs {
			n, err := c.set.Count(tx.tx)
			if err != nil {
				return err
			}
			if bestN < 0 || n < bestN {
				best, bestN = i, n
			}
		}
		req = req.Normalize()
		p = Page[Event]{Page: req.Page, PerPage: req.PerPage, Items: []Event{}}
		matched := 0
		return cs[best].set.Each(tx.tx, true, func(seq string, _ []byte) error {
			e, err := load(seq)
			if err != nil {
				return err
			}
			if f.pastSince(&e) {
				return ErrStopScan
			}
			if !f.matches(&e) {
				return nil
			}
			for i, c := range cs {
				if i != best && !c.check(&e) {
					return nil
				}
			}
			if matched >= req.Offset() && len(p.Items) < req.PerPage {
				p.Items = append(p.Items, e)
			}
			matched++
			p.Total = matched
			return nil
		})
	})
	if errors.Is(err, ErrStopScan) {
		err = nil
	}
	return p, err
}

// MaxEventExport caps the events one ExportEvents call visits.
const MaxEventExport = 100000

// ExportEvents calls fn with an organization's events that match f, most
// recent first, at most MaxEventExport of them (an audit-log export), in
// one read transaction. Return ErrStopScan from fn to stop.
func (s *Service) ExportEvents(ctx context.Context, orgDomain string, f EventFilter, fn func(e *Event) error) error {
	if err := s.drainJournal(ctx); err != nil {
		return err
	}
	err := s.View(ctx, func(tx *ReadTxn) error {
		o, err := tx.Org(orgDomain)
		if err != nil {
			return err
		}
		set := eventSet(s.env, o.ID)
		switch {
		case f.Code != "":
			set = eventSet(s.env, o.ID, "code", f.Code)
		case f.ClientID != "":
			set = eventSet(s.env, o.ID, "client", f.ClientID)
		case f.SAMLIdPID != "":
			set = eventSet(s.env, o.ID, "idp", f.SAMLIdPID)
		}
		n := 0
		return set.Each(tx.tx, true, func(seq string, _ []byte) error {
			e, err := events(s.env).Get(tx.tx, seq)
			if err != nil {
				return err
			}
			if f.pastSince(&e) || n >= MaxEventExport {
				return ErrStopScan
			}
			if !f.matches(&e) || (f.Code != "" && e.Code != f.Code) || (f.ClientID != "" && e.ClientID != f.ClientID) ||
				(f.SAMLIdPID != "" && e.SAMLIdPID != f.SAMLIdPID) {
				return nil
			}
			n++
			return fn(&e)
		})
	})
	if errors.Is(err, ErrStopScan) {
		err = nil
	}
	return err
}

// ClientTokenEvent returns the TOKEN_ISSUED event of an access token that
// application app obtained for itself (the client_credentials grant) at
// the issuer of the organization with domain issuer. The event belongs to
// that organization's log, whichever organization app was created under
// (an application serving several organizations gets tokens at each
// one's issuer), and names app by its ClientID. An empty issuer (a
// token endpoint that names no organization) is app's own organization.
// data holds the details (the grant type).
func ClientTokenEvent(app *Application, issuer string, data map[string]any) *Event {
	e := &Event{Code: EventTokenIssued, ClientID: app.ClientID, TenantDomain: issuer, Data: data}
	if issuer == "" {
		e.OrgID = app.OrgID
	}
	return e
}

// LogEvent writes one event on its own (for outcomes that change nothing
// else, such as a failed login or a client_credentials token). An event
// without OrgID but with a TenantDomain belongs to the organization of that
// domain (an unknown domain leaves it without organization). A refused
// sign-in (an event whose Data holds a "reason") is also written to the
// service's log once stored: the reason is private to the account, which
// reads it through its audit log and its logs; the end user sees a generic
// refusal.
//
// LogEvent returns once the event is committed. Concurrent calls of one
// environment are committed together, in one transaction (group commit):
// under load, the events that arrive while one commit runs share the next
// one, so each pays a share of one durable write rather than one each.
// At most MaxPendingEvents wait per environment; beyond that a call waits
// for room until ctx ends. On a scoped Service (see For) the event is
// written in a transaction of its own.
//
// On a store with an audit journal (store/bolt, unless opened
// WithoutAuditJournal), "committed" means appended to the journal and
// synced, one sequential write per group; the events are written into
// the store in large transactions afterwards, before any ListEvents or
// ExportEvents reads the log, when the store closes, and after a crash
// when the next Service is created on it. An event whose ids the store
// would refuse fails its own call before the journal.
func (s *Service) LogEvent(ctx context.Context, e *Event) error {
	var err error
	if s.scope == nil {
		err = s.logBatched(ctx, e)
	} else {
		err = s.Update(ctx, func(tx *Txn) error { return tx.logEvent(e) })
	}
	if err == nil {
		s.logRefusal(ctx, e)
	}
	return err
}

// logRefusal writes a refused sign-in or credential to the service's log
// with the field names every face uses: event, reason, org, client_id,
// idp_id, user, env. Events without a reason are not logged.
func (s *Service) logRefusal(ctx context.Context, e *Event) {
	reason, _ := e.Data["reason"].(string)
	if reason == "" {
		return
	}
	attrs := []slog.Attr{slog.String("event", e.Code), slog.String("reason", reason),
		slog.String("org", e.TenantDomain), slog.String("env", string(s.env))}
	if e.ClientID != "" {
		attrs = append(attrs, slog.String("client_id", e.ClientID))
	}
	if e.SAMLIdPID != "" {
		attrs = append(attrs, slog.String("idp_id", e.SAMLIdPID))
	}
	if e.ResourceOwnerID != "" {
		attrs = append(attrs, slog.String("user_id", e.ResourceOwnerID))
	}
	if d, ok := e.Data["detail"].(string); ok && d != "" {
		attrs = append(attrs, slog.String("detail", d))
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "sign-in refused", attrs...)
}
