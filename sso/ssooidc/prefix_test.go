package ssooidc_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/gatehouse-id/gatehouse/internal/testkit"
)

var portalCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// walker is a browser that does not follow redirects, so each answer's
// cookies, Location and links can be checked against the base URL.
type walker struct {
	t  *testing.T
	s  *stack
	hc *http.Client
}

func (w *walker) do(method, u string, form url.Values) (*http.Response, string) {
	w.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := w.hc.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	page := string(b)
	if resp.StatusCode == http.StatusNotFound || page == "host home" {
		w.t.Errorf("%s %s did not reach Gatehouse: %d %s", method, u, resp.StatusCode, page)
	}
	for _, ck := range resp.Cookies() {
		if !strings.HasPrefix(ck.Path, w.s.prefix+"/") {
			w.t.Errorf("%s %s: cookie %s has Path %q, not under %q", method, u, ck.Name, ck.Path, w.s.prefix+"/")
		}
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		if under, foreign := testkit.Under(w.s.base, loc); !under && !foreign {
			w.t.Errorf("%s %s: Location %q is not under %s", method, u, loc, w.s.base)
		}
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		for _, l := range testkit.Links(page) {
			if under, _ := testkit.Under(w.s.base, l); !under {
				w.t.Errorf("%s %s: the page links to %q, not under %s", method, u, l, w.s.base)
			}
		}
	}
	return resp, page
}

// follow answers the Location of resp, resolved against its request.
func follow(t *testing.T, resp *http.Response) string {
	t.Helper()
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("%s: no Location (%d)", resp.Request.URL, resp.StatusCode)
	}
	return loc.String()
}

