package profile

import (
	"sync"

	"github.com/gatehouse-id/gatehouse/identity"
)

// idCache remembers immutable id mappings (an organization id's domain, a
// user id's Crafter object id) so hot paths such as ticket reads decode
// one record instead of three. Entries never go stale: the mapped values
// cannot change for a given id (a recreated organization or user gets a
// new id). The cache is bounded: it is emptied when full.
type idCache struct {
	mu  sync.RWMutex
	m   map[string]string
	max int
}

func newIDCache(max int) *idCache { return &idCache{m: make(map[string]string), max: max} }

func (c *idCache) get(k string) (string, bool) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	return v, ok
}

func (c *idCache) put(k, v string) {
	c.mu.Lock()
	if len(c.m) >= c.max {
		c.m = make(map[string]string)
	}
	c.m[k] = v
	c.mu.Unlock()
}

// orgDomain returns the tenant name (TenantName of the domain) of the
// organization orgID.
func (s *Service) orgDomain(tx *identity.ReadTxn, orgID string) (string, error) {
	key := string(tx.Env()) + "/o/" + orgID
	if d, ok := s.ids.get(key); ok {
		return d, nil
	}
	o, err := tx.OrgByID(orgID)
	if err != nil {
		return "", err
	}
	name := tenantOf(o)
	s.ids.put(key, name)
	return name, nil
}

// userObjectID returns the Crafter id of user userID ("" if it is gone).
func (s *Service) userObjectID(tx *identity.ReadTxn, userID string) string {
	key := string(tx.Env()) + "/u/" + userID
	if d, ok := s.ids.get(key); ok {
		return d
	}
	u, err := tx.User(userID)
	if err != nil {
		return ""
	}
	s.ids.put(key, u.ObjectID)
	return u.ObjectID
}
