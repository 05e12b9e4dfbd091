package sso_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/sso"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

func oauthQuery() url.Values {
	return url.Values{"client_id": {"front"}, "redirect_uri": {appURI}, "state": {"st-1"}, "code_challenge": {"abc"},
		"code_challenge_method": {"S256"}, "scope": {"openid email profile"}, "locale": {"fr"}}
}

func body(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// assertFailed checks the public answer of a refused sign-in and the
// reason in the audit log.
func assertFailed(t *testing.T, f *fixture, resp *http.Response, reason string) {
	t.Helper()
	b := body(resp)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(b, "Authentication failed") {
		t.Fatalf("answer %d %s", resp.StatusCode, b)
	}
	if strings.Contains(b, reason) {
		t.Fatalf("the public page names the reason %q", reason)
	}
	e := f.lastEvent(identity.EventSSOSAMLFailed)
	if e == nil || e.Data["reason"] != reason {
		t.Fatalf("failed event %#v, want reason %q", e, reason)
	}
}

func TestSPInitiatedSignIn(t *testing.T) {
	f := newFixture(t)
	idp := f.connection()
	b := f.browser()
	resp := b.acs(idp, b.startLogin(idp, oauthQuery()))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("acs: %d %s", resp.StatusCode, body(resp))
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, appURI+"?code=code-for-pending-1&state=st-1") {
		t.Fatalf("redirect %q", loc)
	}
	if f.authz.begun[0].Get("code_challenge") != "abc" {
		t.Fatalf("OAuth parameters not handed over: %v", f.authz.begun[0])
	}
	in := f.authz.completed[0]
	u := in.User
	if !in.Created || in.ConnectionID != idp || in.OrgDomain != "acme-company" || in.NameID != "jane@acme.test" {
		t.Fatalf("sign-in %#v", in)
	}
	if u.Email != "jane@acme.test" || !u.Verified || u.Profile.GivenName != "Jane" || u.Profile.FamilyName != "Doe" || u.Profile.Name != "Jane Doe" {
		t.Fatalf("user %#v", u)
	}
	if u.Attributes["saml_nameid"] != "jane@acme.test" || u.Attributes["uid"] != "jdoe" || u.Attributes["first_name"] != "Jane" || u.Attributes["last_name"] != "Doe" {
		t.Fatalf("metadata %#v", u.Attributes)
	}
	keys, err := f.id.ListMetaKeys(t.Context(), f.org.Domain)
	if err != nil || len(keys) < 5 {
		t.Fatalf("metakeys %v %v", keys, err)
	}
	if e := f.lastEvent(identity.EventSSOSAMLStarted); e == nil || e.SAMLIdPID != idp {
		t.Fatalf("started event %#v", e)
	}
	if e := f.lastEvent(identity.EventSSOSAMLSuccess); e == nil || e.ResourceOwnerID != u.ID || e.Email != u.Email {
		t.Fatalf("success event %#v", e)
	}

	// Second sign-in: the same user (keyed by connection + NameID), even
	// when the IdP now asserts another email; attributes refreshed.
	f.session.UserEmail, f.session.UserGivenName = "jane.doe@acme.test", "Janet"
	resp = b.acs(idp, b.startLogin(idp, oauthQuery()))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("second acs: %d %s", resp.StatusCode, body(resp))
	}
	again := f.authz.completed[1]
	if again.Created || again.User.ID != u.ID || again.User.Profile.GivenName != "Janet" || f.userCount() != 1 {
		t.Fatalf("second sign-in %#v (users %d)", again, f.userCount())
	}

	// Without OAuth parameters the default redirection is used.
	resp = b.acs(idp, b.startLogin(idp, nil))
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != appURI+"?code=default-code" || f.authz.defaults[0] != f.app.ClientID {
		t.Fatalf("default redirection: %d %q", resp.StatusCode, loc)
	}

	// A sign-in that changes nothing of the user writes no user record:
	// its updated_at stays that of the last change; a changed attribute
	// moves it.
	stored := func() *identity.User {
		u, err := f.id.GetUser(t.Context(), f.org.Domain, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	before := stored().UpdatedAt
	f.clock.Advance(10 * time.Second)
	if resp := b.acs(idp, b.startLogin(idp, oauthQuery())); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("unchanged sign-in: %d", resp.StatusCode)
	}
	if got := stored().UpdatedAt; !got.Equal(before) {
		t.Fatalf("an unchanged sign-in moved updated_at from %s to %s", before, got)
	}
	f.session.UserGivenName = "Janette"
	if resp := b.acs(idp, b.startLogin(idp, oauthQuery())); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("changed sign-in: %d", resp.StatusCode)
	}
	if got := stored(); !got.UpdatedAt.After(before) || got.Profile.GivenName != "Janette" {
		t.Fatalf("a changed sign-in left updated_at %s (before %s), given name %q", got.UpdatedAt, before, got.Profile.GivenName)
	}
}

