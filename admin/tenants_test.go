package admin_test

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/profile"
)

// crafterHarness is a harness with the Crafter face: alpha's and beta's
// tenants have the roles EDITOR and AUDITOR and the definition "plan"
// (open to every application), and each organization's user holds
// EDITOR and plan=pro.
func crafterHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, harnessOpt{prefix: "/admin", crafter: true})
	ctx := context.Background()
	full := h.crafter.CredentialFor(h.ids)
	for _, org := range []string{"alpha", "beta"} {
		if _, err := h.crafter.UpdateTenant(ctx, full, profile.TenantInput{Name: org, AvailableRoles: []string{"EDITOR", "AUDITOR"},
			AttributeDefinitions: []profile.AttributeDefinition{{Name: "plan", Metadata: map[string]any{"type": "TEXT", "label": "Plan"},
				Permissions: []profile.AttributePermission{{Application: "*", AllowedActions: []string{"*"}}}}}}); err != nil {
			t.Fatal(err)
		}
		u := h.alphaU
		if org == "beta" {
			u = h.betaU
		}
		if _, err := h.ids.UpdateUser(ctx, org, u.ID, func(u *identity.User) error {
			u.Roles = []string{"EDITOR"}
			if u.Attributes == nil {
				u.Attributes = map[string]any{}
			}
			u.Attributes["plan"] = "pro"
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// tenantState is what the owner's unscoped services see of both
// environments' tenants, their users' roles and attributes, and the
// access tokens: a refused request must leave it unchanged.
func (h *harness) tenantState() string {
	h.t.Helper()
	ctx := context.Background()
	var sb strings.Builder
	sb.WriteString(h.state())
	for _, env := range []identity.Environment{identity.Production, identity.Sandbox} {
		s, _ := h.ids.ForEnvironment(env)
		full := h.crafter.CredentialFor(s)
		for _, org := range []string{"alpha", "beta"} {
			tn, err := h.crafter.GetTenant(ctx, full, org)
			if err != nil {
				h.t.Fatal(err)
			}
			fmt.Fprintf(&sb, "%s %s verify=%v roles=%v\n", env, org, tn.VerifyNewProfiles, tn.AvailableRoles)
			for _, d := range tn.AttributeDefinitions {
				fmt.Fprintf(&sb, "  def %s %v %v %+v %v\n", d.Name, d.Metadata, d.DefaultValue, d.Permissions, d.Indexed)
			}
			users, _ := s.ListUsers(ctx, org, identity.PageRequest{PerPage: 100})
			for _, u := range users.Items {
				keys := make([]string, 0, len(u.Attributes))
				for k, v := range u.Attributes {
					keys = append(keys, fmt.Sprintf("%s=%v", k, v))
				}
				sort.Strings(keys)
				fmt.Fprintf(&sb, "  user %s %v %v\n", u.Email, u.Roles, keys)
			}
		}
		toks, err := h.crafter.AllAccessTokens(ctx, full)
		if err != nil {
			h.t.Fatal(err)
		}
		for _, tk := range toks {
			fmt.Fprintf(&sb, "%s token %s %s %+v\n", env, tk.CredentialID, tk.Application, tk.TenantPermissions)
		}
	}
	return sb.String()
}

// tenantPosts are the Crafter POST routes of alpha's tenant and the
// access tokens, each with a form that would change something.
func tenantPosts(h *harness, tokenID string) map[string]url.Values {
	tp := "/orgs/alpha/tenant"
	return map[string]url.Values{
		tp + "/verify":                        {"verify_new_profiles": {"on"}},
		tp + "/roles":                         {"roles": {"OWNED"}},
		tp + "/roles/remove":                  {"role": {"EDITOR"}, "confirm": {"yes"}},
		tp + "/attributes":                    {"name": {"owned"}, "app_0": {"*"}, "perm_0": {"READ_ATTRIBUTE"}},
		tp + "/attribute":                     {"name": {"plan"}, "label": {"Owned"}},
		tp + "/attribute/remove":              {"name": {"plan"}, "confirm": {"yes"}},
		"/keys/tokens":                        {"application": {"owned"}, "master": {"on"}},
		"/keys/tokens/" + tokenID + "/revoke": {},
	}
}

// seedToken creates a production access token through the face and
// returns its credential id.
func seedToken(t *testing.T, h *harness) string {
	t.Helper()
	tok, err := h.crafter.CreateAccessToken(context.Background(), h.crafter.CredentialFor(h.ids), profile.AccessToken{Application: "studio",
		TenantPermissions: []profile.TenantPermission{{Tenant: "alpha", AllowedActions: []string{"READ_TENANT"}}}})
	if err != nil {
		t.Fatal(err)
	}
	return tok.CredentialID
}

// TestTenantPages: an admin changes alpha's tenant through every page;
// removals ask for confirmation and cascade to profiles (the face's
// rules), a new default value is back-filled, and each change is audited
// with the admin as actor.
func TestTenantPages(t *testing.T) {
	h := crafterHarness(t)
	ctx := context.Background()
	b, admin := h.member(identity.ConsoleAdmin)
	if r := b.get("/orgs/alpha"); !strings.Contains(r.body, `href="/admin/orgs/alpha/tenant"`) {
		t.Fatalf("the organization page has no tenant link: %s", r.body)
	}
	page := b.get("/orgs/alpha/tenant")
	for _, want := range []string{"EDITOR", "AUDITOR", "<code>plan</code>", "TEXT", "Plan", "<code>*</code>: *", "/tenant/verify",
		"/tenant/roles/remove?role=EDITOR", "/tenant/attribute?name=plan", "/tenant/attribute/remove?name=plan", "/tenant/attributes/new"} {
		if page.status != http.StatusOK || !strings.Contains(page.body, want) {
			t.Errorf("tenant page (%d) lacks %q", page.status, want)
		}
	}
	// A MetaKey shows its own (Cryptr) type beside the Crafter type, a
	// plain definition says it is no MetaKey, in English and in French;
	// beta's key of the same name is not alpha's.
	for org, typ := range map[string]string{"alpha": identity.MetaInteger, "beta": identity.MetaBoolean} {
		if _, err := h.ids.CreateMetaKey(ctx, org, "tier", typ, false); err != nil {
			t.Fatal(err)
		}
	}
	fr := func(p string) resp {
		req, _ := http.NewRequest(http.MethodGet, b.url(p), nil)
		req.Header.Set("Accept-Language", "fr-FR,fr;q=0.9")
		return b.do(req)
	}
	for _, c := range []struct {
		lang       string
		page, attr resp
		head, none string
	}{
		{"en", b.get("/orgs/alpha/tenant"), b.get("/orgs/alpha/tenant/attribute?name=tier"), "MetaKey type", "not a MetaKey"},
		{"fr", fr("/orgs/alpha/tenant"), fr("/orgs/alpha/tenant/attribute?name=tier"), "Type de MetaKey", "pas une MetaKey"},
	} {
		for _, want := range []string{`<th scope="col">` + c.head + `</th>`, "<code>tier</code></td><td></td><td><code>integer</code></td>",
			`<td>TEXT</td><td><span class="muted">` + c.none + `</span></td>`} {
			if c.page.status != http.StatusOK || !strings.Contains(c.page.body, want) {
				t.Errorf("%s tenant page (%d) lacks %q", c.lang, c.page.status, want)
			}
		}
		if strings.Contains(c.page.body, "<code>boolean</code>") {
			t.Errorf("%s tenant page shows beta's MetaKey type", c.lang)
		}
		if want := "<dt>" + c.head + "</dt><dd><code>integer</code>"; c.attr.status != http.StatusOK || !strings.Contains(c.attr.body, want) {
			t.Errorf("%s attribute page (%d) lacks %q", c.lang, c.attr.status, want)
		}
	}
	if r := b.get("/orgs/alpha/tenant/attribute?name=plan"); r.status != http.StatusOK || strings.Contains(r.body, "<dt>MetaKey type</dt>") {
		t.Errorf("a plain definition's page names a MetaKey type (%d)", r.status)
	}
	if _, err := h.ids.DeleteMetaKey(ctx, "beta", "tier"); err != nil {
		t.Fatal(err)
	}
	get := func() *profile.Tenant {
		tn, err := h.crafter.GetTenant(ctx, h.crafter.CredentialFor(h.ids), "alpha")
		if err != nil {
			t.Fatal(err)
		}
		return tn
	}
	user := func() *identity.User {
		u, err := h.ids.GetUser(ctx, "alpha", h.alphaU.ID)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	seeded, err := h.ids.ListEvents(ctx, "alpha", identity.EventFilter{Code: identity.EventTenantUpdated}, identity.PageRequest{PerPage: 1})
	if err != nil {
		t.Fatal(err)
	}
	post := func(p string, form url.Values, done string) {
		t.Helper()
		r := b.postCSRF(p, form)
		if r.status != http.StatusSeeOther || !strings.HasSuffix(r.header.Get("Location"), "/admin/orgs/alpha/tenant?done="+done) {
			t.Fatalf("POST %s: %d %s %s", p, r.status, r.header.Get("Location"), r.body)
		}
	}

	post("/orgs/alpha/tenant/verify", url.Values{"verify_new_profiles": {"on"}}, "tenant.verify.saved")
	if !get().VerifyNewProfiles {
		t.Error("verify_new_profiles not set")
	}
	if r := b.get("/orgs/alpha/tenant?done=tenant.verify.saved"); !strings.Contains(r.body, `id="f-verify_new_profiles" name="verify_new_profiles" type="checkbox" checked`) ||
		!strings.Contains(r.body, "Verification of new profiles saved.") {
		t.Errorf("the page does not show the flag: %s", r.body)
	}
	post("/orgs/alpha/tenant/verify", url.Values{}, "tenant.verify.saved")
	if get().VerifyNewProfiles {
		t.Error("verify_new_profiles not cleared")
	}
	post("/orgs/alpha/tenant/roles", url.Values{"roles": {"PUBLISHER, REVIEWER\nEDITOR"}}, "tenant.roles.added")
	if got := get().AvailableRoles; !slices.Equal(got, []string{"EDITOR", "AUDITOR", "PUBLISHER", "REVIEWER"}) {
		t.Errorf("roles = %v", got)
	}

	// Removing a role: a confirmation page, then the role leaves the
	// tenant and the profiles.
	r := b.get("/orgs/alpha/tenant/roles/remove?role=EDITOR")
	if r.status != http.StatusOK || !strings.Contains(r.body, "every profile") || !strings.Contains(r.body, `name="confirm" value="yes"`) {
		t.Fatalf("confirm page: %d %s", r.status, r.body)
	}
	if r := b.get("/orgs/alpha/tenant/roles/remove?role=NOPE"); r.status != http.StatusNotFound {
		t.Errorf("confirm an unknown role: %d", r.status)
	}
	post("/orgs/alpha/tenant/roles/remove", url.Values{"role": {"EDITOR"}, "confirm": {"yes"}}, "tenant.roles.removed")
	if got := get().AvailableRoles; slices.Contains(got, "EDITOR") {
		t.Errorf("roles = %v", got)
	}
	if u := user(); slices.Contains(u.Roles, "EDITOR") {
		t.Errorf("the profile keeps the removed role: %v", u.Roles)
	}

	// A definition with a default value and permissions per application.
	if r := b.get("/orgs/alpha/tenant/attributes/new"); r.status != http.StatusOK || !strings.Contains(r.body, `name="perm_0"`) {
		t.Fatalf("new definition form: %d %s", r.status, r.body)
	}
	post("/orgs/alpha/tenant/attributes", url.Values{"name": {"seats"}, "type": {"NUMBER"}, "label": {"Seats"}, "display_order": {"2"},
		"default_value": {"5"}, "indexed": {"on"}, "app_0": {"studio"}, "perm_0": {"READ_ATTRIBUTE", "WRITE_ATTRIBUTE"},
		"app_1": {"*"}, "perm_1": {"READ_ATTRIBUTE"}}, "tenant.attr.added")
	tn := get()
	var seats *profile.AttributeDefinition
	for i := range tn.AttributeDefinitions {
		if tn.AttributeDefinitions[i].Name == "seats" {
			seats = &tn.AttributeDefinitions[i]
		}
	}
	if seats == nil || seats.Metadata["type"] != "NUMBER" || seats.Metadata["label"] != "Seats" || fmt.Sprint(seats.DefaultValue) != "5" ||
		!seats.Indexed || len(seats.Permissions) != 2 || seats.Permissions[0].Application != "studio" ||
		!slices.Equal(seats.Permissions[0].AllowedActions, []string{"READ_ATTRIBUTE", "WRITE_ATTRIBUTE"}) ||
		seats.Permissions[1].Application != "*" {
		t.Fatalf("seats = %+v", seats)
	}
	if v, ok := user().Attributes["seats"]; !ok || fmt.Sprint(v) != "5" {
		t.Errorf("the default value is not back-filled: %v", user().Attributes)
	}

	// Edit it: the form shows what is stored; the change keeps the name.
	r = b.get("/orgs/alpha/tenant/attribute?name=seats")
	for _, want := range []string{`value="seats"`, "readonly", `value="studio"`, `<option selected>NUMBER</option>`, `value="Seats"`} {
		if r.status != http.StatusOK || !strings.Contains(r.body, want) {
			t.Errorf("edit form (%d) lacks %q", r.status, want)
		}
	}
	post("/orgs/alpha/tenant/attribute", url.Values{"name": {"seats"}, "type": {"NUMBER"}, "label": {"Licensed seats"},
		"default_value": {"5"}, "app_0": {"studio"}, "perm_0": {"READ_ATTRIBUTE"}}, "tenant.attr.saved")
	tn = get()
	for _, d := range tn.AttributeDefinitions {
		if d.Name == "seats" && (d.Metadata["label"] != "Licensed seats" || d.Indexed || len(d.Permissions) != 1 ||
			!slices.Equal(d.Permissions[0].AllowedActions, []string{"READ_ATTRIBUTE"})) {
			t.Errorf("seats after edit = %+v", d)
		}
	}

	// Removing a definition: confirmation, then its values go too.
	if r := b.get("/orgs/alpha/tenant/attribute/remove?name=plan"); r.status != http.StatusOK || !strings.Contains(r.body, "every profile") {
		t.Fatalf("confirm page: %d", r.status)
	}
	post("/orgs/alpha/tenant/attribute/remove", url.Values{"name": {"plan"}, "confirm": {"yes"}}, "tenant.attr.removed")
	if _, ok := user().Attributes["plan"]; ok {
		t.Error("the profile keeps the removed attribute")
	}
	for _, d := range get().AttributeDefinitions {
		if d.Name == "plan" {
			t.Error("plan is still defined")
		}
	}

	ev, err := h.ids.ListEvents(ctx, "alpha", identity.EventFilter{Code: identity.EventTenantUpdated}, identity.PageRequest{PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Total != seeded.Total+7 {
		t.Errorf("%d tenant events, want %d", ev.Total, seeded.Total+7)
	}
	for _, e := range ev.Items[:7] { // newest first
		if e.ActorID != admin.ID {
			t.Errorf("event actor %q, want the admin %q", e.ActorID, admin.ID)
		}
	}
	// Beta's tenant is untouched.
	btn, _ := h.crafter.GetTenant(ctx, h.crafter.CredentialFor(h.ids), "beta")
	if !slices.Equal(btn.AvailableRoles, []string{"EDITOR", "AUDITOR"}) || len(btn.AttributeDefinitions) != 1 {
		t.Errorf("beta's tenant changed: %+v", btn)
	}
}

// TestTenantSandbox: in the sandbox the console edits the sandbox's
// tenant settings; production's stay as they were.
func TestTenantSandbox(t *testing.T) {
	h := crafterHarness(t)
	ctx := context.Background()
	b, _ := h.member(identity.ConsoleAdmin)
	if r := b.postCSRF("/env", url.Values{"env": {"sandbox"}, "next": {"/orgs/alpha/tenant"}}); r.status != http.StatusSeeOther {
		t.Fatalf("switch: %d", r.status)
	}
	if r := b.postCSRF("/orgs/alpha/tenant/roles", url.Values{"roles": {"SANDBOXED"}}); r.status != http.StatusSeeOther {
		t.Fatalf("add a sandbox role: %d %s", r.status, r.body)
	}
	sb, _ := h.ids.ForEnvironment(identity.Sandbox)
	stn, err := h.crafter.GetTenant(ctx, h.crafter.CredentialFor(sb), "alpha")
	if err != nil || !slices.Contains(stn.AvailableRoles, "SANDBOXED") {
		t.Fatalf("sandbox tenant = %+v %v", stn, err)
	}
	ptn, _ := h.crafter.GetTenant(ctx, h.crafter.CredentialFor(h.ids), "alpha")
	if slices.Contains(ptn.AvailableRoles, "SANDBOXED") {
		t.Error("the sandbox change reached production")
	}
}

// TestTenantViewerRefused: a viewer reads the tenant pages without a
// button; every tenant and token POST is 403 and changes nothing, and the
// Crafter face itself refuses the viewer's credential.
func TestTenantViewerRefused(t *testing.T) {
	h := crafterHarness(t)
	ctx := context.Background()
	tokenID := seedToken(t, h)
	v, _ := h.member(identity.ConsoleViewer)
	for _, p := range []string{"/orgs/alpha/tenant", "/orgs/alpha/tenant/attribute?name=plan"} {
		r := v.get(p)
		if r.status != http.StatusOK || !strings.Contains(r.body, "plan") {
			t.Fatalf("viewer GET %s: %d", p, r.status)
		}
		for _, bad := range []string{"/remove", "/tenant/verify", "/tenant/roles\"", "/attributes/new", "<button type=\"submit\">"} {
			if strings.Contains(r.body, bad) {
				t.Errorf("viewer page %s shows %q", p, bad)
			}
		}
	}
	for _, p := range []string{"/orgs/alpha/tenant/attributes/new", "/orgs/alpha/tenant/roles/remove?role=EDITOR",
		"/orgs/alpha/tenant/attribute/remove?name=plan", "/keys"} {
		if r := v.get(p); r.status != http.StatusForbidden {
			t.Errorf("viewer GET %s: %d", p, r.status)
		}
	}
	before := h.tenantState()
	for p, form := range tenantPosts(h, tokenID) {
		if r := v.postCSRF(p, form); r.status != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d", p, r.status)
		}
	}
	// Not only the page: the face refuses the viewer's credential.
	m, err := h.ids.ConsoleMember(ctx, h.viewerID(t))
	if err != nil {
		t.Fatal(err)
	}
	scoped, err := h.ids.For(m.Scope(identity.Production))
	if err != nil {
		t.Fatal(err)
	}
	cred := h.crafter.CredentialFor(scoped)
	if _, err := h.crafter.AddRoles(ctx, cred, "alpha", []string{"OWNED"}); profile.ErrorOf(err).Code != profile.CodeActionDenied {
		t.Errorf("the face lets a viewer add a role: %v", err)
	}
	if _, err := h.crafter.RemoveAttributeDefinitions(ctx, cred, "alpha", []string{"plan"}); profile.ErrorOf(err).Code != profile.CodeActionDenied {
		t.Errorf("the face lets a viewer remove a definition: %v", err)
	}
	if err := h.crafter.RevokeAccessToken(ctx, cred, tokenID); profile.ErrorOf(err).Code != profile.CodeActionDenied {
		t.Errorf("the face lets a viewer revoke a token: %v", err)
	}
	if after := h.tenantState(); after != before {
		t.Errorf("a viewer changed something:\n%s\n%s", before, after)
	}
	// The same requests pass for an owner (the refusal is the role's).
	o := h.signedIn(h.owner.UserID)
	if r := o.postCSRF("/orgs/alpha/tenant/roles", url.Values{"roles": {"OWNED"}}); r.status != http.StatusSeeOther {
		t.Errorf("owner adds a role: %d", r.status)
	}
}

// viewerID returns the user id of the first viewer member.
func (h *harness) viewerID(t *testing.T) string {
	t.Helper()
	list, err := h.ids.ListConsoleMembers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range list {
		if m.Role == identity.ConsoleViewer {
			return m.UserID
		}
	}
	t.Fatal("no viewer")
	return ""
}

// TestTenantIsolation: an admin limited to alpha reaches nothing of
// beta's tenant on any tenant route (404, as an unknown organization),
// and the face refuses its credential for beta; alpha's work.
func TestTenantIsolation(t *testing.T) {
	h := crafterHarness(t)
	ctx := context.Background()
	a, _ := h.member(identity.ConsoleAdmin, "alpha")
	covered := map[string]bool{}
	router := http.NewServeMux()
	for _, pat := range h.con.Patterns() {
		router.HandleFunc(pat, func(_ http.ResponseWriter, r *http.Request) { covered[r.Pattern] = true })
	}
	tried := func(method, p string) {
		router.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, p, nil))
	}
	before := h.tenantState()
	bt := "/orgs/beta/tenant"
	for _, p := range []string{bt, bt + "/attributes/new", bt + "/roles/remove?role=EDITOR", bt + "/attribute?name=plan",
		bt + "/attribute/remove?name=plan", "/orgs/gamma/tenant"} {
		tried(http.MethodGet, p)
		if r := a.get(p); r.status != http.StatusNotFound || strings.Contains(r.body, "AUDITOR") {
			t.Errorf("GET %s: %d", p, r.status)
		}
	}
	for p, form := range tenantPosts(h, "x") {
		if !strings.HasPrefix(p, "/orgs/alpha/") {
			continue
		}
		p = strings.Replace(p, "/orgs/alpha/", "/orgs/beta/", 1)
		tried(http.MethodPost, p)
		if r := a.postCSRF(p, form); r.status != http.StatusNotFound {
			t.Errorf("POST %s: %d", p, r.status)
		}
	}
	for _, pat := range h.con.Patterns() {
		if strings.Contains(pat, "/tenant") && !covered[pat] {
			t.Errorf("route %q has no isolation case", pat)
		}
	}
	m, err := h.ids.ConsoleMember(ctx, h.limitedID(t))
	if err != nil {
		t.Fatal(err)
	}
	scoped, _ := h.ids.For(m.Scope(identity.Production))
	cred := h.crafter.CredentialFor(scoped)
	if _, err := h.crafter.GetTenant(ctx, cred, "beta"); profile.ErrorOf(err).Code != profile.CodeActionDenied {
		t.Errorf("the face shows beta's tenant to alpha's admin: %v", err)
	}
	if _, err := h.crafter.AddRoles(ctx, cred, "beta", []string{"OWNED"}); profile.ErrorOf(err).Code != profile.CodeActionDenied {
		t.Errorf("the face lets alpha's admin change beta's tenant: %v", err)
	}
	if after := h.tenantState(); after != before {
		t.Errorf("the limited admin changed something:\n%s\n%s", before, after)
	}
	if r := a.get("/orgs/alpha/tenant"); r.status != http.StatusOK || !strings.Contains(r.body, "EDITOR") {
		t.Errorf("alpha's tenant: %d", r.status)
	}
	if r := a.postCSRF("/orgs/alpha/tenant/roles", url.Values{"roles": {"MINE"}}); r.status != http.StatusSeeOther {
		t.Errorf("alpha's admin adds a role: %d %s", r.status, r.body)
	}
}

// limitedID returns the user id of the first member limited to some
// organizations.
func (h *harness) limitedID(t *testing.T) string {
	t.Helper()
	list, err := h.ids.ListConsoleMembers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range list {
		if !m.AllOrgs() {
			return m.UserID
		}
	}
	t.Fatal("no limited member")
	return ""
}

// TestTenantPostsWithoutCSRF: every tenant and token POST without the
// session's form token is 403 and changes nothing.
func TestTenantPostsWithoutCSRF(t *testing.T) {
	h := crafterHarness(t)
	tokenID := seedToken(t, h)
	b := h.signedIn(h.owner.UserID)
	before := h.tenantState()
	for p, form := range tenantPosts(h, tokenID) {
		for name, tok := range map[string]string{"missing": "", "wrong": b.wrongCSRF()} {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			if tok != "" {
				f.Set("csrf", tok)
			}
			if r := b.post(p, f); r.status != http.StatusForbidden {
				t.Errorf("POST %s with a %s token: %d", p, name, r.status)
			}
		}
	}
	if after := h.tenantState(); after != before {
		t.Errorf("refused POSTs changed something:\n%s\n%s", before, after)
	}
	// With the token they pass (the check can fail); removals last, since
	// an edit of the attribute a removal took would rightly be a 404.
	posts := tenantPosts(h, tokenID)
	paths := slices.SortedFunc(maps.Keys(posts), func(a, b string) int {
		return cmp.Or(cmp.Compare(isRemoval(a), isRemoval(b)), cmp.Compare(a, b))
	})
	for _, p := range paths {
		if r := b.postCSRF(p, posts[p]); r.status >= 400 {
			t.Errorf("POST %s with the token: %d %s", p, r.status, r.body)
		}
	}
}

// isRemoval is 1 for a path that removes or revokes something, else 0.
func isRemoval(p string) int {
	if strings.HasSuffix(p, "/remove") || strings.HasSuffix(p, "/revoke") {
		return 1
	}
	return 0
}

// TestTenantBadInput: each tenant and token form refuses bad input with
// the field's message, a 4xx, and no change.
func TestTenantBadInput(t *testing.T) {
	h := crafterHarness(t)
	b := h.signedIn(h.owner.UserID)
	tp := "/orgs/alpha/tenant"
	yesterday := h.clock.Now().Add(-24 * time.Hour).Format(time.DateOnly)
	cases := []struct {
		name, path string
		form       url.Values
		field      string
		message    string
	}{
		{"no role", tp + "/roles", url.Values{"roles": {" , \n"}}, "roles", "is required"},
		{"role with a control character", tp + "/roles", url.Values{"roles": {"A\x01B"}}, "roles", "control characters"},
		{"role too long", tp + "/roles", url.Values{"roles": {strings.Repeat("R", 300)}}, "roles", "1 to 255 characters"},
		{"remove an unknown role", tp + "/roles/remove", url.Values{"role": {"NOPE"}, "confirm": {"yes"}}, "role", "is not a role of this tenant"},
		{"remove a role unconfirmed", tp + "/roles/remove", url.Values{"role": {"EDITOR"}}, "confirm", "confirm"},
		{"definition without name", tp + "/attributes", url.Values{"name": {""}}, "name", "is required"},
		{"definition with a dot", tp + "/attributes", url.Values{"name": {"a.b"}}, "name", "must not contain dots"},
		{"definition starting with $", tp + "/attributes", url.Values{"name": {"$set"}}, "name", "must not start with"},
		{"definition already there", tp + "/attributes", url.Values{"name": {"plan"}}, "name", "already defined"},
		{"definition of an unknown type", tp + "/attributes", url.Values{"name": {"x"}, "type": {"BLOB"}}, "type", "must be one of"},
		{"definition with a bad order", tp + "/attributes", url.Values{"name": {"x"}, "display_order": {"first"}}, "display_order", "whole number"},
		{"number default not a number", tp + "/attributes", url.Values{"name": {"x"}, "type": {"NUMBER"}, "default_value": {"many"}}, "default_value", "must be a number"},
		{"boolean default not a boolean", tp + "/attributes", url.Values{"name": {"x"}, "type": {"BOOLEAN"}, "default_value": {"yes"}}, "default_value", "true or false"},
		{"complex default not JSON", tp + "/attributes", url.Values{"name": {"x"}, "type": {"COMPLEX"}, "default_value": {"{"}}, "default_value", "JSON"},
		{"permission without application", tp + "/attributes", url.Values{"name": {"x"}, "perm_0": {"READ_ATTRIBUTE"}}, "app_0", "application name"},
		{"permission with an unknown action", tp + "/attributes", url.Values{"name": {"x"}, "app_0": {"*"}, "perm_0": {"DROP"}}, "app_0", "unknown action"},
		{"edit with a bad default", tp + "/attribute", url.Values{"name": {"plan"}, "type": {"NUMBER"}, "default_value": {"x"}}, "default_value", "must be a number"},
		{"remove a definition unconfirmed", tp + "/attribute/remove", url.Values{"name": {"plan"}}, "confirm", "confirm"},
		{"token without application", "/keys/tokens", url.Values{"application": {""}, "master": {"on"}}, "application", "is required"},
		{"token application too long", "/keys/tokens", url.Values{"application": {strings.Repeat("a", 300)}, "master": {"on"}}, "application", "at most 255"},
		{"token for a bad tenant", "/keys/tokens", url.Values{"application": {"x"}, "tenant_0": {"Not A Tenant"}, "actions_0": {"*"}}, "tenant_0", "tenant name"},
		{"token tenant without action", "/keys/tokens", url.Values{"application": {"x"}, "tenant_0": {"alpha"}}, "tenant_0", "at least one action"},
		{"token with an unknown action", "/keys/tokens", url.Values{"application": {"x"}, "tenant_0": {"alpha"}, "actions_0": {"ROOT"}}, "tenant_0", "unknown action"},
		{"token without permission", "/keys/tokens", url.Values{"application": {"x"}}, "tenant_0", "at least one tenant permission"},
		{"token with a bad date", "/keys/tokens", url.Values{"application": {"x"}, "master": {"on"}, "expires_on": {"soon"}}, "expires_on", "must be a date"},
		{"token expired already", "/keys/tokens", url.Values{"application": {"x"}, "master": {"on"}, "expires_on": {yesterday}}, "expires_on", "future date"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := h.tenantState()
			r := b.postCSRF(c.path, c.form)
			if r.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if !strings.Contains(r.body, `href="#f-`+c.field+`"`) || !strings.Contains(r.body, c.message) {
				t.Errorf("no message for %s (%q) in %s", c.field, c.message, r.body)
			}
			if c.field != "confirm" && c.field != "role" && !strings.Contains(r.body, `aria-invalid="true"`) {
				t.Error("the field is not marked invalid")
			}
			if after := h.tenantState(); after != before {
				t.Errorf("refused input changed something:\n%s\n%s", before, after)
			}
		})
	}
	// Unknown definitions are not found; odd input is never a 5xx.
	for _, p := range []string{tp + "/attribute?name=nope", tp + "/attribute/remove?name=nope", tp + "/attribute?name=%00",
		"/orgs/x%00y/tenant", tp + "/roles/remove?role=" + strings.Repeat("x", 5000)} {
		if r := b.get(p); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d", p, r.status)
		}
	}
	for p, form := range map[string]url.Values{
		tp + "/attribute":               {"name": {"nope"}},
		tp + "/attribute/remove":        {"name": {"nope"}, "confirm": {"yes"}},
		"/keys/tokens/nope/revoke":      {},
		tp + "/attributes":              {"name": {"y"}, "app_99999999999999999999": {"*"}, "perm_-1": {"READ_ATTRIBUTE"}},
		"/keys/tokens?tenant_0=%00":     {"application": {"\x00"}, "tenant_0": {"\x00"}, "actions_0": {"\x00"}},
		tp + "/roles?x=" + "%ff":        {"roles": {"\xff\xfe"}},
		tp + "/verify":                  {"verify_new_profiles": {"\x00"}},
		"/orgs/alpha/tenant/roles/nope": {},
	} {
		if r := b.postCSRF(p, form); r.status >= 500 {
			t.Errorf("POST %s: %d %s", p, r.status, r.body)
		}
	}
	// Good input passes (the checks can pass).
	if r := b.postCSRF(tp+"/attributes", url.Values{"name": {"flags"}, "type": {"STRING_LIST"}, "default_value": {"a\nb"},
		"app_0": {"*"}, "perm_0": {"READ_ATTRIBUTE"}}); r.status != http.StatusSeeOther {
		t.Errorf("good definition: %d %s", r.status, r.body)
	}
}

var reTokenSecret = regexp.MustCompile(`id="token-secret" type="text" readonly value="([^"]+)"`)

// TestCrafterAccessTokens: an owner creates a token of the environment it
// acts in (the id shown once, and it works with the permissions asked),
// sees it listed without its id, apart from the API keys, and revokes it;
// admins, viewers and limited owners are refused.
func TestCrafterAccessTokens(t *testing.T) {
	h := crafterHarness(t)
	ctx := context.Background()
	owner := h.signedIn(h.owner.UserID)
	exp := h.clock.Now().Add(30 * 24 * time.Hour).Format(time.DateOnly)
	r := owner.postCSRF("/keys/tokens", url.Values{"application": {"studio"}, "expires_on": {exp},
		"tenant_0": {"alpha"}, "actions_0": {"READ_TENANT", "MANAGE_PROFILES"}, "tenant_1": {"*"}, "actions_1": {"READ_TENANT"}})
	m := reTokenSecret.FindStringSubmatch(r.body)
	if r.status != http.StatusCreated || m == nil || !strings.Contains(r.body, "Access token created.") {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	c, err := h.crafter.Authorize(ctx, m[1])
	if err != nil {
		t.Fatalf("the shown id does not authorize: %v", err)
	}
	if c.Master || c.Application != "studio" || c.Environment != identity.Production || c.ExpiresAt == nil ||
		c.ExpiresAt.Format(time.DateOnly) != exp || len(c.TenantPermissions) != 2 || c.TenantPermissions[0].Tenant != "alpha" ||
		!slices.Equal(c.TenantPermissions[0].AllowedActions, []string{"READ_TENANT", "MANAGE_PROFILES"}) {
		t.Fatalf("token = %+v", c)
	}
	if _, err := h.crafter.GetTenant(ctx, c, "alpha"); err != nil {
		t.Errorf("the token reads alpha: %v", err)
	}
	if _, err := h.crafter.AddRoles(ctx, c, "alpha", []string{"X"}); profile.ErrorOf(err).Code != profile.CodeActionDenied {
		t.Errorf("the token updates alpha: %v", err)
	}
	list := owner.get("/keys")
	if strings.Contains(list.body, m[1]) {
		t.Error("the token's id is shown again")
	}
	if !strings.Contains(list.body, "/keys/tokens/"+c.ID+"/revoke") || !strings.Contains(list.body, exp) ||
		!strings.Contains(list.body, "READ_TENANT, MANAGE_PROFILES") {
		t.Errorf("the token is not listed: %s", list.body)
	}
	if strings.Contains(list.body, "/keys/"+c.ID+"/revoke") {
		t.Error("the token is listed as an API key")
	}

	// A sandbox token belongs to the sandbox only.
	if r := owner.postCSRF("/env", url.Values{"env": {"sandbox"}, "next": {"/keys"}}); r.status != http.StatusSeeOther {
		t.Fatal(r.status)
	}
	r = owner.postCSRF("/keys/tokens", url.Values{"application": {"sandbox-studio"}, "master": {"on"}})
	sm := reTokenSecret.FindStringSubmatch(r.body)
	if r.status != http.StatusCreated || sm == nil || strings.Contains(r.body, "/keys/tokens/"+c.ID+"/revoke") {
		t.Fatalf("sandbox create: %d %s", r.status, r.body)
	}
	if sc, err := h.crafter.Authorize(ctx, sm[1]); err != nil || sc.Environment != identity.Sandbox || !sc.Master {
		t.Fatalf("sandbox token = %+v %v", sc, err)
	}
	if r := owner.postCSRF("/keys/tokens/"+c.ID+"/revoke", nil); r.status != http.StatusNotFound {
		t.Errorf("revoke production's token from the sandbox: %d", r.status)
	}
	if r := owner.postCSRF("/env", url.Values{"env": {"production"}, "next": {"/keys"}}); r.status != http.StatusSeeOther {
		t.Fatal(r.status)
	}

	adminB, _ := h.member(identity.ConsoleAdmin)
	limited, _ := h.member(identity.ConsoleOwner, "alpha")
	viewer, _ := h.member(identity.ConsoleViewer)
	before := h.tenantState()
	for name, b := range map[string]*browser{"admin": adminB, "limited owner": limited, "viewer": viewer} {
		if r := b.get("/keys"); r.status != http.StatusForbidden {
			t.Errorf("%s GET /keys: %d", name, r.status)
		}
		if r := b.postCSRF("/keys/tokens", url.Values{"application": {"x"}, "master": {"on"}}); r.status != http.StatusForbidden {
			t.Errorf("%s creates a token: %d", name, r.status)
		}
		if r := b.postCSRF("/keys/tokens/"+c.ID+"/revoke", nil); r.status != http.StatusForbidden {
			t.Errorf("%s revokes a token: %d", name, r.status)
		}
	}
	if after := h.tenantState(); after != before {
		t.Errorf("refused members changed tokens:\n%s\n%s", before, after)
	}
	if r := owner.postCSRF("/keys/tokens/nope/revoke", nil); r.status != http.StatusNotFound {
		t.Errorf("revoke unknown: %d", r.status)
	}
	if r := owner.postCSRF("/keys/tokens/"+c.ID+"/revoke", nil); r.status != http.StatusSeeOther ||
		!strings.HasSuffix(r.header.Get("Location"), "/keys?done=tokens.revoked") {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if _, err := h.crafter.Authorize(ctx, m[1]); err == nil {
		t.Error("the revoked token still works")
	}
	if r := owner.get("/keys"); strings.Contains(r.body, "/keys/tokens/"+c.ID+"/revoke") {
		t.Error("the revoked token is listed")
	}
}

// TestTenantSectionAbsentWithoutCrafter: without Options.Crafter the
// tenant section, its link and the access tokens are absent.
func TestTenantSectionAbsentWithoutCrafter(t *testing.T) {
	h := newHarness(t)
	b := h.signedIn(h.owner.UserID)
	if r := b.get("/orgs/alpha"); r.status != http.StatusOK || strings.Contains(r.body, "/tenant") {
		t.Errorf("org page: %d", r.status)
	}
	if r := b.get("/orgs/alpha/tenant"); r.status != http.StatusNotFound {
		t.Errorf("GET /orgs/alpha/tenant: %d", r.status)
	}
	if r := b.get("/keys"); r.status != http.StatusOK || strings.Contains(r.body, "/keys/tokens") || strings.Contains(r.body, "Crafter") {
		t.Errorf("keys page: %d", r.status)
	}
	for _, p := range h.con.Patterns() {
		if strings.Contains(p, "/tenant") || strings.Contains(p, "/keys/tokens") {
			t.Errorf("route %s without the Crafter face", p)
		}
	}
}
