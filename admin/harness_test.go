package admin_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/admin"
	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/password"
	"github.com/gatehouse-id/gatehouse/internal/testkit"
	"github.com/gatehouse-id/gatehouse/mail"
	"github.com/gatehouse-id/gatehouse/profile"
	"github.com/gatehouse-id/gatehouse/sso"
	"github.com/gatehouse-id/gatehouse/store/memory"
	"github.com/gatehouse-id/gatehouse/tokens"
	"github.com/gatehouse-id/gatehouse/tokens/provider"
)

const (
	account   = "gatehouse"
	ownerPass = "owner password 1"
)

// harness is a server with the OIDC provider at its root and the console
// under a prefix, an owner, and two organizations (alpha, beta) with a
// user each.
type harness struct {
	t      testing.TB
	clock  *testkit.Clock
	ids    *identity.Service
	con    *admin.Console
	srv    *httptest.Server
	base   string // the server's URL
	prefix string // the console's path, e.g. "/admin"
	owner  *identity.ConsoleMember
	alphaU *identity.User
	betaU  *identity.User
	// alphaApp and betaApp are confidential applications of each.
	alphaApp, betaApp *identity.Application
	// sso is the SSO service the console shows (nil with noSSO);
	// alphaConn and betaConn are a connection of each organization, with
	// an onboarding for it@{org}.test.
	sso                 *sso.Service
	alphaConn, betaConn string
	// crafter is the Crafter face the console shows (with the crafter
	// option).
	crafter *profile.Service
	// members counts the members made by member.
	members int
	// mails are the messages the provider sent.
	mu    sync.Mutex
	mails []mail.Message
}

