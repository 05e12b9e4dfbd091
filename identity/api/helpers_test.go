package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/api"
	"github.com/gatehouse-id/gatehouse/identity/gazetteer"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/internal/testkit"
	"github.com/gatehouse-id/gatehouse/store/memory"
	"github.com/gatehouse-id/gatehouse/tokens"
)

const account = "your-domain"

// fixture is a handler over a fresh memory store.
type fixture struct {
	t     testing.TB
	svc   *identity.Service
	h     *api.Handler
	clock *testkit.Clock
	logs  *testkit.Buffer
}

type fixtureOpts struct {
	routes []api.RouteGroup
}

var (
	gazOnce sync.Once
	gaz     *gazetteer.Gazetteer
)

func places(t testing.TB) identity.PlaceResolver {
	gazOnce.Do(func() {
		var err error
		if gaz, err = gazetteer.New(); err != nil {
			t.Fatal(err)
		}
	})
	return gaz
}

func newFixture(t testing.TB, opts ...fixtureOpts) *fixture {
	t.Helper()
	c := testkit.NewClock(time.Date(2022, 3, 10, 8, 15, 16, 0, time.UTC))
	logs := &testkit.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	svc, err := identity.NewService(identity.Options{Store: memory.New(), Clock: c.Now, AccountDomain: account,
		Places: places(t), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	var o fixtureOpts
	if len(opts) > 0 {
		o = opts[0]
	}
	ts, err := tokens.New(tokens.Options{Identity: svc, BaseURL: "http://localhost:4000"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Options{Service: svc, TokenService: ts, Logger: log, Routes: o.routes})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, svc: svc, h: h, clock: c, logs: logs}
}

// key creates an API key and returns a management token for it.
func (f *fixture) key(env identity.Environment, orgs []string, perms ...string) string {
	f.t.Helper()
	if len(perms) == 0 {
		perms = []string{"*"}
	}
	c, secret, err := f.svc.CreateCredential(context.Background(),
		identity.Credential{Name: "test key", Environment: env, Permissions: perms, ManagedOrgs: orgs}, "")
	if err != nil {
		f.t.Fatal(err)
	}
	rec := f.do("POST", "/api/v2/oauth/token", "", map[string]any{
		"grant_type": "client_credentials", "client_id": c.ID, "client_secret": secret, "domain": account})
	if rec.Code != http.StatusOK {
		f.t.Fatalf("token: %d %s", rec.Code, rec.Body)
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.AccessToken == "" {
		f.t.Fatalf("token answer %s: %v", rec.Body, err)
	}
	return out.AccessToken
}

// admin returns a token for a key with every permission on every
// organization of the production environment.
func (f *fixture) admin() string { return f.key(identity.Production, []string{"*"}) }

// do sends a request. body is JSON-encoded unless it is a string (sent as
// a form) or nil.
func (f *fixture) do(method, path, token string, body any) *httptest.ResponseRecorder {
	f.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/x-www-form-urlencoded"
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case []byte:
		rd, ct = bytes.NewReader(b), "application/json"
	default:
		js, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		rd, ct = bytes.NewReader(js), "application/json"
	}
	req := httptest.NewRequest(method, path, rd)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

// json sends a request and decodes the answer, failing unless the status
// is want.
func (f *fixture) json(want int, method, path, token string, body any) map[string]any {
	f.t.Helper()
	rec := f.do(method, path, token, body)
	if rec.Code != want {
		f.t.Fatalf("%s %s: status %d, want %d: %s", method, path, rec.Code, want, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		f.t.Fatalf("%s %s: content type %q", method, path, ct)
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		f.t.Fatalf("%s %s: %v: %s", method, path, err, rec.Body)
	}
	return out
}

// mustOrg creates an organization through the API.
func (f *fixture) mustOrg(tok, name string) map[string]any {
	f.t.Helper()
	return f.json(http.StatusCreated, "POST", "/api/v2/organizations", tok, map[string]any{"name": name})
}

func (f *fixture) mustUser(tok, domain, email string) map[string]any {
	f.t.Helper()
	return f.json(http.StatusCreated, "POST", "/api/v2/org/"+domain+"/users", tok,
		map[string]any{"profile": map[string]any{"email": email, "given_name": "Jane"}})
}

func (f *fixture) mustApp(tok, domain string) map[string]any {
	f.t.Helper()
	return f.json(http.StatusCreated, "POST", "/api/v2/org/"+domain+"/applications", tok, map[string]any{
		"name": "App", "application_type": "react",
		"allowed_redirect_urls": []string{"http://localhost:3000"}, "allowed_origins_cors": []string{"http://localhost:3000"},
		"allowed_web_origins": []string{"http://localhost:3000"}, "allowed_logout_urls": []string{"http://localhost:3000"}})
}

// fieldErrors returns the field names of a 422 answer.
func fieldErrors(t testing.TB, body map[string]any) map[string]any {
	t.Helper()
	errs, ok := body["errors"].(map[string]any)
	if !ok {
		t.Fatalf("no errors object in %v", body)
	}
	return errs
}

// eventCount returns how many log events the environment holds (the
// counter of every write).
func (f *fixture) eventCount(env identity.Environment) int64 {
	f.t.Helper()
	var n int64
	err := f.svc.Backend(kv.Inside()).View(context.Background(), func(tx identity.ReadTx) error {
		return kv.Records[identity.Event]{Env: string(env), Kind: "event"}.Scan(tx, func(string, identity.Event) error {
			n++
			return nil
		})
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

func newRequest(method, target string, body io.Reader) *http.Request {
	return httptest.NewRequest(method, target, body)
}

func serve(f *fixture, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	return rec
}
