package profile

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// loadTenant reads the organization and tenant settings named name.
func loadTenant(tx *identity.ReadTxn, name string) (*identity.Organization, *identity.Tenant, error) {
	if name == "" {
		return nil, nil, noTenant(name)
	}
	domain, ok := TenantDomain(name)
	if !ok {
		return nil, nil, noTenant(name)
	}
	o, err := tx.Org(domain)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, nil, noTenant(name)
	}
	if err != nil {
		return nil, nil, err
	}
	tn, err := tx.Tenant(o.ID)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, nil, noTenant(name)
	}
	return o, tn, err
}

// CreateTenant creates a tenant: an organization whose domain is
// TenantDomain of the tenant's name (the name itself when it is a slug).
// A name outside the rule (lower-case letters and digits, with runs of '-'
// and '_' between them) is refused rather than silently renamed.
func (s *Service) CreateTenant(ctx context.Context, c *identity.Credential, in TenantInput) (*Tenant, error) {
	if !allowedGlobal(c, ActionCreateTenant) {
		return nil, deniedGlobal(ActionCreateTenant)
	}
	if in.Name == "" {
		return nil, badRequest("Tenant name is required")
	}
	domain, ok := TenantDomain(in.Name)
	if !ok {
		return nil, badRequest("Tenant name %q must be lower-case letters and digits, with dashes or underscores between them, "+
			"and map to an organization domain of at most 63 characters (for example %q)", in.Name, identity.Slug(in.Name))
	}
	if err := checkRoles(in.AvailableRoles); err != nil {
		return nil, err
	}
	d := s.dir(c)
	now := d.Now()
	defs, err := checkDefinitions(in.AttributeDefinitions, nil, now)
	if err != nil {
		return nil, err
	}
	o := &identity.Organization{Name: in.Name, Domain: domain, ManagedBy: d.AccountDomain(), CreatedAt: now, UpdatedAt: now}
	if o.ID, err = identity.NewID(d.Rand(), now); err != nil {
		return nil, err
	}
	if o.ObjectID, err = identity.NewObjectID(d.Rand(), now); err != nil {
		return nil, err
	}
	var out Tenant
	err = d.Update(ctx, func(tx *identity.Txn) error {
		if err := tx.InsertOrg(o); err != nil {
			if errors.Is(err, identity.ErrConflict) {
				return apiErr(http.StatusConflict, CodeTenantExists, "The tenant %q already exists", in.Name)
			}
			return err
		}
		tn, err := tx.Tenant(o.ID)
		if err != nil {
			return err
		}
		tn.VerifyNewProfiles, tn.SSOEnabled = in.VerifyNewProfiles, in.SSOEnabled
		tn.CleanseAttributes = in.CleanseAttributes == nil || *in.CleanseAttributes
		tn.AvailableRoles = dedupe(in.AvailableRoles)
		tn.AttributeDefinitions = defs
		if err := tx.PutTenant(tn); err != nil {
			return err
		}
		out = tenantJSON(o, tn)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GetTenant returns a tenant (READ_TENANT).
func (s *Service) GetTenant(ctx context.Context, c *identity.Credential, name string) (*Tenant, error) {
	if err := check(c, name, ActionReadTenant); err != nil {
		return nil, err
	}
	var out Tenant
	err := s.dir(c).View(ctx, func(tx *identity.ReadTxn) error {
		o, tn, err := loadTenant(tx, name)
		if err != nil {
			return err
		}
		out = tenantJSON(o, tn)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// CountTenants counts tenants (global READ_TENANT).
func (s *Service) CountTenants(ctx context.Context, c *identity.Credential) (int, error) {
	if !allowedGlobal(c, ActionReadTenant) {
		return 0, deniedGlobal(ActionReadTenant)
	}
	p, err := s.dir(c).ListOrganizations(ctx, identity.PageRequest{Page: 1, PerPage: 1})
	if err != nil {
		return 0, err
	}
	return p.Total, nil
}

// AllTenants lists every tenant, oldest first (global READ_TENANT).
func (s *Service) AllTenants(ctx context.Context, c *identity.Credential) ([]Tenant, error) {
	if !allowedGlobal(c, ActionReadTenant) {
		return nil, deniedGlobal(ActionReadTenant)
	}
	d := s.dir(c)
	var orgs []identity.Organization
	for page := 1; ; page++ {
		p, err := d.ListOrganizations(ctx, identity.PageRequest{Page: page, PerPage: identity.MaxPerPage})
		if err != nil {
			return nil, err
		}
		orgs = append(orgs, p.Items...)
		if len(p.Items) < identity.MaxPerPage || page >= p.TotalPages() {
			break
		}
	}
	out := []Tenant{}
	err := d.View(ctx, func(tx *identity.ReadTxn) error {
		for i := len(orgs) - 1; i >= 0; i-- {
			tn, err := tx.Tenant(orgs[i].ID)
			if errors.Is(err, identity.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, tenantJSON(&orgs[i], tn))
		}
		return nil
	})
	return out, err
}

// updateTenant runs fn on a tenant inside one transaction, after the
// READ_TENANT and UPDATE_TENANT checks, then applies the cascades fn asks
// for: roles pulled from every profile, attributes unset, and (when
// backfill is set) default values back-filled.
func (s *Service) updateTenant(ctx context.Context, c *identity.Credential, name string,
	fn func(tn *identity.Tenant) (cascade, error)) (*Tenant, error) {
	if err := check(c, name, ActionReadTenant); err != nil {
		return nil, err
	}
	d := s.dir(c)
	var out Tenant
	err := d.Update(ctx, func(tx *identity.Txn) error {
		o, old, err := loadTenant(&tx.ReadTxn, name)
		if err != nil {
			return err
		}
		if err := check(c, name, ActionUpdateTenant); err != nil {
			return err
		}
		tn, err := tx.Tenant(o.ID) // a copy fn may change
		if err != nil {
			return err
		}
		cas, err := fn(tn)
		if err != nil {
			return err
		}
		if err := applyCascade(tx, o.ID, old, tn, cas); err != nil {
			return err
		}
		out = tenantJSON(o, tn)
		return tx.Log(&identity.Event{Code: identity.EventTenantUpdated, OrgID: o.ID, ActorID: c.ID})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

type cascade struct {
	roles    map[string]bool // pulled from every profile
	attrs    map[string]bool // unset from every profile
	backfill bool            // default values set where missing
}

// applyCascade moves a tenant from old to nw settings and brings its
// profiles and indexes along, in an order that keeps every index exact
// (the core indexes a user's attributes by the stored tenant's Indexed
// flags): removals while the old settings are stored, then index entries
// of attributes that stop being indexed, the new settings, entries of
// attributes that start being indexed, and finally default back-fill.
func applyCascade(tx *identity.Txn, orgID string, old, nw *identity.Tenant, cas cascade) error {
	if err := relaxRemovedRequired(tx, old, cas); err != nil {
		return err
	}
	if len(cas.roles) > 0 || len(cas.attrs) > 0 {
		err := tx.EachOrgUser(orgID, func(u *identity.User) error {
			n := identity.CloneUser(u)
			changed := false
			kept := []string{}
			for _, r := range n.Roles {
				if cas.roles[r] {
					changed = true
					continue
				}
				kept = append(kept, r)
			}
			n.Roles = kept
			for a := range cas.attrs {
				if _, ok := n.Attributes[a]; ok {
					delete(n.Attributes, a)
					changed = true
				}
			}
			if !changed {
				return nil
			}
			return tx.ReplaceUser(u, n)
		})
		if err != nil {
			return err
		}
	}
	was, now := indexedNames(old), indexedNames(nw)
	var off, on []string
	for n := range was {
		if !now[n] && !cas.attrs[n] {
			off = append(off, n)
		}
	}
	for n := range now {
		if !was[n] {
			on = append(on, n)
		}
	}
	if err := reindex(tx, orgID, off, false); err != nil {
		return err
	}
	if err := tx.PutTenant(nw); err != nil {
		return err
	}
	if err := reindex(tx, orgID, on, true); err != nil {
		return err
	}
	if !cas.backfill {
		return nil
	}
	return tx.EachOrgUser(orgID, func(u *identity.User) error {
		n := identity.CloneUser(u)
		changed := false
		for _, d := range nw.AttributeDefinitions {
			if d.DefaultValue == nil {
				continue
			}
			if _, ok := n.Attributes[d.Name]; !ok {
				n.Attributes[d.Name] = d.DefaultValue
				changed = true
			}
		}
		if !changed {
			return nil
		}
		return tx.ReplaceUser(u, n)
	})
}

// relaxRemovedRequired stores old with the definitions being removed no
// longer required, so that the core lets the cascade remove their values
// (it refuses to remove a required MetaKey's value).
func relaxRemovedRequired(tx *identity.Txn, old *identity.Tenant, cas cascade) error {
	relaxed := *old
	relaxed.AttributeDefinitions = slices.Clone(old.AttributeDefinitions)
	changed := false
	for i := range relaxed.AttributeDefinitions {
		if d := &relaxed.AttributeDefinitions[i]; d.Required && cas.attrs[d.Name] {
			d.Required, changed = false, true
		}
	}
	if !changed {
		return nil
	}
	return tx.PutTenant(&relaxed)
}

func indexedNames(tn *identity.Tenant) map[string]bool {
	m := map[string]bool{}
	for _, d := range tn.AttributeDefinitions {
		if d.Indexed {
			m[d.Name] = true
		}
	}
	return m
}

// reindex adds (or removes) every profile's index entries of the named
// attributes.
func reindex(tx *identity.Txn, orgID string, names []string, add bool) error {
	if len(names) == 0 {
		return nil
	}
	return tx.EachOrgUser(orgID, func(u *identity.User) error {
		for _, name := range names {
			v, ok := u.Attributes[name]
			if !ok {
				continue
			}
			vals := []any{v}
			if list, isList := v.([]any); isList {
				vals = list
			}
			for _, e := range vals {
				set, ok := identity.AttributeUsers(kv.Inside(), tx.Env(), orgID, name, e)
				if !ok {
					continue
				}
				var err error
				if add {
					err = set.Add(tx.KVTx(kv.Inside()), u.ID, nil)
				} else {
					err = set.Remove(tx.KVTx(kv.Inside()), u.ID)
				}
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// UpdateTenant replaces a tenant's mutable settings with in's (matched by
// name) and cascades removed roles and attributes to every profile, then
// back-fills defaults (§6.12).
func (s *Service) UpdateTenant(ctx context.Context, c *identity.Credential, in TenantInput) (*Tenant, error) {
	if err := checkRoles(in.AvailableRoles); err != nil {
		return nil, err
	}
	return s.updateTenant(ctx, c, in.Name, func(tn *identity.Tenant) (cascade, error) {
		defs, err := checkDefinitions(in.AttributeDefinitions, tn.AttributeDefinitions, s.base.Now())
		if err != nil {
			return cascade{}, err
		}
		cas := cascade{roles: map[string]bool{}, attrs: map[string]bool{}, backfill: true}
		newRoles := dedupe(in.AvailableRoles)
		keep := map[string]bool{}
		for _, r := range newRoles {
			keep[r] = true
		}
		for _, r := range tn.AvailableRoles {
			if !keep[r] {
				cas.roles[r] = true
			}
		}
		keepDef := map[string]bool{}
		for _, d := range defs {
			keepDef[d.Name] = true
		}
		for _, d := range tn.AttributeDefinitions {
			if !keepDef[d.Name] {
				cas.attrs[d.Name] = true
			}
		}
		tn.VerifyNewProfiles, tn.SSOEnabled = in.VerifyNewProfiles, in.SSOEnabled
		tn.CleanseAttributes = in.CleanseAttributes == nil || *in.CleanseAttributes
		tn.AvailableRoles, tn.AttributeDefinitions = newRoles, defs
		return cas, nil
	})
}

// VerifyNewProfiles sets a tenant's verifyNewProfiles flag.
func (s *Service) VerifyNewProfiles(ctx context.Context, c *identity.Credential, name string, verify bool) (*Tenant, error) {
	return s.updateTenant(ctx, c, name, func(tn *identity.Tenant) (cascade, error) {
		tn.VerifyNewProfiles = verify
		return cascade{}, nil
	})
}

// AddRoles adds roles a tenant does not list yet.
func (s *Service) AddRoles(ctx context.Context, c *identity.Credential, name string, roles []string) (*Tenant, error) {
	if err := checkRoles(roles); err != nil {
		return nil, err
	}
	return s.updateTenant(ctx, c, name, func(tn *identity.Tenant) (cascade, error) {
		tn.AvailableRoles = dedupe(append(tn.AvailableRoles, roles...))
		return cascade{}, nil
	})
}

// RemoveRoles removes roles from a tenant and from every profile of it.
func (s *Service) RemoveRoles(ctx context.Context, c *identity.Credential, name string, roles []string) (*Tenant, error) {
	return s.updateTenant(ctx, c, name, func(tn *identity.Tenant) (cascade, error) {
		rm := map[string]bool{}
		for _, r := range roles {
			rm[r] = true
		}
		kept := []string{}
		for _, r := range tn.AvailableRoles {
			if !rm[r] {
				kept = append(kept, r)
			}
		}
		tn.AvailableRoles = kept
		return cascade{roles: rm}, nil
	})
}

// AddAttributeDefinitions adds definitions whose names are new (others are
// skipped) and back-fills defaults.
func (s *Service) AddAttributeDefinitions(ctx context.Context, c *identity.Credential, name string, defs []AttributeDefinition) (*Tenant, error) {
	return s.updateTenant(ctx, c, name, func(tn *identity.Tenant) (cascade, error) {
		var fresh []AttributeDefinition
		seen := map[string]bool{}
		for _, d := range tn.AttributeDefinitions {
			seen[d.Name] = true
		}
		for _, d := range defs {
			if !seen[d.Name] {
				seen[d.Name] = true
				fresh = append(fresh, d)
			}
		}
		if len(tn.AttributeDefinitions)+len(fresh) > identity.MaxAttributeDefinitions {
			return cascade{}, tooManyDefinitions()
		}
		conv, err := checkDefinitions(fresh, nil, s.base.Now())
		if err != nil {
			return cascade{}, err
		}
		tn.AttributeDefinitions = append(tn.AttributeDefinitions, conv...)
		return cascade{backfill: true}, nil
	})
}

// UpdateAttributeDefinitions replaces definitions matched by name; unknown
// names are ignored; no back-fill.
func (s *Service) UpdateAttributeDefinitions(ctx context.Context, c *identity.Credential, name string, defs []AttributeDefinition) (*Tenant, error) {
	return s.updateTenant(ctx, c, name, func(tn *identity.Tenant) (cascade, error) {
		conv, err := checkDefinitions(defs, tn.AttributeDefinitions, s.base.Now())
		if err != nil {
			return cascade{}, err
		}
		at := make(map[string]int, len(tn.AttributeDefinitions))
		for i := range tn.AttributeDefinitions {
			at[tn.AttributeDefinitions[i].Name] = i
		}
		for _, nd := range conv {
			if i, ok := at[nd.Name]; ok {
				tn.AttributeDefinitions[i] = nd
			}
		}
		return cascade{}, nil
	})
}

// RemoveAttributeDefinitions unsets the attributes from every profile and
// removes their definitions.
func (s *Service) RemoveAttributeDefinitions(ctx context.Context, c *identity.Credential, name string, names []string) (*Tenant, error) {
	return s.updateTenant(ctx, c, name, func(tn *identity.Tenant) (cascade, error) {
		rm := map[string]bool{}
		for _, n := range names {
			rm[n] = true
		}
		kept := []identity.AttributeDefinition{}
		for _, d := range tn.AttributeDefinitions {
			if !rm[d.Name] {
				kept = append(kept, d)
			}
		}
		tn.AttributeDefinitions = kept
		return cascade{attrs: rm}, nil
	})
}

// DeleteTenant deletes every profile of the tenant (with their sessions
// and attachments), then the tenant; silent if absent. The organization
// itself is deleted when nothing else (the other environment's users,
// applications) still belongs to it; otherwise its settings are reset.
// A tenant is an organization, which both environments share: a sandbox
// token gets 403 ACTION_DENIED for an existing tenant and nothing changes
// (identity.Txn.DeleteOrgIfEmpty).
func (s *Service) DeleteTenant(ctx context.Context, c *identity.Credential, name string) error {
	if err := check(c, name, ActionDeleteTenant); err != nil {
		return err
	}
	d := s.dir(c)
	var reap []string
	err := d.Update(ctx, func(tx *identity.Txn) error {
		reap = reap[:0]
		o, tn, err := loadTenant(&tx.ReadTxn, name)
		var ae *Error
		if errors.As(err, &ae) && ae.Code == CodeNoSuchTenant {
			return nil
		}
		if err != nil {
			return err
		}
		if err := tx.EachOrgUser(o.ID, func(u *identity.User) error { return s.deleteUser(tx, u, &reap) }); err != nil {
			return err
		}
		// A sandbox token may not delete a tenant: the organization
		// record is shared by both environments. DeleteOrgIfEmpty is
		// ErrForbidden there (403 ACTION_DENIED) and the transaction,
		// with the deletes above, is rolled back.
		gone, err := tx.DeleteOrgIfEmpty(o.ID)
		if err != nil || gone {
			return err
		}
		tn.VerifyNewProfiles, tn.SSOEnabled, tn.CleanseAttributes = false, false, true
		tn.AvailableRoles, tn.AttributeDefinitions = []string{}, []identity.AttributeDefinition{}
		return tx.PutTenant(tn)
	})
	if err == nil {
		s.reapBlobs(context.WithoutCancel(ctx), d.Environment(), reap)
	}
	return err
}

// deleteUser deletes u with its sessions, tokens and attachments; blob ids
// to delete once tx commits are appended to reap.
func (s *Service) deleteUser(tx *identity.Txn, u *identity.User, reap *[]string) error {
	if err := s.dropAttachments(tx, u.ID, reap); err != nil {
		return err
	}
	return tx.DeleteUser(u)
}

func dedupe(list []string) []string {
	seen := make(map[string]bool, len(list))
	out := make([]string, 0, len(list))
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// DefaultTenant returns the settings of Crafter's "default" tenant: its
// four admin-console roles and six attribute definitions, open to every
// application. No profile, password or access token comes with it.
func DefaultTenant() Tenant {
	perm := []AttributePermission{{Application: "*", AllowedActions: []string{"*"}}}
	def := func(name, label, typ string, order int) AttributeDefinition {
		return AttributeDefinition{Name: name, Permissions: perm,
			Metadata: map[string]any{"label": label, "type": typ, "displayOrder": order}}
	}
	return Tenant{Name: "default", CleanseAttributes: true,
		AvailableRoles: []string{"PROFILE_SUPERADMIN", "PROFILE_TENANT_ADMIN", "PROFILE_ADMIN", "SOCIAL_SUPERADMIN"},
		AttributeDefinitions: []AttributeDefinition{
			def("firstName", "First Name", "TEXT", 0), def("lastName", "Last Name", "TEXT", 1),
			def("displayName", "Display Name", "TEXT", 2), def("avatarLink", "Avatar Link", "TEXT", 3),
			def("socialContexts", "Social Contexts", "COMPLEX", 4), def("connections", "Connections", "COMPLEX", 5),
		}}
}

// EnsureDefaultTenant creates the "default" tenant (DefaultTenant) in env
// if no organization has that domain yet, and reports whether it did. The
// example server calls it on first start.
//
// Organizations are shared by both environments and only production may
// create them, so the tenant is created through production; for a sandbox
// env its sandbox settings get the same roles and attribute definitions.
func (s *Service) EnsureDefaultTenant(ctx context.Context, env identity.Environment) (bool, error) {
	boot := func(env identity.Environment, action string) *identity.Credential {
		return &identity.Credential{ID: "bootstrap", Environment: env,
			TenantPermissions: []identity.TenantPermission{{Tenant: "*", AllowedActions: []string{action, ActionReadTenant}}}}
	}
	d := DefaultTenant()
	cleanse := true
	in := TenantInput{Name: d.Name, AvailableRoles: d.AvailableRoles,
		AttributeDefinitions: d.AttributeDefinitions, CleanseAttributes: &cleanse}
	_, err := s.CreateTenant(ctx, boot(identity.Production, ActionCreateTenant), in)
	var ae *Error
	if errors.As(err, &ae) && ae.Code == CodeTenantExists {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if env != identity.Production {
		if _, err := s.UpdateTenant(ctx, boot(env, ActionUpdateTenant), in); err != nil {
			return true, err
		}
	}
	return true, nil
}
