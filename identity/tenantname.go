package identity

import (
	"regexp"
	"strings"
)

// Tenant names and organization domains.
//
// A tenant is an organization; the organization's domain is a slug
// (CheckDomain: lower-case letters and digits in words joined by
// single dashes, at most 63 characters), the form the Cryptr face and the
// hosted pages use in URLs. Crafter tenants are commonly named after
// Crafter Studio site ids, which also use '_' and repeated dashes, so a
// tenant name is any run of lower-case letters and digits with runs of
// '-' and '_' between them (it starts and ends with a letter or digit),
// and maps to a domain as follows:
//
//   - a name that is already a slug is its own domain ("acme", "my-site"),
//     unless it starts with "x0-" and decodes as below;
//   - any other name (one with '_', "--", or a slug that decodes) becomes
//     "x0-" followed by its letter-and-digit runs joined by separator
//     codes between dashes, each '-' of a separator run written 'd' and
//     each '_' written 'u': "my_site" is "x0-my-u-site", "a_-b" is
//     "x0-a-ud-b", "x0-a" is "x0-x0-d-a".
//
// The mapping is one-to-one and reversible (TenantName(TenantDomain(n)) ==
// n): runs and separator codes alternate, so "my_site" and "my-site"
// never share a domain, and an encoded domain always decodes while a
// slug kept as its own domain never does. Every organization domain is
// some tenant's (TenantDomain(TenantName(d)) == d). The encoded domain
// must still fit in 63 characters.

// encodedPrefix starts every encoded domain.
const encodedPrefix = "x0-"

var tenantNameRE = regexp.MustCompile(`^[a-z0-9]+([_-]+[a-z0-9]+)*$`)

// TenantDomain returns the organization domain of the Crafter tenant
// name, or false when name is not a valid tenant name (see the rule
// above). Crafter access tokens name tenants, organizations have
// domains: the core maps one to the other (a credential's tenant
// permissions are swept by domain when an organization is deleted).
func TenantDomain(name string) (string, bool) {
	if !tenantNameRE.MatchString(name) {
		return "", false
	}
	if CheckDomain(name) == "" && (!strings.HasPrefix(name, encodedPrefix) || TenantName(name) == name) {
		return name, true
	}
	var b strings.Builder
	b.WriteString(encodedPrefix)
	sep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-' || c == '_':
			if !sep {
				b.WriteByte('-')
				sep = true
			}
			if c == '-' {
				b.WriteByte('d')
			} else {
				b.WriteByte('u')
			}
		default:
			if sep {
				b.WriteByte('-')
				sep = false
			}
			b.WriteByte(c)
		}
	}
	d := b.String()
	if CheckDomain(d) != "" {
		return "", false
	}
	return d, true
}

// TenantName returns the tenant name of an organization domain: the
// inverse of TenantDomain.
func TenantName(domain string) string {
	rest, ok := strings.CutPrefix(domain, encodedPrefix)
	if !ok {
		return domain
	}
	parts := strings.Split(rest, "-")
	if len(parts)%2 == 0 {
		return domain
	}
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 0 {
			b.WriteString(p)
			continue
		}
		for j := 0; j < len(p); j++ {
			switch p[j] {
			case 'd':
				b.WriteByte('-')
			case 'u':
				b.WriteByte('_')
			default:
				return domain
			}
		}
	}
	if n := b.String(); tenantNameRE.MatchString(n) {
		if d, ok := TenantDomain(n); ok && d == domain {
			return n
		}
	}
	return domain
}
