package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
)

// AllOrgs, as an entry of Scope.Orgs (or Credential.ManagedOrgs), stands
// for every organization of the account.
const AllOrgs = "*"

// Actions and resources of Cryptr's "action:resource" permissions that the
// core itself enforces on a scoped Service (see Scope).
const (
	ActionRead     = "read"
	ActionReadMany = "read_many"
	ActionCreate   = "create"
	ActionUpdate   = "update"
	ActionDelete   = "delete"

	ResourceOrganizations = "organizations"
	ResourceApplications  = "applications"
	ResourceUsers         = "users"
	// ResourceUserMetaKeys is the resource of MetaKeys (Cryptr's
	// "user_metakeys").
	ResourceUserMetaKeys = "user_metakeys"
)

// Scope is what a credential may reach: one environment, some
// organizations and some actions. A Service made with Service.For (or
// Service.Scoped) enforces it in every organization-addressed method:
//
//   - an organization outside Orgs is ErrNotFound, exactly as an unknown
//     one (and so are its users, applications, MetaKeys, events and SSO
//     connections);
//   - writes to organizations, applications and users (CreateUser,
//     ImportUsers, UpdateUser, DeleteUser, SetUserEnabled, UnlockUser,
//     EndSessions) and to MetaKeys (CreateMetaKey, DeleteMetaKey)
//     need the matching permission ("create:applications",
//     "update:users", "delete:user_metakeys", ...), else ErrForbidden;
//   - applications serve only organizations in Orgs (see
//     Application.ServedOrgs).
//
// A Service without a scope (the one NewService returns, and those derived
// with ForEnvironment) has full access: it is what an embedder's Go code
// calls.
type Scope struct {
	// Environment is the environment the scoped Service reads and writes.
	Environment Environment
	// Orgs are the domains of the organizations in scope; AllOrgs ("*")
	// means every organization of the account. Empty means none.
	Orgs []string
	// Permissions are Cryptr "action:resource" strings (PermAll, and the
	// "*:resource" and "action:*" wildcards, as Credential.Allows). Empty
	// means none.
	Permissions []string
	// ExceptAccount puts the account's organization (Options.AccountDomain)
	// outside the scope whatever Orgs says: it holds the console's members
	// and the console's own application, so whoever may change it may
	// become any member. ConsoleMember.Scope sets it for every role but
	// owner.
	ExceptAccount bool
}

// ScopeOf returns the scope of a Cryptr API key: its environment, its
// managed organizations and its permissions.
func ScopeOf(c *Credential) Scope {
	return Scope{Environment: c.Environment, Orgs: slices.Clone(c.ManagedOrgs), Permissions: slices.Clone(c.Permissions)}
}

// Manages reports whether the organization with domain is in scope.
func (sc Scope) Manages(domain string) bool {
	for _, d := range sc.Orgs {
		if d == AllOrgs || d == domain {
			return true
		}
	}
	return false
}

// ManagesAll reports whether every organization is in scope.
func (sc Scope) ManagesAll() bool { return slices.Contains(sc.Orgs, AllOrgs) }

// Allows reports whether the permissions grant action on resource.
func (sc Scope) Allows(action, resource string) bool {
	return allows(sc.Permissions, action, resource)
}

func allows(perms []string, action, resource string) bool {
	for _, p := range perms {
		if p == PermAll || p == action+":"+resource || p == "*:"+resource || p == action+":*" {
			return true
		}
	}
	return false
}

// For returns a Service bound to sc.Environment that enforces sc (see
// Scope). It shares the store, clock and hooks of s. A Service that is
// already scoped cannot be widened: For on it is ErrForbidden.
func (s *Service) For(sc Scope) (*Service, error) {
	if !sc.Environment.Valid() {
		return nil, Invalid("environment", "must be sandbox or production")
	}
	if s.scope != nil {
		return nil, fmt.Errorf("a scoped service cannot be scoped again: %w", ErrForbidden)
	}
	c := *s
	c.env = sc.Environment
	sc.Orgs, sc.Permissions = slices.Clone(sc.Orgs), slices.Clone(sc.Permissions)
	c.scope = &sc
	return &c, nil
}

// Scoped returns the Service for a Cryptr API key: For(ScopeOf(c)), whose
// writes name the key as their actor (APIKeyActor) unless their context
// names another (WithActorOf).
func (s *Service) Scoped(c *Credential) (*Service, error) {
	svc, err := s.For(ScopeOf(c))
	if err != nil {
		return nil, err
	}
	svc.actor = APIKeyActor(c)
	return svc, nil
}

// Scope returns the service's scope; ok is false for an unscoped Service
// (full access).
func (s *Service) Scope() (sc Scope, ok bool) {
	if s.scope == nil {
		return Scope{Environment: s.env, Orgs: []string{AllOrgs}, Permissions: []string{PermAll}}, false
	}
	sc = *s.scope
	sc.Orgs, sc.Permissions = slices.Clone(sc.Orgs), slices.Clone(sc.Permissions)
	return sc, true
}

// Manages reports whether the organization with domain is in the
// service's scope (always true for an unscoped Service).
func (s *Service) Manages(domain string) bool {
	if s.scope == nil {
		return true
	}
	if s.scope.ExceptAccount && s.account != "" && domain == s.account {
		return false
	}
	return s.scope.Manages(domain)
}