func TestExistingUserLinkedByEmail(t *testing.T) {
	f := newFixture(t)
	idp := f.connection()
	existing, err := f.id.CreateUser(t.Context(), f.org.Domain, identity.User{Email: "Jane@acme.test", Enabled: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	f.json(f.do("PUT", "/api/v2/sso-connections/"+idp+"/sso-user-policy", f.token, map[string]any{"user_security_type": "user_registered"}), http.StatusOK)
	b := f.browser()
	if resp := b.acs(idp, b.startLogin(idp, oauthQuery())); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("acs: %d %#v", resp.StatusCode, f.lastEvent(identity.EventSSOSAMLFailed))
	}
	if u := f.authz.completed[0].User; u.ID != existing.ID || len(u.SSOIdentities) != 1 {
		t.Fatalf("linked user %#v", u)
	}
}

func TestIdPInitiatedSignIn(t *testing.T) {
	f := newFixture(t)
	idp := f.connection()
	b := f.browser()
	// Off by default.
	assertFailed(t, f, b.acs(idp, f.idpInitiated(idp)), sso.ReasonNoRequest)
	if f.userCount() != 0 {
		t.Fatal("a user was created")
	}
	f.json(f.do("PUT", "/api/v2/sso-connections/"+idp, f.token, map[string]any{"allow_idp_initiated": true}), http.StatusOK)
	resp := b.acs(idp, f.idpInitiated(idp))
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != appURI+"?code=default-code" {
		t.Fatalf("IdP-initiated: %d %q %s", resp.StatusCode, loc, body(resp))
	}
	if f.userCount() != 1 {
		t.Fatal("user not provisioned")
	}
}

func TestSignInRefusals(t *testing.T) {
	type tc struct {
		name   string
		reason string
		run    func(t *testing.T, f *fixture, idp string, b *browser) *http.Response
	}
	for _, c := range []tc{
		{"replayed unsolicited response", "replayed", func(t *testing.T, f *fixture, idp string, b *browser) *http.Response {
			f.json(f.do("PUT", "/api/v2/sso-connections/"+idp, f.token, map[string]any{"allow_idp_initiated": true}), http.StatusOK)
			resp := f.idpInitiated(idp)
			if r := b.acs(idp, resp); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("first use: %d", r.StatusCode)
			}
			return f.browser().acs(idp, resp)
		}},
		{"replayed SP-initiated response", "in_response_to_mismatch", func(t *testing.T, f *fixture, idp string, b *browser) *http.Response {
			resp := b.startLogin(idp, oauthQuery())
			if r := b.acs(idp, resp); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("first use: %d", r.StatusCode)
			}
			// The request id was consumed: a browser holding a fresh
			// request cannot reuse the old response.
			b.get(baseURL + "/enterprise/" + idp + "/login")
			return b.acs(idp, resp)
		}},
		{"response posted to another connection's ACS", "destination_mismatch", func(t *testing.T, f *fixture, idp string, b *browser) *http.Response {
			other := f.connection()
			resp := b.startLogin(idp, oauthQuery())
			// Bind a request for the other connection too, so only the
			// addressing is wrong.
			b.get(baseURL + "/enterprise/" + other + "/login")
			return b.acs(other, resp)
		}},
		{"disabled connection at the ACS", sso.ReasonConnectionDisabled, func(t *testing.T, f *fixture, idp string, b *browser) *http.Response {
			resp := b.startLogin(idp, oauthQuery())
			f.json(f.do("PATCH", "/api/v2/sso-connections/"+idp+"/disable", f.token, nil), http.StatusOK)
			return b.acs(idp, resp)
		}},
		{"disabled connection at login", sso.ReasonConnectionDisabled, func(t *testing.T, f *fixture, idp string, b *browser) *http.Response {
			f.json(f.do("PATCH", "/api/v2/sso-connections/"+idp+"/disable", f.token, nil), http.StatusOK)
			return b.get(baseURL + "/enterprise/" + idp + "/login")
		}},
		{"JIT outside the allowed email domains", sso.ReasonEmailDomainNotAllowed, func(t *testing.T, f *fixture, idp string, b *browser) *http.Response {
			f.session.NameID, f.session.UserEmail = "mallory@evil.test", "mallory@evil.test"
			return b.acs(idp, b.startLogin(idp, oauthQuery()))
		}},
		{"asserted email of another domain for an unknown NameID", sso.ReasonEmailDomainNotAllowed, func(t *testing.T, f *fixture, idp string, b *browser) *http.Response {
			f.session.NameID, f.session.UserEmail = "opaque-123", "ceo@other.test"
			return b.acs(idp, b.startLogin(idp, oauthQuery()))
		}},
		{"JIT without a required MetaKey (the core's user rule)", sso.ReasonUserInvalid, func(t *testing.T, f *fixture, idp string, b *browser) *http.Response {
			if _, err := f.id.CreateMetaKey(context.Background(), f.org.Domain, "badge", identity.MetaString, true); err != nil {
				t.Fatal(err)
			}
			return b.acs(idp, b.startLogin(idp, oauthQuery()))
		}},
		{"user_registered policy, unknown user", sso.ReasonUserNotRegistered, func(t *testing.T, f *fixture, idp string, b *browser) *http.Response {
			f.json(f.do("PUT", "/api/v2/sso-connections/"+idp+"/sso-user-policy", f.token, map[string]any{"user_security_type": "user_registered"}), http.StatusOK)
			return b.acs(idp, b.startLogin(idp, oauthQuery()))
		}},
		{"seats limit", sso.ReasonSeatsLimitReached, func(t *testing.T, f *fixture, idp string, b *browser) *http.Response {
			f.json(f.do("PUT", "/api/v2/sso-connections/"+idp, f.token, map[string]any{"seats_limit": 1}), http.StatusOK)
			if r := b.acs(idp, b.startLogin(idp, oauthQuery())); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("first seat: %d", r.StatusCode)
			}
			// The seated user signs in again fine.
			if r := b.acs(idp, b.startLogin(idp, oauthQuery())); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("seated user again: %d", r.StatusCode)
			}
			f.session.NameID, f.session.UserEmail = "bob@acme.test", "bob@acme.test"
			return b.acs(idp, b.startLogin(idp, oauthQuery()))
		}},
		{"no request bound to the browser", sso.ReasonNoRequest, func(t *testing.T, f *fixture, idp string, b *browser) *http.Response {
			resp := b.startLogin(idp, oauthQuery())
			return f.browser().acs(idp, resp)
		}},
		{"expired response", "expired", func(t *testing.T, f *fixture, idp string, b *browser) *http.Response {
			f.json(f.do("PUT", "/api/v2/sso-connections/"+idp, f.token, map[string]any{"allow_idp_initiated": true}), http.StatusOK)
			resp := f.idpInitiated(idp)
			f.clock.Advance(10 * time.Minute)
			return b.acs(idp, resp)
		}},
		{"not yet valid response", "not_yet_valid", func(t *testing.T, f *fixture, idp string, b *browser) *http.Response {
			f.json(f.do("PUT", "/api/v2/sso-connections/"+idp, f.token, map[string]any{"allow_idp_initiated": true}), http.StatusOK)
			resp := f.idpInitiated(idp)
			f.clock.Advance(-10 * time.Minute)
			return b.acs(idp, resp)
		}},
		{"tampered response", "invalid_signature", func(t *testing.T, f *fixture, idp string, b *browser) *http.Response {
			f.plainAssertions = true
			resp := b.startLogin(idp, oauthQuery())
			raw, _ := base64.StdEncoding.DecodeString(resp)
			raw = []byte(strings.Replace(string(raw), "jane@acme.test", "joan@acme.test", 1))
			return b.acs(idp, base64.StdEncoding.EncodeToString(raw))
		}},
		{"garbage", "malformed_message", func(t *testing.T, f *fixture, idp string, b *browser) *http.Response {
			b.get(baseURL + "/enterprise/" + idp + "/login")
			return b.acs(idp, "%%%not base64")
		}},
		{"oversized body", "message_too_large", func(t *testing.T, f *fixture, idp string, b *browser) *http.Response {
			return b.acs(idp, strings.Repeat("A", 2<<20))
		}},
		{"metadata never uploaded", sso.ReasonNotConfigured, func(t *testing.T, f *fixture, idp string, b *browser) *http.Response {
			f.json(f.do("PUT", "/api/v2/sso-connections/"+idp, f.token, map[string]any{"metadata": ""}), http.StatusOK)
			return b.get(baseURL + "/enterprise/" + idp + "/login")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			idp := f.connection()
			users := f.userCount()
			resp := c.run(t, f, idp, f.browser())
			after := f.userCount()
			assertFailed(t, f, resp, c.reason)
			if !strings.Contains(c.name, "replayed") && c.reason != sso.ReasonSeatsLimitReached && after != users {
				t.Fatalf("users %d -> %d", users, after)
			}
		})
	}
}

