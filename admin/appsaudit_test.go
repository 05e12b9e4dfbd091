package admin_test

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/sso"
	"github.com/gatehouse-id/gatehouse/tokens"
)

// TestApplicationMetaKeys: an admin adds a MetaKey (typed, required) from
// an application's page and deletes one after a confirmation; bad input
// answers the field's message and changes nothing; a viewer sees no form
// and is refused; every change names the admin as actor.
func TestApplicationMetaKeys(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	b, adm := h.member(identity.ConsoleAdmin)
	page := "/orgs/alpha/apps/" + h.alphaApp.ClientID
	r := b.get(page)
	if r.status != http.StatusOK || !strings.Contains(r.body, "<code>alpha_plan</code>") || strings.Contains(r.body, "beta_plan") ||
		!strings.Contains(r.body, page+"/metakeys") {
		t.Fatalf("app page: %d %s", r.status, r.body)
	}
	r = b.postCSRF(page+"/metakeys", url.Values{"metakey_name": {"seats"}, "metakey_type": {"Integer"}, "metakey_required": {"on"}})
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "done=metakeys.created") {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	keys, err := h.ids.ListMetaKeys(ctx, "alpha")
	if err != nil || len(keys) != 2 || keys[1].Name != "seats" || keys[1].Type != identity.MetaInteger || !keys[1].Required {
		t.Fatalf("keys = %+v %v", keys, err)
	}
	if r := b.get(page); !strings.Contains(r.body, "<code>seats</code></td><td>integer</td><td>Yes</td>") {
		t.Errorf("the new key is not listed: %s", r.body)
	}

	// Bad input: the field's message, and nothing changes.
	before := h.state()
	for _, c := range []struct {
		form   url.Values
		status int
		field  string
	}{
		{url.Values{"metakey_name": {""}, "metakey_type": {"string"}}, http.StatusUnprocessableEntity, "metakey_name"},
		{url.Values{"metakey_name": {"-bad name!"}, "metakey_type": {"string"}}, http.StatusUnprocessableEntity, "metakey_name"},
		{url.Values{"metakey_name": {"ok"}, "metakey_type": {"rocket"}}, http.StatusUnprocessableEntity, "metakey_type"},
		{url.Values{"metakey_name": {"seats"}, "metakey_type": {"string"}}, http.StatusConflict, "metakey_name"},
	} {
		r := b.postCSRF(page+"/metakeys", c.form)
		if r.status != c.status || !strings.Contains(r.body, `id="e-`+c.field+`"`) || !strings.Contains(r.body, `href="#f-`+c.field+`"`) {
			t.Errorf("%v: %d, no message for %s: %s", c.form, r.status, c.field, r.body)
		}
		if !strings.Contains(r.body, `value="`+html.EscapeString(c.form.Get("metakey_name"))+`"`) {
			t.Errorf("%v: what was typed is lost", c.form)
		}
	}
	if after := h.state(); after != before {
		t.Errorf("bad input changed the directory:\n%s\n%s", before, after)
	}

	// Delete: a confirmation first, then the key goes with its values.
	if _, err := h.ids.SetUserMetadata(ctx, "alpha", h.alphaU.ID, "alpha_plan", "gold"); err != nil {
		t.Fatal(err)
	}
	r = b.postCSRF(page+"/metakeys/delete", url.Values{"metakey_name": {"alpha_plan"}})
	if r.status != http.StatusOK || !strings.Contains(r.body, `name="confirm" value="yes"`) {
		t.Fatalf("confirmation: %d %s", r.status, r.body)
	}
	if keys, _ := h.ids.ListMetaKeys(ctx, "alpha"); len(keys) != 2 {
		t.Fatal("deleted without confirmation")
	}
	if r := b.postCSRF(page+"/metakeys/delete", url.Values{"metakey_name": {"nope"}, "confirm": {"yes"}}); r.status != http.StatusNotFound {
		t.Errorf("unknown key: %d", r.status)
	}
	// Beta's key through alpha's application is unknown.
	if r := b.postCSRF(page+"/metakeys/delete", url.Values{"metakey_name": {"beta_plan"}, "confirm": {"yes"}}); r.status != http.StatusNotFound {
		t.Errorf("beta's key: %d", r.status)
	}
	r = b.postCSRF(page+"/metakeys/delete", url.Values{"metakey_name": {"alpha_plan"}, "confirm": {"yes"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	keys, _ = h.ids.ListMetaKeys(ctx, "alpha")
	u, _ := h.ids.GetUser(ctx, "alpha", h.alphaU.ID)
	if len(keys) != 1 || keys[0].Name != "seats" || u.Attributes["alpha_plan"] != nil {
		t.Fatalf("after delete: keys %+v, attributes %v", keys, u.Attributes)
	}

	// A viewer sees the keys but no form, and is refused.
	v, _ := h.member(identity.ConsoleViewer)
	r = v.get(page)
	if r.status != http.StatusOK || !strings.Contains(r.body, "<code>seats</code>") || strings.Contains(r.body, "/metakeys") {
		t.Errorf("viewer's page: %d %s", r.status, r.body)
	}
	before = h.state()
	for p, f := range map[string]url.Values{page + "/metakeys": {"metakey_name": {"v"}, "metakey_type": {"string"}},
		page + "/metakeys/delete": {"metakey_name": {"seats"}, "confirm": {"yes"}}} {
		if r := v.postCSRF(p, f); r.status != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d", p, r.status)
		}
		if r := b.post(p, f); r.status != http.StatusForbidden {
			t.Errorf("POST %s without a form token: %d", p, r.status)
		}
	}
	if after := h.state(); after != before {
		t.Errorf("refused POSTs changed the directory:\n%s\n%s", before, after)
	}
	ev, err := h.ids.ListEvents(ctx, "alpha", identity.EventFilter{ActorID: adm.ID}, identity.PageRequest{PerPage: 50})
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]int{}
	for _, e := range ev.Items {
		codes[e.Code]++
	}
	if codes[identity.EventMetaKeyCreated] != 1 || codes[identity.EventMetaKeyDeleted] != 1 {
		t.Errorf("events of the admin: %v", codes)
	}
}

var reClaimRow = regexp.MustCompile(`<th scope="row"><code>([^<]+)</code></th><td><pre>([^<]*)</pre>`)

// claimTable reads the decoded claims of one token of the sample.
func claimTable(t *testing.T, body, id string) map[string]string {
	t.Helper()
	i := strings.Index(body, `id="claims-`+id+`"`)
	if i < 0 {
		t.Fatalf("no %s token table: %s", id, body)
	}
	part := body[i:]
	if j := strings.Index(part[1:], `<h3 id="claims-`); j > 0 {
		part = part[:j]
	}
	out := map[string]string{}
	for _, m := range reClaimRow.FindAllStringSubmatch(part, -1) {
		out[m[1]] = html.UnescapeString(m[2])
	}
	return out
}

// TestApplicationJWTSample: the application page shows the decoded claims
// of an access token and an ID token: without a user, the MetaKeys'
// descriptions; for a user chosen by email, the issuer's own claims
// (MetaData, profile, the application's algorithm). An unknown or other
// organization's user is a field message.
func TestApplicationJWTSample(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	b, _ := h.member(identity.ConsoleViewer) // reading the sample needs no write role
	if _, err := h.ids.UpdateApplication(ctx, "alpha", h.alphaApp.ClientID, func(a *identity.Application) error {
		a.SigningAlg = "ES256"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.ids.SetUserMetadata(ctx, "alpha", h.alphaU.ID, "alpha_plan", "gold"); err != nil {
		t.Fatal(err)
	}
	page := "/orgs/alpha/apps/" + h.alphaApp.ClientID
	r := b.get(page)
	if r.status != http.StatusOK || !strings.Contains(r.body, "Sample without a user") || !strings.Contains(r.body, "<code>ES256</code>") {
		t.Fatalf("sample without user: %d %s", r.status, r.body)
	}
	at, id := claimTable(t, r.body, "access"), claimTable(t, r.body, "id")
	if at["cid"] != `"`+h.alphaApp.ClientID+`"` || at["jtt"] != `"access"` || at["tnt"] != `"alpha"` || at["sub"] != "null" {
		t.Errorf("access claims: %v", at)
	}
	if !strings.Contains(id["resource_owner_metadata"], `"alpha_plan"`) || !strings.Contains(id["resource_owner_metadata"], `"type": "string"`) ||
		id["jtt"] != `"openid"` {
		t.Errorf("id claims: %v", id)
	}

	r = b.get(page + "?sample_user=" + url.QueryEscape("jane@alpha.test"))
	if r.status != http.StatusOK || !strings.Contains(r.body, "Sample for <strong>jane@alpha.test</strong>") {
		t.Fatalf("sample for jane: %d %s", r.status, r.body)
	}
	at, id = claimTable(t, r.body, "access"), claimTable(t, r.body, "id")
	if at["sub"] != `"`+h.alphaU.ID+`"` || at["email"] != `"jane@alpha.test"` || at["ips"] != `"cryptr"` {
		t.Errorf("access claims for jane: %v", at)
	}
	if !strings.Contains(id["resource_owner_metadata"], `"alpha_plan": "gold"`) || id["name"] != `"Jane alpha"` || id["nonce"] != `"*"` {
		t.Errorf("id claims for jane: %v", id)
	}
	if !strings.Contains(r.body, "<summary>Decoded JSON</summary>") || !strings.Contains(r.body, "&#34;resource_owner_metadata&#34;: {") {
		t.Errorf("no decoded JSON: %s", r.body)
	}

	// Beta's user, an unknown one, a malformed one: a field message.
	for _, q := range []string{"jane@beta.test", "nobody@alpha.test", "not an email"} {
		r := b.get(page + "?sample_user=" + url.QueryEscape(q))
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, `id="e-sample_user"`) || strings.Contains(r.body, h.betaU.ID) {
			t.Errorf("sample_user %q: %d %s", q, r.status, r.body)
		}
	}
	// Without Options.JWTSamples the page has the MetaKeys only.
	h2 := newHarness(t, harnessOpt{prefix: "/admin", noSamples: true})
	r = h2.signedIn(h2.owner.UserID).get("/orgs/alpha/apps/" + h2.alphaApp.ClientID)
	if r.status != http.StatusOK || strings.Contains(r.body, "JWT sample") || !strings.Contains(r.body, "alpha_plan") {
		t.Errorf("page without samples: %d %s", r.status, r.body)
	}
}

// TestApplicationRedirectsOriginsAndAlgorithm: the settings form edits the
// redirect URIs, logout URLs, web origins and signing algorithm; a bad URI
// or algorithm is the field's message and changes nothing.
func TestApplicationRedirectsOriginsAndAlgorithm(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	// (An admin limited to alpha may not change an application that
	// serves every organization: the core's rule.)
	b, _ := h.member(identity.ConsoleAdmin)
	page := "/orgs/alpha/apps/" + h.alphaApp.ClientID
	r := b.postCSRF(page, url.Values{"name": {"alpha web"}, "allowed_redirect_urls": {"https://alpha.test/cb\nhttps://alpha.test/cb2"},
		"allowed_logout_urls": {"https://alpha.test/bye"}, "allowed_web_origins": {"https://alpha.test"},
		"allowed_origins_cors": {"https://spa.alpha.test, https://spa2.alpha.test"}, "signing_alg": {"EdDSA"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", r.status, r.body)
	}
	a, err := h.ids.GetApplication(ctx, "alpha", h.alphaApp.ClientID)
	if err != nil || strings.Join(a.AllowedRedirectURLs, " ") != "https://alpha.test/cb https://alpha.test/cb2" ||
		strings.Join(a.AllowedLogoutURLs, " ") != "https://alpha.test/bye" || strings.Join(a.AllowedWebOrigins, " ") != "https://alpha.test" ||
		strings.Join(a.AllowedOriginsCORS, " ") != "https://spa.alpha.test https://spa2.alpha.test" || a.SigningAlg != "EdDSA" {
		t.Fatalf("saved: %+v %v", a, err)
	}
	r = b.get(page)
	if !strings.Contains(r.body, "<option selected>EdDSA</option>") || !strings.Contains(r.body, "https://alpha.test/cb2") ||
		!strings.Contains(r.body, "https://spa.alpha.test\nhttps://spa2.alpha.test</textarea>") || !strings.Contains(r.body, "<code>EdDSA</code>") {
		t.Errorf("the page does not show the saved settings (or the sample's algorithm): %s", r.body)
	}
	// The sample's audience is the first CORS origin, as the issuer's.
	if at := claimTable(t, r.body, "access"); at["aud"] != `"https://spa.alpha.test"` {
		t.Errorf("sample aud = %s", at["aud"])
	}
	before := h.state()
	for field, form := range map[string]url.Values{
		"signing_alg":           {"name": {"alpha web"}, "signing_alg": {"none"}},
		"allowed_redirect_urls": {"name": {"alpha web"}, "allowed_redirect_urls": {"javascript:alert(1)"}, "signing_alg": {"RS256"}},
		"allowed_web_origins":   {"name": {"alpha web"}, "allowed_web_origins": {"not a url"}, "signing_alg": {"RS256"}},
		"allowed_origins_cors":  {"name": {"alpha web"}, "allowed_origins_cors": {"https://spa.alpha.test/path"}, "signing_alg": {"RS256"}},
	} {
		r := b.postCSRF(page, form)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="e-`+field+`"`) {
			t.Errorf("bad %s: %d %s", field, r.status, r.body)
		}
	}
	if after := h.state(); after != before {
		t.Errorf("bad input changed the directory:\n%s\n%s", before, after)
	}
	if a2, _ := h.ids.GetApplication(ctx, "alpha", h.alphaApp.ClientID); a2.SigningAlg != "EdDSA" {
		t.Errorf("algorithm changed to %q", a2.SigningAlg)
	}
}

// TestSSOConnectionEdit: an admin changes a connection's state, seats and
// user policy; bad input is the field's message and changes nothing; a
// viewer, a CSRF-less POST and an admin of another organization are
// refused.
func TestSSOConnectionEdit(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	b, adm := h.member(identity.ConsoleAdmin, "alpha")
	page := "/orgs/alpha/sso/" + h.alphaConn
	r := b.get(page)
	if r.status != http.StatusOK || !strings.Contains(r.body, `action="/admin`+page+`"`) ||
		!strings.Contains(r.body, `id="f-active" name="active" type="checkbox" checked`) {
		t.Fatalf("connection page: %d %s", r.status, r.body)
	}
	r = b.postCSRF(page, url.Values{"seats_limit": {"25"}, "user_security_type": {sso.UserSecurityUserRegistered}})
	if r.status != http.StatusSeeOther || !strings.HasSuffix(r.header.Get("Location"), "?done=sso.saved") {
		t.Fatalf("save: %d %s", r.status, r.body)
	}
	d, err := h.sso.GetConnection(ctx, h.ids, h.alphaConn)
	if err != nil || d.Connection.Active || d.Connection.SeatsLimit != 25 || d.Connection.UserSecurityType != sso.UserSecurityUserRegistered {
		t.Fatalf("connection = %+v %v", d.Connection, err)
	}
	if r := b.get(page + "?done=sso.saved"); !strings.Contains(r.body, "<dd>Disabled</dd>") || !strings.Contains(r.body, "<dd>25</dd>") ||
		!strings.Contains(r.body, "Only users already in the directory</dd>") || !strings.Contains(r.body, "Connection saved.") {
		t.Errorf("page after save: %s", r.body)
	}
	ev, err := h.ids.ListEvents(ctx, "alpha", identity.EventFilter{Code: identity.EventSSOConnectionDisabled}, identity.PageRequest{})
	if err != nil || ev.Total != 1 || ev.Items[0].ActorID != adm.ID || ev.Items[0].SAMLIdPID != h.alphaConn {
		t.Errorf("disabled event: %+v %v", ev, err)
	}
	// Active again, no limit.
	if r := b.postCSRF(page, url.Values{"active": {"on"}, "seats_limit": {""}, "user_security_type": {sso.UserSecurityNone}}); r.status != http.StatusSeeOther {
		t.Fatalf("re-enable: %d %s", r.status, r.body)
	}
	if d, _ := h.sso.GetConnection(ctx, h.ids, h.alphaConn); !d.Connection.Active || d.Connection.SeatsLimit != 0 {
		t.Fatalf("connection = %+v", d.Connection)
	}

	v, _ := h.member(identity.ConsoleViewer)
	before := h.state()
	for _, c := range []struct {
		form  url.Values
		field string
	}{
		{url.Values{"seats_limit": {"many"}, "user_security_type": {sso.UserSecurityNone}}, "seats_limit"},
		{url.Values{"seats_limit": {"-1"}, "user_security_type": {sso.UserSecurityNone}}, "seats_limit"},
		{url.Values{"seats_limit": {"99999999999999999999"}, "user_security_type": {sso.UserSecurityNone}}, "seats_limit"},
		{url.Values{"seats_limit": {"2"}, "user_security_type": {"everyone"}}, "user_security_type"},
	} {
		r := b.postCSRF(page, c.form)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="e-`+c.field+`"`) {
			t.Errorf("%v: %d %s", c.form, r.status, r.body)
		}
	}
	if after := h.state(); after != before {
		t.Errorf("bad input changed the connections:\n%s\n%s", before, after)
	}
	// Refused: a viewer, a POST without the form token, beta's connection
	// for an admin of alpha (by its path or through alpha's).
	if r := v.get(page); strings.Contains(r.body, `name="seats_limit"`) {
		t.Error("the viewer sees the settings form")
	}
	form := url.Values{"seats_limit": {"1"}, "user_security_type": {sso.UserSecurityUserRegistered}}
	if r := v.postCSRF(page, form); r.status != http.StatusForbidden {
		t.Errorf("viewer: %d", r.status)
	}
	if r := b.post(page, form); r.status != http.StatusForbidden {
		t.Errorf("no form token: %d", r.status)
	}
	for _, p := range []string{"/orgs/beta/sso/" + h.betaConn, "/orgs/alpha/sso/" + h.betaConn} {
		if r := b.postCSRF(p, form); r.status != http.StatusNotFound {
			t.Errorf("alpha's admin POST %s: %d", p, r.status)
		}
	}
	if after := h.state(); after != before {
		t.Errorf("refused requests changed the connections:\n%s\n%s", before, after)
	}
}

// TestAuditPageShowsTheOrganizationsAPIKeys: the audit page of an
// organization lists the events of the API keys that reach it, not those
// of another organization's key.
func TestAuditPageShowsTheOrganizationsAPIKeys(t *testing.T) {
	h := newHarness(t)
	b := h.signedIn(h.owner.UserID)
	mk := func(org string) string {
		t.Helper()
		r := b.postCSRF("/keys", url.Values{"name": {org + " key"}, "orgs": {org}, "access": {"readonly"}})
		if r.status != http.StatusCreated && r.status != http.StatusOK {
			t.Fatalf("create %s key: %d %s", org, r.status, r.body)
		}
		keys, err := h.ids.ListCredentials(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if k.Name == org+" key" {
				return k.ID
			}
		}
		t.Fatalf("no %s key", org)
		return ""
	}
	alphaKey, betaKey := mk("alpha"), mk("beta")
	r := b.get("/orgs/alpha/events?code=CREDENTIAL_CREATED")
	if r.status != http.StatusOK || !strings.Contains(r.body, alphaKey) || strings.Contains(r.body, betaKey) {
		t.Fatalf("alpha's audit page: %d %s", r.status, r.body)
	}
	csv := b.get("/orgs/alpha/events.csv")
	if !strings.Contains(csv.body, "CREDENTIAL_CREATED") || !strings.Contains(csv.body, alphaKey) || strings.Contains(csv.body, betaKey) {
		t.Errorf("alpha's CSV: %s", csv.body)
	}
	if r := b.postCSRF("/keys/"+alphaKey+"/revoke", nil); r.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := b.get("/orgs/alpha/events?code=CREDENTIAL_DELETED"); !strings.Contains(r.body, alphaKey) {
		t.Errorf("the revocation is not in alpha's log: %s", r.body)
	}
	if r := b.get("/orgs/beta/events"); strings.Contains(r.body, alphaKey) || !strings.Contains(r.body, betaKey) {
		t.Errorf("beta's audit page: %s", r.body)
	}
	// An admin limited to beta does not see alpha's key events.
	a, _ := h.member(identity.ConsoleAdmin, "beta")
	if r := a.get("/orgs/alpha/events"); r.status != http.StatusNotFound {
		t.Errorf("beta's admin reads alpha's log: %d", r.status)
	}
}

// TestApplicationJWTSampleWithTheHostsClaims: the console's sample carries
// the host's custom claims (tokens.ClaimsUpdater), and a hook that refuses
// leaves the page up with a message, not an error page.
func TestApplicationJWTSampleWithTheHostsClaims(t *testing.T) {
	hook := tokens.ClaimsUpdaterFunc(func(_ context.Context, req *tokens.TokenRequest, c *tokens.Claims) error {
		if req.User.Email == "refused@alpha.test" {
			return errors.New("no billing account")
		}
		if c.Extra == nil {
			c.Extra = map[string]any{}
		}
		c.Extra["billing_id"] = "B-" + req.User.Profile.Name
		return nil
	})
	h := newHarness(t, harnessOpt{prefix: "/admin", claims: hook})
	if _, err := h.ids.CreateUser(context.Background(), "alpha", identity.User{Email: "refused@alpha.test", Enabled: true}, ""); err != nil {
		t.Fatal(err)
	}
	b := h.signedIn(h.owner.UserID)
	page := "/orgs/alpha/apps/" + h.alphaApp.ClientID
	r := b.get(page + "?sample_user=jane@alpha.test")
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if at, id := claimTable(t, r.body, "access"), claimTable(t, r.body, "id"); at["billing_id"] != `"B-Jane alpha"` || id["billing_id"] != `"B-Jane alpha"` {
		t.Errorf("custom claim: access %v, id %v", at, id)
	}
	r = b.get(page + "?sample_user=refused@alpha.test")
	if r.status != http.StatusOK || !strings.Contains(r.body, "The sample could not be built") || strings.Contains(r.body, `id="claims-access"`) ||
		strings.Contains(r.body, "no billing account") || !strings.Contains(r.body, "<code>alpha_plan</code>") {
		t.Errorf("refused hook: %d %s", r.status, r.body)
	}
}

// TestSSOPageFormsKeepEachOther: a refused onboarding form leaves the
// settings form showing what is stored (so saving it next changes
// nothing unasked), and a refused settings form keeps the onboarding's
// email.
func TestSSOPageFormsKeepEachOther(t *testing.T) {
	h := newHarness(t)
	b, _ := h.member(identity.ConsoleAdmin)
	page := "/orgs/alpha/sso/" + h.alphaConn
	r := b.postCSRF(page+"/onboarding", url.Values{"sso_admin_email": {"not an email"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="f-active" name="active" type="checkbox" checked`) ||
		!strings.Contains(r.body, `name="seats_limit" type="text" value="0"`) || !strings.Contains(r.body, `value="not an email"`) {
		t.Errorf("refused onboarding: %d %s", r.status, r.body)
	}
	r = b.postCSRF(page, url.Values{"seats_limit": {"x"}, "user_security_type": {"none"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `value="it@alpha.test"`) ||
		strings.Contains(r.body, `type="checkbox" checked> <label for="f-active"`) || !strings.Contains(r.body, `value="x"`) {
		t.Errorf("refused settings: %d %s", r.status, r.body)
	}
}
