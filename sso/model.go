package sso

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Provider types: the identity provider product an organization uses.
// Cryptr showed azure_ad, okta and unset; the others complete the list of
// products Cryptr documents.
const (
	ProviderAzureAD      = "azure_ad"      // Microsoft Entra ID (Azure Active Directory)
	ProviderOkta         = "okta"          // Okta
	ProviderGoogle       = "google"        // Google Workspace
	ProviderADFS         = "adfs"          // Active Directory Federation Services
	ProviderPingFederate = "ping_federate" // Ping Identity PingFederate
	ProviderPingOne      = "ping_one"      // Ping Identity PingOne
	ProviderAuth0        = "auth0"         // Auth0
	ProviderOneLogin     = "one_login"     // OneLogin
	ProviderCustomSAML   = "custom_saml"   // any other SAML 2.0 identity provider
	ProviderUnset        = "unset"         // not chosen yet (the default)
)

// ProviderTypes lists every provider type, Unset last.
func ProviderTypes() []string {
	return []string{ProviderAzureAD, ProviderOkta, ProviderGoogle, ProviderADFS, ProviderPingFederate,
		ProviderPingOne, ProviderAuth0, ProviderOneLogin, ProviderCustomSAML, ProviderUnset}
}

// User security types (the connection's user policy).
const (
	// UserSecurityNone lets anyone the IdP authenticates open a session:
	// users are provisioned on their first sign-in (just in time), within
	// the organization's allowed email domains and the seats limit.
	UserSecurityNone = "none"
	// UserSecurityUserRegistered admits only users that already exist in
	// the organization's directory (linked on their first sign-in by
	// email, within the allowed email domains).
	UserSecurityUserRegistered = "user_registered"
)

// UserSecurityTypes lists the user policies.
func UserSecurityTypes() []string { return []string{UserSecurityNone, UserSecurityUserRegistered} }

// Onboarding states, in the order an IT administrator goes through them.
// Cryptr showed not_initialized and provider_type_chosen.
const (
	OnboardingNotInitialized     = "not_initialized"      // created, nothing done yet
	OnboardingInvitationSent     = "invitation_sent"      // the setup link was mailed
	OnboardingStarted            = "started"              // the administrator opened the setup link
	OnboardingProviderTypeChosen = "provider_type_chosen" // the administrator chose the provider
	OnboardingMetadataUploaded   = "metadata_uploaded"    // valid IdP metadata was uploaded
	OnboardingTestFailed         = "test_failed"          // the last test sign-in failed
	OnboardingCompleted          = "completed"            // a test sign-in succeeded
)

// OnboardingStates lists the onboarding states in progress order.
func OnboardingStates() []string {
	return []string{OnboardingNotInitialized, OnboardingInvitationSent, OnboardingStarted,
		OnboardingProviderTypeChosen, OnboardingMetadataUploaded, OnboardingTestFailed, OnboardingCompleted}
}

// Tutorial steps: the page of the onboarding portal the administrator has
// reached (tutorial_step, starting at 0).
const (
	StepChooseProvider = 0 // choose the identity provider product
	StepConfigureIdP   = 1 // copy the service provider values into the IdP
	StepUploadMetadata = 2 // upload or paste the IdP metadata XML
	StepTestSignIn     = 3 // run a test sign-in
	StepDone           = 4 // the connection works
)

// TutorialSteps names each tutorial step by its number.
func TutorialSteps() map[int]string {
	return map[int]string{StepChooseProvider: "choose_provider", StepConfigureIdP: "configure_idp",
		StepUploadMetadata: "upload_metadata", StepTestSignIn: "test_sign_in", StepDone: "done"}
}

// OnboardingType is the onboarding_type of every onboarding.
const OnboardingType = "sso-connection"

