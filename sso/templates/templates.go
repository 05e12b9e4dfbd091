// Package templates holds the server-rendered HTML of the SSO onboarding
// portal (package sso/portal): one layout and one template per page.
package templates

import "embed"

// FS holds the templates (*.html).
//
//go:embed *.html
var FS embed.FS
