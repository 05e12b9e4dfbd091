package provider

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/api"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// sandboxSide is the sandbox directory of the test organization: a SPA, a
// machine application and a user with the production user's email, as an
// attacker holding a sandbox API key can create them.
type sandboxSide struct {
	svc       *identity.Service
	spa       *identity.Application
	machine   *identity.Application
	macSecret string
	user      *identity.User
}

func (e *env) sandbox(t *testing.T) *sandboxSide {
	t.Helper()
	ctx := context.Background()
	sb := &sandboxSide{}
	var err error
	if sb.svc, err = e.ids.ForEnvironment(identity.Sandbox); err != nil {
		t.Fatal(err)
	}
	if sb.spa, _, err = sb.svc.CreateApplication(ctx, e.org.Domain, identity.Application{Name: "sandbox spa",
		ApplicationType: identity.AppReact, AllowedRedirectURLs: []string{spaRedirect},
		AllowedOriginsCORS: []string{spaOrigin}, DefaultOriginCORS: spaOrigin}); err != nil {
		t.Fatal(err)
	}
	if sb.machine, sb.macSecret, err = sb.svc.CreateApplication(ctx, e.org.Domain, identity.Application{Name: "sandbox cron",
		ApplicationType: identity.AppMachine}); err != nil {
		t.Fatal(err)
	}
	if sb.user, err = sb.svc.CreateUser(ctx, e.org.Domain, identity.User{Email: userEmail, Enabled: true}, ""); err != nil {
		t.Fatal(err)
	}
	return sb
}

func (e *env) sandboxIssuer() string { return e.base + "/sandbox/t/" + e.org.Domain }

// authorizeURL is a PKCE authorization request of clientID at issuer.
func authorizeURL(issuer, clientID, challenge string) string {
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {spaRedirect},
		"scope": {"openid email profile"}, "state": {"st-1"}, "nonce": {"n-1"}, "code_challenge": {challenge},
		"code_challenge_method": {"S256"}}
	return issuer + "/authorize?" + q.Encode()
}

// signInAt runs a magic-link sign-in of clientID at issuer and returns the
// token answer of issuer's token endpoint.
func (e *env) signInAt(t *testing.T, issuer, clientID string) map[string]any {
	t.Helper()
	v, ch := pkce("s")
	loc := e.magicLogin(e.newBrowser(), authorizeURL(issuer, clientID, ch), userEmail)
	if got := loc.Query().Get("iss"); got != issuer {
		t.Fatalf("callback iss %q, want %q", got, issuer)
	}
	r := e.postForm(http.DefaultClient, issuer+"/oauth/token", url.Values{"grant_type": {"authorization_code"},
		"code": {loc.Query().Get("code")}, "code_verifier": {v}, "client_id": {clientID}, "redirect_uri": {spaRedirect}})
	if r.status != http.StatusOK {
		t.Fatalf("token at %s: %d %s", issuer, r.status, r.body)
	}
	return r.json(t)
}

