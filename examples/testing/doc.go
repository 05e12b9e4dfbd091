// Package testing shows how a host program tests its own handlers against
// Gatehouse with package identitytest: an in-memory Gatehouse with a real
// organization, user and application, and real signed tokens, with no
// server to start and no token to hand-craft.
//
// The host here is a small invoices API (NewHandler): each organization
// sees its own invoices, at GET /orgs/{org}/invoices, to users whose access
// token grants the invoices:read scope. In production the host wraps it
// with Gatehouse's middleware over a verifier of its application's
// audience:
//
//	v, err := tok.NewVerifier(tokens.VerifierConfig{Audiences: []string{"https://app.example"}})
//	// or, in another process: tokens.NewRemoteVerifier(tokens.RemoteConfig{BaseURL: …})
//	h := invoices.NewHandler(tokens.Middleware(v), store)
//
// Its tests (handler_test.go) wrap it with identitytest.Env.Middleware
// instead and run a table of tokens through it: a valid token, an expired
// one, another application's audience, a user of another organization, a
// sandbox token, a token without the scope, and no token at all.
package testing
