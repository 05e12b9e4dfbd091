package api_test

import (
	"net/http"
	"sync"
	"testing"
)

// Parallel creations of the same user: exactly one wins, the others are
// 409, never a 5xx.
func TestConcurrentDuplicateCreates(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	f.mustOrg(tok, "Misapret")
	const n = 16
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := f.do("POST", "/api/v2/org/misapret/users", tok, map[string]any{"email": "Same@Example.com"})
			codes[i] = rec.Code
		}()
	}
	wg.Wait()
	won := 0
	for _, c := range codes {
		switch c {
		case http.StatusCreated:
			won++
		case http.StatusConflict:
		default:
			t.Fatalf("status %d", c)
		}
	}
	if won != 1 {
		t.Fatalf("%d creations won, want 1: %v", won, codes)
	}
	l := f.json(200, "GET", "/api/v2/org/misapret/users", tok, nil)
	if l["total"].(float64) != 1 {
		t.Fatalf("users: %v", l["total"])
	}
}

// A refused update leaves the record as it was.
func TestRefusedUpdateChangesNothing(t *testing.T) {
	f := newFixture(t)
	tok := f.admin()
	f.mustOrg(tok, "Misapret")
	u := f.mustUser(tok, "misapret", "jane@example.com")
	path := "/api/v2/org/misapret/users/" + u["id"].(string)
	before := f.do("GET", path, tok, nil).Body.String()
	f.json(422, "PATCH", path, tok, map[string]any{"profile": map[string]any{"given_name": "Changed", "birthdate": "yesterday"}})
	f.json(422, "PATCH", path, tok, map[string]any{"given_name": "Changed", "metadata": map[string]any{"unknown": "x"}})
	if after := f.do("GET", path, tok, nil).Body.String(); after != before {
		t.Fatalf("a refused update changed the user:\n%s\n%s", before, after)
	}
	org := f.do("GET", "/api/v2/organizations/misapret", tok, nil).Body.String()
	f.json(422, "PUT", "/api/v2/organizations/misapret", tok, map[string]any{"name": "New name", "country_name": "XX"})
	if after := f.do("GET", "/api/v2/organizations/misapret", tok, nil).Body.String(); after != org {
		t.Fatalf("a refused update changed the organization")
	}
}