// TestGoOIDCRefusesOtherEnvironment is the regression test of issue 10
// breach 3: a sandbox user's ID token (same email as a production user) is
// refused by go-oidc configured from the production discovery document,
// and a production ID token by go-oidc configured from the sandbox's.
func TestGoOIDCRefusesOtherEnvironment(t *testing.T) {
	e := newEnv(t)
	sb := e.sandbox(t)
	ctx := context.Background()
	prodP, err := oidc.NewProvider(ctx, e.issuer())
	if err != nil {
		t.Fatal(err)
	}
	prodV := prodP.Verifier(&oidc.Config{ClientID: e.spa.ClientID})
	// A sandbox ID token minted for the production client's id: only the
	// environment differs.
	minted, err := e.tok.IssueIDToken(ctx, &tokens.TokenRequest{Env: identity.Sandbox, OrgDomain: e.org.Domain,
		User: sb.user, App: e.spa, Scopes: []string{"openid", "email"}, Audience: []string{e.spa.ClientID}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := prodV.Verify(ctx, minted.Value); err == nil {
		t.Fatal("go-oidc (production discovery) accepted a sandbox ID token")
	}
	sbP, err := oidc.NewProvider(ctx, e.sandboxIssuer())
	if err != nil {
		t.Fatalf("sandbox discovery: %v", err)
	}
	// Tokens obtained through each environment's own sign-in.
	sbTok := e.signInAt(t, e.sandboxIssuer(), sb.spa.ClientID)
	prTok := e.signInAt(t, e.issuer(), e.spa.ClientID)
	for _, tc := range []struct {
		name     string
		p        *oidc.Provider
		clientID string
		token    any
		ok       bool
	}{
		{"sandbox token, production discovery", prodP, sb.spa.ClientID, sbTok["id_token"], false},
		{"sandbox access token, production discovery", prodP, "", sbTok["access_token"], false},
		{"production token, sandbox discovery", sbP, e.spa.ClientID, prTok["id_token"], false},
		{"production access token, sandbox discovery", sbP, "", prTok["access_token"], false},
		{"sandbox token, sandbox discovery", sbP, sb.spa.ClientID, sbTok["id_token"], true},
		{"production token, production discovery", prodP, e.spa.ClientID, prTok["id_token"], true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &oidc.Config{ClientID: tc.clientID, SkipClientIDCheck: tc.clientID == ""}
			_, err := tc.p.Verifier(cfg).Verify(ctx, tc.token.(string))
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && err == nil {
				t.Fatal("accepted")
			}
		})
	}
	// The provider's own endpoints agree: a sandbox access token is not
	// a bearer at the production userinfo endpoint, and the reverse.
	for _, tc := range []struct{ issuer, token string }{
		{e.issuer(), sbTok["access_token"].(string)}, {e.sandboxIssuer(), prTok["access_token"].(string)},
	} {
		if r := e.get(http.DefaultClient, tc.issuer+"/userinfo", "Authorization", "Bearer "+tc.token); r.status != http.StatusUnauthorized {
			t.Errorf("userinfo at %s with the other environment's token: %d %s", tc.issuer, r.status, r.body)
		}
	}
	// And the sandbox user is the one the sandbox token names.
	if ui, err := sbP.UserInfo(ctx, oidcTokenSource(sbTok["access_token"].(string))); err != nil || ui.Subject != sb.user.ID {
		t.Fatalf("sandbox userinfo %+v %v", ui, err)
	}
}

// TestSandboxDiscoveryDocument: the sandbox issuer's discovery document is
// self-consistent (every endpoint under /sandbox/t/{org}), and each
// issuer's JWKS publishes only its environment's keys.
func TestSandboxDiscoveryDocument(t *testing.T) {
	e := newEnv(t)
	e.sandbox(t)
	ctx := context.Background()
	sbKid := func() string {
		tok, err := e.tok.IssueAccessToken(ctx, &tokens.TokenRequest{Env: identity.Sandbox, OrgDomain: e.org.Domain,
			User: e.user, App: e.spa})
		if err != nil {
			t.Fatal(err)
		}
		return tok.KeyID
	}()
	prKid := func() string {
		tok, err := e.tok.IssueAccessToken(ctx, &tokens.TokenRequest{Env: identity.Production, OrgDomain: e.org.Domain,
			User: e.user, App: e.spa})
		if err != nil {
			t.Fatal(err)
		}
		return tok.KeyID
	}()
	kids := func(u string) map[string]bool {
		r := e.get(http.DefaultClient, u)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", u, r.status, r.body)
		}
		var doc struct {
			Keys []struct {
				Kid string `json:"kid"`
			} `json:"keys"`
		}
		if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, k := range doc.Keys {
			out[k.Kid] = true
		}
		return out
	}
	for _, path := range []string{"/.well-known", "/.well-known/jwks"} {
		if ks := kids(e.issuer() + path); !ks[prKid] || ks[sbKid] {
			t.Errorf("production %s: %v (production kid %s, sandbox kid %s)", path, ks, prKid, sbKid)
		}
	}
	r := e.get(http.DefaultClient, e.sandboxIssuer()+"/.well-known/openid-configuration")
	if r.status != http.StatusOK {
		t.Fatalf("sandbox discovery: %d %s", r.status, r.body)
	}
	doc := r.json(t)
	iss := e.sandboxIssuer()
	if doc["issuer"] != iss {
		t.Fatalf("issuer %v, want %s", doc["issuer"], iss)
	}
	for k, v := range doc {
		if s, ok := v.(string); ok && strings.HasSuffix(k, "_endpoint") || k == "jwks_uri" {
			if s, _ = v.(string); !strings.HasPrefix(s, iss+"/") {
				t.Errorf("%s = %v, not under %s", k, v, iss)
			}
		}
	}
	if ks := kids(doc["jwks_uri"].(string)); !ks[sbKid] || ks[prKid] {
		t.Errorf("sandbox JWKS: %v (production kid %s, sandbox kid %s)", ks, prKid, sbKid)
	}
	// The production document is unchanged.
	pd := e.get(http.DefaultClient, e.issuer()+"/.well-known/openid-configuration").json(t)
	if pd["issuer"] != e.issuer() || pd["token_endpoint"] != e.issuer()+"/oauth/token" {
		t.Fatalf("production discovery: %v", pd)
	}
}

