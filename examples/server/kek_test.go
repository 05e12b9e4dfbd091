package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/testkit"
)

const kekTestMaster = "master:kek-test-master-secret-0123456789"

// crafterTokenIDs lists the Crafter access-token ids the master sees.
func crafterTokenIDs(t *testing.T, c *client, master string) []string {
	t.Helper()
	a := c.expect(200, "GET", "/api/1/access_token/all.json?accessTokenId="+url.QueryEscape(master), "", "")
	var list []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(a.body, &list); err != nil {
		t.Fatalf("access tokens: %s", a.body)
	}
	var ids []string
	for _, tok := range list {
		ids = append(ids, tok.ID)
	}
	slices.Sort(ids)
	return ids
}

// TestServerSealsSecretsAndRestarts guards breach 8 of issue 10 on the
// example server: the first start on a bolt store creates its
// key-encryption key beside the store (mode 0600) and says so; no secret
// a client holds (master secret, access-token id, persistent-login token)
// is in the store file; after a restart the same key opens everything: the
// credentials authenticate on both faces and Crafter lists the same ids.
func TestServerSealsSecretsAndRestarts(t *testing.T) {
	db := filepath.Join(t.TempDir(), "g.db")
	logs := &testkit.Buffer{}
	base, _, stop := startServerLogs(t, logs, "-store", "bolt:"+db, "-master-key", kekTestMaster)
	if !strings.Contains(logs.String(), "created a new key-encryption key") {
		t.Fatalf("the first start did not log its new key: %s", logs.String())
	}
	st, err := os.Stat(db + ".kek")
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", st, err)
	}
	_, master, _ := strings.Cut(kekTestMaster, ":")
	c := newClient(t, base)
	q := "?accessTokenId=" + url.QueryEscape(master)
	app := c.json(200, "POST", "/api/1/access_token/create.json"+q,
		`{"application":"kek-app","master":false,"tenantPermissions":[{"tenant":"*","allowedActions":["*"]}]}`)
	appID := str(t, app, "id")
	c.json(200, "POST", "/api/1/tenant/create.json"+q, `{"name":"kek-tenant","verifyNewProfiles":false,"availableRoles":["USER"]}`)
	p := c.form(200, "/api/1/profile/create.json"+q, url.Values{"tenantName": {"kek-tenant"}, "username": {"kim"},
		"password": {"kim-password-0123"}, "email": {"kim@kek.test"}, "enabled": {"true"}, "role": {"USER"}})
	pl := c.form(200, "/api/1/authentication/persistent_login/create.json"+q, url.Values{"profileId": {str(t, p, "id")}})
	plID, plToken := str(t, pl, "id"), str(t, pl, "token")
	before := crafterTokenIDs(t, c, master)
	if !slices.Contains(before, appID) {
		t.Fatalf("the new token is not listed: %v", before)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	raw, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	for what, s := range map[string]string{"master secret": master, "access-token id": appID,
		"persistent-login id": plID, "persistent-login token": plToken} {
		for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s))} {
			if bytes.Contains(raw, []byte(form)) {
				t.Errorf("the store file holds the %s", what)
			}
		}
	}

	logs2 := &testkit.Buffer{}
	base2, _, _ := startServerLogs(t, logs2, "-store", "bolt:"+db)
	if strings.Contains(logs2.String(), "created a new key-encryption key") {
		t.Fatal("the second start created another key")
	}
	c2 := newClient(t, base2)
	if after := crafterTokenIDs(t, c2, master); !slices.Equal(after, before) {
		t.Fatalf("access tokens after the restart: %v, before %v", after, before)
	}
	c2.expect(200, "GET", "/api/1/tenant/count.json?accessTokenId="+url.QueryEscape(appID), "", "")
	got := c2.expect(200, "GET", "/api/1/authentication/persistent_login/"+url.PathEscape(plID)+".json"+q, "", "").obj(t)
	if got["token"] != plToken {
		t.Fatalf("persistent login after the restart: %v", got)
	}
	c2.form(200, "/api/v2/oauth/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {"master"}, "client_secret": {master}})
}

// TestServerRefusesWrongKEK: a store opened with another key does not
// start, with a message naming the key, whether the key comes from the key
// file, the flag, or a new key because the file was lost (that new file is
// not left behind).
func TestServerRefusesWrongKEK(t *testing.T) {
	db := filepath.Join(t.TempDir(), "g.db")
	_, _, stop := startServer(t, "-store", "bolt:"+db, "-master-key", kekTestMaster)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(db + ".kek")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := seal.NewKey(nil)
	start := func(args ...string) error {
		return run(context.Background(), append([]string{"-addr", freeAddr(t), "-store", "bolt:" + db}, args...),
			noenv, io.Discard, io.Discard)
	}
	if err := os.WriteFile(db+".kek", []byte(seal.EncodeKey(other)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := start(); err == nil || !strings.Contains(err.Error(), "wrong key-encryption key from the key file") {
		t.Fatalf("another key in the file: %v", err)
	}
	if err := start("-key-encryption-key", seal.EncodeKey(other)); err == nil || !strings.Contains(err.Error(), "wrong key-encryption key from -key-encryption-key") {
		t.Fatalf("another key by flag: %v", err)
	}
	os.Remove(db + ".kek")
	if err := start(); err == nil || !strings.Contains(err.Error(), "wrong key-encryption key") {
		t.Fatalf("a lost key file: %v", err)
	}
	if _, err := os.Stat(db + ".kek"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a useless new key file was left behind: %v", err)
	}
	// The right key by flag opens it.
	k, _ := seal.ParseKey(string(good))
	_, _, stop = startServer(t, "-store", "bolt:"+db, "-key-encryption-key", base64.RawURLEncoding.EncodeToString(k))
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestResolveKEK(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	key, _ := seal.NewKey(nil)
	tests := []struct {
		name    string
		cfg     config
		wantErr string
		file    string
	}{
		{"memory is ephemeral", config{Store: "memory:"}, "", ""},
		{"bolt beside the store", config{Store: "bolt:" + filepath.Join(dir, "a.db")}, "", filepath.Join(dir, "a.db.kek")},
		{"bare path", config{Store: filepath.Join(dir, "b.db")}, "", filepath.Join(dir, "b.db.kek")},
		{"explicit file", config{Store: "postgres://db/x", KeyEncryptionKeyFile: filepath.Join(dir, "pg.kek")}, "", filepath.Join(dir, "pg.kek")},
		{"flag", config{Store: "postgres://db/x", KeyEncryptionKey: seal.EncodeKey(key)}, "", ""},
		{"postgres needs a key", config{Store: "postgres://db/x"}, "-key-encryption-key", ""},
		{"both", config{Store: "memory:", KeyEncryptionKey: seal.EncodeKey(key), KeyEncryptionKeyFile: "f"}, "not both", ""},
		{"bad flag", config{Store: "memory:", KeyEncryptionKey: "c2hvcnQ="}, "32 bytes", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := resolveKEK(&tc.cfg, quiet)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(src.key) != 32 || src.file != tc.file {
				t.Fatalf("resolveKEK = %+v, %v", src, err)
			}
			if tc.file != "" {
				again, err := resolveKEK(&tc.cfg, quiet)
				if err != nil || !bytes.Equal(again.key, src.key) || again.created {
					t.Fatalf("second read = %+v, %v", again, err)
				}
			}
		})
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.kek"), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := resolveKEK(&config{KeyEncryptionKeyFile: filepath.Join(dir, "bad.kek")}, quiet); err == nil || strings.Contains(err.Error(), "not a key") {
		t.Fatalf("a bad key file: %v", err)
	}
}
