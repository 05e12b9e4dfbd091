package api

import (
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
)

// nullable returns nil for "", so an unset optional field is written as
// null, as the document's types say ("url or null").
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nonNil(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}

// Organization is the wire form of an organization.
type Organization struct {
	Envelope
	AllowedEmailDomains []string `json:"allowed_email_domains"`
	CountryName         *string  `json:"country_name"`
	Domain              string   `json:"domain"`
	ID                  string   `json:"id"`
	InsertedAt          Time     `json:"inserted_at"`
	Locality            *string  `json:"locality"`
	Name                string   `json:"name"`
	PrivacyPolicyURL    *string  `json:"privacy_policy_url"`
	State               *string  `json:"state"`
	TermsOfServiceURL   *string  `json:"terms_of_service_url"`
	UpdatedAt           Time     `json:"updated_at"`
	// OpenSignup is a Gatehouse extension, shown only when on.
	OpenSignup bool `json:"open_signup,omitempty"`
}

// NewOrganization renders an organization; account is used when the
// record names no managing account.
func NewOrganization(o *identity.Organization, account string) Organization {
	managed := o.ManagedBy
	if managed == "" {
		managed = account
	}
	return Organization{
		Envelope:            Envelope{Access: LimitedTo(o.Domain), Domain: o.Domain, ManagedBy: managed, Type: "Organization"},
		AllowedEmailDomains: nonNil(o.AllowedEmailDomains),
		CountryName:         nullable(o.CountryName),
		Domain:              o.Domain,
		ID:                  o.ID,
		InsertedAt:          Time(o.CreatedAt),
		Locality:            nullable(o.Locality),
		Name:                o.Name,
		PrivacyPolicyURL:    nullable(o.PrivacyPolicyURL),
		State:               nullable(o.State),
		TermsOfServiceURL:   nullable(o.TermsOfServiceURL),
		UpdatedAt:           Time(o.UpdatedAt),
		OpenSignup:          o.OpenSignup,
	}
}

// Address is the wire form of a user's postal address.
type Address struct {
	Envelope
	Country       string `json:"country,omitempty"`
	Formatted     string `json:"formatted,omitempty"`
	Locality      string `json:"locality,omitempty"`
	PostalCode    string `json:"postal_code,omitempty"`
	Region        string `json:"region,omitempty"`
	StreetAddress string `json:"street_address,omitempty"`
}

// Profile is the wire form of a user's OpenID Connect standard claims.
type Profile struct {
	Envelope
	Address           *Address `json:"address,omitempty"`
	Birthdate         string   `json:"birthdate,omitempty"`
	Email             string   `json:"email"`
	FamilyName        string   `json:"family_name,omitempty"`
	Gender            string   `json:"gender,omitempty"`
	GivenName         string   `json:"given_name,omitempty"`
	Locale            string   `json:"locale,omitempty"`
	MiddleName        string   `json:"middle_name,omitempty"`
	Name              string   `json:"name,omitempty"`
	Nickname          string   `json:"nickname,omitempty"`
	PhoneNumber       string   `json:"phone_number,omitempty"`
	Picture           string   `json:"picture,omitempty"`
	PreferredUsername string   `json:"preferred_username,omitempty"`
	ProfileURL        string   `json:"profile,omitempty"`
	Website           string   `json:"website,omitempty"`
	Zoneinfo          string   `json:"zoneinfo,omitempty"`
}

// MetaKey is the wire form of a MetaKey.
type MetaKey struct {
	Envelope
	ID       string `json:"id"`
	Name     string `json:"name"`
	Required bool   `json:"required"`
	Type     string `json:"type"`
}

// NewMetaKey renders a MetaKey of organization domain.
func NewMetaKey(d *identity.AttributeDefinition, domain, account string, env identity.Environment) MetaKey {
	typ := d.Type
	if typ == "" {
		typ = identity.MetaString
	}
	return MetaKey{Envelope: OrgEnvelope("MetaKey", domain, account, env), ID: d.ID, Name: d.Name,
		Required: d.Required, Type: typ}
}

// MetaData is the wire form of a user's value for a MetaKey.
type MetaData struct {
	Envelope
	ID    string  `json:"id"`
	Key   MetaKey `json:"key"`
	Value string  `json:"value"`
}

