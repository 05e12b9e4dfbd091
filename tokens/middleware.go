package tokens

import (
	"context"
	"errors"
	"net/http"
	"strings"
)

type claimsKey struct{}

// WithClaims returns a context carrying c (what Middleware does; useful in
// tests of handlers).
func WithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFrom returns the verified claims Middleware put in the context.
func ClaimsFrom(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// BearerToken returns the token of an `Authorization: Bearer <token>`
// header (scheme matched case-insensitively), or "".
func BearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return ""
	}
	return strings.TrimSpace(h[7:])
}

// Middleware authenticates requests with the bearer token of their
// Authorization header. A valid token's claims go into the request context
// (ClaimsFrom). Otherwise it answers 401 with a JSON body and
// `WWW-Authenticate: Bearer error="invalid_token"` (only `Bearer` when the
// request carries no token, as RFC 6750 §3.1 asks), and the wrapped
// handler is not called. The error description is generic (expired or
// invalid); details are not echoed to the client.
func Middleware(v TokenVerifier) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok := BearerToken(r)
			if tok == "" {
				unauthorized(w, `Bearer`, "authorization_header_missing")
				return
			}
			c, err := v.Verify(r.Context(), tok)
			if err != nil {
				desc := "the access token is invalid"
				if errors.Is(err, ErrTokenExpired) {
					desc = "the access token expired"
				}
				unauthorized(w, `Bearer error="invalid_token", error_description="`+desc+`"`, "invalid_token")
				return
			}
			next.ServeHTTP(w, r.WithContext(WithClaims(r.Context(), c)))
		})
	}
}

func unauthorized(w http.ResponseWriter, challenge, code string) {
	h := w.Header()
	h.Set("WWW-Authenticate", challenge)
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(`{"error":"` + code + `"}`))
}
