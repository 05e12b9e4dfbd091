package main

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/gatehouse-id/gatehouse/admin"
	"github.com/gatehouse-id/gatehouse/identity"
)

// adminPrefix is where -admin mounts the admin console.
const adminPrefix = "/admin"

// mountAdmin mounts the admin console (package admin) at /admin/ and, while
// the console has no owner, prints the one-time link that creates the
// first one (a new link at every start until it is used).
func (a *app) mountAdmin(ctx context.Context, out io.Writer) error {
	con, err := admin.New(ctx, admin.Options{Identity: a.envs[identity.Production],
		BaseURL: a.cfg.BaseURL + adminPrefix, ProviderURL: a.cfg.BaseURL, Logger: a.log.With("component", "admin"),
		PasswordResets: a.prov})
	if err != nil {
		return fmt.Errorf("admin console: %w", err)
	}
	a.mux.Handle(adminPrefix+"/", http.StripPrefix(adminPrefix, con))
	return con.PrintSetup(ctx, out)
}
