package testkit_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/testkit"
)

// Writers on many goroutines lose nothing (and race with no reader: -race).
func TestBufferConcurrentWrites(t *testing.T) {
	var b testkit.Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				_, _ = b.Write([]byte("x"))
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if got := b.String(); got != strings.Repeat("x", 800) {
		t.Fatalf("%d bytes written, want 800", len(got))
	}
}
