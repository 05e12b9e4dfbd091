package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kek"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/profile"
	"github.com/gatehouse-id/gatehouse/store/postgres/pgtest"
)

const (
	fixture     = "testdata/export"
	masterToken = "e8f5170c-877b-416f-b70f-4b09772f8e2d"
	engineToken = "b4d44030-d0af-11e3-9c1a-0800200c9a66"
)

func noenv(string) string { return "" }

// importRun runs the command and returns its report.
func importRun(t *testing.T, args ...string) string {
	t.Helper()
	var out, errs bytes.Buffer
	if err := run(context.Background(), args, noenv, &out, &errs); err != nil {
		t.Fatalf("run %v: %v\n%s%s", args, err, out.String(), errs.String())
	}
	return out.String()
}

// openTarget opens the store the command wrote, with the key beside it.
func openTarget(t *testing.T, url string) *directory {
	t.Helper()
	src, err := kek.Resolve(url, "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := openDirectory(context.Background(), url, src.Key, identity.Production, "gatehouse", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// digest hashes every key and value of a store.
func digest(t *testing.T, url string) string {
	t.Helper()
	d := openTarget(t, url)
	h := sha256.New()
	err := d.store.View(context.Background(), func(tx identity.ReadTx) error {
		return tx.Scan(nil, identity.ScanOptions{}, func(k, v []byte) error {
			fmt.Fprintf(h, "%d:%s=%d:%s;", len(k), k, len(v), v)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	return fmt.Sprintf("%x", h.Sum(nil))
}

// wantProblems are the report lines of the fixture, whatever the run.
var wantProblems = []string{
	"profile line 9: invalid: not a JSON document",
	"profile line 10: invalid: unsupported extended JSON type $binary",
	`tenant 5e1c9b2a8f1d2c0001a00003: invalid: Tenant name "Bad Name"`,
	`tenant 5e1c9b2a8f1d2c0001a00004: duplicate: tenant name "default" is given twice`,
	"accesstoken sha256:",
	`profile 5e1c9b2a8f1d2c0001b00003: duplicate: email "JANE@example.com" is held by another profile of tenant "default"`,
	`profile 5e1c9b2a8f1d2c0001b00004: duplicate: username "jane" is held by another profile of tenant "default"`,
	"profile 5e1c9b2a8f1d2c0001b00006: invalid: email",
	`profile 5e1c9b2a8f1d2c0001b00005: unknown tenant: unknown tenant "gone"`,
	`profile 5e1c9b2a8f1d2c0001b00007: skipped: tenant "Bad Name"`,
	"profile 5e1c9b2a8f1d2c0001b0000a: invalid: password is not a Crafter Profile hash",
}

func checkReport(t *testing.T, report string, summary ...string) {
	t.Helper()
	for _, w := range append(slices.Clone(wantProblems), summary...) {
		if !strings.Contains(report, w) {
			t.Errorf("report lacks %q:\n%s", w, report)
		}
	}
	if strings.Contains(report, "short") {
		t.Errorf("the report shows an access token id:\n%s", report)
	}
}

// TestImportFixture imports the hand-written export (every collection,
// duplicates, extended-JSON forms) and checks what the store holds; the
// Crafter admin profile then signs in through the Crafter face with its
// Crafter password, and its hash becomes argon2id.
func TestImportFixture(t *testing.T) {
	target := "bolt:" + filepath.Join(t.TempDir(), "g.db")
	report := importRun(t, "-store", target, "-dir", fixture, "-batch", "2")
	checkReport(t, report,
		"tenant:      2 created, 0 existing, 2 rejected",
		"accesstoken: 2 created, 0 existing, 1 rejected",
		"profile:     3 created, 0 existing, 9 rejected",
		`profile 5e1c9b2a8f1d2c0001b00001: duplicate: the _id is already used`,
		"problems:    12")
	ctx := context.Background()
	d := openTarget(t, target)

	tn, err := d.base.GetTenant(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	if tn.VerifyNewProfiles || !tn.CleanseAttributes || len(tn.AvailableRoles) != 4 || len(tn.AttributeDefinitions) != 2 {
		t.Fatalf("tenant default = %+v", tn)
	}
	plan, ok := tn.Definition("plan")
	if !ok || plan.DefaultValue != "free" || len(plan.Permissions) != 2 || plan.Permissions[0].Application != "engine" ||
		plan.Metadata["label"] != "Plan" {
		t.Fatalf("definition plan = %+v", plan)
	}
	site, err := d.base.GetTenant(ctx, "my-site")
	if err != nil || !site.VerifyNewProfiles || site.CleanseAttributes {
		t.Fatalf("tenant my-site = %+v, %v", site, err)
	}

	var admin, jane, siteJane *identity.User
	err = d.base.View(ctx, func(tx *identity.ReadTxn) error {
		var err error
		if admin, err = tx.UserByObjectID("5e1c9b2a8f1d2c0001b00001"); err != nil {
			return err
		}
		if jane, err = tx.UserByObjectID("5e1c9b2a8f1d2c0001b00002"); err != nil {
			return err
		}
		siteJane, err = tx.UserByObjectID("5e1c9b2a8f1d2c0001b00008")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if admin.Username != "admin" || admin.Email != "admin@example.com" || !admin.Enabled || admin.Verified ||
		!slices.Equal(admin.Roles, []string{"PROFILE_SUPERADMIN", "SOCIAL_SUPERADMIN"}) ||
		!admin.CreatedAt.Equal(time.UnixMilli(1400000000000)) || !admin.UpdatedAt.Equal(time.UnixMilli(1500000000000)) ||
		admin.Attributes["plan"] != "free" {
		t.Fatalf("admin = %+v", admin)
	}
	if !jane.Verified || jane.PasswordHash != "" || jane.Attributes["firstName"] != "Jane" ||
		!jane.CreatedAt.Equal(time.Date(2015, 3, 4, 5, 6, 7, 123e6, time.UTC)) {
		t.Fatalf("jane = %+v", jane)
	}
	// The same email in another tenant is another person.
	if siteJane.Email != "jane@example.com" || siteJane.OrgID == jane.OrgID || siteJane.Enabled {
		t.Fatalf("my-site jane = %+v", siteJane)
	}
	// Numbers are stored with the digits of the export; dates in
	// attributes become epoch milliseconds.
	raw := storedUser(t, d, jane.ID)
	for _, w := range []string{`"account":12345678901234567`, `"ratio":1.0`, `"seen":1451606400000`} {
		if !strings.Contains(raw, w) {
			t.Errorf("stored jane lacks %s: %s", w, raw)
		}
	}

	master, _, err := d.base.AuthenticateSecret(ctx, masterToken)
	if err != nil || !master.Master || master.Application != "profile-admin" || master.ExpiresAt == nil ||
		!master.ExpiresAt.Equal(time.UnixMilli(2029000000000)) || len(master.TenantPermissions) != 1 {
		t.Fatalf("master token = %+v, %v", master, err)
	}
	engine, _, err := d.base.AuthenticateSecret(ctx, engineToken)
	if err != nil || engine.Master || engine.Environment != identity.Production ||
		!slices.Equal(engine.TenantPermissions[0].AllowedActions, []string{"READ_TENANT", "MANAGE_PROFILES", "MANAGE_TICKETS"}) {
		t.Fatalf("engine token = %+v, %v", engine, err)
	}

	// The imported token and the imported Crafter hash sign in through
	// the Crafter face.
	h := d.crafter.Handler()
	authenticate := func(pw string) int {
		form := url.Values{"accessTokenId": {engineToken}, "tenantName": {"default"}, "username": {"admin"}, "password": {pw}}
		req := httptest.NewRequest(http.MethodPost, "/api/1/authentication/authenticate", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		b, _ := io.ReadAll(w.Body)
		if w.Code == http.StatusOK {
			var tk profile.Ticket
			if err := json.Unmarshal(b, &tk); err != nil || tk.ProfileID != "5e1c9b2a8f1d2c0001b00001" {
				t.Fatalf("ticket %s: %v", b, err)
			}
		}
		return w.Code
	}
	if code := authenticate("not admin"); code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", code)
	}
	if code := authenticate("admin"); code != http.StatusOK {
		t.Fatalf("Crafter password: %d", code)
	}
	after, err := d.base.GetUser(ctx, "default", admin.ID)
	if err != nil || !strings.HasPrefix(after.PasswordHash, "$argon2id$") {
		t.Fatalf("hash after login = %q, %v", after.PasswordHash, err)
	}
	if code := authenticate("admin"); code != http.StatusOK {
		t.Fatalf("after the re-hash: %d", code)
	}
}

// storedUser returns the stored bytes of the user with id.
func storedUser(t *testing.T, d *directory, id string) string {
	t.Helper()
	var out string
	err := d.store.View(context.Background(), func(tx identity.ReadTx) error {
		v, err := tx.Get(identity.UserKey(kv.Inside(), identity.Production, id))
		out = string(v)
		return err
	})
	if err != nil || out == "" {
		t.Fatalf("user %s not found: %v", id, err)
	}
	return out
}

// TestImportTwice: the second run reports every imported record as
// existing and changes nothing in the store.
func TestImportTwice(t *testing.T) {
	url := "bolt:" + filepath.Join(t.TempDir(), "g.db")
	importRun(t, "-store", url, "-dir", fixture)
	before := digest(t, url)
	report := importRun(t, "-store", url, "-dir", fixture, "-v")
	checkReport(t, report,
		"tenant:      0 created, 2 existing, 2 rejected",
		"accesstoken: 0 created, 2 existing, 1 rejected",
		"profile:     0 created, 4 existing, 8 rejected",
		"profile 5e1c9b2a8f1d2c0001b00002: exists")
	if after := digest(t, url); after != before {
		t.Fatal("the second import changed the store")
	}
}

// TestDryRun: a dry run reports what the import would do and writes
// nothing, neither into a store that does not exist yet (no file is
// created) nor into one that holds the import.
func TestDryRun(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "g.db")
	url := "bolt:" + path
	report := importRun(t, "-store", url, "-dir", fixture, "-dry-run", "-batch", "1")
	checkReport(t, report, "would import (dry run",
		"tenant:      2 created, 0 existing, 2 rejected",
		"accesstoken: 2 created, 0 existing, 1 rejected",
		"profile:     3 created, 0 existing, 9 rejected")
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a dry run wrote %v", entries)
	}
	keyFile := filepath.Join(dir, "other.kek")
	importRun(t, "-store", url, "-dir", fixture, "-dry-run", "-key-encryption-key-file", keyFile)
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a dry run with a key file wrote %v", entries)
	}
	importRun(t, "-store", url, "-dir", fixture)
	before := digest(t, url)
	report = importRun(t, "-store", url, "-dir", fixture, "-dry-run")
	checkReport(t, report,
		"tenant:      0 created, 2 existing, 2 rejected",
		"accesstoken: 0 created, 2 existing, 1 rejected",
		"profile:     0 created, 4 existing, 8 rejected")
	if digest(t, url) != before {
		t.Fatal("a dry run changed the store")
	}
}

// TestImportSandbox: with -environment sandbox, profiles and access
// tokens land in the sandbox directory only; production serves nothing
// new (organizations are shared by both environments).
func TestImportSandbox(t *testing.T) {
	target := "bolt:" + filepath.Join(t.TempDir(), "g.db")
	report := importRun(t, "-store", target, "-dir", fixture, "-environment", "sandbox")
	if !strings.Contains(report, "profile:     3 created") {
		t.Fatalf("report:\n%s", report)
	}
	ctx := context.Background()
	d := openTarget(t, target)
	if p, err := d.base.ListUsers(ctx, "default", identity.PageRequest{}); err != nil || p.Total != 0 {
		t.Fatalf("production users: %+v, %v", p, err)
	}
	sb, err := d.base.ForEnvironment(identity.Sandbox)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := sb.ListUsers(ctx, "default", identity.PageRequest{}); err != nil || p.Total != 2 {
		t.Fatalf("sandbox users: %+v, %v", p, err)
	}
	if _, err := d.base.CredentialBySecret(ctx, masterToken); err == nil {
		t.Fatal("the imported token authenticates in production")
	}
	if c, _, err := d.base.AuthenticateSecret(ctx, masterToken); err != nil || c.Environment != identity.Sandbox {
		t.Fatalf("token: %+v, %v", c, err)
	}
}

// TestJSONArray: an export written with --jsonArray
// imports the same way.
func TestJSONArray(t *testing.T) {
	dir := t.TempDir()
	raw, err := os.ReadFile(filepath.Join(fixture, "accesstoken.json"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	arr := "[\n" + strings.Join(lines, ",\n") + "\n]\n"
	if err := os.WriteFile(filepath.Join(dir, "accesstoken.json"), []byte(arr), 0o600); err != nil {
		t.Fatal(err)
	}
	report := importRun(t, "-store", "bolt:"+filepath.Join(dir, "g.db"), "-dir", dir)
	if !strings.Contains(report, "accesstoken: 2 created, 0 existing, 1 rejected") {
		t.Fatalf("report:\n%s", report)
	}
}

// TestFlagsAndStoreErrors: bad usage and an unusable store fail the run
// (non-zero exit); problems in records never do.
func TestFlagsAndStoreErrors(t *testing.T) {
	dir := t.TempDir()
	locked := "bolt:" + filepath.Join(dir, "locked.db")
	openTarget(t, locked) // held open until the test ends, as a running server would
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"nothing", []string{"-store", "memory:"}, "nothing to import"},
		{"environment", []string{"-dir", fixture, "-environment", "staging"}, "-environment"},
		{"batch", []string{"-dir", fixture, "-batch", "0"}, "-batch"},
		{"missing file", []string{"-store", "memory:", "-profiles", filepath.Join(dir, "none.json")}, "none.json"},
		{"postgres without key", []string{"-store", "postgres://u@127.0.0.1:1/db", "-dir", fixture}, "key-encryption-key"},
		{"both keys", []string{"-store", "memory:", "-dir", fixture, "-key-encryption-key", "x", "-key-encryption-key-file", "y"}, "not both"},
		{"locked store", []string{"-store", locked, "-dir", fixture}, "in use by another process"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			err := run(context.Background(), tc.args, noenv, &out, &errs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestDecodeDoc pins the extended-JSON forms mongoexport writes.
func TestDecodeDoc(t *testing.T) {
	ms := time.UnixMilli(1400000000000).UTC()
	for _, tc := range []struct {
		name, doc string
		want      any
		err       string
	}{
		{"oid", `{"v":{"$oid":"5E1C9B2A8F1D2C0001A00001"}}`, "5e1c9b2a8f1d2c0001a00001", ""},
		{"relaxed date", `{"v":{"$date":"2014-05-13T16:53:20Z"}}`, ms, ""},
		{"canonical date", `{"v":{"$date":{"$numberLong":"1400000000000"}}}`, ms, ""},
		{"legacy date", `{"v":{"$date":1400000000000}}`, ms, ""},
		{"long", `{"v":{"$numberLong":"12345678901234567"}}`, json.Number("12345678901234567"), ""},
		{"int", `{"v":{"$numberInt":"7"}}`, json.Number("7"), ""},
		{"double", `{"v":{"$numberDouble":"1.0"}}`, json.Number("1.0"), ""},
		{"decimal", `{"v":{"$numberDecimal":"0.1"}}`, json.Number("0.1"), ""},
		{"plain number", `{"v":12345678901234567}`, json.Number("12345678901234567"), ""},
		{"nested", `{"v":[{"a":{"$numberInt":"1"}}]}`, []any{map[string]any{"a": json.Number("1")}}, ""},
		{"two keys is an object", `{"v":{"$oid":"x","b":1}}`, map[string]any{"$oid": "x", "b": json.Number("1")}, ""},
		{"infinity", `{"v":{"$numberDouble":"Infinity"}}`, nil, "finite"},
		{"bad long", `{"v":{"$numberLong":"1.5"}}`, nil, "integer"},
		{"bad oid", `{"v":{"$oid":"zz"}}`, nil, "$oid"},
		{"bad date", `{"v":{"$date":"yesterday"}}`, nil, "$date"},
		{"binary", `{"v":{"$binary":{"base64":"AA==","subType":"00"}}}`, nil, "$binary"},
		{"array", `[1]`, nil, "not a JSON document"},
		{"whole wrapper", `{"$numberInt":"1"}`, nil, "not a document"},
		{"two values", `{} {}`, nil, "more than one"},
		{"huge number", `{"v":1e400}`, nil, "out of range"},
		{"huge decimal", `{"v":{"$numberDecimal":"1e6000"}}`, nil, "finite"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := decodeDoc([]byte(tc.doc))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(doc["v"])
			want, _ := json.Marshal(tc.want)
			if !bytes.Equal(got, want) {
				t.Fatalf("v = %s, want %s", got, want)
			}
		})
	}
}

// FuzzDecodeDoc: no document makes the decoder panic, and what it
// accepts marshals back to JSON.
func FuzzDecodeDoc(f *testing.F) {
	for _, seed := range []string{
		`{"_id":{"$oid":"5e1c9b2a8f1d2c0001b00001"},"createdOn":{"$date":{"$numberLong":"1"}}}`,
		`{"a":[{"$numberDouble":"1.0"},{"$date":"2014-01-01T00:00:00Z"},{"$date":5}]}`,
		`{"$oid":"x"}`, `{"v":{"$date":{"$numberLong":"x"}}}`, `{}`, `null`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		doc, err := decodeDoc(raw)
		if err != nil {
			return
		}
		if _, err := json.Marshal(attrValue(doc)); err != nil {
			t.Fatalf("accepted %q but cannot marshal it: %v", raw, err)
		}
	})
}

// TestImportPostgres runs the import, and the import again, against a
// throwaway PostgreSQL (skipped when none is installed): the store URL and
// the key-encryption key are taken as the server takes them.
func TestImportPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c, err := pgtest.Start(ctx, pgtest.Options{})
	cancel()
	if errors.Is(err, pgtest.ErrNotInstalled) {
		t.Skipf("%v (%s)", err, pgtest.InstallHint)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	key, err := ephemeralKey()
	if err != nil {
		t.Fatal(err)
	}
	target := c.URL("postgres")
	report := importRun(t, "-store", target, "-key-encryption-key", key, "-dir", fixture)
	checkReport(t, report,
		"tenant:      2 created, 0 existing, 2 rejected",
		"accesstoken: 2 created, 0 existing, 1 rejected",
		"profile:     3 created, 0 existing, 9 rejected")
	report = importRun(t, "-store", target, "-key-encryption-key", key, "-dir", fixture)
	checkReport(t, report,
		"tenant:      0 created, 2 existing, 2 rejected",
		"accesstoken: 0 created, 2 existing, 1 rejected",
		"profile:     0 created, 4 existing, 8 rejected")
	var out, errs bytes.Buffer
	other, _ := ephemeralKey()
	if err := run(context.Background(), []string{"-store", target, "-key-encryption-key", other, "-dir", fixture},
		noenv, &out, &errs); err == nil || !strings.Contains(err.Error(), "key-encryption key") {
		t.Fatalf("another key: %v", err)
	}
}
