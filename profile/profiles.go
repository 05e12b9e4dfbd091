package profile

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/password"
)

// NoAttributes, in an attributeToReturn list, asks for no attributes.
const NoAttributes = "$none"

// view is a loaded profile with its organization and tenant settings.
type view struct {
	u  *identity.User
	o  *identity.Organization
	tn *identity.Tenant
}

// loadProfile reads the profile with Crafter id and checks
// MANAGE_PROFILES and READ_TENANT on its tenant (after loading: a missing
// id is 404 whatever the rights, §5.3).
func loadProfile(tx *identity.ReadTxn, c *identity.Credential, id string) (*view, error) {
	if !identity.IsObjectID(id) {
		return nil, noProfile(id)
	}
	u, err := tx.UserByObjectID(id)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, noProfile(id)
	}
	if err != nil {
		return nil, err
	}
	o, err := ownerTenant(tx, c, u.OrgID, noProfile(id))
	if err != nil {
		return nil, err
	}
	tn, err := tx.Tenant(o.ID)
	if err != nil {
		return nil, err
	}
	if err := check(c, tenantOf(o), ActionManageProfiles, ActionReadTenant); err != nil {
		return nil, err
	}
	return &view{u: u, o: o, tn: tn}, nil
}

// ownerTenant returns the organization (tenant) that owns an object of
// the caller's environment (a profile, verification token, ticket or
// persistent login) and applies tenant isolation, the one rule of every
// lookup by id: when the token has no permission entry for that tenant,
// the object answers notFound, exactly as an unknown id (same status,
// same body), instead of Crafter's 403 naming the tenant. A write to such
// an object (delete, invalidate) is then the no-op of an unknown id. A
// token that reaches the tenant but lacks the action still gets Crafter's
// 403 from check.
func ownerTenant(tx *identity.ReadTxn, c *identity.Credential, orgID string, notFound *Error) (*identity.Organization, error) {
	o, err := tx.OrgByID(orgID)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	if !reaches(c, tenantOf(o)) {
		return nil, notFound
	}
	return o, nil
}

// ownerDomain is ownerTenant for hot paths (ticket reads): the owner's
// domain from the id cache, with the same rule.
func (s *Service) ownerDomain(tx *identity.ReadTxn, c *identity.Credential, orgID string, notFound *Error) (string, error) {
	d, err := s.orgDomain(tx, orgID)
	if errors.Is(err, identity.ErrNotFound) {
		return "", notFound
	}
	if err != nil {
		return "", err
	}
	if !reaches(c, d) {
		return "", notFound
	}
	return d, nil
}

// render builds the profile JSON: attributes projected on attrs ($none:
// none; empty: all), then filtered by readability. A stored attribute
// without a definition fails the request (§5.4).
func render(c *identity.Credential, v *view, attrs []string, filter bool) (*Profile, error) {
	p := profileJSON(v.u, tenantOf(v.o))
	if len(attrs) > 0 {
		keep := map[string]bool{}
		for _, a := range attrs {
			if a == NoAttributes {
				keep = map[string]bool{}
				p.Attributes = map[string]any{}
				break
			}
			keep[a] = true
		}
		for k := range p.Attributes {
			if !keep[k] {
				delete(p.Attributes, k)
			}
		}
	}
	if !filter {
		return p, nil
	}
	for k := range p.Attributes {
		d, ok := v.tn.Definition(k)
		if !ok {
			return nil, notDefined(k, tenantOf(v.o))
		}
		if !attrAllowed(d, c.Application, ActionReadAttribute) {
			delete(p.Attributes, k)
		}
	}
	return p, nil
}

// checkWrite checks that every attribute is defined and writable.
func checkWrite(c *identity.Credential, tn *identity.Tenant, attrs map[string]any) error {
	for k := range attrs {
		d, ok := tn.Definition(k)
		if !ok {
			return notDefined(k, tn.Name)
		}
		if !attrAllowed(d, c.Application, ActionWriteAttribute) {
			return deniedAttr(ActionWriteAttribute, k)
		}
	}
	return nil
}