var reNonce = regexp.MustCompile(`nonce-[A-Za-z0-9+/=]+|nonce="[^"]*"`)

// TestOtherEnvironmentClientIsUnknown: at each issuer, an application of
// the other environment is answered exactly as an unknown client (an
// error page, never a redirect; invalid_client at the token endpoints).
func TestOtherEnvironmentClientIsUnknown(t *testing.T) {
	e := newEnv(t)
	sb := e.sandbox(t)
	_, ch := pkce("u")
	page := func(u string) (int, string) {
		r := e.get(e.newBrowser(), u)
		if loc := r.header.Get("Location"); loc != "" {
			t.Fatalf("%s redirected to %s", u, loc)
		}
		return r.status, reNonce.ReplaceAllString(r.body, "")
	}
	for _, tc := range []struct {
		name, issuer, clientID string
	}{
		{"sandbox client at production", e.issuer(), sb.spa.ClientID},
		{"production client at sandbox", e.sandboxIssuer(), e.spa.ClientID},
	} {
		t.Run(tc.name+" authorize", func(t *testing.T) {
			st, body := page(authorizeURL(tc.issuer, tc.clientID, ch))
			ust, ubody := page(authorizeURL(tc.issuer, "no-such-client", ch))
			if st != ust || body != ubody || st != http.StatusBadRequest {
				t.Fatalf("answer %d differs from an unknown client's %d:\n%s", st, ust, body)
			}
		})
	}
	// Cryptr's era-1 page, its gateway and the era-3 token URL follow the
	// same tree: at the root, production only.
	for _, u := range []string{
		e.base + "/t/" + e.org.Domain + "/en/st-1/signin/new?" + url.Values{"client_id": {sb.spa.ClientID},
			"redirect_uri": {spaRedirect}, "code_challenge": {ch}, "code_challenge_method": {"S256"}}.Encode(),
		e.base + "/?" + url.Values{"organization": {e.org.Domain}, "client_id": {sb.spa.ClientID},
			"redirect_uri": {spaRedirect}, "code_challenge": {ch}, "code_challenge_method": {"S256"}}.Encode(),
	} {
		if st, _ := page(u); st != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", u, st)
		}
	}
	for _, tc := range []struct {
		name, url, id, secret string
	}{
		{"sandbox machine at production", e.issuer() + "/oauth/token", sb.machine.ClientID, sb.macSecret},
		{"sandbox machine at era-3 root", e.base + "/oauth/token", sb.machine.ClientID, sb.macSecret},
		{"production machine at sandbox", e.sandboxIssuer() + "/oauth/token", e.machine.ClientID, e.macSecret},
		{"production machine at sandbox era-3", e.base + "/sandbox/oauth/token", e.machine.ClientID, e.macSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.postForm(http.DefaultClient, tc.url, url.Values{"grant_type": {"client_credentials"},
				"client_id": {tc.id}, "client_secret": {tc.secret}})
			oauthErr(t, r, http.StatusUnauthorized, "invalid_client")
			u := e.postForm(http.DefaultClient, tc.url, url.Values{"grant_type": {"client_credentials"},
				"client_id": {"no-such-client"}, "client_secret": {tc.secret}})
			if u.status != r.status || u.body != r.body {
				t.Fatalf("answer differs from an unknown client's: %s vs %s", r.body, u.body)
			}
		})
	}
	// Each machine application works at its own environment's issuer.
	for _, tc := range []struct{ issuer, id, secret string }{
		{e.issuer(), e.machine.ClientID, e.macSecret}, {e.sandboxIssuer(), sb.machine.ClientID, sb.macSecret},
	} {
		r := e.postForm(http.DefaultClient, tc.issuer+"/oauth/token", url.Values{"grant_type": {"client_credentials"},
			"client_id": {tc.id}, "client_secret": {tc.secret}})
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", tc.issuer, r.status, r.body)
		}
		c := decodeJWT(t, r.json(t)["access_token"].(string))
		if c["iss"] != tc.issuer {
			t.Fatalf("iss %v, want %s", c["iss"], tc.issuer)
		}
	}
}

