// Package tokens signs and verifies Gatehouse's JSON Web Tokens in Cryptr's
// `ver: 1` format: user access tokens (`jtt: access`), OpenID Connect ID
// tokens (`jtt: openid`) and management API-key tokens (`jtt: api_key`).
//
// # Issuers and keys
//
// Every organization is its own issuer in each environment: production
// tokens are issued by `{BaseURL}/t/{org_domain}` (Cryptr's issuer), sandbox
// tokens by `{BaseURL}/sandbox/t/{org_domain}` ([IssuerURL]). Management
// tokens are issued by the account, `{BaseURL}/t/{account_domain}` or
// `{BaseURL}/sandbox/t/{account_domain}` after the API key's environment.
// Each (environment, issuer domain) pair owns one signing key set, stored
// through the identity core in the same store as everything else. A key set holds,
// per algorithm (RS256 by default, ES256 or EdDSA when an application asks
// for them):
//
//   - the active key, which signs;
//   - the next key, already published in the JWKS but not yet signing, so
//     every client that caches the JWKS knows it before the first token
//     signed with it arrives;
//   - retired keys, no longer signing, still published for one maximum token
//     lifetime so that the tokens they signed stay verifiable.
//
// Key sets are created lazily, the first time an issuer signs. Rotation
// follows dex's model (server/signer/rotation.go in dexidp/dex): the new key
// is generated outside the store transaction; inside it, rotation is checked
// to be still due, so two instances racing to rotate produce one new key.
// Rotation happens on schedule (lazily, at the first signature after it is
// due, or through [Service.RotateDue]) and on demand ([Service.Rotate]).
//
// The environments are separate issuers so that standard clients tell them
// apart: go-oidc, openid-client or any OIDC library configured from the
// production discovery document refuses a sandbox token (wrong `iss`, and a
// `kid` its JWKS does not list), and the reverse; they ignore `dbs`. Each
// issuer's JWKS ([Service.JWKS], [Service.JWKSHandler]) lists that
// environment's keys only. The very first key of an issuer signs as soon as
// it is created (there is nothing to publish it ahead of); verifiers fetch
// the JWKS again on an unknown `kid`, so they pick it up.
//
// Private keys are stored as PKCS#8, sealed with AES-256-GCM when the host
// supplies [Options.KeyEncryptionKey]. Keys stored in clear before the host
// set one are sealed by the first use of the store ([Service.SealKeys]).
// Public keys are published with a self-signed `x5c` certificate, because
// Cryptr's SDKs read `x5c[0]`.
//
// The base URL may carry a path (https://app.example/auth): issuers are then
// https://app.example/auth/t/{org_domain}, and the faces that serve them
// are mounted under /auth with http.StripPrefix.
//
// # Lifetimes
//
// Defaults, each overridable per application (identity.Application
// AccessTokenTTL / IDTokenTTL) or per service ([Options]):
//
//   - access tokens: 1 hour. Cryptr's JWT sample shows 10 hours, but a JWT
//     access token cannot be revoked before it expires (SECURITY.md: "JWT
//     access tokens stay short-lived"), and Cryptr's SDKs refresh ahead of
//     expiry whatever the lifetime is. Hosts that want Cryptr's figure set
//     Options.AccessTokenTTL to 10h.
//   - ID tokens: 1 hour (they are read once, at sign-in).
//   - API-key (management) tokens: 15 minutes. Clients fetch a new one when
//     it expires (Cryptr's Kotlin SDK does), and a short lifetime bounds how
//     long a deleted API key keeps working through tokens already issued.
//   - maximum token lifetime: 24 hours. Lifetimes are clamped to it, and a
//     retired key stays published for that long.
//   - key rotation: every 7 days.
//
// # Verification
//
// [Verifier] checks tokens against the local key sets with no HTTP;
// [RemoteVerifier] fetches JWKS documents for services that run elsewhere.
// Both accept production tokens only unless [VerifierConfig].Environments
// lists the sandbox; a token's environment is the one its issuer names, its
// keys are that environment's, and its `dbs` must agree. Both accept only
// the algorithms in their allow-list (never `none`), check
// `typ`, issuer, audience, token type and expiry with a small leeway, and
// cache verified tokens (bounded in entries and in bytes, each entry dropped
// once its token expires) so that a token presented again costs a map lookup
// instead of a signature check. [Service.VerifyAPIKeyToken], run on every
// management request, keys its cache by the SHA-256 of the token (32 bytes
// per entry). [Middleware] puts the verified [Claims] in the request context
// ([ClaimsFrom]).
//
// # Signing
//
// Tokens are compact JWS that the package writes itself (the protected
// header of a key is encoded once). RS256 signatures are made, by default,
// by the system's OpenSSL 3 libcrypto when the build has cgo on Linux (Go's
// default for a native build where a C compiler exists): libcrypto.so.3 is
// loaded at run time (dlopen; nothing from OpenSSL is needed to build), the
// first time the service prepares an RSA key, and signs three to four
// times faster than crypto/rsa. Each key's first OpenSSL signature is
// compared with crypto/rsa's before the key signs a token (RSASSA-PKCS1-v1_5
// is deterministic), so the tokens are the same bytes either way. Where
// OpenSSL is absent or older than 3.0, where a key is refused or signs
// differently, and in a build with CGO_ENABLED=0, crypto/rsa signs: never
// an error, never another token. [Options].RSASigner opts out
// ([RSASignerGo]) or requires OpenSSL ([RSASignerOpenSSL]: New fails
// without it); [Service.RSAImplementation] says which signs. Verification,
// ES256 and EdDSA stay in Go. When the Go toolchain's validated module does
// the process's cryptography (a GOEXPERIMENT=boringcrypto build, or
// GODEBUG=fips140=on), the default keeps RS256 inside it too: crypto/rsa
// signs and libcrypto is not loaded (RSASignerOpenSSL still loads it, on
// request). The repository's README compares them.
package tokens
