// Package archtest holds no code: its tests check the module's package
// structure.
//
// The faces (identity/api = Cryptr /api/v2, profile = Crafter /api/1,
// tokens/provider = OIDC and hosted pages, and the SSO packages) only
// parse, call a service and render. A face never imports another face,
// even indirectly: what two faces share lives in package identity (rules)
// or under internal/ (plumbing such as the /api/v2 route framework).
// Packages that wire several faces together (the root package gatehouse,
// sso/ssooidc, the examples, cmd) may import any of them.
package archtest
