package testing

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/gatehouse-id/gatehouse/tokens"
)

// ScopeRead is the scope a token needs to list invoices.
const ScopeRead = "invoices:read"

// Invoice is one invoice of an organization.
type Invoice struct {
	Number string `json:"number"`
	Amount int    `json:"amount_cents"`
}

// Invoices returns the invoices of an organization, by its Gatehouse
// domain.
type Invoices func(org string) []Invoice

// NewHandler returns the host's API: GET /orgs/{org}/invoices lists the
// invoices of org. Every request goes through auth, Gatehouse's token
// middleware (tokens.Middleware over the host's verifier), which answers
// 401 without a valid token. The handler itself refuses, with 403, a
// token of another organization than {org} (its `tnt` claim) or one
// without ScopeRead.
func NewHandler(auth func(http.Handler) http.Handler, invoices Invoices) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orgs/{org}/invoices", func(w http.ResponseWriter, r *http.Request) {
		c, ok := tokens.ClaimsFrom(r.Context())
		switch {
		case !ok:
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthenticated"})
		case c.Tenant != r.PathValue("org"):
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "other_organization"})
		case !slices.Contains(c.Scopes, ScopeRead):
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "insufficient_scope"})
		default:
			writeJSON(w, http.StatusOK, map[string]any{"org": c.Tenant, "user": c.Subject,
				"invoices": invoices(c.Tenant)})
		}
	})
	return auth(mux)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
