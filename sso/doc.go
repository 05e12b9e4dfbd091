// Package sso is Gatehouse's enterprise single sign-on: SAML connections per
// organization (Cryptr's SSO connections), the SAML service provider
// endpoints of each connection, the provisioning of the users they sign in,
// the onboarding of the customer's IT administrator, and home-realm
// discovery for the hosted login page.
//
// # Packages
//
//   - sso (this package): the model, the rules and the SAML HTTP endpoints.
//   - sso/saml: the SAML 2.0 SP core (crewjam/saml with the checks of
//     SECURITY.md).
//   - sso/ssoapi: the management API endpoints (/api/v2/sso-connections...)
//     as an identity/api route group.
//   - sso/portal and sso/templates: the IT administrator's onboarding portal.
//   - sso/ssooidc: the bridge to the OIDC provider (tokens/provider).
//
// # Mounting under a path
//
// Options.BaseURL may carry a path (https://app.example/auth): the SAML
// entity ids, ACS, SLO, login and metadata URLs, the setup links, the
// portal's links, form actions and redirects, and the cookie paths
// (BasePath + "/enterprise/{idp_id}/", BasePath + "/enterprise-setup/")
// are derived from it, while Handler and the portal route on
// /enterprise/... and /enterprise-setup/... relative to the base. A host
// strips the base path before calling them, with http.StripPrefix:
//
//	mux.Handle("/auth/", http.StripPrefix("/auth", faces))
//
// # Connections
//
// A Connection's id (Cryptr's idp_id) is the organization domain with
// dashes turned into underscores, "_", and 22 base58 characters
// ("acme_company_BS8RohkywSxjoDnE2SEygL"); its sp_id has the same shape,
// built from the account domain. A connection is created with its default
// redirection (the application, and the URI, users go to after a sign-in
// that no application started) and its onboarding. It starts active with
// the user policy none, no seats limit, IdP-initiated sign-in off, and
// signs nobody in before IdP metadata is uploaded. A disabled connection
// refuses every sign-in (Cryptr's early-access switch had no effect).
//
// Management methods act through the identity.Service they are given. A
// scoped one (an API key's, an admin console member's) sees only the
// connections of its organizations (another's is ErrNotFound, as an
// unknown one) and changes them only with the permission
// "create:sso_connections" (CreateConnection, its invitation included) or
// "update:sso_connections" (every other change, setup links included),
// else ErrForbidden. Creating a setup link is audited
// (SSO_ONBOARDING_UPDATED), and Connection.MetadataExpiry tells when the
// uploaded IdP metadata stops being trustworthy. A new administrator
// email, SendInvitation and ResetOnboarding end every earlier setup link
// and portal session of the connection (Onboarding.AccessEpoch).
//
// # Enums
//
// provider_type: azure_ad (Microsoft Entra ID), okta, google (Google
// Workspace), adfs, ping_federate, ping_one, auth0, one_login, custom_saml,
// and unset (not chosen; the default).
//
// user_security_type: none (whoever the IdP authenticates is provisioned on
// first sign-in, within the organization's allowed email domains and the
// seats limit) and user_registered (only users already in the directory).
// seats_limit caps the users linked to the connection (0: no limit); a new
// user beyond it is refused (seats_limit_reached) until one is deleted.
//
// Onboarding state, in progress order: not_initialized, invitation_sent,
// started (the setup link was opened), provider_type_chosen,
// metadata_uploaded, test_failed, completed (a test sign-in succeeded).
// tutorial_step: 0 choose the provider, 1 configure the IdP with the SP
// values, 2 upload the IdP metadata, 3 run a test sign-in, 4 done. Reset
// puts the state and step back to the start and clears the provider type,
// keeping the administrator's email.
//
// # SAML endpoints
//
// Handler serves, for each connection:
//
//	GET  /enterprise/{idp_id}/metadata  SP metadata (the entity id is this URL)
//	GET  /enterprise/{idp_id}/login     SP-initiated sign-in (AuthnRequest, HTTP-Redirect)
//	POST /enterprise/{idp_id}/acs       assertion consumer service (HTTP-POST)
//	GET, POST /enterprise/{idp_id}/slo  single logout (the IdP's LogoutRequest, or its LogoutResponse to ours)
//
// AuthnRequests stored per client address are limited
// (Options.AuthnRequestLimit within AuthnRequestTTL; 429 beyond). The
// AuthnRequest id is stored and bound to the browser by an HttpOnly
// cookie (SameSite=None; Secure under https, because the IdP's POST is
// cross-site) holding a secret whose SHA-256 keys the stored request; the
// ACS consumes it once. Every SAML check is sso/saml's; the replay cache
// (StoreReplayCache) keeps consumed assertion ids in the store until they
// expire, shared by every instance. The default cache claims the assertion
// in the transaction that provisions the user (one commit per sign-in
// instead of two); an assertion refused after the SAML checks is claimed
// all the same. Every refusal shows "Authentication
// failed" and logs SSO_END_USER_SAML_FAILED with data.reason (a sso/saml
// Reason, or one of this package's Reason* constants) and data.detail.
// Sign-ins log SSO_END_USER_SAML_STARTED and SSO_END_USER_SAML_SUCCESS.
//
// # Single logout
//
// A signed LogoutRequest from the IdP ends the provider sessions that the
// connection opened for the user (SessionEnder, which ssooidc.Bridge
// implements), whatever their SessionIndex, then answers with a signed
// LogoutResponse. StartLogout is SP-initiated logout: the provider calls it
// (ssooidc.Logout) when a session opened by SSO ends, and the browser goes
// to the IdP's SingleLogoutService with a signed LogoutRequest whose
// RelayState is a single-use secret keying the stored request; the IdP's
// LogoutResponse, verified, sends it on to the application's logout URL.
// An IdP without a SingleLogoutService is skipped.
//
// # Service provider keys
//
// Each connection has its own RSA-2048 key pair and self-signed certificate,
// generated when the connection is created (or, for a connection made before
// connections had keys, the first time its service provider is built). The SP
// metadata publishes the certificate for signing and for encryption: IdPs may
// encrypt assertions to it (the ACS decrypts them) and verify our signed
// logout messages with it. AuthnRequests are signed when the IdP metadata has
// WantAuthnRequestsSigned (the metadata then says AuthnRequestsSigned="true");
// otherwise they go unsigned, because some IdPs' login forms drop the
// HTTP-Redirect binding's detached signature. The private key is stored as
// PKCS#8 in {env}/sso-sp-keys/{idp_id}, sealed with AES-256-GCM
// (internal/seal, the format of the tokens package's signing keys) when Options.KeyEncryptionKey is set; give it the same key as
// the tokens service. The certificate is valid for 20 years and is never
// rotated: rotating an SP key (publishing the next certificate next to the
// current one, then switching) is not supported; a compromised key means a new
// connection.
//
// # Users
//
// Users are keyed by (connection, NameID) (identity.User.SSOIdentities),
// never by an asserted email: an IdP may assert any address. A NameID seen
// for the first time is linked to the directory user with the asserted
// email, or provisioned, only when that email's domain is one of the
// organization's allowed_email_domains. The IdP's attributes refresh the
// OIDC profile (given_name, family_name, name, phone_number) at every
// sign-in and fill the user's MetaData (saml_nameid, saml_subject, uid,
// email, first_name, last_name and Azure's claim names), whose MetaKeys are
// created on first use, so they reach ID tokens as resource_owner_metadata.
// A linked user keeps their email when the IdP asserts another one.
//
// # Continuing the OIDC flow
//
// Authorizations is the provider's side. /enterprise/{idp_id}/login with
// OAuth parameters (Cryptr's era-1 URL) goes through the provider's
// authorization endpoint, which routes back with its request id; the
// hosted login page's "continue with SSO" and a client's idp_id go through
// Route. After the ACS, Authorizations.Resume redirects to the application
// with a code; a sign-in no application started uses the connection's
// default redirection (ResumeDefault).
//
// # Onboarding
//
// SendInvitation mails a single-use setup link (256 random bits, stored as
// SHA-256, valid SetupLinkTTL). Its GET only shows a confirmation page (mail
// scanners); the POST consumes it and opens a portal session limited to the
// connection (PortalSessionTTL). The portal's test sign-in
// (StartAdminTest) checks the SAML response without signing anyone in and
// records the result, or the exact failure reason, in the onboarding.
package sso