// ManagesAll reports whether every organization is in the service's scope.
func (s *Service) ManagesAll() bool { return s.scope == nil || s.scope.ManagesAll() }

// Allows reports whether the service's scope grants action on resource
// (always true for an unscoped Service).
func (s *Service) Allows(action, resource string) bool {
	return s.scope == nil || s.scope.Allows(action, resource)
}

// limited reports whether the service is scoped to some organizations
// only.
func (s *Service) limited() bool { return s.scope != nil && !s.scope.ManagesAll() }

// require is ErrForbidden unless the scope grants action on resource.
func (s *Service) require(action, resource string) error {
	if !s.Allows(action, resource) {
		return fmt.Errorf("the credential lacks the permission %s:%s: %w", action, resource, ErrForbidden)
	}
	return nil
}

// mayWrite is inScope, then require: an organization outside the scope is
// ErrNotFound (as an unknown one), a missing permission ErrForbidden.
func (s *Service) mayWrite(domain, action, resource string) error {
	if err := s.inScope(domain); err != nil {
		return err
	}
	return s.require(action, resource)
}

// inScope is ErrNotFound for an organization outside the scope, worded as
// for an unknown one.
func (s *Service) inScope(domain string) error {
	if !s.Manages(domain) {
		return fmt.Errorf("organization %q: %w", domain, ErrNotFound)
	}
	return nil
}

// orgWritable is ErrForbidden on a sandbox-bound Service: organizations
// are shared by both environments, so only production may create, change
// or delete them.
func (s *Service) orgWritable() error {
	if s.env != Production {
		return fmt.Errorf("organizations are shared by both environments and change only through production: %w", ErrForbidden)
	}
	return nil
}

// scopeOrgs returns the sorted, deduplicated organizations of a limited
// scope.
func (s *Service) scopeOrgs() []string {
	out := slices.Clone(s.scope.Orgs)
	sort.Strings(out)
	return slices.Compact(out)
}

// appWithinScope reports whether everything the application serves is in
// the service's scope, so that the scope may change or delete it.
func (s *Service) appWithinScope(a *Application) bool {
	if !s.limited() {
		return true
	}
	if a.OrganizationScope != "" && s.Manages(a.OrganizationScope) {
		return true
	}
	if a.ServedOrgs == nil {
		return false
	}
	for _, d := range a.ServedOrgs {
		if !s.Manages(d) {
			return false
		}
	}
	return true
}

// ApplicationServes reports whether app may sign users of the
// organization with domain in, or get tokens for it: the OAuth endpoints
// and hosted pages (authorization, login, client_credentials) ask it
// before serving an organization. An application serves
//
//   - only its OrganizationScope, when set;
//   - only its ServedOrgs, when set (the organizations of the scope that
//     created it);
//   - otherwise the organization it was created under and every
//     organization of the account.
//
// An organization unknown to (or outside the scope of) s is not served.
func (s *Service) ApplicationServes(ctx context.Context, app *Application, domain string) (bool, error) {
	if app == nil || domain == "" {
		return false, nil
	}
	var ok bool
	err := s.View(ctx, func(tx *ReadTxn) (err error) { ok, err = tx.servedBy(app, domain); return })
	return ok, err
}

// ApplicationFor returns the application with clientID as the issuer of
// the organization with domain sees it: an application that does not
// serve that organization (see ApplicationServes) is ErrNotFound, exactly
// like an unknown client id, so an organization's OAuth endpoints and
// hosted pages answer another organization's client as they answer a
// client that does not exist. Every endpoint that takes a client id for
// an organization looks the client up with it.
func (s *Service) ApplicationFor(ctx context.Context, clientID, domain string) (*Application, error) {
	var out *Application
	err := s.View(ctx, func(tx *ReadTxn) error {
		a, err := tx.appByClientID(clientID)
		if err != nil {
			return err
		}
		ok, err := tx.servedBy(a, domain)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("application %q: %w", clientID, ErrNotFound)
		}
		out = cloneApp(a)
		return nil
	})
	return out, err
}

// CheckSignIn is the rule every sign-in obeys before its result (an
// authorization code, a browser session for an application) is handed
// out, asked in the transaction that hands it out: the user u belongs to
// the organization with domain, and the application with clientID serves
// that organization (ApplicationServes). Whatever authenticated u (a
// password, a mailed link or code, an enterprise IdP, a browser session),
// an application therefore never receives a sign-in of another
// organization's user, nor of an organization it does not serve. A
// refusal is ErrForbidden; an empty clientID checks the organization
// alone.
func (t *ReadTxn) CheckSignIn(clientID, domain string, u *User) error {
	if u == nil || domain == "" {
		return fmt.Errorf("sign-in without a user or an organization: %w", ErrForbidden)
	}
	id, err := t.OrgID(domain)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("sign-in at organization %q: %w", domain, ErrForbidden)
	}
	if err != nil {
		return err
	}
	if u.OrgID != id {
		return fmt.Errorf("sign-in of a user of another organization at %q: %w", domain, ErrForbidden)
	}
	if clientID == "" {
		return nil
	}
	a, err := t.appByClientID(clientID)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("sign-in for application %q: %w", clientID, ErrForbidden)
	}
	if err != nil {
		return err
	}
	ok, err := t.servedBy(a, domain)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("sign-in at %q for application %q, which does not serve it: %w", domain, clientID, ErrForbidden)
	}
	return nil
}
