package profile_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"

	"github.com/gatehouse-id/gatehouse/blob"
	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/password"
	"github.com/gatehouse-id/gatehouse/profile"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// A host mounts the Crafter Profile API at /api/1/ and talks to it with an
// access token, as the Java client does (.json URLs, form bodies).
func ExampleNewHandler() {
	ctx := context.Background()
	id, _ := identity.NewService(identity.Options{Store: memory.New()})
	h, _ := profile.NewHandler(profile.Options{Identity: id, Hasher: password.New()})
	mux := http.NewServeMux()
	mux.Handle("/api/1/", h)

	// The bootstrap master token (the example server makes one at first start).
	_, token, _ := id.CreateCredential(ctx, identity.Credential{Application: "profile-admin", Master: true,
		Environment:       identity.Production,
		TenantPermissions: []identity.TenantPermission{{Tenant: "*", AllowedActions: []string{"*"}}}}, "")

	post := func(path, ctype, body string) int {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		return w.Code
	}
	fmt.Println(post("/api/1/tenant/create.json?accessTokenId="+url.QueryEscape(token), "application/json",
		`{"name":"acme","availableRoles":["USER"]}`))
	form := url.Values{"accessTokenId": {token}, "tenantName": {"acme"}, "username": {"alice"},
		"password": {"correct horse"}, "email": {"alice@example.com"}, "enabled": {"true"}}
	fmt.Println(post("/api/1/profile/create.json", "application/x-www-form-urlencoded", form.Encode()))
	login := url.Values{"accessTokenId": {token}, "tenantName": {"acme"}, "username": {"alice"}, "password": {"correct horse"}}
	fmt.Println(post("/api/1/authentication/authenticate.json", "application/x-www-form-urlencoded", login.Encode()))
	// Output:
	// 200
	// 200
	// 200
}

// A host that keeps attachments in a directory instead of the identity
// store passes a blob.Dir, runs the sweeper (which also deletes orphaned
// blobs), and closes the service on the way out.
func ExampleNew() {
	ctx := context.Background()
	id, _ := identity.NewService(identity.Options{Store: memory.New()})
	dir, _ := os.MkdirTemp("", "attachments")
	defer os.RemoveAll(dir)
	blobs, err := blob.NewDir(dir)
	if err != nil {
		panic(err)
	}
	defer blobs.Close()
	svc, err := profile.New(profile.Options{Identity: id, Hasher: password.New(), Blobs: blobs,
		MailWorkers: 2, MailQueue: 100})
	if err != nil {
		panic(err)
	}
	defer svc.Close()
	sweepCtx, stop := context.WithCancel(ctx)
	defer stop()
	go svc.RunSweeper(sweepCtx, 0)

	master, _ := svc.Authorize(ctx, mustToken(ctx, id))
	_, _ = svc.CreateTenant(ctx, master, profile.TenantInput{Name: "acme"})
	p, _ := svc.CreateProfile(ctx, master, profile.NewProfile{Tenant: "acme", Username: "alice",
		Email: "alice@example.com", Enabled: true})
	gif := []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;")
	if _, err := svc.AddAttachment(ctx, master, p.ID, "avatar.gif", gif); err != nil {
		panic(err)
	}
	f, _ := svc.OpenAttachment(ctx, master, p.ID, "avatar")
	defer f.Close()
	b, _ := io.ReadAll(f)
	fmt.Println(f.FileName, f.ContentType, len(b))
	// Output:
	// avatar.gif image/gif 14
}

func mustToken(ctx context.Context, id *identity.Service) string {
	_, token, err := id.CreateCredential(ctx, identity.Credential{Application: "admin", Master: true,
		Environment:       identity.Production,
		TenantPermissions: []identity.TenantPermission{{Tenant: "*", AllowedActions: []string{"*"}}}}, "")
	if err != nil {
		panic(err)
	}
	return token
}

// A host that holds only a scoped identity service (the admin console
// acting for a viewer) calls the Crafter rules with the access token that
// scope stands for: the service itself refuses what the scope does not
// grant.
func ExampleService_CredentialFor() {
	ctx := context.Background()
	id, _ := identity.NewService(identity.Options{Store: memory.New()})
	svc, _ := profile.New(profile.Options{Identity: id, Hasher: password.New(), SyncMail: true})
	defer svc.Close()
	_, _ = svc.CreateTenant(ctx, svc.CredentialFor(id), profile.TenantInput{Name: "acme"})

	viewer := identity.ConsoleMember{Role: identity.ConsoleViewer}
	scoped, _ := id.For(viewer.Scope(identity.Production))
	c := svc.CredentialFor(scoped)
	tn, err := svc.GetTenant(ctx, c, "acme")
	fmt.Println(tn.Name, err)
	_, err = svc.AddRoles(ctx, c, "acme", []string{"EDITOR"})
	fmt.Println(profile.ErrorOf(err).Code)
	// Output:
	// acme <nil>
	// ACTION_DENIED
}
