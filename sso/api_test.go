package sso_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/sso"
)

var idpIDRE = regexp.MustCompile(`^acme_company_[1-9A-HJ-NP-Za-km-z]{22}$`)
var spIDRE = regexp.MustCompile(`^your_domain_[1-9A-HJ-NP-Za-km-z]{22}$`)

func TestManagementAPI(t *testing.T) {
	f := newFixture(t)

	// Create: default_redirection and onboarding are expanded.
	created := f.json(f.do("POST", "/api/v2/sso-connections", f.token, map[string]any{
		"organization_id": f.org.ID, "application_id": f.app.ClientID, "sso_admin_email": "it@acme.test",
		"send_email": true}), http.StatusCreated)
	idp := created["id"].(string)
	if !idpIDRE.MatchString(idp) || !sso.ValidConnectionID(idp) {
		t.Fatalf("idp_id %q", idp)
	}
	if sp := created["sp_id"].(string); !spIDRE.MatchString(sp) {
		t.Fatalf("sp_id %q", sp)
	}
	for k, want := range map[string]any{"__type__": "SsoConnection", "__domain__": "acme-company", "__access__": "limited_to:acme-company",
		"__managed_by__": account, "active": true, "provider_type": "unset", "user_security_type": "none", "seats_limit": 0.0} {
		if created[k] != want {
			t.Errorf("%s = %#v, want %#v", k, created[k], want)
		}
	}
	// Every sample of the document shows "metadata": [ ] before any upload.
	if md, ok := created["metadata"].([]any); !ok || len(md) != 0 {
		t.Errorf("metadata = %#v, want []", created["metadata"])
	}
	redir, ok := created["default_redirection"].(map[string]any)
	if !ok || redir["app_id"] != f.app.ClientID || redir["uri"] != appURI || redir["__type__"] != "Redirection" || redir["idp_id"] != idp {
		t.Fatalf("default_redirection %#v", created["default_redirection"])
	}
	onb, ok := created["onboarding"].(map[string]any)
	if !ok || onb["sso_admin_email"] != "it@acme.test" || onb["state"] != "invitation_sent" || onb["tutorial_step"] != 0.0 ||
		onb["__type__"] != "EnterpriseConnectionOnboarding" || onb["invitation_sent_at"] == nil {
		t.Fatalf("onboarding %#v", created["onboarding"])
	}
	if m := f.mails.last(t); m.To[0] != "it@acme.test" || !linkRE.MatchString(m.Text) {
		t.Fatalf("invitation %#v", m)
	}
	sc := created["saml_config"].(map[string]any)
	if sc["acs_url"] != baseURL+"/enterprise/"+idp+"/acs" || sc["entity_id"] != baseURL+"/enterprise/"+idp+"/metadata" {
		t.Fatalf("saml_config %#v", sc)
	}

	// Retrieve: ids by default, objects when preloaded.
	got := f.json(f.do("GET", "/api/v2/sso-connections/"+idp, f.token, nil), http.StatusOK)
	if got["default_redirection"] != redir["id"] || got["onboarding"] != onb["id"] {
		t.Fatalf("not preloaded: %#v %#v", got["default_redirection"], got["onboarding"])
	}
	for _, q := range []string{"preload_associations[]=onboarding&preload_associations[]=default_redirection",
		"preload_associations=onboarding,default_redirection"} {
		got = f.json(f.do("GET", "/api/v2/sso-connections/"+idp+"?"+q, f.token, nil), http.StatusOK)
		if _, ok := got["onboarding"].(map[string]any); !ok {
			t.Fatalf("%s: preloaded onboarding %#v", q, got["onboarding"])
		}
		if _, ok := got["default_redirection"].(map[string]any); !ok {
			t.Fatalf("%s: preloaded redirection %#v", q, got["default_redirection"])
		}
	}

	// List: paginate shape.
	f.clock.Advance(time.Second)
	f.json(f.do("POST", "/api/v2/org/acme-company/sso-connections", f.token, map[string]any{"application_id": f.app.ClientID}), http.StatusCreated)
	list := f.json(f.do("GET", "/api/v2/sso-connections?per_page=1", f.token, nil), http.StatusOK)
	if list["__type__"] != "List" || list["total_count"] != 2.0 || len(list["data"].([]any)) != 1 {
		t.Fatalf("list %#v", list)
	}
	pg := list["paginate"].(map[string]any)
	if pg["total_pages"] != 2.0 || pg["next_page"] != 2.0 || pg["per_page"] != 1.0 {
		t.Fatalf("paginate %#v", pg)
	}
	if first := list["data"].([]any)[0].(map[string]any); first["id"] == idp {
		t.Fatalf("list is not newest first")
	}
	if l := f.json(f.do("GET", "/api/v2/org/acme-company/sso-connections", f.token, nil), http.StatusOK); l["total_count"] != 2.0 {
		t.Fatalf("org list %#v", l)
	}

	// Update, with validation.
	upd := f.json(f.do("PUT", "/api/v2/sso-connections/"+idp, f.token, map[string]any{"seats_limit": 99, "provider_type": "okta",
		"user_security_type": "user_registered"}), http.StatusOK)
	if upd["seats_limit"] != 99.0 || upd["provider_type"] != "okta" || upd["user_security_type"] != "user_registered" {
		t.Fatalf("update %#v", upd)
	}
	for _, bad := range []map[string]any{{"provider_type": "facebook"}, {"user_security_type": "anyone"}, {"seats_limit": -1},
		{"metadata": "<not-metadata/>"}, {"default_redirection_id": "nope"}} {
		rec := f.do("PUT", "/api/v2/sso-connections/"+idp, f.token, bad)
		if rec.Code != http.StatusUnprocessableEntity {
			t.Errorf("update %v: %d %s", bad, rec.Code, rec.Body)
		}
	}
	rec := f.do("PUT", "/api/v2/sso-connections/"+idp, f.token, map[string]any{"metadata": "<EntityDescriptor/>"})
	if !strings.Contains(rec.Body.String(), "metadata") {
		t.Fatalf("metadata error does not name the field: %s", rec.Body)
	}
	md := f.json(f.do("PUT", "/api/v2/sso-connections/"+idp, f.token, map[string]any{"metadata": f.idpMetadata()}), http.StatusOK)
	if s, _ := md["metadata"].(string); s == "" {
		t.Fatalf("metadata not stored: %#v", md["metadata"])
	}

	// Activate / disable.
	if d := f.json(f.do("PATCH", "/api/v2/sso-connections/"+idp+"/disable", f.token, nil), http.StatusOK); d["active"] != false {
		t.Fatalf("disable %#v", d)
	}
	if e := f.lastEvent(identity.EventSSOConnectionDisabled); e == nil || e.SAMLIdPID != idp {
		t.Fatalf("disable event %#v", e)
	}
	if d := f.json(f.do("PATCH", "/api/v2/sso-connections/"+idp+"/activate", f.token, nil), http.StatusOK); d["active"] != true {
		t.Fatalf("activate %#v", d)
	}

	// Onboarding: update, reset keeps the email, create replaces it.
	o := f.json(f.do("PUT", "/api/v2/sso-connections/"+idp+"/admin-onboarding", f.token, map[string]any{
		"sso_admin_email": "new_it_guy@acme.test", "provider_type": "okta"}), http.StatusOK)
	if o["sso_admin_email"] != "new_it_guy@acme.test" || o["provider_type"] != "okta" {
		t.Fatalf("update onboarding %#v", o)
	}
	o = f.json(f.do("PATCH", "/api/v2/sso-connections/"+idp+"/reset-onboarding", f.token, nil), http.StatusOK)
	if o["sso_admin_email"] != "new_it_guy@acme.test" || o["provider_type"] != nil || o["state"] != "not_initialized" || o["tutorial_step"] != 0.0 {
		t.Fatalf("reset onboarding %#v", o)
	}
	o = f.json(f.do("POST", "/api/v2/sso-connections/"+idp+"/admin-onboarding", f.token, map[string]any{
		"sso_admin_email": "third@acme.test", "provider_type": "azure_ad"}), http.StatusCreated)
	if o["sso_admin_email"] != "third@acme.test" || o["provider_type"] != "azure_ad" || o["id"] == onb["id"] {
		t.Fatalf("create onboarding %#v", o)
	}
	if rec := f.do("POST", "/api/v2/sso-connections/"+idp+"/admin-onboarding", f.token, map[string]any{}); rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("onboarding without email: %d", rec.Code)
	}
	o = f.json(f.do("POST", "/api/v2/sso-connections/"+idp+"/invite-admin", f.token, nil), http.StatusCreated)
	if m := f.mails.last(t); m.To[0] != "third@acme.test" || o["state"] != "invitation_sent" {
		t.Fatalf("invite %#v %#v", m.To, o)
	}

	// Default redirection.
	r := f.json(f.do("GET", "/api/v2/sso-connections/"+idp+"/default-redirection", f.token, nil), http.StatusOK)
	if r["app_id"] != f.app.ClientID || r["idp_id"] != idp {
		t.Fatalf("redirection %#v", r)
	}
	r2 := f.json(f.do("POST", "/api/v2/sso-connections/"+idp+"/default-redirection", f.token, map[string]any{
		"application_id": f.app.ClientID, "organization_id": f.org.ID, "uri": appURI}), http.StatusCreated)
	if r2["id"] == r["id"] {
		t.Fatal("a new redirection was not created")
	}
	if rec := f.do("POST", "/api/v2/sso-connections/"+idp+"/default-redirection", f.token, map[string]any{
		"application_id": f.app.ClientID, "uri": "https://evil.test/"}); rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("unregistered uri: %d %s", rec.Code, rec.Body)
	}
	if c := f.json(f.do("GET", "/api/v2/sso-connections/"+idp, f.token, nil), http.StatusOK); c["default_redirection"] != r2["id"] {
		t.Fatal("new redirection is not the default")
	}
	// The older redirection can be made the default again.
	if c := f.json(f.do("PUT", "/api/v2/sso-connections/"+idp, f.token, map[string]any{"default_redirection_id": r["id"]}), http.StatusOK); c["default_redirection"] != r["id"] {
		t.Fatal("default_redirection_id not applied")
	}

	// User policy.
	p := f.json(f.do("PUT", "/api/v2/sso-connections/"+idp+"/sso-user-policy", f.token, map[string]any{"user_security_type": "none"}), http.StatusOK)
	if p["user_security_type"] != "none" {
		t.Fatalf("policy %#v", p)
	}
	if rec := f.do("PUT", "/api/v2/sso-connections/"+idp+"/sso-user-policy", f.token, map[string]any{}); rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("policy without type: %d", rec.Code)
	}
}