// Connection is one organization's SAML connection (Cryptr's
// SsoConnection). Its ID (the idp_id) never changes.
type Connection struct {
	ID        string `json:"id"` // idp_id: org domain (dashes to underscores) + "_" + 22 base58 chars
	SPID      string `json:"sp_id"`
	OrgID     string `json:"org_id"`
	OrgDomain string `json:"org_domain"`
	// Active: a disabled connection refuses every sign-in.
	Active       bool   `json:"active"`
	ProviderType string `json:"provider_type"`
	// Metadata is the IdP metadata XML as uploaded; empty until then.
	Metadata string `json:"metadata,omitempty"`
	// SeatsLimit caps how many users may be linked to the connection;
	// 0 means no limit.
	SeatsLimit       int    `json:"seats_limit"`
	UserSecurityType string `json:"user_security_type"`
	// AllowIdPInitiated accepts unsolicited responses (off by default).
	AllowIdPInitiated bool `json:"allow_idp_initiated,omitempty"`
	// AllowSHA1Signatures accepts the IdP's messages signed with a SHA-1
	// based algorithm (off by default: saml.Config.AllowSHA1Signatures).
	AllowSHA1Signatures  bool      `json:"allow_sha1_signatures,omitempty"`
	DefaultRedirectionID string    `json:"default_redirection_id,omitempty"`
	OnboardingID         string    `json:"onboarding_id,omitempty"`
	CreatedAt            time.Time `json:"inserted_at"`
	UpdatedAt            time.Time `json:"updated_at"`
}

// Onboarding follows the customer's IT administrator through the setup of
// one connection (Cryptr's SsoAdminOnboarding /
// EnterpriseConnectionOnboarding).
type Onboarding struct {
	ID               string     `json:"id"`
	ConnectionID     string     `json:"idp_id"`
	ProviderType     string     `json:"provider_type,omitempty"` // empty: not chosen
	SSOAdminEmail    string     `json:"sso_admin_email,omitempty"`
	State            string     `json:"state"`
	TutorialStep     int        `json:"tutorial_step"`
	InvitationSentAt *time.Time `json:"invitation_sent_at,omitempty"`
	// LastTestError is the reason of the last failed test sign-in.
	LastTestError string `json:"last_test_error,omitempty"`
	// LastTestResult summarizes the last successful test sign-in (the
	// NameID and email the IdP sent).
	LastTestResult string    `json:"last_test_result,omitempty"`
	CreatedAt      time.Time `json:"inserted_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	// AccessEpoch is the generation of the setup links and portal
	// sessions that open this onboarding. It moves on when the
	// administrator's email changes, when an invitation is sent again and
	// when the onboarding is reset: every link and portal session of an
	// earlier generation (or of a replaced onboarding) is refused from
	// then on. It is not part of Cryptr's wire format.
	AccessEpoch int `json:"access_epoch,omitempty"`
}

// Redirection sends users of a connection to an application after a
// sign-in that did not start at the application (IdP-initiated, or a
// login link without OAuth parameters).
type Redirection struct {
	ID           string    `json:"id"`
	AppID        string    `json:"app_id"` // the application's client_id
	ConnectionID string    `json:"idp_id"`
	SPID         string    `json:"sp_id"`
	OrgID        string    `json:"org_id"`
	URI          string    `json:"uri"`
	CreatedAt    time.Time `json:"inserted_at"`
}

// base58Alphabet is Bitcoin's alphabet (no 0, O, I, l).
const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// IDSuffixLength is the number of base58 characters after the domain in an
// idp_id or sp_id (about 129 random bits).
const IDSuffixLength = 22

// NewConnectionID builds an idp_id (or sp_id) from a domain: dashes turned
// into underscores, "_", then 22 random base58 characters read from r.
func NewConnectionID(r io.Reader, domain string) (string, error) {
	var b strings.Builder
	b.WriteString(strings.ReplaceAll(domain, "-", "_"))
	b.WriteByte('_')
	buf := make([]byte, 64)
	n := 0
	for n < IDSuffixLength {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", fmt.Errorf("random id: %w", err)
		}
		for _, c := range buf {
			// 58*4 = 232: reject bytes >= 232 so every character is
			// equally likely.
			if c >= 232 {
				continue
			}
			b.WriteByte(base58Alphabet[c%58])
			n++
			if n == IDSuffixLength {
				break
			}
		}
	}
	return b.String(), nil
}

// ValidConnectionID reports whether s has the shape of an idp_id: lower-case
// letters, digits and underscores, then "_" and 22 base58 characters.
func ValidConnectionID(s string) bool {
	if len(s) < IDSuffixLength+2 || len(s) > 128 || s[len(s)-IDSuffixLength-1] != '_' {
		return false
	}
	for i := 0; i < len(s)-IDSuffixLength-1; i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	for _, c := range []byte(s[len(s)-IDSuffixLength:]) {
		if strings.IndexByte(base58Alphabet, c) < 0 {
			return false
		}
	}
	return true
}

func validProviderType(s string) bool {
	for _, p := range ProviderTypes() {
		if p == s {
			return true
		}
	}
	return false
}

func validUserSecurityType(s string) bool {
	return s == UserSecurityNone || s == UserSecurityUserRegistered
}
