package sso

import (
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// Storage layout, through the identity core's records, sets and unique
// indexes (so every backend holds SSO data in the same transactions as the
// users it provisions):
//
//	records  {env}/sso-connections/{idp_id}          Connection
//	records  {env}/sso-onboardings/{id}              Onboarding
//	records  {env}/sso-redirections/{id}             Redirection
//	records  {env}/sso-sp-keys/{idp_id}              the connection's SP key pair (private key sealed)
//	set      {env}/sso-connections                   every connection (list)
//	set      {env}/sso-org-connections/{org id}      an organization's connections
//	set      {env}/sso-connection-users/{idp_id}     users linked to a connection (seats)
//	unique   -/sso-idp-env/""/{idp_id} -> env        which environment serves an idp_id
//	records  -/sso-setup-links/{sha256}              single-use setup links (expiring)
//	records  -/sso-portal-sessions/{sha256}          onboarding portal sessions (expiring)
//	records  -/sso-authn-requests/{sha256}           AuthnRequests bound to a browser (expiring)
//	records  -/sso-logout-requests/{sha256}          SP-initiated LogoutRequests, by RelayState (expiring)
//	records  -/sso-rate/{sha256}                     AuthnRequests per client address and window (expiring)
//	records  -/sso-saml-replay/{sha256}              consumed assertion ids (expiring)
func connections(env identity.Environment) kv.Records[Connection] {
	return kv.Records[Connection]{Env: string(env), Kind: "sso-connections"}
}

func onboardings(env identity.Environment) kv.Records[Onboarding] {
	return kv.Records[Onboarding]{Env: string(env), Kind: "sso-onboardings"}
}

func redirections(env identity.Environment) kv.Records[Redirection] {
	return kv.Records[Redirection]{Env: string(env), Kind: "sso-redirections"}
}

func allConnections(env identity.Environment) kv.Set {
	return kv.Set{Env: string(env), Parts: []string{"sso-connections"}}
}

func orgConnections(env identity.Environment, orgID string) kv.Set {
	return kv.Set{Env: string(env), Parts: []string{"sso-org-connections", orgID}}
}

func connectionUsers(env identity.Environment, idpID string) kv.Set {
	return kv.Set{Env: string(env), Parts: []string{"sso-connection-users", idpID}}
}

var idpEnvironments = kv.Unique{Name: "sso-idp-env"}

// setupLink is a mailed, single-use link to the onboarding portal.
type setupLink struct {
	ConnectionID string               `json:"idp_id"`
	Env          identity.Environment `json:"env"`
	ExpiresAt    time.Time            `json:"expires_at"`
	// OnboardingID and Epoch are the onboarding and its AccessEpoch when
	// the link was made (see accessCurrent).
	OnboardingID string `json:"onboarding_id,omitempty"`
	Epoch        int    `json:"epoch,omitempty"`
}

// portalSession is the IT administrator's session in the onboarding
// portal, limited to one connection.
type portalSession struct {
	ConnectionID string               `json:"idp_id"`
	Env          identity.Environment `json:"env"`
	CSRFHash     string               `json:"csrf_hash"`
	ExpiresAt    time.Time            `json:"expires_at"`
	// OnboardingID and Epoch are those of the setup link that opened it.
	OnboardingID string `json:"onboarding_id,omitempty"`
	Epoch        int    `json:"epoch,omitempty"`
}

// accessOf returns the onboarding of the connection idpID in env and its
// AccessEpoch ("" and 0 when it has none).
func accessOf(tx identity.ReadTx, env identity.Environment, idpID string) (onboardingID string, epoch int, err error) {
	c, err := connections(env).Get(tx, idpID)
	if err != nil {
		return "", 0, err
	}
	if c.OnboardingID == "" {
		return "", 0, nil
	}
	o, err := onboardings(env).Get(tx, c.OnboardingID)
	if isNotFound(err) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, err
	}
	return o.ID, o.AccessEpoch, nil
}

// accessCurrent reports whether a setup link or portal session made for
// onboarding at epoch still opens the connection idpID: the connection
// exists and its onboarding is the same, at the same AccessEpoch. A link
// or session stored before links named their onboarding (onboarding "")
// opens it until its AccessEpoch first moves on.
func accessCurrent(tx identity.ReadTx, env identity.Environment, idpID, onboarding string, epoch int) (bool, error) {
	id, cur, err := accessOf(tx, env, idpID)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return (id == onboarding || onboarding == "") && cur == epoch, nil
}

// authnRequest is an AuthnRequest we sent, bound to the browser that
// carries the cookie whose hash keys it.
type authnRequest struct {
	RequestID    string               `json:"request_id"`
	ConnectionID string               `json:"idp_id"`
	Env          identity.Environment `json:"env"`
	// Pending is the OIDC provider's pending authorization, if the
	// sign-in started at an application.
	Pending string `json:"pending,omitempty"`
	// AdminTest marks a test sign-in from the onboarding portal.
	AdminTest bool      `json:"admin_test,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
}

type replayEntry struct {
	Until time.Time `json:"until"`
}

var (
	setupLinks     = kv.Records[setupLink]{Kind: "sso-setup-links"}
	portalSessions = kv.Records[portalSession]{Kind: "sso-portal-sessions"}
	authnRequests  = kv.Records[authnRequest]{Kind: "sso-authn-requests"}
	replayEntries  = kv.Records[replayEntry]{Kind: "sso-saml-replay"}
)

// putExpiring writes an account-wide record and schedules its deletion.
func putExpiring[T any](tx identity.Tx, r kv.Records[T], id string, v T, at time.Time) error {
	if err := r.Put(tx, id, v); err != nil {
		return err
	}
	return kv.ScheduleExpiry(tx, at, r.Key(id))
}

// takeRecord reads and deletes a record (single use).
func takeRecord[T any](tx identity.Tx, r kv.Records[T], id string) (T, error) {
	v, err := r.Get(tx, id)
	if err != nil {
		return v, err
	}
	return v, r.Delete(tx, id)
}

func isNotFound(err error) bool { return errors.Is(err, identity.ErrNotFound) }

func notFound(what string) error { return fmt.Errorf("%s %w", what, identity.ErrNotFound) }
