package saml

import (
	"context"
	"fmt"
	"net/http"
	"time"

	csaml "github.com/crewjam/saml"
)

// LogoutRequest is a verified IdP-initiated logout request: end the
// sessions of NameID at this connection (only those with one of
// SessionIndexes, when any are given), then redirect the browser to
// LogoutResponseURL(ID, relayState).
type LogoutRequest struct {
	ID             string
	NameID         string
	NameIDFormat   string
	SessionIndexes []string
	IssueInstant   time.Time
}

// MaxLogoutMessageBytes bounds a decoded (and inflated) logout message,
// below Config.MaxMessageBytes: a signed LogoutRequest or LogoutResponse
// is a few kilobytes. The message is inflated and parsed before its
// signature is checked, and a 1 KB deflated query string inflated to the
// 256 KB of a response cost 40 to 110 ms.
const MaxLogoutMessageBytes = 32 << 10

// inboundParam bounds the SAMLRequest/SAMLResponse of a redirect (GET,
// deflated) or POST message before the library decodes it again.
func (p *ServiceProvider) inboundParam(r *http.Request, param string) *Error {
	max := min(p.cfg.MaxMessageBytes, MaxLogoutMessageBytes)
	switch r.Method {
	case http.MethodGet:
		if len(r.URL.RawQuery) > 3*maxEncodedLen(max)+4096 {
			return fail(ReasonTooLarge, "query string too long", nil)
		}
		raw, ferr := decodeBase64Bounded(r.URL.Query().Get(param), max)
		if ferr != nil {
			return ferr
		}
		if _, err := inflateBounded(raw, max); err != nil {
			if err == errInflateLimit {
				return fail(ReasonTooLarge, fmt.Sprintf("inflated %s over %d bytes", param, max), err)
			}
			return fail(ReasonMalformed, "", err)
		}
	case http.MethodPost:
		if err := r.ParseForm(); err != nil {
			return fail(ReasonMalformed, "form", err)
		}
		if _, ferr := decodeBase64Bounded(r.PostForm.Get(param), max); ferr != nil {
			return ferr
		}
	default:
		return fail(ReasonMalformed, "method "+r.Method, nil)
	}
	return nil
}

// ParseLogoutRequest verifies an IdP-initiated LogoutRequest received at
// receivedURL (which must be Config.SLOURL) with the HTTP-Redirect or
// HTTP-POST binding. It must be signed by a metadata certificate (query
// string or XML signature), addressed to the SLO URL, issued by the IdP and
// recent; its ID is claimed in the replay cache. Bound the request body
// (http.MaxBytesReader) before calling it. Errors are *Error.
func (p *ServiceProvider) ParseLogoutRequest(ctx context.Context, r *http.Request, receivedURL string) (*LogoutRequest, error) {
	lr, ferr := p.parseLogoutRequest(ctx, r, receivedURL)
	if ferr != nil {
		return nil, ferr
	}
	return lr, nil
}

func (p *ServiceProvider) parseLogoutRequest(ctx context.Context, r *http.Request, receivedURL string) (*LogoutRequest, *Error) {
	if err := ctx.Err(); err != nil {
		return nil, fail(ReasonCanceled, "", err)
	}
	if p.cfg.SLOURL == "" || receivedURL != p.cfg.SLOURL {
		return nil, fail(ReasonDestination, fmt.Sprintf("received at %q, SLO URL is %q", receivedURL, p.cfg.SLOURL), nil)
	}
	if ferr := p.inboundParam(r, "SAMLRequest"); ferr != nil {
		return nil, ferr
	}
	sp := p.newCrewjam(p.now())
	req, err := sp.ValidateLogoutRequest(r)
	if err != nil {
		return nil, classify(err)
	}
	if req.NameID == nil || req.NameID.Value == "" {
		return nil, fail(ReasonMissingElement, "LogoutRequest has no NameID", nil)
	}
	until := req.IssueInstant.Add(csaml.MaxIssueDelay + MaxAllowedSkew)
	ok, err := p.cfg.ReplayCache.Claim(ctx, p.cfg.ConnectionID, "LogoutRequest:"+req.ID, until)
	if err != nil {
		return nil, fail(ReasonReplayCacheError, "", err)
	}
	if !ok {
		return nil, fail(ReasonReplay, fmt.Sprintf("LogoutRequest %q was already used", req.ID), nil)
	}
	out := &LogoutRequest{ID: req.ID, NameID: req.NameID.Value, NameIDFormat: req.NameID.Format, IssueInstant: req.IssueInstant}
	for _, si := range req.AllSessionIndexes() {
		out.SessionIndexes = append(out.SessionIndexes, si.Value)
	}
	return out, nil
}

