package identity

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/kv"
)

func apps(env Environment) kv.Records[Application] {
	return kv.Records[Application]{Env: string(env), Kind: "app", V2: true}
}

func appClientIDs(env Environment) kv.Unique {
	return kv.Unique{Env: string(env), Name: "app-client-id"}
}

// orgApps is the sorted set of applications created under an organization.
func orgApps(env Environment, orgID string) kv.Set {
	return kv.Set{Env: string(env), Parts: []string{"apps", orgID}}
}

// CheckApplication validates an application's fields.
func CheckApplication(a *Application) error {
	var v Validation
	if strings.TrimSpace(a.Name) == "" {
		v.Add("name", "is required")
	} else if len(a.Name) > 255 {
		v.Add("name", "must be at most 255 characters")
	}
	if len(a.Description) > 2048 {
		v.Add("description", "must be at most 2048 characters")
	}
	if !ValidApplicationType(a.ApplicationType) {
		v.Add("application_type", "must be one of "+strings.Join(ApplicationTypes(), ", "))
	}
	for _, u := range a.AllowedRedirectURLs {
		if r := CheckRedirectURL(a.ApplicationType, u); r != "" {
			v.Add("allowed_redirect_urls", r+": "+u)
		}
	}
	CheckURLList(&v, "allowed_logout_urls", a.AllowedLogoutURLs)
	for _, o := range a.AllowedOriginsCORS {
		if r := CheckOrigin(o); r != "" {
			v.Add("allowed_origins_cors", r+": "+o)
		}
	}
	for _, o := range a.AllowedWebOrigins {
		if r := CheckOrigin(o); r != "" {
			v.Add("allowed_web_origins", r+": "+o)
		}
	}
	single := func(field, val string, check func(string) string) {
		if val != "" {
			if r := check(val); r != "" {
				v.Add(field, r)
			}
		}
	}
	single("default_origin_cors", a.DefaultOriginCORS, CheckOrigin)
	single("default_web_origin", a.DefaultWebOrigin, CheckOrigin)
	single("default_redirect_uri_after_login", a.DefaultRedirectURIAfterLogin, func(u string) string { return CheckRedirectURL(a.ApplicationType, u) })
	single("default_redirect_uri_after_logout", a.DefaultRedirectURIAfterLogout, CheckURL)
	if a.DefaultRedirectURIAfterLogin != "" && !contains(a.AllowedRedirectURLs, a.DefaultRedirectURIAfterLogin) {
		v.Add("default_redirect_uri_after_login", "must be one of allowed_redirect_urls")
	}
	if a.DefaultRedirectURIAfterLogout != "" && !contains(a.AllowedLogoutURLs, a.DefaultRedirectURIAfterLogout) {
		v.Add("default_redirect_uri_after_logout", "must be one of allowed_logout_urls")
	}
	switch a.SigningAlg {
	case "", "RS256", "ES256", "EdDSA":
	default:
		v.Add("signing_alg", "must be RS256, ES256 or EdDSA")
	}
	if len(a.AllowedScopes) > MaxAllowedScopes {
		v.Add("allowed_scopes", fmt.Sprintf("must have at most %d scopes", MaxAllowedScopes))
	}
	for _, sc := range a.AllowedScopes {
		if r := CheckScope(sc); r != "" {
			v.Add("allowed_scopes", r)
			break
		}
	}
	if a.AccessTokenTTL < 0 || a.IDTokenTTL < 0 || a.RefreshTokenTTL < 0 {
		v.Add("token_ttl", "must not be negative")
	}
	if a.OrganizationScope != "" {
		if r := CheckDomain(a.OrganizationScope); r != "" {
			v.Add("organization_domain_scope", r)
		}
	}
	return v.Err()
}

// MaxAllowedScopes is the longest Application.AllowedScopes.
const MaxAllowedScopes = 100

