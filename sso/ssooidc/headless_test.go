package ssooidc_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/tokens/provider"
)

// apiKey creates an API key of svc's environment and returns the Bearer
// header of a management token obtained for it at POST /api/v2/oauth/token.
func (s *stack) apiKey(svc *identity.Service, perms, orgs []string) string {
	s.t.Helper()
	cred, secret, err := svc.CreateCredential(s.t.Context(), identity.Credential{Name: "backend", Permissions: perms,
		ManagedOrgs: orgs}, "")
	if err != nil {
		s.t.Fatal(err)
	}
	status, out := s.call("", s.base+"/api/v2/oauth/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {cred.ID}, "client_secret": {secret}})
	if status != http.StatusOK {
		s.t.Fatalf("management token: %d %v", status, out)
	}
	return "Bearer " + out["access_token"].(string)
}

// call posts form with the Authorization header bearer (if any) and
// returns the status and the JSON answer.
func (s *stack) call(bearer, u string, form url.Values) (int, map[string]any) {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if bearer != "" {
		req.Header.Set("Authorization", bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		s.t.Fatalf("POST %s: %d %s", u, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

// challenge creates a headless SSO challenge and returns its answer.
func (s *stack) challenge(bearer, kind string, form url.Values) map[string]any {
	s.t.Helper()
	status, out := s.call(bearer, s.base+"/api/v2/sso-"+kind+"-challenges", form)
	if status != http.StatusCreated {
		s.t.Fatalf("%s challenge: %d %v", kind, status, out)
	}
	return out
}

// signInThrough opens a challenge's authorization URL in a new browser,
// signs in at the IdP and returns the code the application receives.
func (s *stack) signInThrough(authorizationURL string) string {
	s.t.Helper()
	c := s.client()
	resp, page := c.get(authorizationURL)
	if !strings.HasPrefix(resp.Request.URL.String(), s.idpURL+"/sso") || !strings.Contains(page, `name="password"`) {
		s.t.Fatalf("expected the IdP login form, got %s: %s", resp.Request.URL, page)
	}
	resp, page = c.signInAtIdP(page)
	final := resp.Request.URL
	if !strings.HasPrefix(final.String(), s.redirect) || final.Query().Get("code") == "" {
		s.t.Fatalf("landed on %s: %s", final, page)
	}
	return final.Query().Get("code")
}

func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestHeadlessSSOChallenge runs Cryptr's headless SSO flow end to end
// against a real SAML IdP: the backend creates a challenge with its API
// key, the user opens the authorization URL, signs in at the IdP, the ACS
// sends the browser to redirect_uri with a code, and the backend exchanges
// the code with the management token for the user's tokens, once.
func TestHeadlessSSOChallenge(t *testing.T) {
	s := newStack(t)
	s.uploadMetadata()
	bearer := s.apiKey(s.id, []string{"create:users"}, []string{s.org.Domain})

	ch := s.challenge(bearer, "saml", url.Values{"redirect_uri": {s.redirect}, "org_domain": {s.org.Domain}})
	for _, k := range []string{"api_key_id", "authorization_url", "database", "expired_at", "redirect_uri", "request_id", "saml_idp_id"} {
		if _, ok := ch[k]; !ok {
			t.Fatalf("challenge lacks %s: %v", k, ch)
		}
	}
	au, _ := ch["authorization_url"].(string)
	if ch["saml_idp_id"] != s.idp || ch["database"] != "default" || ch["redirect_uri"] != s.redirect ||
		!strings.HasPrefix(au, s.base+"/org/"+s.org.Domain+"/oauth2/saml?request_id=") {
		t.Fatalf("challenge %v", ch)
	}
	code := s.signInThrough(au)

	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}}
	status, out := s.call(bearer, s.base+"/api/v2/oauth/token", form)
	if status != http.StatusOK {
		t.Fatalf("exchange: %d %v", status, out)
	}
	if scope, ok := out["scope"].([]any); !ok || len(scope) == 0 || out["token_type"] != "Bearer" || out["refresh_token"] == nil {
		t.Fatalf("answer %v", out)
	}
	claims := jwtClaims(t, out["access_token"].(string))
	if claims["sci"] != s.idp || claims["tnt"] != s.org.Domain || claims["email"] != userEmail || claims["iss"] != s.issuer() {
		t.Fatalf("access claims %v", claims)
	}
	if id := jwtClaims(t, out["id_token"].(string)); id["email"] != userEmail {
		t.Fatalf("id claims %v", id)
	}
	// The code is single use, at either token URL.
	if status, out := s.call(bearer, s.base+"/api/v2/oauth/token", form); status != http.StatusBadRequest || out["error"] != "invalid_grant" {
		t.Fatalf("second exchange: %d %v", status, out)
	}
	if status, out := s.call(bearer, s.base+"/oauth/token", form); status != http.StatusBadRequest || out["error"] != "invalid_grant" {
		t.Fatalf("second exchange at /oauth/token: %d %v", status, out)
	}

	// By email, through the OAuth-named endpoint, exchanged at /oauth/token
	// with only the code, as the Kotlin SDK's validateSsoChallenge does.
	ch = s.challenge(bearer, "oauth", url.Values{"redirect_uri": {s.redirect}, "user_email": {userEmail}})
	if ch["saml_idp_id"] != s.idp {
		t.Fatalf("challenge %v", ch)
	}
	code = s.signInThrough(ch["authorization_url"].(string))
	status, out = s.call(bearer, s.base+"/oauth/token", url.Values{"code": {code}})
	if status != http.StatusOK || out["access_token"] == nil {
		t.Fatalf("exchange at /oauth/token: %d %v", status, out)
	}
	if _, ok := out["scope"].([]any); !ok {
		t.Fatalf("scope %T", out["scope"])
	}
	// The challenge itself is single use.
	c := s.client()
	if resp, _ := c.get(ch["authorization_url"].(string)); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a used challenge started again: %d %s", resp.StatusCode, resp.Request.URL)
	}
}

// TestHeadlessSSOChallengeIsolation: a challenge and its code belong to
// the API key's organizations and environment. A key of another
// organization or of the other environment is answered 404 (challenge) or
// invalid_grant (code) exactly as for an unknown organization or code, a
// key without create:users is refused, and none of these attempts uses
// the code up.
func TestHeadlessSSOChallengeIsolation(t *testing.T) {
	s := newStack(t)
	s.uploadMetadata()
	ctx := t.Context()
	name, domains := "Other Org", []string{"other.test"}
	other, err := s.id.CreateOrganization(ctx, identity.OrganizationInput{Name: &name, AllowedEmailDomains: &domains})
	if err != nil {
		t.Fatal(err)
	}
	sandbox, err := s.id.ForEnvironment(identity.Sandbox)
	if err != nil {
		t.Fatal(err)
	}
	owner := s.apiKey(s.id, []string{"create:users"}, []string{s.org.Domain})
	foreign := s.apiKey(s.id, []string{"*"}, []string{other.Domain})
	sandboxKey := s.apiKey(sandbox, []string{"*"}, []string{"*"})
	limited := s.apiKey(s.id, []string{"read:users", "read_many:users"}, []string{"*"})

	attempts := []url.Values{
		{"redirect_uri": {s.redirect}, "org_domain": {s.org.Domain}},
		{"redirect_uri": {s.redirect}, "user_email": {userEmail}},
		{"redirect_uri": {s.redirect}, "idp_id": {s.idp}},
	}
	unknown := url.Values{"redirect_uri": {s.redirect}, "org_domain": {"no-such-org"}}
	st, notFound := s.call(owner, s.base+"/api/v2/sso-saml-challenges", unknown)
	if st != http.StatusNotFound {
		t.Fatalf("unknown organization: %d %v", st, notFound)
	}
	for _, tc := range []struct {
		name, bearer string
		status       int
	}{
		{"other organization", foreign, http.StatusNotFound},
		{"other environment", sandboxKey, http.StatusNotFound},
		{"limited key", limited, http.StatusForbidden},
	} {
		for _, form := range attempts {
			status, out := s.call(tc.bearer, s.base+"/api/v2/sso-saml-challenges", form)
			if status != tc.status {
				t.Errorf("%s %v: %d %v", tc.name, form, status, out)
			}
			if status == http.StatusNotFound && out["error"] != notFound["error"] {
				t.Errorf("%s: %v differs from an unknown organization's %v", tc.name, out, notFound)
			}
		}
	}

	ch := s.challenge(owner, "saml", url.Values{"redirect_uri": {s.redirect}, "org_domain": {s.org.Domain}})
	au := ch["authorization_url"].(string)
	// The authorization URL lives in its environment's tree only.
	sandboxURL := strings.Replace(au, s.base+"/org/", s.base+"/sandbox/org/", 1)
	if resp, _ := s.client().get(sandboxURL); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a production challenge started under /sandbox: %d", resp.StatusCode)
	}
	code := s.signInThrough(au)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}}
	for _, tc := range []struct {
		name, bearer, url string
		status            int
		err               string
	}{
		{"other organization", foreign, "/api/v2/oauth/token", http.StatusBadRequest, "invalid_grant"},
		{"other organization", foreign, "/oauth/token", http.StatusBadRequest, "invalid_grant"},
		{"other environment", sandboxKey, "/api/v2/oauth/token", http.StatusBadRequest, "invalid_grant"},
		{"other environment", sandboxKey, "/sandbox/oauth/token", http.StatusBadRequest, "invalid_grant"},
		{"other environment", sandboxKey, "/oauth/token", http.StatusUnauthorized, "invalid_client"},
		{"limited key", limited, "/api/v2/oauth/token", http.StatusUnauthorized, "invalid_client"},
		{"limited key", limited, "/oauth/token", http.StatusUnauthorized, "invalid_client"},
		{"no token", "", "/api/v2/oauth/token", http.StatusUnauthorized, "invalid_client"},
	} {
		status, out := s.call(tc.bearer, s.base+tc.url, form)
		if status != tc.status || out["error"] != tc.err {
			t.Errorf("%s at %s: %d %v", tc.name, tc.url, status, out)
		}
	}
	// Nothing above used the code up: its owner still exchanges it.
	if status, out := s.call(owner, s.base+"/api/v2/oauth/token", form); status != http.StatusOK {
		t.Fatalf("the owner's exchange after the attempts: %d %v", status, out)
	}
}

