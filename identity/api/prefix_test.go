package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/api"
	"github.com/gatehouse-id/gatehouse/internal/testkit"
	"github.com/gatehouse-id/gatehouse/mail"
	"github.com/gatehouse-id/gatehouse/sso"
	"github.com/gatehouse-id/gatehouse/sso/ssoapi"
	"github.com/gatehouse-id/gatehouse/sso/ssooidc"
	"github.com/gatehouse-id/gatehouse/store/memory"
	"github.com/gatehouse-id/gatehouse/tokens"
	"github.com/gatehouse-id/gatehouse/tokens/provider"
)

var setupLinkRE = regexp.MustCompile(`https?://\S+/enterprise-setup/\S+`)

// TestCryptrAPIUnderPrefix serves the Cryptr API (with the provider's and
// SSO's route groups) under a path prefix, stripped by the host with
// http.StripPrefix: a management token issued at the prefixed token URL
// names the prefixed issuer and is accepted by the API, and every URL the
// API hands out (a headless magic link, an SSO connection's setup link in
// its invitation mail) lies under the prefix and reaches its face.
func TestCryptrAPIUnderPrefix(t *testing.T) {
	for _, prefix := range []string{"", "/auth", "/a/b"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			ctx := context.Background()
			base := "http://gh.test" + prefix
			var mu sync.Mutex
			var mails []mail.Message
			mailer := mail.MailerFunc(func(_ context.Context, m mail.Message) error {
				mu.Lock()
				defer mu.Unlock()
				mails = append(mails, m)
				return nil
			})
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			ids, err := identity.NewService(identity.Options{Store: memory.New(), AccountDomain: "acme-account", Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			ts, err := tokens.New(tokens.Options{Identity: ids, BaseURL: base})
			if err != nil {
				t.Fatal(err)
			}
			bridge := ssooidc.NewBridge(base)
			ssoSvc, err := sso.New(sso.Options{Identity: ids, BaseURL: base, Authorizations: bridge, Mailer: mailer, Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			prov, err := provider.New(provider.Options{Identity: ids, Tokens: ts, Logger: log, Mailer: mailer,
				SSORouter: ssooidc.Router(ssoSvc)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = prov.Close() })
			bridge.Bind(prov)
			h, err := api.New(api.Options{Service: ids, TokenService: ts, Logger: log,
				Routes: []api.RouteGroup{prov.APIRoutes(), ssoapi.Routes(ssoSvc)}})
			if err != nil {
				t.Fatal(err)
			}
			faces := http.NewServeMux()
			faces.Handle("/api/v2/", h)
			faces.Handle("/enterprise/", ssoSvc.Handler())
			for _, p := range prov.Patterns() {
				if p != "GET /{$}" && p != "GET /sandbox/{$}" {
					faces.Handle(p, prov)
				}
			}
			tr := &testkit.Transport{Host: "gh.test", Handler: testkit.MountAt(prefix, faces)}
			jar, _ := cookiejar.New(nil)
			c := tr.Client(jar)

			name, domains := "Acme Corp", []string{"acme.test"}
			org, err := ids.CreateOrganization(ctx, identity.OrganizationInput{Name: &name, AllowedEmailDomains: &domains})
			if err != nil {
				t.Fatal(err)
			}
			app, _, err := ids.CreateApplication(ctx, org.Domain, identity.Application{Name: "web",
				ApplicationType: identity.AppRegularWeb, AllowedRedirectURLs: []string{"https://app.test/cb"}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ids.CreateUser(ctx, org.Domain, identity.User{Email: "jane@acme.test", Enabled: true}, ""); err != nil {
				t.Fatal(err)
			}
			cred, secret, err := ids.CreateCredential(ctx, identity.Credential{Name: "backend", Permissions: []string{"*"}, ManagedOrgs: []string{org.Domain}}, "")
			if err != nil {
				t.Fatal(err)
			}

			call := func(method, u, bearer string, form url.Values) (int, map[string]any) {
				t.Helper()
				var body io.Reader
				if form != nil {
					body = strings.NewReader(form.Encode())
				}
				req, _ := http.NewRequest(method, u, body)
				if form != nil {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				if bearer != "" {
					req.Header.Set("Authorization", "Bearer "+bearer)
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				var out map[string]any
				if err := json.Unmarshal(b, &out); err != nil {
					t.Fatalf("%s %s: %d %s (not the API's JSON)", method, u, resp.StatusCode, b)
				}
				return resp.StatusCode, out
			}
			status, out := call("POST", base+"/api/v2/oauth/token", "", url.Values{"grant_type": {"client_credentials"},
				"client_id": {cred.ID}, "client_secret": {secret}})
			if status != http.StatusOK {
				t.Fatalf("management token: %d %v", status, out)
			}
			bearer := out["access_token"].(string)
			parts := strings.Split(bearer, ".")
			payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
			var claims map[string]any
			_ = json.Unmarshal(payload, &claims)
			if want := base + "/t/acme-account"; claims["iss"] != want {
				t.Errorf("management token iss %v, want %s", claims["iss"], want)
			}
			if status, out := call("GET", base+"/api/v2/organizations", bearer, nil); status != http.StatusOK {
				t.Fatalf("list organizations with the prefixed token: %d %v", status, out)
			}
			if status, _ := call("GET", base+"/api/v2/no-such-thing", bearer, nil); status != http.StatusNotFound {
				t.Errorf("unknown API path: %d, want the API's JSON 404", status)
			}

			// A headless magic link: under the prefix, and it opens the
			// provider's confirmation page there.
			status, out = call("POST", base+"/api/v2/magic-link-challenge", bearer, url.Values{"user_email": {"jane@acme.test"},
				"redirect_uri": {"https://app.test/cb"}, "org_domain": {org.Domain}, "client_id": {app.ClientID}})
			if status != http.StatusCreated && status != http.StatusOK {
				t.Fatalf("magic-link challenge: %d %v", status, out)
			}
			link, _ := out["magic_link"].(string)
			if !strings.HasPrefix(link, base+"/magic-link/verify/") {
				t.Fatalf("magic_link %q, not under %s", link, base)
			}
			resp, err := c.Get(link)
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("magic link: %d %s", resp.StatusCode, page)
			}
			for _, l := range testkit.Links(string(page)) {
				if under, _ := testkit.Under(base, l); !under {
					t.Errorf("the confirmation page links to %q", l)
				}
			}

			// An SSO connection's invitation: its setup link lies under the
			// prefix.
			status, out = call("POST", base+"/api/v2/sso-connections", bearer, url.Values{"organization_id": {org.ID},
				"application_id": {app.ClientID}, "sso_admin_email": {"it@acme.test"}, "send_email": {"true"}})
			if status != http.StatusCreated {
				t.Fatalf("create SSO connection: %d %v", status, out)
			}
			mu.Lock()
			var setup string
			for _, m := range mails {
				if l := setupLinkRE.FindString(m.Text); l != "" {
					setup = l
				}
			}
			mu.Unlock()
			if !strings.HasPrefix(setup, base+"/enterprise-setup/") {
				t.Errorf("setup link %q, not under %s", setup, base)
			}
			idp, _ := out["id"].(string)
			resp, err = c.Get(base + "/enterprise/" + idp + "/metadata")
			if err != nil {
				t.Fatal(err)
			}
			md, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(md), `Location="`+base+"/enterprise/"+idp+`/acs"`) {
				t.Errorf("SP metadata: %d %s", resp.StatusCode, md)
			}
		})
	}
}
