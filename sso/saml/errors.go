package saml

import (
	"errors"
	"strings"

	csaml "github.com/crewjam/saml"
)

// PublicErrorMessage is the only text an end user ever sees when a SAML
// message is refused. The reason goes to the audit log (see Error).
const PublicErrorMessage = "authentication failed"

// Reason is a stable, machine-readable code saying why a SAML message was
// refused. It is meant for the audit log and for the IT administrator who is
// setting the connection up; never show it to the end user.
type Reason string

// The reasons ParseResponse and ParseLogoutRequest report.
const (
	ReasonTooLarge            Reason = "message_too_large"         // over Config.MaxMessageBytes, before or after decoding/inflating
	ReasonMalformed           Reason = "malformed_message"         // bad base64, not XML, unstable XML round trip, wrong root element
	ReasonAssertionCount      Reason = "assertion_count"           // not exactly one Assertion/EncryptedAssertion, directly under the Response
	ReasonSignatureMissing    Reason = "signature_missing"         // neither the Response nor the Assertion is signed
	ReasonInvalidSignature    Reason = "invalid_signature"         // a signature is present but does not verify
	ReasonUntrustedCert       Reason = "untrusted_certificate"     // signed with a key that is not in the IdP metadata
	ReasonCertificateNotValid Reason = "certificate_not_valid_now" // metadata certificate expired or not yet valid
	ReasonDestination         Reason = "destination_mismatch"      // Response Destination is not the URL that received it
	ReasonRecipient           Reason = "recipient_mismatch"        // SubjectConfirmationData Recipient is not our ACS URL
	ReasonAudience            Reason = "audience_mismatch"         // AudienceRestriction does not name our entity id
	ReasonIssuer              Reason = "issuer_mismatch"           // Issuer is not the IdP entity id from the metadata
	ReasonInResponseTo        Reason = "in_response_to_mismatch"   // not a request we issued to this browser (or IdP-initiated not allowed)
	ReasonExpired             Reason = "expired"                   // NotOnOrAfter / IssueInstant too old
	ReasonNotYetValid         Reason = "not_yet_valid"             // NotBefore / IssueInstant in the future beyond the skew
	ReasonReplay              Reason = "replayed"                  // assertion id already consumed
	ReasonIdPStatus           Reason = "idp_status"                // the IdP answered with a non-success status
	ReasonDecryption          Reason = "decryption_failed"         // EncryptedAssertion/EncryptedID cannot be decrypted with the SP key
	ReasonMissingElement      Reason = "missing_element"           // Subject, Conditions, AuthnStatement, NameID... absent
	ReasonUnsupported         Reason = "unsupported"               // SAML version, BaseID, SHA-1 when refused...
	ReasonReplayCacheError    Reason = "replay_cache_unavailable"  // the replay cache failed; the message is refused
	ReasonCanceled            Reason = "canceled"                  // the context was done
	ReasonInvalid             Reason = "invalid_response"          // any other refusal by the SAML library
)

// maxDetailLen bounds Error.Detail: it may echo attacker-controlled text.
const maxDetailLen = 512

// Error is the only error type ParseResponse and ParseLogoutRequest return.
// Its Error method returns PublicErrorMessage, so it is safe to show; Reason
// and Detail are private diagnostics for the audit log. Detail may contain
// text copied from the refused message: log it as untrusted data.
type Error struct {
	Reason Reason
	Detail string
	Err    error // underlying error, if any
}

// Error returns PublicErrorMessage.
func (e *Error) Error() string { return PublicErrorMessage }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// AuditString returns "reason: detail" for the audit log.
func (e *Error) AuditString() string {
	if e.Detail == "" {
		return string(e.Reason)
	}
	return string(e.Reason) + ": " + e.Detail
}

func fail(reason Reason, detail string, err error) *Error {
	if detail == "" && err != nil {
		detail = err.Error()
	}
	if len(detail) > maxDetailLen {
		detail = detail[:maxDetailLen] + "..."
	}
	return &Error{Reason: reason, Detail: detail, Err: err}
}

// classify turns an error from crewjam/saml into an *Error.
func classify(err error) *Error {
	var ours *Error
	if errors.As(err, &ours) {
		return ours
	}
	msg := err.Error()
	var ivr *csaml.InvalidResponseError
	if errors.As(err, &ivr) && ivr.PrivateErr != nil {
		msg = ivr.PrivateErr.Error()
	}
	var bad csaml.ErrBadStatus
	reason := ReasonInvalid
	switch {
	case errors.As(err, &bad):
		reason = ReasonIdPStatus
	case errors.Is(err, csaml.ErrUntrustedCertificate):
		reason = ReasonUntrustedCert
	case errors.Is(err, csaml.ErrCertificateNotValidNow):
		reason = ReasonCertificateNotValid
	case errors.Is(err, csaml.ErrInvalidSignature) && errors.Is(err, csaml.ErrUnsupported):
		// A signature algorithm refused (SHA-1, Config.AllowSHA1Signatures).
		reason = ReasonUnsupported
	case errors.Is(err, csaml.ErrInvalidSignature), errors.Is(err, csaml.ErrInvalidCertificate):
		reason = ReasonInvalidSignature
	case errors.Is(err, csaml.ErrDestinationMismatch):
		reason = ReasonDestination
		if strings.Contains(msg, "Recipient") {
			reason = ReasonRecipient
		}
	case errors.Is(err, csaml.ErrAudienceMismatch):
		reason = ReasonAudience
	case errors.Is(err, csaml.ErrIssuerMismatch):
		reason = ReasonIssuer
	case errors.Is(err, csaml.ErrRequestIDMismatch):
		reason = ReasonInResponseTo
	case errors.Is(err, csaml.ErrExpired):
		reason = ReasonExpired
	case errors.Is(err, csaml.ErrNotYetValid):
		reason = ReasonNotYetValid
	case errors.Is(err, csaml.ErrDecryptionFailed):
		reason = ReasonDecryption
	case errors.Is(err, csaml.ErrMissingElement):
		reason = ReasonMissingElement
	case errors.Is(err, csaml.ErrMalformedMessage):
		reason = ReasonMalformed
	case errors.Is(err, csaml.ErrUnsupported):
		reason = ReasonUnsupported
	case errors.Is(err, csaml.ErrAssertionReplayed):
		reason = ReasonReplay
	case strings.Contains(msg, "signature element not present"):
		reason = ReasonSignatureMissing
	}
	return fail(reason, msg, err)
}