func TestManagementAPIIsolationAndErrors(t *testing.T) {
	f := newFixture(t)
	idp := f.connection()
	name := "Other Org"
	if _, err := f.id.CreateOrganization(t.Context(), identity.OrganizationInput{Name: &name}); err != nil {
		t.Fatal(err)
	}
	other := f.key(identity.Production, []string{"other-org"})
	sandbox := f.key(identity.Sandbox, []string{"*"})
	readOnly := f.key(identity.Production, []string{"*"}, "read:sso_connections")
	paths := []struct{ method, path string }{
		{"GET", "/api/v2/sso-connections/" + idp}, {"PUT", "/api/v2/sso-connections/" + idp},
		{"PATCH", "/api/v2/sso-connections/" + idp + "/disable"}, {"PATCH", "/api/v2/sso-connections/" + idp + "/activate"},
		{"POST", "/api/v2/sso-connections/" + idp + "/admin-onboarding"}, {"PUT", "/api/v2/sso-connections/" + idp + "/admin-onboarding"},
		{"PATCH", "/api/v2/sso-connections/" + idp + "/reset-onboarding"}, {"POST", "/api/v2/sso-connections/" + idp + "/invite-admin"},
		{"GET", "/api/v2/sso-connections/" + idp + "/default-redirection"}, {"POST", "/api/v2/sso-connections/" + idp + "/default-redirection"},
		{"PUT", "/api/v2/sso-connections/" + idp + "/sso-user-policy"},
	}
	for _, p := range paths {
		if rec := f.do(p.method, p.path, other, map[string]any{"sso_admin_email": "x@acme.test", "user_security_type": "none"}); rec.Code != http.StatusNotFound {
			t.Errorf("%s %s by another org's key: %d", p.method, p.path, rec.Code)
		}
		if rec := f.do(p.method, p.path, sandbox, map[string]any{"sso_admin_email": "x@acme.test", "user_security_type": "none"}); rec.Code != http.StatusNotFound {
			t.Errorf("%s %s by a sandbox key: %d", p.method, p.path, rec.Code)
		}
		if rec := f.do(p.method, p.path, "", nil); rec.Code != http.StatusUnauthorized {
			t.Errorf("%s %s without a token: %d", p.method, p.path, rec.Code)
		}
	}
	if l := f.json(f.do("GET", "/api/v2/sso-connections", other, nil), http.StatusOK); l["total_count"] != 0.0 {
		t.Fatalf("another org's key lists %v", l["total_count"])
	}
	if rec := f.do("POST", "/api/v2/sso-connections", other, map[string]any{"organization_id": f.org.ID, "application_id": f.app.ClientID}); rec.Code != http.StatusNotFound {
		t.Fatalf("create for an unmanaged org: %d", rec.Code)
	}
	if rec := f.do("PUT", "/api/v2/sso-connections/"+idp, readOnly, map[string]any{"seats_limit": 1}); rec.Code != http.StatusForbidden {
		t.Fatalf("update with read permission: %d", rec.Code)
	}
	// Unknown organizations and applications are not found, as foreign
	// ones are (no oracle on ids elsewhere).
	for _, body := range []map[string]any{{"organization_id": f.org.ID, "application_id": "nope"},
		{"organization_id": "nope", "application_id": f.app.ClientID}} {
		if rec := f.do("POST", "/api/v2/sso-connections", f.token, body); rec.Code != http.StatusNotFound {
			t.Errorf("create %v: %d %s", body, rec.Code, rec.Body)
		}
	}
	for _, body := range []map[string]any{{"application_id": f.app.ClientID}, {"organization_id": f.org.ID},
		{"organization_id": f.org.ID, "application_id": f.app.ClientID, "send_email": true},
		{"organization_id": f.org.ID, "application_id": f.app.ClientID, "provider_type": "myspace"}} {
		if rec := f.do("POST", "/api/v2/sso-connections", f.token, body); rec.Code != http.StatusUnprocessableEntity {
			t.Errorf("create %v: %d %s", body, rec.Code, rec.Body)
		}
	}
	for _, bad := range []string{"nope", "acme_company_0000000000000000000000", "acme_company_"} {
		if rec := f.do("GET", "/api/v2/sso-connections/"+bad, f.token, nil); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d", bad, rec.Code)
		}
	}
}

