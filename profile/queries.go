package profile

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/profile/query"
)

// Sort and page options of list endpoints (§6.10).
type Sort struct {
	// By is a dotted path ("username", "attributes.firstName"); empty keeps
	// the natural (creation) order.
	By string
	// Asc sorts ascending; Crafter sorts descending when sortOrder is
	// missing.
	Asc bool
	// Start skips that many profiles when HasStart; Count limits the
	// result only when HasStart is also set.
	Start, Count       int
	HasStart, HasCount bool
}

// search is one list request: candidates from an index (or the whole
// tenant), a match predicate, sorting and paging.
type search struct {
	match func(u *identity.User, d map[string]any) bool
	// ids are candidate user ids in natural order; all means scan the tenant.
	ids []string
	all bool
	// needles, when set on a scan, are byte strings one of which every
	// match's stored record contains: users without any are skipped
	// without being decoded.
	needles []string
}

// needlesFor returns values when they are all plain strings (the stored
// record of a user whose field equals one of them holds one of them, see
// identity.RawUserMayHold), else nil. Only printable ASCII without
// characters a JSON encoder may escape qualifies, so the test holds
// whatever encoder wrote the record.
func needlesFor(values []any) []string {
	var out []string
	for _, v := range values {
		s, ok := v.(string)
		if !ok {
			return nil
		}
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c == '/' || c == '\'' {
				return nil
			}
		}
		out = append(out, s)
	}
	return out
}

func hasNeedle(raw []byte, needles []string) bool {
	if len(needles) == 0 {
		return true
	}
	for _, n := range needles {
		if identity.RawUserMayHold(raw, n) {
			return true
		}
	}
	return false
}

// hintIDs returns the users of orgID that an equality on path with one of
// values can match, from an index, or ok=false if path has no index.
func hintIDs(tx *identity.ReadTxn, orgID string, tn *identity.Tenant, path string, values []any) ([]string, bool, error) {
	env := tx.Env()
	var ids []string
	add := func(id string, err error) error {
		if errors.Is(err, identity.ErrNotFound) {
			return nil
		}
		if err == nil {
			ids = append(ids, id)
		}
		return err
	}
	switch {
	case path == "_id" || path == "id":
		for _, v := range values {
			if s, ok := v.(string); ok {
				u, err := tx.UserByObjectID(s)
				if err == nil && u.OrgID != orgID {
					continue
				}
				id := ""
				if u != nil {
					id = u.ID
				}
				if err := add(id, err); err != nil {
					return nil, true, err
				}
			}
		}
	case path == "username":
		for _, v := range values {
			if s, ok := v.(string); ok {
				u, err := tx.UserByUsername(orgID, s)
				id := ""
				if u != nil {
					id = u.ID
				}
				if err := add(id, err); err != nil {
					return nil, true, err
				}
			}
		}
	case path == "email":
		for _, v := range values {
			if s, ok := v.(string); ok {
				u, err := tx.UserByEmail(orgID, s)
				id := ""
				if u != nil {
					id = u.ID
				}
				if err := add(id, err); err != nil {
					return nil, true, err
				}
			}
		}
	case path == "roles":
		for _, v := range values {
			if s, ok := v.(string); ok {
				if err := identity.RoleUsers(kv.Inside(), env, orgID, s).Each(tx.KV(kv.Inside()), false, func(m string, _ []byte) error {
					ids = append(ids, m)
					return nil
				}); err != nil {
					return nil, true, err
				}
			}
		}
	case strings.HasPrefix(path, "attributes."):
		name := path[len("attributes."):]
		d, ok := tn.Definition(name)
		if !ok || !d.Indexed {
			return nil, false, nil
		}
		for _, v := range values {
			set, ok := identity.AttributeUsers(kv.Inside(), env, orgID, name, v)
			if !ok {
				return nil, false, nil
			}
			if err := set.Each(tx.KV(kv.Inside()), false, func(m string, _ []byte) error {
				ids = append(ids, m)
				return nil
			}); err != nil {
				return nil, true, err
			}
		}
	default:
		return nil, false, nil
	}
	sort.Strings(ids)
	out := ids[:0]
	for i, id := range ids {
		if i == 0 || id != ids[i-1] {
			out = append(out, id)
		}
	}
	return out, true, nil
}

