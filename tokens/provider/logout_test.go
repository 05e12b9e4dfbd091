package provider

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestLogoutNeedsProof: end-session and Cryptr's slo-after-revoke-token end
// a browser session only for an id_token_hint of the session's user (or a
// slo_code), or a confirmation posted from our own page; a cross-site link
// leaves the session alive (breach 9).
func TestLogoutNeedsProof(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	hint := e.spaTokens()["id_token"].(string)
	// An ID token of another user of the organization.
	other, err := e.ids.CreateUser(ctx, e.org.Domain, identity.User{Email: "john@acme.test", Enabled: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	v, ch := pkce("o")
	code := e.magicLogin(e.newBrowser(), e.spaAuthorize(ch, nil), other.Email).Query().Get("code")
	otherHint := e.exchange(code, v).json(t)["id_token"].(string)
	parts := strings.Split(hint, ".")
	forged := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString([]byte("not a signature"))
	noneAlg := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	slo := e.base + "/api/v1/tenants/" + e.org.Domain + "/" + e.spa.ClientID + "/oauth/token/slo-after-revoke-token"
	logout := e.issuer() + "/logout"

	get := func(b *http.Client, ck *http.Cookie, u string) *resp {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.AddCookie(ck)
		return do(t, b, req)
	}
	post := func(b *http.Client, ck *http.Cookie, u string, f url.Values, hdr ...string) *resp {
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		req.AddCookie(ck)
		return do(t, b, req)
	}
	kept := []struct {
		name string
		run  func(b *http.Client, ck *http.Cookie) *resp
	}{
		{"GET without a hint", func(b *http.Client, ck *http.Cookie) *resp {
			return get(b, ck, logout+"?"+url.Values{"client_id": {e.spa.ClientID}, "post_logout_redirect_uri": {logoutURL}}.Encode())
		}},
		{"POST without a hint or CSRF token", func(b *http.Client, ck *http.Cookie) *resp {
			return post(b, ck, logout, url.Values{"client_id": {e.spa.ClientID}, "post_logout_redirect_uri": {logoutURL}})
		}},
		{"hint of another user", func(b *http.Client, ck *http.Cookie) *resp {
			return get(b, ck, logout+"?"+url.Values{"id_token_hint": {otherHint}, "post_logout_redirect_uri": {logoutURL}}.Encode())
		}},
		{"hint with a forged signature", func(b *http.Client, ck *http.Cookie) *resp {
			return get(b, ck, logout+"?"+url.Values{"id_token_hint": {forged}, "post_logout_redirect_uri": {logoutURL}}.Encode())
		}},
		{"unsigned hint", func(b *http.Client, ck *http.Cookie) *resp {
			return get(b, ck, logout+"?"+url.Values{"id_token_hint": {noneAlg}}.Encode())
		}},
		{"hint at another organization's end-session", func(b *http.Client, ck *http.Cookie) *resp {
			return get(b, ck, e.base+"/t/other-org/logout?"+url.Values{"id_token_hint": {hint}}.Encode())
		}},
		{"hint for another client than client_id", func(b *http.Client, ck *http.Cookie) *resp {
			return get(b, ck, logout+"?"+url.Values{"id_token_hint": {hint}, "client_id": {e.web.ClientID}}.Encode())
		}},
		{"confirmation with a wrong CSRF token", func(b *http.Client, ck *http.Cookie) *resp {
			page := get(b, ck, logout)
			form(t, page.body)
			return post(b, ck, logout, url.Values{"csrf_token": {strings.Repeat("A", 43)}})
		}},
		{"confirmation posted cross-origin", func(b *http.Client, ck *http.Cookie) *resp {
			_, csrf, _ := form(t, get(b, ck, logout).body)
			return post(b, ck, logout, url.Values{"csrf_token": {csrf}}, "Origin", "https://evil.test")
		}},
		{"confirmation posted cross-site (Sec-Fetch-Site)", func(b *http.Client, ck *http.Cookie) *resp {
			_, csrf, _ := form(t, get(b, ck, logout).body)
			return post(b, ck, logout, url.Values{"csrf_token": {csrf}}, "Sec-Fetch-Site", "cross-site")
		}},
		{"slo hop without slo_code", func(b *http.Client, ck *http.Cookie) *resp {
			return get(b, ck, slo+"?"+url.Values{"target_url": {logoutURL}}.Encode())
		}},
		{"slo hop with an unknown slo_code", func(b *http.Client, ck *http.Cookie) *resp {
			return get(b, ck, slo+"?"+url.Values{"slo_code": {"x"}, "target_url": {logoutURL}}.Encode())
		}},
	}
	for _, c := range kept {
		t.Run(c.name, func(t *testing.T) {
			ck := e.openSSOSession(t, e.user, "acme_a")
			r := c.run(e.newBrowser(), ck)
			if r.header.Get("Location") != "" {
				t.Fatalf("redirected to %q", r.header.Get("Location"))
			}
			if !e.sessionAlive(t, ck) {
				t.Fatal("session ended")
			}
		})
	}

	t.Run("hint of the session's user", func(t *testing.T) {
		ck := e.openSSOSession(t, e.user, "acme_a")
		r := get(e.newBrowser(), ck, logout+"?"+url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {logoutURL},
			"state": {"bye"}}.Encode())
		if r.status != http.StatusFound || r.header.Get("Location") != logoutURL+"?state=bye" || e.sessionAlive(t, ck) {
			t.Fatalf("%d %q alive=%v", r.status, r.header.Get("Location"), e.sessionAlive(t, ck))
		}
	})
	t.Run("confirmed on our page", func(t *testing.T) {
		ck := e.openSSOSession(t, e.user, "acme_a")
		b := e.newBrowser()
		page := get(b, ck, slo+"?"+url.Values{"target_url": {logoutURL}}.Encode())
		action, csrf, _ := form(t, page.body)
		if !strings.Contains(page.body, `name="target_url" value="`+logoutURL+`"`) {
			t.Fatalf("the form does not carry target_url: %s", page.body)
		}
		r := post(b, ck, e.base+action, url.Values{"csrf_token": {csrf}, "target_url": {logoutURL}},
			"Origin", e.base, "Sec-Fetch-Site", "same-origin")
		if r.status != http.StatusFound || r.header.Get("Location") != logoutURL || e.sessionAlive(t, ck) {
			t.Fatalf("%d %q alive=%v", r.status, r.header.Get("Location"), e.sessionAlive(t, ck))
		}
	})
	t.Run("slo_code from revoking an SSO session's refresh token", func(t *testing.T) {
		ck := e.openSSOSession(t, e.user, "acme_a")
		b := e.newBrowser()
		v, ch := pkce("s")
		cb := get(b, ck, e.spaAuthorize(ch, url.Values{"prompt": {"none"}})).location(t)
		tr := e.exchange(cb.Query().Get("code"), v).json(t)
		rev := e.postJSON(http.DefaultClient, e.base+"/api/v1/tenants/"+e.org.Domain+"/"+e.spa.ClientID+"/oauth/token/revoke",
			map[string]string{"token": tr["refresh_token"].(string), "token_type_hint": "refresh_token"})
		body := rev.json(t)
		code, _ := body["slo_code"].(string)
		if rev.status != http.StatusOK || code == "" || body["refresh_token"] != tr["refresh_token"] {
			t.Fatalf("revoke: %d %s", rev.status, rev.body)
		}
		// The code works once, at its own client's hop only.
		other := e.base + "/api/v1/tenants/" + e.org.Domain + "/" + e.web.ClientID + "/oauth/token/slo-after-revoke-token"
		if r := get(b, ck, other+"?"+url.Values{"slo_code": {code}}.Encode()); r.header.Get("Location") != "" || !e.sessionAlive(t, ck) {
			t.Fatalf("another client's hop: %d %q", r.status, r.header.Get("Location"))
		}
		r := get(b, ck, slo+"?"+url.Values{"slo_code": {code}, "target_url": {logoutURL}}.Encode())
		if r.status != http.StatusFound || r.header.Get("Location") != logoutURL || e.sessionAlive(t, ck) {
			t.Fatalf("slo hop: %d %q alive=%v", r.status, r.header.Get("Location"), e.sessionAlive(t, ck))
		}
		ck2 := e.openSSOSession(t, e.user, "acme_a")
		if r := get(b, ck2, slo+"?"+url.Values{"slo_code": {code}}.Encode()); r.header.Get("Location") != "" || !e.sessionAlive(t, ck2) {
			t.Fatalf("slo_code used twice: %d", r.status)
		}
	})
	t.Run("no slo_code for a session without SSO", func(t *testing.T) {
		tr := e.spaTokens()
		rev := e.postJSON(http.DefaultClient, e.base+"/api/v1/tenants/"+e.org.Domain+"/"+e.spa.ClientID+"/oauth/token/revoke",
			map[string]string{"token": tr["refresh_token"].(string), "token_type_hint": "refresh_token"})
		if rev.status != http.StatusOK || rev.json(t)["slo_code"] != nil {
			t.Fatalf("revoke: %d %s", rev.status, rev.body)
		}
	})
}
