package identity

// Event codes of the audit log. Cryptr published two
// (SSO_END_USER_SAML_STARTED, SSO_END_USER_SAML_SUCCESS); Gatehouse
// completes the list. Every management write and every authentication
// outcome writes one of these, in the transaction of the change it records.
const (
	// Organizations and their directory settings.
	EventOrganizationCreated = "ORGANIZATION_CREATED"
	EventOrganizationUpdated = "ORGANIZATION_UPDATED"
	EventOrganizationDeleted = "ORGANIZATION_DELETED"
	EventTenantUpdated       = "TENANT_UPDATED"

	// Users.
	EventUserCreated         = "USER_CREATED"
	EventUserUpdated         = "USER_UPDATED"
	EventUserDeleted         = "USER_DELETED"
	EventUserEnabled         = "USER_ENABLED"
	EventUserDisabled        = "USER_DISABLED"
	EventUserVerified        = "USER_VERIFIED"
	EventUserMetadataSet     = "USER_METADATA_SET"
	EventUserPasswordChanged = "USER_PASSWORD_CHANGED"
	EventUserPasswordReset   = "USER_PASSWORD_RESET_REQUESTED"
	EventUserLocked          = "USER_LOCKED"
	// EventUserInvited records an invitation mailed to a user
	// (Service.InviteUser), EventUserInvitationAccepted its use.
	EventUserInvited            = "USER_INVITED"
	EventUserInvitationAccepted = "USER_INVITATION_ACCEPTED"
	// EventUsersImported records one batch of ImportUsers; its Data holds
	// count, first_user_id and last_user_id.
	EventUsersImported = "USERS_IMPORTED"

	// Applications, MetaKeys and credentials.
	EventApplicationCreated = "APPLICATION_CREATED"
	EventApplicationUpdated = "APPLICATION_UPDATED"
	EventApplicationDeleted = "APPLICATION_DELETED"
	EventMetaKeyCreated     = "METAKEY_CREATED"
	EventMetaKeyDeleted     = "METAKEY_DELETED"
	EventCredentialCreated  = "CREDENTIAL_CREATED"
	EventCredentialDeleted  = "CREDENTIAL_DELETED"

	// Password logins and sessions.
	EventPasswordLoginSuccess = "PASSWORD_LOGIN_SUCCESS"
	EventPasswordLoginFailed  = "PASSWORD_LOGIN_FAILED"
	EventTicketCreated        = "TICKET_CREATED"
	EventTicketInvalidated    = "TICKET_INVALIDATED"
	EventPersistentLoginUsed  = "PERSISTENT_LOGIN_USED"
	// A remember-me login opened or deleted through the Crafter face (a
	// long-lived sign-in minted by an application: who did it is logged).
	EventPersistentLoginCreated = "PERSISTENT_LOGIN_CREATED"
	EventPersistentLoginDeleted = "PERSISTENT_LOGIN_DELETED"
	// A verification token created without mail (for an application that
	// sends its own) or deleted through the Crafter face; the token is a
	// credential that can verify the profile.
	EventVerificationTokenCreated = "VERIFICATION_TOKEN_CREATED"
	EventVerificationTokenDeleted = "VERIFICATION_TOKEN_DELETED"
	// A file attached to a profile (Crafter's attachments), or replaced.
	EventUserAttachmentAdded = "USER_ATTACHMENT_ADDED"

	// Magic links.
	EventMagicLinkSent    = "MAGIC_LINK_SENT"
	EventMagicLinkSuccess = "MAGIC_LINK_SUCCESS"
	EventMagicLinkFailed  = "MAGIC_LINK_FAILED"

	// OAuth / OIDC.
	EventTokenIssued          = "TOKEN_ISSUED"
	EventTokenRefreshed       = "TOKEN_REFRESHED"
	EventTokenRevoked         = "TOKEN_REVOKED"
	EventRefreshReuseDetected = "REFRESH_TOKEN_REUSE_DETECTED"
	EventCodeReuseDetected    = "AUTHORIZATION_CODE_REUSE_DETECTED"
	EventAPIKeyTokenIssued    = "API_KEY_TOKEN_ISSUED"
	EventAPIKeyAuthFailed     = "API_KEY_AUTHENTICATION_FAILED"
	EventLogout               = "LOGOUT"

	// Enterprise SSO.
	EventSSOConnectionCreated  = "SSO_CONNECTION_CREATED"
	EventSSOConnectionUpdated  = "SSO_CONNECTION_UPDATED"
	EventSSOConnectionActive   = "SSO_CONNECTION_ACTIVATED"
	EventSSOConnectionDisabled = "SSO_CONNECTION_DISABLED"
	EventSSOOnboardingSent     = "SSO_ONBOARDING_INVITATION_SENT"
	EventSSOOnboardingUpdated  = "SSO_ONBOARDING_UPDATED"
	EventSSOMetadataUploaded   = "SSO_IDP_METADATA_UPLOADED"
	EventSSOSAMLStarted        = "SSO_END_USER_SAML_STARTED"
	EventSSOSAMLSuccess        = "SSO_END_USER_SAML_SUCCESS"
	EventSSOSAMLFailed         = "SSO_END_USER_SAML_FAILED"
	EventSSOAdminTestSuccess   = "SSO_ADMIN_TEST_SUCCESS"
	EventSSOAdminTestFailed    = "SSO_ADMIN_TEST_FAILED"

	// Users, as an administrator changes them.
	EventUserUnlocked             = "USER_UNLOCKED"
	EventApplicationSecretRotated = "APPLICATION_SECRET_ROTATED"
	EventUserSessionsEnded        = "USER_SESSIONS_ENDED"

	// The admin console.
	EventConsoleRoleGranted  = "CONSOLE_ROLE_GRANTED"
	EventConsoleRoleRevoked  = "CONSOLE_ROLE_REVOKED"
	EventConsoleSetupClaimed = "CONSOLE_SETUP_CLAIMED"
	EventConsoleSignedIn     = "CONSOLE_SIGNED_IN"
	EventConsoleSignedOut    = "CONSOLE_SIGNED_OUT"
)

