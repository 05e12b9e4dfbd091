package identity

import (
	"slices"
	"time"
)

// Organization is one B2B customer: a directory of users in each
// environment, with its own SSO connections and signing keys. Its Domain is a
// slug of its name, unique and immutable. The record itself is account-wide:
// the same organization exists in both environments, while its users,
// applications and settings are kept per environment.
type Organization struct {
	ID       string `json:"id"`
	ObjectID string `json:"object_id"` // ObjectId-shaped id shown by the Crafter face
	Domain   string `json:"domain"`
	Name     string `json:"name"`
	// Address of the organization's head quarters.
	Locality    string `json:"locality,omitempty"`
	State       string `json:"state,omitempty"`
	CountryName string `json:"country_name,omitempty"` // ISO 3166-1 alpha-2
	// PrivacyPolicyURL and TermsOfServiceURL are shown on hosted pages.
	PrivacyPolicyURL  string `json:"privacy_policy_url,omitempty"`
	TermsOfServiceURL string `json:"terms_of_service_url,omitempty"`
	// AllowedEmailDomains are the email domains the organization owns:
	// home-realm discovery and SSO just-in-time provisioning use only these.
	AllowedEmailDomains []string `json:"allowed_email_domains,omitempty"`
	// OpenSignup (a Gatehouse extension, off by default) lets anybody who
	// proves an email address create an account in the organization by
	// magic link or email code; without it only addresses in
	// AllowedEmailDomains may (see SignupAllowed).
	OpenSignup bool `json:"open_signup,omitempty"`
	// ManagedBy is the domain of the account that manages the organization.
	ManagedBy string    `json:"managed_by,omitempty"`
	CreatedAt time.Time `json:"inserted_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Tenant is an organization's directory settings in one environment, as
// the Crafter face sees them: its Name is the organization's domain.
type Tenant struct {
	// Name is the organization's domain.
	Name string `json:"name"`
	// OrgID is the organization's id.
	OrgID string `json:"org_id"`
	// VerifyNewProfiles: profiles created with a verification URL stay
	// disabled until the emailed link is followed.
	VerifyNewProfiles bool `json:"verify_new_profiles"`
	// SSOEnabled is stored for Crafter's header-based SSO.
	SSOEnabled bool `json:"sso_enabled"`
	// CleanseAttributes HTML-escapes TEXT, LARGE_TEXT and STRING_LIST
	// attributes on profile create and update.
	CleanseAttributes bool `json:"cleanse_attributes"`
	// AvailableRoles is descriptive: profile roles are not checked against it,
	// but removing a role here removes it from every user of the tenant.
	AvailableRoles []string `json:"available_roles"`
	// AttributeDefinitions is the custom attribute schema. Cryptr's MetaKeys
	// are the same definitions.
	AttributeDefinitions []AttributeDefinition `json:"attribute_definitions"`
	UpdatedAt            time.Time             `json:"updated_at"`
}

// Definition returns the attribute definition named name.
func (t *Tenant) Definition(name string) (*AttributeDefinition, bool) {
	for i := range t.AttributeDefinitions {
		if t.AttributeDefinitions[i].Name == name {
			return &t.AttributeDefinitions[i], true
		}
	}
	return nil, false
}

// MetaKey types. Cryptr shows "string" in responses; Gatehouse completes the
// enum. Values are stored as strings and checked against the type.
const (
	MetaString   = "string"
	MetaInteger  = "integer"
	MetaNumber   = "number"
	MetaBoolean  = "boolean"
	MetaDate     = "date"     // YYYY-MM-DD
	MetaDateTime = "datetime" // RFC 3339
	MetaURL      = "url"
	MetaEmail    = "email"
)

// MetaKeyTypes returns the accepted MetaKey types.
func MetaKeyTypes() []string {
	return []string{MetaString, MetaInteger, MetaNumber, MetaBoolean, MetaDate, MetaDateTime, MetaURL, MetaEmail}
}

// AttributeDefinition is one custom attribute of a tenant: a Crafter
// attribute definition and a Cryptr MetaKey at once.
type AttributeDefinition struct {
	// ID is the MetaKey id (a UUID).
	ID   string `json:"id"`
	Name string `json:"name"`
	// Type is the MetaKey type (see MetaKeyTypes); empty for Crafter
	// definitions, whose type lives in Metadata["type"] (TEXT, LARGE_TEXT,
	// STRING_LIST, COMPLEX, ...).
	Type string `json:"type,omitempty"`
	// Required: every user must have a value (MetaKey).
	Required bool `json:"required,omitempty"`
	// Metadata is Crafter's free-form metadata (label, type, displayOrder).
	Metadata map[string]any `json:"metadata,omitempty"`
	// DefaultValue is copied into new users and back-filled into existing
	// users that lack the attribute.
	DefaultValue any `json:"default_value,omitempty"`
	// Permissions decide which Crafter applications may read, write and
	// remove the attribute; first match wins.
	Permissions []AttributePermission `json:"permissions,omitempty"`
	// Indexed keeps an index of the attribute's scalar values so lookups by
	// value do not scan the tenant.
	Indexed bool `json:"indexed,omitempty"`
	// InToken copies the value into JWTs as resource_owner_metadata.
	// Definitions made through the Cryptr face (MetaKeys) set it.
	InToken   bool      `json:"in_token,omitempty"`
	CreatedAt time.Time `json:"inserted_at"`
}

// AttributePermission grants Crafter attribute actions (READ_ATTRIBUTE,
// WRITE_ATTRIBUTE, REMOVE_ATTRIBUTE, or "*") to an application ("*" = any).
type AttributePermission struct {
	Application    string   `json:"application"`
	AllowedActions []string `json:"allowedActions"`
}

// User is a person in one organization's directory, in one environment:
// a Cryptr User and a Crafter Profile at once.
type User struct {
	ID       string `json:"id"`
	ObjectID string `json:"object_id"` // ObjectId-shaped id shown by the Crafter face
	OrgID    string `json:"org_id"`
	// Email is unique per organization, case-insensitively. It is kept as
	// given; EmailKey is the normalized form used for the index.
	Email    string `json:"email"`
	Username string `json:"username"`
	// PasswordHash is the encoded password hash (argon2id, or an imported
	// Crafter hash until the next login). Empty: no password.
	PasswordHash string `json:"password_hash,omitempty"`
	Enabled      bool   `json:"enabled"`
	Verified     bool   `json:"verified"`
	// AwaitsVerification says whether the user waits for the
	// verification of its address before it may sign in (a Crafter
	// profile created disabled, which Crafter's verify enables): only
	// then does following a verification link enable it
	// (Txn.VerifyAddress). It turns false once the user is enabled or
	// its address changes, so a verification never undoes a later
	// disable. Every user created now states it; nil is a record
	// written before it existed, which a verification enables while it
	// is unverified, as it did then.
	AwaitsVerification *bool    `json:"awaits_verification,omitempty"`
	Roles              []string `json:"roles"`
	// Attributes are the custom attribute values (Crafter attributes; the
	// ones defined as MetaKeys are Cryptr MetaData).
	Attributes map[string]any `json:"attributes"`
	// Profile holds the OIDC standard claims.
	Profile        Profile `json:"profile"`
	AvatarHexColor string  `json:"avatar_hexa_color,omitempty"`
	// SSOIdentities link the user to (connection, NameID) pairs.
	SSOIdentities []SSOIdentity `json:"sso_identities,omitempty"`
	// FailedLogins counts consecutive failed password attempts;
	// LastFailedLogin starts the lock once the limit is reached.
	FailedLogins    int        `json:"failed_logins,omitempty"`
	LastFailedLogin *time.Time `json:"last_failed_login,omitempty"`
	// LockedUntil, when in the future, refuses every password attempt.
	LockedUntil       *time.Time `json:"locked_until,omitempty"`
	PasswordChangedAt *time.Time `json:"password_changed_at,omitempty"`
	CreatedAt         time.Time  `json:"inserted_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
}

