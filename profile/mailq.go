package profile

import (
	"context"
	"sync"

	"github.com/gatehouse-id/gatehouse/mail"
)

// mailQueue delivers mail off the request path: a bounded channel served
// by a fixed number of workers. A full queue drops the message (logged):
// a request never waits for a slow mail server, and the tokens the
// messages carry exist either way (callers can ask for another).
type mailQueue struct {
	mailer mail.Mailer
	logf   func(msg string, args ...any)

	ctx    context.Context // cancelled by Close: in-flight sends end
	cancel context.CancelFunc
	ch     chan mail.Message
	wg     sync.WaitGroup

	mu      sync.Mutex // guards closed and the send on ch (ch is closed under it)
	closed  bool
	pending int // enqueued and not yet handled
	idle    *sync.Cond
}

func newMailQueue(m mail.Mailer, workers, size int, logf func(string, ...any)) *mailQueue {
	q := &mailQueue{mailer: m, logf: logf, ch: make(chan mail.Message, size)}
	q.idle = sync.NewCond(&q.mu)
	q.ctx, q.cancel = context.WithCancel(context.Background())
	q.wg.Add(workers)
	for i := 0; i < workers; i++ {
		go q.work()
	}
	return q
}

func (q *mailQueue) work() {
	defer q.wg.Done()
	for m := range q.ch {
		if err := q.ctx.Err(); err != nil {
			q.logf("profile: email dropped at shutdown", "subject", m.Subject)
		} else if err := q.mailer.Send(q.ctx, m); err != nil {
			q.logf("profile: sending email failed", "subject", m.Subject, "err", err)
		}
		q.mu.Lock()
		q.pending--
		if q.pending == 0 {
			q.idle.Broadcast()
		}
		q.mu.Unlock()
	}
}

// enqueue hands m to a worker without blocking; it reports false (and
// logs) when the queue is full or closed.
func (q *mailQueue) enqueue(m mail.Message) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		q.logf("profile: email dropped: service closed", "subject", m.Subject)
		return false
	}
	select {
	case q.ch <- m:
		q.pending++
		return true
	default:
		q.logf("profile: email dropped: mail queue full", "subject", m.Subject, "capacity", cap(q.ch))
		return false
	}
}

// wait blocks until every enqueued message has been handled.
func (q *mailQueue) wait() {
	q.mu.Lock()
	for q.pending > 0 {
		q.idle.Wait()
	}
	q.mu.Unlock()
}

// close stops accepting mail. With drain, workers deliver what is queued
// until ctx ends; then (or at once without drain) in-flight sends are
// cancelled and the rest is dropped. It waits for the workers to exit.
func (q *mailQueue) close(ctx context.Context, drain bool) error {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.ch)
	}
	q.mu.Unlock()
	if !drain {
		q.cancel()
	}
	done := make(chan struct{})
	go func() { q.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		q.cancel()
		<-done
	}
	q.cancel()
	return err
}
