// Package api serves the management face of the Cryptr API 2.0 document
// (spec/000_c2182e9c8028ed92.txt): organizations, their users and
// applications, token customization (MetaKeys, MetaData, JWT samples) and
// log events under /api/v2, with management authentication by API key.
// New returns an http.Handler a host mounts at /api/v2/:
//
//	h, err := api.New(api.Options{Service: svc, TokenService: tokenService})
//	mux.Handle("/api/v2/", h)
//
// # Mounting under a path
//
// The handler routes on /api/v2/... relative to Gatehouse's base URL. When
// that URL carries a path (the tokens service's BaseURL
// https://app.example/auth, so management tokens are issued by
// https://app.example/auth/t/{account}), a host strips it before calling
// the handler, with http.StripPrefix:
//
//	mux.Handle("/auth/api/v2/", http.StripPrefix("/auth", h))
//
// The URLs the API hands out (headless magic links and authorization
// URLs, SSO setup links) come from the provider's and SSO's base URL.
//
// # Authentication
//
// POST /api/v2/oauth/token is the client_credentials grant of an API key
// (an identity.Credential): client_id and client_secret in a JSON or form
// body (or HTTP Basic), the account under domain, tenant_domain or
// audience (optional; when given it must be the account's domain). With
// Cryptr's root URLs served (gatehouse.LegacyRootURLs), the service's
// root POST /oauth/token, which Cryptr's newer documents use, hands an API
// key's request here too (tokens/provider Options.ManagementTokens); a
// machine application's stays the provider's. The
// answer is {"access_token", "token_type": "Bearer", "expires_in",
// "expires_at", "scope"}: a short-lived management JWT (`jtt: api_key`,
// `scp` = the key's space-separated "action:resource" permissions, `dbs` =
// its environment) signed by the tokens package. Each issued token is an
// API_KEY_TOKEN_ISSUED log event of the key's environment. Every other
// endpoint needs "Authorization: Bearer <token>"; verifying a token seen
// before is a cache hit in the tokens verifier, not a signature check.
//
// A request is served in the environment of its key (sandbox or
// production: users, applications, MetaKeys and events are per
// environment; organizations are account-wide). An "environment" parameter
// naming another environment is refused with 403. The key must manage the
// organization of the path (identity.Credential.ManagedOrgs): otherwise the
// answer is 404, exactly as for an organization that does not exist, so a
// key cannot learn about organizations it does not manage. Only keys that
// manage every organization ("*") may create organizations, and a list of
// organizations shows only those the key manages. The stored key is read
// on every request: deleting a key or narrowing it takes effect at once.
//
// These rules are the core's, not this face's: each request calls the
// identity service scoped to its key (identity.Service.Scoped, see the
// identity package's "Scope"), which also keeps an application made by a
// key limited to some organizations from serving any other (its
// organization_domain_scope must be one of them, else 422), and refuses
// with 403 any change to an organization through a sandbox key
// (organizations are shared by both environments).
//
// # Endpoints and permissions
//
// Each endpoint needs the permission action:resource ("*", "action:*" and
// "*:resource" are wildcards):
//
//	GET    /api/v2/organizations                                  read_many:organizations
//	POST   /api/v2/organizations                                  create:organizations
//	GET    /api/v2/organizations/{domain}                         read:organizations
//	PUT|PATCH|POST /api/v2/organizations/{domain}                 update:organizations
//	GET    /api/v2/org/{domain}/users                             read_many:users
//	POST   /api/v2/org/{domain}/users                             create:users
//	GET    /api/v2/org/{domain}/users/{user_id}                   read:users
//	PUT|PATCH|POST /api/v2/org/{domain}/users/{user_id}           update:users
//	DELETE /api/v2/org/{domain}/users/{user_id}                   delete:users
//	GET    /api/v2/org/{domain}/user-by-email/{email}             read:users
//	GET    /api/v2/org/{domain}/applications                      read_many:applications
//	POST   /api/v2/org/{domain}/applications                      create:applications
//	GET    /api/v2/org/{domain}/applications/{client_id}          read:applications
//	PUT|PATCH|POST /api/v2/org/{domain}/applications/{client_id}  update:applications
//	GET    /api/v2/org/{domain}/token-customization/user-metakey  read_many:user_metakeys
//	POST   /api/v2/org/{domain}/token-customization/user-metakey  create:user_metakeys
//	DELETE /api/v2/org/{domain}/token-customization/user-metakey  delete:user_metakeys
//	PATCH|PUT|POST /api/v2/org/{domain}/token-customization/set-user-metadata  update:users
//	GET    /api/v2/org/{domain}/token-customization/sample        read:jwt_samples
//	GET    /api/v2/org/{domain}/log-events                        read_many:log_events
//
// Every update takes PUT, PATCH and POST alike: curl sends POST for the
// document's "-d" samples (its update-user sample among them).
//
// The JWT sample endpoint is mounted when Options.TokenService is set.
// Other packages add endpoints with the same authentication, errors and
// helpers through Options.Routes (RouteGroup, Mux.Handle): the SSO
// connections endpoints of the document (sso/ssoapi) and the headless
// flows of Cryptr's backend SDKs (tokens/provider, below) are such
// groups; a group may also add a grant to POST /api/v2/oauth/token
// (Mux.HandleGrant), served for a Bearer management token. The route
// framework and wire format live in an internal package that those
// packages share with this one, so no face imports another; Mux,
// RouteGroup, HandlerFunc, Principal, Error, Params and the rendering
// helpers here are aliases of it.
//
// # Headless flows
//
// Provider.APIRoutes (package tokens/provider) adds the headless flows that
// Cryptr's backend SDKs call (the Kotlin SDK's createSsoChallenge,
// validateSsoChallenge and createMagicLinkChallenge), each for a key with
// create:users on the organization:
//
//	POST /api/v2/sso-saml-challenges    create:users   a headless SSO challenge
//	POST /api/v2/sso-oauth-challenges   create:users   the same (Gatehouse's enterprise connections are SAML)
//	POST /api/v2/magic-link-challenge   create:users   a headless magic link
//	POST /api/v2/oauth/token  grant_type=authorization_code, Bearer management token: a challenge's code
//
// An SSO challenge takes redirect_uri (an allowed redirect URL of an
// application of the organization; client_id picks the application) and
// exactly one of user_email (the organization owning its domain),
// org_domain and idp_id; state is optional. It answers 201
// {"api_key_id", "authorization_url", "database", "expired_at",
// "redirect_uri", "request_id", "saml_idp_id"}. The authorization URL
// ({base}/org/{domain}/oauth2/saml?request_id=…, under /sandbox for a
// sandbox key) starts the sign-in at the connection saml_idp_id, which
// alone can complete it; the browser then goes to redirect_uri with code,
// request_id and organization_domain. The backend exchanges the code with
// its management token here, or at the provider's /oauth/token
// (grant_type may be left out there, as the Kotlin SDK does; the URL's
// environment must be the key's), and gets the user's access, ID and
// refresh tokens; scope is a JSON array in this answer, as the Kotlin
// SDK's ChallengeResponse reads it.
//
// The challenge and the code are single use and bound, through the scoped
// identity service, to the key's organizations and environment: a key of
// another organization or of the other environment gets 404 for the
// challenge and invalid_grant for the code, exactly as for an unknown
// organization, connection or code, and its attempt leaves the code
// usable. A key without create:users gets 403 (challenge) and
// invalid_client (code).
//
// Departures from Cryptr: the request_id in the authorization URL is a
// secret distinct from the answer's request_id (which the callback
// echoes), so that the public id cannot start the sign-in; the database
// of a production challenge is "default", as in dbs.
//
// # Parameters
//
// Parameters come from the query string and the body, as JSON or as a form
// (DecodeParams): "profile[given_name]=Jane" is a nested object and
// "allowed_redirect_urls[]=…" a list. A body that is a JSON object is read
// as JSON whatever its Content-Type label (curl's --data-raw '{…}' labels
// it a form, as in the document's create-user and update-application
// samples), and a form sent under a JSON label is read as a form (the
// document's update-user sample). A body is never ignored: one that is
// neither a JSON object nor a form of name=value pairs is a 400, on every
// endpoint, whether or not it takes parameters. Unknown fields are
// ignored; a value of the wrong type is a 422 naming the field (an integer
// parameter takes 32 bits: a longer one is a 422 saying the bound). Lists take "page" (or
// "current_page") and "per_page" (default 8, at most 100); as the document
// says a list never returns an error, a page below 1 is the first and a
// per_page below 1 the default.
//
// Users take their OpenID Connect claims at the top level or in a "profile"
// object (the address locality as "locality" or "city"); "profile" given
// as a string is the profile URL claim, as in the document's update sample.
// "metadata" sets MetaData, as {"key": "value"} or [{"key", "value"}];
// values are checked against the MetaKey's type, and required MetaKeys
// must have a value when a user is created. Updates change only the
// fields present. The email is the user's identifier (the core's username
// follows it): a missing or invalid email is a 422 naming "email" alone.
// An update that changes the email (beyond the case of its ASCII letters)
// voids the invitation and password reset links pending for the old
// address and clears the user's verification (email_verified in tokens);
// sessions stay (identity.Txn.ReplaceUser).
// A MetaKey is created from a "user_metakey" object or flat
// name/type/required fields; types are string, integer, number, boolean,
// date, datetime, url and email (any case; answered in lower case). A
// MetaKey is an attribute definition of the directory the Crafter face
// serves too, so its name follows the core's attribute-name rule
// (identity.CheckAttributeName: no dot, no leading '$') and is 1 to 64
// letters, digits, spaces, _, : or -; errors name the field where the
// request put it (user_metakey.name). Application types are react, vue and angular (which need the four
// URL lists), regular_web and native (which need allowed_redirect_urls),
// and machine; regular_web and machine applications are confidential and
// their client_secret is in the creation answer only.
//
// # Answers
//
// Resources carry the document's envelope (Envelope): __type__,
// __domain__, __access__ ("limited_to:{domain}", or
// "all_organizations_of:{account}" for an application that serves every
// organization of the account; an application a key limited to some
// organizations created serves only those: "limited_to:{domain}", or
// "limited_to:{d1},{d2}" for several), __managed_by__ (the account domain) and __environment__
// (__database__, "sandbox" or "default", on applications). Times are UTC
// without zone ("2021-10-18T10:02:31"). Unset optional fields of
// organizations, applications and events are null (their type tables say
// "url or null"); unset claims of a user's profile, and an unset address,
// are left out, as the user samples leave them out (there is no null in
// any of them), and a user's metadata is [] when it has none.
// Lists are {"__type__": "List", "data", <pagination>, <total>}, with each
// endpoint's keys as the document shows them (ListShape): "pagination" and
// "total" for organizations, users and MetaKeys, "pagination" and
// "total_count" for applications, "paginate" and "total_count" for log
// events (and SSO connections). prev_page is 0 on the first page;
// next_page never points past the last page, where it is the last page
// itself for "pagination" lists and 0 for "paginate" ones, as the samples
// show (next_page 1 on the only page of the organization and application
// lists, 0 on that of the SSO connection and log event lists).
// Deletes answer {"deleted": true, "resource": …, "type": "__Deleted__"}.
// Creations answer 201 with the created resource.
//
// # Departures from the document
//
// The document's request samples are replayed as curl sends them
// (TestDocumentCurlSamples) and its response samples compared field by
// field (the golden tests). What remains different, and why:
//
//   - Where the samples contradict the document's own text, the text
//     wins: creating or retrieving an application answers the Application
//     (the samples show a List); listing and creating MetaKeys answer a
//     List of MetaKeys and the MetaKey (the samples show a User); updating
//     a user answers 200 (the sample says 204 with a body).
//   - The create-organization samples post to
//     /api/v2/organizations/{domain} without a name: that URL updates an
//     existing organization (404 for an unknown one, as for any unknown
//     domain) and the samples are replayed as updates; an organization is
//     created by POST /api/v2/organizations with a name, as the text says.
//   - Every creation answers 201 Created. The samples disagree among
//     themselves: 201 for users, MetaKeys, SSO onboardings and default
//     redirections, 200 for organizations, applications and SSO
//     connections. One status for one kind of request, HTTP's for a
//     created resource; a client that tests for success (2xx) sees no
//     difference.
//   - The list-MetaKeys sample sends the body '{ { "name": … } }', which is
//     not JSON: it is refused with 400 rather than ignored (no request is
//     answered 2xx having ignored its body).
//   - A form body must be name=value pairs: a pair without "=" or without
//     a name is a 400, where a lenient parser would read a field nobody
//     sent (a broken JSON text labelled as a form, for example).
//   - The set-user-metadata sample writes the profile's __type__ in lower
//     case and the address locality as "city"; answers follow the User and
//     Address samples ("Profile", "locality").
//   - Cryptr's live lists write null for a missing previous or next page;
//     the document's samples write 0 (and next_page 1 on the only page of
//     a "pagination" list), which is what this package serves.
//   - A path that is not canonical (/api/v2/org/../x, /api/v2//users) is a
//     JSON 404, never served as the path it cleans to. Mounted on an
//     http.ServeMux, such a path is redirected by the mux before the
//     handler sees it: a host that wants JSON there serves the API prefix
//     with the handler before the mux, as the root package's
//     gatehouse.Handler does.
//   - A malformed escape in the path (/api/v2/%zz) is refused by net/http
//     before any handler runs, with a plain-text 400; serving from
//     Listener(l) answers it with the JSON 400 bad_request instead
//     (examples/server does).
//
// # Errors
//
// Errors are JSON {"error": code, "error_description": message} with, for
// 409 and 422, "errors": {field: [reasons]} naming every offending field
// (dotted for nested ones, "profile.birthdate"). Malformed JSON or form
// bodies are 400, a missing or bad token 401 (with the challenge
// WWW-Authenticate: Bearer realm="api", plus error="invalid_token" when a
// Bearer token was sent and failed), a missing permission 403, an
// unknown resource or one of an organization the key does not manage 404,
// a wrong method 405, a duplicate 409, a body over 1 MiB 413, an unknown
// content type 415, invalid input 422. The token endpoint answers OAuth
// errors (invalid_request, invalid_client, unsupported_grant_type). A
// failed request writes nothing. No input produces a 500: a store failure
// is a 503 and a panic is recovered, logged and answered 500 (a bug the
// fuzz test looks for).
//
// # Log events
//
// Every management write logs an event in the transaction of the change it
// records; the login, SSO and token services log authentication outcomes
// the same way. GET …/log-events
// lists an organization's events, most recent first, filtered by code,
// client_id and saml_identity_provider_id ("s", Cryptr's sort parameter,
// is accepted and ignored). The codes (identity.EventCodes):
//
//	organizations   ORGANIZATION_CREATED ORGANIZATION_UPDATED ORGANIZATION_DELETED TENANT_UPDATED
//	users           USER_CREATED USER_UPDATED USER_DELETED USER_ENABLED USER_DISABLED USER_VERIFIED
//	                USER_METADATA_SET USER_PASSWORD_CHANGED USER_PASSWORD_RESET_REQUESTED USER_LOCKED
//	                USERS_IMPORTED (one per ImportUsers batch) USER_INVITED USER_INVITATION_ACCEPTED
//	applications    APPLICATION_CREATED APPLICATION_UPDATED APPLICATION_DELETED
//	token custom.   METAKEY_CREATED METAKEY_DELETED
//	API keys        CREDENTIAL_CREATED CREDENTIAL_DELETED API_KEY_TOKEN_ISSUED
//	passwords       PASSWORD_LOGIN_SUCCESS PASSWORD_LOGIN_FAILED TICKET_CREATED TICKET_INVALIDATED
//	                PERSISTENT_LOGIN_USED PERSISTENT_LOGIN_CREATED PERSISTENT_LOGIN_DELETED
//	                VERIFICATION_TOKEN_CREATED VERIFICATION_TOKEN_DELETED USER_ATTACHMENT_ADDED
//	magic links     MAGIC_LINK_SENT MAGIC_LINK_SUCCESS MAGIC_LINK_FAILED
//	OAuth / OIDC    TOKEN_ISSUED TOKEN_REFRESHED TOKEN_REVOKED REFRESH_TOKEN_REUSE_DETECTED
//	                AUTHORIZATION_CODE_REUSE_DETECTED LOGOUT
//	enterprise SSO  SSO_CONNECTION_CREATED SSO_CONNECTION_UPDATED SSO_CONNECTION_ACTIVATED
//	                SSO_CONNECTION_DISABLED SSO_ONBOARDING_INVITATION_SENT SSO_ONBOARDING_UPDATED
//	                SSO_IDP_METADATA_UPLOADED SSO_END_USER_SAML_STARTED SSO_END_USER_SAML_SUCCESS
//	                SSO_END_USER_SAML_FAILED SSO_ADMIN_TEST_SUCCESS SSO_ADMIN_TEST_FAILED
//
// Events about an API key (CREDENTIAL_CREATED, CREDENTIAL_DELETED,
// API_KEY_TOKEN_ISSUED; the core's identity.CredentialEvent) name the
// organizations the key reaches, and each of those organizations' lists
// shows them ("data" holds the key's credential_id): a key limited to
// some organizations appears in theirs and in no other's; a key over every
// organization appears in the list of the account's organization. A
// refused management token (API_KEY_AUTHENTICATION_FAILED, with
// data.reason unknown, bad_credentials or expired and the presented
// client_id as actor) is listed in the account's organization's log, which
// the account reads with a key over every organization and in the console,
// and, for a key that exists, in the logs of the organizations it
// reaches. They are bounded (identity.Service.LogCredentialFailure): past
// identity.CredentialFailureEventBurst events, at most
// identity.CredentialFailureEventRate a second are written, and the next
// one written counts those left out in data.suppressed.
//
// An event with details carries them in "data", Gatehouse's extension
// (absent otherwise, as in Cryptr's answers). A refused sign-in
// (PASSWORD_LOGIN_FAILED, MAGIC_LINK_FAILED, SSO_END_USER_SAML_FAILED,
// SSO_ADMIN_TEST_FAILED) holds its private reason in data.reason, for
// example bad_password, unknown_email, disabled, locked, bad_code,
// link_expired, or a SAML reason with data.detail; the end user's page
// stays generic. The same refusal is written to the server log ("sign-in
// refused" with the fields event, reason, org, env, client_id, idp_id,
// user).
//
// A token an application gets for itself (client_credentials) is
// TOKEN_ISSUED in the log of the organization whose issuer minted it
// (/t/{domain}/oauth/token), naming the application in client_id, even
// when the application belongs to another organization and serves
// several (identity.ClientTokenEvent); at an endpoint that names no
// organization, it is the application's own organization's.
//
// An event names who caused it in "actor", Gatehouse's extension (Cryptr's
// Event type has no such field; absent when the event names none, as for
// the embedder's own code or an end user's sign-in): {"id", "kind"} with
// kind "api_key" (id the key's client_id) for every write made with a
// management token, "access_token" (id the credential's id, never its
// accessTokenId) for a Crafter access token's writes, and "user" (id the
// user's id) for a console member's. The rule is the core's: a Service
// made by identity.Service.Scoped names its key (identity.APIKeyActor),
// a context made by identity.WithActorOf or WithActor names its actor.
// A credential's creation or deletion names the credential or member
// that made it, never the new credential.
//
// An application's signing algorithm is Gatehouse's extension field
// "signing_alg" (RS256, the default, ES256 or EdDSA): it may be given at
// creation and changed by an update (an empty string or null goes back
// to RS256); any other value is 422 with the field named. The provider
// signs the application's access and ID tokens with the organization's
// key of that algorithm and publishes it in the organization's JWKS. The
// field is absent from answers unless set, as in Cryptr's answers.
//
// An application's allowed scopes are Gatehouse's extension field
// "allowed_scopes" (a list, or one space-separated string; [] or null
// clears it): when set, the application's tokens carry no other scope but
// OpenID Connect's own (openid, profile, email, address, phone,
// offline_access). An authorization request for another goes back to the
// application with invalid_scope, client_credentials answers 400
// invalid_scope, and a refresh drops what the list no longer allows
// (identity.Application.RefusedScope). Unset, any scope is granted, as
// Cryptr does: a resource server that authorizes on scopes should set it.
// A scope that is not an RFC 6749 scope token is 422. The field is absent
// from answers unless set.
package api