// SSOIdentity is the key of a user at an enterprise identity provider.
type SSOIdentity struct {
	ConnectionID string `json:"connection_id"`
	NameID       string `json:"name_id"`
}

// Profile is a user's OIDC standard claims (OpenID Connect Core §5.1).
// The email claim is the user's Email.
type Profile struct {
	Name              string   `json:"name,omitempty"`
	GivenName         string   `json:"given_name,omitempty"`
	FamilyName        string   `json:"family_name,omitempty"`
	MiddleName        string   `json:"middle_name,omitempty"`
	Nickname          string   `json:"nickname,omitempty"`
	PreferredUsername string   `json:"preferred_username,omitempty"`
	ProfileURL        string   `json:"profile,omitempty"`
	Picture           string   `json:"picture,omitempty"`
	Website           string   `json:"website,omitempty"`
	Gender            string   `json:"gender,omitempty"`
	Birthdate         string   `json:"birthdate,omitempty"`    // YYYY-MM-DD
	Zoneinfo          string   `json:"zoneinfo,omitempty"`     // IANA time zone
	Locale            string   `json:"locale,omitempty"`       // BCP 47
	PhoneNumber       string   `json:"phone_number,omitempty"` // E.164
	Address           *Address `json:"address,omitempty"`
}

// Address is the OIDC address claim.
type Address struct {
	Formatted     string `json:"formatted,omitempty"`
	StreetAddress string `json:"street_address,omitempty"`
	Locality      string `json:"locality,omitempty"`
	Region        string `json:"region,omitempty"`
	PostalCode    string `json:"postal_code,omitempty"`
	Country       string `json:"country,omitempty"` // ISO 3166-1 alpha-2
}