// TestConnectionSampleShapes pins what the document's SSO connection
// samples show: "metadata": [ ] before any upload, next_page 0 and
// prev_page 0 on the only page of the list ("paginate"), and an update
// sent by POST (curl -d) applied like PUT and PATCH.
func TestConnectionSampleShapes(t *testing.T) {
	f := newFixture(t)
	created := f.json(f.do("POST", "/api/v2/sso-connections", f.token, map[string]any{
		"organization_id": f.org.ID, "application_id": f.app.ClientID}), http.StatusCreated)
	idp := created["id"].(string)
	rec := f.do("GET", "/api/v2/sso-connections/"+idp, f.token, nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"metadata":[]`) {
		t.Fatalf("metadata is not [] before upload: %d %s", rec.Code, rec.Body)
	}
	list := f.json(f.do("GET", "/api/v2/sso-connections", f.token, nil), http.StatusOK)
	pg := list["paginate"].(map[string]any)
	if pg["next_page"] != 0.0 || pg["prev_page"] != 0.0 || pg["total_pages"] != 1.0 || pg["current_page"] != 1.0 {
		t.Fatalf("paginate %v", pg)
	}
	for i, method := range []string{"POST", "PUT", "PATCH"} {
		got := f.json(f.do(method, "/api/v2/sso-connections/"+idp, f.token, map[string]any{"seats_limit": 1 + i}), http.StatusOK)
		if got["seats_limit"] != float64(1+i) {
			t.Fatalf("%s update: %v", method, got)
		}
	}
	for _, method := range []string{"POST", "PUT", "PATCH"} {
		f.json(f.do(method, "/api/v2/sso-connections/"+idp+"/sso-user-policy", f.token, map[string]any{"user_security_type": "user_registered"}), http.StatusOK)
	}
}
