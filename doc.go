// Package gatehouse is the front door of Gatehouse, an embeddable identity
// core for Go: start here.
//
// New opens Gatehouse on a store and wires every part of it together: the
// identity core of both environments (production and sandbox, with
// argon2id passwords), token signing and verification, the OpenID Connect
// provider with its hosted sign-in pages, enterprise SSO (SAML) and its
// onboarding portal, and the two compatible management APIs (Cryptr API
// 2.0 under /api/v2, Crafter Profile 4.5 under /api/1). The result is one
// value, a *Gatehouse, with one http.Handler to mount and the services for
// Go calls:
//
//	gh, err := gatehouse.New(ctx, gatehouse.Options{
//		Store:            st,                         // store.Open(ctx, "bolt:identity.db"), memory.New(), ...
//		BaseURL:          "https://app.example/auth", // everything is served under /auth
//		KeyEncryptionKey: kek,                        // 32 random bytes kept outside the store
//	})
//	if err != nil {
//		return err
//	}
//	defer gh.Close()
//	gh.Start(ctx) // expiry sweeps in the background
//	mux.Handle("/auth/", gh.Handler())
//	protect, err := gh.Middleware(tokens.VerifierConfig{Audiences: []string{"https://app.example"}})
//	if err != nil {
//		return err
//	}
//	mux.Handle("GET /api/me", protect(me)) // me reads tokens.ClaimsFrom(r.Context())
//
// examples/embed is a whole host in 30 lines, with a sign-in through the
// hosted page in its test; the README's "See a sign-in first" runs one in
// a browser.
//
// # Mounting
//
// Everything Gatehouse serves lives under the path of Options.BaseURL:
// with https://app.example/auth the issuer of organization acme is
// https://app.example/auth/t/acme and the Cryptr API is
// https://app.example/auth/api/v2. Handler serves a request under that
// path by removing the path (as http.StripPrefix does, RawPath included)
// and routing the rest; any other request is answered 404. Mount it on
// the base path with a trailing slash ("/auth/") in http.ServeMux, or the
// equivalent in chi (r.Mount("/auth", h)), echo (e.Any("/auth/*",
// echo.WrapHandler(h))) or gin (r.Any("/auth/*path", gin.WrapH(h))),
// beside the host's own routes. With a base URL without a path, mount it
// on "/". Handler routes with a private mux: nothing is registered on the
// host's, so no pattern of Gatehouse can collide with one of the host.
//
// A host that runs its own http.Server can serve it from
// gh.Listener(l): a request under the base path whose target net/http
// refuses before any handler (a malformed escape such as %zz) is then
// answered by the API face it names, in that face's JSON.
//
// # What is served
//
// Options.Serve picks the faces (DefaultFaces when zero):
//
//	CryptrAPI       /api/v2/...: the Cryptr API 2.0 management face (and the
//	                provider's headless challenges, the SSO connections API)
//	CrafterAPI      /api/1/... and /crafter-profile/api/1/...: Crafter Profile
//	HostedLogin     the OIDC provider per organization: /t/{domain}/... and
//	                /sandbox/t/{domain}/... (discovery, JWKS, authorize, token,
//	                revoke, introspect, userinfo, logout, the hosted sign-in
//	                page), /login and /magic-link/... of that page
//	SSO             SAML per connection: /enterprise/{idp_id}/...
//	Portal          the IT admin's SSO onboarding portal: /enterprise-setup/...
//	LegacyRootURLs  Cryptr's own URLs outside the issuer tree: the gateways
//	                / and /a/{domain}/, /oauth/token, /oauth/revoke,
//	                /org/{domain}/oauth2/token and /api/v1/tenants/... (era-1
//	                token, refresh, revoke and logout hops)
//	Console         the admin console (package admin): /admin/...; its
//	                members sign in through the hosted login; it mails
//	                password resets and invitations through the provider
//
// LegacyRootURLs and Console are off by default: a host that embeds Gatehouse keeps
// its root, and only a deployment that replaces Cryptr for existing
// front ends turns them on (examples/server does); the console is opt-in,
// and while it has no owner, Console().PrintSetup gives the one-time link
// that creates the first one. Options.Branding
// (package pages) gives the hosted pages the host's product name, logo,
// colours and templates.
//
// # Background work and shutdown
//
// Start runs the expiry sweeper (tickets, codes, sessions, rate limits,
// orphaned attachments) until its context ends; Close waits for mail
// being sent and releases what New made. New never closes the store it
// was given.
//
// # Packages beneath
//
// Each part is also a package of its own for hosts that want to wire
// them differently: identity (the core and its rules), tokens (keys,
// minting, Verifier, Middleware), tokens/provider, sso, sso/portal,
// identity/api (Cryptr face), profile (Crafter face), store/bolt,
// store/memory and store/postgres. The accessors of Gatehouse return the
// values New wired, for Go calls on the same data.
package gatehouse
