package ssoapi

import (
	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/cryptrhttp"
	"github.com/gatehouse-id/gatehouse/sso"
)

// Connection is the wire form of an SSO connection (__type__
// "SsoConnection"). DefaultRedirection and Onboarding are ids, or the
// nested objects when preloaded. Metadata is the IdP's XML metadata (a
// string, as the document's type table says) once uploaded, and [] before,
// as every sample of the document shows it.
type Connection struct {
	cryptrhttp.Envelope
	Active            bool `json:"active"`
	AllowIdPInitiated bool `json:"allow_idp_initiated"`
	// AllowSHA1Signatures is a Gatehouse extension, absent unless set:
	// the connection accepts SHA-1 signatures from its IdP.
	AllowSHA1Signatures bool            `json:"allow_sha1_signatures,omitempty"`
	DefaultRedirection  any             `json:"default_redirection"`
	ID                  string          `json:"id"`
	InsertedAt          cryptrhttp.Time `json:"inserted_at"`
	Metadata            any             `json:"metadata"`
	Onboarding          any             `json:"onboarding"`
	ProviderType        string          `json:"provider_type"`
	SAMLConfig          SAMLConfig      `json:"saml_config"`
	SeatsLimit          int             `json:"seats_limit"`
	SPID                string          `json:"sp_id"`
	UpdatedAt           cryptrhttp.Time `json:"updated_at"`
	UserSecurityType    string          `json:"user_security_type"`
}

// SAMLConfig are the service provider values to give the IdP.
type SAMLConfig struct {
	ACSURL      string `json:"acs_url"`
	EntityID    string `json:"entity_id"`
	LoginURL    string `json:"login_url"`
	MetadataURL string `json:"cryptr_metadata_url"`
	SLOURL      string `json:"slo_url"`
}

// Onboarding is the wire form of an onboarding (__type__
// "EnterpriseConnectionOnboarding").
type Onboarding struct {
	cryptrhttp.Envelope
	ID               string           `json:"id"`
	IdPID            string           `json:"idp_id"`
	InsertedAt       cryptrhttp.Time  `json:"inserted_at"`
	InvitationSentAt *cryptrhttp.Time `json:"invitation_sent_at"`
	OnboardingType   string           `json:"onboarding_type"`
	ProviderType     *string          `json:"provider_type"`
	SSOAdminEmail    *string          `json:"sso_admin_email"`
	State            string           `json:"state"`
	TutorialStep     int              `json:"tutorial_step"`
	UpdatedAt        cryptrhttp.Time  `json:"updated_at"`
}

// Redirection is the wire form of a default redirection (__type__
// "Redirection").
type Redirection struct {
	cryptrhttp.Envelope
	AppID string `json:"app_id"`
	ID    string `json:"id"`
	IdPID string `json:"idp_id"`
	SPID  string `json:"sp_id"`
	URI   string `json:"uri"`
}

func (h *handler) accountEnvelope(typ string, env identity.Environment) cryptrhttp.Envelope {
	return cryptrhttp.Envelope{Access: cryptrhttp.AllOrganizationsOf(h.account), Domain: h.account, ManagedBy: h.account,
		Environment: string(env), Type: typ}
}

func (h *handler) render(d *sso.Details, pre map[string]bool, env identity.Environment) Connection {
	c := d.Connection
	out := Connection{
		Envelope: cryptrhttp.Envelope{Access: cryptrhttp.LimitedTo(c.OrgDomain), Domain: c.OrgDomain, ManagedBy: h.account,
			Environment: string(env), Type: "SsoConnection"},
		Active: c.Active, AllowIdPInitiated: c.AllowIdPInitiated, AllowSHA1Signatures: c.AllowSHA1Signatures, ID: c.ID,
		InsertedAt: cryptrhttp.Time(c.CreatedAt), ProviderType: c.ProviderType, SeatsLimit: c.SeatsLimit,
		SPID: c.SPID, UpdatedAt: cryptrhttp.Time(c.UpdatedAt), UserSecurityType: c.UserSecurityType, Metadata: []string{},
		SAMLConfig: SAMLConfig{ACSURL: h.svc.ACSURL(c.ID), EntityID: h.svc.EntityID(c.ID), LoginURL: h.svc.LoginURL(c.ID),
			MetadataURL: h.svc.MetadataURL(c.ID), SLOURL: h.svc.SLOURL(c.ID)},
	}
	if c.Metadata != "" {
		out.Metadata = c.Metadata
	}
	if d.Redirection != nil {
		if pre["default_redirection"] {
			out.DefaultRedirection = h.renderRedirection(d.Redirection, env)
		} else {
			out.DefaultRedirection = d.Redirection.ID
		}
	}
	if d.Onboarding != nil {
		if pre["onboarding"] {
			out.Onboarding = h.renderOnboarding(d.Onboarding, env)
		} else {
			out.Onboarding = d.Onboarding.ID
		}
	}
	return out
}

func (h *handler) renderOnboarding(o *sso.Onboarding, env identity.Environment) Onboarding {
	out := Onboarding{Envelope: h.accountEnvelope("EnterpriseConnectionOnboarding", env), ID: o.ID, IdPID: o.ConnectionID,
		InsertedAt: cryptrhttp.Time(o.CreatedAt), OnboardingType: sso.OnboardingType, State: o.State,
		TutorialStep: o.TutorialStep, UpdatedAt: cryptrhttp.Time(o.UpdatedAt)}
	if o.ProviderType != "" {
		p := o.ProviderType
		out.ProviderType = &p
	}
	if o.SSOAdminEmail != "" {
		e := o.SSOAdminEmail
		out.SSOAdminEmail = &e
	}
	if o.InvitationSentAt != nil {
		t := cryptrhttp.Time(*o.InvitationSentAt)
		out.InvitationSentAt = &t
	}
	return out
}

func (h *handler) renderRedirection(r *sso.Redirection, env identity.Environment) Redirection {
	return Redirection{Envelope: h.accountEnvelope("Redirection", env), AppID: r.AppID, ID: r.ID,
		IdPID: r.ConnectionID, SPID: r.SPID, URI: r.URI}
}
