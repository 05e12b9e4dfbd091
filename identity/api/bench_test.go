package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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
// (token verification from the tokens cache, credential read, user and
// directory read, JSON). It reports its cost as a multiple of the bare
// store read measured in the same run.
func BenchmarkGetUser(b *testing.B) {
	e := benchSetup(b)
	base := storeReadNs(b, e)
	r := httptest.NewRequest("GET", "/api/v2/org/misapret/users/"+e.user, nil)
	r.Header.Set("Authorization", "Bearer "+e.tok)
	serveBench(b, e, r, 200) // warm the token cache
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		serveBench(b, e, r, 200)
	}
	b.StopTimer()
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	after := storeReadNs(b, e)
	base = (base + after) / 2
	b.ReportMetric(base, "store-ns/op")
	b.ReportMetric(perOp/base, "x-store-read")
}

// storeReadNs times the bare store read of a user (the baseline), in the
// same run as the benchmark that reports against it.
func storeReadNs(b *testing.B, e *benchEnv) float64 {
	ctx := context.Background()
	const n = 5000
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := e.f.svc.GetUser(ctx, "misapret", e.user); err != nil {
			b.Fatal(err)
		}
	}
	return float64(time.Since(start).Nanoseconds()) / n
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
	i := 0
	for b.Loop() {
		i++
		body := fmt.Sprintf(`{"profile":{"email":"bench%d-%d@example.com","given_name":"Jane","family_name":"Doe"}}`, b.N, i)
		r := httptest.NewRequest("POST", "/api/v2/org/misapret/users", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+e.tok)
		serveBench(b, e, r, 201)
	}
}