// EventCodes returns every event code, for documentation and validation of
// filters.
func EventCodes() []string {
	return []string{
		EventOrganizationCreated, EventOrganizationUpdated, EventOrganizationDeleted, EventTenantUpdated,
		EventUserCreated, EventUserUpdated, EventUserDeleted, EventUserEnabled, EventUserDisabled,
		EventUserVerified, EventUserMetadataSet, EventUserPasswordChanged, EventUserPasswordReset, EventUserLocked, EventUsersImported,
		EventUserInvited, EventUserInvitationAccepted,
		EventApplicationCreated, EventApplicationUpdated, EventApplicationDeleted,
		EventMetaKeyCreated, EventMetaKeyDeleted, EventCredentialCreated, EventCredentialDeleted,
		EventPasswordLoginSuccess, EventPasswordLoginFailed, EventTicketCreated, EventTicketInvalidated,
		EventPersistentLoginUsed, EventPersistentLoginCreated, EventPersistentLoginDeleted,
		EventVerificationTokenCreated, EventVerificationTokenDeleted, EventUserAttachmentAdded, EventMagicLinkSent, EventMagicLinkSuccess, EventMagicLinkFailed,
		EventTokenIssued, EventTokenRefreshed, EventTokenRevoked, EventRefreshReuseDetected,
		EventCodeReuseDetected, EventAPIKeyTokenIssued, EventAPIKeyAuthFailed, EventLogout,
		EventSSOConnectionCreated, EventSSOConnectionUpdated, EventSSOConnectionActive, EventSSOConnectionDisabled,
		EventSSOOnboardingSent, EventSSOOnboardingUpdated, EventSSOMetadataUploaded,
		EventSSOSAMLStarted, EventSSOSAMLSuccess, EventSSOSAMLFailed, EventSSOAdminTestSuccess, EventSSOAdminTestFailed,
		EventUserUnlocked, EventUserSessionsEnded, EventApplicationSecretRotated,
		EventConsoleRoleGranted, EventConsoleRoleRevoked, EventConsoleSetupClaimed, EventConsoleSignedIn, EventConsoleSignedOut,
	}
}
