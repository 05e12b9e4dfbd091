package profile

import (
	"context"
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/identity"
)

// Resource is the resource of tenant settings in Cryptr "action:resource"
// permissions and in an identity.Scope ("read:tenants", "update:tenants";
// a console admin's scope holds "*:tenants"): CredentialFor turns it into
// Crafter's tenant actions.
const Resource = "tenants"

// CredentialFor returns the access token that the identity service id, as
// scoped (identity.Service.For: a console member's scope, an API key's),
// stands for on this face, so that a caller holding only a scoped
// identity service (the admin console) is authorized by this service's
// own checks, exactly as a Crafter client with that token would be:
//
//   - its environment is the scope's;
//   - its tenant permissions name the tenants of the scope's organizations
//     (TenantName of each domain; "*" for every organization), each with
//     READ_TENANT, UPDATE_TENANT, CREATE_TENANT and DELETE_TENANT as the
//     scope grants read, update, create and delete on Resource ("tenants").
//     CREATE_TENANT is global, so only a scope over every organization
//     gets it. Profiles and tickets (MANAGE_PROFILES, MANAGE_TICKETS) are
//     never granted: the scope reaches users through the identity core;
//   - it is master (it may manage access tokens) only when the scope
//     covers every organization and grants create, read and delete on
//     identity.ResourceAPIKeys (a console owner over every organization);
//   - its ID and Application are empty: the audit events it causes name
//     the actor of the context (identity.WithActor), and attribute
//     permissions, which name applications, are not its concern.
//
// So a console viewer may read a tenant but UpdateTenant, AddRoles and
// the other writes answer it 403 ACTION_DENIED, and a member limited to
// some organizations is refused (403) any other organization's tenant,
// by this service itself. An unscoped identity service stands for full
// access (a master token over every tenant).
func (s *Service) CredentialFor(id *identity.Service) *identity.Credential {
	sc, _ := id.Scope()
	c := &identity.Credential{Environment: sc.Environment}
	var actions []string
	for _, m := range []struct{ action, crafter string }{
		{identity.ActionRead, ActionReadTenant}, {identity.ActionUpdate, ActionUpdateTenant},
		{identity.ActionCreate, ActionCreateTenant}, {identity.ActionDelete, ActionDeleteTenant},
	} {
		if sc.Allows(m.action, Resource) && (m.crafter != ActionCreateTenant || sc.ManagesAll()) {
			actions = append(actions, m.crafter)
		}
	}
	if len(actions) > 0 {
		if sc.ManagesAll() {
			c.TenantPermissions = []identity.TenantPermission{{Tenant: "*", AllowedActions: actions}}
		} else {
			for _, d := range sc.Orgs {
				c.TenantPermissions = append(c.TenantPermissions, identity.TenantPermission{Tenant: TenantName(d),
					AllowedActions: append([]string{}, actions...)})
			}
		}
	}
	c.Master = sc.ManagesAll() && sc.Allows(identity.ActionCreate, identity.ResourceAPIKeys) &&
		sc.Allows(identity.ActionRead, identity.ResourceAPIKeys) && sc.Allows(identity.ActionDelete, identity.ResourceAPIKeys)
	if c.Master {
		// Whoever manages API keys over every organization (a console
		// owner) is a master over every tenant and action: the one kind
		// of token that manages access tokens
		// (identity.Credential.MasterOverAll).
		c.TenantPermissions = []identity.TenantPermission{{Tenant: "*", AllowedActions: []string{"*"}}}
	}
	return c
}

// RevokeAccessToken deletes the access token whose credential has the id
// credentialID (AccessToken.CredentialID) in the caller's environment;
// master only. Unlike DeleteAccessToken, which takes the token's secret
// id and is silent when it is absent, an unknown id (or one of the other
// environment, or a Cryptr API key, which keeps no secret) is 404
// NO_SUCH_ACCESS_TOKEN_ID: the admin console revokes a token it lists
// without showing its secret again.
func (s *Service) RevokeAccessToken(ctx context.Context, c *identity.Credential, credentialID string) error {
	if err := masterOnly(c, "DELETE_TOKEN"); err != nil {
		return err
	}
	none := apiErr(http.StatusNotFound, CodeNoSuchAccessToken, "No access token found for the given ID")
	if credentialID == "" {
		return none
	}
	d := s.dir(c)
	tok, err := d.GetCredential(ctx, credentialID)
	if errors.Is(err, identity.ErrNotFound) || (err == nil && tok.Secret == "") {
		return none
	}
	if err != nil {
		return err
	}
	return d.DeleteCredential(ctx, tok.ID)
}
