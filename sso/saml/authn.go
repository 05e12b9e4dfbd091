package saml

import (
	"fmt"

	csaml "github.com/crewjam/saml"
)

// Redirect is an outbound SAML request (AuthnRequest or LogoutRequest)
// sent with the HTTP-Redirect binding.
type Redirect struct {
	// URL is where to redirect the browser: the IdP endpoint with the
	// deflated, base64 message, the RelayState and, when Config.SPKey is
	// set, SigAlg and Signature (for an AuthnRequest, unless
	// Config.UnsignedAuthnRequests applies).
	URL string
	// ID is the request ID (160 random bits). Bind it to the browser (for
	// example in a cookie, or server-side state keyed by a cookie) and to
	// the store, then pass it as a possible request id when the answer
	// comes back (ParseResponse, ParseLogoutResponse); consume it once used.
	ID string
}

// NewAuthnRequest builds an AuthnRequest for the IdP's SSO URL and returns
// the redirect URL and the request ID. relayState (at most
// MaxRelayStateBytes) comes back unchanged with the response; use an
// opaque, unguessable key, never a URL to redirect to.
func (p *ServiceProvider) NewAuthnRequest(relayState string) (*Redirect, error) {
	if len(relayState) > MaxRelayStateBytes {
		return nil, fmt.Errorf("saml: RelayState is %d bytes, over %d", len(relayState), MaxRelayStateBytes)
	}
	sp := p.newCrewjam(p.now())
	if !p.signsAuthnRequests() {
		sp.SignatureMethod = ""
	}
	req, err := sp.MakeAuthenticationRequest(p.cfg.IdP.SSOURL, csaml.HTTPRedirectBinding, csaml.HTTPPostBinding)
	if err != nil {
		return nil, fmt.Errorf("saml: make AuthnRequest: %w", err)
	}
	u, err := req.Redirect(relayState, sp)
	if err != nil {
		return nil, fmt.Errorf("saml: encode AuthnRequest: %w", err)
	}
	return &Redirect{URL: u.String(), ID: req.ID}, nil
}

// signsAuthnRequests reports whether AuthnRequests are signed (and the
// metadata says so).
func (p *ServiceProvider) signsAuthnRequests() bool {
	return p.cfg.SPKey != nil && (!p.cfg.UnsignedAuthnRequests || p.cfg.IdP.WantAuthnRequestsSigned)
}