// planQuery picks the most selective index a query's top-level equalities
// allow: id, username, email, an indexed attribute, then roles.
func planQuery(tx *identity.ReadTxn, orgID string, tn *identity.Tenant, q *query.Query) (search, error) {
	s := search{all: true, match: func(_ *identity.User, d map[string]any) bool { return q.Match(d) }}
	hints := q.IndexHints()
	rank := func(p string) int {
		switch {
		case p == "_id" || p == "id":
			return 0
		case p == "username":
			return 1
		case p == "email":
			return 2
		case strings.HasPrefix(p, "attributes."):
			return 3
		case p == "roles":
			return 4
		}
		return 5
	}
	sort.SliceStable(hints, func(i, j int) bool { return rank(hints[i].Path) < rank(hints[j].Path) })
	for _, h := range hints {
		ids, ok, err := hintIDs(tx, orgID, tn, h.Path, h.Values)
		if err != nil {
			return s, err
		}
		if ok {
			s.ids, s.all = ids, false
			return s, nil
		}
	}
	for _, h := range hints {
		if s.needles = needlesFor(h.Values); s.needles != nil {
			break
		}
	}
	return s, nil
}

// run executes a search in a tenant and returns the matching users,
// sorted and paged.
func run(ctx context.Context, tx *identity.ReadTxn, o *identity.Organization, s search, so Sort) ([]*identity.User, error) {
	if so.HasStart && so.Start < 0 {
		return nil, badRequest("Parameter 'start' must not be negative")
	}
	if so.HasStart && so.HasCount && so.Count < 0 {
		return nil, badRequest("Parameter 'count' must not be negative")
	}
	var out []*identity.User
	skip, limit := 0, -1
	if so.HasStart {
		skip = so.Start
		if so.HasCount {
			limit = so.Count
		}
	}
	early := so.By == "" // natural order: stop as soon as the page is full
	visited := 0
	visit := func(u *identity.User) error {
		// A search whose caller has gone (a closed connection, a
		// deadline) stops: a query over large profiles may take seconds.
		if visited++; visited%64 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if u.OrgID != o.ID || !s.match(u, doc(u, tenantOf(o))) {
			return nil
		}
		if early {
			if skip > 0 {
				skip--
				return nil
			}
			if limit >= 0 && len(out) >= limit {
				return identity.ErrStopScan
			}
		}
		out = append(out, u)
		return nil
	}
	if s.all {
		err := tx.EachOrgUserRaw(o.ID, func(id string, raw []byte) error {
			if !hasNeedle(raw, s.needles) {
				return nil
			}
			u, err := identity.DecodeUser(raw)
			if err != nil {
				return fmt.Errorf("decode user %s: %w", id, err)
			}
			return visit(u)
		})
		if err != nil && !errors.Is(err, identity.ErrStopScan) {
			return nil, err
		}
	} else {
		for _, id := range s.ids {
			u, err := tx.User(id)
			if errors.Is(err, identity.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if err := visit(u); err != nil {
				if errors.Is(err, identity.ErrStopScan) {
					break
				}
				return nil, err
			}
		}
	}
	if early {
		return out, nil
	}
	query.SortFunc(out, func(u *identity.User) map[string]any { return doc(u, tenantOf(o)) }, so.By, so.Asc)
	if skip >= len(out) {
		return []*identity.User{}, nil
	}
	out = out[skip:]
	if limit >= 0 && limit < len(out) {
		out = out[:limit]
	}
	return out, nil
}

// list runs a search in a tenant with MANAGE_PROFILES and READ_TENANT and
// renders the results. An unknown tenant is an empty list when
// emptyIfNoTenant (Crafter's listings read the profiles by tenant name and
// never the tenant: nothing found is []), else 404 NO_SUCH_TENANT (the
// query endpoints, which need the tenant's attribute definitions).
func (s *Service) list(ctx context.Context, c *identity.Credential, tenant string, attrs []string, so Sort,
	emptyIfNoTenant bool, plan func(tx *identity.ReadTxn, o *identity.Organization, tn *identity.Tenant) (search, error)) ([]Profile, error) {
	if err := check(c, tenant, ActionManageProfiles, ActionReadTenant); err != nil {
		return nil, err
	}
	out := []Profile{}
	err := s.dir(c).View(ctx, func(tx *identity.ReadTxn) error {
		o, tn, err := loadTenant(tx, tenant)
		if emptyIfNoTenant && isCode(err, CodeNoSuchTenant) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := sortable(c, tn, so.By); err != nil {
			return err
		}
		sr, err := plan(tx, o, tn)
		if err != nil {
			return err
		}
		users, err := run(ctx, tx, o, sr, so)
		if err != nil {
			return err
		}
		for _, u := range users {
			p, err := render(c, &view{u: u, o: o, tn: tn}, attrs, true)
			if err != nil {
				return err
			}
			out = append(out, *p)
		}
		return nil
	})
	return out, err
}

// parseQuery parses a Crafter query for the caller: attributes it may not
// read are refused.
func parseQuery(c *identity.Credential, tn *identity.Tenant, src string) (*query.Query, error) {
	if strings.TrimSpace(src) == "" {
		return nil, missingParam("query")
	}
	var denied []string
	for i := range tn.AttributeDefinitions {
		d := &tn.AttributeDefinitions[i]
		if !attrAllowed(d, c.Application, ActionReadAttribute) {
			denied = append(denied, d.Name)
		}
	}
	q, err := query.Parse(src, query.WithDeniedAttributes(denied...))
	if err != nil {
		var qe *query.Error
		msg := "Invalid query"
		if errors.As(err, &qe) {
			msg = qe.Msg
		}
		return nil, apiErr(http.StatusBadRequest, CodeInvalidQuery, "%s", msg)
	}
	return q, nil
}

func queryPlan(c *identity.Credential, src string) func(tx *identity.ReadTxn, o *identity.Organization, tn *identity.Tenant) (search, error) {
	return func(tx *identity.ReadTxn, o *identity.Organization, tn *identity.Tenant) (search, error) {
		q, err := parseQuery(c, tn, src)
		if err != nil {
			return search{}, err
		}
		return planQuery(tx, o.ID, tn, q)
	}
}

// ProfilesByQuery returns the profiles of a tenant matching a Mongo filter.
func (s *Service) ProfilesByQuery(ctx context.Context, c *identity.Credential, tenant, src string, so Sort, attrs []string) ([]Profile, error) {
	return s.list(ctx, c, tenant, attrs, so, false, queryPlan(c, src))
}

// OneByQuery returns the first profile matching a filter (404 if none).
func (s *Service) OneByQuery(ctx context.Context, c *identity.Credential, tenant, src string, attrs []string) (*Profile, error) {
	list, err := s.list(ctx, c, tenant, attrs, Sort{HasStart: true, HasCount: true, Count: 1}, false, queryPlan(c, src))
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, apiErr(http.StatusNotFound, CodeNoSuchProfile, "No profile found for the query")
	}
	return &list[0], nil
}