// TestSSOAndPortalUnderPrefix runs enterprise SSO with Gatehouse mounted
// under a path (its base URL carries it, the host strips it with
// http.StripPrefix): the SP's entity id, ACS, SLO, login and metadata URLs,
// the onboarding portal's steps from the setup link to a successful test
// sign-in at a real SAML IdP (the AuthnRequest cookie must come back to
// the ACS), an end user's sign-in through the provider with a code
// exchanged for tokens that go-oidc verifies through the prefixed
// discovery URL, and a headless challenge of the management API. Every
// cookie path, Location, link and form action lies under the prefix.
func TestSSOAndPortalUnderPrefix(t *testing.T) {
	for _, prefix := range []string{"", "/auth", "/a/b"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			s := newStackAt(t, prefix)
			ctx := t.Context()
			ep := s.base + "/enterprise/" + s.idp
			for name, got := range map[string]string{"entity id": s.sso.EntityID(s.idp), "metadata": s.sso.MetadataURL(s.idp),
				"acs": s.sso.ACSURL(s.idp), "slo": s.sso.SLOURL(s.idp), "login": s.sso.LoginURL(s.idp)} {
				if !strings.HasPrefix(got, ep+"/") {
					t.Errorf("%s URL %q, not under %s", name, got, ep)
				}
			}
			md := string(s.get(s.sso.MetadataURL(s.idp)))
			for _, want := range []string{`entityID="` + ep + `/metadata"`, `Location="` + ep + `/acs"`, `Location="` + ep + `/slo"`} {
				if !strings.Contains(md, want) {
					t.Errorf("SP metadata lacks %s", want)
				}
			}

			// The portal, from the setup link to a test sign-in.
			link, err := s.sso.NewSetupLink(ctx, s.id, s.idp)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(link, s.base+"/enterprise-setup/") {
				t.Fatalf("setup link %q", link)
			}
			jar, _ := cookiejar.New(nil)
			w := &walker{t: t, s: s, hc: &http.Client{Jar: jar,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
			_, page := w.do("GET", link, nil)
			m := formActionRE.FindStringSubmatch(page)
			c := portalCSRF.FindStringSubmatch(page)
			if m == nil || c == nil {
				t.Fatalf("start page: %s", page)
			}
			resp, _ := w.do("POST", abs(t, link, m[1]), url.Values{"csrf": {c[1]}})
			resp, page = w.do("GET", follow(t, resp), nil) // the portal's home
			u := follow(t, resp)
			if !strings.HasPrefix(u, s.base+"/enterprise-setup/provider") && !strings.HasPrefix(u, s.prefix+"/enterprise-setup/provider") {
				t.Fatalf("home sent to %q", u)
			}
			_, page = w.do("GET", abs(t, link, u), nil)
			csrf := portalCSRF.FindStringSubmatch(page)[1]
			steps := []struct {
				form url.Values
				want string
			}{
				{url.Values{"provider_type": {"okta"}}, "/enterprise-setup/configure"},
				{url.Values{}, "/enterprise-setup/metadata"},
			}
			for _, st := range steps {
				action := html.UnescapeString(formActionRE.FindStringSubmatch(page)[1])
				st.form.Set("csrf", csrf)
				resp, _ = w.do("POST", abs(t, link, action), st.form)
				next := abs(t, link, follow(t, resp))
				if !strings.HasPrefix(next, s.base+st.want) {
					t.Fatalf("step sent to %q, want %s", next, s.base+st.want)
				}
				_, page = w.do("GET", next, nil)
				if strings.Contains(st.want, "metadata") {
					break
				}
				if !strings.Contains(page, ep+"/acs") || !strings.Contains(page, ep+"/metadata") {
					t.Errorf("configure page lacks the prefixed SP values")
				}
			}
			action := html.UnescapeString(formActionRE.FindStringSubmatch(page)[1])
			resp, page = w.do("POST", abs(t, link, action), url.Values{"csrf": {csrf}, "metadata": {s.idpMD}})
			if resp.StatusCode != http.StatusOK || !strings.Contains(page, "valid and saved") {
				t.Fatalf("metadata: %d %s", resp.StatusCode, page)
			}
			_, page = w.do("GET", s.base+"/enterprise-setup/test?lang=fr", nil)
			if !strings.Contains(page, "lang=en") {
				t.Errorf("the test page has no language link")
			}
			action = html.UnescapeString(formActionRE.FindStringSubmatch(page)[1])
			resp, _ = w.do("POST", abs(t, link, action), url.Values{"csrf": {csrf}})
			if resp.StatusCode != http.StatusFound || !strings.HasPrefix(follow(t, resp), s.idpURL) {
				t.Fatalf("test sign-in start: %d %s", resp.StatusCode, resp.Header.Get("Location"))
			}
			// The IdP (followed as a browser would), then its answer to
			// our ACS, which must find the AuthnRequest cookie.
			idpBrowser := &client{t: t, hc: &http.Client{Jar: jar}}
			_, idpPage := idpBrowser.get(follow(t, resp))
			_, answer := idpBrowser.submit(idpPage, url.Values{"user": {userName}, "password": {userPassword}})
			acs := html.UnescapeString(formActionRE.FindStringSubmatch(answer)[1])
			if acs != ep+"/acs" {
				t.Errorf("the IdP posts to %q, want %s", acs, ep+"/acs")
			}
			form := url.Values{}
			for _, h := range hiddenRE.FindAllStringSubmatch(answer, -1) {
				form.Set(h[1], html.UnescapeString(h[2]))
			}
			resp, _ = w.do("POST", acs, form)
			if resp.StatusCode != http.StatusSeeOther || follow(t, resp) != s.base+"/enterprise-setup/test-result" {
				t.Fatalf("ACS of the test: %d %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			if _, page = w.do("GET", follow(t, resp), nil); !strings.Contains(page, "test sign-in succeeded") {
				t.Fatalf("test result: %s", page)
			}

			// An end user signs in through the provider (Cryptr's era-1
			// SSO URL), and the code is exchanged with PKCE.
			verifier, challenge := pkce()
			q := url.Values{"client_id": {s.app.ClientID}, "redirect_uri": {s.redirect}, "state": {"xyz"}, "locale": {"en"},
				"scope": {"openid email profile"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}, "nonce": {"n-1"}}
			b := s.client()
			bresp, bpage := b.get(s.sso.LoginURL(s.idp) + "?" + q.Encode())
			if !strings.HasPrefix(bresp.Request.URL.String(), s.idpURL+"/sso") {
				t.Fatalf("expected the IdP login form, got %s: %s", bresp.Request.URL, bpage)
			}
			bresp, bpage = b.signInAtIdP(bpage)
			final := bresp.Request.URL
			if !strings.HasPrefix(final.String(), s.redirect) || final.Query().Get("code") == "" {
				t.Fatalf("landed on %s: %s", final, bpage)
			}
			if claims := s.exchange(final.Query().Get("code"), verifier); claims["iss"] != s.base+"/t/"+s.org.Domain {
				t.Errorf("ID token issuer %v", claims["iss"])
			}
			op, err := oidc.NewProvider(context.Background(), s.issuer())
			if err != nil {
				t.Fatalf("go-oidc discovery at %s: %v", s.issuer(), err)
			}
			if op.Endpoint().TokenURL != s.issuer()+"/oauth/token" {
				t.Errorf("token endpoint %s", op.Endpoint().TokenURL)
			}

			// A headless challenge of the management API, under the prefix.
			bearer := s.apiKey(s.id, []string{"create:users"}, []string{s.org.Domain})
			ch := s.challenge(bearer, "saml", url.Values{"redirect_uri": {s.redirect}, "org_domain": {s.org.Domain}})
			au, _ := ch["authorization_url"].(string)
			if !strings.HasPrefix(au, s.base+"/org/"+s.org.Domain+"/oauth2/saml?") {
				t.Fatalf("authorization_url %q", au)
			}
			code := s.signInThrough(au)
			if status, out := s.call(bearer, s.base+"/api/v2/oauth/token", url.Values{"grant_type": {"authorization_code"},
				"code": {code}}); status != http.StatusOK || jwtClaims(t, out["access_token"].(string))["iss"] != s.issuer() {
				t.Fatalf("headless exchange: %d %v", status, out)
			}
		})
	}
}

// abs resolves ref against the page URL page.
func abs(t *testing.T, page, ref string) string {
	t.Helper()
	pu, _ := url.Parse(page)
	u, err := pu.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	return u.String()
}