// TestHeadlessSSOChallengeOnlyThroughItsConnection: the request behind a
// challenge's authorization URL completes only through the SSO connection
// the challenge names: the hosted login page (password, magic link) and a
// sign-in through another connection are refused, so the backend never
// receives a code for a user its IdP did not authenticate.
func TestHeadlessSSOChallengeOnlyThroughItsConnection(t *testing.T) {
	s := newStack(t)
	s.uploadMetadata()
	owner := s.apiKey(s.id, []string{"create:users"}, []string{s.org.Domain})
	ch := s.challenge(owner, "saml", url.Values{"redirect_uri": {s.redirect}, "org_domain": {s.org.Domain}})
	au, _ := url.Parse(ch["authorization_url"].(string))
	reqID := au.Query().Get("request_id")
	u, err := s.id.CreateUser(t.Context(), s.org.Domain, identity.User{Email: "bob@acme.test", Enabled: true}, "")
	if err != nil {
		t.Fatal(err)
	}

	// The browser holds a CSRF token of the hosted login page, as anyone
	// gets one by opening it.
	c := s.client()
	_, challenge := pkce()
	_, login := c.get(s.base + "/t/" + s.org.Domain + "/?" + url.Values{"client_id": {s.app.ClientID},
		"redirect_uri": {s.redirect}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}.Encode())
	csrf := ""
	for _, h := range hiddenRE.FindAllStringSubmatch(login, -1) {
		if h[1] == "csrf_token" {
			csrf = h[2]
		}
	}
	if csrf == "" {
		t.Fatalf("no CSRF token in %s", login)
	}
	for _, action := range []string{"magic", "code", "sso"} {
		resp, page := c.post(s.base+"/t/"+s.org.Domain+"/login", url.Values{"request": {reqID}, "action": {action},
			"email": {"bob@acme.test"}, "csrf_token": {csrf}})
		if resp.StatusCode != http.StatusBadRequest || strings.HasPrefix(resp.Request.URL.String(), s.redirect) {
			t.Fatalf("hosted login %s served a headless SSO challenge: %d %s %s", action, resp.StatusCode, resp.Request.URL, page)
		}
	}
	for _, sci := range []string{"", "acme_company_other"} {
		rec := httptest.NewRecorder()
		s.prov.Resume(rec, httptest.NewRequest(http.MethodPost, s.base+"/enterprise/x/acs", nil), reqID,
			provider.Authenticated{Env: s.env, User: u, SSOConnectionID: sci, IdentityProvider: "okta"})
		if rec.Code != http.StatusBadRequest || rec.Header().Get("Location") != "" {
			t.Fatalf("a sign-in through %q completed the challenge: %d %s", sci, rec.Code, rec.Header().Get("Location"))
		}
	}
	// Its own connection still completes it.
	s.signInThrough(au.String())
}

