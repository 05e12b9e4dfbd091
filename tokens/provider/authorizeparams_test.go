package provider

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestAuthorizeParameters (RFC 6749 §3.1, OIDC Core §3.1.2.1, §6): a
// repeated parameter is refused (on a page when it is client_id or
// redirect_uri, whose value decides where to redirect), and the request
// objects and response modes this endpoint does not support are refused
// on the redirect URI, not ignored: a client that asked for form_post
// to keep the code out of URLs would otherwise get it in one.
func TestAuthorizeParameters(t *testing.T) {
	e := newEnv(t)
	_, ch := pkce("p")
	base := e.spaAuthorize(ch, nil)
	cases := []struct {
		name  string
		extra string // appended to the query
		page  bool   // refused on a page (400), not redirected
		error string // else the error on the redirect URI ("" : the login page)
	}{
		{"repeated redirect_uri", "&redirect_uri=" + url.QueryEscape("https://evil.example/cb"), true, ""},
		{"repeated client_id", "&client_id=other", true, ""},
		{"repeated state", "&state=b", false, errInvalidRequest},
		{"repeated scope", "&scope=openid", false, errInvalidRequest},
		{"request object", "&request=eyJhbGciOiJub25lIn0.e30.", false, errRequestNotSupported},
		{"request_uri", "&request_uri=" + url.QueryEscape("https://evil.example/req"), false, errRequestURINotSupported},
		{"response_mode form_post", "&response_mode=form_post", false, errInvalidRequest},
		{"response_mode fragment", "&response_mode=fragment", false, errInvalidRequest},
		{"response_mode query", "&response_mode=query", false, ""},
		{"nothing added", "", false, ""},
		{"a repeated parameter of the client's own", "&utm_source=a&utm_source=b", false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.get(e.newBrowser(), base+c.extra)
			switch {
			case c.page:
				if r.status != http.StatusBadRequest || r.header.Get("Location") != "" {
					t.Fatalf("%d %q, want a 400 page", r.status, r.header.Get("Location"))
				}
			case c.error == "":
				if r.status != http.StatusOK {
					t.Fatalf("%d %q, want the login page", r.status, r.header.Get("Location"))
				}
			default:
				loc := r.location(t)
				if !strings.HasPrefix(loc.String(), spaRedirect) || loc.Query().Get("error") != c.error || loc.Query().Get("state") == "" {
					t.Fatalf("redirect %s, want error %s on %s with the state", loc, c.error, spaRedirect)
				}
			}
		})
	}
}

// TestIDTokenHint (OIDC Core §3.1.2.1): a session is reused only for the
// user an id_token_hint names; another user's ID token, or a hint that
// is no ID token of this organization, gets login_required with
// prompt=none and the login page otherwise.
func TestIDTokenHint(t *testing.T) {
	e := newEnv(t)
	other, err := e.ids.CreateUser(t.Context(), e.org.Domain, identity.User{Email: "eve@acme.test", Enabled: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	idTokenOf := func(email string) (string, *http.Client) {
		t.Helper()
		c := e.newBrowser()
		v, ch := pkce("h")
		loc := e.magicLogin(c, e.spaAuthorize(ch, nil), email)
		r := e.exchange(loc.Query().Get("code"), v)
		if r.status != http.StatusOK {
			t.Fatalf("token: %d %s", r.status, r.body)
		}
		return r.json(t)["id_token"].(string), c
	}
	janes, jane := idTokenOf(userEmail)
	eves, _ := idTokenOf(other.Email)
	_, ch := pkce("q")
	cases := []struct {
		name, hint string
		reused     bool
	}{
		{"the signed-in user's ID token", janes, true},
		{"another user's ID token", eves, false},
		{"not a token", "abc.def.ghi", false},
		{"a token of the hint's shape, unsigned", strings.Join(strings.Split(janes, ".")[:2], ".") + ".", false},
	}
	// An expired ID token is still a hint (OIDC Core §3.1.2.1): its
	// signature and claims still decide.
	cases = append(cases, struct {
		name, hint string
		reused     bool
	}{"the signed-in user's ID token, expired", janes, true}, struct {
		name, hint string
		reused     bool
	}{"another user's ID token, expired", eves, false})
	for i, c := range cases {
		if i == 4 {
			e.clock.Advance(2 * time.Hour) // the ID tokens live 1 h; the session 12 h
		}
		t.Run(c.name, func(t *testing.T) {
			r := e.get(jane, e.spaAuthorize(ch, url.Values{"prompt": {"none"}, "id_token_hint": {c.hint}}))
			q := r.location(t).Query()
			if c.reused && q.Get("code") == "" || !c.reused && q.Get("error") != errLoginRequired {
				t.Fatalf("prompt=none: %v", q)
			}
			page := e.get(jane, e.spaAuthorize(ch, url.Values{"id_token_hint": {c.hint}}))
			if c.reused != (page.status == http.StatusSeeOther || page.status == http.StatusFound) {
				t.Fatalf("without prompt: %d", page.status)
			}
		})
	}
}