func TestInvalidOAuthRequestIsNotRedirected(t *testing.T) {
	f := newFixture(t)
	idp := f.connection()
	q := oauthQuery()
	q.Set("redirect_uri", "https://evil.test/")
	b := f.browser()
	resp := b.get(baseURL + "/enterprise/" + idp + "/login?" + q.Encode())
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	resp = b.get(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestSPMetadataEndpoint(t *testing.T) {
	f := newFixture(t)
	out := f.json(f.do("POST", "/api/v2/sso-connections", f.token, map[string]any{
		"organization_id": f.org.ID, "application_id": f.app.ClientID}), http.StatusCreated)
	idp := out["id"].(string)
	// Served before the IdP metadata exists (the admin needs it first).
	resp := f.browser().get(baseURL + "/enterprise/" + idp + "/metadata?download=1")
	b := body(resp)
	if resp.StatusCode != 200 || !strings.Contains(b, `entityID="`+baseURL+`/enterprise/`+idp+`/metadata"`) ||
		!strings.Contains(b, baseURL+"/enterprise/"+idp+"/acs") || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, b)
	}
	if r := f.browser().get(baseURL + "/enterprise/acme_company_AAAAAAAAAAAAAAAAAAAAAA/metadata"); r.StatusCode != 404 {
		t.Fatalf("unknown connection: %d", r.StatusCode)
	}
}