// TestHeadlessSSOChallengeInput: bad input is a 422 naming the field, and
// the JSON body of Cryptr's samples is read like the Kotlin SDK's form.
func TestHeadlessSSOChallengeInput(t *testing.T) {
	s := newStack(t)
	s.uploadMetadata()
	bearer := s.apiKey(s.id, []string{"create:users"}, []string{s.org.Domain})
	for _, tc := range []struct {
		name  string
		form  url.Values
		field string
	}{
		{"no redirect_uri", url.Values{"org_domain": {s.org.Domain}}, "redirect_uri"},
		{"nothing named", url.Values{"redirect_uri": {s.redirect}}, "org_domain"},
		{"two named", url.Values{"redirect_uri": {s.redirect}, "org_domain": {s.org.Domain}, "user_email": {userEmail}}, "org_domain"},
		{"bad email", url.Values{"redirect_uri": {s.redirect}, "user_email": {"not an email"}}, "user_email"},
		{"redirect not allowed", url.Values{"redirect_uri": {"https://evil.test/cb"}, "org_domain": {s.org.Domain}}, "redirect_uri"},
		{"unknown client", url.Values{"redirect_uri": {s.redirect}, "org_domain": {s.org.Domain}, "client_id": {"nope"}}, "client_id"},
	} {
		status, out := s.call(bearer, s.base+"/api/v2/sso-saml-challenges", tc.form)
		errs, _ := out["errors"].(map[string]any)
		if status != http.StatusUnprocessableEntity || errs[tc.field] == nil {
			t.Errorf("%s: %d %v", tc.name, status, out)
		}
	}
	body := `{"redirect_uri":"` + s.redirect + `","org_domain":"` + s.org.Domain + `","client_id":"` + s.app.ClientID + `"}`
	req, _ := http.NewRequest(http.MethodPost, s.base+"/api/v2/sso-saml-challenges", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("JSON body: %d", resp.StatusCode)
	}
}

