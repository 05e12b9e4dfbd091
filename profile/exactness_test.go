package profile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/blob"
	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// allPerm lets every application do everything with an attribute.
var allPerm = []AttributePermission{{Application: "*", AllowedActions: []string{"*"}}}

// TestAttributeNumbersExact pins that attribute numbers are stored and
// answered as sent (a float64 made 12345678901234567 into
// 12345678901234568 and 1.0 into 1), through the attributes parameter,
// the JSON update, storage, the index and the query comparisons.
func TestAttributeNumbersExact(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme",
		AttributeDefinition{Name: "big", Permissions: allPerm, Indexed: true},
		AttributeDefinition{Name: "one", Permissions: allPerm},
		AttributeDefinition{Name: "list", Permissions: allPerm},
		AttributeDefinition{Name: "x", Permissions: allPerm},
		AttributeDefinition{Name: "dflt", Permissions: allPerm, DefaultValue: json.Number("2.50")})
	p := e.profile("acme", "alice", url.Values{"attributes": {`{"big":12345678901234567,"one":1.0,"list":[1.10,2e3]}`}})
	e.profile("acme", "bob", url.Values{"attributes": {`{"big":12345678901234568,"one":2}`}})
	want := []string{`"big":12345678901234567`, `"one":1.0`, `"list":[1.10,2e3]`, `"dflt":2.50`}
	check := func(what string, body []byte) {
		t.Helper()
		for _, w := range want {
			if !bytes.Contains(body, []byte(w)) {
				t.Errorf("%s: %s lacks %s", what, body, w)
			}
		}
	}
	check("get", e.mustOK(e.do("GET", "/api/1/profile/"+p.ID+".json", e.master, nil)).body)
	r := e.mustOK(e.doJSON("/api/1/profile/"+p.ID+"/attributes/update.json", e.master,
		json.RawMessage(`{"one":1.0,"x":-0.0}`), nil))
	want = append(want, `"x":-0.0`)
	check("update", r.body)
	check("attributes", e.mustOK(e.do("GET", "/api/1/profile/"+p.ID+"/attributes.json", e.master, nil)).body)

	for _, tc := range []struct {
		query string
		n     int
	}{
		{`{"attributes.big": 12345678901234567}`, 1}, // index candidates share a key: matched exactly
		{`{"attributes.big": 12345678901234568}`, 1},
		{`{"attributes.big": {"$gt": 12345678901234567}}`, 1},
		{`{"attributes.big": {"$gte": 12345678901234567}}`, 2},
		{`{"attributes.one": 1}`, 1},
		{`{"attributes.one": {"$lt": 1.5}}`, 1},
		{`{"attributes.dflt": 2.5}`, 2},
	} {
		var got []Profile
		e.mustOK(e.do("GET", "/api/1/profile/by_query.json", e.master,
			url.Values{"tenantName": {"acme"}, "query": {tc.query}})).json(t, &got)
		if len(got) != tc.n {
			t.Errorf("by_query %s: %d profiles, want %d", tc.query, len(got), tc.n)
		}
	}
	// The definition's default value keeps its text too.
	r = e.mustOK(e.do("GET", "/api/1/tenant/acme.json", e.master, nil))
	if !strings.Contains(string(r.body), `"defaultValue":2.50`) {
		t.Errorf("tenant: %s", r.body)
	}
}

// crafterTenant is Crafter's Tenant with its fields only: decoding with
// DisallowUnknownFields behaves like the Java client's mapper.
type crafterTenant struct {
	ID                   string   `json:"id"`
	Name                 string   `json:"name"`
	VerifyNewProfiles    bool     `json:"verifyNewProfiles"`
	AvailableRoles       []string `json:"availableRoles"`
	SSOEnabled           bool     `json:"ssoEnabled"`
	CleanseAttributes    bool     `json:"cleanseAttributes"`
	AttributeDefinitions []struct {
		Name         string                `json:"name"`
		Metadata     map[string]any        `json:"metadata"`
		DefaultValue any                   `json:"defaultValue"`
		Permissions  []AttributePermission `json:"permissions"`
	} `json:"attributeDefinitions"`
}

func strictTenant(t *testing.T, body []byte) crafterTenant {
	t.Helper()
	var ct crafterTenant
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ct); err != nil {
		t.Fatalf("a strict Crafter client cannot read %s: %v", body, err)
	}
	return ct
}

