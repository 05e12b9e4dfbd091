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
// # Errors
//
// ErrNotFound (also for another organization's or environment's resource),
// ErrConflict (ConflictField names the field), ErrInvalid (*InvalidError
// lists each field and why), ErrForbidden, ErrExpired, ErrLocked,
// ErrUnauthenticated, ErrDisabled, ErrBusy, ErrStoreLocked, ErrSchemaTooNew.
package identity
