package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestEmailChangeVoidsMailedLinks is the attacker who kept the old
// mailbox (a former employee, a mistyped address): once an administrator
// corrects the address, through the Cryptr API, the Crafter API or the
// core service, every link mailed before (an invitation, a password
// reset of the hosted pages, a Crafter verification or reset token) is
// refused by the face that redeems it exactly as an unknown link is, and
// the new address is not verified. A change of the address's ASCII case
// only voids nothing; a link issued after the change works.
func TestEmailChangeVoidsMailedLinks(t *testing.T) {
	hx := newHarness(t, "memory:")
	ctx := context.Background()
	svc := hx.a.envs[identity.Production]
	bearer := []string{"Authorization", "Bearer " + hx.mgmt}
	crafter := func(path string, v url.Values) *httptest.ResponseRecorder {
		v.Set("accessTokenId", hx.appToken)
		return hx.do("POST", "/api/1/"+path, "application/x-www-form-urlencoded", []byte(v.Encode()))
	}
	const unknownToken = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

	type link struct {
		name  string
		issue func(t *testing.T, u *identity.User) string
		// use is the attacker following the link.
		use func(token string) *httptest.ResponseRecorder
	}
	crafterToken := func(t *testing.T, u *identity.User) string {
		t.Helper()
		w := crafter("profile/"+u.ObjectID+"/verification_token/create", url.Values{})
		var vt struct {
			ID string `json:"id"`
		}
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &vt) != nil || vt.ID == "" {
			t.Fatalf("verification_token/create: %d %s", w.Code, w.Body)
		}
		return vt.ID
	}
	links := []link{
		{"invitation", func(t *testing.T, u *identity.User) string {
			t.Helper()
			inv, err := svc.InviteUser(ctx, identity.InvitationRequest{OrgDomain: hx.org, UserID: u.ID, ClientAddr: "192.0.2.7"})
			if err != nil {
				t.Fatal(err)
			}
			return inv.Token
		}, func(tok string) *httptest.ResponseRecorder {
			return hx.do("GET", "/t/"+hx.org+"/invitation/"+tok, "", nil)
		}},
		{"hosted password reset", func(t *testing.T, u *identity.User) string {
			t.Helper()
			r, err := svc.RequestPasswordReset(ctx, identity.PasswordResetRequest{OrgDomain: hx.org, Email: u.Email,
				ClientAddr: "192.0.2.7"})
			if err != nil || r.Token == "" {
				t.Fatalf("reset: %v %+v", err, r)
			}
			return r.Token
		}, func(tok string) *httptest.ResponseRecorder {
			return hx.do("GET", "/t/"+hx.org+"/password-reset/"+tok, "", nil)
		}},
		{"Crafter verification token", crafterToken, func(tok string) *httptest.ResponseRecorder {
			return crafter("profile/verify", url.Values{"verificationTokenId": {tok}})
		}},
		{"Crafter reset token", crafterToken, func(tok string) *httptest.ResponseRecorder {
			return crafter("profile/change_password", url.Values{"resetTokenId": {tok}, "newPassword": {"the attacker's passphrase"}})
		}},
	}
	type face struct {
		name   string
		change func(t *testing.T, u *identity.User, email string)
	}
	faces := []face{
		{"Cryptr API", func(t *testing.T, u *identity.User, email string) {
			t.Helper()
			hx.must(200, "PUT", "/api/v2/org/"+hx.org+"/users/"+u.ID, "application/json",
				`{"profile":{"email":"`+email+`"}}`, bearer...)
		}},
		{"Crafter API", func(t *testing.T, u *identity.User, email string) {
			t.Helper()
			if w := crafter("profile/"+u.ObjectID+"/update", url.Values{"email": {email}}); w.Code != 200 {
				t.Fatalf("update: %d %s", w.Code, w.Body)
			}
		}},
		{"identity service", func(t *testing.T, u *identity.User, email string) {
			t.Helper()
			if _, err := svc.UpdateUser(ctx, hx.org, u.ID, func(n *identity.User) error { n.Email = email; return nil }); err != nil {
				t.Fatal(err)
			}
		}},
	}
	n := 0
	for _, l := range links {
		for _, f := range faces {
			for _, noop := range []bool{false, true} {
				name := l.name + "/" + f.name + "/new address"
				if noop {
					name = l.name + "/" + f.name + "/same address in another case"
				}
				t.Run(name, func(t *testing.T) {
					n++
					old := fmt.Sprintf("victim%d@acme.test", n)
					u, err := svc.CreateUser(ctx, hx.org, identity.User{Email: old, Enabled: true, Verified: true}, "")
					if err != nil {
						t.Fatal(err)
					}
					gone := l.use(unknownToken)
					tok := l.issue(t, u)
					email := fmt.Sprintf("fixed%d@acme.test", n)
					if noop {
						email = strings.ToUpper(old[:1]) + old[1:len(old)-4] + "TEST"
					}
					f.change(t, u, email)
					after, err := svc.GetUser(ctx, hx.org, u.ID)
					if err != nil {
						t.Fatal(err)
					}
					w := l.use(tok)
					if noop {
						if w.Code != 200 {
							t.Errorf("link after a same-address update: %d %s", w.Code, w.Body)
						}
						if !after.Verified {
							t.Error("a same-address update cleared verified")
						}
						return
					}
					if w.Code != gone.Code || noNonce(w.Body.String()) != noNonce(gone.Body.String()) {
						t.Errorf("old link after the change: %d %s\nwant the unknown link's %d %s", w.Code, w.Body, gone.Code, gone.Body)
					}
					if after.Verified {
						t.Error("verified kept for an address nobody verified")
					}
					if w := l.use(l.issue(t, after)); w.Code != 200 {
						t.Errorf("a link issued after the change: %d %s", w.Code, w.Body)
					}
				})
			}
		}
	}
}

// noNonce drops the per-response CSP nonces of a page.
func noNonce(s string) string { return reNonce.ReplaceAllString(s, `nonce=""`) }

var reNonce = regexp.MustCompile(`nonce="[^"]*"`)
