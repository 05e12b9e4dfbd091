package identity

import "github.com/gatehouse-id/gatehouse/internal/kv"

// The registry of every name data is stored under in the key-value layout
// of internal/kv: record kinds (kv.Records.Kind, and the kind part of the
// raw kv.Key record keys of sessions, attachments and blobs), unique indexes
// (kv.Unique.Name), sets and their counts (the first of kv.Set.Parts) and
// counters (kv.Counter.Name), each with the package (directory) that owns
// it. Two owners
// sharing a name would read and overwrite each other's data, so a name is
// listed once per key space, and only its owner uses it.
//
// The tests in kinds_test.go hold the code to this list: no name is listed
// twice in a space, every name the module's code stores data under (found
// by reading the Go sources) is listed with the package that uses it, and
// every listed name is used. A package that adds a kind adds its line
// here, in the same change.

// kindEntry registers one name in one key space.
type kindEntry struct {
	space byte   // kv.NSRecord, kv.NSUnique, kv.NSSet (with its count) or kv.NSCounter
	name  string // the kind, index, set or counter name
	owner string // the owning package's directory in the module
}

// registeredKinds lists every name, grouped by owner.
func registeredKinds() []kindEntry {
	return []kindEntry{
		// identity: the directory.
		{kv.NSRecord, "org", "identity"},
		{kv.NSUnique, "org-domain", "identity"},
		{kv.NSUnique, "org-oid", "identity"},
		{kv.NSUnique, "org-email-domain", "identity"},
		{kv.NSSet, "orgs", "identity"},
		{kv.NSRecord, "tenant", "identity"},
		{kv.NSRecord, "user", "identity"},
		{kv.NSUnique, "user-email", "identity"},
		{kv.NSUnique, "user-name", "identity"},
		{kv.NSUnique, "user-oid", "identity"},
		{kv.NSUnique, "sso-identity", "identity"},
		{kv.NSSet, "users", "identity"},
		{kv.NSSet, "user-role", "identity"},
		{kv.NSSet, "user-attr", "identity"},
		{kv.NSRecord, "app", "identity"},
		{kv.NSUnique, "app-client-id", "identity"},
		{kv.NSSet, "apps", "identity"},
		{kv.NSRecord, "credential", "identity"},
		{kv.NSUnique, "credential-secret", "identity"},
		{kv.NSUnique, "credential-secret-mac", "identity"},
		{kv.NSUnique, "credential-mac", "identity"},
		{kv.NSRecord, "secrets-state", "identity"},
		{kv.NSRecord, "login-failures", "identity"},
		{kv.NSRecord, "email-code-budget", "identity"},
		{kv.NSSet, "credentials", "identity"},
		{kv.NSRecord, "event", "identity"},
		{kv.NSSet, "events", "identity"},
		{kv.NSCounter, "audit-journal", "identity"},
		{kv.NSRecord, "ticket", "identity"},
		{kv.NSRecord, "persistent-login", "identity"},
		{kv.NSRecord, "verification-token", "identity"},
		{kv.NSRecord, "user-session", "identity"},
		{kv.NSRecord, "attachment", "identity"},
		{kv.NSRecord, "blob", "internal/kv"},
		{kv.NSRecord, "console-member", "identity"},
		{kv.NSSet, "console-members", "identity"},
		{kv.NSRecord, "console-setup", "identity"},
		{kv.NSRecord, "console-session", "identity"},

		// profile: the Crafter face's own bookkeeping.
		{kv.NSRecord, "profile-blob-gc", "profile"},

		// tokens: signing keys.
		{kv.NSRecord, "tokens-signing-keys", "tokens"},

		// tokens/provider: OIDC flows and browser sessions.
		{kv.NSSet, "oidc-user-grants", "tokens/provider"},
		{kv.NSRecord, "oidc-authreq", "tokens/provider"},
		{kv.NSRecord, "oidc-code", "tokens/provider"},
		{kv.NSRecord, "oidc-refresh", "tokens/provider"},
		{kv.NSRecord, "oidc-family", "tokens/provider"},
		{kv.NSRecord, "oidc-access", "tokens/provider"},
		{kv.NSRecord, "oidc-session", "tokens/provider"},
		{kv.NSRecord, "oidc-magiclink", "tokens/provider"},
		{kv.NSRecord, "oidc-rate", "tokens/provider"},
		{kv.NSRecord, "oidc-slo-code", "tokens/provider"},
		{kv.NSSet, "oidc-sso-sessions", "tokens/provider"},

		// sso: enterprise connections and SAML.
		{kv.NSRecord, "sso-connections", "sso"},
		{kv.NSSet, "sso-connections", "sso"},
		{kv.NSSet, "sso-org-connections", "sso"},
		{kv.NSSet, "sso-connection-users", "sso"},
		{kv.NSUnique, "sso-idp-env", "sso"},
		{kv.NSRecord, "sso-onboardings", "sso"},
		{kv.NSRecord, "sso-redirections", "sso"},
		{kv.NSRecord, "sso-setup-links", "sso"},
		{kv.NSRecord, "sso-portal-sessions", "sso"},
		{kv.NSRecord, "sso-authn-requests", "sso"},
		{kv.NSRecord, "sso-saml-replay", "sso"},
		{kv.NSRecord, "sso-logout-requests", "sso"},
		{kv.NSRecord, "sso-rate", "sso"},
		{kv.NSRecord, "sso-sp-keys", "sso"},

		// gatehouse (the root package): the bootstrap record (the master
		// credential's id, the monitoring token's hash).
		{kv.NSRecord, "bootstrap", "."},
	}
}
