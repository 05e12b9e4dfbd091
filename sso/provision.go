package sso

import (
	"errors"
	"reflect"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/sso/saml"
)

// Failure reasons of a sign-in that the SAML layer accepted but the
// connection's rules refused, or that never reached the SAML layer. They go
// to the SSO_END_USER_SAML_FAILED event's data.reason, next to the
// saml.Reason values.
const (
	ReasonConnectionDisabled    = "connection_disabled"       // the connection is disabled
	ReasonNotConfigured         = "connection_not_configured" // no (valid) IdP metadata yet
	ReasonEmailMissing          = "email_missing"             // no email attribute and a NameID that is not an email
	ReasonEmailDomainNotAllowed = "email_domain_not_allowed"  // the email is outside the organization's allowed_email_domains
	ReasonUserNotRegistered     = "user_not_registered"       // user_registered policy and no such user
	ReasonSeatsLimitReached     = "seats_limit_reached"       // seats_limit users already linked
	ReasonUserDisabled          = "user_disabled"             // the user is disabled in the directory
	ReasonIdentityConflict      = "email_linked_to_another_identity"
	ReasonNoRequest             = "no_request_bound_to_browser" // a response arrived with no AuthnRequest cookie (and IdP-initiated is off)
	ReasonAuthorization         = "authorization_failed"        // the OIDC provider refused to complete the authorization
	ReasonStoreError            = "store_error"                 // the store failed while provisioning
	ReasonUserInvalid           = "user_invalid"                // the directory's user rules refuse the asserted user (a required MetaKey, a control character)
)

// refusal is a sign-in refused after the SAML checks, with its reason.
type refusal struct {
	reason string
	detail string
}

func (r *refusal) Error() string { return r.reason + ": " + r.detail }

func refuse(reason, detail string) error { return &refusal{reason: reason, detail: detail} }

// Attribute names that IdPs use, mapped to Gatehouse's normalized names.
// Claim URIs are matched by their last path segment; OIDs by value.
var oidNames = map[string]string{
	"urn:oid:0.9.2342.19200300.100.1.1": "uid",
	"urn:oid:0.9.2342.19200300.100.1.3": "email",
	"urn:oid:2.5.4.42":                  "first_name",
	"urn:oid:2.5.4.4":                   "last_name",
	"urn:oid:2.5.4.3":                   "name",
	"urn:oid:2.16.840.1.113730.3.1.241": "displayname",
	"urn:oid:2.5.4.20":                  "phone",
}

// aliases maps lower-cased short attribute names to normalized ones.
var aliases = map[string]string{
	"email": "email", "mail": "email", "emailaddress": "email", "user.email": "email",
	"first_name": "first_name", "firstname": "first_name", "givenname": "first_name", "given_name": "first_name", "user.firstname": "first_name",
	"last_name": "last_name", "lastname": "last_name", "surname": "last_name", "sn": "last_name", "family_name": "last_name", "user.lastname": "last_name",
	"name": "name", "cn": "name", "displayname": "displayname",
	"uid": "uid", "phone": "phone", "telephonenumber": "phone", "mobile": "phone",
}

// MetaKeys that SSO sign-ins fill in the user's MetaData (created in the
// organization's directory on first use), after Cryptr's list.
func samlMetaKeys() []string {
	return []string{"saml_nameid", "saml_subject", "uid", "email", "first_name", "last_name",
		"displayname", "givenname", "surname", "emailaddress", "identityprovider", "objectidentifier",
		"tenantid", "authnmethodsreferences", "objectGuid", "unit_path", "phone", "name"}
}

// shortName returns the last segment of a claim URI ("…/claims/emailaddress"
// → "emailaddress"), or the name itself.
func shortName(name string) string {
	if n, ok := oidNames[name]; ok {
		return n
	}
	if i := strings.LastIndexAny(name, "/:"); i >= 0 && i < len(name)-1 && strings.Contains(name, "://") {
		return name[i+1:]
	}
	return name
}

// mappedAttributes are the assertion's values under normalized names, and
// the MetaData to store.
type mappedAttributes struct {
	email, givenName, familyName, name, phone string
	meta                                      map[string]string
}