// cleanse HTML-escapes TEXT and LARGE_TEXT values and STRING_LIST
// elements of attrs, as Crafter does when the tenant's cleanseAttributes is
// set. Definitions without a type are left alone.
func cleanse(tn *identity.Tenant, attrs map[string]any) {
	if !tn.CleanseAttributes {
		return
	}
	for k, v := range attrs {
		d, ok := tn.Definition(k)
		if !ok || d.Metadata == nil {
			continue
		}
		typ, _ := d.Metadata["type"].(string)
		switch typ {
		case "TEXT", "LARGE_TEXT":
			if v != nil {
				attrs[k] = escape(v)
			}
		case "STRING_LIST":
			if list, ok := v.([]any); ok {
				out := make([]any, len(list))
				for i, e := range list {
					if e == nil {
						continue
					}
					out[i] = escape(e)
				}
				attrs[k] = out
			}
		}
	}
}

func escape(v any) string {
	if s, ok := v.(string); ok {
		return html.EscapeString(s)
	}
	return html.EscapeString(fmt.Sprint(v))
}

func checkEmail(email string) error {
	if r := identity.CheckEmail(email); r != "" {
		return apiErr(http.StatusBadRequest, CodeInvalidEmail, "Invalid email address %q", email)
	}
	return nil
}

// checkUsername checks that a username was sent; the core's user rule
// (identity.ValidateUser) judges its text.
func checkUsername(name string) error {
	if name == "" {
		return missingParam("username")
	}
	return nil
}

// conflict maps an identity uniqueness conflict to PROFILE_EXISTS.
func conflict(err error, username, email string) error {
	if !errors.Is(err, identity.ErrConflict) {
		return err
	}
	if identity.ConflictField(err) == "email" {
		return apiErr(http.StatusConflict, CodeProfileExists, "A profile with email %q already exists", email)
	}
	return apiErr(http.StatusConflict, CodeProfileExists, "A profile with name %q already exists", username)
}

// NewProfile is the input of CreateProfile.
type NewProfile struct {
	Tenant          string
	Username        string
	Password        string
	Email           string
	Enabled         bool
	Roles           []string
	Attributes      map[string]any
	VerificationURL string
}

