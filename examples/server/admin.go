package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/admin"
)

// mountAdmin mounts the admin console (package admin) at /admin/ under the
// base URL's path, beside the server's own routes, and, while the console
// has no owner, prints the one-time link that creates the first one (a new
// link at every start until it is used).
func (a *app) mountAdmin(ctx context.Context, out io.Writer) error {
	u, err := url.Parse(a.cfg.BaseURL)
	if err != nil {
		return fmt.Errorf("admin console: %w", err)
	}
	prefix := strings.TrimSuffix(u.Path, "/") + "/admin"
	opts := admin.Options{Identity: a.gh.Production(), BaseURL: a.cfg.BaseURL + "/admin", ProviderURL: a.gh.BaseURL(),
		Logger: a.log.With("component", "admin")}
	// Console users sign in through the provider's hosted login.
	p := a.gh.Provider()
	if p == nil {
		return fmt.Errorf("admin console: it needs the OIDC provider (hosted login)")
	}
	opts.PasswordResets = p
	con, err := admin.New(ctx, opts)
	if err != nil {
		return fmt.Errorf("admin console: %w", err)
	}
	a.mux.Handle(prefix+"/", http.StripPrefix(prefix, con))
	return con.PrintSetup(ctx, out)
}
