package sso

import (
	"context"
	"net/http"
	"strconv"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// DefaultAuthnRequestLimit bounds the AuthnRequests stored per client
// address within AuthnRequestTTL (Options.AuthnRequestLimit).
const DefaultAuthnRequestLimit = 300

// allowAuthnRequest counts one stored AuthnRequest for the client address
// of r in the current window (kind sso-rate) and reports whether the limit
// still holds, with the seconds left in the window.
func (s *Service) allowAuthnRequest(ctx context.Context, r *http.Request) (bool, int, error) {
	now := s.now()
	w := kv.Window{Kind: "sso-rate", Size: s.opts.AuthnRequestTTL}
	ok, end := false, now
	err := s.opts.Identity.Backend(kv.Inside()).Update(ctx, func(tx identity.Tx) (err error) {
		ok, end, err = w.Take(tx, "authn-addr\x00"+httpx.ClientAddress(r), s.opts.AuthnRequestLimit, now)
		return err
	})
	return ok, kv.RetryAfter(now, end), err
}

// tooManyRequests answers a client over the limit.
func (s *Service) tooManyRequests(w http.ResponseWriter, r *http.Request, retryAfter int) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	s.page(w, r, http.StatusTooManyRequests, "too_many_requests")
}
