package sso

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/sso/saml"
)

// ReasonNoLogoutRequest: a LogoutResponse arrived whose RelayState names
// no pending SP-initiated logout (unknown, used, expired or of another
// connection).
const ReasonNoLogoutRequest = "no_logout_request"

// LogoutStart asks for the single logout of a user at the IdP of the
// connection that signed them in (SP-initiated SLO).
type LogoutStart struct {
	Env identity.Environment
	// IdPID is the connection (idp_id).
	IdPID  string
	UserID string
	// NameID and SessionIndex are what the IdP asserted at sign-in
	// (SignIn.NameID, SignIn.SessionIndex).
	NameID       string
	SessionIndex string
	// ReturnTo is where the browser goes once the IdP has answered; it
	// must already be validated (an application's allowed logout URL).
	// Empty: a "signed out" page.
	ReturnTo string
}

// logoutRequest is an SP-initiated LogoutRequest we sent, found by the
// SHA-256 of its RelayState (a secret the IdP sends back).
type logoutRequest struct {
	RequestID    string               `json:"request_id"`
	ConnectionID string               `json:"idp_id"`
	Env          identity.Environment `json:"env"`
	UserID       string               `json:"user_id,omitempty"`
	ReturnTo     string               `json:"return_to,omitempty"`
	ExpiresAt    time.Time            `json:"expires_at"`
}

var logoutRequests = kv.Records[logoutRequest]{Kind: "sso-logout-requests"}

// StartLogout returns the URL that logs a user out of the connection's IdP:
// its single logout endpoint with a signed LogoutRequest (HTTP-Redirect)
// whose RelayState is a single-use secret keying the stored request. The
// IdP answers at /enterprise/{idp_id}/slo, which sends the browser on to
// in.ReturnTo. ok is false when the connection cannot do single logout
// (unknown in in.Env, no valid IdP metadata, or an IdP without a
// SingleLogoutService): the caller then goes to ReturnTo itself.
func (s *Service) StartLogout(ctx context.Context, in LogoutStart) (string, bool, error) {
	if in.NameID == "" || !ValidConnectionID(in.IdPID) {
		return "", false, nil
	}
	c, id, err := s.loadConnection(ctx, in.IdPID)
	if isNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if id.Environment() != in.Env {
		return "", false, nil
	}
	sp, md, err := s.serviceProvider(ctx, c)
	if _, refused := asRefusal(err); refused {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if md.SLOURL == "" {
		return "", false, nil
	}
	relay, err := identity.NewSecret(id.Rand())
	if err != nil {
		return "", false, err
	}
	out, err := sp.NewLogoutRequest(in.NameID, in.SessionIndex, relay)
	if err != nil {
		return "", false, fmt.Errorf("sso: LogoutRequest: %w", err)
	}
	exp := s.now().Add(s.opts.AuthnRequestTTL)
	err = s.opts.Identity.Backend(kv.Inside()).Update(ctx, func(tx identity.Tx) error {
		return putExpiring(tx, logoutRequests, identity.HashSecret(relay), logoutRequest{RequestID: out.ID,
			ConnectionID: c.ID, Env: in.Env, UserID: in.UserID, ReturnTo: in.ReturnTo, ExpiresAt: exp}, exp)
	})
	if err != nil {
		return "", false, err
	}
	return out.URL, true, nil
}

// serveLogoutResponse handles the IdP's answer to StartLogout. The local
// session already ended; a refused answer is logged and shown as a failure
// so that the user knows the IdP session may still be open.
func (s *Service) serveLogoutResponse(w http.ResponseWriter, r *http.Request, c Connection, id *identity.Service, sp *saml.ServiceProvider) {
	ctx := r.Context()
	relay := sloParam(r, "RelayState")
	var lr logoutRequest
	var err error
	if relay != "" && len(relay) <= 128 {
		err = s.opts.Identity.Backend(kv.Inside()).Update(ctx, func(tx identity.Tx) (err error) {
			lr, err = takeRecord(tx, logoutRequests, identity.HashSecret(relay))
			return err
		})
	}
	if err != nil && !isNotFound(err) {
		s.log.Error("sso: read logout request", "idp_id", c.ID, "err", err)
		s.page(w, r, http.StatusServiceUnavailable, "unavailable")
		return
	}
	if relay == "" || err != nil || lr.ConnectionID != c.ID || !s.now().Before(lr.ExpiresAt) {
		s.fail(ctx, id, c, nil, ReasonNoLogoutRequest, "logout response with an unknown or expired RelayState")
		s.page(w, r, http.StatusForbidden, "failed")
		return
	}
	if err := sp.ParseLogoutResponse(ctx, r, s.SLOURL(c.ID), []string{lr.RequestID}); err != nil {
		reason, detail := string(saml.ReasonInvalid), err.Error()
		var se *saml.Error
		if errors.As(err, &se) {
			reason, detail = string(se.Reason), se.Detail
		}
		s.fail(ctx, id, c, nil, reason, "logout response: "+detail)
		s.page(w, r, http.StatusForbidden, "failed")
		return
	}
	if lr.ReturnTo != "" {
		http.Redirect(w, r, lr.ReturnTo, http.StatusFound)
		return
	}
	s.page(w, r, http.StatusOK, "signed_out")
}
