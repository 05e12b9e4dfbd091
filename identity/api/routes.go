package api

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/cryptrhttp"
)

// Resources named in permissions ("action:resource"). Actions are read,
// read_many, create, update and delete.
const (
	ResourceOrganizations = cryptrhttp.ResourceOrganizations
	ResourceUsers         = cryptrhttp.ResourceUsers
	ResourceApplications  = cryptrhttp.ResourceApplications
	ResourceUserMetaKeys  = cryptrhttp.ResourceUserMetaKeys
	ResourceLogEvents     = cryptrhttp.ResourceLogEvents
	ResourceJWTSamples    = cryptrhttp.ResourceJWTSamples
)

// Actions named in permissions.
const (
	ActionRead     = cryptrhttp.ActionRead
	ActionReadMany = cryptrhttp.ActionReadMany
	ActionCreate   = cryptrhttp.ActionCreate
	ActionUpdate   = cryptrhttp.ActionUpdate
	ActionDelete   = cryptrhttp.ActionDelete
)

// updateMethods are the methods of every update endpoint: PUT and PATCH,
// and POST, which curl sends for the document's "-d" samples.
func updateMethods() []string { return []string{"PUT", "PATCH", "POST"} }

func (h *Handler) register(m *Mux) {
	handle := func(pattern, action, resource string, f HandlerFunc) { m.Handle(pattern, action, resource, f) }

	handle("GET /api/v2/organizations", ActionReadMany, ResourceOrganizations, h.listOrgs)
	handle("POST /api/v2/organizations", ActionCreate, ResourceOrganizations, h.createOrg)
	handle("GET /api/v2/organizations/{domain}", ActionRead, ResourceOrganizations, h.getOrg)
	for _, method := range updateMethods() {
		handle(method+" /api/v2/organizations/{domain}", ActionUpdate, ResourceOrganizations, h.updateOrg)
	}

	handle("GET /api/v2/org/{domain}/users", ActionReadMany, ResourceUsers, h.listUsers)
	handle("POST /api/v2/org/{domain}/users", ActionCreate, ResourceUsers, h.createUser)
	handle("GET /api/v2/org/{domain}/users/{user_id}", ActionRead, ResourceUsers, h.getUser)
	for _, method := range updateMethods() {
		handle(method+" /api/v2/org/{domain}/users/{user_id}", ActionUpdate, ResourceUsers, h.updateUser)
	}
	handle("DELETE /api/v2/org/{domain}/users/{user_id}", ActionDelete, ResourceUsers, h.deleteUser)
	handle("GET /api/v2/org/{domain}/user-by-email/{email}", ActionRead, ResourceUsers, h.getUserByEmail)

	handle("GET /api/v2/org/{domain}/applications", ActionReadMany, ResourceApplications, h.listApps)
	handle("POST /api/v2/org/{domain}/applications", ActionCreate, ResourceApplications, h.createApp)
	handle("GET /api/v2/org/{domain}/applications/{client_id}", ActionRead, ResourceApplications, h.getApp)
	for _, method := range updateMethods() {
		handle(method+" /api/v2/org/{domain}/applications/{client_id}", ActionUpdate, ResourceApplications, h.updateApp)
	}

	handle("GET /api/v2/org/{domain}/token-customization/user-metakey", ActionReadMany, ResourceUserMetaKeys, h.listMetaKeys)
	handle("POST /api/v2/org/{domain}/token-customization/user-metakey", ActionCreate, ResourceUserMetaKeys, h.createMetaKey)
	handle("DELETE /api/v2/org/{domain}/token-customization/user-metakey", ActionDelete, ResourceUserMetaKeys, h.deleteMetaKey)
	for _, method := range updateMethods() {
		handle(method+" /api/v2/org/{domain}/token-customization/set-user-metadata", ActionUpdate, ResourceUsers, h.setUserMetadata)
	}

	handle("GET /api/v2/org/{domain}/log-events", ActionReadMany, ResourceLogEvents, h.listEvents)
}

// caller returns the authenticated principal of r (always set on routes
// registered with Mux.Handle).
func caller(r *http.Request) (*Principal, error) {
	p, ok := PrincipalFrom(r.Context())
	if !ok {
		return nil, Unauthorized("authentication required")
	}
	return p, nil
}

// params decodes r's parameters and checks the optional "environment"
// parameter against the caller's: an API key reads and writes only its
// own environment.
func params(r *http.Request, p *Principal) (*Reader, error) {
	ps, err := DecodeParams(r)
	if err != nil {
		return nil, err
	}
	rd := ps.Reader()
	if s := rd.String("environment"); s != nil && *s != "" {
		env, err := identity.ParseEnvironment(*s)
		if err != nil {
			rd.Invalid("environment", "must be sandbox or production")
		} else if env != p.Environment() {
			return nil, Forbidden("this API key belongs to the " + string(p.Environment()) + " environment")
		}
	}
	return rd, nil
}
