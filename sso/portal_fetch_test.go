package sso_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/sso"
	"github.com/gatehouse-id/gatehouse/sso/portal"
)

// TestMetadataURLFetch: the portal takes the IdP metadata from an https
// URL (its own field, or pasted instead of the XML), within size limits,
// and refuses any URL that is not https or that reaches a private,
// loopback or link-local address, redirects included. Loopback is reached
// only through the explicit test option.
func TestMetadataURLFetch(t *testing.T) {
	f := newFixture(t)
	md := f.idpMetadata()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/metadata":
			_, _ = w.Write([]byte(md))
		case "/big":
			_, _ = w.Write([]byte(strings.Repeat(" ", 2<<20)))
		case "/to-private":
			http.Redirect(w, r, "https://10.0.0.1/metadata", http.StatusFound)
		case "/to-metadata-service":
			http.Redirect(w, r, "https://169.254.169.254/latest/meta-data", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	idp, link := f.invite()
	b := f.browser()
	b.redeem(link)
	tok := csrfOf(t, body(b.get(baseURL+"/enterprise-setup/metadata")))
	post := func(form url.Values) (int, string) {
		form.Set("csrf", tok)
		r := b.postForm(baseURL+"/enterprise-setup/metadata", form)
		return r.StatusCode, body(r)
	}
	stored := func() string {
		d, err := f.svc.GetConnection(t.Context(), f.id, idp)
		if err != nil {
			t.Fatal(err)
		}
		return d.Connection.Metadata
	}
	const refused = "only https URLs of public addresses"

	// A deployed portal: loopback, private, link-local and http are refused.
	for _, u := range []string{srv.URL + "/metadata", "https://[::1]/", "https://10.0.0.1/metadata",
		"https://192.168.1.10/metadata", "https://169.254.169.254/latest/meta-data", "https://[fe80::1]/",
		"https://0.0.0.0/", "http://idp.example.com/metadata", "ftp://idp.example.com/metadata"} {
		for _, form := range []url.Values{{"metadata_url": {u}}, {"metadata": {u}}} {
			status, page := post(form)
			if status != http.StatusUnprocessableEntity || !strings.Contains(page, refused) {
				t.Errorf("%v: %d %s", form, status, page)
			}
		}
	}
	if stored() != "" {
		t.Fatal("a refused URL stored metadata")
	}

	// With the test option, the httptest TLS server (loopback) is reached.
	f.portal, _ = portal.New(f.svc, portal.AllowLoopbackMetadataURLsForTests(srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs))
	for _, c := range []struct {
		path string
		want string
	}{
		{"/big", "1 MiB"},
		{"/to-private", refused},
		{"/to-metadata-service", refused},
		{"/missing", "could not be fetched"},
	} {
		status, page := post(url.Values{"metadata_url": {srv.URL + c.path}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(page, c.want) {
			t.Errorf("%s: %d, want %q in %s", c.path, status, c.want, page)
		}
	}
	if stored() != "" {
		t.Fatal("a failed fetch stored metadata")
	}
	// Still refused with the test option: private addresses.
	if status, page := post(url.Values{"metadata_url": {"https://10.0.0.1/"}}); status != http.StatusUnprocessableEntity || !strings.Contains(page, refused) {
		t.Errorf("test option opened a private address: %d", status)
	}
	// The URL pasted in the XML field, then in its own field.
	for _, form := range []url.Values{{"metadata": {srv.URL + "/metadata"}}, {"metadata_url": {srv.URL + "/metadata"}}} {
		if status, page := post(form); status != http.StatusOK || !strings.Contains(page, "valid and saved") {
			t.Fatalf("%v: %d %s", form, status, page)
		}
	}
	if stored() != md {
		t.Fatal("fetched metadata not stored")
	}
}

// TestLogSetupLinks: with LogSetupLinks (development) an invitation's setup
// link is logged and opens the portal; without it, no log line holds it.
func TestLogSetupLinks(t *testing.T) {
	f := newFixture(t)
	idp, _ := f.invite()
	for _, on := range []bool{false, true} {
		var logs bytes.Buffer
		svc, err := sso.New(sso.Options{Identity: f.id, BaseURL: baseURL, Mailer: f.mails, MailFrom: "sso@gatehouse.test",
			Authorizations: f.authz, Logger: slog.New(slog.NewTextHandler(&logs, nil)), LogSetupLinks: on})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.SendInvitation(t.Context(), f.id, idp); err != nil {
			t.Fatal(err)
		}
		link := linkRE.FindString(f.mails.last(t).Text)
		logged := strings.Contains(logs.String(), "setup_url="+link)
		if logged != on || (!on && strings.Contains(logs.String(), "/enterprise-setup/")) {
			t.Fatalf("LogSetupLinks=%v: link %s logged=%v:\n%s", on, link, logged, logs.String())
		}
		if on {
			if r := f.browser().redeem(link); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("logged link does not open the portal: %d", r.StatusCode)
			}
		}
	}
}