// CreateProfile creates a profile (§6.1). When the tenant verifies new
// profiles and a verification URL is given, the profile stays disabled
// and a verification link is emailed.
func (s *Service) CreateProfile(ctx context.Context, c *identity.Credential, in NewProfile) (*Profile, error) {
	if err := check(c, in.Tenant, ActionManageProfiles); err != nil {
		return nil, err
	}
	if err := checkEmail(in.Email); err != nil {
		return nil, err
	}
	if err := checkUsername(in.Username); err != nil {
		return nil, err
	}
	if err := check(c, in.Tenant, ActionReadTenant); err != nil {
		return nil, err
	}
	if in.VerificationURL != "" {
		if err := checkLinkBase("verificationUrl", in.VerificationURL); err != nil {
			return nil, err
		}
	}
	d := s.dir(c)
	// Check the tenant and the attributes before spending a hash.
	if err := d.View(ctx, func(tx *identity.ReadTxn) error {
		_, tn, err := loadTenant(tx, in.Tenant)
		if err != nil {
			return err
		}
		return checkWrite(c, tn, in.Attributes)
	}); err != nil {
		return nil, err
	}
	hash := ""
	if in.Password != "" {
		if len(in.Password) > password.MaxPasswordLen {
			return nil, badRequest("Password must be at most %d bytes", password.MaxPasswordLen)
		}
		var err error
		if hash, err = s.hasher.Hash(ctx, in.Password); err != nil {
			return nil, err
		}
	}
	var out *Profile
	var token, email string
	err := d.Update(ctx, func(tx *identity.Txn) error {
		o, tn, err := loadTenant(&tx.ReadTxn, in.Tenant)
		if err != nil {
			return err
		}
		if err := checkWrite(c, tn, in.Attributes); err != nil {
			return err
		}
		u, err := d.NewUser(o.ID)
		if err != nil {
			return err
		}
		u.Username, u.Email, u.PasswordHash = in.Username, in.Email, hash
		u.Verified = false
		u.Enabled = in.Enabled
		verifying := tn.VerifyNewProfiles && in.VerificationURL != ""
		if verifying {
			u.Enabled = false
		}
		// A profile created disabled waits for its verification: Crafter's
		// verify enables it (the tenant's own mail, or an application's
		// token and mail).
		awaits := !u.Enabled
		u.AwaitsVerification = &awaits
		if len(in.Roles) > 0 {
			u.Roles = dedupe(in.Roles)
		}
		for _, def := range tn.AttributeDefinitions {
			if def.DefaultValue != nil {
				u.Attributes[def.Name] = def.DefaultValue
			}
		}
		attrs := make(map[string]any, len(in.Attributes))
		for k, v := range in.Attributes {
			attrs[k] = v
		}
		cleanse(tn, attrs)
		for k, v := range attrs {
			u.Attributes[k] = v
		}
		if err := tx.InsertUser(u); err != nil {
			return conflict(err, in.Username, in.Email)
		}
		token, email = "", u.Email
		if verifying {
			if token, err = s.newVerificationToken(tx, u); err != nil {
				return err
			}
		}
		out, err = render(c, &view{u: u, o: o, tn: tn}, nil, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	if token != "" {
		s.sendLink(ctx, email, "Verify Account", "Please verify your account by following this link:",
			linkWith(in.VerificationURL, token))
	}
	return out, nil
}

// ProfileUpdate is the input of UpdateProfile: nil or empty fields are
// left unchanged; SetRoles with an empty Roles clears them.
type ProfileUpdate struct {
	Username   string
	Password   string
	Email      string
	Enabled    *bool
	SetRoles   bool
	Roles      []string
	Attributes map[string]any
}

// mutate applies fn to a profile in one transaction and returns the
// profile projected on attrs.
func (s *Service) mutate(ctx context.Context, c *identity.Credential, id string, attrs []string,
	fn func(tx *identity.Txn, v *view, u *identity.User) (string, error)) (*Profile, error) {
	var out *Profile
	err := s.dir(c).Update(ctx, func(tx *identity.Txn) error {
		v, err := loadProfile(&tx.ReadTxn, c, id)
		if err != nil {
			return err
		}
		u := identity.CloneUser(v.u)
		code, err := fn(tx, v, u)
		if err != nil {
			return err
		}
		if err := tx.ReplaceUser(v.u, u); err != nil {
			return conflict(err, u.Username, u.Email)
		}
		if code != "" {
			if err := tx.Log(&identity.Event{Code: code, OrgID: u.OrgID, Email: u.Email, ResourceOwnerID: u.ID,
				ActorID: c.ID}); err != nil {
				return err
			}
		}
		v.u = u
		out, err = render(c, v, attrs, true)
		return err
	})
	return out, err
}

// UpdateProfile changes the given fields (§2.3). A new password ends the
// profile's sessions of every kind (see setPassword). A new email (beyond
// the case of its ASCII letters) voids the profile's pending verification
// and reset tokens and sets verified to false; sessions stay (the core's
// rule, identity.Txn.ReplaceUser).
func (s *Service) UpdateProfile(ctx context.Context, c *identity.Credential, id string, in ProfileUpdate, attrs []string) (*Profile, error) {
	if in.Email != "" {
		if err := checkEmail(in.Email); err != nil {
			return nil, err
		}
	}
	if in.Username != "" {
		if err := checkUsername(in.Username); err != nil {
			return nil, err
		}
	}
	hash := ""
	if in.Password != "" {
		if len(in.Password) > password.MaxPasswordLen {
			return nil, badRequest("Password must be at most %d bytes", password.MaxPasswordLen)
		}
		// Check existence and rights before spending a hash.
		if err := s.dir(c).View(ctx, func(tx *identity.ReadTxn) error {
			_, err := loadProfile(tx, c, id)
			return err
		}); err != nil {
			return nil, err
		}
		var err error
		if hash, err = s.hasher.Hash(ctx, in.Password); err != nil {
			return nil, err
		}
	}
	return s.mutate(ctx, c, id, attrs, func(tx *identity.Txn, v *view, u *identity.User) (string, error) {
		if in.Username != "" {
			u.Username = in.Username
		}
		if in.Email != "" {
			u.Email = in.Email
		}
		if in.Enabled != nil {
			u.Enabled = *in.Enabled
		}
		if in.SetRoles {
			u.Roles = dedupe(in.Roles)
		}
		if len(in.Attributes) > 0 {
			if err := checkWrite(c, v.tn, in.Attributes); err != nil {
				return "", err
			}
			attrs := make(map[string]any, len(in.Attributes))
			for k, val := range in.Attributes {
				attrs[k] = val
			}
			cleanse(v.tn, attrs)
			for k, val := range attrs {
				u.Attributes[k] = val
			}
		}
		if hash != "" {
			if err := setPassword(tx, u, hash); err != nil {
				return "", err
			}
			return identity.EventUserPasswordChanged, nil
		}
		return identity.EventUserUpdated, nil
	})
}

// setPassword is the core's password change (identity.Txn.SetPasswordHash):
// it stores a new hash, clears the lockout and ends the user's sessions of
// every kind (tickets, persistent logins, OIDC refresh families, browser
// sessions) and pending reset tokens. An API call acts for no session of
// the user, so none is kept.
func setPassword(tx *identity.Txn, u *identity.User, hash string) error {
	return tx.SetPasswordHash(u, hash, identity.SessionRef{})
}

// SetEnabled enables or disables a profile.
func (s *Service) SetEnabled(ctx context.Context, c *identity.Credential, id string, enabled bool, attrs []string) (*Profile, error) {
	return s.mutate(ctx, c, id, attrs, func(_ *identity.Txn, _ *view, u *identity.User) (string, error) {
		u.Enabled = enabled
		if enabled {
			return identity.EventUserEnabled, nil
		}
		return identity.EventUserDisabled, nil
	})
}

// AddProfileRoles adds roles the profile lacks.
func (s *Service) AddProfileRoles(ctx context.Context, c *identity.Credential, id string, roles []string, attrs []string) (*Profile, error) {
	return s.mutate(ctx, c, id, attrs, func(_ *identity.Txn, _ *view, u *identity.User) (string, error) {
		u.Roles = dedupe(append(u.Roles, roles...))
		return identity.EventUserUpdated, nil
	})
}

// RemoveProfileRoles removes roles from a profile.
func (s *Service) RemoveProfileRoles(ctx context.Context, c *identity.Credential, id string, roles []string, attrs []string) (*Profile, error) {
	return s.mutate(ctx, c, id, attrs, func(_ *identity.Txn, _ *view, u *identity.User) (string, error) {
		rm := map[string]bool{}
		for _, r := range roles {
			rm[r] = true
		}
		kept := []string{}
		for _, r := range u.Roles {
			if !rm[r] {
				kept = append(kept, r)
			}
		}
		u.Roles = kept
		return identity.EventUserUpdated, nil
	})
}

// GetAttributes returns a profile's readable attributes projected on attrs.
func (s *Service) GetAttributes(ctx context.Context, c *identity.Credential, id string, attrs []string) (map[string]any, error) {
	p, err := s.GetProfile(ctx, c, id, attrs)
	if err != nil {
		return nil, err
	}
	return p.Attributes, nil
}

// UpdateAttributes merges attributes into a profile (WRITE_ATTRIBUTE on
// each; no cleansing on this path, as in Crafter).
func (s *Service) UpdateAttributes(ctx context.Context, c *identity.Credential, id string, in map[string]any, attrs []string) (*Profile, error) {
	return s.mutate(ctx, c, id, attrs, func(_ *identity.Txn, v *view, u *identity.User) (string, error) {
		if err := checkWrite(c, v.tn, in); err != nil {
			return "", err
		}
		for k, val := range in {
			u.Attributes[k] = val
		}
		return identity.EventUserUpdated, nil
	})
}

// RemoveAttributes unsets attributes (REMOVE_ATTRIBUTE on each).
func (s *Service) RemoveAttributes(ctx context.Context, c *identity.Credential, id string, names []string, attrs []string) (*Profile, error) {
	return s.mutate(ctx, c, id, attrs, func(_ *identity.Txn, v *view, u *identity.User) (string, error) {
		for _, k := range names {
			d, ok := v.tn.Definition(k)
			if !ok {
				return "", notDefined(k, tenantOf(v.o))
			}
			if !attrAllowed(d, c.Application, ActionRemoveAttribute) {
				return "", deniedAttr(ActionRemoveAttribute, k)
			}
			delete(u.Attributes, k)
		}
		return identity.EventUserUpdated, nil
	})
}

// DeleteProfile deletes a profile, silently if absent. Its sessions,
// tokens and attachments go with it.
func (s *Service) DeleteProfile(ctx context.Context, c *identity.Credential, id string) error {
	d := s.dir(c)
	var reap []string
	err := d.Update(ctx, func(tx *identity.Txn) error {
		reap = reap[:0]
		v, err := loadProfile(&tx.ReadTxn, c, id)
		var ae *Error
		if errors.As(err, &ae) && ae.Code == CodeNoSuchProfile {
			return nil
		}
		if err != nil {
			return err
		}
		return s.deleteUser(tx, v.u, &reap)
	})
	if err == nil {
		s.reapBlobs(context.WithoutCancel(ctx), d.Environment(), reap)
	}
	return err
}

// GetProfile returns a profile by its Crafter id.
func (s *Service) GetProfile(ctx context.Context, c *identity.Credential, id string, attrs []string) (*Profile, error) {
	var out *Profile
	err := s.dir(c).View(ctx, func(tx *identity.ReadTxn) error {
		v, err := loadProfile(tx, c, id)
		if err != nil {
			return err
		}
		out, err = render(c, v, attrs, true)
		return err
	})
	return out, err
}

// ProfileByUsername returns the profile of a tenant with username.
func (s *Service) ProfileByUsername(ctx context.Context, c *identity.Credential, tenant, username string, attrs []string) (*Profile, error) {
	if err := check(c, tenant, ActionManageProfiles, ActionReadTenant); err != nil {
		return nil, err
	}
	// Crafter finds the profile by tenant name and username without
	// reading the tenant: an unknown tenant or an empty username is no
	// such profile.
	none := apiErr(http.StatusNotFound, CodeNoSuchProfile, "No profile found for tenant %q and username %q", tenant, username)
	var out *Profile
	err := s.dir(c).View(ctx, func(tx *identity.ReadTxn) error {
		o, tn, err := loadTenant(tx, tenant)
		if isCode(err, CodeNoSuchTenant) || (err == nil && username == "") {
			return none
		}
		if err != nil {
			return err
		}
		u, err := tx.UserByUsername(o.ID, username)
		if errors.Is(err, identity.ErrNotFound) {
			return none
		}
		if err != nil {
			return err
		}
		out, err = render(c, &view{u: u, o: o, tn: tn}, attrs, true)
		return err
	})
	return out, err
}