// CheckScope returns why s is not a scope token (RFC 6749 §3.3: printable
// ASCII without space, quote or backslash; at most 128 characters), or "".
func CheckScope(s string) string {
	if s == "" || len(s) > 128 {
		return "each scope must be 1 to 128 characters"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return "a scope is printable ASCII without space, quote or backslash"
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// App returns the application with client id (any organization). On a
// Service scoped to some organizations, an application created under an
// organization outside the scope is ErrNotFound, as an unknown one.
func (t *ReadTxn) App(clientID string) (*Application, error) {
	a, err := t.appByClientID(clientID)
	if err != nil {
		return nil, err
	}
	return cloneApp(a), nil
}

// appByClientID is App without the copy (shared: do not change it).
func (t *ReadTxn) appByClientID(clientID string) (*Application, error) {
	id, err := appClientIDs(t.s.env).Lookup(t.tx, "", clientID)
	if err != nil {
		return nil, fmt.Errorf("application %w", ErrNotFound)
	}
	a, err := t.app(id)
	if err != nil {
		return nil, err
	}
	if t.s.limited() {
		if _, err := t.OrgByID(a.OrgID); err != nil {
			return nil, fmt.Errorf("application %w", ErrNotFound)
		}
	}
	return a, nil
}

// OrgApp returns the application with client id created under orgID.
func (t *ReadTxn) OrgApp(orgID, clientID string) (*Application, error) {
	a, err := t.App(clientID)
	if err != nil {
		return nil, err
	}
	if a.OrgID != orgID {
		return nil, fmt.Errorf("application %w", ErrNotFound)
	}
	return a, nil
}

// PutApp stores an application (new or changed) with its indexes.
func (t *Txn) PutApp(old, a *Application) error {
	if err := CheckApplication(a); err != nil {
		return err
	}
	if old != nil && (old.ID != a.ID || old.ClientID != a.ClientID || old.OrgID != a.OrgID) {
		return fmt.Errorf("application ids are immutable: %w", ErrInvalid)
	}
	if old == nil {
		if err := appClientIDs(t.s.env).Claim(t.w, "", a.ClientID, a.ID); err != nil {
			return err
		}
		if err := orgApps(t.s.env, a.OrgID).Add(t.w, a.ID, nil); err != nil {
			return err
		}
	}
	return apps(t.s.env).Put(t.w, a.ID, *a)
}

// CreateApplication creates an application under the organization with
// domain. Its client_id is a new UUID. Confidential clients (regular_web,
// machine) get a client secret, returned once and stored as a hash.
//
// On a scoped Service: the organization must be in scope (else
// ErrNotFound), the scope needs create:applications (else ErrForbidden),
// OrganizationScope and ServedOrgs may only name organizations in scope
// (else ErrInvalid), and a scope limited to some organizations makes an
// application that serves only those (ServedOrgs defaults to them).
func (s *Service) CreateApplication(ctx context.Context, orgDomain string, in Application) (*Application, string, error) {
	if err := s.inScope(orgDomain); err != nil {
		return nil, "", err
	}
	if err := s.require(ActionCreate, ResourceApplications); err != nil {
		return nil, "", err
	}
	a := in
	if s.limited() && a.ServedOrgs == nil {
		a.ServedOrgs = s.scopeOrgs()
	}
	if err := s.checkAppScope(&a); err != nil {
		return nil, "", err
	}
	now := s.Now()
	var err error
	if a.ID, err = s.newID(now); err != nil {
		return nil, "", err
	}
	a.ClientID = a.ID
	a.CreatedAt, a.UpdatedAt = now, now
	secret := ""
	a.ClientSecretHash = ""
	if !a.Public() {
		if secret, err = NewSecret(s.rand); err != nil {
			return nil, "", err
		}
		a.ClientSecretHash = HashSecret(secret)
	}
	normalizeApp(&a)
	err = s.Update(ctx, func(tx *Txn) error {
		o, err := tx.Org(orgDomain)
		if err != nil {
			return err
		}
		a.OrgID = o.ID
		if err := tx.PutApp(nil, &a); err != nil {
			return err
		}
		return tx.Log(&Event{Code: EventApplicationCreated, OrgID: o.ID, ClientID: a.ClientID})
	})
	if err != nil {
		return nil, "", err
	}
	return &a, secret, nil
}

func normalizeApp(a *Application) {
	for _, l := range []*[]string{&a.AllowedRedirectURLs, &a.AllowedOriginsCORS, &a.AllowedWebOrigins, &a.AllowedLogoutURLs} {
		if *l == nil {
			*l = []string{}
		}
		*l = dedupe(*l)
	}
	if a.ServedOrgs != nil {
		a.ServedOrgs = dedupe(a.ServedOrgs)
	}
	if len(a.AllowedScopes) == 0 {
		a.AllowedScopes = nil
	} else {
		a.AllowedScopes = dedupe(a.AllowedScopes)
	}
}

// checkAppScope refuses an application that would serve an organization
// outside the service's scope.
func (s *Service) checkAppScope(a *Application) error {
	if !s.limited() {
		return nil
	}
	var v Validation
	switch {
	case a.OrganizationScope != "" && !s.Manages(a.OrganizationScope):
		v.Add("organization_domain_scope", "must be an organization this credential manages")
	case a.OrganizationScope == "" && a.ServedOrgs == nil:
		// It would serve every organization of the account.
		v.Add("served_orgs", "must list the organizations the application serves")
	}
	for _, d := range a.ServedOrgs {
		if !s.Manages(d) {
			v.Add("served_orgs", "must be organizations this credential manages")
			break
		}
	}
	return v.Err()
}

// errAppOutOfScope refuses to change an application that serves more than
// the scope.
var errAppOutOfScope = fmt.Errorf("the application serves organizations this credential does not manage: %w", ErrForbidden)

// GetApplication returns the application with client id of the
// organization with domain.
func (s *Service) GetApplication(ctx context.Context, orgDomain, clientID string) (*Application, error) {
	var a *Application
	err := s.View(ctx, func(tx *ReadTxn) error {
		o, err := tx.Org(orgDomain)
		if err != nil {
			return err
		}
		a, err = tx.OrgApp(o.ID, clientID)
		return err
	})
	return a, err
}

// ApplicationByClientID returns an application by client id alone, for
// OAuth endpoints.
func (s *Service) ApplicationByClientID(ctx context.Context, clientID string) (*Application, error) {
	var a *Application
	err := s.View(ctx, func(tx *ReadTxn) (err error) { a, err = tx.App(clientID); return })
	return a, err
}

// ListApplications lists the applications of an organization, most
// recent first.
func (s *Service) ListApplications(ctx context.Context, orgDomain string, req PageRequest) (Page[Application], error) {
	var p Page[Application]
	err := s.View(ctx, func(tx *ReadTxn) error {
		o, err := tx.Org(orgDomain)
		if err != nil {
			return err
		}
		p, err = pageOf(tx.tx, orgApps(s.env, o.ID), req, func(id string) (Application, error) {
			return apps(s.env).Get(tx.tx, id)
		})
		return err
	})
	return p, err
}

// UpdateApplication applies fn to the application (compare-and-swap in one
// transaction). Its ids never change. On a scoped Service, the scope
// needs update:applications, and may change only an application that
// serves nothing outside it (else ErrForbidden); the changed application
// must still serve only organizations in scope (else ErrInvalid).
func (s *Service) UpdateApplication(ctx context.Context, orgDomain, clientID string, fn func(a *Application) error) (*Application, error) {
	if err := s.inScope(orgDomain); err != nil {
		return nil, err
	}
	if err := s.require(ActionUpdate, ResourceApplications); err != nil {
		return nil, err
	}
	var out *Application
	err := s.Update(ctx, func(tx *Txn) error {
		o, err := tx.Org(orgDomain)
		if err != nil {
			return err
		}
		old, err := tx.OrgApp(o.ID, clientID)
		if err != nil {
			return err
		}
		a := *old
		a.AllowedRedirectURLs = append([]string(nil), old.AllowedRedirectURLs...)
		a.AllowedOriginsCORS = append([]string(nil), old.AllowedOriginsCORS...)
		a.AllowedWebOrigins = append([]string(nil), old.AllowedWebOrigins...)
		a.AllowedLogoutURLs = append([]string(nil), old.AllowedLogoutURLs...)
		a.ServedOrgs = slices.Clone(old.ServedOrgs)
		a.AllowedScopes = slices.Clone(old.AllowedScopes)
		if !s.appWithinScope(old) {
			return errAppOutOfScope
		}
		if err := fn(&a); err != nil {
			return err
		}
		if err := s.checkAppScope(&a); err != nil {
			return err
		}
		normalizeApp(&a)
		a.UpdatedAt = s.Now()
		if err := tx.PutApp(old, &a); err != nil {
			return err
		}
		out = &a
		return tx.Log(&Event{Code: EventApplicationUpdated, OrgID: o.ID, ClientID: a.ClientID})
	})
	return out, err
}

// DeleteApplication deletes an application. On a scoped Service, the
// scope needs delete:applications, and may delete only an application
// that serves nothing outside it (else ErrForbidden).
func (s *Service) DeleteApplication(ctx context.Context, orgDomain, clientID string) (*Application, error) {
	if err := s.inScope(orgDomain); err != nil {
		return nil, err
	}
	if err := s.require(ActionDelete, ResourceApplications); err != nil {
		return nil, err
	}
	var out *Application
	err := s.Update(ctx, func(tx *Txn) error {
		o, err := tx.Org(orgDomain)
		if err != nil {
			return err
		}
		a, err := tx.OrgApp(o.ID, clientID)
		if err != nil {
			return err
		}
		if !s.appWithinScope(a) {
			return errAppOutOfScope
		}
		if err := appClientIDs(s.env).Release(tx.w, "", a.ClientID, a.ID); err != nil {
			return err
		}
		if err := orgApps(s.env, o.ID).Remove(tx.w, a.ID); err != nil {
			return err
		}
		if err := apps(s.env).Delete(tx.w, a.ID); err != nil {
			return err
		}
		out = a
		return tx.Log(&Event{Code: EventApplicationDeleted, OrgID: o.ID, ClientID: a.ClientID})
	})
	return out, err
}

// RotateApplicationSecret gives a confidential application (regular_web,
// machine) a new client secret, returned once and stored as its hash; the
// previous secret stops working at once. A public application has no
// secret (ErrInvalid). The scope rules are UpdateApplication's. It logs
// APPLICATION_SECRET_ROTATED.
func (s *Service) RotateApplicationSecret(ctx context.Context, orgDomain, clientID string) (string, error) {
	if err := s.inScope(orgDomain); err != nil {
		return "", err
	}
	if err := s.require(ActionUpdate, ResourceApplications); err != nil {
		return "", err
	}
	secret, err := NewSecret(s.rand)
	if err != nil {
		return "", err
	}
	err = s.Update(ctx, func(tx *Txn) error {
		o, err := tx.Org(orgDomain)
		if err != nil {
			return err
		}
		old, err := tx.OrgApp(o.ID, clientID)
		if err != nil {
			return err
		}
		if !s.appWithinScope(old) {
			return errAppOutOfScope
		}
		if old.Public() {
			return Invalid("application_type", "a public client has no secret")
		}
		a := *old
		a.ClientSecretHash, a.UpdatedAt = HashSecret(secret), s.Now()
		if err := tx.PutApp(old, &a); err != nil {
			return err
		}
		return tx.Log(&Event{Code: EventApplicationSecretRotated, OrgID: o.ID, ClientID: a.ClientID})
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}