// LogoutResponseURL answers a verified LogoutRequest: the URL of the IdP's
// SLO endpoint carrying a success LogoutResponse (HTTP-Redirect binding,
// signed when Config.SPKey is set).
func (p *ServiceProvider) LogoutResponseURL(logoutRequestID, relayState string) (string, error) {
	if p.cfg.IdP.SLOURL == "" {
		return "", fmt.Errorf("saml: the IdP metadata has no SingleLogoutService")
	}
	sp := p.newCrewjam(p.now())
	u, err := sp.MakeRedirectLogoutResponse(logoutRequestID, relayState)
	if err != nil {
		return "", fmt.Errorf("saml: make LogoutResponse: %w", err)
	}
	return u.String(), nil
}

// NewLogoutRequest starts an SP-initiated single logout of nameID (and
// sessionIndex, if not empty) at the IdP, with the HTTP-Redirect binding.
// Keep the returned ID to check the IdP's answer with ParseLogoutResponse.
func (p *ServiceProvider) NewLogoutRequest(nameID, sessionIndex, relayState string) (*Redirect, error) {
	if p.cfg.IdP.SLOURL == "" {
		return nil, fmt.Errorf("saml: the IdP metadata has no SingleLogoutService")
	}
	if len(relayState) > MaxRelayStateBytes {
		return nil, fmt.Errorf("saml: RelayState is %d bytes, over %d", len(relayState), MaxRelayStateBytes)
	}
	sp := p.newCrewjam(p.now())
	var opts []csaml.LogoutRequestOption
	if sessionIndex != "" {
		opts = append(opts, csaml.WithSessionIndex(sessionIndex))
	}
	req, err := sp.MakeLogoutRequest(p.cfg.IdP.SLOURL, nameID, opts...)
	if err != nil {
		return nil, fmt.Errorf("saml: make LogoutRequest: %w", err)
	}
	u, err := sp.RedirectLogoutRequestURL(req, relayState)
	if err != nil {
		return nil, fmt.Errorf("saml: encode LogoutRequest: %w", err)
	}
	return &Redirect{URL: u.String(), ID: req.ID}, nil
}

// ParseLogoutResponse verifies the IdP's answer to NewLogoutRequest,
// received at receivedURL (Config.SLOURL): signed, addressed to us, from
// the IdP, successful, and in response to one of possibleRequestIDs.
func (p *ServiceProvider) ParseLogoutResponse(ctx context.Context, r *http.Request, receivedURL string, possibleRequestIDs []string) error {
	if err := ctx.Err(); err != nil {
		return fail(ReasonCanceled, "", err)
	}
	if p.cfg.SLOURL == "" || receivedURL != p.cfg.SLOURL {
		return fail(ReasonDestination, fmt.Sprintf("received at %q, SLO URL is %q", receivedURL, p.cfg.SLOURL), nil)
	}
	if ferr := p.inboundParam(r, "SAMLResponse"); ferr != nil {
		return ferr
	}
	sp := p.newCrewjam(p.now())
	if _, err := sp.ParseLogoutResponse(r, possibleRequestIDs); err != nil {
		return classify(err)
	}
	return nil
}
