package bolt

import (
	"sync"
	"sync/atomic"

	"github.com/gatehouse-id/gatehouse/identity"
)

// groupCommit coalesces concurrent Updates into shared commits, so that
// they share one fsync, without waiting on a timer (bbolt's Batch waits
// MaxBatchDelay for company): the first writer to find no commit running
// commits at once, alone; writers arriving during a commit queue up, and
// when it ends the first of them commits all of them together. Under load
// a batch is whatever arrived during one commit; a lone writer never
// waits.
//
// How a batch is committed is the store's choice (exec): one bbolt
// transaction (execBolt), or the write-ahead log (execLog).
type groupCommit struct {
	mu      sync.Mutex
	pending []*commitCall
	busy    bool
	// maxBatch bounds the functions of one batch.
	maxBatch int
	// commits counts the commits run to their end (CommitStats): bbolt
	// transactions, or appends to the write-ahead log.
	commits atomic.Int64
}

// commitCall is one Update waiting for its batch. exec sets err.
type commitCall struct {
	fn func(identity.Tx) error
	// bulk: the caller marked its writes as bulk (kv.WithBulk).
	bulk bool
	wake chan struct{}
	done bool
	err  error
}

// update runs fn in a batch shared with concurrent callers and returns
// once that batch has committed (or fn failed).
func (g *groupCommit) update(fn func(identity.Tx) error, bulk bool, exec func([]*commitCall)) error {
	c := &commitCall{fn: fn, bulk: bulk, wake: make(chan struct{}, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, c)
	lead := !g.busy
	g.busy = true
	g.mu.Unlock()
	if !lead {
		<-c.wake
	}
	if !c.done {
		g.commit(exec)
	}
	if p, ok := c.err.(panicError); ok {
		panic(p.v) // in the goroutine of the function that panicked
	}
	return c.err
}

// commit commits the pending calls (the caller's among them), at most
// maxBatch of them, wakes their callers, and hands over to the first call
// still pending, if any.
func (g *groupCommit) commit(exec func([]*commitCall)) {
	g.mu.Lock()
	n := min(len(g.pending), g.maxBatch)
	batch := append([]*commitCall(nil), g.pending[:n]...)
	g.pending = append(g.pending[:0:0], g.pending[n:]...)
	g.mu.Unlock()
	exec(batch)
	for _, c := range batch {
		c.done = true
		c.wake <- struct{}{}
	}
	g.mu.Lock()
	if len(g.pending) > 0 {
		g.pending[0].wake <- struct{}{} // not done: it commits the next batch
	} else {
		g.busy = false
	}
	g.mu.Unlock()
}

// safeCall runs fn, turning a panic into an error so that one caller's
// panic does not leave the others of its batch waiting forever.
func safeCall(fn func(identity.Tx) error, tx identity.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = panicError{p}
		}
	}()
	return fn(tx)
}

type panicError struct{ v any }

func (p panicError) Error() string { return "panic in a store transaction" }
