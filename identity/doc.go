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
// A Cryptr API key and a Crafter access token are the same Credential.
//
// # Environments
//
// Organizations are account-wide; everything in their directories (users,
// tenant settings, applications, events, sessions, keys) is kept per
// Environment. A Service serves one environment; ForEnvironment gives the
// other.
//
// # Storage
//
// Store is a small ordered, transactional key-value interface that each
// backend implements (store/memory, store/bolt, store/postgres). On top of
// it, this package keeps JSON records (Records), unique indexes (Unique),
// sorted sets with maintained counts (Set: lists, role and attribute
// indexes), counters (Counter: the event sequence) and an expiry index
// (ScheduleExpiry, SweepExpired). Service.Update runs a function in one
// transaction with the domain operations of Txn, which keep every index,
// count and audit event consistent with the records; other packages
// (tokens, sso, profile) keep their own records in the same transactions.
//
// IDs are UUID v7 (time-ordered), so "most recent first" is a reverse scan of
// a set; offset pages skip index keys without decoding the records skipped,
// and IterateUsers offers cursor iteration whose cost does not grow with
// depth.
//
// # Enums
//
// Application types: react, vue, angular (Cryptr's single-page apps) and
// regular_web, native, machine. MetaKey types: string, integer, number,
// boolean, date, datetime, url, email (matched case-insensitively, stored
// lower case). Genders: male, female, other. Event codes: see EventCodes;
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
