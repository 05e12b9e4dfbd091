package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/gatehouse-id/gatehouse/examples/client/rp"
	"github.com/gatehouse-id/gatehouse/identity"
)

// The demo's seeded records (-demo).
const (
	demoOrgName   = "Demo"
	demoEmailDom  = "demo.test"
	demoUserEmail = "ada@demo.test"
	demoAppName   = "Gatehouse example client (demo)"
)

// demo is what -demo seeded: the example client to serve and what to print.
type demo struct {
	client   *rp.App
	issuer   string
	password string
	clientID string
}

// seedDemo makes sure the demo organization and user exist (the user gets a
// new random password on every start), registers the example client anew
// (a confidential web application whose redirect and logout URLs are on
// clientAddr) and returns the client, served in-process by run. With a given
// store (-store) the records persist and are reused on the next start.
func (a *app) seedDemo(ctx context.Context, clientAddr string, logger *slog.Logger) (*demo, error) {
	svc := a.envs[identity.Production]
	org, err := svc.GetOrganization(ctx, identity.Slug(demoOrgName))
	if errors.Is(err, identity.ErrNotFound) {
		name := demoOrgName
		org, err = svc.CreateOrganization(ctx, identity.OrganizationInput{Name: &name, AllowedEmailDomains: &[]string{demoEmailDom}})
	}
	if err != nil {
		return nil, fmt.Errorf("demo organization: %w", err)
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	password := base64.RawURLEncoding.EncodeToString(b)
	u, err := svc.GetUserByEmail(ctx, org.Domain, demoUserEmail)
	switch {
	case errors.Is(err, identity.ErrNotFound):
		_, err = svc.CreateUser(ctx, org.Domain, identity.User{Email: demoUserEmail, Enabled: true, Verified: true,
			Profile: identity.Profile{GivenName: "Ada", FamilyName: "Lovelace"}}, password)
	case err == nil:
		_, err = svc.ChangePassword(ctx, identity.PasswordChange{OrgDomain: org.Domain, UserID: u.ID, Password: password, ActorID: "demo"})
	}
	if err != nil {
		return nil, fmt.Errorf("demo user: %w", err)
	}
	// One registration of the client: an earlier start's is replaced.
	for page := 1; ; page++ {
		apps, err := svc.ListApplications(ctx, org.Domain, identity.PageRequest{Page: page, PerPage: identity.MaxPerPage})
		if err != nil {
			return nil, fmt.Errorf("demo applications: %w", err)
		}
		for _, app := range apps.Items {
			if app.Name == demoAppName {
				if _, err := svc.DeleteApplication(ctx, org.Domain, app.ClientID); err != nil {
					return nil, fmt.Errorf("demo application: %w", err)
				}
			}
		}
		if page*apps.PerPage >= apps.Total || len(apps.Items) == 0 {
			break
		}
	}
	base := "http://" + clientAddr
	issuer := a.cfg.BaseURL + "/t/" + org.Domain
	app, secret, err := svc.CreateApplication(ctx, org.Domain, identity.Application{Name: demoAppName,
		ApplicationType: identity.AppRegularWeb, AllowedRedirectURLs: []string{base + "/callback"},
		AllowedLogoutURLs: []string{rp.PostLogoutURLFor(base + "/callback")}})
	if err != nil {
		return nil, fmt.Errorf("demo application: %w", err)
	}
	client, err := rp.New(rp.Config{Issuer: issuer, ClientID: app.ClientID, ClientSecret: secret, RedirectURL: base + "/callback", Logger: logger})
	if err != nil {
		return nil, err
	}
	return &demo{client: client, issuer: issuer, password: password, clientID: app.ClientID}, nil
}

// print writes the demo's instructions: the one URL to open last.
func (d *demo) print(out io.Writer, mailDir string) {
	fmt.Fprintf(out, `
Gatehouse demo (in-memory unless -store was given; nothing here is for production)
  organization  %s   issuer %s
  user          %s
  password      %s   (new on every start)
  magic links   written as .eml files to %s
  client        examples/client, served in-process at %s (client_id %s)

Open this URL in a browser to sign in:
  %s
`, demoOrgName, d.issuer, demoUserEmail, d.password, mailDir, d.client.HomeURL(), d.clientID, d.client.StartURL())
}