func TestStoreReplayCache(t *testing.T) {
	f := newFixture(t)
	c := sso.NewStoreReplayCache(f.id.Backend(kv.Inside()), f.clock.Now)
	ctx := context.Background()
	until := f.clock.Now().Add(time.Hour)
	ok, err := c.Claim(ctx, "conn", "id-1", until)
	if err != nil || !ok {
		t.Fatalf("first claim %v %v", ok, err)
	}
	// A second instance over the same store sees it.
	c2 := sso.NewStoreReplayCache(f.id.Backend(kv.Inside()), f.clock.Now)
	if ok, _ := c2.Claim(ctx, "conn", "id-1", until); ok {
		t.Fatal("replay accepted by another instance")
	}
	if ok, _ := c.Claim(ctx, "other-conn", "id-1", until); !ok {
		t.Fatal("ids are per connection")
	}
	// Concurrent claims: exactly one wins.
	wins := make(chan bool, 16)
	for range 16 {
		go func() { ok, _ := c.Claim(ctx, "conn", "race", until); wins <- ok }()
	}
	n := 0
	for range 16 {
		if <-wins {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d concurrent claims won", n)
	}
	// Swept after expiry.
	if _, err := kv.SweepExpired(ctx, f.id.KVStore(kv.Inside()), until.Add(time.Minute), 100); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Claim(ctx, "conn", "id-1", until.Add(2*time.Hour)); !ok {
		t.Fatal("entry not swept")
	}
}

// TestReplayAcrossInstances: two server instances over one store share the
// replay cache, so a response consumed by one is refused by the other.
func TestReplayAcrossInstances(t *testing.T) {
	f := newFixture(t)
	idp := f.connection()
	f.json(f.do("PUT", "/api/v2/sso-connections/"+idp, f.token, map[string]any{"allow_idp_initiated": true}), http.StatusOK)
	second, err := sso.New(sso.Options{Identity: f.id, BaseURL: baseURL, Authorizations: f.authz})
	if err != nil {
		t.Fatal(err)
	}
	resp := f.idpInitiated(idp)
	if r := f.browser().acs(idp, resp); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("first instance: %d", r.StatusCode)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", baseURL+"/enterprise/"+idp+"/acs", strings.NewReader(url.Values{"SAMLResponse": {resp}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	second.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Fatalf("second instance accepted a replay: %d", rec.Code)
	}
	if e := f.lastEvent(identity.EventSSOSAMLFailed); e == nil || e.Data["reason"] != "replayed" {
		t.Fatalf("event %#v", e)
	}
}

