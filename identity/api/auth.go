package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/cryptrhttp"
)

// ManagementTokens issues and verifies the short-lived management JWTs
// (`jtt: api_key`) that POST /api/v2/oauth/token hands out for an API key.
// The tokens package provides the implementation (see TokensAdapter);
// verification must be cheap for a token seen before (the tokens verifier
// caches verified tokens), because every request presents one.
type ManagementTokens interface {
	// IssueManagementToken signs a token for the credential, issued by the
	// account, and returns it with its expiry.
	IssueManagementToken(ctx context.Context, cred *identity.Credential, accountDomain string) (token string, expiresAt time.Time, err error)
	// VerifyManagementToken checks a token and returns its claims; an
	// invalid or expired token is an error.
	VerifyManagementToken(ctx context.Context, token string) (*TokenClaims, error)
}

// noBearer is the 401 of a request without a Bearer token: its challenge
// names no error (RFC 6750 section 3.1), where a token that fails says
// error="invalid_token".
func noBearer(msg string) *Error {
	e := Unauthorized(msg)
	e.Header = http.Header{"Www-Authenticate": {`Bearer realm="api"`}}
	return e
}

// authenticate checks the Bearer token of r.
func (h *Handler) authenticate(r *http.Request) (*Principal, error) {
	raw := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(strings.TrimSpace(raw), " ")
	if raw == "" {
		return nil, noBearer("an Authorization: Bearer management token is required")
	}
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") {
		return nil, noBearer("the Authorization header must be Bearer <token>")
	}
	if !ok || tok == "" || len(tok) > 8192 {
		return nil, Unauthorized("the Authorization header must be Bearer <token>")
	}
	claims, err := h.tokens.VerifyManagementToken(r.Context(), tok)
	if err != nil || claims == nil {
		return nil, Unauthorized("the management token is invalid or expired")
	}
	svc, ok := h.services[claims.Environment]
	if !ok {
		return nil, Unauthorized("the management token is invalid or expired")
	}
	cred, err := h.creds.get(r.Context(), svc, claims.CredentialID)
	if err != nil {
		if errors.Is(err, identity.ErrNotFound) {
			return nil, Unauthorized("the API key of this token no longer exists")
		}
		return nil, err
	}
	if cred.Environment != claims.Environment {
		return nil, Unauthorized("the management token is invalid or expired")
	}
	if cred.ExpiresAt != nil && !svc.Now().Before(*cred.ExpiresAt) {
		return nil, Unauthorized("the API key has expired")
	}
	scoped, err := svc.Scoped(cred)
	if err != nil {
		return nil, err
	}
	return &Principal{Credential: cred, Claims: *claims, Service: scoped}, nil
}

// tokenAnswer is the answer of POST /api/v2/oauth/token.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	ExpiresAt   int64  `json:"expires_at"`
	Scope       string `json:"scope"`
}

func oauthError(status int, code, msg string) *Error {
	e := &Error{Status: status, Code: code, Message: msg}
	if status == http.StatusUnauthorized {
		e.Header = http.Header{"Www-Authenticate": {`Basic realm="api"`}}
	}
	return e
}

