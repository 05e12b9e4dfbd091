// Package identitytest helps a host program test its own handlers against
// Gatehouse without a server: [New] opens an in-memory Gatehouse (a
// gatehouse.Gatehouse built by gatehouse.New on store/memory) seeded with
// an organization, a user and an application, and [Env.Token] mints real
// signed access tokens (and ID tokens) that [tokens.Middleware] accepts.
//
//	func TestInvoices(t *testing.T) {
//		env := identitytest.New(t)
//		h := env.Middleware()(invoicesHandler)
//		req := httptest.NewRequest("GET", "/invoices", nil)
//		req.Header.Set("Authorization", "Bearer "+env.Token(env.User()))
//		...
//	}
//
// Tokens are what the product issues: the same claims, issuers
// ({BaseURL}/t/{org} in production, {BaseURL}/sandbox/t/{org} in the
// sandbox), keys and lifetimes, so the checks a host relies on hold in its
// tests: a sandbox token fails a production verifier, another
// application's audience fails, an expired token fails. Token options
// choose the scopes, audience, custom claims, lifetime, organization and
// environment of a token; [Env.Advance] moves the fake clock that the
// services and the verifiers share, so expiry is tested without sleeping.
//
// The Env is the whole product, not a stand-in: [Env.Gatehouse] hands out
// its services and [Env.Handler] serves the hosted sign-in, discovery,
// JWKS and APIs. With [WithServer] that handler is served on an httptest
// server at the Env's base URL, so a test can sign a user in through the
// hosted page (authorization code with PKCE) and call the host's routes
// with the access token of that sign-in.
//
// The environment lives as long as the test: everything is released by
// t.Cleanup. Store internals stay out of reach, as everywhere in
// Gatehouse: the Env hands out services ([Env.Identity], [Env.TokenService],
// [Env.Gatehouse]), never the store.
//
// # Not for production
//
// Users get their passwords through a deliberately cheap hasher (one
// salted SHA-256, no work factor), so that a test suite creating many
// users with passwords stays fast. It exists only inside this package; the
// product hashes passwords with argon2id (package identity/password) and
// refuses parameters below the OWASP minimum. Nothing in this package is
// meant to serve real users: the store is in memory and the key-encryption
// key is ephemeral.
package identitytest