// TestExtensionsOnlyWhenAsked pins that "indexed" (a Gatehouse extension)
// stays out of Crafter-shaped answers unless the caller passes
// gatehouseExtensions=true, and that writing back a definition without it
// keeps the index.
func TestExtensionsOnlyWhenAsked(t *testing.T) {
	e := newEnv(t)
	defs := []any{map[string]any{"name": "dept", "indexed": true, "permissions": allPerm}}
	r := e.mustOK(e.doJSON("/api/1/tenant/create.json", e.master, map[string]any{"name": "acme",
		"availableRoles": []string{"USER"}, "attributeDefinitions": defs}, nil))
	strictTenant(t, r.body)
	indexed := func() bool {
		t.Helper()
		var tn Tenant
		e.mustOK(e.do("GET", "/api/1/tenant/acme.json", e.master, url.Values{ExtensionsParam: {"true"}})).json(t, &tn)
		return tn.AttributeDefinitions[0].Indexed
	}
	for _, path := range []string{"/api/1/tenant/acme.json", "/api/1/tenant/all.json"} {
		r := e.mustOK(e.do("GET", path, e.master, nil))
		if strings.Contains(string(r.body), "indexed") {
			t.Errorf("%s without %s: %s", path, ExtensionsParam, r.body)
		}
	}
	if !indexed() {
		t.Fatal("indexed not answered to a caller that asks")
	}
	// A Crafter client writes back what it read (no "indexed"): the index stays.
	ct := strictTenant(t, e.mustOK(e.do("GET", "/api/1/tenant/acme.json", e.master, nil)).body)
	strictTenant(t, e.mustOK(e.doJSON("/api/1/tenant/update.json", e.master, ct, nil)).body)
	strictTenant(t, e.mustOK(e.doJSON("/api/1/tenant/acme/attribute_definitions/update.json", e.master, ct.AttributeDefinitions, nil)).body)
	if !indexed() {
		t.Fatal("writing back a definition without indexed dropped the index")
	}
	// An explicit false turns it off; the answer asked for shows it.
	r = e.mustOK(e.doJSON("/api/1/tenant/acme/attribute_definitions/update.json", e.master,
		[]any{map[string]any{"name": "dept", "indexed": false, "permissions": allPerm}}, url.Values{ExtensionsParam: {"true"}}))
	if indexed() {
		t.Fatalf("indexed:false ignored: %s", r.body)
	}
}

