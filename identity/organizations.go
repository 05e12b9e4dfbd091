package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/kv"
)

func (s *Service) orgs() kv.Records[Organization] {
	return kv.Records[Organization]{Kind: "org", V2: true}
}

var (
	orgDomains   = kv.Unique{Name: "org-domain"}
	orgObjectIDs = kv.Unique{Name: "org-oid"}
	orgList      = kv.Set{Parts: []string{"orgs"}}
	// orgEmailDomains maps an email domain to the one organization that owns it.
	orgEmailDomains = kv.Unique{Name: "org-email-domain"}
)

// OrganizationInput is what a caller may set on an organization. On
// update, nil fields are left unchanged.
type OrganizationInput struct {
	Name                *string
	Locality            *string
	State               *string
	CountryName         *string
	PrivacyPolicyURL    *string
	TermsOfServiceURL   *string
	AllowedEmailDomains *[]string
	// OpenSignup sets Organization.OpenSignup (a Gatehouse extension).
	OpenSignup *bool
	// AutocompleteAddress fills Locality, State and CountryName from a
	// place name through the PlaceResolver.
	AutocompleteAddress *string
}

// Org returns the organization with domain. On a scoped Service, an
// organization outside the scope is ErrNotFound.
func (t *ReadTxn) Org(domain string) (*Organization, error) {
	if err := t.s.inScope(domain); err != nil {
		return nil, err
	}
	id, err := orgDomains.Lookup(t.tx, "", domain)
	if err != nil {
		return nil, fmt.Errorf("organization %q: %w", domain, ErrNotFound)
	}
	return t.OrgByID(id)
}

// OrgID returns the id of the organization with domain, reading only the
// domain index (no record decoding): the tenancy check of every directory
// call. On a scoped Service, an organization outside the scope is
// ErrNotFound.
func (t *ReadTxn) OrgID(domain string) (string, error) {
	if err := t.s.inScope(domain); err != nil {
		return "", err
	}
	id, err := orgDomains.Lookup(t.tx, "", domain)
	if err != nil {
		return "", fmt.Errorf("organization %q: %w", domain, ErrNotFound)
	}
	return id, nil
}

// OrgByID returns the organization with id. On a scoped Service, an
// organization outside the scope is ErrNotFound.
func (t *ReadTxn) OrgByID(id string) (*Organization, error) {
	o, err := t.s.orgs().Get(t.tx, id)
	if err != nil {
		return nil, err
	}
	if !t.s.Manages(o.Domain) {
		return nil, fmt.Errorf("organization %q: %w", id, ErrNotFound)
	}
	return &o, nil
}

// OrgByObjectID returns the organization whose Crafter id is oid.
func (t *ReadTxn) OrgByObjectID(oid string) (*Organization, error) {
	id, err := orgObjectIDs.Lookup(t.tx, "", oid)
	if err != nil {
		return nil, err
	}
	return t.OrgByID(id)
}

// applyOrg validates in and applies it to o.
func (s *Service) applyOrg(ctx context.Context, o *Organization, in OrganizationInput, creating bool) error {
	var v Validation
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		switch {
		case name == "":
			v.Add("name", "is required")
		case len(name) > 255:
			v.Add("name", "must be at most 255 characters")
		default:
			o.Name = name
		}
	} else if creating {
		v.Add("name", "is required")
	}
	if in.AutocompleteAddress != nil && strings.TrimSpace(*in.AutocompleteAddress) != "" {
		if s.places == nil {
			v.Add("autocomplete_address", "is not available on this server")
		} else {
			p, err := s.places.ResolvePlace(ctx, *in.AutocompleteAddress)
			switch {
			case err == nil:
				o.Locality, o.State, o.CountryName = p.Locality, p.State, p.Country
			case errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalid):
				v.Add("autocomplete_address", "is not a known place")
			default:
				return err
			}
		}
	}
	str := func(field string, src *string, dst *string, check func(string) string, max int) {
		if src == nil {
			return
		}
		val := strings.TrimSpace(*src)
		if val != "" && check != nil {
			if r := check(val); r != "" {
				v.Add(field, r)
				return
			}
		}
		if len(val) > max {
			v.Addf(field, "must be at most %d characters", max)
			return
		}
		*dst = val
	}
	str("locality", in.Locality, &o.Locality, nil, 255)
	str("state", in.State, &o.State, nil, 255)
	str("country_name", in.CountryName, &o.CountryName, CheckCountry, 2)
	str("privacy_policy_url", in.PrivacyPolicyURL, &o.PrivacyPolicyURL, CheckURL, 2048)
	str("terms_of_service_url", in.TermsOfServiceURL, &o.TermsOfServiceURL, CheckURL, 2048)
	if in.AllowedEmailDomains != nil {
		var list []string
		seen := map[string]bool{}
		for _, d := range *in.AllowedEmailDomains {
			d = strings.ToLower(strings.TrimSpace(d))
			if r := CheckEmailDomain(d); r != "" {
				v.Add("allowed_email_domains", r+": "+d)
				continue
			}
			if !seen[d] {
				seen[d] = true
				list = append(list, d)
			}
		}
		o.AllowedEmailDomains = list
	}
	if in.OpenSignup != nil {
		o.OpenSignup = *in.OpenSignup
	}
	return v.Err()
}

