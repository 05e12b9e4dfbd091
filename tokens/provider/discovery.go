package provider

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/gatehouse-id/gatehouse/tokens"
)

// DiscoveryMaxAge is the Cache-Control max-age of the discovery document
// (seconds): it changes only with the configuration (base URL, code), so
// relying parties may cache it for a few minutes.
const DiscoveryMaxAge = 300

// discovery serves the OpenID Provider metadata of an organization's issuer
// in the environment of the path (OpenID Connect Discovery 1.0 §3): the
// sandbox document names the sandbox issuer and endpoints under it. It
// lists exactly what the provider
// does: the code flow only (query response mode), PKCE S256 only, the
// client authentication methods authenticateClient accepts (HTTP Basic,
// form post, none for public clients) at the token, revocation and
// introspection endpoints, the scopes tokens.ProfileClaims reads, and the
// claims ID tokens and userinfo carry. It is served with
// Cache-Control: public, max-age=DiscoveryMaxAge.
func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	domain := r.PathValue("domain")
	if !p.orgExists(r.Context(), domain) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found"})
		return
	}
	iss := p.Issuer(envOf(r), domain)
	doc := map[string]any{
		"issuer":                                        iss,
		"authorization_endpoint":                        iss + "/authorize",
		"token_endpoint":                                iss + "/oauth/token",
		"userinfo_endpoint":                             iss + "/userinfo",
		"jwks_uri":                                      iss + "/.well-known/jwks",
		"revocation_endpoint":                           iss + "/oauth/revoke",
		"introspection_endpoint":                        iss + "/oauth/introspect",
		"end_session_endpoint":                          iss + "/logout",
		"response_types_supported":                      []string{"code"},
		"response_modes_supported":                      []string{"query"},
		"grant_types_supported":                         []string{"authorization_code", "refresh_token", "client_credentials"},
		"subject_types_supported":                       []string{"public"},
		"id_token_signing_alg_values_supported":         tokens.Algorithms(),
		"scopes_supported":                              []string{"openid", "email", "profile", "phone", "address"},
		"token_endpoint_auth_methods_supported":         []string{"client_secret_basic", "client_secret_post", "none"},
		"revocation_endpoint_auth_methods_supported":    []string{"client_secret_basic", "client_secret_post", "none"},
		"introspection_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":              []string{"S256"},
		"claims_supported": []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "c_hash",
			"email", "email_verified", "name", "given_name", "family_name", "middle_name", "nickname",
			"preferred_username", "profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale",
			"updated_at", "phone_number", "phone_number_verified", "address", "cid", "tnt", "dbs", "jti", "jtt",
			"ver", "scp", "ips", "sci", "application_metadata", "resource_owner_metadata"},
		"prompt_values_supported":                        []string{"none", "login"},
		"ui_locales_supported":                           []string{"en", "fr"},
		"claims_parameter_supported":                     false,
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
		"authorization_response_iss_parameter_supported": true,
	}
	body, err := json.Marshal(doc)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(DiscoveryMaxAge))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
