package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
)

// bootstrap makes sure a master credential and a monitoring token exist.
// Given on the command line they are installed (replacing a previous
// secret); otherwise they are generated on the first start and printed once.
// Installing or generating a master credential is logged at info level
// with its id and environment, never its secret.
func (a *app) bootstrap(ctx context.Context, out io.Writer) error {
	env, _ := identity.ParseEnvironment(a.cfg.MasterEnv)
	svc := a.envs[env]
	// The bootstrap record says what an earlier start generated, so
	// secrets are generated and printed once only.
	st, err := a.gh.Bootstrap(ctx)
	if err != nil {
		return err
	}
	master := identity.Credential{Name: "master", Application: "profile-admin", Master: true,
		TenantPermissions: []identity.TenantPermission{{Tenant: "*", AllowedActions: []string{"*"}}},
		Permissions:       []string{identity.PermAll}, ManagedOrgs: []string{"*"}, Environment: env}

	switch {
	case a.cfg.MasterKey != "":
		id, secret, _ := strings.Cut(a.cfg.MasterKey, ":")
		cur, err := svc.AuthenticateCredential(ctx, id, secret)
		if err == nil && cur.Environment == env && cur.Secret == secret {
			break
		}
		// Replace whatever holds the id, in either environment.
		for _, s := range a.envs {
			if err := s.DeleteCredential(ctx, id); err != nil {
				return err
			}
		}
		master.ID, master.Secret = id, secret
		if _, _, err := svc.CreateCredential(ctx, master, secret); err != nil {
			return fmt.Errorf("install master credential: %w", err)
		}
		a.log.Info("bootstrap: master credential installed from -master-key",
			"credential_id", id, "env", string(env),
			"existing_store", st.MasterID != "", "previous_credential_id", st.MasterID)
		st.MasterID = id
	case st.MasterID == "":
		c, secret, err := svc.CreateCredential(ctx, master, "")
		if err != nil {
			return fmt.Errorf("create master credential: %w", err)
		}
		st.MasterID = c.ID
		a.log.Info("bootstrap: master credential generated (its secret is printed once on stdout)",
			"credential_id", c.ID, "env", string(env))
		fmt.Fprintf(out, "Generated master credential (shown once; pass it as -master-key to keep it):\n  -master-key %s:%s\n", c.ID, secret)
	}

	switch {
	case a.cfg.MonitoringToken != "":
		st.MonitoringTokenHash = identity.HashSecret(a.cfg.MonitoringToken)
	case st.MonitoringTokenHash == "":
		tok, err := identity.NewSecret(svc.Rand())
		if err != nil {
			return err
		}
		st.MonitoringTokenHash = identity.HashSecret(tok)
		fmt.Fprintf(out, "Generated monitoring token (shown once):\n  -monitoring-token %s\n", tok)
	}
	return a.gh.SetBootstrap(ctx, st)
}