// token serves POST /api/v2/oauth/token: the client_credentials grant of
// an API key. The client authenticates with client_id and client_secret
// in the body (JSON or form) or with HTTP Basic; the account may be named
// under domain, tenant_domain or audience.
func (h *Handler) token(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Pragma", "no-cache")
	p, err := DecodeParams(r)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Status == http.StatusBadRequest {
			return oauthError(http.StatusBadRequest, "invalid_request", e.Message)
		}
		return err
	}
	rd := p.Reader()
	str := func(name string) string {
		if s := rd.String(name); s != nil {
			return strings.TrimSpace(*s)
		}
		return ""
	}
	grant, id, secret := str("grant_type"), str("client_id"), str("client_secret")
	account := str("domain")
	for _, alt := range []string{"tenant_domain", "audience"} {
		if account == "" {
			account = str(alt)
		}
	}
	if rd.Err() != nil {
		return oauthError(http.StatusBadRequest, "invalid_request", rd.Err().Error())
	}
	if grant == "" && str("code") != "" && r.Header.Get("Authorization") != "" {
		// Cryptr's Kotlin SDK (validateSsoChallenge) sends a headless
		// code with the management token and no grant_type.
		grant = "authorization_code"
	}
	if f, ok := h.routes.Grant(grant); ok && grant != "client_credentials" {
		// Grants of route groups (the headless code exchange) are served
		// for a management token, in its environment and scope.
		pr, err := h.authenticate(r)
		if err != nil {
			var e *Error
			if errors.As(err, &e) && e.Status == http.StatusUnauthorized {
				return oauthError(http.StatusUnauthorized, "invalid_client", e.Message)
			}
			return err
		}
		return f(w, r, pr, p)
	}
	if bid, bsecret, ok := r.BasicAuth(); ok {
		if id != "" && id != bid {
			return oauthError(http.StatusBadRequest, "invalid_request", "client_id differs from the Basic credentials")
		}
		id, secret = bid, bsecret
	}
	switch {
	case grant == "":
		return oauthError(http.StatusBadRequest, "invalid_request", "grant_type is required")
	case grant != "client_credentials":
		return oauthError(http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials"+h.grantNames())
	case id == "" || secret == "":
		return oauthError(http.StatusUnauthorized, "invalid_client", "client_id and client_secret are required")
	case len(id) > 256 || len(secret) > 1024:
		return oauthError(http.StatusUnauthorized, "invalid_client", "invalid client credentials")
	}
	svc := h.services[identity.Production]
	cred, err := svc.AuthenticateCredential(r.Context(), id, secret)
	if err != nil {
		if errors.Is(err, identity.ErrUnauthenticated) || errors.Is(err, identity.ErrExpired) || errors.Is(err, identity.ErrNotFound) {
			cryptrhttp.Logger(r.Context()).WarnContext(r.Context(), "management token refused",
				"credential_id", truncateID(id), "reason", err.Error())
			if lerr := svc.LogCredentialFailure(r.Context(), id, err); lerr != nil {
				return lerr
			}
			return oauthError(http.StatusUnauthorized, "invalid_client", "invalid client credentials")
		}
		return err
	}
	if account != "" && h.account != "" && account != h.account {
		return oauthError(http.StatusUnauthorized, "invalid_client", "invalid client credentials")
	}
	envSvc, ok := h.services[cred.Environment]
	if !ok {
		return oauthError(http.StatusUnauthorized, "invalid_client", "invalid client credentials")
	}
	tok, exp, err := h.tokens.IssueManagementToken(r.Context(), cred, h.account)
	if err != nil {
		return err
	}
	if err := envSvc.LogEvent(r.Context(), identity.CredentialEvent(identity.EventAPIKeyTokenIssued, cred,
		map[string]any{"environment": string(cred.Environment)})); err != nil {
		return err
	}
	now := envSvc.Now()
	WriteJSON(w, http.StatusOK, tokenAnswer{AccessToken: tok, TokenType: "Bearer",
		ExpiresIn: int64(exp.Sub(now).Round(time.Second) / time.Second), ExpiresAt: exp.Unix(),
		Scope: strings.Join(cred.Permissions, " ")})
	return nil
}

// grantNames lists the grants of route groups for an error message.
func (h *Handler) grantNames() string {
	if _, ok := h.routes.Grant("authorization_code"); ok {
		return " (or authorization_code with a management token)"
	}
	return ""
}

func truncateID(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}

// credCache keeps decoded API keys. Every lookup compares the stored
// record with the cached one (one key read, no decoding), so a deleted or
// changed key is seen by the very next request.
type credCache struct {
	mu sync.RWMutex
	m  map[string]cachedCred
}

type cachedCred struct {
	raw  []byte
	cred *identity.Credential
}

// maxCachedCreds bounds the cache; past it the cache starts over.
const maxCachedCreds = 10000

func (c *credCache) get(ctx context.Context, svc *identity.Service, id string) (*identity.Credential, error) {
	c.mu.RLock()
	e, ok := c.m[id]
	c.mu.RUnlock()
	var out *identity.Credential
	err := svc.CredentialRecord(ctx, id, func(raw []byte) error {
		if ok && bytes.Equal(raw, e.raw) {
			out = e.cred
			return nil
		}
		var cred identity.Credential
		if err := json.Unmarshal(raw, &cred); err != nil {
			return err
		}
		out = &cred
		e = cachedCred{raw: append([]byte(nil), raw...), cred: out}
		ok = false
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		c.mu.Lock()
		if c.m == nil || len(c.m) >= maxCachedCreds {
			c.m = map[string]cachedCred{}
		}
		c.m[id] = e
		c.mu.Unlock()
	}
	return out, nil
}
