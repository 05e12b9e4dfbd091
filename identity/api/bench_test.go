package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// discard is a minimal ResponseWriter, so the benchmarks measure the
// handler rather than a recorder.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(c int)           { d.code = c }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }

type benchEnv struct {
	f     *fixture
	tok   string
	user  string
	users int
}

var (
	benchSeq  atomic.Int64
	benchOnce sync.Once
	bench     benchEnv
)

func benchSetup(b *testing.B) *benchEnv {
	benchOnce.Do(func() {
		f := newFixture(b)
		tok := f.admin()
		f.mustOrg(tok, "Misapret")
		var id string
		for i := 0; i < 200; i++ {
			u := f.mustUser(tok, "misapret", fmt.Sprintf("user%d@example.com", i))
			id = u["id"].(string)
		}
		bench = benchEnv{f: f, tok: tok, user: id, users: 200}
	})
	return &bench
}

func serveBench(b *testing.B, e *benchEnv, r *http.Request, want int) {
	w := &discard{h: http.Header{}}
	e.f.h.ServeHTTP(w, r)
	if w.code != want {
		b.Fatalf("%s %s: %d", r.Method, r.URL, w.code)
	}
}

// BenchmarkStoreGetUser is the baseline: the bare service read of a user.
func BenchmarkStoreGetUser(b *testing.B) {
	e := benchSetup(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.f.svc.GetUser(ctx, "misapret", e.user); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetUser is an authenticated GET of a user through the handler
// (token verification from the tokens cache, API key check, user read,
// JSON). Each iteration also does the bare store read of the same user, so
// that both are measured under the same machine load: handler-ns/op and
// store-ns/op are their costs (ns/op is their sum), x-store-read the
// ratio.
func BenchmarkGetUser(b *testing.B) {
	e := benchSetup(b)
	ctx := context.Background()
	r := httptest.NewRequest("GET", "/api/v2/org/misapret/users/"+e.user, nil)
	r.Header.Set("Authorization", "Bearer "+e.tok)
	serveBench(b, e, r, 200) // warm the token cache
	var handler, store time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		serveBench(b, e, r, 200)
		t1 := time.Now()
		if _, err := e.f.svc.GetUser(ctx, "misapret", e.user); err != nil {
			b.Fatal(err)
		}
		handler += t1.Sub(t0)
		store += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(handler.Nanoseconds())/n, "handler-ns/op")
	b.ReportMetric(float64(store.Nanoseconds())/n, "store-ns/op")
	b.ReportMetric(float64(handler)/float64(store), "x-store-read")
}

// BenchmarkListUsers lists the first page (8 users) of 200.
func BenchmarkListUsers(b *testing.B) {
	e := benchSetup(b)
	r := httptest.NewRequest("GET", "/api/v2/org/misapret/users", nil)
	r.Header.Set("Authorization", "Bearer "+e.tok)
	b.ReportAllocs()
	for b.Loop() {
		serveBench(b, e, r, 200)
	}
}

// BenchmarkCreateUser creates users through the handler.
func BenchmarkCreateUser(b *testing.B) {
	e := benchSetup(b)
	b.ReportAllocs()
	for b.Loop() {
		body := fmt.Sprintf(`{"profile":{"email":"bench%d@example.com","given_name":"Jane","family_name":"Doe"}}`, benchSeq.Add(1))
		r := httptest.NewRequest("POST", "/api/v2/org/misapret/users", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+e.tok)
		serveBench(b, e, r, 201)
	}
}