// recordingStore records, for each read-write transaction that commits,
// the keys it wrote.
type recordingStore struct {
	identity.Store
	mu      sync.Mutex
	commits [][]string
}

type recordingTx struct {
	identity.Tx
	keys *[]string
}

func (t recordingTx) Put(k, v []byte) error {
	*t.keys = append(*t.keys, string(k))
	return t.Tx.Put(k, v)
}

func (s *recordingStore) Update(ctx context.Context, fn func(tx identity.Tx) error) error {
	var keys []string
	err := s.Store.Update(ctx, func(tx identity.Tx) error {
		keys = keys[:0]
		return fn(recordingTx{tx, &keys})
	})
	if err == nil {
		s.mu.Lock()
		s.commits = append(s.commits, keys)
		s.mu.Unlock()
	}
	return err
}

func (s *recordingStore) Volatile() bool { return true }

// since returns the commits after the first n.
func (s *recordingStore) since(n int) [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]string(nil), s.commits[n:]...)
}

func (s *recordingStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.commits)
}

// TestACSClaimsInTheProvisioningTransaction: with the default store-backed
// replay cache, the ACS claims the assertion in the transaction that
// provisions the user (one commit holds the replay entry and the user);
// with a replay cache of its own (an explicit Options.ReplayCache) the
// claim is a commit of its own. Either way the claim refuses the replay on
// both instances.
func TestACSClaimsInTheProvisioningTransaction(t *testing.T) {
	store := &recordingStore{Store: memory.New()}
	f := newFixtureOn(t, store)
	idp := f.connection()
	f.json(f.do("PUT", "/api/v2/sso-connections/"+idp, f.token, map[string]any{"allow_idp_initiated": true}), http.StatusOK)
	own, err := sso.New(sso.Options{Identity: f.id, BaseURL: baseURL, Authorizations: f.authz,
		ReplayCache: sso.NewStoreReplayCache(f.id.Backend(kv.Inside()), f.clock.Now)})
	if err != nil {
		t.Fatal(err)
	}
	post := func(h http.Handler, resp string) int {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", baseURL+"/enterprise/"+idp+"/acs", strings.NewReader(url.Values{"SAMLResponse": {resp}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	// claimCommit signs in through h and returns what the commit that
	// wrote the replay entry also wrote.
	claimCommit := func(h http.Handler, resp string) (user bool) {
		t.Helper()
		n := store.count()
		if code := post(h, resp); code != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", code)
		}
		found := 0
		for _, keys := range store.since(n) {
			replay, u := false, false
			for _, k := range keys {
				replay = replay || strings.Contains(k, "\x00sso-saml-replay\x00")
				u = u || strings.Contains(k, "\x00user\x00")
			}
			if replay {
				found++
				user = u
			}
		}
		if found != 1 {
			t.Fatalf("%d commits wrote the replay entry", found)
		}
		return user
	}
	resp := f.idpInitiated(idp)
	if !claimCommit(f.mux, resp) {
		t.Fatal("the default cache claimed outside the provisioning transaction")
	}
	if claimCommit(own.Handler(), f.idpInitiated(idp)) {
		t.Fatal("an explicit replay cache claimed inside the provisioning transaction")
	}
	for _, h := range []http.Handler{f.mux, own.Handler()} {
		if code := post(h, resp); code != http.StatusForbidden {
			t.Fatalf("replay accepted: %d", code)
		}
		if e := f.lastEvent(identity.EventSSOSAMLFailed); e == nil || e.Data["reason"] != "replayed" {
			t.Fatalf("event %#v", e)
		}
	}
}