// CountByQuery counts the profiles of a tenant matching a filter.
func (s *Service) CountByQuery(ctx context.Context, c *identity.Credential, tenant, src string) (int, error) {
	if err := check(c, tenant, ActionManageProfiles, ActionReadTenant); err != nil {
		return 0, err
	}
	n := 0
	err := s.dir(c).View(ctx, func(tx *identity.ReadTxn) error {
		o, tn, err := loadTenant(tx, tenant)
		if err != nil {
			return err
		}
		sr, err := queryPlan(c, src)(tx, o, tn)
		if err != nil {
			return err
		}
		users, err := run(ctx, tx, o, sr, Sort{})
		n = len(users)
		return err
	})
	return n, err
}

// CountProfiles counts a tenant's profiles from the maintained counter;
// an unknown tenant has none (Crafter counts by tenant name).
func (s *Service) CountProfiles(ctx context.Context, c *identity.Credential, tenant string) (int, error) {
	if err := check(c, tenant, ActionManageProfiles, ActionReadTenant); err != nil {
		return 0, err
	}
	n := 0
	err := s.dir(c).View(ctx, func(tx *identity.ReadTxn) error {
		o, _, err := loadTenant(tx, tenant)
		if isCode(err, CodeNoSuchTenant) {
			return nil
		}
		if err != nil {
			return err
		}
		n, err = identity.OrgUsers(kv.Inside(), tx.Env(), o.ID).Count(tx.KV(kv.Inside()))
		return err
	})
	return n, err
}

func matchAll(*identity.User, map[string]any) bool { return true }

// Range returns a tenant's profiles, sorted and paged.
func (s *Service) Range(ctx context.Context, c *identity.Credential, tenant string, so Sort, attrs []string) ([]Profile, error) {
	return s.list(ctx, c, tenant, attrs, so, true, func(*identity.ReadTxn, *identity.Organization, *identity.Tenant) (search, error) {
		return search{all: true, match: matchAll}, nil
	})
}

// ProfilesByRole returns a tenant's profiles with role (from the role
// index; paging parameters are not part of this endpoint).
func (s *Service) ProfilesByRole(ctx context.Context, c *identity.Credential, tenant, role string, so Sort, attrs []string) ([]Profile, error) {
	so.HasStart, so.HasCount = false, false
	return s.list(ctx, c, tenant, attrs, so, true, func(tx *identity.ReadTxn, o *identity.Organization, tn *identity.Tenant) (search, error) {
		ids, _, err := hintIDs(tx, o.ID, tn, "roles", []any{role})
		return search{ids: ids, match: matchAll}, err
	})
}