// TestTicketOfDeletedProfile pins Crafter's documented answer: by_ticket
// for a ticket whose profile was deleted is 404 NO_SUCH_PROFILE (the Java
// client reads it as null), while the ticket itself is gone (404
// NO_SUCH_TICKET) and a caller without rights on the tenant learns
// nothing (400 NO_SUCH_TICKET, as for an unknown ticket).
func TestTicketOfDeletedProfile(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	e.tenant("beta")
	p := e.profile("acme", "alice", nil)
	var tk Ticket
	e.mustOK(e.login("alice", "pw-alice")).json(t, &tk)
	e.mustOK(e.do("POST", "/api/1/profile/"+p.ID+"/delete", e.master, nil))
	byTicket := func(tok string) resp {
		return e.do("GET", "/api/1/profile/by_ticket.json", tok, url.Values{"ticketId": {tk.ID}})
	}
	if r := byTicket(e.master); r.status != 404 || r.code() != CodeNoSuchProfile {
		t.Fatalf("by_ticket of a deleted profile: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/1/authentication/ticket/"+tk.ID+".json", e.master, nil); r.status != 404 || r.code() != CodeNoSuchTicket {
		t.Fatalf("ticket of a deleted profile: %d %s", r.status, r.body)
	}
	other := e.token(identity.Credential{Application: "beta-app",
		TenantPermissions: []identity.TenantPermission{{Tenant: "beta", AllowedActions: []string{"*"}}}})
	if r := byTicket(other); r.status != 400 || r.code() != CodeNoSuchTicket {
		t.Fatalf("by_ticket from another tenant's token: %d %s", r.status, r.body)
	}
	// The tombstone goes when the ticket would have expired.
	e.clock.add(15*time.Minute + time.Second)
	if r := byTicket(e.master); r.status != 400 || r.code() != CodeNoSuchTicket {
		t.Fatalf("by_ticket after expiry: %d %s", r.status, r.body)
	}
}

// TestLastRequestTimeMovesOnEveryRead pins that each read of a ticket
// (ticket/{id} and by_ticket) answers the time of that read, even under a
// second after the last one (Crafter's integration test reads it right
// after authenticating), while the store is rewritten at most once per
// TicketTouchInterval and the expiry still slides.
func TestLastRequestTimeMovesOnEveryRead(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme")
	e.profile("acme", "alice", nil)
	var tk Ticket
	e.mustOK(e.login("alice", "pw-alice")).json(t, &tk)
	last := tk.LastRequestTime
	for i := 0; i < 5; i++ {
		e.clock.add(100 * time.Millisecond)
		var got Ticket
		e.mustOK(e.do("GET", "/api/1/authentication/ticket/"+tk.ID+".json", e.master, nil)).json(t, &got)
		if got.LastRequestTime != e.clock.now().UnixMilli() || got.LastRequestTime <= last {
			t.Fatalf("read %d: lastRequestTime %d, want %d", i, got.LastRequestTime, e.clock.now().UnixMilli())
		}
		last = got.LastRequestTime
	}
	// Reads 14 minutes apart keep the ticket alive.
	for i := 0; i < 3; i++ {
		e.clock.add(14 * time.Minute)
		e.mustOK(e.do("GET", "/api/1/profile/by_ticket.json", e.master, url.Values{"ticketId": {tk.ID}}))
	}
}

// TestJavaClientBasePath pins that the Java client's default base path
// (/crafter-profile/api/1) is served like /api/1.
func TestJavaClientBasePath(t *testing.T) {
	e := newEnv(t)
	for _, base := range []string{BasePath, JavaClientBasePath} {
		name := "t" + strings.ToLower(strings.ReplaceAll(base, "/", "-"))
		e.mustOK(e.doJSON(base+"/tenant/create.json", e.master, map[string]any{"name": name}, nil))
		var p Profile
		e.mustOK(e.do("POST", base+"/profile/create.json", e.master, url.Values{"tenantName": {name},
			"username": {"u"}, "password": {"pw-u"}, "email": {"u@example.com"}, "enabled": {"true"}})).json(t, &p)
		for _, b := range []string{BasePath, JavaClientBasePath} {
			var got Profile
			e.mustOK(e.do("GET", b+"/profile/"+p.ID+".json", e.master, nil)).json(t, &got)
			if got.ID != p.ID || got.Tenant != name {
				t.Fatalf("%s: %+v", b, got)
			}
		}
	}
}

// rawRequest sends one request line as is to srv and returns the answer.
func rawRequest(t *testing.T, srv *httptest.Server, method, target, body string) (int, string, string) {
	t.Helper()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	if body != "" {
		req += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"+body); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Content-Type"), string(b)
}

// TestRawRequestsAnswerJSON sends requests as Crafter's Java client and
// curl write them, over a real connection to Intercept in front of a
// ServeMux (the example server's mount): a raw ';' in a query string or
// form body is part of the value; a doubled slash, a dot segment or a
// malformed escape in the query is the API's JSON error, never a
// redirect or plain text.
func TestRawRequestsAnswerJSON(t *testing.T) {
	e := newEnv(t)
	e.tenant("acme", AttributeDefinition{Name: "code", Permissions: allPerm}, AttributeDefinition{Name: "note", Permissions: allPerm})
	p := e.profile("acme", "alice", url.Values{"attributes": {`{"code":"a;b"}`}})
	mux := http.NewServeMux()
	mux.Handle(BasePath+"/", e.svc.Handler())
	mux.Handle(JavaClientBasePath+"/", e.svc.Handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "other", http.StatusTeapot) })
	srv := httptest.NewUnstartedServer(e.svc.Intercept(mux))
	srv.Listener = Listener(srv.Listener)
	srv.Start()
	defer srv.Close()
	tok := "accessTokenId=" + url.QueryEscape(e.master)
	for _, base := range []string{BasePath, JavaClientBasePath} {
		for _, tc := range []struct {
			name, method, target, body string
			status                     int
			want                       string // in the body
		}{
			{"raw ; in the query", "GET", "/profile/by_attribute_value.json?" + tok + "&tenantName=acme&attributeName=code&attributeValue=a;b", "", 200, p.ID},
			{"raw ; in a form body", "POST", "/profile/" + p.ID + "/update.json?" + tok, "attributes={\"note\":\"c;d\"}", 200, `"note":"c;d"`},
			{"doubled slash", "GET", "/profile//attributes.json?" + tok, "", 404, `"errorCode":"OTHER"`},
			{"dot segment", "GET", "/profile/../tenant/acme.json?" + tok, "", 404, `"errorCode":"OTHER"`},
			{"malformed escape in the path", "GET", "/profile/%zz.json?" + tok, "", 400, `"message":"Malformed path"`},
			{"malformed escape in the path, absolute form", "GET", "", "", 400, `"message":"Malformed path"`},
			{"malformed escape in the query", "GET", "/tenant/acme.json?" + tok + "&x=%zz", "", 400, `"errorCode":"OTHER"`},
			{"malformed escape in a form body", "POST", "/profile/" + p.ID + "/update.json?" + tok, "email=%zz", 400, `"errorCode":"OTHER"`},
		} {
			t.Run(base+" "+tc.name, func(t *testing.T) {
				target := base + tc.target
				if tc.target == "" {
					target = "http://x" + base + "/tenant/%zz"
				}
				status, ctype, body := rawRequest(t, srv, tc.method, target, tc.body)
				if status != tc.status || !strings.HasPrefix(ctype, "application/json") || !strings.Contains(body, tc.want) {
					t.Fatalf("%d %s %s; want %d with %s", status, ctype, body, tc.status, tc.want)
				}
			})
		}
	}
	// Other paths still reach the mux, and keep net/http's answer to a
	// malformed target.
	if status, _, _ := rawRequest(t, srv, "GET", "/elsewhere", ""); status != http.StatusTeapot {
		t.Fatalf("other path: %d", status)
	}
	if status, ctype, _ := rawRequest(t, srv, "GET", "/elsewhere/%zz", ""); status != 400 || !strings.HasPrefix(ctype, "text/plain") {
		t.Fatalf("malformed target elsewhere: %d %s", status, ctype)
	}
	// A malformed request after a good one on the same connection.
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "GET /api/1/tenant/acme.json?"+tok+" HTTP/1.1\r\nHost: x\r\n\r\nGET /api/1/%zz HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	for i, want := range []int{200, 400} {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != want || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("pipelined answer %d: %d %s", i, res.StatusCode, b)
		}
	}
}

