package provider

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkLoginPage measures the hosted login page: its rendering alone
// (layout, stylesheet, headers) and the whole authorization request over
// loopback HTTP that stores the pending request and answers the page.
func BenchmarkLoginPage(b *testing.B) {
	e := newEnv(b, func(o *Options) { o.AuthorizeRequestLimit = 1 << 30 })
	b.Run("render", func(b *testing.B) {
		r := httptest.NewRequest(http.MethodGet, "/t/acme/authorize", nil)
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			e.prov.render(w, r, "login", http.StatusOK, &pageData{Locale: "en", Title: "Sign in", OrgName: "Acme Corp",
				CSRF: "c", Request: "r", Action: "/t/acme/login", Email: "jane@acme.test", Password: true})
			if w.Code != http.StatusOK {
				b.Fatal(w.Code)
			}
		}
	})
	b.Run("loopback_authorize", func(b *testing.B) {
		_, ch := pkce("a")
		u := e.spaAuthorize(ch, nil)
		c := &http.Client{}
		b.ReportAllocs()
		for b.Loop() {
			res, err := c.Get(u)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Fatal(res.StatusCode)
			}
		}
	})
}
