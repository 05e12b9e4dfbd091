package postgres_test

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/storetest"
)

func TestConformance(t *testing.T) {
	need(t)
	storetest.Run(t, func(t *testing.T) identity.Store { return openFresh(t) })
}
