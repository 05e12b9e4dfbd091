package kv

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// Window counts events per key in fixed time windows, in the store, so
// that every instance on one store shares the count: the rate limits on
// stored requests and mails per client address (the OIDC provider's,
// SSO's) are Windows. Each window's counter expires with the window (see
// ScheduleExpiry), so nothing accumulates.
type Window struct {
	// Kind is the record kind the counters are kept under (account-wide);
	// register it in identity/kinds.go.
	Kind string
	// Size is the length of a window.
	Size time.Duration
}

// windowCount is one window's counter.
type windowCount struct {
	N int `json:"n"`
}

// Take counts one event for key in the window that holds now, unless limit
// events are already counted there. It reports whether the event was
// counted and when the window ends. key is stored only as a SHA-256, with
// the window's start.
func (w Window) Take(tx Tx, key string, limit int, now time.Time) (ok bool, end time.Time, err error) {
	start := now.Truncate(w.Size)
	end = start.Add(w.Size)
	sum := sha256.Sum256([]byte(key + "\x00" + start.Format(time.RFC3339)))
	recs := Records[windowCount]{Kind: w.Kind}
	id := hex.EncodeToString(sum[:])
	rec, err := recs.Get(tx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return false, end, err
	}
	if rec.N >= limit {
		return false, end, nil
	}
	rec.N++
	if err := recs.Put(tx, id, rec); err != nil {
		return false, end, err
	}
	if rec.N == 1 {
		if err := ScheduleExpiry(tx, end, recs.Key(id)); err != nil {
			return false, end, err
		}
	}
	return true, end, nil
}

// RetryAfter is the whole number of seconds from now until end, at least 1:
// what a Retry-After header says for a window that ends at end.
func RetryAfter(now, end time.Time) int {
	return int(end.Sub(now)/time.Second) + 1
}