// TestSSOSessionFollowsEnvironment: a browser session opened by an
// IdP-initiated sandbox sign-in (OpenSession) serves the sandbox issuer
// only, and its tokens name the sandbox issuer; a pending request of one
// environment cannot be completed with a sign-in of the other.
func TestSSOSessionFollowsEnvironment(t *testing.T) {
	e := newEnv(t)
	sb := e.sandbox(t)
	rec := httptest.NewRecorder()
	if err := e.prov.OpenSession(rec, httptest.NewRequest(http.MethodGet, e.base+"/x", nil), identity.Sandbox,
		e.org.Domain, Authenticated{User: sb.user, IdentityProvider: "okta", SSOConnectionID: "acme_sb"}); err != nil {
		t.Fatal(err)
	}
	c := e.newBrowser()
	u, _ := url.Parse(e.base)
	c.Jar.SetCookies(u, rec.Result().Cookies())
	v, ch := pkce("o")
	// Production: the sandbox session does not count.
	r := e.get(c, authorizeURL(e.issuer(), e.spa.ClientID, ch)+"&prompt=none")
	if loc := r.location(t); loc.Query().Get("error") != "login_required" {
		t.Fatalf("production prompt=none: %s", loc)
	}
	// Sandbox: it does.
	r = e.get(c, authorizeURL(e.sandboxIssuer(), sb.spa.ClientID, ch)+"&prompt=none")
	loc := r.location(t)
	if loc.Query().Get("code") == "" || loc.Query().Get("iss") != e.sandboxIssuer() {
		t.Fatalf("sandbox prompt=none: %s", loc)
	}
	tr := e.postForm(http.DefaultClient, e.sandboxIssuer()+"/oauth/token", url.Values{"grant_type": {"authorization_code"},
		"code": {loc.Query().Get("code")}, "code_verifier": {v}, "client_id": {sb.spa.ClientID}, "redirect_uri": {spaRedirect}})
	if tr.status != http.StatusOK {
		t.Fatalf("token: %d %s", tr.status, tr.body)
	}
	if cl := decodeJWT(t, tr.json(t)["id_token"].(string)); cl["iss"] != e.sandboxIssuer() || cl["sci"] != "acme_sb" {
		t.Fatalf("claims %v", cl)
	}
}

// decodeJWT returns the unverified claims of a compact JWS.
func decodeJWT(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	var m map[string]any
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(b, &m) != nil {
		t.Fatalf("bad payload: %v", err)
	}
	return m
}

