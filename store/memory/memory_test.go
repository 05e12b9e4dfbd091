package memory_test

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/memory"
	"github.com/gatehouse-id/gatehouse/store/storetest"
)

func open[T testing.TB](T) identity.Store { return memory.New() }

func TestConformance(t *testing.T) { storetest.Run(t, open[*testing.T]) }

func BenchmarkStore(b *testing.B) { storetest.Bench(b, open[*testing.B]) }