// mailTo waits for a mail to addr and returns it.
func (h *harness) mailTo(addr string) *mail.Message {
	h.t.Helper()
	for i := 0; i < 200; i++ {
		h.mu.Lock()
		for _, m := range h.mails {
			if len(m.To) == 1 && m.To[0] == addr {
				h.mu.Unlock()
				return &m
			}
		}
		h.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

type harnessOpt struct {
	prefix          string
	idle, absolute  time.Duration
	store           identity.Store
	skipOrgs        bool
	skipSetupClaims bool
	places          identity.PlaceResolver
	noSSO           bool
	noSamples       bool
	claims          tokens.ClaimsUpdater
	crafter         bool
}

func fastHasher() *password.Hasher {
	return password.New(password.WithParams(password.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 16, SaltLen: 16}))
}

func newHarness(t testing.TB, opt ...harnessOpt) *harness {
	t.Helper()
	o := harnessOpt{prefix: "/admin"}
	if len(opt) > 0 {
		o = opt[0]
		if o.prefix == "/" {
			o.prefix = ""
		}
	}
	h := &harness{t: t, clock: testkit.NewClock(time.Now().UTC().Truncate(time.Second)), prefix: o.prefix}
	srv := httptest.NewUnstartedServer(nil)
	h.base = "http://" + srv.Listener.Addr().String()
	st := o.store
	if st == nil {
		st = memory.New()
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ids, err := identity.NewService(identity.Options{Store: st, Clock: h.clock.Now, AccountDomain: account,
		Logger: logger, Hasher: fastHasher(), Places: o.places})
	if err != nil {
		t.Fatal(err)
	}
	h.ids = ids
	tok, err := tokens.New(tokens.Options{Identity: ids, BaseURL: h.base, ClaimsUpdater: o.claims})
	if err != nil {
		t.Fatal(err)
	}
	prov, err := provider.New(provider.Options{Identity: ids, Tokens: tok, Logger: logger, MailFrom: "id@gatehouse.test",
		Mailer: mail.MailerFunc(func(_ context.Context, m mail.Message) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.mails = append(h.mails, m)
			return nil
		})})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	opts := admin.Options{Identity: ids, BaseURL: h.base + o.prefix, ProviderURL: h.base,
		IdleTimeout: o.idle, AbsoluteTimeout: o.absolute, Logger: logger, PasswordResets: prov, Invitations: prov}
	if !o.noSamples {
		opts.JWTSamples = tok
	}
	if !o.noSSO {
		h.sso, err = sso.New(sso.Options{Identity: ids, BaseURL: h.base, Logger: logger, MailFrom: "id@gatehouse.test",
			Mailer: mail.MailerFunc(func(_ context.Context, m mail.Message) error {
				h.mu.Lock()
				defer h.mu.Unlock()
				h.mails = append(h.mails, m)
				return nil
			})})
		if err != nil {
			t.Fatal(err)
		}
		opts.SSO = h.sso
	}
	if o.crafter {
		h.crafter, err = profile.New(profile.Options{Identity: ids, Hasher: fastHasher(), Logger: logger, SyncMail: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = h.crafter.Close() })
		opts.Crafter = h.crafter
	}
	h.con, err = admin.New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, p := range prov.Patterns() {
		mux.Handle(p, prov)
	}
	if o.prefix == "" {
		mux.Handle("/", h.con) // at the root, beside the provider's paths
	} else {
		mux.Handle(o.prefix+"/", http.StripPrefix(o.prefix, h.con))
	}
	srv.Config.Handler = mux
	srv.Start()
	h.srv = srv
	t.Cleanup(func() { srv.Close(); _ = prov.Close() })
	if !o.skipSetupClaims {
		link, err := h.con.SetupURL(ctx)
		if err != nil || link == "" {
			t.Fatalf("setup link %q: %v", link, err)
		}
		u, _ := url.Parse(link)
		if h.owner, err = ids.ClaimConsoleSetup(ctx, identity.ConsoleSetupClaim{Token: u.Query().Get("token"),
			Email: "owner@gatehouse.test", Password: ownerPass}); err != nil {
			t.Fatal(err)
		}
	}
	if !o.skipOrgs {
		for _, n := range []string{"alpha", "beta"} {
			name := n
			org, err := ids.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
			if err != nil {
				t.Fatal(err)
			}
			u, err := ids.CreateUser(ctx, org.Domain, identity.User{Email: "jane@" + n + ".test", Enabled: true,
				Profile: identity.Profile{Name: "Jane " + n}}, "")
			if err != nil {
				t.Fatal(err)
			}
			app, _, err := ids.CreateApplication(ctx, org.Domain, identity.Application{Name: n + " web",
				ApplicationType: identity.AppRegularWeb, AllowedRedirectURLs: []string{"https://" + n + ".test/cb"}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ids.CreateMetaKey(ctx, org.Domain, n+"_plan", identity.MetaString, false); err != nil {
				t.Fatal(err)
			}
			var conn string
			if h.sso != nil {
				d, err := h.sso.CreateConnection(ctx, ids, sso.CreateInput{OrgDomain: org.Domain,
					ApplicationID: app.ClientID, SSOAdminEmail: "it@" + n + ".test"})
				if err != nil {
					t.Fatal(err)
				}
				conn = d.Connection.ID
			}
			if n == "alpha" {
				h.alphaU, h.alphaApp, h.alphaConn = u, app, conn
			} else {
				h.betaU, h.betaApp, h.betaConn = u, app, conn
			}
		}
	}
	return h
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	h *harness
	c *http.Client
}

func (h *harness) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{h: h, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// member creates a user of the account's organization with role (limited
// to orgs) and a browser signed in to the console as them.
func (h *harness) member(role identity.ConsoleRole, orgs ...string) (*browser, *identity.User) {
	h.t.Helper()
	ctx := context.Background()
	h.members++
	u, err := h.ids.CreateUser(ctx, account, identity.User{Email: fmt.Sprintf("%s%d@gatehouse.test", role, h.members), Enabled: true}, "")
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.ids.PutConsoleMember(ctx, identity.ConsoleMember{UserID: u.ID, Role: role, Orgs: orgs}); err != nil {
		h.t.Fatal(err)
	}
	return h.signedIn(u.ID), u
}

// signedIn returns a browser holding a console session of userID (opened
// through the core, as the callback does).
func (h *harness) signedIn(userID string) *browser {
	h.t.Helper()
	tok, _, err := h.ids.OpenConsoleSession(context.Background(), userID, identity.ConsoleSessionPolicy{})
	if err != nil {
		h.t.Fatal(err)
	}
	b := h.browser()
	u, _ := url.Parse(h.base + h.prefix + "/")
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "gh_admin_session", Value: tok, Path: h.prefix + "/"}})
	return b
}

type resp struct {
	status int
	body   string
	header http.Header
}

func (b *browser) do(req *http.Request) resp {
	b.h.t.Helper()
	r, err := b.c.Do(req)
	if err != nil {
		b.h.t.Fatal(err)
	}
	defer r.Body.Close()
	body, _ := io.ReadAll(r.Body)
	return resp{status: r.StatusCode, body: string(body), header: r.Header}
}

// get fetches a console path (or an absolute URL).
func (b *browser) get(p string) resp {
	b.h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.url(p), nil)
	return b.do(req)
}

