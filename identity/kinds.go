package identity

// The registry of every name data is stored under in the key-value layout
// (see kv.go): record kinds (Records.Kind, and the kind part of the raw
// record keys of sessions, attachments and blobs), unique indexes
// (Unique.Name), sets and their counts (the first of Set.Parts) and
// counters (Counter.Name), each with the package that owns it. Two owners
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
	space byte   // nsRecord, nsUnique, nsSet (with its count) or nsCounter
	name  string // the kind, index, set or counter name
	owner string // the owning package's directory in the module
}

// registeredKinds lists every name, grouped by owner.
func registeredKinds() []kindEntry {
	return []kindEntry{
		// identity: the directory.
		{nsRecord, "org", "identity"},
		{nsUnique, "org-domain", "identity"},
		{nsUnique, "org-oid", "identity"},
		{nsUnique, "org-email-domain", "identity"},
		{nsSet, "orgs", "identity"},
		{nsRecord, "tenant", "identity"},
		{nsRecord, "user", "identity"},
		{nsUnique, "user-email", "identity"},
		{nsUnique, "user-name", "identity"},
		{nsUnique, "user-oid", "identity"},
		{nsUnique, "sso-identity", "identity"},
		{nsSet, "users", "identity"},
		{nsSet, "user-role", "identity"},
		{nsSet, "user-attr", "identity"},
		{nsRecord, "app", "identity"},
		{nsUnique, "app-client-id", "identity"},
		{nsSet, "apps", "identity"},
		{nsRecord, "credential", "identity"},
		{nsUnique, "credential-secret", "identity"},
		{nsUnique, "credential-secret-mac", "identity"},
		{nsUnique, "credential-mac", "identity"},
		{nsRecord, "secrets-state", "identity"},
		{nsRecord, "login-failures", "identity"},
		{nsRecord, "email-code-budget", "identity"},
		{nsSet, "credentials", "identity"},
		{nsRecord, "event", "identity"},
		{nsSet, "events", "identity"},
		{nsRecord, "ticket", "identity"},
		{nsRecord, "persistent-login", "identity"},
		{nsRecord, "verification-token", "identity"},
		{nsRecord, "user-session", "identity"},
		{nsRecord, "attachment", "identity"},
		{nsRecord, "blob", "identity"},

		// profile: the Crafter face's own bookkeeping.
		{nsRecord, "profile-blob-gc", "profile"},

		// tokens: signing keys.
		{nsRecord, "tokens-signing-keys", "tokens"},

		// tokens/provider: OIDC flows and browser sessions.
		{nsSet, "oidc-user-grants", "tokens/provider"},
		{nsRecord, "oidc-authreq", "tokens/provider"},
		{nsRecord, "oidc-code", "tokens/provider"},
		{nsRecord, "oidc-refresh", "tokens/provider"},
		{nsRecord, "oidc-family", "tokens/provider"},
		{nsRecord, "oidc-access", "tokens/provider"},
		{nsRecord, "oidc-session", "tokens/provider"},
		{nsRecord, "oidc-magiclink", "tokens/provider"},
		{nsRecord, "oidc-rate", "tokens/provider"},
		{nsRecord, "oidc-slo-code", "tokens/provider"},
		{nsSet, "oidc-sso-sessions", "tokens/provider"},

		// sso: enterprise connections and SAML.
		{nsRecord, "sso-connections", "sso"},
		{nsSet, "sso-connections", "sso"},
		{nsSet, "sso-org-connections", "sso"},
		{nsSet, "sso-connection-users", "sso"},
		{nsUnique, "sso-idp-env", "sso"},
		{nsRecord, "sso-onboardings", "sso"},
		{nsRecord, "sso-redirections", "sso"},
		{nsRecord, "sso-setup-links", "sso"},
		{nsRecord, "sso-portal-sessions", "sso"},
		{nsRecord, "sso-authn-requests", "sso"},
		{nsRecord, "sso-saml-replay", "sso"},
		{nsRecord, "sso-logout-requests", "sso"},
		{nsRecord, "sso-rate", "sso"},
		{nsRecord, "sso-sp-keys", "sso"},

		// examples/server: the example server's bootstrap state.
		{nsRecord, "bootstrap", "examples/server"},
	}
}
