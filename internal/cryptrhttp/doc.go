// Package cryptrhttp is Cryptr's management API 2.0 wire format and the
// route framework of the /api/v2 endpoints.
//
// Three packages serve /api/v2 routes: identity/api (the Cryptr face
// itself), sso/ssoapi (SSO connections) and tokens/provider (the headless
// magic-link challenge). They share one authentication (Mux.Handle checks
// the Bearer management token, the organization and the permission), one
// error format (Error, AsError, WriteError), one parameter parser
// (DecodeParams, Reader) and one rendering (WriteJSON, Envelope, Time,
// WriteList). The framework lives here, not in identity/api, so that no
// face imports another: identity/api re-exports the names hosts use.
package cryptrhttp