// User is the wire form of a user.
type User struct {
	Envelope
	AvatarHexaColor string     `json:"avatar_hexa_color,omitempty"`
	ID              string     `json:"id"`
	InsertedAt      Time       `json:"inserted_at"`
	Metadata        []MetaData `json:"metadata"`
	Profile         Profile    `json:"profile"`
	UpdatedAt       Time       `json:"updated_at"`
}

// NewUser renders a user of organization domain; tn (the organization's
// directory settings) gives the MetaKeys of its metadata.
func NewUser(u *identity.User, tn *identity.Tenant, domain, account string, env identity.Environment) User {
	out := User{
		Envelope:        OrgEnvelope("User", domain, account, env),
		AvatarHexaColor: u.AvatarHexColor,
		ID:              u.ID,
		InsertedAt:      Time(u.CreatedAt),
		Metadata:        []MetaData{},
		UpdatedAt:       Time(u.UpdatedAt),
	}
	if tn != nil {
		for i := range tn.AttributeDefinitions {
			d := &tn.AttributeDefinitions[i]
			if !d.InToken {
				continue
			}
			v, ok := u.Attributes[d.Name]
			if !ok {
				continue
			}
			out.Metadata = append(out.Metadata, MetaData{
				Envelope: OrgEnvelope("MetaData", domain, account, env),
				ID:       identity.MetaDataID(u.ID, d.Name),
				Key:      NewMetaKey(d, domain, account, env),
				Value:    identity.MetaDataText(v),
			})
		}
	}
	p := &u.Profile
	out.Profile = Profile{
		Envelope:          OrgEnvelope("Profile", domain, account, env),
		Birthdate:         p.Birthdate,
		Email:             u.Email,
		FamilyName:        p.FamilyName,
		Gender:            p.Gender,
		GivenName:         p.GivenName,
		Locale:            p.Locale,
		MiddleName:        p.MiddleName,
		Name:              p.Name,
		Nickname:          p.Nickname,
		PhoneNumber:       p.PhoneNumber,
		Picture:           p.Picture,
		PreferredUsername: p.PreferredUsername,
		ProfileURL:        p.ProfileURL,
		Website:           p.Website,
		Zoneinfo:          p.Zoneinfo,
	}
	if a := p.Address; a != nil && *a != (identity.Address{}) {
		out.Profile.Address = &Address{
			Envelope:      OrgEnvelope("Address", domain, account, env),
			Country:       a.Country,
			Formatted:     a.Formatted,
			Locality:      a.Locality,
			PostalCode:    a.PostalCode,
			Region:        a.Region,
			StreetAddress: a.StreetAddress,
		}
	}
	return out
}

// Application is the wire form of an application.
type Application struct {
	Envelope
	AllowedLogoutURLs             []string `json:"allowed_logout_urls"`
	AllowedOriginsCORS            []string `json:"allowed_origins_cors"`
	AllowedRedirectURLs           []string `json:"allowed_redirect_urls"`
	AllowedWebOrigins             []string `json:"allowed_web_origins"`
	ApplicationType               string   `json:"application_type"`
	ClientID                      string   `json:"client_id"`
	ClientSecret                  string   `json:"client_secret,omitempty"`
	DefaultOriginCORS             *string  `json:"default_origin_cors"`
	DefaultRedirectURIAfterLogin  *string  `json:"default_redirect_uri_after_login"`
	DefaultRedirectURIAfterLogout *string  `json:"default_redirect_uri_after_logout"`
	DefaultWebOrigin              *string  `json:"default_web_origin"`
	Description                   *string  `json:"description"`
	ID                            string   `json:"id"`
	InsertedAt                    Time     `json:"inserted_at"`
	Name                          string   `json:"name"`
	OrganizationDomainScope       *string  `json:"organization_domain_scope"`
	// SigningAlg is Gatehouse's extension: the JWT algorithm of the
	// application's tokens (RS256, ES256 or EdDSA). It is absent unless
	// set, so answers keep Cryptr's shape.
	SigningAlg *string `json:"signing_alg,omitempty"`
	// AllowedScopes is Gatehouse's extension: the only scopes the
	// application's tokens may carry beside OpenID Connect's own. It is
	// absent unless set.
	AllowedScopes []string `json:"allowed_scopes,omitempty"`
	UpdatedAt     Time     `json:"updated_at"`
}

