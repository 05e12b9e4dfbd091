package bolt

import (
	"sync"
	"sync/atomic"

	bbolt "go.etcd.io/bbolt"
)

// groupCommit coalesces concurrent Updates into shared transactions, so
// that they share one fsync, without waiting on a timer (bbolt's Batch
// waits MaxBatchDelay for company): the first writer to find no commit
// running commits at once, alone; writers arriving during a commit queue
// up, and when it ends the first of them commits all of them together.
// Under load a batch is whatever arrived during one commit; a lone writer
// never waits.
//
// A function that fails rolls its batch back; it is answered with its
// error and the others run again without it (each function may run more
// than once, as the identity.Store contract allows).
type groupCommit struct {
	mu      sync.Mutex
	pending []*commitCall
	busy    bool
	// maxBatch bounds the functions of one transaction.
	maxBatch int
	// commits counts the transactions run to their end (CommitStats).
	commits atomic.Int64
}

type commitCall struct {
	fn   func(*bbolt.Tx) error
	wake chan struct{}
	done bool
	err  error
}

// update runs fn in a transaction shared with concurrent callers and
// returns once that transaction has committed (or fn failed).
func (g *groupCommit) update(db *bbolt.DB, fn func(*bbolt.Tx) error) error {
	c := &commitCall{fn: fn, wake: make(chan struct{}, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, c)
	lead := !g.busy
	g.busy = true
	g.mu.Unlock()
	if !lead {
		<-c.wake
	}
	if !c.done {
		g.commit(db)
	}
	if p, ok := c.err.(panicError); ok {
		panic(p.v) // in the goroutine of the function that panicked
	}
	return c.err
}

// commit commits the pending calls (the caller's among them), at most
// maxBatch of them, wakes their callers, and hands over to the first call
// still pending, if any.
func (g *groupCommit) commit(db *bbolt.DB) {
	g.mu.Lock()
	n := min(len(g.pending), g.maxBatch)
	batch := append([]*commitCall(nil), g.pending[:n]...)
	g.pending = append(g.pending[:0:0], g.pending[n:]...)
	g.mu.Unlock()
	for len(batch) > 0 {
		failed := -1
		err := db.Update(func(tx *bbolt.Tx) error {
			for i, c := range batch {
				if err := safeCall(c.fn, tx); err != nil {
					failed, c.err = i, err
					return err
				}
			}
			return nil
		})
		g.commits.Add(1)
		if failed < 0 {
			// Committed, or the commit itself failed: the same outcome
			// for every call of the batch.
			for _, c := range batch {
				c.err = err
				c.done = true
				c.wake <- struct{}{}
			}
			break
		}
		c := batch[failed]
		c.done = true
		c.wake <- struct{}{}
		batch = append(batch[:failed:failed], batch[failed+1:]...)
		for _, c := range batch {
			c.err = nil
		}
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
func safeCall(fn func(*bbolt.Tx) error, tx *bbolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = panicError{p}
		}
	}()
	return fn(tx)
}

type panicError struct{ v any }

func (p panicError) Error() string { return "panic in a store transaction" }
