package gatehouse_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/go-chi/chi/v5"
	"github.com/labstack/echo/v4"

	"github.com/gatehouse-id/gatehouse"
	"github.com/gatehouse-id/gatehouse/internal/flowtest"
)

// routers mount Gatehouse's handler under /auth beside the host's own
// GET / in each router a host may run, the way its documentation shows.
var routers = []struct {
	name  string
	mount func(gh *gatehouse.Gatehouse) http.Handler
}{
	{"net/http ServeMux", hostMux("/auth")},
	{"chi", func(gh *gatehouse.Gatehouse) http.Handler {
		r := chi.NewRouter()
		r.Get("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "host home") })
		r.Mount("/auth", gh.Handler())
		return r
	}},
	{"echo", func(gh *gatehouse.Gatehouse) http.Handler {
		e := echo.New()
		e.HideBanner = true
		e.GET("/", func(c echo.Context) error { return c.String(200, "host home") })
		e.Any("/auth/*", echo.WrapHandler(gh.Handler()))
		return e
	}},
	{"gin", func(gh *gatehouse.Gatehouse) http.Handler {
		r := gin.New()
		r.GET("/", func(c *gin.Context) { c.String(200, "host home") })
		r.Any("/auth/*path", gin.WrapH(gh.Handler()))
		return r
	}},
}

// TestMountInRouters: in http.ServeMux, chi, echo and gin, Gatehouse
// mounted under /auth beside the host's GET / mounts without a panic,
// serves discovery, JWKS and the APIs under /auth, leaves the host's
// routes alone, and a user signs in through the hosted page under /auth
// (code flow with PKCE) with cookies scoped to /auth.
func TestMountInRouters(t *testing.T) {
	gin.SetMode(gin.TestMode)
	for _, rt := range routers {
		t.Run(rt.name, func(t *testing.T) {
			f := newFixture(t, "/auth", gatehouse.Options{}, rt.mount)
			issuer := f.base + "/t/acme"
			for _, tc := range []struct {
				path string
				want int
				has  string
			}{
				{"/", 200, "host home"},
				{"/auth/t/acme/.well-known/openid-configuration", 200, `"issuer":"` + issuer + `"`},
				{"/auth/t/acme/.well-known/jwks", 200, `"keys":[{`},
				{"/auth/api/v2/organizations", 401, `"error"`},
				{"/auth/api/1/tenant/count.json", 403, `"ACCESS_DENIED"`},
				{"/t/acme/.well-known/openid-configuration", 404, ""},
			} {
				if code, body := f.get(t, tc.path); code != tc.want || !strings.Contains(body, tc.has) {
					t.Errorf("GET %s = %d %.200s, want %d with %q", tc.path, code, body, tc.want, tc.has)
				}
			}
			res := flowtest.Run(t, flowtest.SignIn{Issuer: issuer, ClientID: f.clientID, RedirectURI: redirectURI,
				Email: userEmail, Password: userPassword})
			if !strings.HasPrefix(res.LoginAction, f.base+"/") {
				t.Errorf("the login form posts to %s, outside %s", res.LoginAction, f.base)
			}
			if len(res.Cookies) == 0 {
				t.Error("the sign-in set no cookie")
			}
			for _, c := range res.Cookies {
				if c.Path != "/auth" && !strings.HasPrefix(c.Path, "/auth/") {
					t.Errorf("cookie %s has path %q, outside /auth", c.Name, c.Path)
				}
			}
			if res.CallbackIssuer != issuer {
				t.Errorf("callback iss %q, want %q", res.CallbackIssuer, issuer)
			}
		})
	}
}