// TestReadableSize pins Crafter's fileSize format (DecimalFormat
// "#,##0.#", 1024 steps, half-even rounding).
func TestReadableSize(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0"}, {1, "1 B"}, {108, "108 B"}, {1000, "1,000 B"}, {1023, "1,023 B"},
		{1024, "1 KB"}, {1280, "1.2 KB"}, {1331, "1.3 KB"}, {23193, "22.6 KB"},
		{1048575, "1,024 KB"}, {1048576, "1 MB"}, {5 << 20, "5 MB"}, {1536 << 20, "1.5 GB"},
		{3 << 40, "3 TB"}, {2000 << 40, "2,000 TB"},
	} {
		if got := readableSize(tc.n); got != tc.want {
			t.Errorf("readableSize(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

// TestReuploadKeepsID pins that uploading an attachment again under the
// same name keeps its id (and serves the new bytes), with the default
// blob store and with a directory store.
func TestReuploadKeepsID(t *testing.T) {
	root := t.TempDir()
	dir, err := blob.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for name, e := range map[string]*env{"kv": newEnv(t), "dir": newEnvWith(t, memory.New(), func(o *Options) { o.Blobs = dir })} {
		t.Run(name, func(t *testing.T) {
			e.tenant("acme")
			p := e.profile("acme", "alice", nil)
			var first, second ProfileAttachment
			e.mustOK(e.upload(p.ID, "attachment", "me.png", pngBytes, nil)).json(t, &first)
			bigger := append(append([]byte{}, pngBytes...), make([]byte, 900)...)
			e.mustOK(e.upload(p.ID, "attachment", "me.png", bigger, nil)).json(t, &second)
			if first.ID == nil || second.ID == nil || *first.ID != *second.ID {
				t.Fatalf("re-upload changed the id: %v -> %v", first.ID, second.ID)
			}
			if *second.FileSize != "1,008 B" || second.FileSizeBytes != int64(len(bigger)) {
				t.Fatalf("second upload %+v", second)
			}
			r := e.mustOK(e.do("GET", "/api/1/profile/"+p.ID+"/attachment/me", e.master, nil))
			if !bytes.Equal(r.body, bigger) {
				t.Fatalf("download: %d bytes, want %d", len(r.body), len(bigger))
			}
			var list []ProfileAttachment
			e.mustOK(e.do("GET", "/api/1/profile/"+p.ID+"/attachments.json", e.master, nil)).json(t, &list)
			if len(list) != 1 || *list[0].ID != *first.ID {
				t.Fatalf("list %+v", list)
			}
			// The replaced bytes are reclaimed; deleting the profile takes the rest.
			if _, err := e.svc.Sweep(context.Background()); err != nil {
				t.Fatal(err)
			}
			e.mustOK(e.do("POST", "/api/1/profile/"+p.ID+"/delete", e.master, nil))
			if _, err := e.svc.Sweep(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
	files := 0
	_ = filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files++
		}
		return nil
	})
	if files > 0 {
		t.Errorf("files left in the directory store: %d", files)
	}
}
