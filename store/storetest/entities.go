package storetest

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// runEntities runs the entity-level tests through the identity service.
func runEntities(t *testing.T, fresh func(t *testing.T) identity.Store) {}
