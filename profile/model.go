package profile

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
)

// The JSON shapes of the Crafter Profile API (crafter-profile-rest.md §3).
// Dates are epoch milliseconds.

// AccessToken is a Crafter access token. Its ID is the secret a client
// sends as accessTokenId.
type AccessToken struct {
	ID string `json:"id"`
	// CredentialID is the identity core's id of the token's credential.
	// It is no secret and not part of Crafter's JSON: the admin console
	// names a token by it (RevokeAccessToken) without showing its ID.
	CredentialID      string             `json:"-"`
	Application       string             `json:"application"`
	Master            bool               `json:"master"`
	TenantPermissions []TenantPermission `json:"tenantPermissions"`
	ExpiresOn         *int64             `json:"expiresOn"`
}

// TenantPermission grants tenant actions on a tenant ("*" = any).
type TenantPermission struct {
	Tenant         string   `json:"tenant"`
	AllowedActions []string `json:"allowedActions"`
}

// Tenant is a tenant: an organization seen through this face.
type Tenant struct {
	ID                   string                `json:"id"`
	Name                 string                `json:"name"`
	VerifyNewProfiles    bool                  `json:"verifyNewProfiles"`
	AvailableRoles       []string              `json:"availableRoles"`
	SSOEnabled           bool                  `json:"ssoEnabled"`
	AttributeDefinitions []AttributeDefinition `json:"attributeDefinitions"`
	CleanseAttributes    bool                  `json:"cleanseAttributes"`
}

// TenantInput is a Tenant as a client sends it (create, update): the id is
// ignored and an absent cleanseAttributes means true.
type TenantInput struct {
	Name                 string                `json:"name"`
	VerifyNewProfiles    bool                  `json:"verifyNewProfiles"`
	AvailableRoles       []string              `json:"availableRoles"`
	SSOEnabled           bool                  `json:"ssoEnabled"`
	AttributeDefinitions []AttributeDefinition `json:"attributeDefinitions"`
	CleanseAttributes    *bool                 `json:"cleanseAttributes"`
}

// AttributeDefinition is a tenant's attribute definition. Indexed is a
// Gatehouse extension: lookups by value of an indexed attribute do not
// scan the tenant. Answers carry it only to a caller that asks
// (ExtensionsParam); a definition decoded from JSON without "indexed"
// keeps the stored flag when it updates an existing definition (so a
// Crafter client writing back what it read does not drop an index).
type AttributeDefinition struct {
	Name         string                `json:"name"`
	Metadata     map[string]any        `json:"metadata"`
	DefaultValue any                   `json:"defaultValue"`
	Permissions  []AttributePermission `json:"permissions"`
	Indexed      bool                  `json:"indexed,omitempty"`

	// indexedAbsent is set by UnmarshalJSON when "indexed" is missing.
	indexedAbsent bool
}