// CreateOrganization creates an organization whose domain is the slug of
// its name. A domain already taken is a conflict, never a silent rename.
// It needs a production-bound Service (organizations are shared by both
// environments) and, on a scoped one, a scope over every organization and
// the create:organizations permission: else ErrForbidden.
func (s *Service) CreateOrganization(ctx context.Context, in OrganizationInput) (*Organization, error) {
	if err := s.orgWritable(); err != nil {
		return nil, err
	}
	if err := s.require(ActionCreate, ResourceOrganizations); err != nil {
		return nil, err
	}
	if !s.ManagesAll() {
		return nil, fmt.Errorf("only a credential that manages every organization may create one: %w", ErrForbidden)
	}
	var o Organization
	if err := s.applyOrg(ctx, &o, in, true); err != nil {
		return nil, err
	}
	o.Domain = Slug(o.Name)
	if r := CheckDomain(o.Domain); r != "" {
		return nil, Invalid("name", "must contain letters or digits to make a domain")
	}
	now := s.Now()
	var err error
	if o.ID, err = s.newID(now); err != nil {
		return nil, err
	}
	if o.ObjectID, err = NewObjectID(s.rand, now); err != nil {
		return nil, err
	}
	o.ManagedBy, o.CreatedAt, o.UpdatedAt = s.account, now, now
	err = s.Update(ctx, func(tx *Txn) error { return tx.InsertOrg(&o) })
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// InsertOrg stores a new organization with its indexes, its tenant
// settings in both environments and an audit event. A sandbox-bound
// transaction may not create organizations (ErrForbidden).
func (t *Txn) InsertOrg(o *Organization) error {
	if err := t.s.orgWritable(); err != nil {
		return err
	}
	if err := orgDomains.Claim(t.w, "", o.Domain, o.ID); err != nil {
		return fmt.Errorf("organization domain %q already exists: %w", o.Domain, ErrConflict)
	}
	if err := orgObjectIDs.Claim(t.w, "", o.ObjectID, o.ID); err != nil {
		return err
	}
	if err := t.PutOrg(nil, o); err != nil {
		return err
	}
	if err := orgList.Add(t.w, o.ID, nil); err != nil {
		return err
	}
	for _, env := range []Environment{Sandbox, Production} {
		tn := Tenant{Name: o.Domain, OrgID: o.ID, CleanseAttributes: true, AvailableRoles: []string{},
			AttributeDefinitions: []AttributeDefinition{}, UpdatedAt: o.CreatedAt}
		if err := tenants(env).Put(t.w, o.ID, tn); err != nil {
			return err
		}
	}
	return t.Log(&Event{Code: EventOrganizationCreated, OrgID: o.ID, TenantDomain: o.Domain})
}

// GetOrganization returns the organization with domain.
func (s *Service) GetOrganization(ctx context.Context, domain string) (*Organization, error) {
	var o *Organization
	err := s.View(ctx, func(tx *ReadTxn) (err error) { o, err = tx.Org(domain); return })
	return o, err
}

// ListOrganizations lists organizations, most recent first. A Service
// scoped to some organizations lists only those.
func (s *Service) ListOrganizations(ctx context.Context, req PageRequest) (Page[Organization], error) {
	if s.limited() {
		return s.listScopeOrgs(ctx, req)
	}
	if s.scope != nil && s.scope.ExceptAccount && s.account != "" {
		return s.listOrgsExceptAccount(ctx, req)
	}
	var p Page[Organization]
	err := s.View(ctx, func(tx *ReadTxn) (err error) {
		p, err = pageOf(tx.tx, orgList, req, func(id string) (Organization, error) {
			o, err := tx.OrgByID(id)
			if err != nil {
				return Organization{}, err
			}
			return *o, nil
		})
		return
	})
	return p, err
}

// UpdateOrganization changes an organization's mutable fields. Its domain
// never changes, even when the name does. An organization outside the
// scope is ErrNotFound; a sandbox-bound Service, or a scope without the
// update:organizations permission, gets ErrForbidden.
func (s *Service) UpdateOrganization(ctx context.Context, domain string, in OrganizationInput) (*Organization, error) {
	if err := s.inScope(domain); err != nil {
		return nil, err
	}
	if err := s.orgWritable(); err != nil {
		return nil, err
	}
	if err := s.require(ActionUpdate, ResourceOrganizations); err != nil {
		return nil, err
	}
	// Resolve the place outside the transaction: it may be slow.
	var probe Organization
	if err := s.applyOrg(ctx, &probe, in, false); err != nil {
		return nil, err
	}
	var out *Organization
	err := s.Update(ctx, func(tx *Txn) error {
		o, err := tx.Org(domain)
		if err != nil {
			return err
		}
		old := *o
		in2 := in
		if in.AutocompleteAddress != nil && *in.AutocompleteAddress != "" {
			in2.AutocompleteAddress = nil
			if in2.Locality == nil {
				in2.Locality = &probe.Locality
			}
			if in2.State == nil {
				in2.State = &probe.State
			}
			if in2.CountryName == nil {
				in2.CountryName = &probe.CountryName
			}
		}
		if err := s.applyOrg(ctx, o, in2, false); err != nil {
			return err
		}
		o.UpdatedAt = s.Now()
		if err := tx.PutOrg(&old, o); err != nil {
			return err
		}
		out = o
		return tx.Log(&Event{Code: EventOrganizationUpdated, OrgID: o.ID, TenantDomain: o.Domain})
	})
	return out, err
}

// OrgForEmailDomain returns the organization that owns the email domain
// (one of its AllowedEmailDomains), for home-realm discovery and SSO
// provisioning.
func (s *Service) OrgForEmailDomain(ctx context.Context, domain string) (*Organization, error) {
	var o *Organization
	err := s.View(ctx, func(tx *ReadTxn) (err error) { o, err = tx.OrgForEmailDomain(domain); return })
	return o, err
}

// OrgForEmailDomain returns the organization that owns the email domain.
func (t *ReadTxn) OrgForEmailDomain(domain string) (*Organization, error) {
	id, err := orgEmailDomains.Lookup(t.tx, "", strings.ToLower(domain))
	if err != nil {
		return nil, err
	}
	return t.OrgByID(id)
}

// PutOrg replaces an organization record, keeping the email-domain index
// in step. An email domain already owned by another organization is a
// conflict. A sandbox-bound transaction may not change organizations
// (ErrForbidden).
func (t *Txn) PutOrg(old, o *Organization) error {
	if err := t.s.orgWritable(); err != nil {
		return err
	}
	if old != nil && (old.ID != o.ID || old.Domain != o.Domain) {
		return fmt.Errorf("organization id and domain are immutable: %w", ErrInvalid)
	}
	keep := map[string]bool{}
	for _, d := range o.AllowedEmailDomains {
		keep[d] = true
		if err := orgEmailDomains.Claim(t.w, "", d, o.ID); err != nil {
			return &InvalidError{Fields: []FieldError{{Field: "allowed_email_domains",
				Reason: "domain " + d + " already belongs to another organization"}}}
		}
	}
	if old != nil {
		for _, d := range old.AllowedEmailDomains {
			if !keep[d] {
				if err := orgEmailDomains.Release(t.w, "", d, o.ID); err != nil {
					return err
				}
			}
		}
	}
	return t.s.orgs().Put(t.w, o.ID, *o)
}

// listScopeOrgs lists the organizations of a limited scope that exist,
// most recent first.
// listOrgsExceptAccount is ListOrganizations for a scope over every
// organization but the account's (Scope.ExceptAccount): the newest first,
// as pageOf, with the account's organization left out of the items and
// the total, wherever it falls.
func (s *Service) listOrgsExceptAccount(ctx context.Context, req PageRequest) (Page[Organization], error) {
	req = req.Normalize()
	var p Page[Organization]
	err := s.View(ctx, func(tx *ReadTxn) error {
		account, err := orgDomains.Lookup(tx.tx, "", s.account)
		if err != nil {
			account = "" // no account organization yet
		}
		total, err := orgList.Count(tx.tx)
		if err != nil {
			return err
		}
		p = Page[Organization]{Page: req.Page, PerPage: req.PerPage, Items: []Organization{}}
		ids, err := orgList.NewestFirst(tx.tx, total, 0, total)
		if err != nil {
			return err
		}
		ids = slices.DeleteFunc(ids, func(id string) bool { return id == account })
		p.Total = len(ids)
		if start := req.Offset(); start < len(ids) {
			for _, id := range ids[start:min(start+req.PerPage, len(ids))] {
				o, err := tx.OrgByID(id)
				if err != nil {
					return err
				}
				p.Items = append(p.Items, *o)
			}
		}
		return nil
	})
	return p, err
}

func (s *Service) listScopeOrgs(ctx context.Context, req PageRequest) (Page[Organization], error) {
	req = req.Normalize()
	var orgs []Organization
	err := s.View(ctx, func(tx *ReadTxn) error {
		orgs = orgs[:0]
		for _, d := range s.scopeOrgs() {
			o, err := tx.Org(d)
			if errors.Is(err, ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			orgs = append(orgs, *o)
		}
		return nil
	})
	if err != nil {
		return Page[Organization]{}, err
	}
	sort.Slice(orgs, func(i, j int) bool {
		if !orgs[i].CreatedAt.Equal(orgs[j].CreatedAt) {
			return orgs[i].CreatedAt.After(orgs[j].CreatedAt)
		}
		return orgs[i].ID > orgs[j].ID
	})
	p := Page[Organization]{Total: len(orgs), Page: req.Page, PerPage: req.PerPage, Items: []Organization{}}
	if start := req.Offset(); start < len(orgs) {
		p.Items = orgs[start:min(start+req.PerPage, len(orgs))]
	}
	return p, nil
}
