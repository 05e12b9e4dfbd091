package provider

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// volatile matches what differs between two renderings of one page.
var volatile = regexp.MustCompile(`(value|action|nonce)="[^"]*"`)

// TestSignupPolicy guards breach 5: a hosted sign-up (sign_type=signup)
// creates a user only for an address in the organization's allowed email
// domains, or any address when the organization has open sign-up on; a
// refused sign-up looks exactly like an unknown account (same page, no
// mail, nothing created).
func TestSignupPolicy(t *testing.T) {
	cases := []struct {
		name    string
		email   string
		open    bool
		created bool
	}{
		{"an address of the organization's domains", "new.person@acme.test", false, true},
		{"an outside address", "mallory@evil.test", false, false},
		{"an outside address with open sign-up", "mallory@evil.test", true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			if tc.open {
				if _, err := e.ids.UpdateOrganization(ctx, e.org.Domain, identity.OrganizationInput{OpenSignup: ptrTo(true)}); err != nil {
					t.Fatal(err)
				}
			}
			_, ch := pkce("a")
			q := url.Values{"client_id": {e.spa.ClientID}, "redirect_uri": {spaRedirect}, "scope": {"openid"},
				"code_challenge_method": {"S256"}, "code_challenge": {ch}}
			send := func(u, email string) *resp {
				c := e.newBrowser()
				page := e.get(c, u)
				action, csrf, request := form(t, page.body)
				return e.postForm(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {"magic"},
					"email": {email}})
			}
			before := e.mailCount()
			signup := send(e.base+"/t/"+e.org.Domain+"/en/st-9/signup/new?"+q.Encode(), tc.email)
			mailed := e.mailCount() > before
			if mailed != tc.created {
				t.Fatalf("mail sent %v, want %v", mailed, tc.created)
			}
			if !tc.created {
				// The same answer as a sign-in for an unknown account.
				unknown := send(e.base+"/t/"+e.org.Domain+"/en/st-9/signin/new?"+q.Encode(), "nobody@acme.test")
				a := strings.ReplaceAll(volatile.ReplaceAllString(signup.body, ""), tc.email, "EMAIL")
				b := strings.ReplaceAll(volatile.ReplaceAllString(unknown.body, ""), "nobody@acme.test", "EMAIL")
				if signup.status != unknown.status || a != b {
					t.Fatalf("refused sign-up answered %d, unknown account %d; pages differ:\n%s\n%s", signup.status, unknown.status, a, b)
				}
				if _, err := e.ids.GetUserByEmail(ctx, e.org.Domain, tc.email); !errors.Is(err, identity.ErrNotFound) {
					t.Fatalf("user created: %v", err)
				}
				return
			}
			link := reLink.FindString(e.takeMail().Text)
			c := e.newBrowser()
			_, csrf, _ := form(t, e.get(c, link).body)
			if done := e.postForm(c, link, url.Values{"csrf_token": {csrf}}); done.status != http.StatusSeeOther {
				t.Fatalf("consume: %d", done.status)
			}
			if u, err := e.ids.GetUserByEmail(ctx, e.org.Domain, tc.email); err != nil || !u.Verified {
				t.Fatalf("signed-up user %+v %v", u, err)
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestHeadlessSignupPolicy: a find-or-create magic-link challenge follows
// the same policy, checked when the challenge is made and again when the
// link is used.
func TestHeadlessSignupPolicy(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mgmtURL, bearer := e.managementAPI(t)
	ch := func(email string) *resp {
		return e.postJSON(http.DefaultClient, mgmtURL+"/api/v2/magic-link-challenge", map[string]any{"user_email": email,
			"redirect_uri": webRedirect, "org_domain": e.org.Domain, "find_or_create_user": true}, "Authorization", bearer)
	}
	if r := ch("mallory@evil.test"); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("outside address: %d %s", r.status, r.body)
	}
	if r := ch("new@acme.test"); r.status != http.StatusCreated {
		t.Fatalf("address of the organization: %d %s", r.status, r.body)
	}
	open := func(on bool) {
		if _, err := e.ids.UpdateOrganization(ctx, e.org.Domain, identity.OrganizationInput{OpenSignup: ptrTo(on)}); err != nil {
			t.Fatal(err)
		}
	}
	open(true)
	r := ch("mallory@evil.test")
	if r.status != http.StatusCreated {
		t.Fatalf("outside address with open sign-up: %d %s", r.status, r.body)
	}
	// The policy changes before the link is used: the core refuses.
	open(false)
	link := r.json(t)["magic_link"].(string)
	c := e.newBrowser()
	_, csrf, _ := form(t, e.get(c, link).body)
	if done := e.postForm(c, link, url.Values{"csrf_token": {csrf}}); done.status != http.StatusForbidden {
		t.Fatalf("link after open sign-up was turned off: %d", done.status)
	}
	if _, err := e.ids.GetUserByEmail(ctx, e.org.Domain, "mallory@evil.test"); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("user created: %v", err)
	}
}
