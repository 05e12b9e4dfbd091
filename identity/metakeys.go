package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// metaKeyNameRE is the MetaKey's own rule on top of CheckAttributeName:
// the name becomes a claim name in tokens.
var metaKeyNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_ :-]{0,63}$`)

// MetaDataID is the stable id of a user's value for a MetaKey (Cryptr's
// MetaData id): a name-based UUID of the user id and the key name.
func MetaDataID(userID, keyName string) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte(userID+"\x00"+keyName)).String()
}

// CheckMetaValue checks value against a MetaKey type.
func CheckMetaValue(typ, value string) string {
	switch typ {
	case MetaString, "":
		if len(value) > 4096 {
			return "must be at most 4096 characters"
		}
	case MetaInteger:
		if _, err := strconv.ParseInt(value, 10, 64); err != nil {
			return "must be an integer"
		}
	case MetaNumber:
		if f, err := strconv.ParseFloat(value, 64); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return "must be a number"
		}
	case MetaBoolean:
		if value != "true" && value != "false" {
			return "must be true or false"
		}
	case MetaDate:
		if _, err := time.Parse(time.DateOnly, value); err != nil {
			return "must be a date YYYY-MM-DD"
		}
	case MetaDateTime:
		if _, err := time.Parse(time.RFC3339, value); err != nil {
			return "must be an RFC 3339 date-time"
		}
	case MetaURL:
		return CheckURL(value)
	case MetaEmail:
		if _, err := mail.ParseAddress(value); err != nil {
			return "must be an email address"
		}
	default:
		return "has an unknown type"
	}
	return ""
}

// CreateMetaKey adds a MetaKey (a token-visible attribute definition) to
// the organization's directory. Types are matched case-insensitively and
// stored lower case. On a scoped Service it needs create:user_metakeys.
func (s *Service) CreateMetaKey(ctx context.Context, orgDomain, name, typ string, required bool) (*AttributeDefinition, error) {
	if err := s.mayWrite(orgDomain, ActionCreate, ResourceUserMetaKeys); err != nil {
		return nil, err
	}
	var v Validation
	name = strings.TrimSpace(name)
	if r := CheckAttributeName(name); r != "" {
		v.Add("name", r)
	} else if !metaKeyNameRE.MatchString(name) {
		v.Add("name", "must be 1 to 64 letters, digits, spaces or _ : -, starting with a letter, digit or _")
	}
	typ = strings.ToLower(strings.TrimSpace(typ))
	if typ == "" {
		typ = MetaString
	}
	if !contains(MetaKeyTypes(), typ) {
		v.Add("type", "must be one of "+strings.Join(MetaKeyTypes(), ", "))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.Now()
	id, err := s.newID(now)
	if err != nil {
		return nil, err
	}
	d := AttributeDefinition{ID: id, Name: name, Type: typ, Required: required, InToken: true,
		Permissions: []AttributePermission{{Application: "*", AllowedActions: []string{"*"}}}, CreatedAt: now}
	err = s.Update(ctx, func(tx *Txn) error {
		o, err := tx.Org(orgDomain)
		if err != nil {
			return err
		}
		tn, err := tx.Tenant(o.ID)
		if err != nil {
			return err
		}
		if _, ok := tn.Definition(name); ok {
			return &conflictField{field: "name", err: fmt.Errorf("metakey %q: %w", name, ErrConflict)}
		}
		tn.AttributeDefinitions = append(tn.AttributeDefinitions, d)
		if err := tx.PutTenant(tn); err != nil {
			return err
		}
		return tx.Log(&Event{Code: EventMetaKeyCreated, OrgID: o.ID, Data: map[string]any{"name": name}})
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// ListMetaKeys returns the organization's MetaKeys (token-visible attribute
// definitions), in creation order.
func (s *Service) ListMetaKeys(ctx context.Context, orgDomain string) ([]AttributeDefinition, error) {
	tn, err := s.GetTenant(ctx, orgDomain)
	if err != nil {
		return nil, err
	}
	out := []AttributeDefinition{}
	for _, d := range tn.AttributeDefinitions {
		if d.InToken {
			out = append(out, d)
		}
	}
	return out, nil
}

// DeleteMetaKey removes a MetaKey and, in the same transaction, its value
// from every user of the organization. On a scoped Service it needs
// delete:user_metakeys.
func (s *Service) DeleteMetaKey(ctx context.Context, orgDomain, name string) (*AttributeDefinition, error) {
	if err := s.mayWrite(orgDomain, ActionDelete, ResourceUserMetaKeys); err != nil {
		return nil, err
	}
	var out *AttributeDefinition
	err := s.Update(ctx, func(tx *Txn) error {
		o, err := tx.Org(orgDomain)
		if err != nil {
			return err
		}
		tn, err := tx.Tenant(o.ID)
		if err != nil {
			return err
		}
		d, ok := tn.Definition(name)
		if !ok || !d.InToken {
			return fmt.Errorf("metakey %q: %w", name, ErrNotFound)
		}
		removed := *d
		if d.Required {
			// The values go before the key: a required key would refuse
			// their removal, so it stops being required first.
			d.Required = false
			if err := tx.PutTenant(tn); err != nil {
				return err
			}
		}
		if err := tx.UnsetAttribute(o.ID, name); err != nil {
			return err
		}
		kept := tn.AttributeDefinitions[:0]
		for _, x := range tn.AttributeDefinitions {
			if x.Name != name {
				kept = append(kept, x)
			}
		}
		tn.AttributeDefinitions = kept
		if err := tx.PutTenant(tn); err != nil {
			return err
		}
		out = &removed
		return tx.Log(&Event{Code: EventMetaKeyDeleted, OrgID: o.ID, Data: map[string]any{"name": name}})
	})
	return out, err
}

// UnsetAttribute removes attribute name from every user of orgID that has
// it (a cascade of removing a definition).
func (t *Txn) UnsetAttribute(orgID, name string) error {
	return t.EachOrgUser(orgID, func(u *User) error {
		if _, ok := u.Attributes[name]; !ok {
			return nil
		}
		n := cloneUser(u)
		delete(n.Attributes, name)
		return t.ReplaceUser(u, n)
	})
}

// EachOrgUser calls fn for every user of orgID. The ids are read first, so
// fn may replace the users it is given.
func (t *Txn) EachOrgUser(orgID string, fn func(u *User) error) error {
	var ids []string
	if err := orgUsers(t.s.env, orgID).Each(t.tx, false, func(id string, _ []byte) error {
		ids = append(ids, id)
		return nil
	}); err != nil {
		return err
	}
	for _, id := range ids {
		u, err := t.User(id)
		if err != nil {
			return err
		}
		if err := fn(u); err != nil {
			return err
		}
	}
	return nil
}

// SetUserMetadata sets the value of a MetaKey for a user; the value is
// checked against the key's type.
func (s *Service) SetUserMetadata(ctx context.Context, orgDomain, userID, keyName, value string) (*User, error) {
	var out *User
	err := s.Update(ctx, func(tx *Txn) error {
		o, err := tx.Org(orgDomain)
		if err != nil {
			return err
		}
		tn, err := tx.Tenant(o.ID)
		if err != nil {
			return err
		}
		d, ok := tn.Definition(keyName)
		if !ok || !d.InToken {
			return Invalid("key_name", "is not a MetaKey of this organization")
		}
		if r := CheckMetaValue(d.Type, value); r != "" {
			return Invalid("key_value", r)
		}
		old, err := tx.OrgUser(o.ID, userID)
		if err != nil {
			return err
		}
		u := cloneUser(old)
		u.Attributes[keyName] = value
		if err := tx.ReplaceUser(old, u); err != nil {
			return err
		}
		out = u
		return tx.Log(&Event{Code: EventUserMetadataSet, OrgID: o.ID, ResourceOwnerID: u.ID, Email: u.Email,
			Data: map[string]any{"key": keyName}})
	})
	return out, err
}

// TokenMetadata returns the user's MetaData as it goes into JWTs
// (resource_owner_metadata): the values of token-visible definitions, as
// text (MetaDataText), which is what Cryptr's MetaData holds. A value
// reads the same in a token whichever face wrote it: 42 written through
// Crafter's attributes and "42" through set-user-metadata are both "42".
func TokenMetadata(tn *Tenant, u *User) map[string]any {
	out := map[string]any{}
	for _, d := range tn.AttributeDefinitions {
		if !d.InToken {
			continue
		}
		if v, ok := u.Attributes[d.Name]; ok && v != nil {
			out[d.Name] = MetaDataText(v)
		}
	}
	return out
}

// MetaDataText renders a stored attribute value as the text of a Cryptr
// MetaData value: a string as is, a number or boolean in its JSON form,
// nil as "", and anything else (a list, an object) as its JSON.
func MetaDataText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	if s, ok := metaValueString(v); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