// TestHeadlessSSOChallengeSandbox: a sandbox key's challenge runs in the
// sandbox tree (its authorization URL, its connection, the sandbox issuer)
// and its code is exchanged at the one management URL; production's tree
// does not start it.
func TestHeadlessSSOChallengeSandbox(t *testing.T) {
	s := newStack(t, identity.Sandbox)
	s.uploadMetadata()
	bearer := s.apiKey(s.id, []string{"create:users"}, []string{"*"})
	ch := s.challenge(bearer, "saml", url.Values{"redirect_uri": {s.redirect}, "idp_id": {s.idp}})
	au := ch["authorization_url"].(string)
	if ch["database"] != "sandbox" || !strings.HasPrefix(au, s.base+"/sandbox/org/"+s.org.Domain+"/oauth2/saml?") {
		t.Fatalf("challenge %v", ch)
	}
	if resp, _ := s.client().get(strings.Replace(au, "/sandbox/", "/", 1)); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a sandbox challenge started in production's tree: %d", resp.StatusCode)
	}
	code := s.signInThrough(au)
	status, out := s.call(bearer, s.base+"/api/v2/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}})
	if status != http.StatusOK {
		t.Fatalf("exchange: %d %v", status, out)
	}
	if cl := jwtClaims(t, out["access_token"].(string)); cl["iss"] != s.issuer() || cl["dbs"] != "sandbox" {
		t.Fatalf("claims %v", cl)
	}
}