// UnmarshalJSON decodes a definition, numbers in its metadata and default
// value as json.Number (the text sent), and notes whether "indexed" was
// given.
func (d *AttributeDefinition) UnmarshalJSON(b []byte) error {
	type plain AttributeDefinition
	var x struct {
		plain
		Indexed *bool `json:"indexed"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&x); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			// The field path names the definition's field, not the
			// embedded helper type.
			te.Field = strings.TrimPrefix(te.Field, "plain.")
		}
		return err
	}
	*d = AttributeDefinition(x.plain)
	d.Indexed, d.indexedAbsent = x.Indexed != nil && *x.Indexed, x.Indexed == nil
	return nil
}

// AttributePermission grants attribute actions to an application ("*" = any).
type AttributePermission struct {
	Application    string   `json:"application"`
	AllowedActions []string `json:"allowedActions"`
}

// Profile is a user seen through this face.
type Profile struct {
	ID           string         `json:"id"`
	Username     string         `json:"username"`
	Email        string         `json:"email"`
	Verified     bool           `json:"verified"`
	Enabled      bool           `json:"enabled"`
	CreatedOn    int64          `json:"createdOn"`
	LastModified int64          `json:"lastModified"`
	Tenant       string         `json:"tenant"`
	Roles        []string       `json:"roles"`
	Attributes   map[string]any `json:"attributes"`
}

// Ticket is an authenticated session.
type Ticket struct {
	ID              string `json:"id"`
	Tenant          string `json:"tenant"`
	ProfileID       string `json:"profileId"`
	LastRequestTime int64  `json:"lastRequestTime"`
}

// PersistentLogin is a remember-me login.
type PersistentLogin struct {
	ID        string `json:"id"`
	Tenant    string `json:"tenant"`
	ProfileID string `json:"profileId"`
	Token     string `json:"token"`
	Timestamp int64  `json:"timestamp"`
}

// VerificationToken is an account verification or password reset token.
type VerificationToken struct {
	ID        string `json:"id"`
	Tenant    string `json:"tenant"`
	ProfileID string `json:"profileId"`
	Timestamp int64  `json:"timestamp"`
}

// ProfileAttachment describes an attached file.
type ProfileAttachment struct {
	ID            *string `json:"id"`
	FileName      *string `json:"fileName"`
	ContentType   *string `json:"contentType"`
	FileSize      *string `json:"fileSize"`
	FileSizeBytes int64   `json:"fileSizeBytes"`
	MD5           *string `json:"md5"`
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func tokenJSON(c *identity.Credential) AccessToken {
	out := AccessToken{ID: c.Secret, CredentialID: c.ID, Application: c.Application, Master: c.Master,
		TenantPermissions: []TenantPermission{}}
	for _, p := range c.TenantPermissions {
		acts := p.AllowedActions
		if acts == nil {
			acts = []string{}
		}
		out.TenantPermissions = append(out.TenantPermissions, TenantPermission{Tenant: p.Tenant, AllowedActions: acts})
	}
	if c.ExpiresAt != nil {
		v := ms(*c.ExpiresAt)
		out.ExpiresOn = &v
	}
	return out
}

func tenantJSON(o *identity.Organization, tn *identity.Tenant) Tenant {
	out := Tenant{ID: o.ObjectID, Name: tenantOf(o), VerifyNewProfiles: tn.VerifyNewProfiles,
		AvailableRoles: append([]string{}, tn.AvailableRoles...), SSOEnabled: tn.SSOEnabled,
		AttributeDefinitions: []AttributeDefinition{}, CleanseAttributes: tn.CleanseAttributes}
	for _, d := range tn.AttributeDefinitions {
		out.AttributeDefinitions = append(out.AttributeDefinitions, defJSON(d))
	}
	return out
}

func defJSON(d identity.AttributeDefinition) AttributeDefinition {
	out := AttributeDefinition{Name: d.Name, Metadata: d.Metadata, DefaultValue: d.DefaultValue,
		Permissions: []AttributePermission{}, Indexed: d.Indexed}
	if out.Metadata == nil {
		out.Metadata = map[string]any{}
	}
	for _, p := range d.Permissions {
		acts := p.AllowedActions
		if acts == nil {
			acts = []string{}
		}
		out.Permissions = append(out.Permissions, AttributePermission{Application: p.Application, AllowedActions: acts})
	}
	return out
}

func profileJSON(u *identity.User, tenant string) *Profile {
	p := &Profile{ID: u.ObjectID, Username: u.Username, Email: u.Email, Verified: u.Verified, Enabled: u.Enabled,
		CreatedOn: ms(u.CreatedAt), LastModified: ms(u.UpdatedAt), Tenant: tenant,
		Roles: append([]string{}, u.Roles...), Attributes: make(map[string]any, len(u.Attributes))}
	for k, v := range u.Attributes {
		p.Attributes[k] = v
	}
	return p
}

// doc is the document a query is matched against: the profile's fields
// as Crafter stores them (no password, no counters).
func doc(u *identity.User, tenant string) map[string]any {
	roles := make([]any, len(u.Roles))
	for i, r := range u.Roles {
		roles[i] = r
	}
	return map[string]any{
		"_id": u.ObjectID, "id": u.ObjectID, "username": u.Username, "email": u.Email,
		"verified": u.Verified, "enabled": u.Enabled, "createdOn": u.CreatedAt, "lastModified": u.UpdatedAt,
		"tenant": tenant, "roles": roles, "attributes": u.Attributes,
	}
}

// checkDefinitions validates attribute definitions received from a client
// and converts them, keeping ids and creation times of existing ones.
func checkDefinitions(in []AttributeDefinition, old []identity.AttributeDefinition, now time.Time) ([]identity.AttributeDefinition, error) {
	if len(in) > identity.MaxAttributeDefinitions {
		return nil, tooManyDefinitions()
	}
	stored := make(map[string]*identity.AttributeDefinition, len(old))
	for i := range old {
		stored[old[i].Name] = &old[i]
	}
	out := make([]identity.AttributeDefinition, 0, len(in))
	seen := map[string]bool{}
	for _, d := range in {
		od := stored[d.Name]
		// A stored definition keeps its name: a tenant read and written
		// back is never refused for a name it already has.
		if od == nil {
			if err := checkAttrName(d.Name); err != nil {
				return nil, err
			}
		}
		if seen[d.Name] {
			return nil, fieldErr("name", "Attribute definition %q is given twice", d.Name)
		}
		seen[d.Name] = true
		if d.DefaultValue != nil {
			if raw, err := json.Marshal(d.DefaultValue); err != nil || len(raw) > 64<<10 {
				return nil, fieldErr("defaultValue", "Default value of attribute %q is too large", d.Name)
			}
		}
		nd := identity.AttributeDefinition{Name: d.Name, Metadata: d.Metadata, DefaultValue: d.DefaultValue,
			Indexed: d.Indexed, CreatedAt: now}
		if od != nil {
			nd.ID, nd.Type, nd.Required, nd.InToken, nd.CreatedAt = od.ID, od.Type, od.Required, od.InToken, od.CreatedAt
			if d.indexedAbsent {
				nd.Indexed = od.Indexed
			}
		}
		for _, p := range d.Permissions {
			app := p.Application
			if app == "" {
				app = "*"
			}
			nd.Permissions = append(nd.Permissions, identity.AttributePermission{Application: app,
				AllowedActions: append([]string{}, p.AllowedActions...)})
		}
		out = append(out, nd)
	}
	return out, nil
}

// tooManyDefinitions is the error of a tenant past
// identity.MaxAttributeDefinitions.
func tooManyDefinitions() *Error {
	return fieldErr("attributeDefinitions", "A tenant has at most %d attribute definitions", identity.MaxAttributeDefinitions)
}

func checkAttrName(name string) error {
	switch r := identity.CheckAttributeName(name); {
	case r == "":
		return nil
	case name == "":
		return fieldErr("name", "Attribute definition name is required")
	case len(name) > 255:
		return fieldErr("name", "Attribute name %.40q... is longer than 255 characters", name)
	default:
		return fieldErr("name", "Attribute name %q %s", name, r)
	}
}

func checkRoles(roles []string) error {
	for _, r := range roles {
		if r == "" || len(r) > 255 {
			return fieldErr("roles", "Role names must be 1 to 255 characters")
		}
		for _, c := range r {
			if c < 0x20 || c == 0x7f {
				return fieldErr("roles", "Role %q contains control characters", r)
			}
		}
	}
	return nil
}

// readableSize formats a size like Crafter's FileUtils.readableFileSize:
// the size in the largest unit of B, KB, MB, GB, TB (1024 steps) it
// reaches, in java.text.DecimalFormat("#,##0.#") (thousands grouped with
// ',', at most one decimal rounded half-even), then a space and the unit:
// "1,000 B", "22.6 KB", "1,023.9 KB", "1 MB"; "0" for an empty file.
func readableSize(n int64) string {
	if n <= 0 {
		return "0"
	}
	units := []string{"B", "KB", "MB", "GB", "TB"}
	i, div := 0, int64(1)
	for i < len(units)-1 && n/div >= 1024 {
		div *= 1024
		i++
	}
	// FormatFloat rounds the exact binary value half-even, as DecimalFormat
	// does.
	s := strconv.FormatFloat(float64(n)/float64(div), 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for j, r := range whole {
		if j > 0 && (len(whole)-j)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if frac != "" {
		b.WriteString("." + frac)
	}
	return b.String() + " " + units[i]
}