func mapAttributes(a *saml.Assertion) mappedAttributes {
	m := mappedAttributes{meta: map[string]string{"saml_nameid": a.NameID, "saml_subject": a.NameID}}
	known := map[string]bool{}
	for _, k := range samlMetaKeys() {
		known[k] = true
	}
	norm := map[string]string{}
	for name, values := range a.Attributes {
		if len(values) == 0 {
			continue
		}
		v := strings.Join(values, ",")
		short := shortName(name)
		if known[short] {
			m.meta[short] = v
		}
		if n, ok := aliases[strings.ToLower(short)]; ok {
			if _, dup := norm[n]; !dup {
				norm[n] = values[0]
			}
			if known[n] {
				if _, set := m.meta[n]; !set {
					m.meta[n] = v
				}
			}
		}
	}
	m.email = strings.TrimSpace(norm["email"])
	if m.email == "" && identity.CheckEmail(a.NameID) == "" {
		m.email = a.NameID
		m.meta["email"] = a.NameID
	}
	m.givenName, m.familyName = norm["first_name"], norm["last_name"]
	m.name = norm["displayname"]
	if m.name == "" {
		m.name = norm["name"]
	}
	if m.name == "" && (m.givenName != "" || m.familyName != "") {
		m.name = strings.TrimSpace(m.givenName + " " + m.familyName)
	}
	m.phone = norm["phone"]
	for k, v := range m.meta {
		if len(v) > 4096 {
			m.meta[k] = v[:4096]
		}
	}
	return m
}

// provision finds or creates the user of an assertion, in tx, applying the
// connection's rules. It returns a *refusal for rule violations.
func (s *Service) provision(tx *identity.Txn, c Connection, a *saml.Assertion) (*identity.User, bool, error) {
	env := tx.Env()
	org, err := tx.OrgByID(c.OrgID)
	if err != nil {
		return nil, false, err
	}
	m := mapAttributes(a)
	created := false

	u, err := tx.UserBySSOIdentity(c.ID, a.NameID)
	switch {
	case err == nil:
		// Known identity: attributes are refreshed below.
	case !isNotFound(err):
		return nil, false, err
	default:
		if m.email == "" {
			return nil, false, refuse(ReasonEmailMissing, "the assertion has no email attribute and the NameID is not an email address")
		}
		if identity.CheckEmail(m.email) != "" {
			return nil, false, refuse(ReasonEmailMissing, "the email attribute is not an email address")
		}
		if !domainAllowed(org, m.email) {
			return nil, false, refuse(ReasonEmailDomainNotAllowed, "email domain "+identity.EmailDomain(m.email)+" is not in the organization's allowed_email_domains")
		}
		existing, err := tx.UserByEmail(org.ID, m.email)
		if err != nil && !isNotFound(err) {
			return nil, false, err
		}
		if existing != nil {
			for _, sid := range existing.SSOIdentities {
				if sid.ConnectionID == c.ID {
					return nil, false, refuse(ReasonIdentityConflict, "the user with this email is linked to another NameID of this connection")
				}
			}
		} else if c.UserSecurityType == UserSecurityUserRegistered {
			return nil, false, refuse(ReasonUserNotRegistered, "user_security_type is user_registered and no user has this email")
		}
		if err := s.checkSeats(tx, c); err != nil {
			return nil, false, err
		}
		if existing != nil {
			u = existing
		} else {
			nu, err := tx.Service().NewUser(org.ID)
			if err != nil {
				return nil, false, err
			}
			nu.Email, nu.Username, nu.Verified = m.email, m.email, true
			nu.SSOIdentities = []identity.SSOIdentity{{ConnectionID: c.ID, NameID: a.NameID}}
			applyProfile(nu, m)
			if err := s.applyMetadata(tx, org.ID, nu, m); err != nil {
				return nil, false, err
			}
			if err := tx.InsertUser(nu); err != nil {
				return nil, false, userRefusal(err)
			}
			if err := connectionUsers(env, c.ID).Add(tx.KVTx(kv.Inside()), nu.ID, nil); err != nil {
				return nil, false, err
			}
			return nu, true, nil
		}
	}
	if !u.Enabled {
		return nil, false, refuse(ReasonUserDisabled, "the user is disabled")
	}
	nu := identity.CloneUser(u)
	linked := false
	for _, sid := range nu.SSOIdentities {
		if sid.ConnectionID == c.ID && sid.NameID == a.NameID {
			linked = true
		}
	}
	if !linked {
		nu.SSOIdentities = append(nu.SSOIdentities, identity.SSOIdentity{ConnectionID: c.ID, NameID: a.NameID})
	}
	applyProfile(nu, m)
	if err := s.applyMetadata(tx, org.ID, nu, m); err != nil {
		return nil, false, err
	}
	// A sign-in that changes nothing of the user (the usual one) writes no
	// user record, so its updated_at stays that of the last change.
	if !reflect.DeepEqual(identity.CloneUser(u), nu) {
		if err := tx.ReplaceUser(u, nu); err != nil {
			return nil, false, userRefusal(err)
		}
	}
	if err := connectionUsers(env, c.ID).Add(tx.KVTx(kv.Inside()), nu.ID, nil); err != nil {
		return nil, false, err
	}
	return nu, created, nil
}

