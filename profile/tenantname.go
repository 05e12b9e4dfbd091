package profile

import "github.com/gatehouse-id/gatehouse/identity"

// TenantDomain returns the organization domain of the tenant name, or
// false when name is not a valid tenant name: identity.TenantDomain, the
// core's mapping (a tenant is an organization; see identity for the
// rule).
func TenantDomain(name string) (string, bool) { return identity.TenantDomain(name) }

// TenantName returns the tenant name of an organization domain: the
// inverse of TenantDomain (identity.TenantName).
func TenantName(domain string) string { return identity.TenantName(domain) }

// tenantOf is the tenant name of organization o.
func tenantOf(o *identity.Organization) string { return TenantName(o.Domain) }
