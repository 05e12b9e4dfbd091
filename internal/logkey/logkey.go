// Package logkey is the one vocabulary of log attribute keys that every
// Gatehouse package uses with log/slog, so that an operator filters a
// sign-in refusal, a store error or a key rotation by the same field
// whatever package logged it (org=acme, idp_id=…, err=…).
//
// Code may write a key literally ("err", err) or through its constant
// (logkey.Err, err); a test (TestLogKeys) scans every slog call of the
// module and fails on a key that is not one of these constants' values,
// so a new key is added here, with its meaning, before it is used.
//
// The rules of a log line, which the same test keeps:
//   - the message is a constant, lowercase phrase (most library messages
//     start with their package's name: "sso: start sign-in");
//   - an error is logged under Err;
//   - no password, secret, bearer token, code or cookie is ever logged,
//     under any key: what identifies a credential is its id (CredentialID,
//     truncated when it may be a secret pasted in the wrong field). The one
//     exception is SetupURL, logged only when the host asks for setup
//     links in the log (development).
package logkey

// Who and where: the organization, environment and actors of an event.
const (
	// Org is an organization's domain (for signing keys and management
	// tokens, the account's domain, which is their issuer).
	Org = "org"
	// Env is the environment: "production" or "sandbox".
	Env = "env"
	// UserID is the id of a user.
	UserID = "user_id"
	// ClientID is an OAuth application's client_id.
	ClientID = "client_id"
	// CredentialID is the id of an API credential (a Cryptr API key's
	// client_id, a Crafter access token's name).
	CredentialID = "credential_id"
	// PreviousCredentialID is the master credential a new one replaced.
	PreviousCredentialID = "previous_credential_id"
	// IdPID is an SSO connection's id (Cryptr's idp_id).
	IdPID = "idp_id"
)

// What happened and why.
const (
	// Err is the error.
	Err = "err"
	// Event is the code of the audit event (PASSWORD_LOGIN_FAILED, ...).
	Event = "event"
	// Reason is the private reason of a refusal (bad_password,
	// signature_invalid, ...): the log has it, the user's page does not.
	Reason = "reason"
	// Detail is the private detail that goes with Reason.
	Detail = "detail"
	// Count is how many records an operation touched (swept, sealed, ...).
	Count = "count"
	// Credentials and PersistentLogins count the secrets an upgrade sealed.
	Credentials      = "credentials"
	PersistentLogins = "persistent_logins"
	// JournalSeq is the sequence number of an audit journal record.
	JournalSeq = "journal_seq"
)

// HTTP requests.
const (
	// Method and Path are the request's method and URL path (never the
	// query, which may hold codes or tokens).
	Method = "method"
	Path   = "path"
	// Status is an HTTP status code.
	Status = "status"
	// Page is the name of a hosted page template.
	Page = "page"
	// Panic and Stack are a recovered panic's value and stack.
	Panic = "panic"
	Stack = "stack"
)

// Signing keys.
const (
	// Alg is a signing algorithm (RS256, ES256, EdDSA).
	Alg = "alg"
	// KID is the active signing key's id; NextKID the published key that
	// signs next; RetiredKID the key a rotation retired.
	KID        = "kid"
	NextKID    = "next_kid"
	RetiredKID = "retired_kid"
	// RSASigner names what computes RS256 signatures ("openssl 3.0.19",
	// "crypto/rsa": tokens.Service.RSAImplementation).
	RSASigner = "rsa_signer"
)

// Mail.
const (
	// MailFrom, MailTo and MailSubject describe a message (never its
	// body, which holds links and codes).
	MailFrom    = "mail_from"
	MailTo      = "mail_to"
	MailSubject = "mail_subject"
	// SetupURL is an SSO onboarding setup link: a bearer link, logged only
	// when the host enables it for development (sso Options.LogSetupLinks).
	SetupURL = "setup_url"
)

// Process, storage and files.
const (
	// Addr is a listen address.
	Addr = "addr"
	// BaseURL is the public base URL.
	BaseURL = "base_url"
	// Store is the store URL, its password redacted.
	Store = "store"
	// ExistingStore says whether the store held data before this start.
	ExistingStore = "existing_store"
	// Component names the part of a program that logs (a logger.With key).
	Component = "component"
	// Blob is the storage key of an attachment's content.
	Blob = "blob"
	// File and Mode are a file's path and permissions.
	File = "file"
	Mode = "mode"
)
