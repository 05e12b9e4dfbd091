package legacytest_test

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/legacytest"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// TestMemory runs the check on the in-memory store (the same store
// throughout: it has no file to reopen).
func TestMemory(t *testing.T) {
	st := memory.New()
	t.Cleanup(func() { st.Close() })
	legacytest.Run(t, st, func(t *testing.T, st identity.Store) identity.Store { return st })
}