// Application types. Cryptr documents react, vue and angular (single-page
// applications); Gatehouse adds server-side, native and machine clients.
const (
	AppReact      = "react"
	AppVue        = "vue"
	AppAngular    = "angular"
	AppRegularWeb = "regular_web"
	AppNative     = "native"
	AppMachine    = "machine"
)

// ApplicationTypes returns the accepted application types.
func ApplicationTypes() []string {
	return []string{AppReact, AppVue, AppAngular, AppRegularWeb, AppNative, AppMachine}
}

// Application is an OAuth/OIDC client. Browser applications (react, vue,
// angular) and native ones are public clients and must use PKCE; regular_web
// and machine applications are confidential and hold a client secret.
type Application struct {
	ID       string `json:"id"`
	ClientID string `json:"client_id"`
	// OrgID is the organization under which the application was created.
	OrgID string `json:"org_id"`
	// OrganizationScope, when set, limits sign-ins through the application
	// to that organization domain; empty means every organization of the
	// account (Cryptr's default).
	OrganizationScope string `json:"organization_domain_scope,omitempty"`
	// ServedOrgs, when not nil, are the only organization domains the
	// application serves: the organizations of the scope that created it
	// (a credential limited to some organizations). Nil means no such
	// limit (created by an unscoped Service or a credential that manages
	// every organization). See Service.ApplicationServes.
	ServedOrgs      []string `json:"served_orgs"`
	Name            string   `json:"name"`
	Description     string   `json:"description,omitempty"`
	ApplicationType string   `json:"application_type"`
	// Exact-match lists (absolute http(s) URLs without fragments).
	AllowedRedirectURLs []string `json:"allowed_redirect_urls"`
	AllowedOriginsCORS  []string `json:"allowed_origins_cors"`
	AllowedWebOrigins   []string `json:"allowed_web_origins"`
	AllowedLogoutURLs   []string `json:"allowed_logout_urls"`
	DefaultOriginCORS   string   `json:"default_origin_cors,omitempty"`
	DefaultWebOrigin    string   `json:"default_web_origin,omitempty"`
	// DefaultRedirectURIAfterLogin/Logout are used when a flow gives none.
	DefaultRedirectURIAfterLogin  string `json:"default_redirect_uri_after_login,omitempty"`
	DefaultRedirectURIAfterLogout string `json:"default_redirect_uri_after_logout,omitempty"`
	// ClientSecretHash is the SHA-256 of the client secret of confidential
	// clients; the secret itself is shown once, at creation.
	ClientSecretHash string `json:"client_secret_hash,omitempty"`
	// SigningAlg is the JWT algorithm: RS256 (default), ES256 or EdDSA.
	SigningAlg string `json:"signing_alg,omitempty"`
	// AllowedScopes, when not empty, are the only scopes the
	// application's tokens may carry beside OpenID Connect's own
	// (StandardScopes): a request for another is refused (RefusedScope).
	// Empty allows any scope, as Cryptr does. A resource server that
	// authorizes on scopes should list them here, else any application
	// of the organization, and any of its users, may ask for any scope.
	AllowedScopes []string `json:"allowed_scopes,omitempty"`
	// Token lifetimes; zero means the provider default.
	AccessTokenTTL  time.Duration `json:"access_token_ttl,omitempty"`
	IDTokenTTL      time.Duration `json:"id_token_ttl,omitempty"`
	RefreshTokenTTL time.Duration `json:"refresh_token_ttl,omitempty"`
	// Metadata is copied into tokens as application_metadata.
	Metadata  map[string]string `json:"metadata,omitempty"`
	CreatedAt time.Time         `json:"inserted_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// StandardScopes returns OpenID Connect's scopes (Core §5.4 and §11),
// which every application may ask for whatever its AllowedScopes: they
// ask for the signed-in user's own claims, or a refresh token.
func StandardScopes() []string {
	return []string{"openid", "profile", "email", "address", "phone", "offline_access"}
}

// RefusedScope returns the first of requested the application may not
// grant (see AllowedScopes), or "" when it may grant them all. Every face
// that issues tokens asks it: the authorization request, client
// credentials, and a refresh (which then drops what the application may
// no longer grant).
func (a *Application) RefusedScope(requested []string) string {
	if len(a.AllowedScopes) == 0 {
		return ""
	}
	for _, s := range requested {
		if !a.grants(s) {
			return s
		}
	}
	return ""
}

// grants reports whether the application may grant scope s: one of its
// AllowedScopes, or one of StandardScopes (without building that list on
// the issuance path).
func (a *Application) grants(s string) bool {
	switch s {
	case "openid", "profile", "email", "address", "phone", "offline_access":
		return true
	}
	return len(a.AllowedScopes) == 0 || slices.Contains(a.AllowedScopes, s)
}

// GrantableScopes returns the scopes of granted the application may still
// grant (see AllowedScopes), in order: a code or refresh token issued
// before AllowedScopes narrowed carries no more than it allows now.
func (a *Application) GrantableScopes(granted []string) []string {
	if a.RefusedScope(granted) == "" {
		return granted
	}
	out := make([]string, 0, len(granted))
	for _, s := range granted {
		if a.grants(s) {
			out = append(out, s)
		}
	}
	return out
}

// Public reports whether the application is a public client (no secret,
// PKCE required).
func (a *Application) Public() bool {
	return a.ApplicationType != AppRegularWeb && a.ApplicationType != AppMachine
}

// Event is one entry of the audit log. IDs increase within an environment.
type Event struct {
	ID    int64  `json:"id"`
	Code  string `json:"event_code"`
	OrgID string `json:"org_id,omitempty"`
	// TenantDomain is the organization's domain.
	TenantDomain    string `json:"tenant_domain,omitempty"`
	ClientID        string `json:"client_id,omitempty"`
	Email           string `json:"email,omitempty"`
	ResourceOwnerID string `json:"resource_owner_id,omitempty"`
	// SAMLIdPID is the SSO connection's idp_id for SSO events.
	SAMLIdPID string `json:"saml_identity_provider_id,omitempty"`
	// ActorID is the credential or user that caused the event, and
	// ActorKind what it is (ActorUser, ActorAPIKey, ActorAccessToken;
	// empty when unknown). A credential is named by its id, never by its
	// secret. Events of the embedder's own code name no actor.
	ActorID   string `json:"actor_id,omitempty"`
	ActorKind string `json:"actor_kind,omitempty"`
	// Orgs are the domains of the organizations the event concerns
	// besides OrgID's: those an API key reaches (its ManagedOrgs) for the
	// events of a credential. The event is listed in each one's log (and
	// in OrgID's); AllOrgs ("*") lists it in the log of the account's
	// organization (Options.AccountDomain), since a key over every
	// organization is the account's. Unknown domains are skipped.
	Orgs []string `json:"organizations,omitempty"`
	// Data holds details: the changed fields, a failure reason.
	Data      map[string]any `json:"data,omitempty"`
	CreatedAt time.Time      `json:"inserted_at"`
}

// Credential is an API credential. One entity serves both faces: a Cryptr
// API key (ID is the client_id, the secret is the client_secret) and a
// Crafter access token (the secret is its accessTokenId).
type Credential struct {
	ID string `json:"id"`
	// Secret is kept only for Crafter access tokens, whose API lists them
	// again (GET /access_token/all); empty for Cryptr API keys. The store
	// holds it sealed under the key-encryption key and finds the
	// credential by a keyed hash of it (see Options.KeyEncryptionKey);
	// it is never part of the credential's JSON.
	Secret string `json:"-"`
	Name   string `json:"name"`
	// Application is the Crafter application name (attribute permissions).
	Application string `json:"application,omitempty"`
	// Master may manage access tokens (Crafter).
	Master bool `json:"master"`
	// TenantPermissions are Crafter's tenant permissions; first match wins.
	TenantPermissions []TenantPermission `json:"tenant_permissions,omitempty"`
	// Permissions are Cryptr "action:resource" strings ("*" = all).
	Permissions []string `json:"permissions,omitempty"`
	// ManagedOrgs lists the organization domains the key may act on;
	// "*" means every organization of the account.
	ManagedOrgs []string    `json:"managed_orgs,omitempty"`
	Environment Environment `json:"environment"`
	ExpiresAt   *time.Time  `json:"expires_at,omitempty"`
	CreatedAt   time.Time   `json:"inserted_at"`
}

// TenantPermission grants Crafter tenant actions (CREATE_TENANT,
// READ_TENANT, UPDATE_TENANT, DELETE_TENANT, MANAGE_PROFILES,
// MANAGE_TICKETS, or "*") on a tenant ("*" = any).
type TenantPermission struct {
	Tenant         string   `json:"tenant"`
	AllowedActions []string `json:"allowedActions"`
}

// Ticket is an authenticated session of a user (Crafter ticket). Its id is a
// bearer secret: only its SHA-256 is stored.
type Ticket struct {
	IDHash        string    `json:"id_hash"`
	OrgID         string    `json:"org_id"`
	UserID        string    `json:"user_id"`
	CreatedAt     time.Time `json:"created_at"`
	LastRequestAt time.Time `json:"last_request_at"`
	ExpiresAt     time.Time `json:"expires_at"`
	// UserDeleted marks the tombstone a ticket becomes when its user is
	// deleted: it is kept until ExpiresAt so a reader can tell "the profile
	// is gone" (Crafter answers 404 NO_SUCH_PROFILE) from "no such ticket",
	// and it authenticates nothing (TicketByHash refuses it).
	UserDeleted bool `json:"user_deleted,omitempty"`
}

// PersistentLogin is a remember-me login: an id the client keeps in a cookie
// and a token that rotates at each use. Crafter clients compare the token
// themselves, so the face returns it: the store keeps it sealed under the
// key-encryption key (see Options.KeyEncryptionKey), and it is never part
// of the login's JSON.
type PersistentLogin struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"org_id"`
	UserID    string    `json:"user_id"`
	Token     string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Verification token purposes.
const (
	PurposeVerify = "verify"
	PurposeReset  = "reset"
)

// VerificationToken is a single-use email verification, password reset
// or invitation token. Its id is a bearer secret: only its SHA-256 is stored.
type VerificationToken struct {
	IDHash  string `json:"id_hash"`
	OrgID   string `json:"org_id"`
	UserID  string `json:"user_id"`
	Purpose string `json:"purpose"`
	// ClientID is the application an invitation lands in (PurposeInvite).
	ClientID  string    `json:"client_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Attachment is the metadata of a file attached to a user's profile. The
// bytes are kept in a blob under BlobID.
type Attachment struct {
	ID          string    `json:"id"`
	UserID      string    `json:"user_id"`
	OrgID       string    `json:"org_id"`
	Name        string    `json:"name"` // stored base name (no extension)
	FileName    string    `json:"file_name"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	CreatedAt   time.Time `json:"created_at"`
	// BlobID names the attachment's bytes in the blob store; empty means
	// ID (records written before an attachment kept its ID when replaced).
	// A replacement under the same Name keeps ID and gets a new BlobID, so
	// the old bytes stay readable until the new metadata commits.
	BlobID string `json:"blob_id,omitempty"`
}

// Blob returns the id of the attachment's bytes in the blob store.
func (a *Attachment) Blob() string {
	if a.BlobID != "" {
		return a.BlobID
	}
	return a.ID
}