// userRefusal maps the core's refusal of the user to ReasonUserInvalid,
// with the offending fields as detail for the audit log.
func userRefusal(err error) error {
	if errors.Is(err, identity.ErrInvalid) {
		return refuse(ReasonUserInvalid, err.Error())
	}
	return err
}

func domainAllowed(org *identity.Organization, email string) bool {
	d := identity.EmailDomain(email)
	for _, a := range org.AllowedEmailDomains {
		if strings.EqualFold(a, d) {
			return true
		}
	}
	return false
}

// checkSeats refuses a new user for a connection whose seats are all
// taken. Members whose user was deleted or unlinked are pruned first.
func (s *Service) checkSeats(tx *identity.Txn, c Connection) error {
	if c.SeatsLimit <= 0 {
		return nil
	}
	set := connectionUsers(tx.Env(), c.ID)
	n, err := set.Count(tx.KV(kv.Inside()))
	if err != nil {
		return err
	}
	if n < c.SeatsLimit {
		return nil
	}
	var stale []string
	if err := set.Each(tx.KV(kv.Inside()), false, func(uid string, _ []byte) error {
		u, err := tx.User(uid)
		if isNotFound(err) {
			stale = append(stale, uid)
			return nil
		}
		if err != nil {
			return err
		}
		for _, sid := range u.SSOIdentities {
			if sid.ConnectionID == c.ID {
				return nil
			}
		}
		stale = append(stale, uid)
		return nil
	}); err != nil {
		return err
	}
	if n-len(stale) < c.SeatsLimit {
		for _, uid := range stale {
			if err := set.Remove(tx.KVTx(kv.Inside()), uid); err != nil {
				return err
			}
		}
		return nil
	}
	return refuse(ReasonSeatsLimitReached, "the connection's seats_limit is reached")
}

// applyProfile copies the IdP's attributes into the OIDC profile: the IdP
// is the source of truth, so they are refreshed at every sign-in.
func applyProfile(u *identity.User, m mappedAttributes) {
	if m.givenName != "" {
		u.Profile.GivenName = m.givenName
	}
	if m.familyName != "" {
		u.Profile.FamilyName = m.familyName
	}
	if m.name != "" {
		u.Profile.Name = m.name
	}
	if m.phone != "" && identity.CheckPhone(m.phone) == "" {
		u.Profile.PhoneNumber = m.phone
	}
}

// applyMetadata stores the SAML MetaData, creating the MetaKeys the
// organization's directory lacks.
func (s *Service) applyMetadata(tx *identity.Txn, orgID string, u *identity.User, m mappedAttributes) error {
	tn, err := tx.Tenant(orgID)
	if err != nil {
		return err
	}
	changed := false
	for _, k := range samlMetaKeys() {
		v, ok := m.meta[k]
		if !ok {
			continue
		}
		d, exists := tn.Definition(k)
		if !exists {
			id, err := tx.Service().NewID()
			if err != nil {
				return err
			}
			tn.AttributeDefinitions = append(tn.AttributeDefinitions, identity.AttributeDefinition{
				ID: id, Name: k, Type: identity.MetaString, InToken: true, CreatedAt: s.now(),
				Permissions: []identity.AttributePermission{{Application: "*", AllowedActions: []string{"*"}}}})
			changed = true
		} else if d.Type != "" && d.Type != identity.MetaString && identity.CheckMetaValue(d.Type, v) != "" {
			continue // the account typed this key; a value of another shape is not stored
		}
		if u.Attributes == nil {
			u.Attributes = map[string]any{}
		}
		u.Attributes[k] = v
	}
	if changed {
		return tx.PutTenant(tn)
	}
	return nil
}

func asRefusal(err error) (*refusal, bool) {
	var r *refusal
	ok := errors.As(err, &r)
	return r, ok
}
