package profile

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/mail"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// fakeHasher stores "plain:"+password; it keeps tests fast. The argon2id
// hasher is exercised by the benchmarks and TestRealHasher.
type fakeHasher struct {
	mu      sync.Mutex
	dummies int
	verifys int
}

func (f *fakeHasher) Hash(_ context.Context, pw string) (string, error) { return "plain:" + pw, nil }
func (f *fakeHasher) Verify(_ context.Context, pw, enc string) (bool, bool, error) {
	f.mu.Lock()
	f.verifys++
	f.mu.Unlock()
	return enc == "plain:"+pw, false, nil
}
func (f *fakeHasher) DummyVerify(context.Context, string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dummies++
	return nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type mailbox struct {
	mu    sync.Mutex
	msgs  []mail.Message
	flush func() // waits for the service's mail queue
}

func (m *mailbox) Send(_ context.Context, msg mail.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, msg)
	return nil
}

func (m *mailbox) last() mail.Message {
	if m.flush != nil {
		m.flush()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.msgs) == 0 {
		return mail.Message{}
	}
	return m.msgs[len(m.msgs)-1]
}

type env struct {
	t      testing.TB
	id     *identity.Service
	svc    *Service
	h      http.Handler
	clock  *clock
	mail   *mailbox
	sleeps []time.Duration
	sleepM sync.Mutex
	master string // accessTokenId of a master token with every right
	hasher *fakeHasher
}

func newEnv(t testing.TB) *env { return newEnvOn(t, memory.New()) }

func newEnvOn(t testing.TB, st identity.Store) *env { return newEnvWith(t, st, nil) }

// newEnvWith is newEnvOn with options changed by opt (if not nil) before
// New.
func newEnvWith(t testing.TB, st identity.Store, opt func(*Options)) *env {
	t.Helper()
	e := &env{t: t, clock: &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}, mail: &mailbox{}, hasher: &fakeHasher{}}
	id, err := identity.NewService(identity.Options{Store: st, Clock: e.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	e.id = id
	opts := Options{Identity: id, Hasher: e.hasher, Mailer: e.mail, MonitoringToken: "monitor-secret-123",
		Sleep: func(_ context.Context, d time.Duration) error {
			e.sleepM.Lock()
			e.sleeps = append(e.sleeps, d)
			e.sleepM.Unlock()
			return nil
		}}
	if opt != nil {
		opt(&opts)
	}
	e.svc, err = New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.svc.Close() })
	if e.svc.mailq != nil {
		e.mail.flush = e.svc.mailq.wait
	}
	e.h = e.svc.Handler()
	e.master = e.token(identity.Credential{Application: "profile-admin", Master: true,
		TenantPermissions: []identity.TenantPermission{{Tenant: "*", AllowedActions: []string{"*"}}}})
	return e
}

// token creates an access token and returns its id.
func (e *env) token(c identity.Credential) string {
	e.t.Helper()
	if c.Environment == "" {
		c.Environment = identity.Production
	}
	secret, err := e.id.NewSecret()
	if err != nil {
		e.t.Fatal(err)
	}
	c.Secret = secret
	svc, err := e.id.ForEnvironment(c.Environment)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, _, err := svc.CreateCredential(context.Background(), c, secret); err != nil {
		e.t.Fatal(err)
	}
	return secret
}

type resp struct {
	status int
	body   []byte
	header http.Header
}

func (r resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r resp) code() string {
	var e struct {
		ErrorCode string `json:"errorCode"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.ErrorCode
}

// do sends a request; form values go in the body for POST (as the Java
// client sends them) and in the query string for GET. tok is added as
// accessTokenId when not empty.
func (e *env) do(method, path, tok string, form url.Values) resp {
	e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if tok != "" {
		form.Set("accessTokenId", tok)
	}
	var req *http.Request
	if method == http.MethodGet || method == http.MethodHead {
		req = httptest.NewRequest(method, path+"?"+form.Encode(), nil)
	} else {
		req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return e.serve(req)
}

// doJSON posts a JSON body with accessTokenId in the query string.
func (e *env) doJSON(path, tok string, body any, extra url.Values) resp {
	e.t.Helper()
	b, _ := json.Marshal(body)
	if extra == nil {
		extra = url.Values{}
	}
	extra.Set("accessTokenId", tok)
	req := httptest.NewRequest(http.MethodPost, path+"?"+extra.Encode(), strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	return e.serve(req)
}

func (e *env) serve(req *http.Request) resp {
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	b, _ := io.ReadAll(w.Result().Body)
	return resp{status: w.Code, body: b, header: w.Result().Header}
}

func (e *env) mustOK(r resp) resp {
	e.t.Helper()
	if r.status != http.StatusOK {
		e.t.Fatalf("status %d: %s", r.status, r.body)
	}
	return r
}

// tenant creates a tenant with the default Crafter definitions plus the
// given ones.
func (e *env) tenant(name string, defs ...AttributeDefinition) Tenant {
	e.t.Helper()
	all := []AttributeDefinition{
		{Name: "firstName", Metadata: map[string]any{"type": "TEXT"}, Permissions: []AttributePermission{{Application: "*", AllowedActions: []string{"*"}}}},
		{Name: "lastName", Metadata: map[string]any{"type": "TEXT"}, Permissions: []AttributePermission{{Application: "*", AllowedActions: []string{"*"}}}},
	}
	all = append(all, defs...)
	var tn Tenant
	e.mustOK(e.doJSON("/api/1/tenant/create.json", e.master, map[string]any{"name": name,
		"availableRoles": []string{"ADMIN", "USER"}, "attributeDefinitions": all}, nil)).json(e.t, &tn)
	return tn
}

// profile creates a profile and returns it.
func (e *env) profile(tenant, username string, extra url.Values) Profile {
	e.t.Helper()
	f := url.Values{"tenantName": {tenant}, "username": {username}, "password": {"pw-" + username},
		"email": {username + "@example.com"}, "enabled": {"true"}}
	for k, v := range extra {
		f[k] = v
	}
	var p Profile
	e.mustOK(e.do("POST", "/api/1/profile/create.json", e.master, f)).json(e.t, &p)
	return p
}

const time1 = time.Second

func jsonReq(path, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// get reads a profile with the master token.
func (e *env) get(id string) Profile {
	e.t.Helper()
	var p Profile
	e.mustOK(e.do("GET", "/api/1/profile/"+id+".json", e.master, nil)).json(e.t, &p)
	return p
}