func (b *browser) url(p string) string {
	if strings.HasPrefix(p, "http") {
		return p
	}
	return b.h.base + b.h.prefix + p
}

// post sends a form to a console path (or an absolute URL) as is.
func (b *browser) post(p string, form url.Values) resp {
	b.h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.url(p), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var reCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the session's form token from a page.
func (b *browser) csrf() string {
	b.h.t.Helper()
	r := b.get("/orgs")
	m := reCSRF.FindStringSubmatch(r.body)
	if m == nil {
		b.h.t.Fatalf("no form token on /orgs (%d): %s", r.status, r.body)
	}
	return m[1]
}

// postCSRF sends a form with the session's form token.
func (b *browser) postCSRF(p string, form url.Values) resp {
	b.h.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", b.csrf())
	return b.post(p, form)
}

// state is what the owner's unscoped service sees of the directory: a
// refused request must leave it unchanged.
func (h *harness) state() string {
	h.t.Helper()
	ctx := context.Background()
	var sb strings.Builder
	for _, env := range []identity.Environment{identity.Production, identity.Sandbox} {
		s, _ := h.ids.ForEnvironment(env)
		orgs, err := s.ListOrganizations(ctx, identity.PageRequest{PerPage: 100})
		if err != nil {
			h.t.Fatal(err)
		}
		for _, o := range orgs.Items {
			sb.WriteString(o.Domain + o.Name + o.Locality + o.CountryName + strings.Join(o.AllowedEmailDomains, ","))
			users, _ := s.ListUsers(ctx, o.Domain, identity.PageRequest{PerPage: 100})
			for _, u := range users.Items {
				sb.WriteString("|" + u.Email + u.Profile.Name + u.Profile.PhoneNumber)
				if u.Enabled {
					sb.WriteString("+")
				}
				for k, v := range u.Attributes {
					sb.WriteString(k + "=" + metaStr(v))
				}
			}
			keys, err := s.ListMetaKeys(ctx, o.Domain)
			if err != nil {
				h.t.Fatal(err)
			}
			for _, k := range keys {
				fmt.Fprintf(&sb, "|key %s %s %v", k.Name, k.Type, k.Required)
			}
			apps, _ := s.ListApplications(ctx, o.Domain, identity.PageRequest{PerPage: 100})
			for _, a := range apps.Items {
				sb.WriteString("|" + a.ClientID + a.Name + a.ClientSecretHash + strings.Join(a.AllowedRedirectURLs, ","))
			}
			if h.sso != nil {
				conns, err := h.sso.ListConnections(ctx, s, o.Domain, nil, identity.PageRequest{PerPage: 100})
				if err != nil {
					h.t.Fatal(err)
				}
				for _, d := range conns.Items {
					sb.WriteString("|" + d.Connection.ID + d.Connection.ProviderType)
					fmt.Fprintf(&sb, " %v %d %s", d.Connection.Active, d.Connection.SeatsLimit, d.Connection.UserSecurityType)
					if o := d.Onboarding; o != nil {
						sb.WriteString(o.ID + o.SSOAdminEmail + o.State + fmt.Sprint(o.InvitationSentAt))
					}
				}
				// Setup links are stored hashed; their creation is audited.
				links, err := s.ListEvents(ctx, o.Domain, identity.EventFilter{Code: identity.EventSSOOnboardingUpdated},
					identity.PageRequest{PerPage: 100})
				if err != nil {
					h.t.Fatal(err)
				}
				fmt.Fprintf(&sb, "|links %d", links.Total)
			}
			// Invitations are stored hashed; their mailing is audited.
			invites, err := s.ListEvents(ctx, o.Domain, identity.EventFilter{Code: identity.EventUserInvited},
				identity.PageRequest{PerPage: 100})
			if err != nil {
				h.t.Fatal(err)
			}
			fmt.Fprintf(&sb, "|invites %d", invites.Total)
			sb.WriteString("\n")
		}
	}
	return sb.String()
}

func metaStr(v any) string {
	s, _ := v.(string)
	return s
}

// wrongCSRF is the session's form token with its first character changed
// (never equal to it, whatever that character is).
func (b *browser) wrongCSRF() string {
	b.h.t.Helper()
	tok := b.csrf()
	c := byte('x')
	if tok[0] == c {
		c = 'y'
	}
	return string(c) + tok[1:]
}
