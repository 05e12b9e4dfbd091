package profile

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestTenantDomainMapping pins the documented mapping of tenant names
// (Studio site ids) to organization domains: examples, and over every
// string of up to 7 characters from "ax0-_" that it is one-to-one,
// reversible, yields slugs, and reaches every slug.
func TestTenantDomainMapping(t *testing.T) {
	for _, tc := range []struct{ name, domain string }{
		{"acme", "acme"}, {"my-site", "my-site"}, {"default", "default"},
		{"my_site", "x0-my-u-site"}, {"my__site", "x0-my-uu-site"}, {"my--site", "x0-my-dd-site"},
		{"a_-b", "x0-a-ud-b"}, {"x0-my-u-site", "x0-x0-d-my-d-u-d-site"}, {"x0-abc", "x0-abc"},
		{"site_2024_v1", "x0-site-u-2024-u-v1"},
		{"-a", ""}, {"a_", ""}, {"My_Site", ""}, {"a.b", ""}, {"", ""},
	} {
		d, ok := TenantDomain(tc.name)
		if d != tc.domain || ok != (tc.domain != "") {
			t.Errorf("TenantDomain(%q) = %q, %v; want %q", tc.name, d, ok, tc.domain)
		}
		if ok && TenantName(d) != tc.name {
			t.Errorf("TenantName(%q) = %q, want %q", d, TenantName(d), tc.name)
		}
	}
	seen := map[string]string{}
	var walk func(s string)
	walk = func(s string) {
		if d, ok := TenantDomain(s); ok {
			if identity.CheckDomain(d) != "" {
				t.Fatalf("TenantDomain(%q) = %q is not a slug", s, d)
			}
			if prev, dup := seen[d]; dup {
				t.Fatalf("%q and %q share the domain %q", prev, s, d)
			}
			seen[d] = s
			if n := TenantName(d); n != s {
				t.Fatalf("TenantName(TenantDomain(%q)) = %q", s, n)
			}
		}
		if identity.CheckDomain(s) == "" {
			if d, ok := TenantDomain(TenantName(s)); !ok || d != s {
				t.Fatalf("domain %q is no tenant's: TenantName %q maps to %q", s, TenantName(s), d)
			}
		}
		if len(s) < 7 {
			for _, c := range "ax0-_" {
				walk(s + string(c))
			}
		}
	}
	walk("")
}

// TestStudioSiteTenants creates tenants named like Studio sites and uses
// them by name: '_' and '-' stay apart.
func TestStudioSiteTenants(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"my_site", "my-site", "my__site"} {
		tn := e.tenant(name)
		if tn.Name != name {
			t.Fatalf("tenant %q answered as %q", name, tn.Name)
		}
		p := e.profile(name, "alice", nil)
		if p.Tenant != name {
			t.Fatalf("profile of %q has tenant %q", name, p.Tenant)
		}
		var got Tenant
		e.mustOK(e.do("GET", "/api/1/tenant/"+name+".json", e.master, nil)).json(t, &got)
		if got.Name != name || got.ID != tn.ID {
			t.Fatalf("get %q: %+v", name, got)
		}
		var tk Ticket
		e.mustOK(e.do("POST", "/api/1/authentication/authenticate.json", e.master, map[string][]string{
			"tenantName": {name}, "username": {"alice"}, "password": {"pw-alice"}})).json(t, &tk)
		if tk.Tenant != name {
			t.Fatalf("ticket of %q: %+v", name, tk)
		}
	}
	// A token limited to my_site does not reach my-site.
	tok := e.token(identity.Credential{Application: "site-app",
		TenantPermissions: []identity.TenantPermission{{Tenant: "my_site", AllowedActions: []string{"*"}}}})
	if r := e.do("GET", "/api/1/tenant/my-site.json", tok, nil); r.status != 403 {
		t.Fatalf("my_site token on my-site: %d %s", r.status, r.body)
	}
	e.mustOK(e.do("GET", "/api/1/tenant/my_site.json", tok, nil))
	var all []Tenant
	e.mustOK(e.do("GET", "/api/1/tenant/all.json", e.master, nil)).json(t, &all)
	names := map[string]bool{}
	for _, tn := range all {
		names[tn.Name] = true
	}
	for _, n := range []string{"my_site", "my-site", "my__site"} {
		if !names[n] {
			t.Errorf("tenant/all lacks %q: %v", n, names)
		}
	}
	if r := e.doJSON("/api/1/tenant/create.json", e.master, map[string]any{"name": "Bad_Name"}, nil); r.status != 400 {
		t.Fatalf("invalid name: %d %s", r.status, r.body)
	}
}