// TestPendingStateStaysInItsTree: a pending request's login form, a magic
// link and a headless code of the sandbox are unknown in the production
// tree (and stay usable in their own), and SSO cannot complete a request
// of another environment.
func TestPendingStateStaysInItsTree(t *testing.T) {
	e := newEnv(t)
	sb := e.sandbox(t)
	ctx := context.Background()
	web, _, err := sb.svc.CreateApplication(ctx, e.org.Domain, identity.Application{Name: "sandbox web",
		ApplicationType: identity.AppRegularWeb, AllowedRedirectURLs: []string{webRedirect}})
	if err != nil {
		t.Fatal(err)
	}
	_, ch := pkce("p")

	t.Run("login form", func(t *testing.T) {
		c := e.newBrowser()
		page := e.get(c, authorizeURL(e.sandboxIssuer(), sb.spa.ClientID, ch))
		action, csrf, request := form(t, page.body)
		if want := "/sandbox/t/" + e.org.Domain + "/login"; action != want {
			t.Fatalf("form action %q, want %q", action, want)
		}
		for _, path := range []string{"/t/" + e.org.Domain + "/login", "/login"} {
			r := e.postForm(c, e.base+path, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {"magic"},
				"email": {userEmail}})
			if r.status != http.StatusBadRequest || e.mailCount() != 0 {
				t.Fatalf("%s: %d (mails %d)", path, r.status, e.mailCount())
			}
		}
	})

	t.Run("SSO resume", func(t *testing.T) {
		c := e.newBrowser()
		page := e.get(c, authorizeURL(e.issuer(), e.spa.ClientID, ch))
		_, _, request := form(t, page.body)
		rec := httptest.NewRecorder()
		e.prov.Resume(rec, httptest.NewRequest(http.MethodGet, e.base+"/enterprise/x/acs", nil), request,
			Authenticated{Env: identity.Sandbox, User: sb.user, SSOConnectionID: "acme_sb"})
		if rec.Code != http.StatusBadRequest || rec.Header().Get("Location") != "" {
			t.Fatalf("a sandbox sign-in completed a production request: %d %s", rec.Code, rec.Header().Get("Location"))
		}
	})

	t.Run("headless magic link", func(t *testing.T) {
		cred, _, err := sb.svc.CreateCredential(ctx, identity.Credential{Name: "sandbox backend",
			Permissions: []string{"*"}, ManagedOrgs: []string{"*"}, Environment: identity.Sandbox}, "")
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := e.tok.IssueAPIKeyToken(ctx, cred, "")
		if err != nil {
			t.Fatal(err)
		}
		bearer := "Bearer " + tok
		link := e.headlessChallenge(t, bearer, web.ClientID)
		if !strings.HasPrefix(link, e.base+"/sandbox/magic-link/verify/") {
			t.Fatalf("sandbox magic link %s", link)
		}
		prodLink := strings.Replace(link, "/sandbox/", "/", 1)
		c := e.newBrowser()
		if r := e.get(c, prodLink); r.status != http.StatusBadRequest {
			t.Fatalf("sandbox link at production: %d", r.status)
		}
		confirm := e.get(c, link)
		_, csrf, _ := form(t, confirm.body)
		if r := e.postForm(c, prodLink, url.Values{"csrf_token": {csrf}}); r.status != http.StatusBadRequest {
			t.Fatalf("sandbox link consumed at production: %d", r.status)
		}
		done := e.postForm(c, link, url.Values{"csrf_token": {csrf}})
		if done.status != http.StatusSeeOther {
			t.Fatalf("the link no longer works in the sandbox: %d %s", done.status, done.body)
		}
		code := done.location(t).Query().Get("code")
		oauthErr(t, e.postForm(http.DefaultClient, e.base+"/oauth/token", url.Values{"grant_type": {"authorization_code"},
			"code": {code}}, "Authorization", bearer), http.StatusUnauthorized, errInvalidClient)
		ok := e.postForm(http.DefaultClient, e.base+"/sandbox/oauth/token", url.Values{"grant_type": {"authorization_code"},
			"code": {code}}, "Authorization", bearer)
		if ok.status != http.StatusOK {
			t.Fatalf("sandbox exchange: %d %s", ok.status, ok.body)
		}
		if cl := decodeJWT(t, ok.json(t)["access_token"].(string)); cl["iss"] != e.sandboxIssuer() {
			t.Fatalf("iss %v", cl["iss"])
		}
	})
}

// headlessChallenge creates a magic-link challenge through the management
// API with bearer and returns its link.
func (e *env) headlessChallenge(t *testing.T, bearer, clientID string) string {
	t.Helper()
	h, err := api.New(api.Options{Service: e.ids, Tokens: api.Tokens(e.tok), Routes: []api.RouteGroup{e.prov.APIRoutes()},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	mgmt := httptest.NewServer(h)
	defer mgmt.Close()
	r := e.postJSON(http.DefaultClient, mgmt.URL+"/api/v2/magic-link-challenge", map[string]any{"user_email": userEmail,
		"redirect_uri": webRedirect, "client_id": clientID}, "Authorization", bearer)
	if r.status != http.StatusCreated {
		t.Fatalf("challenge: %d %s", r.status, r.body)
	}
	return r.json(t)["magic_link"].(string)
}
