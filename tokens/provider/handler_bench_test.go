package provider

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// BenchmarkTokenHandler runs client_credentials issuance through the
// provider's handler in process, one request at a time, on the in-memory
// store (no network, no disk): the endpoint's own CPU and allocations
// beside its signature (allocs/op is the figure to watch).
//
//	go test -run '^$' -bench BenchmarkTokenHandler -benchmem ./tokens/provider/
func BenchmarkTokenHandler(b *testing.B) {
	e := newGrantsEnv(b, false)
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			body := url.Values{"grant_type": {"client_credentials"}}.Encode()
			cred := e.machine[alg]
			serve := func() {
				r := httptest.NewRequest(http.MethodPost, e.tokenURL, strings.NewReader(body))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.SetBasicAuth(url.QueryEscape(cred[0]), url.QueryEscape(cred[1]))
				w := httptest.NewRecorder()
				e.prov.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("token: %d %s", w.Code, w.Body)
				}
			}
			serve()
			b.ReportAllocs()
			for b.Loop() {
				serve()
			}
		})
	}
}