// NewApplication renders an application created under organization
// domain. An application scoped to one organization is "limited_to" it,
// and so is one a key limited to some organizations created (it serves
// only those, identity.Application.ServedOrgs: "limited_to:a,b" when they
// are several); any other serves all the organizations of the account.
func NewApplication(a *identity.Application, domain, account string, env identity.Environment) Application {
	access := AllOrganizationsOf(account)
	switch {
	case a.ServedOrgs != nil && len(a.ServedOrgs) == 0:
		access = LimitedTo("") // serves none (its organization was deleted)
	case a.OrganizationScope != "":
		access = LimitedTo(a.OrganizationScope)
	case a.ServedOrgs != nil:
		access = LimitedTo(strings.Join(a.ServedOrgs, ","))
	}
	return Application{
		Envelope:                      Envelope{Access: access, Database: env.DBS(), Domain: domain, ManagedBy: account, Type: "Application"},
		AllowedLogoutURLs:             nonNil(a.AllowedLogoutURLs),
		AllowedOriginsCORS:            nonNil(a.AllowedOriginsCORS),
		AllowedRedirectURLs:           nonNil(a.AllowedRedirectURLs),
		AllowedWebOrigins:             nonNil(a.AllowedWebOrigins),
		ApplicationType:               a.ApplicationType,
		ClientID:                      a.ClientID,
		DefaultOriginCORS:             nullable(a.DefaultOriginCORS),
		DefaultRedirectURIAfterLogin:  nullable(a.DefaultRedirectURIAfterLogin),
		DefaultRedirectURIAfterLogout: nullable(a.DefaultRedirectURIAfterLogout),
		DefaultWebOrigin:              nullable(a.DefaultWebOrigin),
		Description:                   nullable(a.Description),
		ID:                            a.ID,
		InsertedAt:                    Time(a.CreatedAt),
		Name:                          a.Name,
		OrganizationDomainScope:       nullable(a.OrganizationScope),
		SigningAlg:                    nullable(a.SigningAlg),
		AllowedScopes:                 a.AllowedScopes,
		UpdatedAt:                     Time(a.UpdatedAt),
	}
}

// Event is the wire form of a log event.
type Event struct {
	Envelope
	ClientID               *string `json:"client_id"`
	Database               string  `json:"database"`
	Email                  *string `json:"email"`
	EventCode              string  `json:"event_code"`
	ID                     int64   `json:"id"`
	InsertedAt             Time    `json:"inserted_at"`
	ResourceOwnerID        *string `json:"resource_owner_id"`
	SAMLIdentityProviderID *string `json:"saml_identity_provider_id"`
	TenantDomain           string  `json:"tenant_domain"`
	// Data is Gatehouse's extension: the event's details, such as a
	// refused sign-in's private reason (data.reason) and failure detail.
	// It is absent when the event has none, as in Cryptr's answers.
	Data map[string]any `json:"data,omitempty"`
	// Actor is Gatehouse's extension: who caused the event (Cryptr's
	// Event has no such field). It is absent when the event names no
	// actor (the embedder's own code, an end user's sign-in).
	Actor *EventActor `json:"actor,omitempty"`
}

// EventActor is the actor of a log event: a user (kind "user", id the
// user's id), an API key (kind "api_key", id its client_id) or a Crafter
// access token (kind "access_token", id the credential's id, never its
// accessTokenId). Kind is absent when unknown.
type EventActor struct {
	ID   string `json:"id"`
	Kind string `json:"kind,omitempty"`
}

// NewEvent renders a log event of organization domain. Its database is
// the environment as Cryptr's dbs claim and __database__ write it
// ("sandbox" or "default").
func NewEvent(e *identity.Event, domain, account string, env identity.Environment) Event {
	td := e.TenantDomain
	if td == "" {
		td = domain
	}
	ev := Event{
		Envelope:               OrgEnvelope("Event", domain, account, env),
		ClientID:               nullable(e.ClientID),
		Database:               env.DBS(),
		Email:                  nullable(e.Email),
		EventCode:              e.Code,
		ID:                     e.ID,
		InsertedAt:             Time(e.CreatedAt),
		ResourceOwnerID:        nullable(e.ResourceOwnerID),
		SAMLIdentityProviderID: nullable(e.SAMLIdPID),
		TenantDomain:           td,
		Data:                   e.Data,
	}
	if e.ActorID != "" {
		ev.Actor = &EventActor{ID: e.ActorID, Kind: e.ActorKind}
	}
	return ev
}
