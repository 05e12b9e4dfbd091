package sso

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// DefaultAuthnRequestLimit bounds the AuthnRequests stored per client
// address within AuthnRequestTTL (Options.AuthnRequestLimit).
const DefaultAuthnRequestLimit = 300

// rateCounter is a fixed-window counter, in -/sso-rate/{sha256}.
type rateCounter struct {
	N int `json:"n"`
}

var rateCounters = kv.Records[rateCounter]{Kind: "sso-rate"}

// allowAuthnRequest counts one stored AuthnRequest for the client address
// of r in the current window and reports whether the limit still holds,
// with the seconds left in the window.
func (s *Service) allowAuthnRequest(ctx context.Context, r *http.Request) (bool, int, error) {
	now := s.now()
	window := s.opts.AuthnRequestTTL
	start := now.Truncate(window)
	id := identity.HashSecret("authn-addr\x00" + httpx.ClientAddress(r) + "\x00" + start.Format(time.RFC3339))
	ok := false
	err := s.opts.Identity.Backend(kv.Inside()).Update(ctx, func(tx identity.Tx) error {
		rec, err := rateCounters.Get(tx, id)
		if err != nil && !errors.Is(err, identity.ErrNotFound) {
			return err
		}
		if ok = rec.N < s.opts.AuthnRequestLimit; !ok {
			return nil
		}
		rec.N++
		if rec.N == 1 {
			return putExpiring(tx, rateCounters, id, rec, start.Add(window))
		}
		return rateCounters.Put(tx, id, rec)
	})
	return ok, int(start.Add(window).Sub(now)/time.Second) + 1, err
}

// tooManyRequests answers a client over the limit.
func (s *Service) tooManyRequests(w http.ResponseWriter, r *http.Request, retryAfter int) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	s.page(w, r, http.StatusTooManyRequests, "too_many_requests")
}