// ProfilesWithAttribute returns a tenant's profiles that have attribute
// name (whatever its value).
func (s *Service) ProfilesWithAttribute(ctx context.Context, c *identity.Credential, tenant, name string, so Sort, attrs []string) ([]Profile, error) {
	so.HasStart, so.HasCount = false, false
	return s.list(ctx, c, tenant, attrs, so, true, func(tx *identity.ReadTxn, o *identity.Organization, tn *identity.Tenant) (search, error) {
		if err := readable(c, tn, name); err != nil {
			return search{}, err
		}
		return search{all: true, match: func(u *identity.User, _ map[string]any) bool {
			_, ok := u.Attributes[name]
			return ok
		}}, nil
	})
}

// ProfilesByAttributeValue returns a tenant's profiles whose attribute
// name equals the string value (or is a list that contains it), from the
// attribute's index when it is Indexed.
func (s *Service) ProfilesByAttributeValue(ctx context.Context, c *identity.Credential, tenant, name, value string, so Sort, attrs []string) ([]Profile, error) {
	so.HasStart, so.HasCount = false, false
	return s.list(ctx, c, tenant, attrs, so, true, func(tx *identity.ReadTxn, o *identity.Organization, tn *identity.Tenant) (search, error) {
		if err := readable(c, tn, name); err != nil {
			return search{}, err
		}
		m := func(u *identity.User, _ map[string]any) bool { return equalsOrContains(u.Attributes[name], value) }
		ids, ok, err := hintIDs(tx, o.ID, tn, "attributes."+name, []any{value})
		if err != nil || !ok {
			return search{all: true, match: m, needles: needlesFor([]any{value})}, err
		}
		return search{ids: ids, match: m}, nil
	})
}

// readable refuses lookups on an attribute the caller may not read, as the
// query endpoints do (a lookup by value would reveal it).
func readable(c *identity.Credential, tn *identity.Tenant, name string) error {
	if d, ok := tn.Definition(name); ok && !attrAllowed(d, c.Application, ActionReadAttribute) {
		return deniedAttr(ActionReadAttribute, name)
	}
	return nil
}

func equalsOrContains(v any, want string) bool {
	switch x := v.(type) {
	case string:
		return x == want
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok && s == want {
				return true
			}
		}
	case []string:
		for _, s := range x {
			if s == want {
				return true
			}
		}
	}
	return false
}

// ProfilesByIDs returns the profiles with the given ids that exist,
// checking MANAGE_PROFILES on each one's tenant.
func (s *Service) ProfilesByIDs(ctx context.Context, c *identity.Credential, ids []string, so Sort, attrs []string) ([]Profile, error) {
	out := []Profile{}
	if len(ids) > 1000 {
		return nil, badRequest("At most 1000 ids may be given")
	}
	err := s.dir(c).View(ctx, func(tx *identity.ReadTxn) error {
		var views []*view
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			v, err := loadProfile(tx, c, id)
			var ae *Error
			if errors.As(err, &ae) && ae.Code == CodeNoSuchProfile {
				continue
			}
			if err != nil {
				return err
			}
			views = append(views, v)
		}
		for _, v := range views {
			if err := sortable(c, v.tn, so.By); err != nil {
				return err
			}
		}
		if so.By != "" {
			query.SortFunc(views, func(v *view) map[string]any { return doc(v.u, tenantOf(v.o)) }, so.By, so.Asc)
		}
		for _, v := range views {
			p, err := render(c, v, attrs, true)
			if err != nil {
				return err
			}
			out = append(out, *p)
		}
		return nil
	})
	return out, err
}

// sortable refuses to sort on an attribute the caller may not read (the
// order would reveal its values), or on the whole attributes object when
// any attribute is unreadable.
func sortable(c *identity.Credential, tn *identity.Tenant, by string) error {
	if by == "attributes" {
		for i := range tn.AttributeDefinitions {
			if !attrAllowed(&tn.AttributeDefinitions[i], c.Application, ActionReadAttribute) {
				return apiErr(http.StatusBadRequest, CodeInvalidQuery, "Sorting on all attributes is not allowed")
			}
		}
		return nil
	}
	if rest, ok := strings.CutPrefix(by, "attributes."); ok {
		name, _, _ := strings.Cut(rest, ".")
		if d, ok := tn.Definition(name); ok && !attrAllowed(d, c.Application, ActionReadAttribute) {
			return apiErr(http.StatusBadRequest, CodeInvalidQuery, "Attribute %q is not allowed in query", name)
		}
	}
	return nil
}
