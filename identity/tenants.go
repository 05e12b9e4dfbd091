package identity

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/kv"
)

func tenants(env Environment) kv.Records[Tenant] {
	return kv.Records[Tenant]{Env: string(env), Kind: "tenant", V2: true}
}

// Tenant returns an organization's directory settings in the transaction's
// environment.
func (t *ReadTxn) Tenant(orgID string) (*Tenant, error) {
	tn, err := tenants(t.s.env).Get(t.tx, orgID)
	if err != nil {
		return nil, err
	}
	if tn.AvailableRoles == nil {
		tn.AvailableRoles = []string{}
	}
	if tn.AttributeDefinitions == nil {
		tn.AttributeDefinitions = []AttributeDefinition{}
	}
	return &tn, nil
}

// MaxAttributeDefinitions is the most attribute definitions (Crafter's
// attribute definitions, Cryptr's MetaKeys) one organization's directory
// holds per environment. Every profile read and write consults them, so
// their number bounds what one request costs.
const MaxAttributeDefinitions = 1000

// PutTenant stores directory settings. Cascades to users (removed roles
// and attributes, default back-fill) are the caller's: see the profile
// service, which owns Crafter's rules.
func (t *Txn) PutTenant(tn *Tenant) error {
	if tn.OrgID == "" {
		return fmt.Errorf("tenant without organization: %w", ErrInvalid)
	}
	if len(tn.AttributeDefinitions) > MaxAttributeDefinitions {
		return Invalid("attributeDefinitions", fmt.Sprintf("must be at most %d", MaxAttributeDefinitions))
	}
	seen := make(map[string]bool, len(tn.AttributeDefinitions))
	for _, d := range tn.AttributeDefinitions {
		if d.Name == "" {
			return Invalid("attributeDefinitions.name", "is required")
		}
		if seen[d.Name] {
			return Invalid("attributeDefinitions.name", "must be unique: "+d.Name)
		}
		seen[d.Name] = true
	}
	tn.UpdatedAt = t.s.Now()
	return tenants(t.s.env).Put(t.w, tn.OrgID, *tn)
}

// GetTenant returns the directory settings of the organization with domain.
func (s *Service) GetTenant(ctx context.Context, domain string) (*Tenant, error) {
	var tn *Tenant
	err := s.View(ctx, func(tx *ReadTxn) error {
		o, err := tx.Org(domain)
		if err != nil {
			return err
		}
		tn, err = tx.Tenant(o.ID)
		return err
	})
	return tn, err
}
