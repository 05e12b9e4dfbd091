// Package identity is Gatehouse's identity core: the domain types of both
// faces (organizations and their tenant settings, users with their OIDC
// profile, applications, MetaKeys, credentials, tickets, persistent logins,
// verification tokens, attachments, audit events), their validation, the
// typed errors every face maps to its own status codes, and the Service that
// applies the rules.
//
// # One model, two faces
//
// A Cryptr Organization and a Crafter Tenant are the same directory: the
// tenant's name is the organization's domain, a slug of its name that never
// changes. A Cryptr User and a Crafter Profile are the same User. MetaKeys
// are attribute definitions with InToken set; MetaData values are attributes.
// An attribute keeps the JSON type it was written with (Crafter reads back
// what it wrote), while Cryptr's MetaData and the tokens'
// resource_owner_metadata show every MetaKey value as text
// (MetaDataText), whichever face wrote it.
// A Cryptr API key and a Crafter access token are the same Credential.
//
// # One user rule
//
// Txn.InsertUser and Txn.ReplaceUser run ValidateUser whoever calls them
// (the Cryptr and Crafter faces, SSO just-in-time provisioning, the hosted
// sign-up, an embedder's own transaction): email and username rules, the
// OIDC claims (CheckProfile), no NUL or control characters in any string
// (line breaks only in multi-line fields), MetaKey values of the key's
// type, and every required MetaKey given a value. Its errors are an
// *InvalidError whose fields each face renders in its own format
// ("metadata.<name>" for MetaKeys). A replace is refused only for what it
// breaks: a problem the stored user already had (a MetaKey made required
// after the user was created) does not block other changes to the user,
// but a required value, once given, cannot be removed; deleting the
// MetaKey itself removes its values.
//
// # Environments
//
// Organizations are account-wide; everything in their directories (users,
// tenant settings, applications, events, sessions, keys) is kept per
// Environment. A Service serves one environment; ForEnvironment gives the
// other.
//
// Organizations are shared by both environments, so nothing a sandbox
// credential does may change them: a sandbox-bound Service (scoped or not)
// reads organizations and manages its own sandbox directory inside them
// (users, tenant settings, applications, ...), but CreateOrganization,
// UpdateOrganization, Txn.InsertOrg and Txn.PutOrg need a production-bound
// Service and answer ErrForbidden on a sandbox one, and so does
// Txn.DeleteOrgIfEmpty (deleting a Crafter tenant deletes the shared
// record: a sandbox token may not).
//
// # Scope
//
// A credential's reach is checked here, by the services, not by each face.
// Service.Scoped (or For with a Scope) returns a Service bound to the
// credential's environment that enforces its scope in every
// organization-addressed method, so every face (the Cryptr API, the SSO
// connections API, the OIDC provider, and what comes next) gets the same
// rules by construction:
//
//   - Organizations. An organization outside the scope is ErrNotFound,
//     exactly like an unknown one: Txn.Org, Txn.OrgID and Txn.OrgByID
//     refuse it, so its users, MetaKeys, events, applications and SSO
//     connections are unreachable too, and ListOrganizations lists only
//     the scope. Only a scope over every organization (AllOrgs) may create
//     one.
//   - Applications. An application created under an organization outside
//     the scope is not found, even by client id. An application serves
//     only organizations its creator manages: a scope limited to some
//     organizations records them in Application.ServedOrgs, and
//     OrganizationScope and ServedOrgs may only name organizations in
//     scope (ErrInvalid). Such a scope may change or delete only an
//     application that serves nothing outside it (ErrForbidden otherwise),
//     so it cannot repoint an account-wide application.
//     Service.ApplicationServes is the one rule the OAuth endpoints and
//     hosted pages ask before they serve an organization with an
//     application (authorization, login, client_credentials at
//     /t/{org}/oauth/token). ReadTxn.CheckSignIn adds the user to it:
//     a sign-in's result goes to an application only for a user of the
//     request's organization, which the application serves, whatever
//     authenticated the user (the provider asks it in the transaction
//     that writes the authorization code).
//   - SSO redirections (package sso) go only to an application of the
//     connection's own organization and environment; another
//     organization's application and an unknown id are alike ErrNotFound,
//     so the answer tells nothing about ids elsewhere.
//   - Permissions. A scoped Service enforces the Cryptr "action:resource"
//     permissions of the writes that change what is served: create and
//     update of organizations, create, update and delete of applications,
//     create and delete of MetaKeys (user_metakeys) (ErrForbidden). Reads,
//     and the other resources, are checked by the
//     Cryptr face's route table (identity/api routes.go) before it calls
//     the core; reads stay unenforced here because other flows (headless
//     magic links, for one) read applications on behalf of a key that
//     holds only create:users.
//
// An event about a credential (CredentialEvent) names the organizations
// the credential reaches (Event.Orgs) and is listed in each one's log
// (ListEvents), whatever the scope of the service that writes it; a
// credential over every organization is listed in the account
// organization's log.
//
// A Service without a scope (NewService, ForEnvironment) has full access:
// it is what an embedder's own Go code calls, and what the OAuth endpoints
// use on behalf of end users. A scoped Service cannot be widened or moved
// to another environment (ErrForbidden).
//
// # Storage
//
// Store is a small ordered, transactional key-value interface that each
// backend implements (store/memory, store/bolt, store/postgres). It is the
// public backend contract: Store, ReadTx, Tx, ScanOptions, ErrStopScan and
// PrefixEnd, with store/storetest as its conformance suite, so a third
// party can write a backend.
//
// Everything above it is internal to Gatehouse (internal/kv): JSON records,
// unique indexes, sorted sets with maintained counts (lists, role and
// attribute indexes), counters (the event sequence), the expiry index, the
// record codec and blob chunking, and the key layout they share (one
// convention for the environment in a key: "sandbox", "production", or "-"
// for account-wide records; every name data is stored under is registered
// once, with its owner, in kinds.go). Service.Update runs a function in one
// transaction with the domain operations of Txn, which keep every index,
// count and audit event consistent with the records. Gatehouse's other
// packages (tokens, sso, profile, blob) keep their own records in the same
// transactions through methods that take a kv.Access (ReadTxn.KV,
// Txn.KVTx, Service.KVStore, Service.Backend): code outside the module
// cannot obtain one, so an embedder or a face reaches data through
// services only, never through raw keys. Service.SweepExpired reclaims
// expired records.
//
// Audit events name their actor (Event.ActorID, Event.ActorKind): the
// Service that Scoped returns for a Cryptr API key and the one
// AuthenticateSecret returns for a Crafter access token name that
// credential (APIKeyActor, AccessTokenActor; its id, never its secret);
// a context made by WithActor (a console member) or WithActorOf names its
// actor and takes precedence. The organization an event is filed under is
// the core's rule too: CredentialEvent (the organizations a key reaches),
// ClientTokenEvent (the issuing organization of a client_credentials
// token), LogCredentialFailure (the account's organization, bounded),
// and an organization's deletion (Txn.DeleteOrgIfEmpty: its own log is
// out of reach afterwards, so the event is also in the account
// organization's log).
//
// IDs are UUID v7 (time-ordered), so "most recent first" is a reverse scan of
// a set; offset pages skip index keys without decoding the records skipped,
// and IterateUsers offers cursor iteration whose cost does not grow with
// depth.
//
// # Credentials and environments
//
// A Credential belongs to one environment. Every read, list and delete of
// a Service by id (GetCredential, CredentialRecord, ListCredentials,
// DeleteCredential, CredentialBySecret) sees only the credentials of the
// service's environment: one of the other environment answers exactly
// like an unknown id; a sandbox-bound service creates sandbox credentials
// only (provisioning credentials of either environment belongs to
// production, as the bootstrap of a host does). The two authentications that search both
// environments (AuthenticateSecret for a bearer secret such as a Crafter
// accessTokenId, AuthenticateCredential for a Cryptr client_id and
// client_secret) return the credential, whose Environment (and, for
// AuthenticateSecret, the Service returned with it) is the only one its
// caller may act in.
//
// # Secrets at rest
//
// Options.KeyEncryptionKey (32 random bytes, kept outside the store and
// shared by every instance of a deployment) protects the bearer secrets
// the store keeps. Subkeys are derived from it with HKDF-SHA256 for
// separate purposes:
//
//   - secrets that an API must return again, a Crafter access token's id
//     (listed by GET /access_token/all) and a persistent login's token
//     (returned by GET /persistent_login/{id}), are sealed with AES-256-GCM,
//     bound to their environment and record;
//   - credentials are looked up by a keyed hash (HMAC-SHA256 over the
//     SHA-256 of the secret) and compared in constant time, so a copy of
//     the store alone does not let anyone test guesses;
//   - secrets never shown again (tickets, verification tokens, magic links)
//     are stored as their SHA-256 only; they carry 256 random bits.
//
// Without a key, NewService generates an ephemeral one and logs a warning:
// whatever it seals does not survive a restart. A store records a keyed
// check value of the key that sealed it; opening it without that key, or
// with another, fails with ErrKeyEncryptionKey instead of credentials that
// silently stop working. Stores written before sealing existed (clear
// access-token ids and persistent-login tokens, credentials indexed by
// bare SHA-256) keep working without a key and are sealed and re-indexed,
// in one idempotent transaction, the first time NewService opens them
// with one; afterwards opening costs one read.
//
// # Enums
//
// Application types: react, vue, angular (Cryptr's single-page apps) and
// regular_web, native, machine. MetaKey types: string, integer, number,
// boolean, date, datetime, url, email (matched case-insensitively, stored
// lower case). A value of an integer, number or boolean MetaKey is stored
// as that JSON type whichever face wrote it (Cryptr's MetaData are text,
// "42"; Crafter's attributes JSON, 42), so Crafter reads and queries it
// typed; Cryptr's answers and the tokens' resource_owner_metadata render
// every value as text (MetaDataText). Values written before this rule keep
// the type they were written with. Genders: male, female, other. Event codes: see EventCodes;
// Cryptr published SSO_END_USER_SAML_STARTED and SSO_END_USER_SAML_SUCCESS
// and Gatehouse completes the list (organization, user, application,
// MetaKey and credential changes; password, magic-link and SSO outcomes;
// token issuance, refresh, revocation and reuse detection).
//
// # Password login
//
// Service.PasswordLogin is the one password sign-in of every face (the
// hosted login page by email, Crafter's authenticate by username, a
// host's own form), with one lockout policy (Options.LockAfter, LockFor,
// FailureWindow; defaults 10 failures, 10 minutes, 24 hours). The counter
// is reserved atomically before the password is checked, so parallel
// guesses cannot pass the limit. An unknown identifier, a user without a
// password and a disabled user are counted, timed (a dummy hash) and
// locked exactly like an existing user, so the outcome never tells
// whether an account exists; a disabled user hears ErrDisabled only with
// the right password. Outcomes are a *LoginError wrapping
// ErrUnauthenticated, ErrLocked (with LockedUntil) or ErrDisabled; faces
// map them to their own answers.
//
// A sign-in costs two durable commits, the fewest that keep the lockout
// atomic: the reservation, before the password is checked, and the
// success. A face shares them instead of adding its own:
// PasswordLogin.Before runs in the reservation's transaction (the hosted
// page counts the client address's attempts there; a locked attempt still
// commits it) and PasswordLogin.Then in the success's (the hosted page
// writes the browser session and the authorization code there, so that
// what it acknowledges to the browser is durable with the success event).
// Likewise Txn.AllowCodeSend spends the email send budget in the
// transaction that stores the link, and ReadTxn.EmailSignInUser lets the
// transaction that checks a proof of email open the sign-in of an
// existing, enabled and verified user.
//
// # Password change and sessions
//
// Changing a password (SetPassword, ChangePassword, or a face's change
// inside its own transaction through Txn.SetPasswordHash) ends, in the
// same transaction, every session of the user of every kind: Crafter
// tickets and persistent logins, pending verification and reset tokens,
// and what other packages register with OnSessionsEnd (the OIDC
// provider's refresh-token families, browser sessions and unredeemed
// codes). A reset through the recovery path and an administrator's change
// end them all; a user who changes the password while signed in names
// that session in PasswordChange.Keep and keeps it, and every other one
// ends. Crafter Profile (§6.2) kept tickets and persistent logins on a
// password change; Gatehouse departs from it because a reset exists for
// an account whose password someone else may know, and that someone's
// sessions must not outlive it. Options.KeepSessionsOnPasswordChange
// restores Crafter's rule for hosts that need it.
//
// # Email change
//
// Changing a user's address (NormalizeEmail differs; Txn.ReplaceUser,
// which every face's update goes through) voids, in the same
// transaction, every link mailed to the old address: the pending
// invitation, reset and verification tokens (the Crafter face's among
// them) are deleted, so each face answers them as unknown links. The
// user's Verified flag is cleared unless the same write marks the new
// address verified (the user was unverified and the write sets it: a
// host asserting what it checked); neither the Cryptr nor the Crafter
// update takes a verified flag, so through them it is always cleared.
// Sessions are not ended. An update that keeps the address, or changes
// only the case of its ASCII letters, changes none of this.
//
// # Password reset
//
// "Forgot password" is one rule for every face (RequestPasswordReset,
// CheckPasswordReset, ResetPassword). A request spends the address's
// email send budget (AllowCodeSend's, shared with magic links and codes)
// and, for an enabled user of the organization, stores a single-use reset
// token (256 random bits, kept as SHA-256, DefaultPasswordResetTTL of 1
// hour, at most 24) with a USER_PASSWORD_RESET_REQUESTED event; an
// unknown or disabled address runs the same transaction and gets the same
// answer without a token, so the face answers alike and sends the mail in
// the background. Reading a token consumes nothing (mail scanners open
// links); using it consumes it, sets the password under the core's rules
// and ends every session of the user, in one transaction that writes
// USER_PASSWORD_CHANGED. Tokens of another purpose or organization are
// unknown. The Crafter face's verification and reset tokens are issued by
// the same Txn.IssueUserToken.
//
// # Invitations
//
// An administrator invites a user by mail (InviteUser, CheckInvitation,
// AcceptInvitation): an administrator's write, which on a scoped Service
// needs the organization in scope and update:users. It refuses a
// disabled user (ErrDisabled), spends the address's email send budget
// and stores a single-use token (256 random bits, kept as SHA-256,
// DefaultInvitationTTL and at most MaxInvitationTTL, 24 hours, indexed
// by user so ending the user's sessions ends it) with a USER_INVITED
// event naming the actor (WithActor). The invitation may name an
// application of the organization with a web origin, where the
// user lands once signed in. Reading a token consumes nothing; accepting
// it consumes it, marks the address verified and writes
// USER_INVITATION_ACCEPTED, and the face's hook
// (InvitationAcceptance.Then) writes what signs the user in (the OIDC
// provider's browser session), all in one transaction: a hook that fails
// rolls the acceptance back and the link stays usable.
//
// # Sign-up and email codes
//
// A person who proves an email address (magic link, email code) may
// create their own account only in an organization that owns the
// address's domain (AllowedEmailDomains) or that has OpenSignup on, a
// Gatehouse extension off by default (Organization.SignupAllowed,
// SignInWithEmail); a refusal looks like an unknown account. Users an
// administrator creates are not subject to it.
//
// Email codes have a guess budget per (organization, email): at most
// Options.CodeGuessLimit wrong codes (10) within any CodeGuessWindow (1
// h), not reset by resends; once spent, no code for the address works
// until the window passes (Txn.CheckEmailCode). Sends have a budget per
// address too: a burst (5 per 10 minutes), then one per client address
// and CodeSendCooldown (1 minute), so a flood never stops the owner's mail
// for longer than the cooldown, and links already sent stay usable
// (Service.AllowCodeSend).
//
// # Errors
//
// ErrNotFound (also for another organization's or environment's resource),
// ErrConflict (ConflictField names the field), ErrInvalid (*InvalidError
// lists each field and why), ErrForbidden, ErrExpired, ErrLocked,
// ErrUnauthenticated, ErrDisabled, ErrBusy, ErrStoreLocked, ErrSchemaTooNew.
package identity