// TestRefusedAssertionStaysClaimed: an assertion that passed the SAML
// checks but that the connection's rules refused is claimed all the same
// (the refused provisioning transaction does not take the claim with it):
// once the rule no longer refuses it, presenting it again is a replay.
func TestRefusedAssertionStaysClaimed(t *testing.T) {
	f := newFixture(t)
	idp := f.connection()
	f.json(f.do("PUT", "/api/v2/sso-connections/"+idp, f.token, map[string]any{"allow_idp_initiated": true}), http.StatusOK)
	f.session.NameID, f.session.UserEmail = "joe@other.test", "joe@other.test"
	resp := f.idpInitiated(idp)
	assertFailed(t, f, f.browser().acs(idp, resp), sso.ReasonEmailDomainNotAllowed)
	domains := []string{"acme.test", "other.test"}
	if _, err := f.id.UpdateOrganization(context.Background(), f.org.Domain, identity.OrganizationInput{AllowedEmailDomains: &domains}); err != nil {
		t.Fatal(err)
	}
	if r := f.browser().acs(idp, f.idpInitiated(idp)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("a fresh assertion once the domain is allowed: %d", r.StatusCode)
	}
	assertFailed(t, f, f.browser().acs(idp, resp), "replayed")
}

// TestConnectionChangeSeenByNextSignIn: the sign-in paths reuse a decoded
// connection only while its stored bytes are unchanged, so deactivating a
// connection (here through the API, as another instance would) refuses
// the very next sign-in, and reactivating it lets the one after through.
func TestConnectionChangeSeenByNextSignIn(t *testing.T) {
	f := newFixture(t)
	idp := f.connection()
	b := f.browser()
	if resp := b.acs(idp, b.startLogin(idp, oauthQuery())); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first sign-in: %d %s", resp.StatusCode, body(resp))
	}
	f.json(f.do("PUT", "/api/v2/sso-connections/"+idp, f.token, map[string]any{"active": false}), http.StatusOK)
	if resp := f.browser().get(baseURL + "/enterprise/" + idp + "/login?" + oauthQuery().Encode()); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-in on a deactivated connection: %d %s", resp.StatusCode, body(resp))
	}
	f.json(f.do("PUT", "/api/v2/sso-connections/"+idp, f.token, map[string]any{"active": true}), http.StatusOK)
	b = f.browser()
	if resp := b.acs(idp, b.startLogin(idp, oauthQuery())); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in after reactivation: %d %s", resp.StatusCode, body(resp))
	}
}
